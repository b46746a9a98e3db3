// A tiny .npy writer (format 1.0 / 2.0) and .npz maker (fflate's zipSync) for the calibration
// data tests, plus IDX bytes, so that no binary fixture is committed.
import * as fs from 'fs';
import { zipSync } from 'fflate';

export interface NpyOptions {
  fortran?: boolean;
  version?: 1 | 2;
  /** Replaces the whole header dict text (for malformed headers). */
  rawHeader?: string;
}

/** The header (magic to padding) of an array of `descr` and `shape`. */
export function npyHeader(descr: string, shape: readonly number[], options: NpyOptions = {}): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = options.rawHeader ?? `{'descr': '${descr}', 'fortran_order': ${options.fortran ? 'True' : 'False'}, 'shape': ${shapeText}, }`;
  const version = options.version ?? 1;
  const pre = version === 1 ? 10 : 12;
  // The whole header is padded with spaces to a multiple of 64 bytes, ending with '\n'.
  const total = Math.ceil((pre + dict.length + 1) / 64) * 64;
  const text = dict + ' '.repeat(total - pre - dict.length - 1) + '\n';
  const out = new Uint8Array(total);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const len = total - pre;
  if (version === 1) {
    out[8] = len & 0xff;
    out[9] = len >> 8;
  } else new DataView(out.buffer).setUint32(8, len, true);
  for (let i = 0; i < text.length; i++) out[pre + i] = text.charCodeAt(i);
  return out;
}

function bytesOf(data: ArrayBufferView): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

export function npyBytes(descr: string, shape: readonly number[], data: ArrayBufferView, options: NpyOptions = {}): Uint8Array {
  const head = npyHeader(descr, shape, options);
  const body = bytesOf(data);
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

export function writeNpy(file: string, descr: string, shape: readonly number[], data: ArrayBufferView, options: NpyOptions = {}): void {
  fs.writeFileSync(file, npyBytes(descr, shape, data, options));
}

export interface NpzArray {
  descr: string;
  shape: readonly number[];
  data: ArrayBufferView;
}

/** An .npz: `compressed` deflates every entry (savez_compressed), else stores it (savez). */
export function npzBytes(arrays: Record<string, NpzArray | Uint8Array>, compressed: boolean): Uint8Array {
  const files: Record<string, Uint8Array> = {};
  for (const [name, a] of Object.entries(arrays)) {
    files[`${name}.npy`] = a instanceof Uint8Array ? a : npyBytes(a.descr, a.shape, a.data);
  }
  return zipSync(files, { level: compressed ? 6 : 0 });
}

export function writeNpz(file: string, arrays: Record<string, NpzArray | Uint8Array>, compressed = false): void {
  fs.writeFileSync(file, npzBytes(arrays, compressed));
}

/** IDX bytes: magic (0, 0, code, axes), big-endian dims, then the (already big-endian) data. */
export function idxBytes(code: number, dims: readonly number[], data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  const v = new DataView(out.buffer);
  out[2] = code;
  out[3] = dims.length;
  dims.forEach((d, k) => v.setUint32(4 + 4 * k, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

/** A stored zip written entirely in ZIP64 form (sizes and offsets in ZIP64 extra fields, a ZIP64
 *  end record), as writers do for entries over 4 GiB; CRCs are left 0 (readers here skip them). */
export function zip64StoredBytes(files: Record<string, Uint8Array>): Uint8Array {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const [name, data] of Object.entries(files)) {
    const n = enc.encode(name);
    const local = new Uint8Array(30 + n.length + 20);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 45, true);
    lv.setUint32(18, 0xffffffff, true);
    lv.setUint32(22, 0xffffffff, true);
    lv.setUint16(26, n.length, true);
    lv.setUint16(28, 20, true);
    local.set(n, 30);
    lv.setUint16(30 + n.length, 1, true);
    lv.setUint16(32 + n.length, 16, true);
    lv.setBigUint64(34 + n.length, BigInt(data.length), true);
    lv.setBigUint64(42 + n.length, BigInt(data.length), true);
    const c = new Uint8Array(46 + n.length + 28);
    const cv = new DataView(c.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 45, true);
    cv.setUint16(6, 45, true);
    cv.setUint32(20, 0xffffffff, true);
    cv.setUint32(24, 0xffffffff, true);
    cv.setUint16(28, n.length, true);
    cv.setUint16(30, 28, true);
    cv.setUint32(42, 0xffffffff, true);
    c.set(n, 46);
    cv.setUint16(46 + n.length, 1, true);
    cv.setUint16(48 + n.length, 24, true);
    cv.setBigUint64(50 + n.length, BigInt(data.length), true);
    cv.setBigUint64(58 + n.length, BigInt(data.length), true);
    cv.setBigUint64(66 + n.length, BigInt(offset), true);
    parts.push(local, data);
    central.push(c);
    offset += local.length + data.length;
  }
  const cdOffset = offset;
  const cdSize = central.reduce((s, c) => s + c.length, 0);
  const tail = new Uint8Array(56 + 20 + 22);
  const tv = new DataView(tail.buffer);
  tv.setUint32(0, 0x06064b50, true);
  tv.setBigUint64(4, 44n, true);
  tv.setUint16(12, 45, true);
  tv.setUint16(14, 45, true);
  tv.setBigUint64(24, BigInt(central.length), true);
  tv.setBigUint64(32, BigInt(central.length), true);
  tv.setBigUint64(40, BigInt(cdSize), true);
  tv.setBigUint64(48, BigInt(cdOffset), true);
  tv.setUint32(56, 0x07064b50, true);
  tv.setBigUint64(64, BigInt(cdOffset + cdSize), true);
  tv.setUint32(72, 1, true);
  tv.setUint32(76, 0x06054b50, true);
  tv.setUint16(84, 0xffff, true);
  tv.setUint16(86, 0xffff, true);
  tv.setUint32(88, 0xffffffff, true);
  tv.setUint32(92, 0xffffffff, true);
  const all = [...parts, ...central, tail];
  const out = new Uint8Array(all.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of all) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

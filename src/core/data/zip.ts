// The zip directory of a .npz, read from the end of the file (ZIP64 included, which numpy
// writes), so that one entry can be read without touching the others: stored entries are read
// in place with positioned reads, deflated ones inflated as a stream with fflate.
import * as fs from 'fs';
import { FileRange, ForwardBytes, inflateStream, type ByteSource } from './bytes';
import { DataSourceError, withSubject } from './errors';

export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflated. */
  method: number;
  flags: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

async function readAt(fd: fs.promises.FileHandle, offset: number, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fd.read(out, done, length - done, offset + done);
    if (bytesRead === 0) throw new DataSourceError('the zip directory points past the end of the file; the file is truncated or corrupt');
    done += bytesRead;
  }
  return out;
}

function u64(view: DataView, at: number): number {
  const v = view.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new DataSourceError('the zip directory holds an offset beyond 2^53; the file is corrupt');
  return Number(v);
}

/** The entries of the zip file `file` (sizes from the central directory). */
export async function readZipDirectory(file: string): Promise<ZipEntry[]> {
  const fd = await fs.promises.open(file, 'r');
  try {
    const size = (await fd.stat()).size;
    const tailLen = Math.min(size, 22 + 0xffff);
    const tail = await readAt(fd, size - tailLen, tailLen);
    const tv = new DataView(tail.buffer);
    let at = -1;
    for (let i = tailLen - 22; i >= 0; i--) {
      if (tv.getUint32(i, true) === EOCD) { at = i; break; }
    }
    if (at < 0) throw new DataSourceError('is not a .npz (zip) file: no zip directory at its end; the file is truncated or not an archive');
    let count = tv.getUint16(at + 10, true);
    let cdSize = tv.getUint32(at + 12, true);
    let cdOffset = tv.getUint32(at + 16, true);
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      const locAt = size - tailLen + at - 20;
      if (locAt < 0) throw new DataSourceError('the ZIP64 directory locator is missing; the file is corrupt');
      const loc = new DataView((await readAt(fd, locAt, 20)).buffer);
      if (loc.getUint32(0, true) !== ZIP64_LOCATOR) throw new DataSourceError('the ZIP64 directory locator is missing; the file is corrupt');
      const recAt = u64(loc, 8);
      const rec = new DataView((await readAt(fd, recAt, 56)).buffer);
      if (rec.getUint32(0, true) !== ZIP64_EOCD) throw new DataSourceError('the ZIP64 directory record is missing; the file is corrupt');
      count = u64(rec, 32);
      cdSize = u64(rec, 40);
      cdOffset = u64(rec, 48);
    }
    if (cdOffset + cdSize > size) throw new DataSourceError('the zip directory points past the end of the file; the file is truncated or corrupt');
    const cd = await readAt(fd, cdOffset, cdSize);
    const v = new DataView(cd.buffer);
    const entries: ZipEntry[] = [];
    let p = 0;
    const dec = new TextDecoder();
    for (let k = 0; k < count; k++) {
      if (p + 46 > cd.length || v.getUint32(p, true) !== CENTRAL) throw new DataSourceError('the zip directory is corrupt');
      const flags = v.getUint16(p + 8, true);
      const method = v.getUint16(p + 10, true);
      let compressedSize = v.getUint32(p + 20, true);
      let uncompressed = v.getUint32(p + 24, true);
      const nameLen = v.getUint16(p + 28, true);
      const extraLen = v.getUint16(p + 30, true);
      const commentLen = v.getUint16(p + 32, true);
      let localHeaderOffset = v.getUint32(p + 42, true);
      // The name, extra fields and comment must lie inside the directory (a corrupt length
      // would otherwise read past it).
      if (p + 46 + nameLen + extraLen + commentLen > cd.length) throw new DataSourceError('the zip directory is corrupt');
      const name = dec.decode(cd.subarray(p + 46, p + 46 + nameLen));
      // ZIP64 extended information: the 64-bit values of the fields that hold 0xFFFFFFFF, in order.
      let e = p + 46 + nameLen;
      const extraEnd = e + extraLen;
      while (e + 4 <= extraEnd) {
        const id = v.getUint16(e, true);
        const len = v.getUint16(e + 2, true);
        if (e + 4 + len > extraEnd) throw new DataSourceError('the zip directory is corrupt');
        if (id === 0x0001) {
          let q = e + 4;
          const next = () => {
            if (q + 8 > e + 4 + len) throw new DataSourceError('the zip directory is corrupt (a ZIP64 field is too short)');
            q += 8;
            return u64(v, q - 8);
          };
          if (uncompressed === 0xffffffff) uncompressed = next();
          if (compressedSize === 0xffffffff) compressedSize = next();
          if (localHeaderOffset === 0xffffffff) localHeaderOffset = next();
        }
        e += 4 + len;
      }
      entries.push({ name, method, flags, compressedSize, size: uncompressed, localHeaderOffset });
      p = extraEnd + commentLen;
    }
    return entries;
  } finally {
    await fd.close();
  }
}

/** A source over one entry's uncompressed bytes (nothing is read or inflated yet). */
/** An .npz's directory and its .npy arrays by name (without '.npy'); read errors name `label`. */
export async function readNpzDirectory(file: string, label: string): Promise<{ entries: ZipEntry[]; byName: Map<string, ZipEntry> }> {
  let entries: ZipEntry[];
  try {
    entries = await readZipDirectory(file);
  } catch (e) {
    throw withSubject(e, label);
  }
  const byName = new Map<string, ZipEntry>();
  for (const e of entries) if (e.name.endsWith('.npy')) byName.set(e.name.slice(0, -4), e);
  return { entries, byName };
}

export async function entrySource(file: string, entry: ZipEntry): Promise<ByteSource> {
  const label = `${file} entry '${entry.name}'`;
  if (entry.flags & 1) throw new DataSourceError(`entry '${entry.name}' is encrypted; save the archive without a password`);
  const fd = await fs.promises.open(file, 'r');
  let dataOffset: number;
  try {
    const head = new DataView((await readAt(fd, entry.localHeaderOffset, 30)).buffer);
    if (head.getUint32(0, true) !== LOCAL) throw new DataSourceError(`entry '${entry.name}' has no local header where the directory says; the file is corrupt`);
    dataOffset = entry.localHeaderOffset + 30 + head.getUint16(26, true) + head.getUint16(28, true);
  } finally {
    await fd.close();
  }
  if (entry.method === 0) {
    if (entry.compressedSize !== entry.size) throw new DataSourceError(`stored entry '${entry.name}' declares ${entry.size} bytes but holds ${entry.compressedSize}; the file is corrupt`);
    return new FileRange(file, dataOffset, entry.size, label);
  }
  if (entry.method === 8) return new ForwardBytes(inflateStream(file, dataOffset, entry.compressedSize), entry.size, label);
  const names: Record<number, string> = { 12: 'bzip2', 14: 'LZMA', 93: 'Zstandard', 95: 'XZ' };
  throw new DataSourceError(`entry '${entry.name}' uses compression method ${entry.method}${names[entry.method] ? ` (${names[entry.method]})` : ''}; only stored and deflated entries are supported (numpy.savez / numpy.savez_compressed)`);
}

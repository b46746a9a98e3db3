// The .npy header (numpy's format, versions 1 to 3): the magic "\x93NUMPY", a version, the
// header's length, then a Python dict literal {'descr': '<f4', 'fortran_order': False,
// 'shape': (3, 4), } padded with spaces; the C-order data follows.
import { DataType, dataTypeName } from '../onnx/dataTypes';
import type { ByteSource } from './bytes';
import { DataSourceError } from './errors';
import { elementBytes } from './inputs';

export interface NpyHeader {
  descr: string;
  dtype: DataType;
  shape: number[];
  /** Where the data starts. */
  dataOffset: number;
  /** Bytes of data the shape needs. */
  dataBytes: number;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

const KINDS: Record<string, DataType> = {
  f2: DataType.FLOAT16, f4: DataType.FLOAT, f8: DataType.DOUBLE,
  u1: DataType.UINT8, i1: DataType.INT8, b1: DataType.BOOL,
  i2: DataType.INT16, u2: DataType.UINT16, i4: DataType.INT32, u4: DataType.UINT32,
  i8: DataType.INT64, u8: DataType.UINT64,
};

export const SUPPORTED_DESCRS = "'<f4', '<f8', '<f2', '|u1', '|i1', '<i2', '<u2', '<i4', '<u4', '<i8', '<u8', '|b1'";

/** The element type of a numpy dtype string, refusing big-endian and unsupported kinds. */
export function dtypeOfDescr(descr: string): DataType {
  const m = /^([<>|=])([a-zA-Z])(\d+)$/.exec(descr);
  const kind = m ? `${m[2]}${m[3]}` : '';
  const type = KINDS[kind];
  if (!m || type === undefined) {
    throw new DataSourceError(`numpy dtype '${descr}' is not supported (supported: ${SUPPORTED_DESCRS}); convert the array, e.g. arr.astype(numpy.float32)`);
  }
  if (m[1] === '>' && elementBytes(type) > 1) {
    throw new DataSourceError(`numpy dtype '${descr}' is big-endian; save it little-endian: arr.astype('<${kind}')`);
  }
  return type;
}

export function descrOf(type: DataType): string {
  for (const [kind, t] of Object.entries(KINDS)) if (t === type) return `${elementBytes(t) === 1 ? '|' : '<'}${kind}`;
  throw new RangeError(`no numpy dtype for ${dataTypeName(type)}`);
}

const MAX_HEADER = 1 << 20;

/** Parses the header of the .npy held by `src` (a file, or a .npz entry). */
export async function readNpyHeader(src: ByteSource): Promise<NpyHeader> {
  if (src.size < 10) throw new DataSourceError(`holds ${src.size} bytes, too few for a .npy file`);
  const pre = await src.read(0, Math.min(12, src.size));
  if (!MAGIC.every((b, i) => pre[i] === b)) throw new DataSourceError('is not a .npy file (no \\x93NUMPY magic)');
  const major = pre[6];
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = pre[8] | (pre[9] << 8);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (pre.length < 12) throw new DataSourceError('the .npy header is truncated');
    headerLen = (pre[8] | (pre[9] << 8) | (pre[10] << 16)) + pre[11] * 0x1000000;
    start = 12;
  } else {
    throw new DataSourceError(`.npy format version ${major}.${pre[7]} is not supported (1.0 to 3.0 are)`);
  }
  if (headerLen > MAX_HEADER || start + headerLen > src.size) throw new DataSourceError(`the .npy header declares ${headerLen} bytes; the file is truncated or corrupt`);
  const raw = await src.read(start, headerLen);
  const text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(raw);
  const header = parseHeaderDict(text);
  const dataOffset = start + headerLen;
  const count = header.shape.reduce((a, b) => a * b, 1);
  const dataBytes = count * elementBytes(header.dtype);
  if (src.size - dataOffset < dataBytes) {
    throw new DataSourceError(`holds ${src.size - dataOffset} bytes of data but its shape [${header.shape.join(',')}] of ${header.descr} needs ${dataBytes}; the file is truncated or corrupt`);
  }
  return { ...header, dataOffset, dataBytes };
}

export function parseHeaderDict(text: string): { descr: string; dtype: DataType; shape: number[] } {
  if (/['"]descr['"]\s*:\s*\[/.test(text)) throw new DataSourceError('structured numpy arrays (record dtypes) are not supported; save one plain array per input');
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(text)?.[1];
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new DataSourceError(`the .npy header is not valid (${JSON.stringify(text.trim().slice(0, 120))})`);
  }
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s !== '').map((s) => {
    const n = Number(s.replace(/L$/, ''));
    if (!Number.isSafeInteger(n) || n < 0) throw new DataSourceError(`the .npy header has a bad dimension '${s}'`);
    return n;
  });
  if (descr.startsWith('|O') || descr === 'O') throw new DataSourceError('object arrays (pickled Python objects) are not supported; save a numeric array');
  const dtype = dtypeOfDescr(descr);
  if (fortran === 'True' && shape.filter((d) => d > 1).length > 1) {
    throw new DataSourceError(`the array is stored in Fortran (column-major) order; save numpy.ascontiguousarray(arr) instead`);
  }
  return { descr, dtype, shape };
}

// IDX files (MNIST and its kin): a 4-byte magic (0, 0, element type, number of axes), one
// big-endian uint32 per axis, then big-endian data. 0x0801 is a vector of labels, 0x0803 a stack
// of images. The first axis counts samples; each sample is reshaped to the model input's shape.
import { DataType, dataTypeName, isFloatType } from '../onnx/dataTypes';
import { float32ToFloat16Bits } from '../onnx/floatFormats';
import { DataSourceError } from './errors';
import { allocValues, formatDims, type ModelInput, type Values } from './inputs';

export interface IdxHeader {
  /** 0x08 ubyte, 0x09 sbyte, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64. */
  code: number;
  dims: number[];
  dataOffset: number;
  elemBytes: number;
}

const ELEM_BYTES: Record<number, number> = { 0x08: 1, 0x09: 1, 0x0b: 2, 0x0c: 4, 0x0d: 4, 0x0e: 8 };
const CODE_NAMES: Record<number, string> = { 0x08: 'ubyte', 0x09: 'sbyte', 0x0b: 'int16', 0x0c: 'int32', 0x0d: 'float32', 0x0e: 'float64' };

export function idxTypeName(code: number): string {
  return CODE_NAMES[code] ?? `0x${code.toString(16)}`;
}

/** Whether the first bytes look like an IDX magic. */
export function looksLikeIdx(b: Uint8Array): boolean {
  return b.length >= 4 && b[0] === 0 && b[1] === 0 && ELEM_BYTES[b[2]] !== undefined && b[3] >= 1 && b[3] <= 8;
}

/** Parses the header at the start of `b` (which must hold all of it: 4 + 4 * axes bytes). */
export function parseIdxHeader(b: Uint8Array): IdxHeader {
  if (!looksLikeIdx(b)) throw new DataSourceError('is not an IDX file (bad magic number)');
  const code = b[2];
  const n = b[3];
  if (b.length < 4 + 4 * n) throw new DataSourceError('the IDX header is truncated');
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const dims = Array.from({ length: n }, (_, k) => v.getUint32(4 + 4 * k, false));
  return { code, dims, dataOffset: 4 + 4 * n, elemBytes: ELEM_BYTES[code] };
}

/**
 * One sample's dims for `input`: the data's dims after the first axis, fitted to the model's
 * dims after its batch axis. Axes align from the right ([28,28] fills [1,H,W] as [1,28,28]);
 * symbolic dims take the data's size where aligned and 1 elsewhere; the sizes must multiply out
 * to the same count.
 */
export function idxSampleDims(input: ModelInput, header: IdxHeader): number[] {
  const data = header.dims.slice(1);
  const per = data.reduce((a, b) => a * b, 1);
  if (input.dims === null) return data;
  const want = input.dims.length === 0 ? [] : input.dims.slice(1);
  const shift = want.length - data.length;
  const dims = want.map((d, k) => (typeof d === 'number' ? d : k - shift >= 0 && k - shift < data.length ? data[k - shift] : 1));
  const count = dims.reduce((a, b) => a * b, 1);
  if (count !== per) {
    throw new DataSourceError(`calibration data shape [${header.dims.join(',')}] does not match input '${input.name}' ${formatDims(input.dims)}: a sample holds ${per} values, the input ${count} ([${dims.join(',')}]); give data for the model's input size`);
  }
  return dims;
}

/** Checks that IDX data of `code` can feed `input`. */
export function checkIdxType(input: ModelInput, code: number): void {
  const fromFloat = code === 0x0d || code === 0x0e;
  if (fromFloat && !isFloatType(input.elemType)) {
    throw new DataSourceError(`IDX ${idxTypeName(code)} data cannot feed input '${input.name}', which is ${dataTypeName(input.elemType)}`);
  }
}

export interface IdxConversion {
  /** Applied to ubyte data feeding a float input: x * scale, then (x - mean) / std. */
  scale: number;
  mean: number;
  std: number;
}

/** Big-endian IDX values (`raw`) as the input's element type. */
export function convertIdx(raw: Uint8Array, code: number, type: DataType, conv: IdxConversion): Values {
  const n = raw.length / ELEM_BYTES[code];
  const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const get: (i: number) => number =
    code === 0x08 ? (i) => raw[i]
      : code === 0x09 ? (i) => v.getInt8(i)
        : code === 0x0b ? (i) => v.getInt16(2 * i, false)
          : code === 0x0c ? (i) => v.getInt32(4 * i, false)
            : code === 0x0d ? (i) => v.getFloat32(4 * i, false)
              : (i) => v.getFloat64(8 * i, false);
  if (code === 0x08 && type === DataType.UINT8) return raw;
  if (isFloatType(type)) {
    const scaled = code === 0x08;
    const f = new Float64Array(n);
    for (let i = 0; i < n; i++) f[i] = scaled ? (get(i) * conv.scale - conv.mean) / conv.std : get(i);
    if (type === DataType.DOUBLE) return f;
    const f32 = Float32Array.from(f);
    return type === DataType.FLOAT16 ? float32ToFloat16Bits(f32) : f32;
  }
  const out = allocValues(type, n);
  if (out instanceof BigInt64Array || out instanceof BigUint64Array) {
    for (let i = 0; i < n; i++) out[i] = BigInt(get(i));
  } else if (type === DataType.BOOL) {
    for (let i = 0; i < n; i++) out[i] = get(i) !== 0 ? 1 : 0;
  } else {
    for (let i = 0; i < n; i++) out[i] = get(i);
  }
  return out;
}

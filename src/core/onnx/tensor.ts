// Tensors: every ONNX element type to and from typed arrays.
//
// raw_data is little-endian (as is every machine Node runs on). Values come back as a view over
// the model's bytes when the bytes are aligned for the element type, and as one copy otherwise;
// the typed repeated fields (float_data, int32_data, ...) are converted. 4-bit types are unpacked
// to one element per byte (element 2i in the low nibble, 2i+1 in the high nibble).
import { TensorDataError } from '../errors';
import { DataType, dataTypeName, isKnownDataType, rawByteLength } from './dataTypes';
import type { ExternalDataStore } from './externalData';
import { isExternal } from './externalData';
import { bfloat16BitsToFloat32, float16BitsToFloat32, float4e2m1BitsToFloat32, float8BitsToFloat32, type Float8Format } from './floatFormats';
import { createMessage } from './codec';
import { int64ToBigInt, int64ToNumber, type Int64, type TensorProto } from './types';

/** The natural typed array of each element type (bit patterns for the small float formats). */
export type TensorValues =
  Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array | string[];

export interface TensorData {
  name: string;
  dataType: DataType;
  dims: number[];
  /** float16/bfloat16: Uint16Array of bits; float8/float4: Uint8Array of codes; bool: 0/1 bytes;
   *  complex: interleaved real and imaginary parts. */
  values: TensorValues;
}

const FLOAT8: Partial<Record<DataType, Float8Format>> = {
  [DataType.FLOAT8E4M3FN]: 'e4m3fn',
  [DataType.FLOAT8E4M3FNUZ]: 'e4m3fnuz',
  [DataType.FLOAT8E5M2]: 'e5m2',
  [DataType.FLOAT8E5M2FNUZ]: 'e5m2fnuz',
  [DataType.FLOAT8E8M0]: 'e8m0',
};

type ArrayCtor = {
  new (buf: ArrayBufferLike, off: number, len: number): Exclude<TensorValues, string[]>;
  new (len: number): Exclude<TensorValues, string[]>;
  BYTES_PER_ELEMENT: number;
};

// Complex types interleave their parts in the float array; every type not listed (uint8, bool,
// uint4, float4, float8) is bytes.
const ARRAY_TYPES: Partial<Record<DataType, ArrayCtor>> = {
  [DataType.FLOAT]: Float32Array,
  [DataType.COMPLEX64]: Float32Array,
  [DataType.DOUBLE]: Float64Array,
  [DataType.COMPLEX128]: Float64Array,
  [DataType.INT8]: Int8Array,
  [DataType.INT4]: Int8Array,
  [DataType.INT16]: Int16Array,
  [DataType.UINT16]: Uint16Array,
  [DataType.FLOAT16]: Uint16Array,
  [DataType.BFLOAT16]: Uint16Array,
  [DataType.INT32]: Int32Array,
  [DataType.UINT32]: Uint32Array,
  [DataType.INT64]: BigInt64Array,
  [DataType.UINT64]: BigUint64Array,
};

function arrayType(t: DataType): ArrayCtor {
  return ARRAY_TYPES[t] ?? Uint8Array;
}

/** Elements per stored element of the typed array (complex numbers are two floats). */
function lanes(t: DataType): number {
  return t === DataType.COMPLEX64 || t === DataType.COMPLEX128 ? 2 : 1;
}

export function is4Bit(t: number): boolean {
  return t === DataType.INT4 || t === DataType.UINT4 || t === DataType.FLOAT4E2M1;
}

export function tensorDims(t: TensorProto): number[] {
  return t.dims.map((d) => {
    const n = int64ToNumber(d, `dimension of tensor '${t.name ?? ''}'`);
    if (n < 0) throw new TensorDataError(`negative dimension ${n}`, `tensor '${t.name ?? ''}'`);
    return n;
  });
}

export function elementCount(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/** Bytes a tensor's values take, whichever field holds them. */
export function tensorByteSize(t: TensorProto, count = elementCount(tensorDims(t))): number {
  const type = t.data_type ?? 0;
  if (type === DataType.STRING) return t.string_data.reduce((s, b) => s + b.length, 0);
  if (isKnownDataType(type)) return rawByteLength(type, count);
  return t.raw_data?.length ?? 0;
}

/** Where a tensor's values come from, so summaries can say without reading them. */
export function tensorStorage(t: TensorProto): 'raw' | 'external' | 'typed' {
  if (isExternal(t)) return 'external';
  return t.raw_data !== undefined ? 'raw' : 'typed';
}

function unpack4Bit(packed: Uint8Array, count: number, signed: boolean): Int8Array | Uint8Array {
  const out = signed ? new Int8Array(count) : new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const nibble = (packed[i >> 1] >> ((i & 1) * 4)) & 0xf;
    out[i] = signed && nibble > 7 ? nibble - 16 : nibble;
  }
  return out;
}

export function pack4Bit(values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(Math.ceil(values.length / 2));
  for (let i = 0; i < values.length; i++) out[i >> 1] |= (values[i] & 0xf) << ((i & 1) * 4);
  return out;
}

/** A typed array over `bytes`: a view when aligned, else a copy. */
function viewOrCopy(ctor: ArrayCtor, bytes: Uint8Array, length: number): Exclude<TensorValues, string[]> {
  if (bytes.byteOffset % ctor.BYTES_PER_ELEMENT === 0) return new ctor(bytes.buffer, bytes.byteOffset, length);
  const copy = new Uint8Array(length * ctor.BYTES_PER_ELEMENT);
  copy.set(bytes.subarray(0, copy.length));
  return new ctor(copy.buffer, 0, length);
}

function fromRawBytes(type: DataType, bytes: Uint8Array, count: number, subject: string): Exclude<TensorValues, string[]> {
  const need = rawByteLength(type, count);
  if (bytes.length !== need) {
    throw new TensorDataError(`holds ${bytes.length} bytes of ${dataTypeName(type)}, but its shape needs ${need}`, subject);
  }
  if (is4Bit(type)) return unpack4Bit(bytes, count, type === DataType.INT4);
  return viewOrCopy(arrayType(type), bytes, count * lanes(type));
}

function typedField(t: TensorProto, type: DataType): ArrayLike<number | bigint> {
  switch (type) {
    case DataType.FLOAT:
    case DataType.COMPLEX64:
      return t.float_data;
    case DataType.DOUBLE:
    case DataType.COMPLEX128:
      return t.double_data;
    case DataType.INT64:
      return t.int64_data.map(int64ToBigInt);
    case DataType.UINT32:
      return t.uint64_data.map((v) => int64ToNumber(v));
    // uint64 decodes as an unsigned Long; BigInt of its decimal string is exact.
    case DataType.UINT64:
      return t.uint64_data.map(int64ToBigInt);
    // int32_data holds the narrow integer types, bool, and the bit patterns of float16,
    // bfloat16 and float8 (for the 4-bit types: one packed byte per entry).
    default:
      return t.int32_data;
  }
}

function fromTypedFields(t: TensorProto, type: DataType, count: number, subject: string): Exclude<TensorValues, string[]> {
  const src = typedField(t, type);
  const need = is4Bit(type) ? Math.ceil(count / 2) : count * lanes(type);
  if (src.length !== need) {
    throw new TensorDataError(`holds ${src.length} values but its shape [${tensorDims(t).join(', ')}] needs ${need}`, subject);
  }
  if (is4Bit(type))
    return unpack4Bit(
      Uint8Array.from(src as ArrayLike<number>, (v) => v & 0xff),
      count,
      type === DataType.INT4,
    );
  const out = new (arrayType(type))(src.length);
  for (let i = 0; i < src.length; i++) (out as unknown as Array<number | bigint>)[i] = src[i];
  return out;
}

/** The values of a tensor. External data is read from `store` (the model's folder). */
export function readTensor(t: TensorProto, store?: ExternalDataStore): TensorData {
  const name = t.name ?? '';
  const subject = `tensor '${name}'`;
  const type = t.data_type ?? DataType.UNDEFINED;
  if (!isKnownDataType(type) || type === DataType.UNDEFINED) {
    throw new TensorDataError(`unknown element type ${type}`, subject);
  }
  const dims = tensorDims(t);
  const count = elementCount(dims);
  let values: TensorValues;
  if (type === DataType.STRING) {
    if (t.string_data.length !== count) throw new TensorDataError(`holds ${t.string_data.length} strings but its shape needs ${count}`, subject);
    const dec = new TextDecoder();
    values = t.string_data.map((b) => dec.decode(b));
  } else if (isExternal(t)) {
    if (!store) throw new TensorDataError('its data is external and no folder was given to read it from', subject);
    values = fromRawBytes(type, store.read(t), count, subject);
  } else if (t.raw_data !== undefined) {
    values = fromRawBytes(type, t.raw_data, count, subject);
  } else {
    values = fromTypedFields(t, type, count, subject);
  }
  return { name, dataType: type, dims, values };
}

/** The little-endian bytes of a tensor's values, as raw_data or an external file holds them. */
export function tensorRawBytes(t: TensorProto, store?: ExternalDataStore): Uint8Array {
  if (isExternal(t)) {
    if (!store) throw new TensorDataError('its data is external and no folder was given to read it from', `tensor '${t.name ?? ''}'`);
    return store.read(t);
  }
  if (t.raw_data !== undefined) return t.raw_data;
  return valuesToRawBytes(readTensor(t).values, t.data_type ?? 0);
}

function valuesToRawBytes(values: TensorValues, type: number): Uint8Array {
  if (Array.isArray(values)) throw new TensorDataError('string tensors have no raw byte form');
  if (is4Bit(type)) return pack4Bit(values as ArrayLike<number>);
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

/** Numeric values as float32 (for statistics and quantization); strings are refused. */
export function toFloat32(data: TensorData): Float32Array {
  const { values, dataType } = data;
  if (Array.isArray(values)) throw new TensorDataError('string tensors have no numeric values', `tensor '${data.name}'`);
  if (dataType === DataType.FLOAT) return values as Float32Array;
  if (dataType === DataType.FLOAT16) return float16BitsToFloat32(values as Uint16Array);
  if (dataType === DataType.BFLOAT16) return bfloat16BitsToFloat32(values as Uint16Array);
  if (dataType === DataType.FLOAT4E2M1) return float4e2m1BitsToFloat32(values as Uint8Array);
  const f8 = FLOAT8[dataType];
  if (f8) return float8BitsToFloat32(f8, values as Uint8Array);
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = Number(values[i]);
  return out;
}

export interface NewTensor {
  name: string;
  dataType: DataType;
  dims: readonly number[];
  values: TensorValues;
}

function acceptsValues(type: DataType, values: TensorValues): boolean {
  if (type === DataType.STRING || Array.isArray(values)) return type === DataType.STRING && Array.isArray(values);
  // 4-bit values are one per byte, signed or not.
  if (is4Bit(type)) return values instanceof Int8Array || values instanceof Uint8Array;
  return values instanceof arrayType(type);
}

/** A TensorProto holding `values` in raw_data (string_data for strings). */
export function makeTensor({ name, dataType, dims, values }: NewTensor): TensorProto {
  // The wrong array type would store the wrong byte count (e.g. float32 values for float16 bits).
  if (!acceptsValues(dataType, values)) {
    const given = Array.isArray(values) ? 'string[]' : values.constructor.name;
    throw new TensorDataError(`${given} given for a ${dataTypeName(dataType)} tensor`, `tensor '${name}'`);
  }
  const count = elementCount(dims);
  const stored = Array.isArray(values) ? values.length : is4Bit(dataType) ? values.length : values.length / lanes(dataType);
  if (stored !== count) {
    throw new TensorDataError(`${stored} values given for shape [${dims.join(', ')}] (${count} elements)`, `tensor '${name}'`);
  }
  const tensor = createMessage<TensorProto>('TensorProto', { name, data_type: dataType, dims: dims as Int64[] });
  if (Array.isArray(values)) {
    const enc = new TextEncoder();
    tensor.string_data = values.map((s) => enc.encode(s));
  } else {
    // A copy, so that the tensor does not change when the caller reuses its array.
    tensor.raw_data = valuesToRawBytes(values, dataType).slice();
  }
  return tensor;
}

// ONNX element types (TensorProto.DataType): names, storage sizes and how to read them.

export const enum DataType {
  UNDEFINED = 0,
  FLOAT = 1,
  UINT8 = 2,
  INT8 = 3,
  UINT16 = 4,
  INT16 = 5,
  INT32 = 6,
  INT64 = 7,
  STRING = 8,
  BOOL = 9,
  FLOAT16 = 10,
  DOUBLE = 11,
  UINT32 = 12,
  UINT64 = 13,
  COMPLEX64 = 14,
  COMPLEX128 = 15,
  BFLOAT16 = 16,
  FLOAT8E4M3FN = 17,
  FLOAT8E4M3FNUZ = 18,
  FLOAT8E5M2 = 19,
  FLOAT8E5M2FNUZ = 20,
  UINT4 = 21,
  INT4 = 22,
  FLOAT4E2M1 = 23,
  FLOAT8E8M0 = 24,
}

interface DataTypeInfo {
  /** Lower-case name as onnxruntime and numpy users write it. */
  name: string;
  /** Bits per element in raw_data (0 for strings). */
  bits: number;
  isFloat: boolean;
  isInteger: boolean;
}

const INFO: Record<number, DataTypeInfo> = {
  [DataType.FLOAT]: { name: 'float32', bits: 32, isFloat: true, isInteger: false },
  [DataType.UINT8]: { name: 'uint8', bits: 8, isFloat: false, isInteger: true },
  [DataType.INT8]: { name: 'int8', bits: 8, isFloat: false, isInteger: true },
  [DataType.UINT16]: { name: 'uint16', bits: 16, isFloat: false, isInteger: true },
  [DataType.INT16]: { name: 'int16', bits: 16, isFloat: false, isInteger: true },
  [DataType.INT32]: { name: 'int32', bits: 32, isFloat: false, isInteger: true },
  [DataType.INT64]: { name: 'int64', bits: 64, isFloat: false, isInteger: true },
  [DataType.STRING]: { name: 'string', bits: 0, isFloat: false, isInteger: false },
  [DataType.BOOL]: { name: 'bool', bits: 8, isFloat: false, isInteger: false },
  [DataType.FLOAT16]: { name: 'float16', bits: 16, isFloat: true, isInteger: false },
  [DataType.DOUBLE]: { name: 'float64', bits: 64, isFloat: true, isInteger: false },
  [DataType.UINT32]: { name: 'uint32', bits: 32, isFloat: false, isInteger: true },
  [DataType.UINT64]: { name: 'uint64', bits: 64, isFloat: false, isInteger: true },
  [DataType.COMPLEX64]: { name: 'complex64', bits: 64, isFloat: false, isInteger: false },
  [DataType.COMPLEX128]: { name: 'complex128', bits: 128, isFloat: false, isInteger: false },
  [DataType.BFLOAT16]: { name: 'bfloat16', bits: 16, isFloat: true, isInteger: false },
  [DataType.FLOAT8E4M3FN]: { name: 'float8e4m3fn', bits: 8, isFloat: true, isInteger: false },
  [DataType.FLOAT8E4M3FNUZ]: { name: 'float8e4m3fnuz', bits: 8, isFloat: true, isInteger: false },
  [DataType.FLOAT8E5M2]: { name: 'float8e5m2', bits: 8, isFloat: true, isInteger: false },
  [DataType.FLOAT8E5M2FNUZ]: { name: 'float8e5m2fnuz', bits: 8, isFloat: true, isInteger: false },
  [DataType.UINT4]: { name: 'uint4', bits: 4, isFloat: false, isInteger: true },
  [DataType.INT4]: { name: 'int4', bits: 4, isFloat: false, isInteger: true },
  [DataType.FLOAT4E2M1]: { name: 'float4e2m1', bits: 4, isFloat: true, isInteger: false },
  [DataType.FLOAT8E8M0]: { name: 'float8e8m0', bits: 8, isFloat: true, isInteger: false },
};

export function isKnownDataType(t: number | undefined): t is DataType {
  return t !== undefined && INFO[t] !== undefined;
}

export function dataTypeName(t: number | undefined): string {
  return (t !== undefined && INFO[t]?.name) || `unknown(${t ?? 'unset'})`;
}

export function dataTypeFromName(name: string): DataType | undefined {
  const n = name.toLowerCase();
  const aliases: Record<string, string> = { float: 'float32', double: 'float64', half: 'float16' };
  const want = aliases[n] ?? n;
  for (const [k, v] of Object.entries(INFO)) if (v.name === want) return Number(k) as DataType;
  return undefined;
}

export function dataTypeBits(t: number): number {
  const info = INFO[t];
  if (!info) throw new RangeError(`unknown element type ${t}`);
  return info.bits;
}

/** Bytes that `count` elements take in raw_data (4-bit types pack two per byte). */
export function rawByteLength(t: number, count: number): number {
  return Math.ceil((count * dataTypeBits(t)) / 8);
}

export function isFloatType(t: number): boolean {
  return INFO[t]?.isFloat ?? false;
}

export function isIntegerType(t: number): boolean {
  return INFO[t]?.isInteger ?? false;
}

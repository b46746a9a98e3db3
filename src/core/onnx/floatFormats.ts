// Conversions between float32 and the narrow floating-point element types ONNX tensors use
// (FLOAT16, BFLOAT16, the FLOAT8 family, FLOAT8E8M0 and FLOAT4E2M1). Narrow values travel as raw
// bit patterns in unsigned typed arrays. Encoders round to nearest, ties to even, unless noted.
//
// Encoders read their input as float32: a Float32Array is reinterpreted in place (NaN payloads
// survive), any other ArrayLike<number> is rounded to float32 first, which is what an ONNX Cast
// from FLOAT sees. Converting float64 input directly could differ in rare double-rounding cases.
//
// Every function writes into `out` when given (it must hold at least as many elements as the
// input; extra elements are left alone) and returns it; otherwise it allocates the result.

export type Float8Format = 'e4m3fn' | 'e4m3fnuz' | 'e5m2' | 'e5m2fnuz' | 'e8m0';

// Scratch to reinterpret one float32 as bits, so the hot loops never allocate per element.
const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

const QUIET_NAN_BITS = 0x7fc00000;

function float32BitsView(values: ArrayLike<number>): Uint32Array | null {
  return values instanceof Float32Array ? new Uint32Array(values.buffer, values.byteOffset, values.length) : null;
}

function bitsOf(values: ArrayLike<number>, view: Uint32Array | null, i: number): number {
  if (view !== null) return view[i];
  F32[0] = values[i];
  return U32[0];
}

function checkOut(out: ArrayLike<number>, n: number): void {
  if (out.length < n) throw new RangeError(`output holds ${out.length} elements, need ${n}`);
}

/** Encodes each value from its float32 bit pattern (NaN payloads kept) into `result`. */
function encodeEach<T extends Uint8Array | Uint16Array>(values: ArrayLike<number>, result: T, encode: (bits: number) => number): T {
  const n = values.length;
  checkOut(result, n);
  const view = float32BitsView(values);
  for (let i = 0; i < n; i++) result[i] = encode(bitsOf(values, view, i));
  return result;
}

/** Writes float32 bit patterns into `out` through a Uint32 view, which keeps NaN payloads. */
function decodeByTable(table: Uint32Array, codes: ArrayLike<number>, mask: number, out: Float32Array | undefined): Float32Array {
  const n = codes.length;
  const result = out ?? new Float32Array(n);
  checkOut(result, n);
  const dst = new Uint32Array(result.buffer, result.byteOffset, n);
  for (let i = 0; i < n; i++) dst[i] = table[codes[i] & mask];
  return result;
}

/**
 * Rounds a finite non-negative float32, given as bits `a`, to a binary format with `mBits`
 * mantissa bits and exponent bias `bias` (ties to even). Returns the magnitude code
 * (exponent field << mBits | mantissa) without an upper bound: a code past the format's largest
 * finite one means overflow, and the caller decides what that becomes.
 */
function roundMagnitude(a: number, mBits: number, bias: number): number {
  const e = a >>> 23;
  if (e > 127 - bias) {
    // Normal in the target: rebias in place, so a mantissa carry simply bumps the exponent.
    const drop = 23 - mBits;
    const r = a - ((127 - bias) << 23);
    return (r + ((1 << (drop - 1)) - 1) + ((r >>> drop) & 1)) >>> drop;
  }
  // Subnormal in the target: count units of the smallest subnormal, 2^(1 - bias - mBits).
  const mant = e === 0 ? a : (a & 0x7fffff) | 0x800000;
  const shift = 151 - bias - mBits - (e === 0 ? 1 : e);
  if (shift > 24) return 0; // mant < 2^24, so the value is under half a unit
  const q = mant >>> shift;
  const rem = mant & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  return rem > half || (rem === half && (q & 1) === 1) ? q + 1 : q;
}

/** Value of a finite code of a sign/exponent/mantissa format with subnormals. */
function smallFloatValue(code: number, eBits: number, mBits: number, bias: number): number {
  const negative = ((code >> (eBits + mBits)) & 1) === 1;
  const e = (code >> mBits) & ((1 << eBits) - 1);
  const m = code & ((1 << mBits) - 1);
  const magnitude = e === 0 ? m * 2 ** (1 - bias - mBits) : ((1 << mBits) + m) * 2 ** (e - bias - mBits);
  return negative ? -magnitude : magnitude;
}

function float32BitsOf(value: number): number {
  F32[0] = value;
  return U32[0];
}

// ---------------------------------------------------------------------------------------------
// FLOAT16 (IEEE 754 binary16)

let float16Table: Uint32Array | undefined;

function getFloat16Table(): Uint32Array {
  if (float16Table) return float16Table;
  const table = new Uint32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const e = (h >>> 10) & 0x1f;
    const m = h & 0x3ff;
    if (e === 0x1f) {
      // Keep the payload and force the quiet bit, so a signalling NaN stays a NaN.
      table[h] = m === 0 ? sign | 0x7f800000 : sign | QUIET_NAN_BITS | (m << 13);
    } else if (e === 0) {
      table[h] = sign | float32BitsOf(m * 2 ** -24);
    } else {
      table[h] = sign | ((e + 112) << 23) | (m << 13);
    }
  }
  float16Table = table;
  return table;
}

function float16FromFloat32Bits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const a = x & 0x7fffffff;
  if (a >= 0x7f800000) {
    return a === 0x7f800000 ? sign | 0x7c00 : sign | 0x7e00 | ((a >>> 13) & 0x3ff);
  }
  const h = roundMagnitude(a, 10, 15);
  return sign | (h > 0x7bff ? 0x7c00 : h); // overflow (|x| >= 65520) becomes Inf
}

export function float16BitsToFloat32(bits: Uint16Array, out?: Float32Array): Float32Array {
  return decodeByTable(getFloat16Table(), bits, 0xffff, out);
}

export function float32ToFloat16Bits(values: ArrayLike<number>, out?: Uint16Array): Uint16Array {
  return encodeEach(values, out ?? new Uint16Array(values.length), float16FromFloat32Bits);
}

// ---------------------------------------------------------------------------------------------
// BFLOAT16 (the top half of a float32)

export function bfloat16BitsToFloat32(bits: Uint16Array, out?: Float32Array): Float32Array {
  const n = bits.length;
  const result = out ?? new Float32Array(n);
  checkOut(result, n);
  const dst = new Uint32Array(result.buffer, result.byteOffset, n);
  for (let i = 0; i < n; i++) dst[i] = bits[i] << 16;
  return result;
}

function bfloat16FromFloat32Bits(x: number): number {
  // Truncating a NaN whose payload sits in the low half would give Inf: set the quiet bit.
  if ((x & 0x7fffffff) > 0x7f800000) return (x >>> 16) | 0x40;
  // Plain RNE on the dropped half; finite values past the largest bfloat16 round to Inf.
  return (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
}

export function float32ToBfloat16Bits(values: ArrayLike<number>, out?: Uint16Array): Uint16Array {
  return encodeEach(values, out ?? new Uint16Array(values.length), bfloat16FromFloat32Bits);
}

// ---------------------------------------------------------------------------------------------
// FLOAT8 (ONNX "Float stored in 8 bits")

interface Float8Spec {
  readonly eBits: number;
  readonly mBits: number;
  readonly bias: number;
  /** Largest finite magnitude code. */
  readonly maxCode: number;
  /** E5M2 only: S.11111.00 is ±Inf. */
  readonly hasInf: boolean;
  /** FNUZ: one zero (0x00) and one NaN (0x80, the would-be negative zero). */
  readonly uz: boolean;
}

const FLOAT8_SPECS: Readonly<Record<Exclude<Float8Format, 'e8m0'>, Float8Spec>> = {
  e4m3fn: { eBits: 4, mBits: 3, bias: 7, maxCode: 0x7e, hasInf: false, uz: false }, // 448
  e4m3fnuz: { eBits: 4, mBits: 3, bias: 8, maxCode: 0x7f, hasInf: false, uz: true }, // 240
  e5m2: { eBits: 5, mBits: 2, bias: 15, maxCode: 0x7b, hasInf: true, uz: false }, // 57344
  e5m2fnuz: { eBits: 5, mBits: 2, bias: 16, maxCode: 0x7f, hasInf: false, uz: true }, // 57344
};

function float8Spec(format: Float8Format): Float8Spec {
  const spec = (FLOAT8_SPECS as Record<string, Float8Spec | undefined>)[format];
  if (!spec) throw new Error(`unknown float8 format: ${String(format)}`);
  return spec;
}

function float8NanCode(spec: Float8Spec, sign: number): number {
  return spec.uz ? 0x80 : sign | 0x7f;
}

function buildFloat8Table(spec: Float8Spec): Uint32Array {
  const table = new Uint32Array(256);
  for (let code = 0; code < 256; code++) {
    const sign = (code & 0x80) << 24;
    const magnitude = code & 0x7f;
    if (spec.uz ? code === 0x80 : magnitude > spec.maxCode) {
      // Past maxCode there are only NaNs, except E5M2's S.11111.00 which is ±Inf.
      table[code] = spec.hasInf && magnitude === 0x7c ? sign | 0x7f800000 : sign | QUIET_NAN_BITS;
    } else {
      table[code] = float32BitsOf(smallFloatValue(code, spec.eBits, spec.mBits, spec.bias));
    }
  }
  return table;
}

/**
 * ONNX Cast to FLOAT8 for the four sign/exponent/mantissa formats.
 * saturate=true: out-of-range finite values and ±Inf clamp to ±max. For the FNUZ types the
 * ONNX doc's table lists NaN for ±Inf; we clamp like the other formats (as onnx.helper's
 * reference conversion does), so saturation never manufactures a NaN.
 * saturate=false: overflow and ±Inf give ±Inf for E5M2 and NaN otherwise.
 * NaN keeps its sign where the format has a signed NaN (S.1111.111, S.11111.11).
 * FNUZ has no negative zero: -0 and negative values that round to zero encode as 0x00.
 */
function float8FromFloat32Bits(x: number, spec: Float8Spec, saturate: boolean): number {
  const sign = (x >>> 24) & 0x80;
  const a = x & 0x7fffffff;
  if (a > 0x7f800000) return float8NanCode(spec, sign);
  const h = a === 0x7f800000 ? Infinity : roundMagnitude(a, spec.mBits, spec.bias);
  if (h > spec.maxCode) {
    if (saturate) return sign | spec.maxCode;
    return spec.hasInf ? sign | 0x7c : float8NanCode(spec, sign);
  }
  if (h === 0 && spec.uz) return 0;
  return sign | h;
}

// E8M0: value 2^(code - 127), unsigned, no zero, 0xFF is NaN. The bias equals float32's, so
// a code is a float32 exponent field; code 0 (2^-127) is a float32 subnormal.
function buildE8m0Table(): Uint32Array {
  const table = new Uint32Array(256);
  table[0] = 0x00400000;
  for (let code = 1; code < 255; code++) table[code] = code << 23;
  table[255] = QUIET_NAN_BITS;
  return table;
}

/**
 * Rounds to the nearest power of two by linear distance, ties up: between 2^k and 2^(k+1) the
 * midpoint is 1.5 * 2^k, and 1.5 * 2^k itself goes to 2^(k+1). Positive values under 2^-127
 * become 2^-127 (the nearest code). Zero and negatives have no representation: 2^-127 when
 * saturating, NaN otherwise. Values rounding past 2^127, and +Inf, become 2^127 when saturating,
 * NaN otherwise. NaN stays NaN.
 */
function e8m0FromFloat32Bits(x: number, saturate: boolean): number {
  const a = x & 0x7fffffff;
  if (a > 0x7f800000) return 0xff;
  if (a === 0 || x >>> 31 === 1) return saturate ? 0x00 : 0xff;
  if (a === 0x7f800000) return saturate ? 0xfe : 0xff;
  const e = a >>> 23;
  const m = a & 0x7fffff;
  // A float32 subnormal is m * 2^-149, so 2^-127 is m = 0x400000 and the midpoint to 2^-126 is
  // m = 0x600000. Otherwise the midpoint to the next power is mantissa 1.5.
  const code = e === 0 ? (m >= 0x600000 ? 1 : 0) : m >= 0x400000 ? e + 1 : e;
  if (code > 0xfe) return saturate ? 0xfe : 0xff;
  return code;
}

const float8Tables = new Map<Float8Format, Uint32Array>();

function getFloat8Table(format: Float8Format): Uint32Array {
  let table = float8Tables.get(format);
  if (!table) {
    table = format === 'e8m0' ? buildE8m0Table() : buildFloat8Table(float8Spec(format));
    float8Tables.set(format, table);
  }
  return table;
}

export function float8BitsToFloat32(format: Float8Format, bits: Uint8Array, out?: Float32Array): Float32Array {
  return decodeByTable(getFloat8Table(format), bits, 0xff, out);
}

export function float32ToFloat8Bits(format: Float8Format, values: ArrayLike<number>, saturate = true, out?: Uint8Array): Uint8Array {
  const result = out ?? new Uint8Array(values.length);
  if (format === 'e8m0') return encodeEach(values, result, (x) => e8m0FromFloat32Bits(x, saturate));
  const spec = float8Spec(format);
  return encodeEach(values, result, (x) => float8FromFloat32Bits(x, spec, saturate));
}

// ---------------------------------------------------------------------------------------------
// FLOAT4E2M1: S.EE.M, bias 1, magnitudes 0, 0.5, 1, 1.5, 2, 3, 4, 6; no Inf or NaN.
// One code per element in the low nibble; packing two per byte happens elsewhere.

let float4Table: Uint32Array | undefined;

function getFloat4Table(): Uint32Array {
  if (float4Table) return float4Table;
  const table = new Uint32Array(16);
  for (let code = 0; code < 16; code++) table[code] = float32BitsOf(smallFloatValue(code, 2, 1, 1));
  float4Table = table;
  return table;
}

/** Decodes the low nibble of each byte; the high nibble is ignored. */
export function float4e2m1BitsToFloat32(codes: Uint8Array, out?: Float32Array): Float32Array {
  return decodeByTable(getFloat4Table(), codes, 0x0f, out);
}

/**
 * Follows the Cast table of the ONNX doc "Float stored in 4 bits": RNE inside [-6, 6], always
 * saturating (x > 6 and +Inf give 6, x < -6 and -Inf give -6), and NaN gives +6 (0x7) whatever
 * its sign. Signed zero is kept, including for negative values that round to zero.
 */
function float4FromFloat32Bits(x: number): number {
  const a = x & 0x7fffffff;
  if (a > 0x7f800000) return 0x7;
  const sign = (x >>> 28) & 0x8;
  const h = a === 0x7f800000 ? 0x7 : roundMagnitude(a, 1, 1);
  return sign | (h > 0x7 ? 0x7 : h);
}

export function float32ToFloat4e2m1Bits(values: ArrayLike<number>, out?: Uint8Array): Uint8Array {
  return encodeEach(values, out ?? new Uint8Array(values.length), float4FromFloat32Bits);
}

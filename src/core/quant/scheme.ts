// The numbers of quantization: integer ranges, scale and zero point, quantize/dequantize, per
// channel and int32 bias (per block is in blockScheme.ts). Pure arithmetic, no onnxruntime, so
// the graph rewrite, the reports and the tests share one definition.
//
// The contract is docs/quantization.md (sections 1, 2 and 3; blockScheme.ts follows section 10).
// Arithmetic follows it to the bit: values and scales are float32 (Math.fround) wherever
// onnxruntime's kernels or the reference tool hold them in float32, and float64 where the
// reference computes in float64.
import { DataType } from '../onnx/dataTypes';

export type QuantType = 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint4' | 'int4';

export const QUANT_TYPES: readonly QuantType[] = ['uint8', 'int8', 'uint16', 'int16', 'uint4', 'int4'];

export interface QuantTypeInfo {
  /** ONNX TensorProto.DataType of the quantized tensor. */
  dataType: DataType;
  signed: boolean;
  bits: number;
  /** The type's full range: what quantized values are always clamped to. */
  fullMin: number;
  fullMax: number;
}

const TYPE_INFO: Record<QuantType, QuantTypeInfo> = {
  uint8: { dataType: DataType.UINT8, signed: false, bits: 8, fullMin: 0, fullMax: 255 },
  int8: { dataType: DataType.INT8, signed: true, bits: 8, fullMin: -128, fullMax: 127 },
  uint16: { dataType: DataType.UINT16, signed: false, bits: 16, fullMin: 0, fullMax: 65535 },
  int16: { dataType: DataType.INT16, signed: true, bits: 16, fullMin: -32768, fullMax: 32767 },
  uint4: { dataType: DataType.UINT4, signed: false, bits: 4, fullMin: 0, fullMax: 15 },
  int4: { dataType: DataType.INT4, signed: true, bits: 4, fullMin: -8, fullMax: 7 },
};

export function quantTypeInfo(t: QuantType): QuantTypeInfo {
  const info = TYPE_INFO[t];
  if (!info) throw new RangeError(`unknown quantization type '${String(t)}' (one of ${QUANT_TYPES.join(', ')})`);
  return info;
}

/** Integer arrays holding quantized values; 4-bit values are unpacked, one per element. */
export type QuantArray = Uint8Array | Int8Array | Uint16Array | Int16Array;

function newQuantArray(t: QuantType, n: number): QuantArray {
  switch (t) {
    case 'uint8':
    case 'uint4':
      return new Uint8Array(n);
    case 'int8':
    case 'int4':
      return new Int8Array(n);
    case 'uint16':
      return new Uint16Array(n);
    case 'int16':
      return new Int16Array(n);
  }
}

/** Smallest normal float32: the reference treats smaller scales as "no range at all". */
export const FLOAT32_TINY = 1.17549435e-38;

/**
 * Round to nearest, ties to even (QuantizeLinear's rounding). The tie is detected on the value
 * itself: Math.round rounds ties up (-1.5 -> -1) and cannot be patched reliably after the fact.
 * Returns +0 rather than -0 so that results compare equal with Object.is.
 */
export function roundHalfEven(x: number): number {
  if (!Number.isFinite(x)) return x;
  const f = Math.floor(x);
  // Exact whenever it matters: inexact only for x in (-0.5, 0), where every outcome is 0.
  const d = x - f;
  let r: number;
  if (d < 0.5) r = f;
  else if (d > 0.5) r = f + 1;
  else r = f % 2 === 0 ? f : f + 1;
  return r + 0;
}

export interface RangeOptions {
  /** Symmetric range around 0 (zero point in the middle). */
  symmetric?: boolean;
  /** One bit less of range (weights only; for old CPUs whose int8 dot products can overflow). */
  reduceRange?: boolean;
}

export interface ScaleOptions extends RangeOptions {
  /** Smallest real range rmax - rmin (some accelerators need one). */
  minRealRange?: number;
}

// The table of docs/quantization.md, section 1, one row a type. Reduced range wins over symmetric,
// as in the reference; 4-bit types have no separate symmetric range.
const RANGES: Record<QuantType, { symmetric: [number, number]; reduced: [number, number] }> = {
  uint8: { symmetric: [0, 254], reduced: [0, 127] },
  int8: { symmetric: [-127, 127], reduced: [-64, 64] },
  uint16: { symmetric: [0, 65534], reduced: [0, 32767] },
  int16: { symmetric: [-32767, 32767], reduced: [-16384, 16384] },
  uint4: { symmetric: [0, 15], reduced: [0, 7] },
  int4: { symmetric: [-8, 7], reduced: [-4, 3] },
};

/** [qmin, qmax] used to pick S and Z (clamping always uses the full range). */
export function integerRange(type: QuantType, opts: RangeOptions = {}): [number, number] {
  const info = quantTypeInfo(type);
  if (opts.reduceRange) return [...RANGES[type].reduced];
  if (opts.symmetric) return [...RANGES[type].symmetric];
  return [info.fullMin, info.fullMax];
}

export interface QuantParams {
  /** A float32 value. */
  scale: number;
  zeroPoint: number;
}

/**
 * Scale and zero point for values in [rmin, rmax] (docs/quantization.md, section 1):
 * 0 is included, symmetric widens to [-a, a], rmax - rmin is a float32 difference (the reference
 * subtracts float32 arrays), S = (rmax - rmin) / (qmax - qmin) in float64 and stored as float32,
 * Z from the float64 S, rounded half to even and clamped into the full range.
 */
export function scaleZeroPoint(rmin: number, rmax: number, type: QuantType, opts: ScaleOptions = {}): QuantParams {
  const info = quantTypeInfo(type);
  const [qmin, qmax] = integerRange(type, opts);
  if (Number.isNaN(rmin) || Number.isNaN(rmax)) throw new RangeError(`range [${rmin}, ${rmax}] is not a range of numbers`);
  let lo = Math.min(Math.fround(rmin), 0);
  let hi = Math.max(Math.fround(rmax), 0);
  if (opts.minRealRange !== undefined) hi = Math.max(hi, Math.fround(lo + Math.fround(opts.minRealRange)));
  if (opts.symmetric) {
    const a = Math.max(Math.abs(lo), Math.abs(hi));
    lo = -a;
    hi = a;
  }
  const s64 = Math.fround(hi - lo) / (qmax - qmin);
  if (!(s64 >= FLOAT32_TINY)) return { scale: 1, zeroPoint: 0 };
  const z = opts.symmetric ? roundHalfEven((qmin + qmax) / 2) : roundHalfEven(qmin - lo / s64);
  return { scale: Math.fround(s64), zeroPoint: clamp(z, info.fullMin, info.fullMax) };
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

/** One value: clamp(roundHalfEven(x / S) + Z) with x / S a float32 quotient like ORT's kernels.
 *  NaN maps to the zero point. */
export function quantizeOne(x: number, s: number, z: number, lo: number, hi: number): number {
  const r = roundHalfEven(Math.fround(x / s));
  return Number.isNaN(r) ? clamp(z, lo, hi) : clamp(r + z, lo, hi);
}

/**
 * q = clamp(roundHalfEven(x / S) + Z, fullMin, fullMax). S is taken as float32 (as the model
 * stores it). `out`, when given, must be at least as long as `x`.
 */
export function quantizeValues(x: ArrayLike<number>, scale: number, zeroPoint: number, type: QuantType, out?: QuantArray): QuantArray {
  const { fullMin, fullMax } = quantTypeInfo(type);
  const s = Math.fround(scale);
  const q = out ?? newQuantArray(type, x.length);
  if (q.length < x.length) throw new RangeError(`output holds ${q.length} values, ${x.length} needed`);
  for (let i = 0; i < x.length; i++) q[i] = quantizeOne(x[i], s, zeroPoint, fullMin, fullMax);
  return q;
}

/** x~ = (q - Z) * S, rounded to float32 once (as DequantizeLinear's kernel computes it). */
export function dequantizeValues(q: ArrayLike<number>, scale: number, zeroPoint: number): Float32Array {
  const s = Math.fround(scale);
  const out = new Float32Array(q.length);
  // (q - Z) * S is exact in float64 (17-bit integer times 24-bit mantissa), so storing it rounds once.
  for (let i = 0; i < q.length; i++) out[i] = (q[i] - zeroPoint) * s;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Per channel (docs/quantization.md, section 2).

/** Channel axis of a weight, per op: where the output channels are. */
export function weightAxis(opType: string, attrs: { transB?: boolean | number } = {}): number {
  switch (opType) {
    case 'Conv':
      return 0; // [M, C/group, kH, kW]
    case 'ConvTranspose':
      return 1; // [C, M/group, kH, kW]
    case 'Gemm':
      return attrs.transB ? 0 : 1; // B is [N, K] when transposed, else [K, N]
    case 'MatMul':
      return 1; // constant B [K, N]
    default:
      throw new RangeError(`no per-channel weight axis is defined for ${opType}`);
  }
}

interface Layout {
  outer: number;
  channels: number;
  inner: number;
}

function channelLayout(length: number, dims: readonly number[], axis: number): Layout {
  const rank = dims.length;
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw new RangeError(`axis ${axis} is outside a tensor of rank ${rank}`);
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < a; i++) outer *= dims[i];
  for (let i = a + 1; i < rank; i++) inner *= dims[i];
  const channels = dims[a];
  if (outer * channels * inner !== length) throw new RangeError(`${length} values given for shape [${dims.join(', ')}]`);
  return { outer, channels, inner };
}

export interface ChannelParams {
  scales: Float32Array;
  zeroPoints: Int32Array;
}

/** Scale and zero point of a whole tensor from its own min and max; `range` is null when empty. */
export function perTensorParams(values: ArrayLike<number>, type: QuantType, opts: ScaleOptions = {}): QuantParams & { range: [number, number] | null } {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const range: [number, number] | null = values.length ? [lo, hi] : null;
  return { ...scaleZeroPoint(range ? lo : 0, range ? hi : 0, type, opts), range };
}

/** Scale and zero point of each slice along `axis`, from the slice's min and max (NaN ignored). */
export function perChannelParams(weights: Float32Array, dims: readonly number[], axis: number, type: QuantType, opts: ScaleOptions = {}): ChannelParams {
  const { outer, channels, inner } = channelLayout(weights.length, dims, axis);
  const min = new Float64Array(channels).fill(Infinity);
  const max = new Float64Array(channels).fill(-Infinity);
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      const base = (o * channels + c) * inner;
      for (let i = 0; i < inner; i++) {
        const v = weights[base + i];
        if (v < min[c]) min[c] = v;
        if (v > max[c]) max[c] = v;
      }
    }
  }
  const scales = new Float32Array(channels);
  const zeroPoints = new Int32Array(channels);
  for (let c = 0; c < channels; c++) {
    // An empty (or all-NaN) slice has no range: it ends up degenerate (S = 1, Z = 0).
    const p = scaleZeroPoint(Math.min(min[c], 0), Math.max(max[c], 0), type, opts);
    scales[c] = p.scale;
    zeroPoints[c] = p.zeroPoint;
  }
  return { scales, zeroPoints };
}

/** Quantizes each slice along `axis` with its own scale and zero point. */
export function quantizePerChannel(
  weights: Float32Array,
  dims: readonly number[],
  axis: number,
  scales: ArrayLike<number>,
  zeroPoints: ArrayLike<number>,
  type: QuantType,
): QuantArray {
  const { outer, channels, inner } = channelLayout(weights.length, dims, axis);
  if (scales.length !== channels || zeroPoints.length !== channels) {
    throw new RangeError(`${channels} channels on axis ${axis}, but ${scales.length} scales and ${zeroPoints.length} zero points`);
  }
  const { fullMin, fullMax } = quantTypeInfo(type);
  const q = newQuantArray(type, weights.length);
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      const s = Math.fround(scales[c]);
      const z = zeroPoints[c];
      const base = (o * channels + c) * inner;
      for (let i = 0; i < inner; i++) q[base + i] = quantizeOne(weights[base + i], s, z, fullMin, fullMax);
    }
  }
  return q;
}

// ---------------------------------------------------------------------------------------------
// Bias (docs/quantization.md, section 3).

export interface QuantizedBias {
  /** int32 values, zero point 0. */
  values: Int32Array;
  /** float32 S_bias: one per channel when the weight is per channel, else one. */
  scales: Float32Array;
  /** Indices of the bias values that did not fit int32 (and were clamped). */
  overflow: number[];
  /**
   * Present when something overflowed: weight scales (same length as given) large enough for
   * every bias value to fit. The reference enlarges the weight scale this way; the caller then
   * quantizes the weight again with these scales, quantizes the bias again, and warns, naming
   * the tensor.
   */
  adjustWeightScale?: Float32Array;
}

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
/** Head room so that the rounded float32 scale and the rounded bias still fit. */
const BIAS_MARGIN = 1.0001;

/**
 * int32 bias with S_bias = S_in * S_w * beta (float64, Gemm's beta), values rounded half to
 * even and clamped to int32. `weightScales` has one scale (per tensor) or one per bias value.
 */
export function quantizeBias(bias: Float32Array, inputScale: number, weightScales: ArrayLike<number>, beta = 1): QuantizedBias {
  if (!(Number.isFinite(inputScale) && inputScale > 0)) throw new RangeError(`input scale ${inputScale} is not a positive number`);
  if (!(Number.isFinite(beta) && beta !== 0)) throw new RangeError(`beta ${beta} is not a non-zero number`);
  const perChannel = weightScales.length !== 1;
  if (perChannel && weightScales.length !== bias.length) {
    throw new RangeError(`${weightScales.length} weight scales for ${bias.length} bias values (one, or one per value)`);
  }
  const biasScale = Array.from(weightScales, (w) => inputScale * w * beta);
  const values = new Int32Array(bias.length);
  const overflow: number[] = [];
  for (let i = 0; i < bias.length; i++) {
    const r = roundHalfEven(bias[i] / biasScale[perChannel ? i : 0]);
    if (Number.isNaN(r)) continue; // 0 / 0 or a NaN bias: 0
    if (r < INT32_MIN || r > INT32_MAX) overflow.push(i);
    values[i] = clamp(r, INT32_MIN, INT32_MAX);
  }
  const result: QuantizedBias = { values, scales: Float32Array.from(biasScale), overflow };
  if (overflow.length) {
    // The weight scale at which |bias| / (S_in * S_w * |beta|) stays within INT32_MAX, with a
    // little head room; scales that already suffice are kept.
    const adjusted = Float32Array.from(weightScales);
    for (const i of overflow) {
      const c = perChannel ? i : 0;
      const needed = (Math.abs(bias[i]) * BIAS_MARGIN) / (INT32_MAX * inputScale * Math.abs(beta));
      adjusted[c] = Math.max(adjusted[c], roundUpFloat32(needed));
    }
    result.adjustWeightScale = adjusted;
  }
  return result;
}

/** The smallest float32 not below x (positive x). */
function roundUpFloat32(x: number): number {
  const f = Math.fround(x);
  if (f >= x) return f;
  const bits = new Uint32Array(new Float32Array([f]).buffer);
  bits[0] += 1;
  return new Float32Array(bits.buffer)[0];
}

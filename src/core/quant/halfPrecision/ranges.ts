// The numeric limits of the half formats and the checks that keep a node in float32 because its
// values do not fit (docs/quantization.md, section 9): weights mostly under fp16's normal range,
// activations observed near or past its largest value. Encoding clamps what is left past the
// largest finite value, so a conversion never turns a finite weight into Inf.
import { float32ToBfloat16Bits, float32ToFloat16Bits } from '../../onnx/floatFormats';
import type { NodeProto } from '../../onnx/types';

/** Largest finite float16. */
export const FP16_MAX = 65504;
/** Smallest positive normal float16 (2^-14): below it values keep fewer significant bits. */
export const FP16_MIN_NORMAL = 2 ** -14;
/** Under half the smallest float16 subnormal (2^-25), a value rounds to zero. */
export const FP16_FLUSH = 2 ** -25;
/** Largest finite bfloat16 (0x7F7F). */
export const BF16_MAX = 3.3895313892515355e38;
/**
 * An activation is kept in float32 when its observed magnitude exceeds FP16_MAX / this margin:
 * calibration samples are a sample, and values within a factor 2 of the limit overflow on an
 * input only somewhat larger than those seen.
 */
export const ACTIVATION_MARGIN = 2;
/** A weight blocks its node when more than this share of its nonzero values are subnormal in
 *  float16 (weights of at least MIN_WEIGHT_ELEMENTS) or round to zero (any constant). */
export const UNDERFLOW_SHARE = 0.5;
export const MIN_WEIGHT_ELEMENTS = 16;

export type HalfMode = 'fp16' | 'bf16';

export interface WeightStats {
  elements: number;
  nonzero: number;
  /** Nonzero finite values under FP16_MIN_NORMAL (subnormal or zero in float16). */
  subnormal: number;
  /** Nonzero values that round to zero in float16. */
  flushed: number;
  /** Finite values past FP16_MAX. */
  beyond: number;
  maxAbs: number;
}

export function weightStats(values: Float32Array): WeightStats {
  let nonzero = 0;
  let subnormal = 0;
  let flushed = 0;
  let maxAbs = 0;
  let beyond = 0;
  for (let i = 0; i < values.length; i++) {
    const a = Math.abs(values[i]);
    if (!(a > 0) || a === Infinity) continue;
    nonzero++;
    if (a > maxAbs) maxAbs = a;
    if (a > FP16_MAX) beyond++;
    if (a < FP16_MIN_NORMAL) subnormal++;
    if (a < FP16_FLUSH) flushed++;
  }
  return { elements: values.length, nonzero, subnormal, flushed, beyond, maxAbs };
}

const sci = (x: number) => x.toExponential(1);

/**
 * Why a float16 node must keep this weight (and so compute) in float32, if it must. A weight past
 * ±65504 blocks its node (clamping a BatchNormalization variance of 4.8e7 would wreck the
 * output), except a single value: a fill or mask constant (-1e9, -3.4e38) means "very large" and
 * is clamped to ±65504.
 */
export function weightReason(weight: string, s: WeightStats): string | undefined {
  if (!s.nonzero) return undefined;
  if (s.beyond && s.elements > 1) {
    return `${s.beyond} of ${s.elements} values of '${weight}' exceed float16's largest ${FP16_MAX} (max |value| ${sci(s.maxAbs)})`;
  }
  if (s.flushed > UNDERFLOW_SHARE * s.nonzero) {
    return `${s.flushed} of ${s.nonzero} nonzero values of '${weight}' are under ${sci(FP16_FLUSH)} and would become 0 in float16`;
  }
  if (s.elements >= MIN_WEIGHT_ELEMENTS && s.subnormal > UNDERFLOW_SHARE * s.nonzero) {
    return `${s.subnormal} of ${s.nonzero} nonzero values of '${weight}' are under fp16's smallest normal ${sci(FP16_MIN_NORMAL)} (subnormal: precision lost)`;
  }
  return undefined;
}

/** Why an observed activation range keeps the nodes that write and read it in float32. */
export function overflowReason(tensor: string, maxAbs: number): string | undefined {
  if (!(maxAbs > FP16_MAX / ACTIVATION_MARGIN)) return undefined;
  return maxAbs > FP16_MAX
    ? `max |activation| of '${tensor}' ${sci(maxAbs)} > ${FP16_MAX} (float16 overflow)`
    : `max |activation| of '${tensor}' ${sci(maxAbs)} is within a factor ${ACTIVATION_MARGIN} of float16's largest value ${FP16_MAX}`;
}

/** Standard deviations above the running mean taken as a BatchNormalization input's reach. */
export const BATCHNORM_SIGMAS = 4;

/**
 * A BatchNormalization's running mean and variance describe its input: when |mean| + 4 std of a
 * channel passes the activation limit, the input overflows float16 on ordinary data, so the node
 * that writes it and the normalization stay float32 (found without calibration data).
 */
export function batchNormOverflow(n: NodeProto, values: (name: string) => Float32Array): string | undefined {
  const mean = values(n.input[3]);
  const variance = values(n.input[4]);
  let reach = 0;
  for (let c = 0; c < mean.length && c < variance.length; c++)
    reach = Math.max(reach, Math.abs(mean[c]) + BATCHNORM_SIGMAS * Math.sqrt(Math.max(variance[c], 0)));
  if (!(reach > FP16_MAX / ACTIVATION_MARGIN)) return undefined;
  return `the running statistics of BatchNormalization '${n.name || n.output[0]}' put its input '${n.input[0]}' at ±${sci(reach)} (|mean| + ${BATCHNORM_SIGMAS} std), past float16's safe ${FP16_MAX / ACTIVATION_MARGIN}`;
}

/** The half bits of float32 values; finite values past the format's largest are clamped to it
 *  (counted), Inf and NaN stay what they are. */
export function encodeHalf(values: Float32Array, mode: HalfMode): { bits: Uint16Array; clamped: number } {
  const limit = mode === 'fp16' ? FP16_MAX : BF16_MAX;
  let clamped = 0;
  let src = values;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Math.abs(v) > limit && Number.isFinite(v)) {
      if (src === values) src = Float32Array.from(values);
      src[i] = v > 0 ? limit : -limit;
      clamped++;
    }
  }
  return { bits: mode === 'fp16' ? float32ToFloat16Bits(src) : float32ToBfloat16Bits(src), clamped };
}

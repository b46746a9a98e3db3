// The running statistics of one quantized activation during the analysis: local error (its own
// Q/DQ), accumulated error (float model vs quantized model), observed range, clipping, range use
// and a histogram on a fixed grid.
import type { LayerReport } from '../../shared/quantReport';
import { QUANT_TYPES, quantTypeInfo, type QuantType } from '../quant/scheme';
import { AnalysisError } from './errors';
import type { ActivationPair, FusedActivation } from './match';
import { ErrorAccumulator, FixedHistogram } from './metrics';

/** The integer grid of a pair's type; any other type (float8, say) has no such grid to measure
 *  clipping and range use against, and guessing one would report wrong numbers. */
export function qRange(p: ActivationPair, file?: string): { qmin: number; qmax: number } {
  if (!QUANT_TYPES.includes(p.type as QuantType)) {
    throw new AnalysisError(
      `tensor '${p.before}' is quantized to ${p.type}, which the analysis cannot measure (integer types only: ${QUANT_TYPES.join(', ')}); quantize it to one of those, or keep it in float`,
      file,
    );
  }
  const info = quantTypeInfo(p.type as QuantType);
  return { qmin: info.fullMin, qmax: info.fullMax };
}

/** The float range the integer grid covers. */
export function clipRangeOf(p: ActivationPair): [number, number] {
  const { qmin, qmax } = qRange(p);
  return [(qmin - p.zeroPoint) * p.scale, (qmax - p.zeroPoint) * p.scale];
}

/** The running statistics of one activation. */
export class LayerStats {
  readonly local = new ErrorAccumulator();
  readonly accumulated = new ErrorAccumulator();
  min = Infinity;
  max = -Infinity;
  clipped = 0;
  qSeenMin = Infinity;
  qSeenMax = -Infinity;
  readonly qmin: number;
  readonly qmax: number;
  readonly clip: [number, number];
  readonly histogram: FixedHistogram;
  sizeMismatch = false;
  private readonly activation?: (v: number) => number;

  constructor(
    readonly pair: ActivationPair,
    readonly calibrated: [number, number] | null,
    bins: number,
    readonly fused: FusedActivation | null,
  ) {
    ({ qmin: this.qmin, qmax: this.qmax } = qRange(pair));
    this.clip = clipRangeOf(pair);
    const lo = Math.min(this.clip[0], calibrated?.[0] ?? Infinity);
    const hi = Math.max(this.clip[1], calibrated?.[1] ?? -Infinity);
    this.histogram = new FixedHistogram(lo, hi, bins);
    if (fused) this.activation = (v) => (v < fused.min ? fused.min : v > fused.max ? fused.max : v);
  }

  add(x: Float32Array | undefined, before: Float32Array, after: Float32Array): void {
    // With a fused Relu/Clip, every number describes the values after it: the activation's own
    // cut is not clipping, and a histogram or range of the values before it would show values
    // beyond the clip range that the clip share rightly does not count.
    const act = this.activation;
    if (act) {
      before = before.map(act);
      if (x) x = x.map(act);
    }
    // The float model's values when they match element for element: the observed range, the
    // histogram and the clip share then all describe the same values, so they cannot disagree.
    const ref = x && x.length === before.length ? x : before;
    for (let i = 0; i < ref.length; i++) {
      if (ref[i] < this.min) this.min = ref[i];
      if (ref[i] > this.max) this.max = ref[i];
    }
    this.histogram.add(ref);
    this.local.add(before, after);
    if (x && x.length === after.length) this.accumulated.add(x, after);
    else if (x) this.sizeMismatch = true;
    const { scale, zeroPoint } = this.pair;
    // Saturated: beyond the grid's ends by more than half a step (values at qmin that round there,
    // such as the zeros of a Relu, are not clipped).
    const lo = this.clip[0] - scale / 2;
    const hi = this.clip[1] + scale / 2;
    for (let i = 0; i < after.length; i++) {
      if (ref[i] < lo || ref[i] > hi) this.clipped++;
      const q = Math.round(after[i] / scale) + zeroPoint;
      if (q < this.qSeenMin) this.qSeenMin = q;
      if (q > this.qSeenMax) this.qSeenMax = q;
    }
  }

  report(order: number): LayerReport {
    const p = this.pair;
    const n = this.local.count;
    return {
      tensor: p.floatName || p.before,
      node: p.node,
      opType: p.opType,
      order,
      quantizedType: p.type,
      scale: p.scale,
      zeroPoint: p.zeroPoint,
      step: p.scale,
      calibratedRange: this.calibrated,
      clipRange: this.clip,
      observed: n ? [this.min, this.max] : null,
      local: this.local.result(),
      accumulated: this.accumulated.result(),
      clippingRate: n ? this.clipped / n : null,
      rangeUse: n ? Math.min(1, Math.max(0, (this.qSeenMax - this.qSeenMin) / (this.qmax - this.qmin))) : null,
      histogram: n ? this.histogram.result() : null,
      elements: n,
      fusedActivation: this.fused?.op ?? null,
      consumers: p.consumers,
    };
  }
}

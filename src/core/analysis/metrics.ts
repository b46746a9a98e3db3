// Error metrics between a reference tensor x (float model) and y (quantized model).

const EPS = 1e-10;

/** SQNR in dB as the reference tool defines it: 20 log10(max(||x||, eps) / max(||x - y||, eps)). */
export function sqnr(x: ArrayLike<number>, y: ArrayLike<number>): number {
  let signal = 0;
  let noise = 0;
  for (let i = 0; i < x.length; i++) {
    signal += x[i] * x[i];
    noise += (x[i] - y[i]) ** 2;
  }
  return 20 * Math.log10(Math.max(Math.sqrt(signal), EPS) / Math.max(Math.sqrt(noise), EPS));
}

/**
 * The metrics of many (x, y) pairs seen one batch at a time: only running sums are kept (signal
 * and noise energy, dot products, the largest difference), so memory never grows with samples.
 * SQNR over everything seen equals `sqnr` of the concatenated tensors.
 */
export class ErrorAccumulator {
  private xx = 0;
  private yy = 0;
  private xy = 0;
  private noise = 0;
  private max = 0;
  count = 0;

  add(x: ArrayLike<number>, y: ArrayLike<number>): void {
    if (x.length !== y.length) throw new RangeError(`cannot compare ${x.length} values with ${y.length}`);
    let xx = 0,
      yy = 0,
      xy = 0,
      noise = 0,
      max = this.max;
    for (let i = 0; i < x.length; i++) {
      const a = x[i],
        b = y[i],
        d = a - b;
      xx += a * a;
      yy += b * b;
      xy += a * b;
      noise += d * d;
      const ad = d < 0 ? -d : d;
      if (ad > max) max = ad;
    }
    this.xx += xx;
    this.yy += yy;
    this.xy += xy;
    this.noise += noise;
    this.max = max;
    this.count += x.length;
  }

  /** The number of running sums kept (constant; tests check that memory does not grow). */
  static readonly stateSize = 6;

  result(): { sqnr: number | null; mse: number | null; cosine: number | null; maxAbs: number | null } {
    if (!this.count) return { sqnr: null, mse: null, cosine: null, maxAbs: null };
    const norms = Math.sqrt(this.xx) * Math.sqrt(this.yy);
    return {
      sqnr: 20 * Math.log10(Math.max(Math.sqrt(this.xx), EPS) / Math.max(Math.sqrt(this.noise), EPS)),
      mse: this.noise / this.count,
      // Two zero vectors are the same; one zero vector against another is orthogonal.
      cosine: norms > 0 ? Math.max(-1, Math.min(1, this.xy / norms)) : this.xx === this.yy ? 1 : 0,
      maxAbs: this.max,
    };
  }
}

/** Counts over fixed bin edges decided before the data is seen; what falls outside is counted apart. */
export class FixedHistogram {
  readonly counts: Float64Array;
  below = 0;
  above = 0;
  private readonly width: number;

  constructor(
    readonly lo: number,
    readonly hi: number,
    bins: number,
  ) {
    if (!(hi > lo)) hi = lo + 1e-6;
    this.hi = hi;
    this.counts = new Float64Array(bins);
    this.width = (hi - lo) / bins;
  }

  add(values: ArrayLike<number>): void {
    const { lo, hi, width, counts } = this;
    const last = counts.length - 1;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v < lo) this.below++;
      else if (v > hi) this.above++;
      else counts[Math.min(last, Math.floor((v - lo) / width))]++;
    }
  }

  result(): { edges: number[]; counts: number[]; below: number; above: number } {
    const edges = Array.from({ length: this.counts.length + 1 }, (_, i) => this.lo + i * this.width);
    edges[edges.length - 1] = this.hi;
    return { edges, counts: Array.from(this.counts), below: this.below, above: this.above };
  }
}

// Statistics of a stream of numbers in one pass: min, max, mean, standard deviation, share of
// zeros, non-finite counts and a histogram. Memory is constant whatever the number of values,
// so the same collector serves a weight tensor and a calibration run over many batches.
//
// The histogram keeps a fixed number of equal bins. When a value falls outside, the bin width
// doubles (adjacent bins merge exactly) and the range grows towards the value, until it fits:
// counts are exact, only their resolution coarsens.

export interface Histogram {
  /** Left edge of bin 0. */
  start: number;
  binWidth: number;
  counts: number[];
}

export interface ValueStats {
  count: number;
  min: number;
  max: number;
  mean: number;
  std: number;
  zeros: number;
  /** Share of exact zeros among all values. */
  zeroFraction: number;
  nan: number;
  infinite: number;
  histogram: Histogram;
}

export class StatsCollector {
  private n = 0; // finite values
  private mean = 0;
  private m2 = 0;
  private min = Infinity;
  private max = -Infinity;
  private zeros = 0;
  private nan = 0;
  private inf = 0;
  private readonly counts: Float64Array;
  private start = NaN;
  private width = 0;

  constructor(readonly bins = 64) {
    if (bins < 2 || bins % 2) throw new RangeError('histogram bins must be an even number >= 2');
    this.counts = new Float64Array(bins);
  }

  /** Adds a batch of values. */
  add(values: ArrayLike<number>): void {
    if (Number.isNaN(this.start)) this.initRange(values);
    // Hot loop: state in locals, the histogram range checked against a precomputed end.
    let { n, mean, m2, min, max, zeros, nan, inf } = this;
    const counts = this.counts;
    const last = this.bins - 1;
    let start = this.start;
    let width = this.width;
    let end = start + width * this.bins;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (!Number.isFinite(v)) {
        if (Number.isNaN(v)) nan++;
        else inf++;
        continue;
      }
      n++;
      const d = v - mean;
      mean += d / n;
      m2 += d * (v - mean);
      if (v < min) min = v;
      if (v > max) max = v;
      if (v === 0) zeros++;
      if (!(v >= start && v < end)) {
        // also true while no range is set (start NaN)
        if (Number.isNaN(start)) this.startAt(v);
        while (v < this.start || v >= this.start + this.width * this.bins) this.widen(v < this.start);
        start = this.start;
        width = this.width;
        end = start + width * this.bins;
      }
      counts[Math.min(last, Math.floor((v - start) / width))]++;
    }
    Object.assign(this, { n, mean, m2, min, max, zeros, nan, inf });
  }

  /** The first finite values set the initial range, so typical data needs no widening. */
  private initRange(values: ArrayLike<number>): void {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (!Number.isFinite(v)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (lo > hi) return;
    this.start = lo;
    this.width = hi > lo ? ((hi - lo) / this.bins) * (1 + 1e-9) : Math.max(Math.abs(lo) * 1e-6, 1e-12);
  }

  private startAt(v: number): void {
    this.start = v;
    this.width = Math.max(Math.abs(v) * 1e-6, 1e-12);
  }

  /** Doubles the bin width; the range grows left (old bins into the upper half) or right. */
  private widen(left: boolean): void {
    const b = this.bins;
    const half = b / 2;
    const merged = new Float64Array(b);
    for (let k = 0; k < b; k++) merged[(left ? half : 0) + (k >> 1)] += this.counts[k];
    this.counts.set(merged);
    if (left) this.start -= this.width * b;
    this.width *= 2;
  }

  result(): ValueStats {
    const total = this.n + this.nan + this.inf;
    const empty = this.n === 0;
    return {
      count: total,
      min: empty ? NaN : this.min,
      max: empty ? NaN : this.max,
      mean: empty ? NaN : this.mean,
      std: empty ? NaN : Math.sqrt(this.m2 / this.n),
      zeros: this.zeros,
      zeroFraction: total ? this.zeros / total : 0,
      nan: this.nan,
      infinite: this.inf,
      histogram: { start: empty ? 0 : this.start, binWidth: this.width, counts: Array.from(this.counts) },
    };
  }
}

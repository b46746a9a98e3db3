// Entropy (KL divergence) calibration: the clipping threshold whose 8-bit-like re-binning loses
// the least information about the observed distribution.
//
// Default mode (TensorRT style, a real search): pass 1 bins x over [-absmax, absmax] (or |x| over
// [0, absmax] in symmetric mode) into `bins` bins. For each candidate window of bins centred on 0
// (i bins each side, i from quantizedBins/2 to bins/2; symmetric mode: the first i bins, i from
// quantizedBins to bins):
//   p: the window's counts with the mass outside folded into its two edge bins (what clipping
//      does to the data);
//   q: the window's counts WITHOUT the folded mass, merged into quantizedBins levels and spread
//      back evenly over the bins where p is non-zero (what the quantized grid can say). Leaving
//      the outliers out of q is what makes clipping cost something;
//   zeros of p and q get a small epsilon, both are normalized, KL = sum p ln(p / q).
// The window with the least KL gives the threshold T; ties go to the wider window. Bins are
// assigned to levels proportionally (bin j of L to level floor(j Q / L)), so no level absorbs
// a remainder.
//
// Parity mode reproduces ONNX Runtime's Python tool: 128 bins and 128 quantized bins by default,
// one pass with its histogram-widening merge rule, its window (one more bin on the right), its
// merge of L bins into floor(L / Q)-bin levels with the remainder in the last level, q truncated
// to integers, its smoothing (eps = 1e-4 added to zeros and taken from non-zeros, in float32),
// the first minimum. With 128/128 there is a single candidate, the whole histogram, so the result
// is the observed [min, max], as with MinMax. Arithmetic is float64 where numpy may use float32.
//
// Both modes clip the threshold range to the observed [min, max], as the reference does.
import { checkInteger, fmt, HistogramCollector, NonFinite, rangeWarnings, result, finiteRange } from './common';
import type { CollectedRange, Collector } from './types';

/** Smoothing epsilon, in counts (the reference's value). */
const EPS = 1e-4;

export class EntropyCollector extends HistogramCollector {
  readonly label: string;

  constructor(
    bins: number,
    private readonly levels: number,
    symmetric: boolean,
  ) {
    super(bins, symmetric);
    this.label = `entropy (KL, ${symmetric ? 'symmetric |x|, ' : ''}${bins} bins, ${levels} levels)`;
  }

  protected histogramRange(): [number, number] {
    const a = this.absMax;
    return this.absolute ? [0, a] : [-a, a];
  }

  protected choose(): { lo: number; hi: number; notes: string[] } {
    const h = this.counts!;
    const n = h.length;
    const a = this.absMax;
    if (a === 0) return { lo: 0, hi: 0, notes: [] };
    const pre = klPrefix(h);
    const prefix = pre.mass;
    const shares = new Float64Array(this.levels);
    const Q = this.levels;
    let best = Infinity;
    let bestT = a;
    const half = n / 2;
    const first = this.absolute ? Q : Math.ceil(Q / 2);
    const last = this.absolute ? n : half;
    const width = this.absolute ? a / n : (2 * a) / n;
    for (let i = first; i <= last; i++) {
      const start = this.absolute ? 0 : half - i;
      const end = this.absolute ? i : half + i;
      const kl = klDivergence(h, pre, start, end, prefix[start], prefix[n] - prefix[end], Q, shares);
      if (kl <= best) {
        // ties: the wider window
        best = kl;
        bestT = i === last ? a : i * width;
      }
    }
    const [lo, hi] = this.clipToObserved(-bestT, bestT);
    return { lo, hi, notes: rangeWarnings('entropy', lo, hi, this.min, this.max) };
  }
}

/** Prefix sums over the histogram: counts, h ln h (with its compensation term) and non-zero bins. */
interface KlPrefix {
  mass: Float64Array;
  hlnh: Float64Array;
  hlnhLow: Float64Array;
  nonzero: Float64Array;
}

function xlnx(x: number): number {
  return x > 0 ? x * Math.log(x) : 0;
}

function klPrefix(h: Float64Array): KlPrefix {
  const n = h.length;
  const mass = new Float64Array(n + 1);
  const hlnh = new Float64Array(n + 1);
  const hlnhLow = new Float64Array(n + 1); // Neumaier compensation of the h ln h sums
  const nonzero = new Float64Array(n + 1);
  let c = 0;
  for (let k = 0; k < n; k++) {
    mass[k + 1] = mass[k] + h[k];
    nonzero[k + 1] = nonzero[k] + (h[k] > 0 ? 1 : 0);
    const x = xlnx(h[k]);
    const s = hlnh[k];
    const t = s + x;
    c += Math.abs(s) >= Math.abs(x) ? s - t + x : x - t + s;
    hlnh[k + 1] = t;
    hlnhLow[k + 1] = c;
  }
  return { mass, hlnh, hlnhLow, nonzero };
}

/**
 * KL(p || q) of one candidate window (see the file comment), in O(levels) from the prefix sums,
 * equal to the per-bin sum up to rounding. With P and S the sums of the smoothed p and q and
 * c = (share, or eps where share is 0) P / S a level's q in p's units, KL = (1 / P) times the sum
 * of p ln(p / c) over the bins where p is non-zero (sum(h ln h) - (mass) ln c from the prefix
 * sums; the two edge bins, which carry the folded mass, directly) plus eps ln(S / P) per bin
 * where p is 0. `shares` is scratch (one per level).
 */
function klDivergence(h: Float64Array, pre: KlPrefix, start: number, end: number, below: number, above: number, Q: number, shares: Float64Array): number {
  const L = end - start;
  const { mass, hlnh, hlnhLow, nonzero } = pre;
  if (mass[end] - mass[start] === 0) return Infinity; // nothing left inside the window
  const p0 = h[start] + below;
  const pL = h[end - 1] + above;
  // Pass 1: P and S, the sums of the smoothed p and q.
  let pSum = 0;
  let qSum = 0;
  let zerosAll = 0;
  let a = start;
  for (let k = 0; k < Q; k++) {
    const b = start + Math.floor(((k + 1) * L) / Q);
    const sum = mass[b] - mass[a];
    const nz = levelNonzero(nonzero, a, b, start, end, p0, pL);
    const pm = sum + (a === start ? below : 0) + (b === end ? above : 0);
    const zeros = b - a - nz;
    zerosAll += zeros;
    pSum += pm + EPS * zeros;
    const share = nz ? sum / nz : 0;
    qSum += share > 0 ? share * nz + EPS * zeros : EPS * (b - a);
    shares[k] = share;
    a = b;
  }
  const ratio = pSum / qSum;
  // Pass 2: sum of p ln(p / c) over the bins where p is non-zero, c = (share or eps) P / S the
  // level's q in p's units; each zero bin adds eps ln(S / P). The edge bins directly.
  let d = zerosAll * EPS * Math.log(qSum / pSum);
  a = start;
  for (let k = 0; k < Q; k++) {
    const b = start + Math.floor(((k + 1) * L) / Q);
    const share = shares[k];
    const c = (share > 0 ? share : EPS) * ratio;
    const lo = a === start ? a + 1 : a;
    const hi = b === end ? b - 1 : b;
    if (hi > lo) {
      const plnp = hlnh[hi] - hlnh[lo] + (hlnhLow[hi] - hlnhLow[lo]);
      d += plnp - (mass[hi] - mass[lo]) * Math.log(c);
    }
    if (lo > a && p0 > 0) d += p0 * Math.log(p0 / c);
    if (hi < b && pL > 0) d += pL * Math.log(pL / c);
    a = b;
  }
  return d / pSum;
}

/** Bins of [a, b) where p is non-zero (p is h except at the two edge bins of the window). */
function levelNonzero(nonzero: Float64Array, a: number, b: number, start: number, end: number, p0: number, pL: number): number {
  const lo = a === start ? a + 1 : a;
  const hi = b === end ? b - 1 : b;
  let nz = hi > lo ? nonzero[hi] - nonzero[lo] : 0;
  if (lo > a && p0 > 0) nz++;
  if (hi < b && pL > 0) nz++;
  return nz;
}

/** Largest histogram the widening rule may grow to before parity mode gives up. */
const PARITY_MAX_BINS = 1 << 22;

export class EntropyParityCollector implements Collector {
  readonly passes = 1 as const;
  readonly label: string;
  /** Grows only when a batch exceeds the threshold (the reference's rule), never per batch. */
  private counts: Float64Array | null = null;
  /** The reference's stored threshold: the histogram spans [-t, t], or [-0.5, 0.5] while t is 0. */
  private threshold = 0;
  private min = Infinity;
  private max = -Infinity;
  private readonly skipped = new NonFinite();

  constructor(
    private readonly bins: number,
    private readonly levels: number,
  ) {
    this.label = `entropy (ORT parity: ${bins} bins, ${levels} quantized bins, widening merge)`;
  }

  /** Its histogram follows every batch's values. */
  extremesFor(): null {
    return null;
  }

  addExtremes(): void {
    throw new Error(`${this.label}: needs the values of every batch`);
  }

  add(values: Float32Array, pass: number): void {
    if (pass !== 0) throw new RangeError(`${this.label}: one pass only, got pass ${pass}`);
    const [lo, hi] = finiteRange(values, this.skipped);
    if (lo > hi) return; // nothing finite in this batch
    const t = Math.max(Math.abs(lo), Math.abs(hi));
    if (!this.counts) {
      this.counts = new Float64Array(this.bins);
      this.threshold = t;
      histogramInto(this.counts, values, t);
    } else if (t <= this.threshold) {
      histogramInto(this.counts, values, this.threshold);
    } else if (this.threshold === 0) {
      // Old mass is all at 0, which lands in bin n/2 of either range: add bin by bin.
      const old = this.counts;
      this.counts = new Float64Array(old.length);
      histogramInto(this.counts, values, t);
      for (let k = 0; k < old.length; k++) this.counts[k] += old[k];
      this.threshold = t;
    } else {
      // Widen by whole old bins on both sides so that the old bins keep their edges.
      const old = this.counts;
      const stride = (2 * this.threshold) / old.length;
      const extra = Math.floor((t - this.threshold) / stride) + 1;
      const size = old.length + 2 * extra;
      if (size > PARITY_MAX_BINS) {
        throw new RangeError(
          `${this.label}: the reference's widening rule needs ${size} bins for range ±${fmt(t)} after ±${fmt(this.threshold)}; use the default entropy mode (two passes)`,
        );
      }
      const next = new Float64Array(size);
      this.threshold = extra * stride + this.threshold;
      histogramInto(next, values, this.threshold);
      for (let k = 0; k < old.length; k++) next[extra + k] += old[k];
      this.counts = next;
    }
    if (lo < this.min) this.min = lo;
    if (hi > this.max) this.max = hi;
  }

  range(): CollectedRange {
    const h = this.counts;
    if (!h) return result(0, 0, ['no finite value observed', this.skipped.note()]);
    const n = h.length;
    const [first, last] = this.threshold > 0 ? [-this.threshold, this.threshold] : [-0.5, 0.5];
    const edge = (k: number) => (k === n ? last : first + k * ((last - first) / n));
    const prefix = new Float64Array(n + 1);
    for (let k = 0; k < n; k++) prefix[k + 1] = prefix[k] + h[k];
    const zero = Math.floor(n / 2);
    const halfQ = Math.floor(this.levels / 2);
    const p = new Float64Array(n);
    const q = new Float64Array(n);
    let best = Infinity;
    let bestRange: [number, number] = [first, last];
    let refused = 0;
    for (let i = halfQ; i <= zero; i++) {
      const start = zero - i;
      const end = Math.min(zero + i + 1, n);
      let kl = referenceKl(h, start, end, prefix[start], prefix[n] - prefix[end], this.levels, p, q);
      if (Number.isNaN(kl)) {
        refused++;
        kl = Infinity;
      }
      if (i === halfQ || kl < best) {
        // np.argmin: the first minimum (the first candidate if all are inf)
        best = kl;
        bestRange = [edge(start), edge(end)];
      }
    }
    const lo = Math.max(bestRange[0], this.min);
    const hi = Math.min(bestRange[1], this.max);
    const notes: string[] = [];
    if (n !== this.bins) notes.push(`the histogram grew from ${this.bins} to ${n} bins by the reference's widening rule`);
    if (refused) notes.push(`${refused} candidate${refused > 1 ? 's' : ''} failed the reference's smoothing check (it would stop there); skipped`);
    return result(lo, hi, [...notes, ...rangeWarnings('entropy', lo, hi, this.min, this.max), this.skipped.note()]);
  }

  stateSize(): number {
    return (this.counts?.length ?? 0) + 6;
  }
}

/**
 * numpy.histogram(values, n, range=(-t, t)) added into `counts`: numpy's index formula and its
 * correction against the linspace edges; with t = 0 numpy widens the range to [-0.5, 0.5].
 */
function histogramInto(counts: Float64Array, values: Float32Array, t: number): void {
  const n = counts.length;
  const [first, last] = t > 0 ? [-t, t] : [-0.5, 0.5];
  const span = last - first;
  const step = span / n;
  const edge = (k: number) => (k === n ? last : first + k * step);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v - v !== 0 || v < first || v > last) continue;
    let k = Math.floor(((v - first) / span) * n);
    if (k === n) k--;
    if (v < edge(k)) k--;
    else if (k !== n - 1 && v >= edge(k + 1)) k++;
    counts[k]++;
  }
}

/** The reference's KL for one window; NaN where its smoothing assertion would fail. */
function referenceKl(h: Float64Array, start: number, end: number, below: number, above: number, Q: number, p: Float64Array, q: Float64Array): number {
  const L = end - start;
  for (let j = 0; j < L; j++) p[j] = h[start + j];
  p[0] += below;
  p[L - 1] += above;
  const merged = Math.floor(L / Q);
  q.fill(0, 0, L);
  for (let k = 0; k < Q; k++) {
    const a = k * merged;
    const b = a + merged;
    let sum = 0;
    for (let j = a; j < b; j++) sum += h[start + j];
    if (k === Q - 1) for (let j = Q * merged; j < L; j++) sum += h[start + j];
    let nonzero = 0;
    for (let j = a; j < b; j++) if (p[j] !== 0) nonzero++;
    // The reference writes sum / nonzero into an int64 array: truncated, and over the whole level.
    if (nonzero) q.fill(Math.trunc(sum / nonzero), a, b);
  }
  const ps = referenceSmooth(p, L);
  if (ps === null) return Infinity;
  const qs = referenceSmooth(q, L);
  if (qs === null) return Infinity; // the reference scores an all-zero q as +inf
  if (Number.isNaN(ps) || Number.isNaN(qs)) return NaN;
  // scipy.stats.entropy: both normalized, sum p ln(p / q).
  let kl = 0;
  for (let j = 0; j < L; j++) {
    const pj = p[j] / ps;
    kl += pj * Math.log(pj / (q[j] / qs));
  }
  return kl;
}

/**
 * The reference's smoothing, in place: zeros get eps, non-zeros lose eps * zeros / nonzeros,
 * stored as float32. Returns the sum, null when all entries are 0, NaN where the reference asserts.
 */
function referenceSmooth(d: Float64Array, L: number): number | null {
  let nonzero = 0;
  for (let j = 0; j < L; j++) if (d[j] !== 0) nonzero++;
  if (!nonzero) return null;
  const eps1 = (EPS * (L - nonzero)) / nonzero;
  if (eps1 >= 1) return NaN;
  const up = Math.fround(EPS);
  const down = Math.fround(-eps1);
  let sum = 0;
  for (let j = 0; j < L; j++) {
    const v = Math.fround(Math.fround(d[j]) + (d[j] === 0 ? up : down));
    if (v <= 0) return NaN;
    d[j] = v;
    sum += v;
  }
  return sum;
}

export function entropyCollector(bins: number | undefined, levels: number | undefined, symmetric: boolean, parity: boolean): Collector {
  if (parity) {
    const b = checkInteger('bins', bins ?? 128, 2, PARITY_MAX_BINS);
    const l = checkInteger('quantizedBins', levels ?? 128, 2, b);
    return new EntropyParityCollector(b, l);
  }
  const b = checkInteger('bins', bins ?? 2048, 2, 16384, true);
  const l = checkInteger('quantizedBins', levels ?? 128, 2, b);
  return new EntropyCollector(b, l, symmetric);
}

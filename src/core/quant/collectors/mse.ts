// MSE: the clipping range that minimizes the expected squared quantize-dequantize error of the
// observed distribution, searched on the pass-1 histogram (not in the reference tool).
//
// For a candidate range with step S (2^bits - 1 steps asymmetric; 2^bits - 2 symmetric, an odd
// number of levels centred on 0 like int8's -127..127) the error is estimated as
//   rounding: S^2 / 12 for every non-zero value inside the range (uniform rounding error);
//   clipping: (c - edge)^2 for every value outside, c its bin centre;
// with prefix sums of count, count*c and count*c^2 each candidate costs O(1). Exact zeros are
// kept out of the histogram: the scale computation always makes 0 exact, so they never err.
//
// Symmetric: |x| over [0, max|x|], thresholds T at every bin edge, range [-T, T].
// Asymmetric: x over [min, max], every pair of bin edges (lo <= 0 <= hi after the stretch to 0
// that the scale computation applies). Both are clipped to the observed [min, max].
// The rounding model fails for a single repeated value (0 error at the exact end point), so a
// constant magnitude (symmetric) or value (asymmetric) returns the observed range.
import { checkInteger, HistogramCollector } from './common';

export class MseCollector extends HistogramCollector {
  readonly label: string;

  constructor(
    private readonly bitsOfTarget: number,
    symmetric: boolean,
    bins: number,
  ) {
    super(bins, symmetric, false);
    this.label = `mse (${bitsOfTarget}-bit, ${symmetric ? 'symmetric' : 'asymmetric'}, ${bins} bins)`;
  }

  protected histogramRange(): [number, number] {
    return this.absolute ? [0, this.absMax] : [this.min, this.max];
  }

  protected choose(): { lo: number; hi: number; notes: string[] } {
    const constant = this.absolute ? this.absMin === this.absMax : this.min === this.max;
    if (constant) return { lo: this.min, hi: this.max, notes: [] };
    const h = this.counts!;
    const n = h.length;
    const w = (this.hi - this.lo) / n;
    // Prefix sums over bins of count, count * centre, count * centre^2.
    const N = new Float64Array(n + 1);
    const S1 = new Float64Array(n + 1);
    const S2 = new Float64Array(n + 1);
    for (let j = 0; j < n; j++) {
      const c = this.lo + (j + 0.5) * w;
      N[j + 1] = N[j] + h[j];
      S1[j + 1] = S1[j] + h[j] * c;
      S2[j + 1] = S2[j] + h[j] * c * c;
    }
    // Squared distance to `x` of the values in bins [a, b).
    const clip = (a: number, b: number, x: number) => (b > a ? S2[b] - S2[a] - 2 * x * (S1[b] - S1[a]) + x * x * (N[b] - N[a]) : 0);
    const levels = 2 ** this.bitsOfTarget;

    if (this.absolute) {
      const steps = levels - 2;
      let best = Infinity;
      let bestT = this.hi;
      for (let k = n; k >= 1; k--) {
        // widest first: ties keep the wider range
        const T = k === n ? this.hi : k * w;
        const s = (2 * T) / steps;
        const err = (N[k] * (s * s)) / 12 + clip(k, n, T);
        if (err < best) {
          best = err;
          bestT = T;
        }
      }
      const [lo, hi] = this.clipToObserved(-bestT, bestT);
      return { lo, hi, notes: [] };
    }

    const steps = levels - 1;
    const lows: number[] = [];
    const highs: number[] = [];
    for (let k = 0; k <= n; k++) {
      const e = k === n ? this.hi : this.lo + k * w;
      if (e < 0) lows.push(e);
      if (e > 0) highs.push(e);
    }
    highs.reverse(); // widest first: ties keep the wider range
    lows.push(0);
    highs.push(0);
    const below = (x: number) => Math.min(n, Math.max(0, Math.ceil((x - this.lo) / w - 0.5))); // bins with centre < x
    const upTo = (x: number) => Math.min(n, Math.max(0, Math.floor((x - this.lo) / w - 0.5) + 1)); // bins with centre <= x
    let best = Infinity;
    let bestLo = this.min;
    let bestHi = this.max;
    for (const L of lows) {
      const iL = below(L);
      const clipLow = clip(0, iL, L);
      for (const H of highs) {
        if (H <= L) continue;
        const jR = Math.max(iL, upTo(H));
        const s = (H - L) / steps;
        const err = ((N[jR] - N[iL]) * (s * s)) / 12 + clipLow + clip(jR, n, H);
        if (err < best) {
          best = err;
          bestLo = L;
          bestHi = H;
        }
      }
    }
    const [lo, hi] = this.clipToObserved(bestLo, bestHi);
    return { lo, hi, notes: [] };
  }
}

export function mseCollector(targetBits: number | undefined, symmetric: boolean, bins: number | undefined): MseCollector {
  return new MseCollector(checkInteger('targetBits', targetBits ?? 8, 2, 16), symmetric, checkInteger('bins', bins ?? 2048, 2, 16384));
}

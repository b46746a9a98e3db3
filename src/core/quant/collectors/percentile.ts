// Percentile: keep p percent of the values, cut the rest from the tails.
//
// Symmetric mode bins |x| over [min|x|, max|x|] and takes the left edge of the bin where the
// cumulative count reaches p percent: the range is [-edge, edge]. Asymmetric mode bins x over
// [min, max] and cuts (100 - p) / 200 of the values (as a fraction) from each tail, taking the
// left edge of each crossing bin, as the reference does. Either way the result is clipped to the
// observed [min, max], also as the reference does. p = 100 keeps the extremes (the left-edge rule
// would drop the top bin).
import { fmt, HistogramCollector, rangeWarnings } from './common';

export class PercentileCollector extends HistogramCollector {
  readonly label: string;

  constructor(
    private readonly percentile: number,
    symmetric: boolean,
    bins: number,
  ) {
    super(bins, symmetric);
    if (!(percentile >= 0 && percentile <= 100)) throw new RangeError(`percentile must be in [0, 100], got ${percentile}`);
    this.label = `percentile ${fmt(percentile)} (${symmetric ? 'symmetric |x|' : 'asymmetric'}, ${bins} bins)`;
  }

  protected histogramRange(): [number, number] {
    return this.absolute ? [this.absMin, this.absMax] : [this.min, this.max];
  }

  /** Left edge of the first bin whose cumulative count reaches `fraction` of all values. */
  private crossing(fraction: number): number {
    const counts = this.counts!;
    let total = 0;
    for (let k = 0; k < counts.length; k++) total += counts[k];
    // Counts are integers: reaching fraction * total means reaching its ceiling (with a little
    // slack so that 0.99999 * 100000 is 99999, not 99999.00000000001).
    const target = Math.ceil(fraction * total - 1e-9 * total);
    let cum = 0;
    for (let k = 0; k < counts.length; k++) {
      cum += counts[k];
      if (cum >= target) return this.edge(k);
    }
    return this.edge(counts.length);
  }

  protected choose(): { lo: number; hi: number; notes: string[] } {
    const p = this.percentile;
    let lo: number;
    let hi: number;
    if (this.absolute) {
      const e = p >= 100 ? this.hi : this.crossing(p / 100);
      [lo, hi] = this.clipToObserved(-e, e);
    } else {
      const cut = (100 - p) / 200;
      [lo, hi] = p >= 100 ? [this.lo, this.hi] : this.clipToObserved(this.crossing(cut), this.crossing(1 - cut));
    }
    return { lo, hi, notes: rangeWarnings('percentile', lo, hi, this.min, this.max) };
  }
}

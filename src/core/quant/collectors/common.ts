// Pieces shared by the collectors: counting what is ignored, notes, option checks, and the
// two-pass histogram every histogram method uses.
//
// Why two passes: a histogram whose range is fixed before the first value is binned is exact and
// of constant size. Pass 0 finds the global range (min, max, and the extreme magnitudes); pass 1
// bins every value into `bins` equal bins over that range.
import type { BatchExtremes, CollectedRange, Collector } from './types';

/** NaN and ±Inf are ignored everywhere; these counts end up in the note. */
export class NonFinite {
  nan = 0;
  inf = 0;

  count(v: number): void {
    if (Number.isNaN(v)) this.nan++;
    else this.inf++;
  }

  note(): string | undefined {
    if (!this.nan && !this.inf) return undefined;
    const total = this.nan + this.inf;
    return `ignored ${total} non-finite value${total > 1 ? 's' : ''} (${this.nan} NaN, ${this.inf} ±Inf)`;
  }
}

/** The finite minimum and maximum of a batch (lo > hi when none), counting NaN/Inf in `skipped`. */
export function finiteRange(values: Float32Array, skipped: NonFinite): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v - v !== 0) {
      // NaN or ±Inf
      skipped.count(v);
      continue;
    }
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

export function joinNotes(notes: (string | undefined)[]): string | undefined {
  const kept = notes.filter((n): n is string => !!n);
  return kept.length ? kept.join('; ') : undefined;
}

export function result(rmin: number, rmax: number, notes: (string | undefined)[]): CollectedRange {
  const note = joinNotes(notes);
  return note ? { rmin, rmax, note } : { rmin, rmax };
}

export function checkInteger(name: string, v: number, lo: number, hi: number, even = false): number {
  if (!Number.isInteger(v) || v < lo || v > hi || (even && v % 2)) {
    throw new RangeError(`${name} must be ${even ? 'an even' : 'an'} integer in [${lo}, ${hi}], got ${v}`);
  }
  return v;
}

/** Short number for notes and labels. */
export function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toPrecision(6).replace(/\.?0+(e|$)/, '$1');
}

/**
 * Warnings for a chosen (clipped) range: it collapsed (a sliver of what was observed), or it lies
 * far from 0, so that the scale computation, which always stretches the range to include 0,
 * wastes most levels.
 */
export function rangeWarnings(method: string, lo: number, hi: number, min: number, max: number): string[] {
  const out: string[] = [];
  const width = hi - lo;
  if (max > min && width <= 1e-3 * (max - min)) {
    out.push(`${method} range [${fmt(lo)}, ${fmt(hi)}] collapsed (observed [${fmt(min)}, ${fmt(max)}]): most values will be clipped`);
  }
  const gap = lo > 0 ? lo : hi < 0 ? -hi : 0;
  if (gap > 0 && gap > width) {
    out.push(`${method} range [${fmt(lo)}, ${fmt(hi)}] excludes 0 by ${fmt(gap)}, more than its width: stretched to 0, over half the levels go unused`);
  }
  return out;
}

/**
 * Base of the histogram methods. Pass 0 tracks min, max and the smallest magnitude; pass 1 bins x
 * (or |x| in symmetric mode) over the range `histogramRange()` picks from those. Values in pass 1
 * outside the pass-0 range (the two passes saw different data) go to the edge bins and are counted.
 */
export abstract class HistogramCollector implements Collector {
  readonly passes = 2 as const;
  abstract readonly label: string;
  protected min = Infinity;
  protected max = -Infinity;
  /** Smallest |x| seen in pass 0. */
  protected absMin = Infinity;
  protected readonly skipped = new NonFinite();
  /** Allocated once, when pass 1 starts; never resized. */
  protected counts: Float64Array | null = null;
  /** Histogram range: bin k covers [lo + k w, lo + (k+1) w), the last bin includes hi. */
  protected lo = 0;
  protected hi = 0;
  /** Exact zeros kept out of the histogram (only where `binZeros` is false). */
  protected zeros = 0;
  protected outside = 0;
  private observed = false;

  constructor(
    protected readonly bins: number,
    /** Bin |x| instead of x. */
    protected readonly absolute: boolean,
    /** MSE keeps exact zeros apart: they are exact in every candidate range. */
    private readonly binZeros = true,
  ) {}

  get absMax(): number {
    return Math.max(Math.abs(this.min), Math.abs(this.max));
  }

  /** The fixed range of the pass-1 histogram, from the pass-0 statistics. */
  protected abstract histogramRange(): [number, number];

  /** The method's choice from the finished histogram (only called when finite data was seen). */
  protected abstract choose(): { lo: number; hi: number; notes: string[] };

  add(values: Float32Array, pass: number): void {
    if (pass === 0) {
      if (this.counts) throw new Error(`${this.label}: pass 0 data after pass 1 started`);
      this.observe(values);
      this.observed = true;
    } else if (pass === 1) {
      if (!this.observed) throw new Error(`${this.label}: pass 1 before any pass-0 batch`);
      if (!this.counts) this.startBinning();
      this.bin(values);
    } else {
      throw new RangeError(`${this.label}: no pass ${pass} (passes are 0 and 1)`);
    }
  }

  /** Pass 0 needs only the extremes (|x|'s minimum too when binning |x|). */
  extremesFor(pass: number): { absMin: boolean } | null {
    return pass === 0 ? { absMin: this.absolute } : null;
  }

  addExtremes(e: BatchExtremes, pass: number): void {
    if (pass !== 0) throw new RangeError(`${this.label}: pass ${pass} needs the values`);
    if (this.counts) throw new Error(`${this.label}: pass 0 data after pass 1 started`);
    if (e.min > e.max) return;
    this.min = Math.min(this.min, e.min);
    this.max = Math.max(this.max, e.max);
    // Without |x|'s minimum (not needed when binning x), 0 is a safe lower bound.
    this.absMin = Math.min(this.absMin, e.absMin ?? (e.min <= 0 && e.max >= 0 ? 0 : Math.min(Math.abs(e.min), Math.abs(e.max))));
    this.observed = true;
  }

  private observe(values: Float32Array): void {
    let { min, max, absMin } = this;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v - v !== 0) {
        // NaN or ±Inf
        this.skipped.count(v);
        continue;
      }
      if (v < min) min = v;
      if (v > max) max = v;
      const a = Math.abs(v);
      if (a < absMin) absMin = a;
    }
    this.min = min;
    this.max = max;
    this.absMin = absMin;
  }

  private startBinning(): void {
    this.counts = new Float64Array(this.bins);
    if (this.min <= this.max) [this.lo, this.hi] = this.histogramRange();
  }

  private bin(values: Float32Array): void {
    const counts = this.counts!;
    const n = counts.length;
    const { lo, hi, absolute, binZeros } = this;
    const scale = hi > lo ? n / (hi - lo) : 0; // a single-value range: everything in bin 0
    let zeros = 0;
    let outside = 0;
    for (let i = 0; i < values.length; i++) {
      let v = values[i];
      if (v - v !== 0) continue; // counted in pass 0
      if (absolute && v < 0) v = -v;
      if (v === 0 && !binZeros) {
        zeros++;
        continue;
      }
      if (v < lo || v > hi) {
        outside++;
        v = v < lo ? lo : hi;
      }
      const k = Math.floor((v - lo) * scale);
      counts[k < n ? k : n - 1]++;
    }
    this.zeros += zeros;
    this.outside += outside;
  }

  /** Left edge of bin k (k = bins: the right end). */
  protected edge(k: number): number {
    return k >= this.bins ? this.hi : this.lo + (k * (this.hi - this.lo)) / this.bins;
  }

  range(): CollectedRange {
    if (this.min > this.max) return result(0, 0, ['no finite value observed', this.skipped.note()]);
    if (!this.counts) throw new Error(`${this.label}: range() needs pass 1 (the histogram) first`);
    const { lo, hi, notes } = this.choose();
    const outside = this.outside
      ? `${this.outside} value${this.outside > 1 ? 's' : ''} of pass 1 fell outside the pass-0 range (different data in the two passes?) and went to the edge bins`
      : undefined;
    return result(lo, hi, [...notes, outside, this.skipped.note()]);
  }

  stateSize(): number {
    // The histogram plus a fixed set of scalars.
    return (this.counts?.length ?? 0) + 10;
  }

  /** Clip a chosen symmetric or asymmetric range to what was observed (the reference does too). */
  protected clipToObserved(lo: number, hi: number): [number, number] {
    let a = Math.max(lo, this.min);
    let b = Math.min(hi, this.max);
    // The whole data beyond one end of the range: the clipped range is that end alone.
    if (a > b) a = b = this.min > hi ? hi : lo;
    return [a, b];
  }
}

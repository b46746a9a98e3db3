// MinMax: the running min and max of every finite value, or a moving average of per-batch
// extremes.
//
// The reference (ONNX Runtime's MinMaxCalibrater, moving_average=True, averaging_constant 0.01)
// takes the arithmetic mean of the per-batch min/max over all batches of one collect_data call,
// then merges each later call into the range with old + c * (new - old). We stream batch by
// batch, so we apply that exponential update per batch, starting from the first batch's min/max:
// this equals the reference when every batch is its own collect_data call.
import { fmt, NonFinite, result, finiteRange } from './common';
import type { BatchExtremes, CollectedRange, Collector } from './types';

export class MinMaxCollector implements Collector {
  readonly passes = 1 as const;
  readonly label: string;
  private min = Infinity;
  private max = -Infinity;
  private batches = 0;
  private readonly skipped = new NonFinite();

  /** `averaging`: the moving-average constant c, or undefined for the plain running min/max. */
  constructor(private readonly averaging?: number) {
    if (averaging !== undefined && !(averaging > 0 && averaging <= 1)) {
      throw new RangeError(`movingAverage must be in (0, 1], got ${averaging}`);
    }
    this.label = averaging === undefined ? 'minmax' : `minmax (moving average, c=${fmt(averaging)})`;
  }

  add(values: Float32Array, pass: number): void {
    const [min, max] = finiteRange(values, this.skipped);
    this.addExtremes({ min, max }, pass);
  }

  extremesFor(): { absMin: boolean } {
    return { absMin: false };
  }

  addExtremes({ min: lo, max: hi }: BatchExtremes, pass: number): void {
    if (pass !== 0) throw new RangeError(`${this.label}: one pass only, got pass ${pass}`);
    if (lo > hi) return; // nothing finite: the batch does not move an average either
    const c = this.averaging;
    if (c === undefined || this.batches === 0) {
      this.min = Math.min(this.min, lo);
      this.max = Math.max(this.max, hi);
    } else {
      this.min += c * (lo - this.min);
      this.max += c * (hi - this.max);
    }
    this.batches++;
  }

  range(): CollectedRange {
    if (!this.batches) return result(0, 0, ['no finite value observed', this.skipped.note()]);
    return result(this.min, this.max, [this.skipped.note()]);
  }

  stateSize(): number {
    return 5;
  }
}

// The calibration statistics GPTQ and AWQ read (docs/quantization.md, section 11): for each MatMul
// input tensor, X^T X (float64 [K, K]) and sum |x_k| over every row x, where all leading axes of
// the tensor are rows. The tensors become extra outputs of a session on the model (as calibration
// observes tensors), the data streams through batch by batch and each batch is folded into the
// sums and dropped: memory is O(K^2) per tensor, whatever the number of samples. When the tensors'
// K^2 * 8 bytes together exceed a budget they are split across several passes over the data.
import type { DataSource } from '../../data';
import { OnnxCompressError } from '../../errors';
import type { OnnxModel } from '../../onnx/model';
import { sessionWithOutputs, type ort } from '../../runtime/session';
import { CalibrationCancelled, fedInputs } from '../calibrate';
import type { InputStatistics } from './types';

/** Statistics that cannot be collected: a tensor of the wrong type or width, or no data. */
export class DataAwareError extends OnnxCompressError {}

export interface StatisticsTarget {
  /** The MatMul input tensor (its A). */
  tensor: string;
  /** Its last axis: the MatMul's K. */
  K: number;
}

export interface StatisticsOptions {
  /** Samples per batch (default 8). */
  batchSize?: number;
  /** Use at most this many samples (default: all). */
  samples?: number;
  shuffleSeed?: number;
  /** Default 'cpu'. */
  executionProvider?: string;
  /** Bytes the X^T X sums of one pass may take together (default 1 GiB). */
  budgetBytes?: number;
  signal?: AbortSignal;
  onProgress?: (stage: string) => void;
}

export interface CollectedStatistics {
  /** Keyed by tensor name. */
  stats: Map<string, InputStatistics>;
  samples: number;
  batches: number;
  passes: number;
  /** Rows left out of a tensor's sums because they held NaN or ±Inf, by tensor (only those with some). */
  skippedRows: Map<string, number>;
}

export const DEFAULT_STATISTICS_BUDGET = 1024 ** 3;

const hessianBytes = (K: number) => K * K * 8;
const mib = (bytes: number) => `${(bytes / 1024 ** 2).toFixed(bytes < 1024 ** 2 ? 2 : 0)} MiB`;

/** Splits the tensors into passes whose X^T X fit the budget together, in the given order; a
 *  tensor larger than the budget alone gets a pass of its own. */
export function planStatisticsPasses(targets: readonly StatisticsTarget[], budgetBytes: number): StatisticsTarget[][] {
  const passes: StatisticsTarget[][] = [];
  let bytes = 0;
  for (const t of targets) {
    const need = hessianBytes(t.K);
    if (!passes.length || bytes + need > budgetBytes) {
      passes.push([]);
      bytes = 0;
    }
    passes[passes.length - 1].push(t);
    bytes += need;
  }
  return passes;
}

/** Rows gathered and transposed at a time, so that the products read contiguous float64 runs. */
const CHUNK = 64;

/** Running sums of one tensor. X^T X is accumulated in 4 x 4 tiles of its upper triangle (K padded
 *  to a multiple of 4: each value read feeds four products), and mirrored at the end. */
export class StatisticsAccumulator {
  readonly absSum: Float64Array;
  rows = 0;
  skipped = 0;
  /** Padded width: a multiple of 4. */
  private readonly Kp: number;
  private readonly acc: Float64Array;
  /** Gathered rows, transposed: channel k's values at k * CHUNK; padding channels stay 0. */
  private readonly chunk: Float64Array;

  constructor(readonly K: number) {
    this.Kp = Math.ceil(K / 4) * 4;
    this.acc = new Float64Array(this.Kp * this.Kp);
    this.absSum = new Float64Array(K);
    this.chunk = new Float64Array(this.Kp * CHUNK);
  }

  /** Folds in x [rows, K] (row-major); a row with a non-finite value is counted and skipped. */
  add(x: Float32Array): void {
    const { K, chunk, absSum } = this;
    const rows = x.length / K;
    let m = 0;
    for (let r = 0; r < rows; r++) {
      const base = r * K;
      let finite = true;
      for (let k = 0; k < K; k++) {
        if (!Number.isFinite(x[base + k])) {
          finite = false;
          break;
        }
      }
      if (!finite) {
        this.skipped++;
        continue;
      }
      for (let k = 0; k < K; k++) {
        const v = x[base + k];
        chunk[k * CHUNK + m] = v;
        absSum[k] += Math.abs(v);
      }
      this.rows++;
      if (++m === CHUNK) {
        this.fold(m);
        m = 0;
      }
    }
    if (m) this.fold(m);
  }

  /** acc[i][j] += sum over the m gathered rows of x_i x_j, for the tiles with j >= i. */
  private fold(m: number): void {
    const { Kp, chunk, acc } = this;
    for (let i0 = 0; i0 < Kp; i0 += 4) {
      const a0 = i0 * CHUNK;
      const a1 = a0 + CHUNK;
      const a2 = a1 + CHUNK;
      const a3 = a2 + CHUNK;
      for (let j0 = i0; j0 < Kp; j0 += 4) {
        const b0 = j0 * CHUNK;
        const b1 = b0 + CHUNK;
        const b2 = b1 + CHUNK;
        const b3 = b2 + CHUNK;
        let s00 = 0,
          s01 = 0,
          s02 = 0,
          s03 = 0,
          s10 = 0,
          s11 = 0,
          s12 = 0,
          s13 = 0;
        let s20 = 0,
          s21 = 0,
          s22 = 0,
          s23 = 0,
          s30 = 0,
          s31 = 0,
          s32 = 0,
          s33 = 0;
        for (let r = 0; r < m; r++) {
          const x0 = chunk[a0 + r];
          const x1 = chunk[a1 + r];
          const x2 = chunk[a2 + r];
          const x3 = chunk[a3 + r];
          const y0 = chunk[b0 + r];
          const y1 = chunk[b1 + r];
          const y2 = chunk[b2 + r];
          const y3 = chunk[b3 + r];
          s00 += x0 * y0;
          s01 += x0 * y1;
          s02 += x0 * y2;
          s03 += x0 * y3;
          s10 += x1 * y0;
          s11 += x1 * y1;
          s12 += x1 * y2;
          s13 += x1 * y3;
          s20 += x2 * y0;
          s21 += x2 * y1;
          s22 += x2 * y2;
          s23 += x2 * y3;
          s30 += x3 * y0;
          s31 += x3 * y1;
          s32 += x3 * y2;
          s33 += x3 * y3;
        }
        let o = i0 * Kp + j0;
        acc[o] += s00;
        acc[o + 1] += s01;
        acc[o + 2] += s02;
        acc[o + 3] += s03;
        o += Kp;
        acc[o] += s10;
        acc[o + 1] += s11;
        acc[o + 2] += s12;
        acc[o + 3] += s13;
        o += Kp;
        acc[o] += s20;
        acc[o + 1] += s21;
        acc[o + 2] += s22;
        acc[o + 3] += s23;
        o += Kp;
        acc[o] += s30;
        acc[o + 1] += s31;
        acc[o + 2] += s32;
        acc[o + 3] += s33;
      }
    }
  }

  /** The statistics so far (the accumulator is not to be used after). */
  result(): InputStatistics {
    const { K, Kp, acc } = this;
    const xtx = Kp === K ? acc : new Float64Array(K * K);
    for (let i = 0; i < K; i++) {
      for (let j = i; j < K; j++) {
        const v = acc[i * Kp + j];
        xtx[i * K + j] = v;
        xtx[j * K + i] = v;
      }
    }
    return { K, xtx, absSum: this.absSum, rows: this.rows };
  }
}

/** One tensor's values from a batch, checked: float32 with K on its last axis. */
function valuesOf(t: ort.Tensor | undefined, target: StatisticsTarget): Float32Array {
  if (!t) throw new DataAwareError('onnxruntime returned no value for it; it may not be computed for this input', target.tensor);
  if (t.type !== 'float32') throw new DataAwareError(`it is ${t.type}; GPTQ and AWQ read float32 MatMul inputs (use rtn or hqq for this model)`, target.tensor);
  const last = t.dims[t.dims.length - 1];
  if (last !== target.K)
    throw new DataAwareError(`its last axis is ${last} (shape [${t.dims.join(', ')}]) but the MatMul's weight has K = ${target.K} rows`, target.tensor);
  return t.data as Float32Array;
}

/**
 * X^T X, sum |x| and the row count of each target tensor over the calibration data. Cancelled
 * through options.signal between batches (CalibrationCancelled, an 'AbortError'); every session is
 * released before it returns or throws.
 */
export async function collectInputStatistics(
  model: OnnxModel,
  targets: readonly StatisticsTarget[],
  data: DataSource,
  options: StatisticsOptions = {},
): Promise<CollectedStatistics> {
  const unique = new Map<string, StatisticsTarget>();
  for (const t of targets) {
    const seen = unique.get(t.tensor);
    if (seen && seen.K !== t.K) throw new DataAwareError(`it feeds MatMuls of different K (${seen.K} and ${t.K})`, t.tensor);
    unique.set(t.tensor, t);
  }
  const budget = options.budgetBytes ?? DEFAULT_STATISTICS_BUDGET;
  if (!(budget > 0)) throw new DataAwareError(`the statistics memory budget must be a positive number of bytes (got ${budget})`);
  const plan = planStatisticsPasses([...unique.values()], budget);
  const progress = options.onProgress ?? (() => undefined);
  const total = [...unique.values()].reduce((a, t) => a + hessianBytes(t.K), 0);
  if (plan.length > 1) {
    progress(
      `input statistics of ${unique.size} tensors need ${mib(total)} together, over the budget of ${mib(budget)}: ${plan.length} passes over the calibration data`,
    );
  }
  const inputs = fedInputs(model);
  const stats = new Map<string, InputStatistics>();
  const skippedRows = new Map<string, number>();
  let samples = 0;
  let batches = 0;
  for (let pass = 0; pass < plan.length; pass++) {
    if (options.signal?.aborted) throw new CalibrationCancelled();
    const group = plan[pass];
    const acc = new Map(group.map((t) => [t.tensor, new StatisticsAccumulator(t.K)]));
    const observed = group.map((t) => t.tensor).filter((t) => !inputs.has(t));
    const session = await sessionWithOutputs(model, observed, options.executionProvider ?? 'cpu');
    let passSamples = 0;
    let batch = 0;
    try {
      const batchOptions = { batchSize: options.batchSize ?? 8, limit: options.samples, shuffleSeed: options.shuffleSeed, signal: options.signal };
      for await (const feeds of data.batches(batchOptions)) {
        if (options.signal?.aborted) throw new CalibrationCancelled();
        const outputs = observed.length ? await session.run(feeds, observed) : {};
        try {
          for (const t of group) acc.get(t.tensor)!.add(valuesOf(outputs[t.tensor] ?? feeds[t.tensor], t));
        } finally {
          for (const o of Object.values(outputs)) o.dispose();
        }
        passSamples += Object.values(feeds)[0]?.dims[0] ?? 1;
        batch++;
        progress(`input statistics${plan.length > 1 ? `, pass ${pass + 1} of ${plan.length}` : ''}: batch ${batch} (${passSamples} samples)`);
      }
    } finally {
      await session.release();
    }
    if (passSamples === 0) throw new DataAwareError('the calibration data holds no sample');
    if (pass === 0) [samples, batches] = [passSamples, batch];
    for (const [name, a] of acc) {
      stats.set(name, a.result());
      if (a.skipped) skippedRows.set(name, a.skipped);
    }
  }
  return { stats, samples, batches, passes: plan.length, skippedRows };
}

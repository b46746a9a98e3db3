// GPTQ (Frantar et al. 2022, "GPTQ: Accurate Post-Training Quantization for Generative Pre-trained
// Transformers"), group-wise, for one MatMul weight B[K, N] (docs/quantization.md, section 11).
//
// It minimises the layer's output error ||X B - X B~||^2 over the calibration inputs X by
// quantizing B one input channel (row k of B) at a time and spreading each row's rounding error
// over the rows not yet quantized, weighted by the inverse Hessian H = 2 X^T X / rows. Each block's
// scale and zero point are chosen when the block is reached, from its rows as the earlier error
// feedback left them, with the rule RTN uses (blockScaleZeroPoint).
import { checkBlockOptions, emptyBlockWeight } from '../blockScheme';
import { setBlockParams, setValue } from './blockWeight';
import { upperCholeskyOfInverse } from './linalg';
import type { BlockOptions, InputStatistics, WeightOnlyChoice } from './types';

export interface GptqOptions extends BlockOptions {
  /** Added to H's diagonal, as a fraction of its mean diagonal (default 0.01). */
  damp?: number;
  /** Quantize the input channels in order of decreasing H diagonal (largest activations first). */
  actOrder?: boolean;
  /** Told when H had to be damped more than asked to be factorized. */
  onNote?: (message: string) => void;
}

/** Rows quantized between updates of the rows after them (a multiple of every block size). */
const LAZY_ROWS = 256;

/** The Hessian 2 X^T X / rows in the quantization order (row i is channel order[i]), damped
 *  by `damp` times its mean diagonal and factorized; the damping grows tenfold (five times at most)
 *  until it factors. */
function inverseFactor(stats: InputStatistics, order: Int32Array, damp: number, onNote?: (m: string) => void): Float64Array {
  const { K, xtx } = stats;
  const f = 2 / stats.rows;
  const P = new Float64Array(K * K);
  for (let i = 0; i < K; i++) {
    const ri = order[i] * K;
    for (let j = 0; j < K; j++) P[i * K + j] = xtx[ri + order[j]] * f;
  }
  let mean = 0;
  for (let k = 0; k < K; k++) {
    // A channel that was always 0: its weights never reach the output on this data, so any value
    // is as good; a unit diagonal keeps H invertible and leaves the row to plain rounding.
    if (P[k * K + k] === 0) P[k * K + k] = 1;
    mean += P[k * K + k];
  }
  mean /= K;
  let added = 0;
  for (let attempt = 0; attempt < 6; attempt++) {
    // Zero damping (allowed, for a full-rank H) grows from 0.0001 when it fails.
    const d = attempt === 0 ? damp : Math.max(damp, 1e-5) * 10 ** attempt;
    for (let k = 0; k < K; k++) P[k * K + k] += (d - added) * mean;
    added = d;
    const U = upperCholeskyOfInverse(P, K);
    if (U) {
      if (attempt > 0) onNote?.(`the Hessian was not positive definite with damping ${damp}; damped with ${d} of its mean diagonal instead`);
      return U;
    }
  }
  throw new RangeError('the Hessian of the calibration inputs cannot be factorized even with heavy damping (are the activations finite?)');
}

export function gptqQuantize(W: Float32Array, K: number, N: number, stats: InputStatistics, opts: GptqOptions): WeightOnlyChoice {
  checkBlockOptions(opts);
  if (W.length !== K * N) throw new RangeError(`GPTQ: ${W.length} values given for B[${K}, ${N}]`);
  if (stats.K !== K || stats.xtx.length !== K * K) throw new RangeError(`GPTQ: statistics of width ${stats.K} for B[${K}, ${N}]`);
  if (!(stats.rows > 0)) throw new RangeError('GPTQ: the statistics hold no calibration row');
  const damp = opts.damp ?? 0.01;
  if (!(damp >= 0)) throw new RangeError(`GPTQ: damping ${damp} is not a non-negative number`);
  const bs = opts.blockSize;
  const order = new Int32Array(K);
  for (let k = 0; k < K; k++) order[k] = k;
  if (opts.actOrder) {
    const diag = (k: number) => stats.xtx[k * K + k];
    order.set([...order].sort((a, b) => diag(b) - diag(a) || a - b));
  }
  const U = inverseFactor(stats, order, damp, opts.onNote);

  // Row p of the working copy is B's row order[p], updated by the errors of rows before p.
  const Wp = new Float64Array(K * N);
  for (let p = 0; p < K; p++) for (let n = 0; n < N; n++) Wp[p * N + n] = W[order[p] * N + n];
  const position = new Int32Array(K);
  for (let p = 0; p < K; p++) position[order[p]] = p;

  const weight = emptyBlockWeight(K, N, opts);
  const kBlocks = weight.kBlocks;
  const scales = new Float64Array(N * kBlocks);
  const zeros = new Float64Array(N * kBlocks);
  const reached = new Uint8Array(kBlocks);
  const block = new Float64Array(bs);
  const current = new Float64Array(bs * N);
  const errors = new Float64Array(LAZY_ROWS * N);

  for (let i1 = 0; i1 < K; i1 += LAZY_ROWS) {
    const i2 = Math.min(K, i1 + LAZY_ROWS);
    for (let p = i1; p < i2; p++) {
      const k = order[p];
      const b = (k / bs) | 0;
      if (!reached[b]) {
        reached[b] = 1;
        chooseBlock(b, p, i1, i2);
      }
      const upp = U[p * K + p];
      const row = p * N;
      const err = (p - i1) * N;
      for (let n = 0; n < N; n++) {
        const w = Wp[row + n];
        const dq = setValue(weight, n, k, w, scales[n * kBlocks + b], zeros[n * kBlocks + b]);
        errors[err + n] = (w - dq) / upp;
      }
      // Within the lazy batch the rows after p take the error at once.
      for (let j = p + 1; j < i2; j++) {
        const u = U[p * K + j];
        if (u === 0) continue;
        const rj = j * N;
        for (let n = 0; n < N; n++) Wp[rj + n] -= u * errors[err + n];
      }
    }
    // The rows after the batch take its errors together, four rows at a time so that each error
    // row read serves four of them.
    let j = i2;
    for (; j + 4 <= K; j += 4) {
      const w0 = j * N;
      const w1 = w0 + N;
      const w2 = w1 + N;
      const w3 = w2 + N;
      for (let p = i1; p < i2; p++) {
        const up = p * K + j;
        const u0 = U[up];
        const u1 = U[up + 1];
        const u2 = U[up + 2];
        const u3 = U[up + 3];
        const err = (p - i1) * N;
        for (let n = 0; n < N; n++) {
          const e = errors[err + n];
          Wp[w0 + n] -= u0 * e;
          Wp[w1 + n] -= u1 * e;
          Wp[w2 + n] -= u2 * e;
          Wp[w3 + n] -= u3 * e;
        }
      }
    }
    for (; j < K; j++) {
      const rj = j * N;
      for (let p = i1; p < i2; p++) {
        const u = U[p * K + j];
        const err = (p - i1) * N;
        for (let n = 0; n < N; n++) Wp[rj + n] -= u * errors[err + n];
      }
    }
  }
  return { weight };

  /** Block b's parameters from its rows as they stand when its first row (at position p, in the
   *  lazy batch [i1, i2)) is reached. Rows past the batch have not yet taken the errors of
   *  [i1, p): they are brought up to date in a scratch copy (only with actOrder can they be there). */
  function chooseBlock(b: number, p: number, i1: number, i2: number): void {
    const k0 = b * bs;
    const len = Math.min(bs, K - k0);
    for (let j = 0; j < len; j++) {
      const pj = position[k0 + j];
      const dst = j * N;
      for (let n = 0; n < N; n++) current[dst + n] = Wp[pj * N + n];
      if (pj < i2) continue;
      for (let q = i1; q < p; q++) {
        const u = U[q * K + pj];
        if (u === 0) continue;
        const err = (q - i1) * N;
        for (let n = 0; n < N; n++) current[dst + n] -= u * errors[err + n];
      }
    }
    for (let n = 0; n < N; n++) {
      for (let j = 0; j < len; j++) block[j] = current[j * N + n];
      const { scale, zeroPoint } = setBlockParams(weight, n, b, block, len);
      scales[n * kBlocks + b] = scale;
      zeros[n * kBlocks + b] = zeroPoint;
    }
  }
}

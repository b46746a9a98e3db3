// AWQ (Lin et al. 2023, "AWQ: Activation-aware Weight Quantization for LLM Compression and
// Acceleration") for one MatMul weight B[K, N] (docs/quantization.md, section 11).
//
// Input channels that carry large activations matter most to the output, so they are scaled up
// before rounding: B' = diag(s) B is quantized, and the model computes (x / s) @ dequant(B'), which
// equals x @ B up to the rounding. The writer puts a Mul by 1/s on the MatMul's input, one per
// MatMul (MatMuls sharing an input, like q, k and v, each have their own s). s = a^alpha with a the
// mean |x| per channel; alpha is searched on a grid in [0, 1], then each block's clipping ratio.
// Both searches minimise the output error on the calibration data estimated from the statistics:
// ||X (B - B~)||^2 = sum over columns n of e_n^T (X^T X) e_n, e_n = B[:, n] - B~[:, n].
import { quantizeOne } from '../scheme';
import { blockScaleZeroPoint, checkBlockOptions, emptyBlockWeight, maxLevel } from '../blockScheme';
import { setBlockParams, setValue } from './blockWeight';
import type { BlockOptions, InputStatistics, WeightOnlyChoice } from './types';

export interface AwqOptions extends BlockOptions {
  /** Steps of the alpha grid: alpha = 0, 1/grid, ..., 1 (default 20). */
  grid?: number;
}

/** Ratios of a block's range tried as clipping: 1 (none) down to 0.55, as the reference searches. */
const CLIP_RATIOS = [1, 0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6, 0.55];
/** Output columns the alpha search measures the error on (every one when N is at most this):
 *  s is shared by all columns, and the estimate costs K^2 per column and grid point. */
const ERROR_COLUMNS = 128;
/** Channels whose activations are (almost) never non-zero are scaled as if they had this share of
 *  the largest channel's magnitude, so that 1/s stays bounded. */
const MAGNITUDE_FLOOR = 1e-4;

/** Sum over the c columns e of E of e^T H e, with H symmetric. E is column-major: column i holds
 *  its K values at i * K. Four columns at a time, the upper triangle only: each H value read feeds
 *  four products. */
function outputError(H: Float64Array, E: Float64Array, K: number, c: number): number {
  let total = 0;
  for (let i = 0; i < c; i += 4) {
    const e0 = i * K;
    const e1 = Math.min(i + 1, c - 1) * K;
    const e2 = Math.min(i + 2, c - 1) * K;
    const e3 = Math.min(i + 3, c - 1) * K;
    // Columns past c repeat the last one and are not counted.
    const w1 = i + 1 < c ? 1 : 0;
    const w2 = i + 2 < c ? 1 : 0;
    const w3 = i + 3 < c ? 1 : 0;
    for (let k = 0; k < K; k++) {
      const hk = k * K;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let l = k + 1; l < K; l++) {
        const h = H[hk + l];
        s0 += h * E[e0 + l];
        s1 += h * E[e1 + l];
        s2 += h * E[e2 + l];
        s3 += h * E[e3 + l];
      }
      const d = H[hk + k];
      const x0 = E[e0 + k];
      const x1 = E[e1 + k];
      const x2 = E[e2 + k];
      const x3 = E[e3 + k];
      total += x0 * (d * x0 + 2 * s0) + w1 * x1 * (d * x1 + 2 * s1) + w2 * x2 * (d * x2 + 2 * s2) + w3 * x3 * (d * x3 + 2 * s3);
    }
  }
  return total;
}

/** s = a^alpha, normalised so that max(s) * min(s) = 1, held in float32 as the graph holds it. */
function inputScaleFor(a: Float64Array, alpha: number): Float32Array {
  const s = new Float32Array(a.length);
  let lo = Infinity;
  let hi = 0;
  for (let k = 0; k < a.length; k++) {
    const v = Math.pow(a[k], alpha);
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
    s[k] = v;
  }
  const norm = Math.sqrt(lo * hi);
  for (let k = 0; k < a.length; k++) s[k] = s[k] / norm;
  return s;
}

export function awqQuantize(W: Float32Array, K: number, N: number, stats: InputStatistics, opts: AwqOptions): WeightOnlyChoice {
  checkBlockOptions(opts);
  if (W.length !== K * N) throw new RangeError(`AWQ: ${W.length} values given for B[${K}, ${N}]`);
  if (stats.K !== K || stats.xtx.length !== K * K || stats.absSum.length !== K) throw new RangeError(`AWQ: statistics of width ${stats.K} for B[${K}, ${N}]`);
  if (!(stats.rows > 0)) throw new RangeError('AWQ: the statistics hold no calibration row');
  const grid = opts.grid ?? 20;
  if (!(Number.isInteger(grid) && grid >= 1)) throw new RangeError(`AWQ: grid ${grid} is not a positive whole number`);
  const bs = opts.blockSize;
  const kBlocks = Math.ceil(K / bs);
  const H = stats.xtx;
  const top = maxLevel(opts.bits);

  const a = new Float64Array(K);
  let amax = 0;
  for (let k = 0; k < K; k++) amax = Math.max(amax, (a[k] = stats.absSum[k] / stats.rows));
  for (let k = 0; k < K; k++) a[k] = Math.max(a[k], MAGNITUDE_FLOOR * amax);
  const cols: number[] = [];
  const c = Math.min(N, ERROR_COLUMNS);
  for (let i = 0; i < c; i++) cols.push(Math.floor((i * N) / c));

  const scaled = new Float64Array(bs);
  const shrunk = new Float64Array(bs);
  /** Block b of column n quantized at input scale s with its range times `ratio`, back in B's
   *  coordinates (dequantized / s) into out[0, len). */
  const blockBack = (n: number, b: number, s: Float32Array, ratio: number, out: Float64Array): void => {
    const k0 = b * bs;
    const len = Math.min(bs, K - k0);
    for (let j = 0; j < len; j++) {
      scaled[j] = Math.fround(W[(k0 + j) * N + n] * s[k0 + j]);
      shrunk[j] = scaled[j] * ratio;
    }
    const { scale, zeroPoint } = blockScaleZeroPoint(shrunk, len, opts.bits, opts.symmetric);
    for (let j = 0; j < len; j++) out[j] = Math.fround((quantizeOne(scaled[j], scale, zeroPoint, 0, top) - zeroPoint) * scale) / s[k0 + j];
  };
  const E = new Float64Array(K * c);
  const back = new Float64Array(bs);
  const sampledError = (s: Float32Array, ratios: Float64Array | undefined): number => {
    for (let i = 0; i < c; i++) {
      const n = cols[i];
      for (let b = 0; b < kBlocks; b++) {
        const k0 = b * bs;
        blockBack(n, b, s, ratios ? ratios[n * kBlocks + b] : 1, back);
        const len = Math.min(bs, K - k0);
        for (let j = 0; j < len; j++) E[i * K + k0 + j] = W[(k0 + j) * N + n] - back[j];
      }
    }
    return outputError(H, E, K, c);
  };

  // alpha = 0 is plain rounding (s = 1); a later alpha must do strictly better to be taken.
  let best = { alpha: 0, s: inputScaleFor(a, 0), error: Infinity };
  for (let g = 0; g <= grid; g++) {
    const alpha = g / grid;
    const s = inputScaleFor(a, alpha);
    const error = sampledError(s, undefined);
    if (error < best.error) best = { alpha, s, error };
  }
  const s = best.s;

  // Clipping, per block of each column, against the block's own part of the error (its diagonal
  // block of X^T X); kept only if it lowers the estimate of the whole error too.
  const ratios = new Float64Array(N * kBlocks).fill(1);
  const e = new Float64Array(bs);
  for (let n = 0; n < N; n++) {
    for (let b = 0; b < kBlocks; b++) {
      const k0 = b * bs;
      const len = Math.min(bs, K - k0);
      let bestRatio = 1;
      let bestError = Infinity;
      for (const ratio of CLIP_RATIOS) {
        blockBack(n, b, s, ratio, back);
        for (let j = 0; j < len; j++) e[j] = W[(k0 + j) * N + n] - back[j];
        let err = 0;
        for (let i = 0; i < len; i++) {
          const hi = (k0 + i) * K + k0;
          let row = 0;
          for (let j = 0; j < len; j++) row += H[hi + j] * e[j];
          err += e[i] * row;
        }
        if (err < bestError) [bestRatio, bestError] = [ratio, err];
      }
      ratios[n * kBlocks + b] = bestRatio;
    }
  }
  if (!(sampledError(s, ratios) < best.error)) ratios.fill(1);

  const weight = emptyBlockWeight(K, N, opts);
  for (let n = 0; n < N; n++) {
    for (let b = 0; b < kBlocks; b++) {
      const k0 = b * bs;
      const len = Math.min(bs, K - k0);
      const ratio = ratios[n * kBlocks + b];
      for (let j = 0; j < len; j++) {
        scaled[j] = Math.fround(W[(k0 + j) * N + n] * s[k0 + j]);
        shrunk[j] = scaled[j] * ratio;
      }
      const { scale, zeroPoint } = setBlockParams(weight, n, b, shrunk, len);
      for (let j = 0; j < len; j++) setValue(weight, n, k0 + j, scaled[j], scale, zeroPoint);
    }
  }
  // With s = 1 the input needs no Mul.
  return best.alpha === 0 ? { weight } : { weight, inputScale: s };
}

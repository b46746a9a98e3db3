// Test-side references for the data-aware weight-only algorithms: a plain round-to-nearest of
// B[K, N] per block (the baseline GPTQ and AWQ must beat), written here from the shared block rule
// so that it does not go through the algorithms' own code, and the output error measured on X itself.
import { blockScaleZeroPoint, quantizeBlockValue, reciprocalScale } from '../../src/core/quant/blockScheme';
import type { BlockOptions, BlockQuantizedWeight, WeightOnlyChoice } from '../../src/core/quant/weightOnly/types';
import { seededRandom } from '../../src/core/random';

/** Reference RTN: each block's parameters from its values, each value rounded on its own. */
export function referenceRtn(B: Float32Array, K: number, N: number, opts: BlockOptions): BlockQuantizedWeight {
  const { bits, blockSize, symmetric } = opts;
  const kBlocks = Math.ceil(K / blockSize);
  const q = new Uint8Array(N * kBlocks * blockSize);
  const scales = new Float32Array(N * kBlocks);
  const zeroPoints = new Uint8Array(N * kBlocks);
  for (let n = 0; n < N; n++) {
    for (let b = 0; b < kBlocks; b++) {
      const values: number[] = [];
      for (let k = b * blockSize; k < Math.min(K, (b + 1) * blockSize); k++) values.push(B[k * N + n]);
      const p = blockScaleZeroPoint(values, values.length, bits, symmetric);
      scales[n * kBlocks + b] = p.scale;
      zeroPoints[n * kBlocks + b] = p.zeroPoint;
      for (let j = 0; j < blockSize; j++) {
        q[n * kBlocks * blockSize + b * blockSize + j] =
          j < values.length ? quantizeBlockValue(values[j], reciprocalScale(p.scale), p.zeroPoint, (1 << bits) - 1) : p.zeroPoint;
      }
    }
  }
  return { bits, blockSize, symmetric, K, N, kBlocks, q, scales, zeroPoints };
}

/** The B~[K, N] a choice stands for, in the original input's coordinates: dequant(q) / s. */
export function effectiveWeight(choice: WeightOnlyChoice): Float64Array {
  const w = choice.weight;
  const out = new Float64Array(w.K * w.N);
  for (let k = 0; k < w.K; k++) {
    const b = Math.floor(k / w.blockSize);
    for (let n = 0; n < w.N; n++) {
      const i = n * w.kBlocks + b;
      const v = (w.q[n * w.kBlocks * w.blockSize + k] - w.zeroPoints[i]) * w.scales[i];
      out[k * w.N + n] = choice.inputScale ? v / choice.inputScale[k] : v;
    }
  }
  return out;
}

/** ||X B - X B~||^2 over the rows of X [rows, K], in float64. */
export function outputError(X: Float32Array, rows: number, K: number, N: number, B: Float32Array, approx: Float64Array): number {
  const D = new Float64Array(K * N);
  for (let i = 0; i < K * N; i++) D[i] = B[i] - approx[i];
  let total = 0;
  const y = new Float64Array(N);
  for (let r = 0; r < rows; r++) {
    y.fill(0);
    for (let k = 0; k < K; k++) {
      const x = X[r * K + k];
      if (x === 0) continue;
      for (let n = 0; n < N; n++) y[n] += x * D[k * N + n];
    }
    for (let n = 0; n < N; n++) total += y[n] * y[n];
  }
  return total;
}

/** The same ||X B - X B~||^2 from G = X^T X [K, K] (sum over columns d of d^T G d, d = B - B~):
 *  cheaper when several approximations are measured on the same rows. */
export function outputErrorFromGram(G: Float64Array, K: number, N: number, B: Float32Array, approx: Float64Array): number {
  let total = 0;
  const d = new Float64Array(K);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) d[k] = B[k * N + n] - approx[k * N + n];
    for (let k = 0; k < K; k++) {
      let s = 0;
      for (let l = 0; l < K; l++) s += G[k * K + l] * d[l];
      total += d[k] * s;
    }
  }
  return total;
}

/** X^T X [K, K] and sum |x| of X [rows, K], directly, in float64. */
export function directStatistics(X: Float32Array, rows: number, K: number): { xtx: Float64Array; absSum: Float64Array } {
  const xtx = new Float64Array(K * K);
  const absSum = new Float64Array(K);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < K; i++) {
      const xi = X[r * K + i];
      absSum[i] += Math.abs(xi);
      for (let j = 0; j < K; j++) xtx[i * K + j] += xi * X[r * K + j];
    }
  }
  return { xtx, absSum };
}

/** Standard normal samples (Box-Muller on the seeded uniform generator). */
export function normals(seed: number, n: number): Float64Array {
  const rand = seededRandom(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = 1 - rand();
    const v = rand();
    const r = Math.sqrt(-2 * Math.log(u));
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return out;
}

/** Inputs with a strongly non-isotropic covariance, like a network's: a few shared factors, per-channel
 *  magnitudes spread over two orders (a handful of outlier channels), a little noise. */
export function correlatedInputs(seed: number, rows: number, K: number): Float32Array {
  const factors = 8;
  const z = normals(seed, rows * factors);
  const mix = normals(seed + 1, factors * K);
  const noise = normals(seed + 2, rows * K);
  const magnitude = normals(seed + 3, K).map((g) => Math.exp(0.8 * g));
  const X = new Float32Array(rows * K);
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < K; k++) {
      let v = 0.1 * noise[r * K + k];
      for (let f = 0; f < factors; f++) v += z[r * factors + f] * mix[f * K + k];
      X[r * K + k] = v * magnitude[k];
    }
  }
  return X;
}

// Half-quadratic quantization (HQQ, Badri & Shaji 2023), data-free: per block, the zero point is
// refined by the proximal iterations onnxruntime's HQQWeightOnlyQuantizer runs, which minimise
// ||w - dequant(quant(w))||_p^p with p = 0.7 (a norm that forgives a few outliers more than the
// mean square does). onnxruntime then stores that zero point as a float; here zero points are
// integers (uint8 packed, the format every algorithm shares), which leaves HQQ's zero point alone
// almost always rounding back to RTN's. So its two integer neighbours are tried, each with the scale
// refitted by least squares to the levels it gives, and each block keeps whichever of these and
// RTN reconstructs it with the smaller squared error: never worse than RTN on a block.
import { blockParams, blockReader, emptyBlockWeight, maxLevel, quantizeBlock, type WeightLayout } from '../blockScheme';
import type { BlockOptions, BlockQuantizedWeight } from './types';

/** onnxruntime's defaults (optimize_weights). */
const LP_NORM = 0.7;
const BETA = 10;
const KAPPA = 1.01;
const ITERATIONS = 20;
/** The inverse scale's cap, as the reference clamps it. */
const MAX_INVERSE_SCALE = 2e4;

/** Below this |x| (for the current beta) the shrinkage is exactly 0: (a + 1e-8)^(2-p) < 1 / beta
 *  implies a - (a + 1e-8)^(p-1) / beta < 0. Checking it first skips most powers (the slow part). */
function shrinkThreshold(beta: number): number {
  return 0.999 * Math.pow(beta, -1 / (2 - LP_NORM));
}

function shrink(x: number, beta: number, threshold: number): number {
  const a = Math.abs(x);
  if (a + 1e-8 <= threshold) return 0;
  const t = a - (1 / beta) * Math.pow(a + 1e-8, LP_NORM - 1);
  return t > 0 ? Math.sign(x) * t : 0;
}

/** The refined (float) zero point of one block, given its values and HQQ's inverse scale. */
export function hqqZeroPoint(values: Float64Array, inverseScale: number, zero: number, qmax: number): number {
  let beta = BETA;
  let best = Infinity;
  const len = values.length;
  for (let it = 0; it < ITERATIONS; it++) {
    const threshold = shrinkThreshold(beta);
    let sum = 0;
    let err = 0;
    for (let j = 0; j < len; j++) {
      const w = values[j];
      const q = Math.min(qmax, Math.max(0, Math.round(w * inverseScale + zero)));
      const r = (q - zero) / inverseScale;
      const e = shrink(w - r, beta, threshold);
      sum += q - (w - e) * inverseScale;
      err += Math.abs(w - r);
    }
    zero = sum / len;
    beta *= KAPPA;
    err /= len;
    if (err < best) best = err;
    else break;
  }
  return zero;
}

/** Alternations of level assignment and scale refit per zero-point candidate. */
const REFITS = 4;

/** The scale minimising sum (w - (q - Z) S)^2 for the block's current levels q. */
function leastSquaresScale(w: BlockQuantizedWeight, values: Float64Array, n: number, b: number): number | undefined {
  const i = n * w.kBlocks + b;
  const z = w.zeroPoints[i];
  const base = i * w.blockSize;
  let num = 0;
  let den = 0;
  for (let j = 0; j < values.length; j++) {
    const d = w.q[base + j] - z;
    num += values[j] * d;
    den += d * d;
  }
  return den > 0 ? Math.fround(num / den) : undefined;
}

function squaredError(w: BlockQuantizedWeight, values: Float64Array, n: number, b: number): number {
  const i = n * w.kBlocks + b;
  const s = w.scales[i];
  const z = w.zeroPoints[i];
  const base = i * w.blockSize;
  let e = 0;
  for (let j = 0; j < values.length; j++) {
    const d = values[j] - Math.fround((w.q[base + j] - z) * s);
    e += d * d;
  }
  return e;
}

/** HQQ with integer zero points (asymmetric only: the zero point is what it optimises). */
export function hqqQuantize(B: Float32Array, K: number, N: number, o: BlockOptions, layout: WeightLayout = 'KN'): BlockQuantizedWeight {
  if (o.symmetric) throw new RangeError('HQQ optimises the zero point, which symmetric weights fix at 2^(bits-1)');
  const at = blockReader(B, K, N, layout);
  const w = emptyBlockWeight(K, N, o);
  const qmax = maxLevel(o.bits);
  const values = new Float64Array(o.blockSize);
  for (let n = 0; n < N; n++) {
    for (let b = 0; b < w.kBlocks; b++) {
      const k0 = b * o.blockSize;
      const len = Math.min(o.blockSize, K - k0);
      const block = values.subarray(0, len);
      let lo = Infinity;
      let hi = -Infinity;
      for (let j = 0; j < len; j++) {
        block[j] = at(n, k0 + j);
        if (block[j] < lo) lo = block[j];
        if (block[j] > hi) hi = block[j];
      }
      // RTN first: the candidate HQQ must beat.
      const rtn = blockParams(lo, hi, o.bits, false);
      quantizeBlock(w, at, n, b, rtn.scale, rtn.zeroPoint);
      const rtnError = squaredError(w, block, n, b);
      if (rtnError === 0) continue;
      const inverse = Math.min(qmax / (hi - lo || qmax), MAX_INVERSE_SCALE);
      const zero = hqqZeroPoint(block, inverse, Math.round(-lo * inverse), qmax);
      let best = rtnError;
      let bestParams = rtn;
      // The zero point must be an integer here: both neighbours of HQQ's, each with the scale refitted
      // by least squares to the levels it gives (a few alternations), compete with RTN on the error.
      for (const z of new Set([Math.floor(zero), Math.ceil(zero)])) {
        const zp = Math.min(qmax, Math.max(0, z));
        let scale = Math.fround(1 / inverse);
        for (let round = 0; round < REFITS; round++) {
          quantizeBlock(w, at, n, b, scale, zp);
          const e = squaredError(w, block, n, b);
          if (e < best) {
            best = e;
            bestParams = { scale, zeroPoint: zp };
          }
          const refit = leastSquaresScale(w, block, n, b);
          if (!refit || refit === scale) break;
          scale = refit;
        }
      }
      quantizeBlock(w, at, n, b, bestParams.scale, bestParams.zeroPoint);
    }
  }
  return w;
}

// The BlockQuantizedWeight that GPTQ and AWQ fill block by block (allocated by emptyBlockWeight): one block's
// parameters from the rule every weight-only algorithm shares (blockScaleZeroPoint), one value's
// integer.
import { blockScaleZeroPoint, maxLevel, quantizeBlockValue, reciprocalScale } from '../blockScheme';
import type { BlockQuantizedWeight } from './types';

/** Chooses and stores block b of column n's scale and zero point from `values` (its first `len`),
 *  and fills the padding past K with the zero point. */
export function setBlockParams(w: BlockQuantizedWeight, n: number, b: number, values: ArrayLike<number>, len: number): { scale: number; zeroPoint: number } {
  const p = blockScaleZeroPoint(values, len, w.bits, w.symmetric);
  w.scales[n * w.kBlocks + b] = p.scale;
  w.zeroPoints[n * w.kBlocks + b] = p.zeroPoint;
  const base = n * w.kBlocks * w.blockSize + b * w.blockSize;
  w.q.fill(p.zeroPoint, base + len, base + w.blockSize);
  return p;
}

/** Stores value k of column n quantized with its block's parameters; returns the dequantized value
 *  (float32, as the kernel computes it). */
export function setValue(w: BlockQuantizedWeight, n: number, k: number, x: number, scale: number, zeroPoint: number): number {
  // The rounding of RTN (MLAS: x * (1/S) + Z, ties away from zero), so that GPTQ on a diagonal
  // Hessian is RTN bit for bit.
  const q = quantizeBlockValue(x, reciprocalScale(scale), zeroPoint, maxLevel(w.bits));
  w.q[n * w.kBlocks * w.blockSize + k] = q;
  return Math.fround((q - zeroPoint) * scale);
}

// The BlockQuantizedWeight that GPTQ and AWQ fill block by block: allocation, one block's
// parameters from the rule every weight-only algorithm shares (blockScaleZeroPoint), one value's
// integer.
import { blockScaleZeroPoint } from '../blockScheme';
import { quantizeOne } from '../scheme';
import type { BlockOptions, BlockQuantizedWeight } from './types';

export function checkBlockOptions(opts: BlockOptions, K: number, N: number, what: string): void {
  const { bits, blockSize } = opts;
  if (bits !== 4 && bits !== 8) throw new RangeError(`${what}: ${String(bits)} bits; weight-only quantization takes 4 or 8`);
  if (!Number.isInteger(blockSize) || blockSize < 16 || blockSize > 256 || (blockSize & (blockSize - 1)) !== 0) {
    throw new RangeError(`${what}: block size ${blockSize} is not a power of two from 16 to 256`);
  }
  if (!(Number.isInteger(K) && K > 0 && Number.isInteger(N) && N > 0)) throw new RangeError(`${what}: bad weight size K=${K}, N=${N}`);
}

/** An empty weight of the layout in types.ts; every block still to be set. */
export function newBlockWeight(K: number, N: number, opts: BlockOptions): BlockQuantizedWeight {
  const kBlocks = Math.ceil(K / opts.blockSize);
  return {
    bits: opts.bits,
    blockSize: opts.blockSize,
    symmetric: opts.symmetric,
    K,
    N,
    kBlocks,
    q: new Uint8Array(N * kBlocks * opts.blockSize),
    scales: new Float32Array(N * kBlocks),
    zeroPoints: new Uint8Array(N * kBlocks),
  };
}

export const maxLevel = (bits: 4 | 8) => (1 << bits) - 1;

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
  const q = quantizeOne(x, scale, zeroPoint, 0, maxLevel(w.bits));
  w.q[n * w.kBlocks * w.blockSize + k] = q;
  return Math.fround((q - zeroPoint) * scale);
}

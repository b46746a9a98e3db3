// Round to nearest: each block's scale and zero point from its range, every value rounded on its
// own. Data-free and bit for bit what onnxruntime's MatMulNBits quantizer writes; the arithmetic
// lives in blockScheme.ts (docs/quantization.md, section 10).
import { blockQuantize, type WeightLayout } from '../blockScheme';
import type { BlockOptions, BlockQuantizedWeight } from './types';

export function rtnQuantize(B: Float32Array, K: number, N: number, o: BlockOptions, layout: WeightLayout = 'KN'): BlockQuantizedWeight {
  return blockQuantize(B, K, N, o, layout);
}

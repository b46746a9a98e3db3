// The shapes that weight-only quantization passes between its algorithms (RTN, HQQ, GPTQ, AWQ),
// which choose the integers, and its writers (MatMulNBits, GatherBlockQuantized, blocked
// DequantizeLinear), which pack them. One weight is B[K, N] of a MatMul (x[.., K] @ B), quantized in
// blocks of `blockSize` consecutive values along K for each output column n.

export interface BlockOptions {
  bits: 4 | 8;
  /** A power of two from 16 to 256. K is padded with zeros to a multiple of it. */
  blockSize: number;
  /** Symmetric: zero point 2^(bits-1) in every block (MatMulNBits' implicit one). */
  symmetric: boolean;
}

/** A weight after an algorithm chose its integers: unpacked, one value per byte. */
export interface BlockQuantizedWeight extends BlockOptions {
  K: number;
  N: number;
  /** ceil(K / blockSize). */
  kBlocks: number;
  /** uint8 [N, kBlocks * blockSize]: column n's value k at n * kBlocks * blockSize + k, in
   *  [0, 2^bits - 1]; the padding past K holds the block's zero point. */
  q: Uint8Array;
  /** float32 [N * kBlocks], block b of column n at n * kBlocks + b. */
  scales: Float32Array;
  /** uint8 [N * kBlocks], in [0, 2^bits - 1]; 2^(bits-1) everywhere when symmetric. */
  zeroPoints: Uint8Array;
}

/** What an algorithm returns: the weight, and for AWQ the per-input-channel scale s[K] that the
 *  writer must divide the MatMul's input by (x / s) @ dequant(q), since the weight was W * s. */
export interface WeightOnlyChoice {
  weight: BlockQuantizedWeight;
  inputScale?: Float32Array;
}

/** Statistics of a MatMul's input collected over the calibration stream (GPTQ, AWQ). Memory is
 *  O(K^2) for the Hessian and O(K) for the rest, whatever the number of samples. */
export interface InputStatistics {
  K: number;
  /** float64 [K, K], row-major: sum over every row x of the input of x^T x (not yet averaged). */
  xtx: Float64Array;
  /** float64 [K]: sum of |x_k| over rows (AWQ's activation magnitude). */
  absSum: Float64Array;
  /** Number of rows (tokens) accumulated. */
  rows: number;
}
export interface WeightTarget { node: string; input: string; weight: string; K: number; N: number }

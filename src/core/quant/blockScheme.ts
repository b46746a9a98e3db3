// Per block, 4-bit weight-only quantization of MatMul B[K, N] (docs/quantization.md, section 6), in the layout
// of com.microsoft::MatMulNBits. Pure arithmetic on top of the scheme's rounding and parameters.
import { FLOAT32_TINY, quantizeOne, scaleZeroPoint, type QuantParams } from './scheme';

export interface BlockQuantized {
  /** uint8 [N, kBlocks, blockSize / 2]: element 2i of a block in the low nibble, 2i+1 in the high. */
  packed: Uint8Array;
  /** float32 [N * kBlocks], block b of column n at n * kBlocks + b. */
  scales: Float32Array;
  /** Asymmetric only: uint8 [N * ceil(kBlocks / 2)], each column's zero points packed like the
   *  values and padded to a whole byte. Absent means MatMulNBits' implicit zero point 8. */
  zeroPoints?: Uint8Array;
  kBlocks: number;
  blockSize: number;
}

function checkBlockSize(blockSize: number): void {
  if (!Number.isInteger(blockSize) || blockSize < 16 || blockSize > 256 || (blockSize & (blockSize - 1)) !== 0) {
    throw new RangeError(`block size ${blockSize} is not a power of two from 16 to 256`);
  }
}

/**
 * Scale and zero point of one block from its first `len` values (the padding past K is not looked
 * at), at 4 or 8 bits: the rule of blockQuantize4bit below for either width, which every weight-only
 * algorithm (RTN, GPTQ, AWQ) applies to the block it has at hand. With h = 2^(bits-1):
 * symmetric, S = fround(m / -h) for the value m of largest magnitude and Z = h; asymmetric, S and Z
 * as scaleZeroPoint gives them for 'uint4' / 'uint8' over the range widened to include 0. A block
 * without range gets S = 1 (and a zero point that dequantizes it to zeros).
 */
export function blockScaleZeroPoint(values: ArrayLike<number>, len: number, bits: 4 | 8, symmetric: boolean): QuantParams {
  if (symmetric) {
    const h = bits === 4 ? 8 : 128;
    let m = 0;
    for (let j = 0; j < len; j++) {
      const v = Math.fround(values[j]);
      // On equal magnitudes the negative one, as the reference (MLAS) picks.
      if (Math.abs(v) > Math.abs(m) || (Math.abs(v) === Math.abs(m) && v < m)) m = v;
    }
    const s = Math.fround(m / -h);
    return { scale: Math.abs(s) >= FLOAT32_TINY ? s : 1, zeroPoint: h };
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (let j = 0; j < len; j++) {
    if (values[j] < lo) lo = values[j];
    if (values[j] > hi) hi = values[j];
  }
  return scaleZeroPoint(Math.min(lo, 0), Math.max(hi, 0), bits === 4 ? 'uint4' : 'uint8');
}

/**
 * Quantizes B[K, N] (row-major) in blocks of `blockSize` along K; K is padded with zeros to a
 * multiple of blockSize.
 *
 * Symmetric: m = the block's value of largest magnitude, S = m / -8 (a negative S maps m itself
 * to -8, using the whole of [-8, 7]), q = clamp(roundHalfEven(x / S), -8, 7) stored as q + 8.
 * Asymmetric: S and Z as scaleZeroPoint(min, max, 'uint4') gives them: the range includes 0
 * (else Z could not lie in [0, 15] and blocks away from 0 would clamp), S = (max - min) / 15.
 * A block without range (|S| below the smallest normal float32) gets S = 1 and the zero point,
 * so it dequantizes to exact zeros.
 */
export function blockQuantize4bit(B: Float32Array, K: number, N: number, blockSize: number, symmetric: boolean): BlockQuantized {
  checkBlockSize(blockSize);
  if (!(Number.isInteger(K) && K > 0 && Number.isInteger(N) && N > 0)) throw new RangeError(`bad matrix size K=${K}, N=${N}`);
  if (B.length !== K * N) throw new RangeError(`${B.length} values given for B[${K}, ${N}]`);
  const kBlocks = Math.ceil(K / blockSize);
  const blob = blockSize / 2;
  const packed = new Uint8Array(N * kBlocks * blob);
  const scales = new Float32Array(N * kBlocks);
  const zpBytes = Math.ceil(kBlocks / 2);
  const zeroPoints = symmetric ? undefined : new Uint8Array(N * zpBytes);
  const block = new Float32Array(blockSize);
  for (let n = 0; n < N; n++) {
    for (let b = 0; b < kBlocks; b++) {
      const k0 = b * blockSize;
      const len = Math.min(blockSize, K - k0);
      block.fill(0);
      for (let j = 0; j < len; j++) block[j] = B[(k0 + j) * N + n];
      const { scale: s, zeroPoint: z } = blockScaleZeroPoint(block, len, 4, symmetric);
      scales[n * kBlocks + b] = s;
      if (zeroPoints) zeroPoints[n * zpBytes + (b >> 1)] |= z << ((b & 1) * 4);
      const base = (n * kBlocks + b) * blob;
      // Padding (j >= len) is 0 and quantizes to the zero point.
      for (let j = 0; j < blockSize; j++) packed[base + (j >> 1)] |= quantizeOne(block[j], s, z, 0, 15) << ((j & 1) * 4);
    }
  }
  return { packed, scales, zeroPoints, kBlocks, blockSize };
}

/** B~[K, N] from a blockQuantize4bit result: (q - Z) * S in float32, as MatMulNBits sees it. */
export function blockDequantize4bit(q: BlockQuantized, K: number, N: number): Float32Array {
  const { packed, scales, zeroPoints, kBlocks, blockSize } = q;
  const blob = blockSize / 2;
  const zpBytes = Math.ceil(kBlocks / 2);
  const out = new Float32Array(K * N);
  for (let n = 0; n < N; n++) {
    for (let b = 0; b < kBlocks; b++) {
      const s = scales[n * kBlocks + b];
      const z = zeroPoints ? (zeroPoints[n * zpBytes + (b >> 1)] >> ((b & 1) * 4)) & 0xf : 8;
      const base = (n * kBlocks + b) * blob;
      for (let j = 0; j < blockSize && b * blockSize + j < K; j++) {
        const v = (packed[base + (j >> 1)] >> ((j & 1) * 4)) & 0xf;
        // + 0: a negative scale would make -0 of the zero point; a sum in MatMul gives +0 anyway.
        out[(b * blockSize + j) * N + n] = (v - z) * s + 0;
      }
    }
  }
  return out;
}

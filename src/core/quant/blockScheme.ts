// The arithmetic of block-wise weight quantization (docs/quantization.md, section 10): scale and
// zero point of a block, the rounding of a value, dequantization, and the packing of
// com.microsoft::MatMulNBits. It follows onnxruntime's own quantizer (MLAS's blockwise quantizer,
// which its MatMulNBits quantizer calls) bit for bit: a value is q = clamp(roundf(x * (1 / S) + Z))
// in float32, rounding ties away from zero. The one home of this math: RTN is these functions,
// HQQ and the data-aware algorithms choose S and Z and quantize with quantizeBlockValue.
import type { BlockOptions, BlockQuantizedWeight } from './weightOnly/types';

/** How B is stored: [K, N] (a MatMul's B) or [N, K] (a Gemm's B with transB, an embedding table
 *  read per row): blocks always run along K. */
export type WeightLayout = 'KN' | 'NK';

export function checkBlockOptions(o: BlockOptions): void {
  const b = o.blockSize;
  if (!Number.isInteger(b) || b < 16 || b > 256 || (b & (b - 1)) !== 0) throw new RangeError(`block size ${b} is not a power of two from 16 to 256`);
  if (o.bits !== 4 && o.bits !== 8) throw new RangeError(`${o.bits} bits: only 4 and 8 are supported`);
}

/** 2^bits - 1. */
export function maxLevel(bits: 4 | 8): number {
  return (1 << bits) - 1;
}

/** C's roundf: ties away from zero. */
export function roundHalfAway(x: number): number {
  return x < 0 ? -Math.floor(-x + 0.5) : Math.floor(x + 0.5);
}

/** The reciprocal the quantizer multiplies by (0 for a block without range). */
export function reciprocalScale(s: number): number {
  return s ? Math.fround(1 / s) : 0;
}

/** One value of a block: clamp(roundf(fround(fround(x * r) + z)), 0, 2^bits - 1). */
export function quantizeBlockValue(x: number, r: number, z: number, qmax: number): number {
  const v = roundHalfAway(Math.fround(Math.fround(x * r) + z));
  return v < 0 ? 0 : v > qmax ? qmax : Number.isNaN(v) ? z : v;
}

/**
 * Scale and zero point of a block from its values' range (padding excluded), as MLAS computes them.
 * Asymmetric: the range is widened to include 0, S = (max - min) / (2^bits - 1), Z = roundf(-min / S)
 * clamped (Z = 0 when S = 0). Symmetric: m = the endpoint of larger magnitude (min on a tie),
 * S = -m / 2^(bits-1), Z = 2^(bits-1): a negative S maps m to level 0, so the whole range is used.
 */
export function blockParams(min: number, max: number, bits: 4 | 8, symmetric: boolean): { scale: number; zeroPoint: number } {
  const f = Math.fround;
  const qmax = maxLevel(bits);
  const mid = 1 << (bits - 1);
  if (symmetric) {
    const m = Math.abs(max) > Math.abs(min) ? max : min;
    // -0 for an all-zero block, as MLAS stores it.
    return { scale: f(-m / mid), zeroPoint: mid };
  }
  const lo = Math.min(min, 0);
  const hi = Math.max(max, 0);
  const scale = f(f(hi - lo) / qmax);
  const zf = scale !== 0 ? f(0 - f(lo / scale)) : lo;
  const zeroPoint = zf < 0 ? 0 : zf > qmax ? qmax : roundHalfAway(zf);
  return { scale, zeroPoint };
}

/** blockParams over the first `len` values of a block (the padding past K is not looked at): the
 *  rule RTN applies, which GPTQ and AWQ apply to the block they have at hand. */
export function blockScaleZeroPoint(values: ArrayLike<number>, len: number, bits: 4 | 8, symmetric: boolean): { scale: number; zeroPoint: number } {
  let lo = Infinity;
  let hi = -Infinity;
  for (let j = 0; j < len; j++) {
    if (values[j] < lo) lo = values[j];
    if (values[j] > hi) hi = values[j];
  }
  return blockParams(lo, hi, bits, symmetric);
}

/** Reads B's values block by block without copying the whole tensor. */
export function blockReader(B: Float32Array, K: number, N: number, layout: WeightLayout): (n: number, k: number) => number {
  if (B.length !== K * N) throw new RangeError(`${B.length} values given for B[${K}, ${N}]`);
  return layout === 'KN' ? (n, k) => B[k * N + n] : (n, k) => B[n * K + k];
}

/** An empty weight of the given shape, with padding at the zero point once filled. */
export function emptyBlockWeight(K: number, N: number, o: BlockOptions): BlockQuantizedWeight {
  checkBlockOptions(o);
  if (!(Number.isInteger(K) && K > 0 && Number.isInteger(N) && N > 0)) throw new RangeError(`bad matrix size K=${K}, N=${N}`);
  const kBlocks = Math.ceil(K / o.blockSize);
  return {
    bits: o.bits,
    blockSize: o.blockSize,
    symmetric: o.symmetric,
    K,
    N,
    kBlocks,
    q: new Uint8Array(N * kBlocks * o.blockSize),
    scales: new Float32Array(N * kBlocks),
    zeroPoints: new Uint8Array(N * kBlocks),
  };
}

/** Quantizes block b of column n with the given S and Z into w (values past K get Z). */
export function quantizeBlock(w: BlockQuantizedWeight, at: (n: number, k: number) => number, n: number, b: number, scale: number, zeroPoint: number): void {
  const { blockSize, kBlocks, K } = w;
  const qmax = maxLevel(w.bits);
  const r = reciprocalScale(scale);
  w.scales[n * kBlocks + b] = scale;
  w.zeroPoints[n * kBlocks + b] = zeroPoint;
  const base = (n * kBlocks + b) * blockSize;
  const k0 = b * blockSize;
  for (let j = 0; j < blockSize; j++) w.q[base + j] = k0 + j < K ? quantizeBlockValue(at(n, k0 + j), r, zeroPoint, qmax) : zeroPoint;
}

/** Round to nearest with MLAS's parameters: onnxruntime's MatMulNBits quantizer, bit for bit. */
export function blockQuantize(B: Float32Array, K: number, N: number, o: BlockOptions, layout: WeightLayout = 'KN'): BlockQuantizedWeight {
  const at = blockReader(B, K, N, layout);
  const w = emptyBlockWeight(K, N, o);
  for (let n = 0; n < N; n++) {
    for (let b = 0; b < w.kBlocks; b++) {
      let lo = Infinity;
      let hi = -Infinity;
      for (let k = b * o.blockSize; k < Math.min(K, (b + 1) * o.blockSize); k++) {
        const v = at(n, k);
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      const { scale, zeroPoint } = blockParams(lo, hi, o.bits, o.symmetric);
      quantizeBlock(w, at, n, b, scale, zeroPoint);
    }
  }
  return w;
}

/** One dequantized value, (q - Z) * S in float32, as the kernels compute it. */
export function dequantizedValue(w: BlockQuantizedWeight, n: number, k: number): number {
  const i = n * w.kBlocks + Math.floor(k / w.blockSize);
  return Math.fround((w.q[n * w.kBlocks * w.blockSize + k] - w.zeroPoints[i]) * w.scales[i]) + 0;
}

/** B~[K, N] row-major, what MatMulNBits multiplies by. */
export function blockDequantize(w: BlockQuantizedWeight): Float32Array {
  const out = new Float32Array(w.K * w.N);
  for (let n = 0; n < w.N; n++) for (let k = 0; k < w.K; k++) out[k * w.N + n] = dequantizedValue(w, n, k);
  return out;
}

/** The inputs of MatMulNBits: B uint8 [N, kBlocks, blockSize * bits / 8], scales float32
 *  [N * kBlocks], and (asymmetric only) zero points uint8 [N * ceil(kBlocks * bits / 8)]. */
export interface MatMulNBitsPacked {
  data: Uint8Array;
  scales: Float32Array;
  zeroPoints?: Uint8Array;
  dims: [number, number, number];
}

/**
 * Packs as onnxruntime's quantizer does: 4 bits two per byte, element 2i in the low nibble; 8 bits
 * one per byte; the padding past K is 0 (MatMulNBits never reads it). Each column's zero points
 * are packed the same way, a column starting on a whole byte. Symmetric weights leave the zero
 * points out: the kernel's implicit one is 2^(bits-1), the value they hold.
 */
export function packMatMulNBits(w: BlockQuantizedWeight): MatMulNBitsPacked {
  const { K, N, kBlocks, blockSize, bits } = w;
  const blob = (blockSize * bits) / 8;
  const data = new Uint8Array(N * kBlocks * blob);
  const perByte = 8 / bits;
  const kPadded = kBlocks * blockSize;
  for (let n = 0; n < N; n++) {
    const src = n * kPadded;
    const dst = n * kBlocks * blob;
    for (let k = 0; k < K; k++) data[dst + Math.floor(k / perByte)] |= w.q[src + k] << ((k % perByte) * bits);
  }
  let zeroPoints: Uint8Array | undefined;
  if (!w.symmetric) {
    const zpBytes = Math.ceil(kBlocks / perByte);
    zeroPoints = new Uint8Array(N * zpBytes);
    for (let n = 0; n < N; n++) {
      for (let b = 0; b < kBlocks; b++) zeroPoints[n * zpBytes + Math.floor(b / perByte)] |= w.zeroPoints[n * kBlocks + b] << ((b % perByte) * bits);
    }
  }
  return { data, scales: w.scales, zeroPoints, dims: [N, kBlocks, blob] };
}

/** How far a weight's blocks are from the float values: per block ||w - w~|| / ||w|| (0 for an
 *  all-zero block), averaged and at worst, and the weight's SQNR in dB. */
export interface BlockErrorStats {
  blocks: number;
  meanRelative: number;
  maxRelative: number;
  sqnrDb: number;
}

export function blockErrorStats(B: Float32Array, w: BlockQuantizedWeight, layout: WeightLayout = 'KN'): BlockErrorStats {
  const at = blockReader(B, w.K, w.N, layout);
  let sum = 0;
  let max = 0;
  let signal = 0;
  let noise = 0;
  for (let n = 0; n < w.N; n++) {
    for (let b = 0; b < w.kBlocks; b++) {
      let s = 0;
      let e = 0;
      for (let k = b * w.blockSize; k < Math.min(w.K, (b + 1) * w.blockSize); k++) {
        const v = at(n, k);
        const d = v - dequantizedValue(w, n, k);
        s += v * v;
        e += d * d;
      }
      const rel = s > 0 ? Math.sqrt(e / s) : 0;
      sum += rel;
      if (rel > max) max = rel;
      signal += s;
      noise += e;
    }
  }
  const blocks = w.N * w.kBlocks;
  const sqnrDb = noise === 0 ? Infinity : signal === 0 ? -Infinity : 10 * Math.log10(signal / noise);
  return { blocks, meanRelative: sum / blocks, maxRelative: max, sqnrDb };
}

/**
 * The inverse of packMatMulNBits: the weight as the algorithms hold it, from MatMulNBits' inputs
 * (GatherBlockQuantized's rows are packed the same way). Without zero points the weight is
 * symmetric, every block at 2^(bits-1); the padding past K is set to each block's zero point.
 */
export function unpackMatMulNBits(
  p: { data: Uint8Array; scales: Float32Array; zeroPoints?: Uint8Array },
  K: number,
  N: number,
  bits: 4 | 8,
  blockSize: number,
): BlockQuantizedWeight {
  const kBlocks = Math.ceil(K / blockSize);
  const blob = (blockSize * bits) / 8;
  const perByte = 8 / bits;
  const zpBytes = Math.ceil(kBlocks / perByte);
  if (p.data.length !== N * kBlocks * blob)
    throw new RangeError(`${p.data.length} bytes of packed data; N=${N}, K=${K} in blocks of ${blockSize} need ${N * kBlocks * blob}`);
  if (p.scales.length !== N * kBlocks) throw new RangeError(`${p.scales.length} scales; ${N * kBlocks} blocks need one each`);
  if (p.zeroPoints && p.zeroPoints.length !== N * zpBytes) throw new RangeError(`${p.zeroPoints.length} bytes of zero points; ${N * zpBytes} expected`);
  const mask = maxLevel(bits);
  const zeroPoints = new Uint8Array(N * kBlocks).fill(1 << (bits - 1));
  if (p.zeroPoints) {
    for (let n = 0; n < N; n++)
      for (let b = 0; b < kBlocks; b++) zeroPoints[n * kBlocks + b] = (p.zeroPoints[n * zpBytes + Math.floor(b / perByte)] >> ((b % perByte) * bits)) & mask;
  }
  const kPadded = kBlocks * blockSize;
  const q = new Uint8Array(N * kPadded);
  for (let n = 0; n < N; n++) {
    const src = n * kBlocks * blob;
    for (let k = 0; k < kPadded; k++) {
      q[n * kPadded + k] =
        k < K ? (p.data[src + Math.floor(k / perByte)] >> ((k % perByte) * bits)) & mask : zeroPoints[n * kBlocks + Math.floor(k / blockSize)];
    }
  }
  return { bits, blockSize, symmetric: !p.zeroPoints, K, N, kBlocks, q, scales: Float32Array.from(p.scales), zeroPoints };
}

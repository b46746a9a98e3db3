// unpackMatMulNBits against packMatMulNBits: the analyzer reads back exactly what the writer packed.
import * as assert from 'assert';
import { blockQuantize, packMatMulNBits, unpackMatMulNBits } from '../../src/core/quant/blockScheme';
import type { BlockOptions } from '../../src/core/quant/weightOnly/types';

/** Deterministic values with a spread that changes from block to block. */
function weights(K: number, N: number, seed: number): Float32Array {
  const out = new Float32Array(K * N);
  let s = seed;
  for (let i = 0; i < out.length; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    out[i] = (s / 2147483648 - 0.3) * (1 + (i % 7));
  }
  return out;
}

describe('unpackMatMulNBits', () => {
  const cases: Array<[string, number, number, BlockOptions]> = [
    ['4-bit asymmetric, K a multiple of the block', 64, 5, { bits: 4, blockSize: 32, symmetric: false }],
    ['4-bit asymmetric, K padded, an odd number of blocks', 80, 3, { bits: 4, blockSize: 16, symmetric: false }],
    ['4-bit symmetric', 50, 4, { bits: 4, blockSize: 16, symmetric: true }],
    ['8-bit asymmetric', 70, 2, { bits: 8, blockSize: 32, symmetric: false }],
    ['8-bit symmetric', 33, 3, { bits: 8, blockSize: 16, symmetric: true }],
  ];
  for (const [what, K, N, o] of cases) {
    it(`round-trips ${what}`, () => {
      const w = blockQuantize(weights(K, N, K + N), K, N, o);
      const p = packMatMulNBits(w);
      const back = unpackMatMulNBits(p, K, N, o.bits, o.blockSize);
      // Every field, the padding past K at each block's zero point included.
      assert.deepStrictEqual(back, w);
      const again = packMatMulNBits(back);
      assert.deepStrictEqual(again.data, p.data);
      assert.deepStrictEqual(again.zeroPoints, p.zeroPoints);
    });
  }

  it('reads the low nibble first and a missing zero point as 2^(bits-1)', () => {
    const w = unpackMatMulNBits({ data: Uint8Array.of(0x21, 0x43, ...new Array<number>(14).fill(0)), scales: Float32Array.of(0.5) }, 4, 1, 4, 32);
    assert.deepStrictEqual(Array.from(w.q.subarray(0, 6)), [1, 2, 3, 4, 8, 8]);
    assert.strictEqual(w.symmetric, true);
    assert.deepStrictEqual(Array.from(w.zeroPoints), [8]);
  });

  it('refuses packed data of the wrong size, naming what the shape needs', () => {
    assert.throws(
      () => unpackMatMulNBits({ data: new Uint8Array(10), scales: new Float32Array(1) }, 32, 1, 4, 32),
      /10 bytes of packed data; N=1, K=32 in blocks of 32 need 16/,
    );
  });
});

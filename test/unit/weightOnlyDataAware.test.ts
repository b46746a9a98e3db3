// The arithmetic of GPTQ and AWQ on synthetic data (no onnxruntime): the factor of H^-1, GPTQ
// reducing to plain rounding when H is diagonal, both beating plain rounding on correlated inputs,
// the statistics accumulator and the split of tensors into passes.
import * as assert from 'assert';
import { blockQuantize, blockScaleZeroPoint, quantizeBlockValue, reciprocalScale } from '../../src/core/quant/blockScheme';
import { awqQuantize } from '../../src/core/quant/weightOnly/awq';
import { gptqQuantize } from '../../src/core/quant/weightOnly/gptq';
import { planStatisticsPasses, StatisticsAccumulator } from '../../src/core/quant/weightOnly/inputStatistics';
import { upperCholeskyOfInverse } from '../../src/core/quant/weightOnly/linalg';
import type { BlockOptions, InputStatistics } from '../../src/core/quant/weightOnly/types';
import { correlatedInputs, directStatistics, effectiveWeight, normals, outputError, referenceRtn } from '../support/weightOnlyReference';

function randomWeight(seed: number, K: number, N: number, scale = 0.05): Float32Array {
  return Float32Array.from(normals(seed, K * N), (v) => v * scale);
}

function statisticsOf(X: Float32Array, rows: number, K: number): InputStatistics {
  return { K, rows, ...directStatistics(X, rows, K) };
}

/** Statistics whose H = 2 X^T X / rows is diag(d). */
function diagonalStatistics(d: number[], rows = 10): InputStatistics {
  const K = d.length;
  const xtx = new Float64Array(K * K);
  d.forEach((v, k) => (xtx[k * K + k] = (v * rows) / 2));
  return { K, rows, xtx, absSum: new Float64Array(K).fill(rows) };
}

describe('weight-only GPTQ and AWQ arithmetic', () => {
  for (const K of [1, 6, 24, 37]) {
    it(`factors H^-1 as U^T U with U upper triangular (K = ${K}: panels of four${K % 4 ? ' and a partial one' : ''})`, () => {
      const A = normals(5, K * K);
      // H = A A^T + I: symmetric positive definite.
      const H = new Float64Array(K * K);
      for (let i = 0; i < K; i++)
        for (let j = 0; j < K; j++) for (let k = 0; k < K; k++) H[i * K + j] += A[i * K + k] * A[j * K + k] + (i === j && k === 0 ? 1 : 0);
      const U = upperCholeskyOfInverse(H, K)!;
      for (let i = 0; i < K; i++) for (let j = 0; j < i; j++) assert.strictEqual(U[i * K + j], 0);
      // (U^T U) H = I.
      for (let i = 0; i < K; i++) {
        for (let j = 0; j < K; j++) {
          let v = 0;
          for (let m = 0; m < K; m++) {
            let inv = 0;
            for (let r = 0; r <= Math.min(i, m); r++) inv += U[r * K + i] * U[r * K + m];
            v += inv * H[m * K + j];
          }
          assert.ok(Math.abs(v - (i === j ? 1 : 0)) < 1e-9, `(U^T U H)[${i}][${j}] = ${v}`);
        }
      }
    });
  }

  it('refuses to factor a Hessian that is not positive definite', () => {
    assert.strictEqual(upperCholeskyOfInverse(new Float64Array([1, 2, 2, 1]), 2), undefined);
    assert.strictEqual(upperCholeskyOfInverse(new Float64Array([0]), 1), undefined);
  });

  it('the block rule at 4 bits, and at 8 bits the same rule on [0, 255]', () => {
    const values = [0.3, -1.2, 0.7, 1.2];
    assert.deepStrictEqual(blockScaleZeroPoint(values, 4, 4, true), { scale: Math.fround(-1.2 / -8), zeroPoint: 8 });
    assert.deepStrictEqual(blockScaleZeroPoint(values, 4, 8, true), { scale: Math.fround(-1.2 / -128), zeroPoint: 128 });
    assert.deepStrictEqual(blockScaleZeroPoint([0.5, 3], 2, 8, false), { scale: Math.fround(3 / 255), zeroPoint: 0 });
    // A block without range: S = -0 (dequantizes to zeros), as onnxruntime's quantizer stores it.
    assert.deepStrictEqual(blockScaleZeroPoint([0, 0], 2, 8, true), { scale: -0, zeroPoint: 128 });
  });

  describe('GPTQ with a diagonal H is plain rounding, bit for bit', () => {
    const K = 80;
    const N = 6;
    const W = randomWeight(11, K, N);
    for (const bits of [4, 8] as const) {
      for (const symmetric of [true, false]) {
        for (const blockSize of [16, 32, 128]) {
          it(`${bits} bits, ${symmetric ? 'symmetric' : 'asymmetric'}, block ${blockSize}${K % blockSize ? ' (padded)' : ''}`, () => {
            const opts: BlockOptions = { bits, blockSize, symmetric };
            const expected = referenceRtn(W, K, N, opts);
            const identity = gptqQuantize(W, K, N, diagonalStatistics(new Array(K).fill(1)), opts);
            assert.deepStrictEqual(identity.weight, expected);
            assert.strictEqual(identity.inputScale, undefined);
            // Any diagonal, and any order: no error reaches another channel.
            const d = Array.from(normals(3, K), (v) => Math.exp(v));
            assert.deepStrictEqual(gptqQuantize(W, K, N, diagonalStatistics(d), { ...opts, actOrder: true }).weight, expected);
          });
        }
      }
    }

    it('matches RTN (blockQuantize) at 4 and 8 bits', () => {
      for (const bits of [4, 8] as const) {
        for (const symmetric of [true, false]) {
          const opts: BlockOptions = { bits, blockSize: 32, symmetric };
          const g = gptqQuantize(W, K, N, diagonalStatistics(new Array(K).fill(1)), opts).weight;
          assert.deepStrictEqual(g, blockQuantize(W, K, N, opts));
        }
      }
    });
  });

  describe('on correlated inputs both beat plain rounding of the same bits and block', () => {
    const rows = 1024;
    const K = 256;
    const N = 48;
    const X = correlatedInputs(21, rows, K);
    const W = randomWeight(22, K, N);
    const stats = statisticsOf(X, rows, K);
    for (const symmetric of [true, false]) {
      for (const blockSize of [32, 128]) {
        it(`4 bits, block ${blockSize}, ${symmetric ? 'symmetric' : 'asymmetric'}`, () => {
          const opts: BlockOptions = { bits: 4, blockSize, symmetric };
          const rtn = outputError(X, rows, K, N, W, effectiveWeight({ weight: referenceRtn(W, K, N, opts) }));
          const gptq = outputError(X, rows, K, N, W, effectiveWeight(gptqQuantize(W, K, N, stats, opts)));
          const gptqAct = outputError(X, rows, K, N, W, effectiveWeight(gptqQuantize(W, K, N, stats, { ...opts, actOrder: true })));
          const awqChoice = awqQuantize(W, K, N, stats, opts);
          const awq = outputError(X, rows, K, N, W, effectiveWeight(awqChoice));
          console.log(
            `      synthetic K=${K} N=${N} rows=${rows} block ${blockSize} ${symmetric ? 'sym' : 'asym'}: GPTQ/RTN ${(gptq / rtn).toFixed(3)}, GPTQ act-order/RTN ${(gptqAct / rtn).toFixed(3)}, AWQ/RTN ${(awq / rtn).toFixed(3)}`,
          );
          assert.ok(gptq < rtn, `GPTQ ${gptq} < RTN ${rtn}`);
          assert.ok(gptqAct < rtn, `GPTQ with act order ${gptqAct} < RTN ${rtn}`);
          assert.ok(awq < rtn, `AWQ ${awq} < RTN ${rtn}`);
          assert.ok(awqChoice.inputScale, 'AWQ scaled the channels');
        });
      }
    }
  });

  it('AWQ returns the weight of B * s: dequant(q) / s is B up to a quantization step', () => {
    const rows = 256;
    const K = 64;
    const N = 8;
    const X = correlatedInputs(31, rows, K);
    const W = randomWeight(32, K, N);
    const choice = awqQuantize(W, K, N, statisticsOf(X, rows, K), { bits: 8, blockSize: 32, symmetric: true });
    const s = choice.inputScale!;
    assert.ok(s && s.length === K);
    const back = effectiveWeight(choice);
    for (let k = 0; k < K; k++) {
      for (let n = 0; n < N; n++) {
        const step = Math.abs(choice.weight.scales[n * 2 + (k >> 5)]) / s[k];
        assert.ok(Math.abs(back[k * N + n] - W[k * N + n]) <= step, `B[${k}][${n}]`);
      }
    }
  });

  it('GPTQ rounds a dead input channel (zero on every row) as it is, while the others take errors', () => {
    const rows = 512;
    const K = 64;
    const N = 8;
    const X = correlatedInputs(51, rows, K);
    for (let r = 0; r < rows; r++) X[r * K + 5] = 0;
    const W = randomWeight(52, K, N);
    const opts: BlockOptions = { bits: 4, blockSize: 32, symmetric: false };
    const w = gptqQuantize(W, K, N, statisticsOf(X, rows, K), opts).weight;
    const rtn = referenceRtn(W, K, N, opts);
    let moved = 0;
    for (let n = 0; n < N; n++) {
      const i = n * w.kBlocks;
      assert.strictEqual(
        w.q[n * w.kBlocks * 32 + 5],
        quantizeBlockValue(W[5 * N + n], reciprocalScale(w.scales[i]), w.zeroPoints[i], 15),
        `column ${n}: channel 5 unchanged`,
      );
      for (let k = 0; k < K; k++) if (w.q[n * w.kBlocks * 32 + k] !== rtn.q[n * w.kBlocks * 32 + k]) moved++;
    }
    assert.ok(moved > 0, 'the live channels took the error feedback');
  });

  it('GPTQ damps a singular Hessian more when asked for no damping, and says so', () => {
    // Two channels always equal: H = [[1, 1], [1, 1]] is singular.
    const stats: InputStatistics = { K: 2, rows: 2, xtx: new Float64Array([1, 1, 1, 1]), absSum: new Float64Array([2, 2]) };
    const notes: string[] = [];
    const W = new Float32Array([0.3, -0.2, 0.1, 0.4]);
    const choice = gptqQuantize(W, 2, 2, stats, { bits: 8, blockSize: 16, symmetric: true, damp: 0, onNote: (m) => notes.push(m) });
    assert.deepStrictEqual(notes, ['the Hessian was not positive definite with damping 0; damped with 0.0001 of its mean diagonal instead']);
    const back = effectiveWeight(choice);
    // The pair's error is what GPTQ controls: x0 (w0 - w~0) + x1 (w1 - w~1) with x0 = x1.
    for (let n = 0; n < 2; n++) assert.ok(Math.abs(W[n] + W[2 + n] - back[n] - back[2 + n]) < 0.004, `column ${n}`);
  });

  it('refuses statistics of another width and weights of another size', () => {
    const stats = diagonalStatistics([1, 1]);
    const opts: BlockOptions = { bits: 4, blockSize: 16, symmetric: true };
    assert.throws(() => gptqQuantize(new Float32Array(6), 3, 2, stats, opts), /statistics of width 2 for B\[3, 2\]/);
    assert.throws(() => awqQuantize(new Float32Array(5), 2, 2, stats, opts), /5 values given for B\[2, 2\]/);
    assert.throws(() => gptqQuantize(new Float32Array(4), 2, 2, stats, { ...opts, blockSize: 48 }), /block size 48/);
    assert.throws(() => gptqQuantize(new Float32Array(4), 2, 2, { ...stats, rows: 0 }, opts), /no calibration row/);
  });

  it('the accumulator sums X^T X and |x| over rows, leaving out rows with NaN or Inf', () => {
    const K = 37;
    const rows = 150; // more than two chunks of rows, the last one partial
    const X = correlatedInputs(41, rows, K);
    const acc = new StatisticsAccumulator(K);
    acc.add(X.subarray(0, 70 * K));
    const bad = new Float32Array(3 * K);
    bad[5] = NaN;
    bad[K + 2] = Infinity;
    bad[2 * K + 9] = -Infinity;
    acc.add(bad);
    acc.add(X.subarray(70 * K));
    const got = acc.result();
    const want = directStatistics(X, rows, K);
    assert.strictEqual(got.rows, rows);
    assert.strictEqual(acc.skipped, 3);
    for (let i = 0; i < K * K; i++) assert.ok(Math.abs(got.xtx[i] - want.xtx[i]) <= 1e-9 * Math.abs(want.xtx[i]) + 1e-9, `xtx[${i}]`);
    for (let k = 0; k < K; k++) assert.ok(Math.abs(got.absSum[k] - want.absSum[k]) <= 1e-9 * want.absSum[k]);
  });

  it('splits the tensors into passes whose X^T X fit the budget', () => {
    const t = (tensor: string, K: number) => ({ tensor, K });
    const targets = [t('a', 64), t('b', 64), t('c', 128), t('d', 32)];
    // 64^2 * 8 = 32 KiB, 128^2 * 8 = 128 KiB, 32^2 * 8 = 8 KiB.
    assert.deepStrictEqual(
      planStatisticsPasses(targets, 1 << 30).map((p) => p.map((x) => x.tensor)),
      [['a', 'b', 'c', 'd']],
    );
    assert.deepStrictEqual(
      planStatisticsPasses(targets, 64 * 1024).map((p) => p.map((x) => x.tensor)),
      [['a', 'b'], ['c'], ['d']],
    );
    assert.deepStrictEqual(
      planStatisticsPasses(targets, 1).map((p) => p.map((x) => x.tensor)),
      [['a'], ['b'], ['c'], ['d']],
    );
  });
});

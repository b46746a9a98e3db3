// The quantization arithmetic (src/core/quant/scheme.ts) against hand-computed values from the
// contract (docs/quantization.md, sections 1, 2, 3, 6), and bit for bit against onnxruntime's own
// QuantizeLinear, DequantizeLinear and MatMulNBits kernels.
import * as assert from 'assert';
import { DataType } from '../../src/core/onnx/dataTypes';
import { decodeModel } from '../../src/core/onnx/model';
import { seededRandom } from '../../src/core/random';
import { createSession, ort } from '../../src/core/runtime/session';
import {
  QUANT_TYPES,
  dequantizeValues,
  integerRange,
  perChannelParams,
  quantTypeInfo,
  quantizeBias,
  quantizePerChannel,
  quantizeValues,
  roundHalfEven,
  scaleZeroPoint,
  weightAxis,
  type QuantArray,
  type QuantType,
} from '../../src/core/quant/scheme';
import { blockDequantize, blockQuantize, packMatMulNBits } from '../../src/core/quant/blockScheme';
import { GraphBuilder, modelBytes } from '../fixtures/builder';

const f32 = Math.fround;

/** Same float32 values, bit for bit (so -0 vs 0 and NaN payloads count, unless `anyZeroSign`:
 *  a matrix product's sum turns a -0 term into +0). */
function assertSameBits(actual: Float32Array, expected: Float32Array, what: string, anyZeroSign = false): void {
  assert.strictEqual(actual.length, expected.length, `${what}: length`);
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const e = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== e[i] && !(anyZeroSign && actual[i] === 0 && expected[i] === 0)) assert.fail(`${what}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
  }
}

function assertSameInts(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  assert.strictEqual(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i]) assert.fail(`${what}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
  }
}

describe('quantization scheme: hand-computed values', () => {
  it('describes each type', () => {
    assert.deepStrictEqual(quantTypeInfo('uint8'), { dataType: DataType.UINT8, signed: false, bits: 8, fullMin: 0, fullMax: 255 });
    assert.deepStrictEqual(quantTypeInfo('int8'), { dataType: DataType.INT8, signed: true, bits: 8, fullMin: -128, fullMax: 127 });
    assert.deepStrictEqual(quantTypeInfo('uint16'), { dataType: DataType.UINT16, signed: false, bits: 16, fullMin: 0, fullMax: 65535 });
    assert.deepStrictEqual(quantTypeInfo('int16'), { dataType: DataType.INT16, signed: true, bits: 16, fullMin: -32768, fullMax: 32767 });
    assert.deepStrictEqual(quantTypeInfo('uint4'), { dataType: DataType.UINT4, signed: false, bits: 4, fullMin: 0, fullMax: 15 });
    assert.deepStrictEqual(quantTypeInfo('int4'), { dataType: DataType.INT4, signed: true, bits: 4, fullMin: -8, fullMax: 7 });
    assert.throws(() => quantTypeInfo('int32' as QuantType), /unknown quantization type 'int32'/);
  });

  it('rounds half to even, detecting ties on the value itself', () => {
    const cases: Array<[number, number]> = [
      [-2.5, -2],
      [-1.5, -2],
      [-0.5, 0],
      [0.5, 0],
      [1.5, 2],
      [2.5, 2],
      [3.5, 4],
      [-3.5, -4],
      [127.5, 128],
      [-128.5, -128],
      [2.4999999999999996, 2],
      [2.5000000000000004, 3],
      [0.49999999999999994, 0],
      [-0.49999999999999994, 0],
      [-1.4999999999999998, -1],
      [-0.4, 0],
      [-0.6, -1],
      [1e300, 1e300],
      [4503599627370497, 4503599627370497],
      [-7, -7],
    ];
    for (const [x, want] of cases) assert.ok(Object.is(roundHalfEven(x), want), `roundHalfEven(${x}) = ${roundHalfEven(x)}, want ${want}`);
    // Math.round would give -1 and 3: the reason this function exists.
    assert.notStrictEqual(Math.round(-1.5), roundHalfEven(-1.5));
    assert.strictEqual(roundHalfEven(Infinity), Infinity);
    assert.ok(Number.isNaN(roundHalfEven(NaN)));
  });

  it('uses the integer ranges of the contract table', () => {
    const table: Record<QuantType, [[number, number], [number, number], [number, number]]> = {
      uint8: [
        [0, 255],
        [0, 254],
        [0, 127],
      ],
      int8: [
        [-128, 127],
        [-127, 127],
        [-64, 64],
      ],
      uint16: [
        [0, 65535],
        [0, 65534],
        [0, 32767],
      ],
      int16: [
        [-32768, 32767],
        [-32767, 32767],
        [-16384, 16384],
      ],
      uint4: [
        [0, 15],
        [0, 15],
        [0, 7],
      ],
      int4: [
        [-8, 7],
        [-8, 7],
        [-4, 3],
      ],
    };
    for (const t of QUANT_TYPES) {
      const [full, sym, reduced] = table[t];
      assert.deepStrictEqual(integerRange(t), full, `${t} full`);
      assert.deepStrictEqual(integerRange(t, { symmetric: true }), sym, `${t} symmetric`);
      assert.deepStrictEqual(integerRange(t, { reduceRange: true }), reduced, `${t} reduced`);
      // Reduced range wins over symmetric (as in the reference).
      assert.deepStrictEqual(integerRange(t, { reduceRange: true, symmetric: true }), reduced, `${t} reduced symmetric`);
    }
  });

  it('picks scale and zero point for [-1, 3] in every type and mode', () => {
    // [rmin, rmax] = [-1, 3]: asymmetric S = 4 / (qmax - qmin), Z = round(qmin + 1 / S);
    // symmetric widens to [-3, 3]: S = 6 / (qmax - qmin), Z = round((qmin + qmax) / 2).
    const want: Array<[QuantType, { symmetric?: boolean; reduceRange?: boolean }, number, number]> = [
      ['uint8', {}, 4 / 255, 64], // 63.75
      ['int8', {}, 4 / 255, -64], // -128 + 63.75
      ['uint8', { symmetric: true }, 6 / 254, 127],
      ['int8', { symmetric: true }, 6 / 254, 0],
      ['uint8', { reduceRange: true }, 4 / 127, 32], // 31.75
      ['int8', { reduceRange: true }, 4 / 128, -32],
      ['int8', { reduceRange: true, symmetric: true }, 6 / 128, 0],
      ['uint8', { reduceRange: true, symmetric: true }, 6 / 127, 64], // 63.5 -> 64
      ['uint16', {}, 4 / 65535, 16384], // 16383.75
      ['int16', {}, 4 / 65535, -16384], // -32768 + 16383.75
      ['uint16', { symmetric: true }, 6 / 65534, 32767],
      ['int16', { symmetric: true }, 6 / 65534, 0],
      ['int16', { reduceRange: true }, 4 / 32768, -8192],
      ['uint4', {}, 4 / 15, 4], // 3.75
      ['int4', {}, 4 / 15, -4], // -4.25
      ['uint4', { symmetric: true }, 6 / 15, 8], // 7.5 -> 8
      ['int4', { symmetric: true }, 6 / 15, 0], // -0.5 -> 0
      ['uint4', { reduceRange: true }, 4 / 7, 2], // 1.75
      ['int4', { reduceRange: true, symmetric: true }, 6 / 7, 0], // -0.5 -> 0
    ];
    for (const [t, opts, s, z] of want) {
      const p = scaleZeroPoint(-1, 3, t, opts);
      assert.deepStrictEqual(p, { scale: f32(s), zeroPoint: z }, `${t} ${JSON.stringify(opts)}`);
    }
  });

  it('includes 0 in the range and rounds a zero point tie to even', () => {
    assert.deepStrictEqual(scaleZeroPoint(0.5, 2, 'uint8'), { scale: f32(2 / 255), zeroPoint: 0 });
    assert.deepStrictEqual(scaleZeroPoint(-2, -1, 'uint8'), { scale: f32(2 / 255), zeroPoint: 255 });
    assert.deepStrictEqual(scaleZeroPoint(-2, -1, 'int8'), { scale: f32(2 / 255), zeroPoint: 127 });
    // S = 1/16 exactly, -rmin / S = 2.5 and 3.5: ties go to 2 and 4 (Math.round: 3 and 4).
    assert.deepStrictEqual(scaleZeroPoint(-0.15625, 15.78125, 'uint8'), { scale: 0.0625, zeroPoint: 2 });
    assert.deepStrictEqual(scaleZeroPoint(-0.21875, 15.71875, 'uint8'), { scale: 0.0625, zeroPoint: 4 });
    // int8: -128 + 2.5 = -125.5 -> -126 (Math.round: -125).
    assert.deepStrictEqual(scaleZeroPoint(-0.15625, 15.78125, 'int8'), { scale: 0.0625, zeroPoint: -126 });
  });

  it('gives S = 1, Z = 0 for a tensor without range, symmetric uint8 included', () => {
    for (const t of QUANT_TYPES) {
      for (const opts of [{}, { symmetric: true }, { reduceRange: true }]) {
        assert.deepStrictEqual(scaleZeroPoint(0, 0, t, opts), { scale: 1, zeroPoint: 0 }, `${t} ${JSON.stringify(opts)}`);
      }
    }
    // Below the smallest normal float32 after dividing by qmax - qmin: 1e-36 / 255 < 1.17549435e-38.
    assert.deepStrictEqual(scaleZeroPoint(-1e-36, 0, 'uint8'), { scale: 1, zeroPoint: 0 });
    assert.deepStrictEqual(scaleZeroPoint(0, 1e-35, 'uint8'), { scale: f32(f32(1e-35) / 255), zeroPoint: 0 });
    // An all-zero tensor quantizes to Z and comes back as exact zeros.
    const p = scaleZeroPoint(0, 0, 'uint8');
    assert.deepStrictEqual(Array.from(quantizeValues(new Float32Array(3), p.scale, p.zeroPoint, 'uint8')), [0, 0, 0]);
    assert.deepStrictEqual(Array.from(dequantizeValues([0, 0, 0], p.scale, p.zeroPoint)), [0, 0, 0]);
  });

  it('honours a minimum real range', () => {
    assert.deepStrictEqual(scaleZeroPoint(0, 0, 'uint8', { minRealRange: 0.0001 }), { scale: f32(f32(0.0001) / 255), zeroPoint: 0 });
    assert.deepStrictEqual(scaleZeroPoint(-1, 3, 'uint8', { minRealRange: 0.5 }), scaleZeroPoint(-1, 3, 'uint8'));
    assert.deepStrictEqual(scaleZeroPoint(-1, 0, 'uint8', { minRealRange: 2 }), { scale: f32(2 / 255), zeroPoint: 128 }); // 127.5 -> 128
  });

  it('subtracts rmax - rmin in float32 and finds Z with the float64 scale, like the reference', () => {
    // 1 + 3 * 2^-25 is 1.0000000894 in float64 but 1 + 2^-23 in float32: the stored scales differ.
    const rmin = -3 * 2 ** -25;
    const exact = f32((1 - rmin) / 255);
    const p = scaleZeroPoint(rmin, 1, 'uint8');
    assert.strictEqual(f32(1 - rmin), 1 + 2 ** -23);
    assert.strictEqual(p.scale, f32((1 + 2 ** -23) / 255));
    assert.strictEqual(p.scale, 0.00392156932502985);
    assert.strictEqual(exact, 0.003921568859368563);
    assert.notStrictEqual(p.scale, exact);
    // Here -rmin / S is 69.50000019 with the float64 S but 69.49999989 with the float32 one.
    const q = scaleZeroPoint(-0.9355761408805847, 2.4971132278442383, 'uint8');
    assert.strictEqual(q.zeroPoint, 70);
    assert.strictEqual(Math.round(0.9355761408805847 / q.scale), 69, 'the float32 scale would give 69');
  });

  it('quantizes with ties to even and clamps to the full range, in every type', () => {
    // S = 0.5: x / S = 0.5, 1.5, -1.5, 2.5, 3.5, -2.5, then far out of range both ways.
    const x = new Float32Array([0.25, 0.75, -0.75, 1.25, 1.75, -1.25, 1e6, -1e6, 0]);
    const want: Record<QuantType, [number, number[]]> = {
      uint8: [10, [10, 12, 8, 12, 14, 8, 255, 0, 10]],
      int8: [0, [0, 2, -2, 2, 4, -2, 127, -128, 0]],
      uint16: [30000, [30000, 30002, 29998, 30002, 30004, 29998, 65535, 0, 30000]],
      int16: [-5, [-5, -3, -7, -3, -1, -7, 32767, -32768, -5]],
      uint4: [3, [3, 5, 1, 5, 7, 1, 15, 0, 3]],
      int4: [0, [0, 2, -2, 2, 4, -2, 7, -8, 0]],
    };
    const arrays: Record<QuantType, string> = {
      uint8: 'Uint8Array',
      int8: 'Int8Array',
      uint16: 'Uint16Array',
      int16: 'Int16Array',
      uint4: 'Uint8Array',
      int4: 'Int8Array',
    };
    for (const t of QUANT_TYPES) {
      const [z, q] = want[t];
      const got = quantizeValues(x, 0.5, z, t);
      assert.strictEqual(got.constructor.name, arrays[t], t);
      assert.deepStrictEqual(Array.from(got), q, t);
    }
    // Symmetric clamping still uses the full range: -128 is reachable in int8.
    assert.deepStrictEqual(Array.from(quantizeValues([-1.1, 1.1], 1 / 127, 0, 'int8')), [-128, 127]);
    // NaN maps to the zero point; `out` is filled in place.
    const out = new Uint8Array(2);
    assert.strictEqual(quantizeValues([NaN, 1], 0.5, 7, 'uint8', out), out);
    assert.deepStrictEqual(Array.from(out), [7, 9]);
    assert.throws(() => quantizeValues([1, 2, 3], 1, 0, 'uint8', new Uint8Array(2)), /2 values, 3 needed/);
  });

  it('divides x / S in float32, where ties land differently than in float64', () => {
    const s = f32(0.1);
    // 0.35 / 0.1 is 3.4999999 in float64 (-> 3) but exactly 3.5 in float32 (-> 4);
    // 0.85 / 0.1 is 8.5000001 in float64 (-> 9) but 8.5 in float32 (-> 8).
    assert.ok(f32(0.35) / s < 3.5 && f32(0.85) / s > 8.5);
    assert.deepStrictEqual(Array.from(quantizeValues(new Float32Array([0.35, 0.85]), s, 0, 'int8')), [4, 8]);
  });

  it('dequantizes (q - Z) * S rounded once to float32', () => {
    assert.deepStrictEqual(Array.from(dequantizeValues(new Uint8Array([0, 10, 255]), 0.5, 10)), [-5, 0, 122.5]);
    // 3 * float32(0.1) is 0.30000000447 in float64; stored as float32 it is 0.30000001192.
    const got = dequantizeValues(new Int8Array([3, -128]), 0.1, 0);
    assert.strictEqual(got[0], 0.30000001192092896);
    assert.strictEqual(got[1], f32(-128 * f32(0.1)));
    assert.deepStrictEqual(Array.from(dequantizeValues(new Int8Array([-8, 7]), 0.25, -1)), [-1.75, 2]);
  });

  it('picks the per-channel axis of each op', () => {
    assert.strictEqual(weightAxis('Conv'), 0);
    assert.strictEqual(weightAxis('ConvTranspose'), 1);
    assert.strictEqual(weightAxis('Gemm', { transB: true }), 0);
    assert.strictEqual(weightAxis('Gemm', { transB: 1 }), 0);
    assert.strictEqual(weightAxis('Gemm', { transB: 0 }), 1);
    assert.strictEqual(weightAxis('Gemm'), 1);
    assert.strictEqual(weightAxis('MatMul'), 1);
    assert.throws(() => weightAxis('Add'), /no per-channel weight axis is defined for Add/);
  });

  it('quantizes per channel along the given axis', () => {
    // Conv weight [3, 1, 2, 2], int8 symmetric per output channel; channel 1 is all zero.
    const w = new Float32Array([-1.27, 0.5, 0.635, 1.0, 0, 0, 0, 0, 0.25, -0.125, 0.0625, 0.2]);
    const p = perChannelParams(w, [3, 1, 2, 2], weightAxis('Conv'), 'int8', { symmetric: true });
    // Channel 0: a = 1.27, S = 2a / 254; channel 1: no range, S = 1; channel 2: a = 0.25.
    assert.deepStrictEqual(Array.from(p.scales), [f32(f32(1.27) / 127), 1, f32(0.25 / 127)]);
    assert.strictEqual(p.scales[0], f32(0.01));
    assert.deepStrictEqual(Array.from(p.zeroPoints), [0, 0, 0]);
    const q = quantizePerChannel(w, [3, 1, 2, 2], 0, p.scales, p.zeroPoints, 'int8');
    assert.ok(q instanceof Int8Array);
    // 0.635 / S and -0.125 / S are exact float32 ties (63.5, -63.5): both go to the even 64, -64.
    // 0.2 / S = 101.6 -> 102.
    assert.deepStrictEqual(Array.from(q), [-127, 50, 64, 100, 0, 0, 0, 0, 127, -64, 32, 102]);
    // MatMul B [2, 3] per column (axis 1), uint8 asymmetric.
    const b = new Float32Array([1, -2, 0.5, 3, 2, 1.5]);
    const pc = perChannelParams(b, [2, 3], weightAxis('MatMul'), 'uint8');
    assert.deepStrictEqual(Array.from(pc.scales), [f32(3 / 255), f32(4 / 255), f32(1.5 / 255)]);
    // Column 1: Z = round(2 / (4/255)) = round(127.5) = 128. Its float32 scale is a little above
    // 4/255, so -2 / S = -127.499992 -> -127 (+ 128 = 1) and 2 / S -> 127 (+ 128 = 255).
    assert.deepStrictEqual(Array.from(pc.zeroPoints), [0, 128, 0]);
    const qc = quantizePerChannel(b, [2, 3], -1, pc.scales, pc.zeroPoints, 'uint8');
    assert.deepStrictEqual(Array.from(qc), [85, 1, 85, 255, 255, 255]);
    assert.throws(() => perChannelParams(b, [2, 3], 2, 'uint8'), /axis 2 is outside a tensor of rank 2/);
    assert.throws(() => quantizePerChannel(b, [2, 3], 0, pc.scales, pc.zeroPoints, 'uint8'), /2 channels on axis 0, but 3 scales/);
    assert.throws(() => perChannelParams(b, [4, 3], 0, 'uint8'), /6 values given for shape \[4, 3\]/);
  });

  it('quantizes 4-bit blocks symmetrically as MLAS does: S = -m / 8, q = roundf(x / S + 8)', () => {
    // B[20, 1], block size 16: two blocks, the second padded with 12 zeros (0 in the packed bytes).
    const B = new Float32Array(20);
    B.set([-4, 3.5, 0.25, 0.75, -0.75, 1.25, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0.5]);
    B.set([1, -0.875, 0.0625, 0.1875], 16);
    const r = blockQuantize(B, 20, 1, { bits: 4, blockSize: 16, symmetric: true });
    assert.strictEqual(r.kBlocks, 2);
    // Block 0: m = -4 (the negative wins a tie of magnitude), S = 0.5, 1/S = 2. x * 2 + 8 = 0, 15,
    // 8.5 -> 9 (ties away from zero), 9.5 -> 10, 6.5 -> 7, 10.5 -> 11, 16 -> 15, 8 ..., 9.
    // Block 1: m = 1, S = -0.125, 1/S = -8: 0, 15, 7.5 -> 8, 6.5 -> 7.
    assert.deepStrictEqual(Array.from(r.scales), [0.5, -0.125]);
    const p = packMatMulNBits(r);
    assert.strictEqual(p.zeroPoints, undefined);
    const nibbles = (bytes: Uint8Array) => Array.from(bytes).flatMap((v) => [v & 0xf, v >> 4]);
    assert.deepStrictEqual(nibbles(p.data), [0, 15, 9, 10, 7, 11, 15, 8, 8, 8, 8, 8, 8, 8, 8, 9, 0, 15, 8, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert.strictEqual(p.data[0], 0xf0, 'element 0 in the low nibble, element 1 in the high one');
    const back = blockDequantize(r);
    assert.deepStrictEqual(Array.from(back.subarray(0, 7)), [-4, 3.5, 0.5, 1, -0.5, 1.5, 3.5]);
    assert.deepStrictEqual(Array.from(back.subarray(16)), [1, -0.875, 0, 0.125]);
  });

  it('quantizes 4-bit blocks asymmetrically with packed zero points, and a zero block exactly', () => {
    // B[48, 2], block size 16: three blocks per column, so each column's zero points take two
    // bytes (the last nibble is padding).
    const K = 48;
    const N = 2;
    const B = new Float32Array(K * N);
    const set = (k: number, n: number, v: number) => {
      B[k * N + n] = v;
    };
    // Column 0, block 0 in [0.5, 3]: 0 is included, S = 3 / 15 = 0.2, Z = 0.
    set(0, 0, 0.5);
    set(1, 0, 3);
    set(2, 0, 1);
    // Column 0, block 1 in [-1, 2]: S = 0.2, Z = roundf(5) = 5.
    set(16, 0, -1);
    set(17, 0, 2);
    set(18, 0, 0.5);
    // Column 0, block 2 all zero: S = 0, Z = 0, every value 0.
    // Column 1, block 0 in [-3, -1.5]: [-3, 0], S = 0.2, Z = 15.
    set(0, 1, -3);
    set(1, 1, -1.5);
    // Column 1, blocks 1 and 2 in [-0.75, 0.75]: S = 0.1, Z = roundf(7.5) = 8 (away from zero).
    set(16, 1, -0.75);
    set(17, 1, 0.75);
    set(32, 1, 0.75);
    set(33, 1, -0.75);
    const r = blockQuantize(B, K, N, { bits: 4, blockSize: 16, symmetric: false });
    assert.deepStrictEqual(Array.from(r.scales), [f32(0.2), f32(0.2), 0, f32(0.2), f32(0.1), f32(0.1)]);
    const p = packMatMulNBits(r);
    assert.deepStrictEqual(Array.from(p.zeroPoints!), [(5 << 4) | 0, 0, (8 << 4) | 15, 8]);
    const q = (n: number, k: number) => (p.data[n * 24 + (k >> 1)] >> ((k & 1) * 4)) & 0xf;
    // 1 / fround(0.2) = 5 in float32: 0.5 * 5 = 2.5 -> 3 (roundf), 3 * 5 = 15, 1 * 5 = 5.
    assert.deepStrictEqual([q(0, 0), q(0, 1), q(0, 2), q(0, 3)], [3, 15, 5, 0]);
    assert.deepStrictEqual([q(0, 16), q(0, 17), q(0, 18), q(0, 19)], [0, 15, 8, 5]); // 2.5 + 5 -> 8
    assert.deepStrictEqual([q(0, 32), q(0, 47)], [0, 0]);
    assert.deepStrictEqual([q(1, 0), q(1, 1), q(1, 2)], [0, 8, 15]); // -7.5 + 15 = 7.5 -> 8; 0 -> Z
    // 1 / fround(0.1) = 10: -7.5 + 8 = 0.5 -> 1 (away from zero), 7.5 + 8 -> 16 -> 15.
    assert.deepStrictEqual([q(1, 16), q(1, 17), q(1, 32), q(1, 33)], [1, 15, 15, 1]);
    const back = blockDequantize(r);
    assert.strictEqual(back[32 * N], 0);
    assert.strictEqual(back[2 * N + 1], 0);
  });

  it('refuses block sizes MatMulNBits does not take', () => {
    const B = new Float32Array(32);
    for (const bs of [8, 24, 512])
      assert.throws(() => blockQuantize(B, 32, 1, { bits: 4, blockSize: bs, symmetric: true }), /not a power of two from 16 to 256/);
    assert.throws(() => blockQuantize(B, 16, 1, { bits: 4, blockSize: 16, symmetric: true }), /32 values given for B\[16, 1\]/);
  });

  it('quantizes bias to int32 with S_in * S_w * beta', () => {
    // S_bias = 0.5 * [0.5, 1, 2] = [0.25, 0.5, 1]; 0.625 / 0.25 = 2.5 -> 2.
    const b = quantizeBias(new Float32Array([0.625, -2.5, 1000]), 0.5, new Float32Array([0.5, 1, 2]));
    assert.deepStrictEqual(Array.from(b.values), [2, -5, 1000]);
    assert.deepStrictEqual(Array.from(b.scales), [0.25, 0.5, 1]);
    assert.deepStrictEqual(b.overflow, []);
    assert.strictEqual(b.adjustWeightScale, undefined);
    // Per tensor, with Gemm's beta.
    const g = quantizeBias(new Float32Array([1, -1.5]), 0.25, [1], 2);
    assert.deepStrictEqual(Array.from(g.scales), [0.5]);
    assert.deepStrictEqual(Array.from(g.values), [2, -3]); // -1.5 / 0.5 = -3
    // The scale product is taken in float64 and stored as float32.
    const si = f32(0.1);
    const sw = f32(0.3);
    const p = quantizeBias(new Float32Array([1]), si, [sw]);
    assert.strictEqual(p.scales[0], f32(si * sw));
    assert.strictEqual(p.values[0], roundHalfEven(f32(1) / (si * sw)));
    assert.throws(() => quantizeBias(new Float32Array(3), 0.1, [1, 2]), /2 weight scales for 3 bias values/);
    assert.throws(() => quantizeBias(new Float32Array(1), 0, [1]), /input scale 0 is not a positive number/);
  });

  it('reports int32 bias overflow and the weight scale that avoids it', () => {
    const bias = new Float32Array([1e6, 0.5, -3e6]);
    const ws = new Float32Array([1e-4, 1e-4, 2e-4]);
    const r = quantizeBias(bias, 1e-4, ws);
    // 1e6 / 1e-8 = 1e14 and -3e6 / 2e-8 = -1.5e14: both clamped.
    assert.deepStrictEqual(r.overflow, [0, 2]);
    assert.strictEqual(r.values[0], 2147483647);
    assert.strictEqual(r.values[1], roundHalfEven(f32(0.5) / (1e-4 * f32(1e-4))));
    assert.strictEqual(r.values[2], -2147483648);
    const adj = r.adjustWeightScale!;
    assert.strictEqual(adj[1], ws[1], 'a channel that fits keeps its scale');
    assert.ok(adj[0] > ws[0] && adj[2] > ws[2]);
    // With the suggested scales every value fits, with little room to spare.
    const again = quantizeBias(bias, 1e-4, adj);
    assert.deepStrictEqual(again.overflow, []);
    assert.ok(Math.abs(again.values[0]) > 2147000000 && Math.abs(again.values[2]) > 2147000000);
    // Per tensor: one suggested scale, enough for the largest value.
    const t = quantizeBias(bias, 1e-4, [1e-4]);
    assert.deepStrictEqual(t.overflow, [0, 2]);
    assert.strictEqual(t.adjustWeightScale!.length, 1);
    assert.deepStrictEqual(quantizeBias(bias, 1e-4, t.adjustWeightScale!).overflow, []);
  });
});

// ---------------------------------------------------------------------------------------------
// onnxruntime's kernels on the same data.

async function runModel(
  g: GraphBuilder,
  opset: number,
  feeds: Record<string, ort.Tensor> = {},
  opsets?: Record<string, number>,
): Promise<ort.InferenceSession.ReturnType> {
  const model = decodeModel(modelBytes(g, { opset, irVersion: opset >= 21 ? 10 : 8, opsets }));
  const session = await createSession(model);
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

const ARRAY_OF: Record<QuantType, (v: ArrayLike<number>) => QuantArray> = {
  uint8: (v) => Uint8Array.from(v),
  int8: (v) => Int8Array.from(v),
  uint16: (v) => Uint16Array.from(v),
  int16: (v) => Int16Array.from(v),
  uint4: (v) => Uint8Array.from(v),
  int4: (v) => Int8Array.from(v),
};

/** Opset with native QuantizeLinear/DequantizeLinear support for the type. */
const opsetFor = (t: QuantType) => (quantTypeInfo(t).bits === 8 ? 13 : 21);

/** Runs QuantizeLinear on `x` (per tensor, or per axis) and returns the integers. onnxruntime-node
 *  cannot hand back 4-bit tensors (it aborts the process), so those pass through a Cast to int32. */
async function ortQuantize(
  x: Float32Array,
  dims: number[],
  scale: ArrayLike<number>,
  zp: ArrayLike<number>,
  type: QuantType,
  axis?: number,
): Promise<number[]> {
  const { dataType, bits } = quantTypeInfo(type);
  const pdims = axis === undefined ? [] : [scale.length];
  const g = new GraphBuilder('q')
    .input('x', DataType.FLOAT, dims)
    .initializer('s', DataType.FLOAT, pdims, Float32Array.from(scale))
    .initializer('z', dataType, pdims, ARRAY_OF[type](zp))
    .node('QuantizeLinear', ['x', 's', 'z'], ['q'], axis === undefined ? {} : { axis });
  if (bits === 4) g.node('Cast', ['q'], ['y'], { to: DataType.INT32 }).output('y', DataType.INT32, dims);
  else g.node('Identity', ['q'], ['y']).output('y', dataType, dims);
  const r = await runModel(g, opsetFor(type), { x: new ort.Tensor('float32', x, dims) });
  return Array.from(r.y.data as ArrayLike<number>);
}

/** Runs DequantizeLinear over integer values held as an initializer. */
async function ortDequantize(
  q: QuantArray,
  dims: number[],
  scale: ArrayLike<number>,
  zp: ArrayLike<number>,
  type: QuantType,
  axis?: number,
): Promise<Float32Array> {
  const { dataType } = quantTypeInfo(type);
  const pdims = axis === undefined ? [] : [scale.length];
  const g = new GraphBuilder('dq')
    .input('unused', DataType.FLOAT, [1])
    .initializer('q', dataType, dims, q)
    .initializer('s', DataType.FLOAT, pdims, Float32Array.from(scale))
    .initializer('z', dataType, pdims, ARRAY_OF[type](zp))
    .node('DequantizeLinear', ['q', 's', 'z'], ['y'], axis === undefined ? {} : { axis })
    .node('Identity', ['unused'], ['unused_out'])
    .output('y', DataType.FLOAT, dims)
    .output('unused_out', DataType.FLOAT, [1]);
  const r = await runModel(g, opsetFor(type), { unused: new ort.Tensor('float32', new Float32Array(1), [1]) });
  return r.y.data as Float32Array;
}

/** Seeded values over [lo, hi] (a little beyond, so some clamp), then exact ties k*S + S/2. */
function testValues(seed: number, count: number, lo: number, hi: number): Float32Array {
  const rnd = seededRandom(seed);
  const x = new Float32Array(count);
  const span = hi - lo;
  for (let i = 0; i < count; i++) x[i] = lo - 0.05 * span + rnd() * 1.1 * span;
  return x;
}

function withTies(x: Float32Array, scale: number, zeroPoint: number, type: QuantType, seed: number, count: number): { values: Float32Array; ties: number } {
  const { fullMin, fullMax } = quantTypeInfo(type);
  const rnd = seededRandom(seed);
  const out = new Float32Array(x.length + count);
  out.set(x);
  let ties = 0;
  for (let i = 0; i < count; i++) {
    const k = fullMin - zeroPoint + Math.floor(rnd() * (fullMax - fullMin));
    const v = f32(k * scale + scale / 2);
    out[x.length + i] = v;
    if (f32(v / scale) === k + 0.5) ties++;
  }
  return { values: out, ties };
}

describe('quantization scheme: bit-exact against onnxruntime', function () {
  this.timeout(60000);

  for (const type of QUANT_TYPES) {
    for (const symmetric of [false, true]) {
      it(`QuantizeLinear per tensor, ${type}${symmetric ? ' symmetric' : ''}`, async () => {
        const data = testValues(11 + type.length, 3000, -1.3, 2.6);
        let lo = Infinity;
        let hi = -Infinity;
        for (const v of data) {
          lo = Math.min(lo, v);
          hi = Math.max(hi, v);
        }
        const p = scaleZeroPoint(lo * 0.9, hi * 0.9, type, { symmetric });
        const { values, ties } = withTies(data, p.scale, p.zeroPoint, type, 5, 1000);
        // Some k + 0.5 are not exact in float32 for a scale like this; most are.
        assert.ok(ties > 300, `only ${ties} exact ties`);
        const ours = quantizeValues(values, p.scale, p.zeroPoint, type);
        const theirs = await ortQuantize(values, [values.length], [p.scale], [p.zeroPoint], type);
        assertSameInts(ours, theirs, `${type} quantized`);
        // Ties at a power-of-two scale are all exact; every one must land where ORT's does.
        const exact = withTies(new Float32Array(0), 2 ** -6, p.zeroPoint, type, 9, 2000);
        assert.strictEqual(exact.ties, 2000);
        assertSameInts(
          quantizeValues(exact.values, 2 ** -6, p.zeroPoint, type),
          await ortQuantize(exact.values, [2000], [2 ** -6], [p.zeroPoint], type),
          `${type} exact ties`,
        );
      });
    }

    it(`QuantizeLinear per axis, ${type}`, async () => {
      const dims = [3, 5, 200];
      const w = testValues(23, 3000, -0.8, 0.5);
      for (let i = 1000; i < 2000; i++) w[i] *= 3; // channel 1 wider
      w.fill(0, 2000, 2200); // part of channel 2 zero
      const p = perChannelParams(w, dims, 0, type, { symmetric: quantTypeInfo(type).signed });
      const ours = quantizePerChannel(w, dims, 0, p.scales, p.zeroPoints, type);
      assertSameInts(ours, await ortQuantize(w, dims, p.scales, p.zeroPoints, type, 0), `${type} axis 0`);
      const p1 = perChannelParams(w, dims, 1, type, {});
      const ours1 = quantizePerChannel(w, dims, 1, p1.scales, p1.zeroPoints, type);
      assertSameInts(ours1, await ortQuantize(w, dims, p1.scales, p1.zeroPoints, type, 1), `${type} axis 1`);
    });

    it(`DequantizeLinear per tensor and per axis, ${type}`, async () => {
      const { fullMin, fullMax } = quantTypeInfo(type);
      const rnd = seededRandom(31);
      const n = 3000;
      const q = ARRAY_OF[type](Array.from({ length: n }, (_, i) => (i < 2 ? [fullMin, fullMax][i] : fullMin + Math.floor(rnd() * (fullMax - fullMin + 1)))));
      const z = fullMin + Math.floor((fullMax - fullMin) / 3);
      for (const s of [f32(0.1), f32(0.0123456), f32(3.3e-5)]) {
        assertSameBits(dequantizeValues(q, s, z), await ortDequantize(q, [n], [s], [z], type), `${type} S=${s}`);
      }
      const dims = [4, 750];
      const scales = new Float32Array([f32(0.1), f32(0.07), f32(1.7e-3), 1]);
      const zps = [z, fullMin, fullMax, 0];
      const ours = new Float32Array(n);
      for (let c = 0; c < 4; c++) ours.set(dequantizeValues(q.subarray(c * 750, (c + 1) * 750), scales[c], zps[c]), c * 750);
      assertSameBits(ours, await ortDequantize(q, dims, scales, zps, type, 0), `${type} per axis`);
    });
  }

  it('QuantizeLinear divides in float32: where float64 would round differently, ORT agrees with us', async () => {
    // (k + 0.5) * 0.1 in float32, divided by float32(0.1): often an exact float32 tie whose
    // float64 quotient lies just off it.
    const s = f32(0.1);
    for (const type of ['int8', 'int16', 'int4'] as QuantType[]) {
      const { fullMin, fullMax } = quantTypeInfo(type);
      const x = Float32Array.from({ length: fullMax - fullMin }, (_, i) => (fullMin + i + 0.5) * s);
      const ours = quantizeValues(x, s, 0, type);
      let differs = 0;
      for (let i = 0; i < x.length; i++) if (ours[i] !== Math.max(fullMin, Math.min(fullMax, roundHalfEven(x[i] / s)))) differs++;
      assert.ok(differs >= Math.min(5, x.length / 4), `${type}: only ${differs} values where float64 division would differ`);
      assertSameInts(ours, await ortQuantize(x, [x.length], [s], [0], type), type);
    }
  });

  for (const symmetric of [true, false]) {
    for (const [K, N, blockSize] of [
      [40, 12, 16],
      [64, 7, 32],
      [256, 5, 128],
    ]) {
      it(`MatMulNBits reads our ${symmetric ? 'symmetric' : 'asymmetric'} 4-bit blocks (K=${K}, N=${N}, block ${blockSize})`, async () => {
        const rnd = seededRandom(K * N + blockSize);
        const B = Float32Array.from({ length: K * N }, () => (rnd() - 0.3) * 2);
        for (let n = 0; n < N; n++) B[(K - 1) * N + n] = 0; // the last row 0, for a zero last block when K is a multiple
        const r = blockQuantize(B, K, N, { bits: 4, blockSize, symmetric });
        const p = packMatMulNBits(r);
        const deq = blockDequantize(r);
        const matMulNBits = (rows: number) => {
          const g = new GraphBuilder('mnb')
            .input('a', DataType.FLOAT, [rows, K])
            .initializer('b', DataType.UINT8, [N, r.kBlocks, blockSize / 2], p.data)
            .initializer('s', DataType.FLOAT, [N * r.kBlocks], r.scales);
          const inputs = ['a', 'b', 's'];
          if (p.zeroPoints) {
            g.initializer('z', DataType.UINT8, [p.zeroPoints.length], p.zeroPoints);
            inputs.push('z');
          }
          return g
            .node('MatMulNBits', inputs, ['y'], { K, N, bits: 4, block_size: blockSize }, { domain: 'com.microsoft' })
            .output('y', DataType.FLOAT, [rows, N]);
        };
        // A = identity: Y is exactly the dequantized B as MatMulNBits sees it.
        const eye = new Float32Array(K * K);
        for (let k = 0; k < K; k++) eye[k * K + k] = 1;
        const y = await runModel(matMulNBits(K), 21, { a: new ort.Tensor('float32', eye, [K, K]) }, { 'com.microsoft': 1 });
        assertSameBits(y.y.data as Float32Array, deq, 'dequantized B', true);
        // Random A against a float MatMul of the dequantized weights (summation order may differ).
        const M = 3;
        const a = Float32Array.from({ length: M * K }, () => rnd() * 2 - 1);
        const yq = (await runModel(matMulNBits(M), 21, { a: new ort.Tensor('float32', a, [M, K]) }, { 'com.microsoft': 1 })).y.data as Float32Array;
        const gm = new GraphBuilder('mm')
          .input('a', DataType.FLOAT, [M, K])
          .initializer('b', DataType.FLOAT, [K, N], deq)
          .node('MatMul', ['a', 'b'], ['y'])
          .output('y', DataType.FLOAT, [M, N]);
        const yf = (await runModel(gm, 13, { a: new ort.Tensor('float32', a, [M, K]) })).y.data as Float32Array;
        for (let i = 0; i < M * N; i++) assert.ok(Math.abs(yq[i] - yf[i]) <= 1e-4 * (1 + Math.abs(yf[i])), `y[${i}] ${yq[i]} vs ${yf[i]}`);
        // And the quantization error is what 4 bits allow: within half a step of each block.
        for (let n = 0; n < N; n++) {
          for (let k = 0; k < K; k++) {
            const s = Math.abs(r.scales[n * r.kBlocks + Math.floor(k / blockSize)]);
            const err = Math.abs(deq[k * N + n] - B[k * N + n]);
            assert.ok(err <= s * 0.5 * (1 + 1e-5) || (symmetric && err <= s * (1 + 1e-5)), `B[${k}, ${n}] error ${err} with step ${s}`);
          }
        }
      });
    }
  }
});

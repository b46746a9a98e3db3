// Weight-only block quantization end to end with the real onnxruntime-node: MatMul, Gemm and
// Gather rewritten to MatMulNBits / blocked DequantizeLinear / GatherBlockQuantized, every output
// loaded and run and compared with x @ dequant(B) computed here from the quantized weight, the
// packing re-derived independently, and the refusals (docs/quantization.md, section 10).
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { blockDequantize, blockQuantize, packMatMulNBits } from '../../src/core/quant/blockScheme';
import { quantizeModel } from '../../src/core/quant/pipeline';
import { resolveSettings } from '../../src/core/quant/settings';
import { DataType } from '../../src/core/onnx/dataTypes';
import { readTensor, tensorDims } from '../../src/core/onnx/tensor';
import { int64ToNumber } from '../../src/core/onnx/types';
import { seededRandom } from '../../src/core/random';
import { parseQuantResult, type QuantSettings } from '../../src/shared/quantResult';
import type { BlockQuantizedWeight } from '../../src/core/quant/weightOnly/types';
import { GraphBuilder, float, modelBytes } from '../fixtures/builder';
import { TempDirs, ort, readModelSync, runOrt } from '../support/helpers';

const K = 80; // not a multiple of 32: the last block is padded
const N = 24;
const M = 3;

function randomValues(seed: number, n: number, spread = 1): Float32Array {
  const rnd = seededRandom(seed);
  return Float32Array.from({ length: n }, () => (rnd() * 2 - 1) * spread);
}

/** y = x[M, K] @ B[K, N], in float64 (the kernels sum in float32: compared with a tolerance). */
function matmul(x: Float32Array, B: Float32Array, m: number, k: number, n: number): Float64Array {
  const y = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let kk = 0; kk < k; kk++) for (let j = 0; j < n; j++) y[i * n + j] += x[i * k + kk] * B[kk * n + j];
  return y;
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, tol = 1e-4): void {
  assert.strictEqual(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tol * (1 + Math.abs(expected[i])), `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

function transpose(v: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(v.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = v[r * cols + c];
  return out;
}

/** The packed bytes derived another way: value by value into a bit string per column. */
function packIndependently(w: BlockQuantizedWeight): Uint8Array {
  const blob = (w.blockSize * w.bits) / 8;
  const out: number[] = [];
  for (let n = 0; n < w.N; n++) {
    const bits: number[] = [];
    for (let k = 0; k < w.kBlocks * w.blockSize; k++) {
      const v = k < w.K ? w.q[n * w.kBlocks * w.blockSize + k] : 0;
      for (let b = 0; b < w.bits; b++) bits.push((v >> b) & 1);
    }
    for (let i = 0; i < w.kBlocks * blob; i++) {
      let byte = 0;
      for (let b = 0; b < 8; b++) byte |= bits[i * 8 + b] << b;
      out.push(byte);
    }
  }
  return Uint8Array.from(out);
}

describe('weight-only block quantization', function () {
  this.timeout(300000);
  const temp = new TempDirs('weight-only-');
  let dir: string;
  const W = randomValues(1, K * N, 0.5);
  const x = randomValues(2, M * K);

  before(() => {
    dir = temp.make();
    const g = new GraphBuilder('mm')
      .input('x', DataType.FLOAT, [M, K])
      .initializer('W', DataType.FLOAT, [K, N], W)
      .node('MatMul', ['x', 'W'], ['y'], {}, { name: 'fc' });
    fs.writeFileSync(path.join(dir, 'mm.onnx'), modelBytes(g.output('y', DataType.FLOAT, [M, N]), { opset: 13 }));
  });
  after(() => temp.cleanup());

  const run = async (file: string, feeds: Record<string, ort.Tensor>) => runOrt(file, feeds);
  /** Without graph optimizations: onnxruntime would fuse DequantizeLinear + MatMul into MatMulNBits
   *  with int8 activations (session.qdq_matmulnbits_accuracy_level, 4 by default). */
  const runUnoptimized = async (file: string, feeds: Record<string, ort.Tensor>) => {
    const session = await ort.InferenceSession.create(file, { graphOptimizationLevel: 'disabled' });
    try {
      return (await session.run(feeds)).y.data as Float32Array;
    } finally {
      await session.release();
    }
  };
  const settings = (s: Partial<QuantSettings>) => resolveSettings({ mode: 'weight-only', ...s });

  for (const format of ['matmulnbits', 'dequantize-linear'] as const) {
    for (const bits of [4, 8] as const) {
      for (const symmetric of [false, true]) {
        it(`${format}, ${bits} bits, ${symmetric ? 'symmetric' : 'asymmetric'}: runs and computes x @ dequant(B)`, async () => {
          const out = path.join(dir, `mm.${format}.${bits}.${symmetric}.onnx`);
          const s = settings({ bits, symmetricWeights: symmetric, weightOnlyFormat: format, accuracyLevel: format === 'matmulnbits' ? 1 : 0 });
          const r = await quantizeModel(path.join(dir, 'mm.onnx'), s, { output: out });
          const w = blockQuantize(W, K, N, { bits, blockSize: 32, symmetric });
          const feeds = { x: new ort.Tensor('float32', x, [M, K]) };
          const expected = matmul(x, blockDequantize(w), M, K, N);
          assertClose(await runUnoptimized(out, feeds), expected, 'y');
          // Optimized, the blocked DequantizeLinear + MatMul is fused to MatMulNBits with int8 activations.
          assertClose((await run(out, feeds)).y.data as number[], expected, 'y', format === 'matmulnbits' ? 1e-4 : 3e-2);
          const model = readModelSync(out);
          const ops = model.proto.graph!.node.map((n) => n.op_type);
          const type = `${symmetric ? 'int' : 'uint'}${bits}`;
          assert.deepStrictEqual(
            r.tensors.map((t) => [t.tensor, t.kind, t.type, t.axis]),
            [['W', 'weight', type, 0]],
          );
          assert.strictEqual(r.nodes.length, 1);
          assert.ok(r.nodes[0].quantized);
          assert.match(r.nodes[0].reason, new RegExp(`${bits} bits, blocks of 32, ${symmetric ? 'symmetric' : 'asymmetric'}, rtn, K = 80 padded to 96`));
          assert.strictEqual(r.weightErrors!.length, 1);
          assert.strictEqual(r.weightErrors![0].blocks, N * 3);
          assert.ok(r.weightErrors![0].sqnrDb > (bits === 4 ? 15 : 35), `SQNR ${r.weightErrors![0].sqnrDb}`);
          assert.match(r.verification.note, /loads and runs on a calibration batch; output SQNR vs float: y \d+\.\d dB/);
          assert.strictEqual(r.fusion, null);
          assert.ok(!model.proto.graph!.initializer.some((t) => t.name === 'W'), 'the float weight is gone');
          const init = (name: string) => model.proto.graph!.initializer.find((t) => t.name === name)!;
          if (format === 'matmulnbits') {
            assert.deepStrictEqual(ops, ['MatMulNBits']);
            const node = model.proto.graph!.node[0];
            const attrs = Object.fromEntries(node.attribute.map((a) => [a.name, int64ToNumber(a.i!)]));
            assert.deepStrictEqual(attrs, { K, N, bits, block_size: 32, accuracy_level: 1 });
            const packed = readTensor(init(`W_Q${bits}`)).values as Uint8Array;
            assert.deepStrictEqual(tensorDims(init(`W_Q${bits}`)), [N, 3, (32 * bits) / 8]);
            assert.deepStrictEqual(Array.from(packed), Array.from(packIndependently(w)));
            assert.deepStrictEqual(r.quantizedNames, { [`W_Q${bits}`]: 'W' });
            assert.strictEqual(node.input.length, symmetric ? 3 : 4);
          } else {
            assert.deepStrictEqual(ops, ['DequantizeLinear', 'MatMul']);
            assert.strictEqual(int64ToNumber(model.proto.opset_import.find((o) => !o.domain)!.version), 21);
            assert.ok(
              r.warnings.some((m) => /opset 13 was raised to 21/.test(m)),
              r.warnings.join('; '),
            );
            assert.ok(
              r.warnings.some((m) => /fuses each blocked DequantizeLinear \+ MatMul into MatMulNBits/.test(m)),
              r.warnings.join('; '),
            );
            const q = init(`W_DQ_Q${bits}`);
            assert.strictEqual(q.data_type, { int4: DataType.INT4, uint4: DataType.UINT4, int8: DataType.INT8, uint8: DataType.UINT8 }[type]);
            assert.deepStrictEqual(tensorDims(q), [K, N]);
          }
          const json = JSON.parse(fs.readFileSync(out.replace(/\.onnx$/, '.quant.json'), 'utf8')) as { weightErrors: Array<Record<string, unknown>> };
          const saved = parseQuantResult(json);
          assert.deepStrictEqual(saved.weightErrors, r.weightErrors);
          json.weightErrors[0].maxRelative = 'big';
          assert.throws(() => parseQuantResult(json, 'r.json'), /r\.json: invalid quant result: .*weightErrors\[0\]\.maxRelative/);
          assert.deepStrictEqual(saved.settings, { ...s, executionProvider: 'cpu' });
        });
      }
    }
  }

  it('packs 8-bit blocks as onnxruntime does: one per byte, roundf(x / S + Z), byte zero points', () => {
    // One column, K = 16: range [-1, 3] -> S = 4 / 255, Z = roundf(63.75) = 64; 1 / S in float32.
    const B = Float32Array.from([-1, 3, 0, 1, 0.5, -0.5, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    const w = blockQuantize(B, 16, 1, { bits: 8, blockSize: 16, symmetric: false });
    const S = Math.fround(Math.fround(4) / 255);
    const r = Math.fround(1 / S);
    assert.strictEqual(w.scales[0], S);
    assert.strictEqual(w.zeroPoints[0], 64);
    const expected = Array.from(B, (v) => {
      const t = Math.fround(Math.fround(v * r) + 64);
      return Math.min(255, Math.max(0, t < 0 ? -Math.floor(-t + 0.5) : Math.floor(t + 0.5)));
    });
    assert.deepStrictEqual(Array.from(expected.slice(0, 4)), [0, 255, 64, 128]);
    const p = packMatMulNBits(w);
    assert.deepStrictEqual(Array.from(p.data), expected);
    assert.deepStrictEqual(Array.from(p.zeroPoints!), [64]);
    // Symmetric 8-bit: m = 3, S = -3 / 128, Z = 128 implicit.
    const s = blockQuantize(B, 16, 1, { bits: 8, blockSize: 16, symmetric: true });
    assert.strictEqual(s.scales[0], Math.fround(-3 / 128));
    assert.deepStrictEqual(Array.from(packMatMulNBits(s).data.slice(0, 3)), [171, 0, 128]); // -1 * -42.67 + 128 = 170.67 -> 171
    assert.strictEqual(packMatMulNBits(s).zeroPoints, undefined);
  });

  it('Gemm: transB, alpha and a constant bias become MatMulNBits with its bias input; another C an Add', async () => {
    const Kg = 64;
    const Ng = 16;
    const Bt = randomValues(3, Ng * Kg); // stored [N, K]: transB = 1
    const C = randomValues(4, Ng);
    const C2 = randomValues(5, M * Ng);
    const g = new GraphBuilder('gemm')
      .input('x', DataType.FLOAT, [M, Kg])
      .initializer('B', DataType.FLOAT, [Ng, Kg], Bt)
      .initializer('C', DataType.FLOAT, [Ng], C)
      .initializer('B2', DataType.FLOAT, [Kg, Ng], randomValues(6, Kg * Ng))
      .initializer('C2', DataType.FLOAT, [M, Ng], C2)
      .node('Gemm', ['x', 'B', 'C'], ['y'], { transB: 1, alpha: float(0.5), beta: float(2) }, { name: 'g1' })
      .node('Gemm', ['x', 'B2', 'C2'], ['y2'], { beta: float(0.25) }, { name: 'g2' })
      .output('y', DataType.FLOAT, [M, Ng])
      .output('y2', DataType.FLOAT, [M, Ng]);
    const file = path.join(dir, 'gemm.onnx');
    fs.writeFileSync(file, modelBytes(g, { opset: 13 }));
    const r = await quantizeModel(file, settings({}));
    assert.strictEqual(r.output, path.join(dir, 'gemm.int4.onnx'));
    const xs = randomValues(7, M * Kg);
    const out = await run(r.output, { x: new ort.Tensor('float32', xs, [M, Kg]) });
    const BKN = transpose(Bt, Ng, Kg);
    const w1 = blockDequantize(blockQuantize(Bt, Kg, Ng, { bits: 4, blockSize: 32, symmetric: false }, 'NK'));
    assert.deepStrictEqual(
      Array.from(w1),
      Array.from(blockDequantize(blockQuantize(BKN, Kg, Ng, { bits: 4, blockSize: 32, symmetric: false }))),
      'layouts agree',
    );
    const y = matmul(xs, w1, M, Kg, Ng).map((v, i) => 0.5 * v + 2 * C[i % Ng]);
    assertClose(out.y.data as number[], y, 'y');
    const B2 = readTensor(readModelSync(file).proto.graph!.initializer.find((t) => t.name === 'B2')!).values as Float32Array;
    const y2 = matmul(xs, blockDequantize(blockQuantize(B2, Kg, Ng, { bits: 4, blockSize: 32, symmetric: false })), M, Kg, Ng).map((v, i) => v + 0.25 * C2[i]);
    assertClose(out.y2.data as number[], y2, 'y2');
    const nodes = readModelSync(r.output).proto.graph!.node;
    assert.deepStrictEqual(
      nodes.map((n) => n.op_type),
      ['MatMulNBits', 'MatMulNBits', 'Mul', 'Add'],
    );
    assert.strictEqual(nodes[0].input[5], 'C_bias');
    assert.match(r.nodes.find((d) => d.node === 'g1')!.reason, /alpha folded into the scales/);
  });

  it('embedding Gathers become GatherBlockQuantized; a row length off the block stays float with the reason', async () => {
    const vocab = 10;
    const dim = 64;
    const table = randomValues(8, vocab * dim);
    const g = new GraphBuilder('emb')
      .input('ids', DataType.INT64, [4])
      .initializer('E', DataType.FLOAT, [vocab, dim], table)
      .initializer('E2', DataType.FLOAT, [vocab, 24], randomValues(9, vocab * 24))
      .node('Gather', ['E', 'ids'], ['e'], {}, { name: 'embed' })
      .node('Gather', ['E2', 'ids'], ['e2'], {}, { name: 'embed2' })
      .output('e', DataType.FLOAT, [4, dim])
      .output('e2', DataType.FLOAT, [4, 24]);
    const file = path.join(dir, 'emb.onnx');
    fs.writeFileSync(file, modelBytes(g, { opset: 13 }));
    for (const symmetric of [false, true]) {
      for (const bits of [4, 8] as const) {
        const out = path.join(dir, `emb.${bits}.${symmetric}.onnx`);
        const r = await quantizeModel(file, settings({ symmetricWeights: symmetric, bits, blockSize: 16 }), { output: out });
        const ids = BigInt64Array.from([3n, 0n, 9n, 3n]);
        const e = (await run(out, { ids: new ort.Tensor('int64', ids, [4]) })).e.data as number[];
        const deq = blockDequantize(blockQuantize(table, dim, vocab, { bits, blockSize: 16, symmetric }, 'NK')); // [dim, vocab]
        const expected = Array.from(ids).flatMap((id) => Array.from({ length: dim }, (_, j) => deq[j * vocab + Number(id)]));
        assertClose(e, expected, `e (${bits} bits, ${symmetric ? 'symmetric' : 'asymmetric'})`, 1e-6);
        assert.deepStrictEqual(
          readModelSync(out).proto.graph!.node.map((n) => n.op_type),
          ['GatherBlockQuantized', 'Gather'],
        );
        const kept = r.nodes.find((d) => d.node === 'embed2')!;
        assert.strictEqual(kept.quantized, false);
        assert.match(kept.reason, /row length 24 is not a multiple of the block size 16/);
      }
    }
  });

  it('a weight read by two MatMuls is quantized once and shared', async () => {
    const g = new GraphBuilder('shared')
      .input('x', DataType.FLOAT, [M, K])
      .input('x2', DataType.FLOAT, [M, K])
      .initializer('W', DataType.FLOAT, [K, N], W)
      .node('MatMul', ['x', 'W'], ['y'], {}, { name: 'first' })
      .node('MatMul', ['x2', 'W'], ['y2'], {}, { name: 'second' })
      .output('y', DataType.FLOAT, [M, N])
      .output('y2', DataType.FLOAT, [M, N]);
    const file = path.join(dir, 'shared.onnx');
    fs.writeFileSync(file, modelBytes(g, { opset: 13 }));
    for (const format of ['matmulnbits', 'dequantize-linear'] as const) {
      const r = await quantizeModel(file, settings({ weightOnlyFormat: format }), { output: path.join(dir, `shared.${format}.onnx`) });
      const model = readModelSync(r.output);
      const initializers = model.proto.graph!.initializer.map((t) => t.name);
      assert.strictEqual(initializers.length, 3, initializers.join(', '));
      assert.strictEqual(r.tensors.length, 1);
      assert.strictEqual(r.weightErrors!.length, 1);
      assert.match(r.nodes.find((d) => d.node === 'second')!.reason, /sharing the quantized weight of 'first'/);
      const x2 = randomValues(12, M * K);
      const out = await ort.InferenceSession.create(r.output, { graphOptimizationLevel: 'disabled' });
      const y = await out.run({ x: new ort.Tensor('float32', x, [M, K]), x2: new ort.Tensor('float32', x2, [M, K]) });
      await out.release();
      const deq = blockDequantize(blockQuantize(W, K, N, { bits: 4, blockSize: 32, symmetric: false }));
      assertClose(y.y.data as Float32Array, matmul(x, deq, M, K, N), `${format} y`);
      assertClose(y.y2.data as Float32Array, matmul(x2, deq, M, K, N), `${format} y2`);
    }
  });

  it('layer overrides change one node, exclude keeps one in float', async () => {
    const g = new GraphBuilder('two')
      .input('x', DataType.FLOAT, [M, K])
      .initializer('W', DataType.FLOAT, [K, N], W)
      .initializer('V', DataType.FLOAT, [N, N], randomValues(10, N * N))
      .initializer('U', DataType.FLOAT, [N, N], randomValues(11, N * N))
      .node('MatMul', ['x', 'W'], ['h'], {}, { name: 'a' })
      .node('MatMul', ['h', 'V'], ['h2'], {}, { name: 'b' })
      .node('MatMul', ['h2', 'U'], ['y'], {}, { name: 'c' })
      .output('y', DataType.FLOAT, [M, N]);
    const file = path.join(dir, 'two.onnx');
    fs.writeFileSync(file, modelBytes(g, { opset: 13 }));
    const r = await quantizeModel(file, settings({ bits: 4, layerOverrides: { a: { bits: 8, blockSize: 16 }, zz: { bits: 8 } }, exclude: ['c'] }));
    assert.strictEqual(r.output, path.join(dir, 'two.int4.onnx'));
    const byNode = Object.fromEntries(r.nodes.map((d) => [d.node, d]));
    assert.match(byNode.a.reason, /8 bits, blocks of 16/);
    assert.match(byNode.b.reason, /4 bits, blocks of 32, asymmetric, rtn, K = 24 padded to 32/);
    assert.deepStrictEqual([byNode.c.quantized, byNode.c.reason], [false, "excluded by 'c'"]);
    assert.ok(r.warnings.includes("the layer override of 'zz' applies to no quantized node"), r.warnings.join('; '));
    const nodes = readModelSync(r.output).proto.graph!.node;
    assert.deepStrictEqual(
      nodes.map((n) => n.op_type),
      ['MatMulNBits', 'MatMulNBits', 'MatMul'],
    );
    assert.strictEqual(int64ToNumber(nodes[0].attribute.find((a) => a.name === 'bits')!.i!), 8);
    await run(r.output, { x: new ort.Tensor('float32', x, [M, K]) });
  });

  it('refuses: nothing to quantize, a quantized model, hqq with symmetric weights, gptq with data that cannot be read, an opset that cannot reach 21', async () => {
    const noWeight = path.join(dir, 'add.onnx');
    fs.writeFileSync(
      noWeight,
      modelBytes(
        new GraphBuilder('add')
          .input('a', DataType.FLOAT, [M, K])
          .input('b', DataType.FLOAT, [K, N])
          .node('MatMul', ['a', 'b'], ['y'])
          .output('y', DataType.FLOAT, [M, N]),
      ),
    );
    await assert.rejects(quantizeModel(noWeight, settings({})), /no weight to quantize: no MatMul or Gemm with a constant float32 2-D B/);
    assert.ok(!fs.existsSync(path.join(dir, 'add.int4.onnx')));
    const first = await quantizeModel(path.join(dir, 'mm.onnx'), settings({}), { output: path.join(dir, 'mm.int4.onnx') });
    await assert.rejects(quantizeModel(first.output, settings({})), /already quantized \(1 MatMulNBits\): quantize the float model it came from \(mm\.onnx\)/);
    await assert.rejects(
      quantizeModel(path.join(dir, 'mm.onnx'), settings({ algorithm: 'hqq', symmetricWeights: true })),
      /hqq optimises each block's zero point/,
    );
    await assert.rejects(
      quantizeModel(path.join(dir, 'mm.onnx'), settings({ algorithm: 'gptq', calibration: path.join(dir, 'no-such-data.npz') }), {
        output: path.join(dir, 'mm.gptq.onnx'),
      }),
      /no-such-data\.npz/,
    );
    assert.ok(!fs.existsSync(path.join(dir, 'mm.gptq.onnx')));
    // On random inputs GPTQ runs, and the result says what that is worth.
    const random = await quantizeModel(path.join(dir, 'mm.onnx'), settings({ algorithm: 'gptq', calibration: 'synthetic:8' }), {
      output: path.join(dir, 'mm.gptq.onnx'),
    });
    assert.ok(
      random.warnings.some((w) => /GPTQ ran on synthetic \(random\) inputs/.test(w)),
      random.warnings.join('\n'),
    );
    const old = path.join(dir, 'old.onnx');
    fs.writeFileSync(
      old,
      modelBytes(
        new GraphBuilder('old')
          .input('x', DataType.FLOAT, [M, K])
          .initializer('W', DataType.FLOAT, [K, N], W)
          .node('MatMul', ['x', 'W'], ['y'])
          .output('y', DataType.FLOAT, [M, N]),
        { opset: 11 },
      ),
    );
    await assert.rejects(
      quantizeModel(old, settings({ weightOnlyFormat: 'dequantize-linear' })),
      /opset 11 cannot be raised to it.*--weight-only-format matmulnbits/,
    );
    const r = await quantizeModel(old, settings({}));
    assert.strictEqual(r.nodes[0].quantized, true, 'matmulnbits needs no opset change');
  });
});

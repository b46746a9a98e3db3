// Weight-only quantization of a trained model (the tiny transformer fixture): HQQ's reconstruction
// error against RTN's on its real weights, top-1 on the Fashion-MNIST test set after 4-bit RTN and
// HQQ, a model whose weights live in external data, and the CLI.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { blockDequantize } from '../../src/core/quant/blockScheme';
import { hqqQuantize } from '../../src/core/quant/weightOnly/hqq';
import { rtnQuantize } from '../../src/core/quant/weightOnly/rtn';
import { quantizeModel } from '../../src/core/quant/pipeline';
import { resolveSettings } from '../../src/core/quant/settings';
import { GraphIndex } from '../../src/core/onnx/graph';
import { quantizationInfo } from '../../src/core/onnx/quantInfo';
import { readModel } from '../../src/core/onnx/model';
import { readTensor, tensorDims, toFloat32 } from '../../src/core/onnx/tensor';
import { writeModel } from '../../src/core/onnx/write';
import { cli } from '../support/cliRun';
import { TempDirs, readModelSync } from '../support/helpers';
import { accuracy, FIXTURES, fashionTestSet, predict, type LabeledImages } from '../support/evaluate';
import { ROOT } from '../support/browser';

function squaredError(B: Float32Array, deq: Float32Array): number {
  let e = 0;
  for (let i = 0; i < B.length; i++) e += (B[i] - deq[i]) ** 2;
  return e;
}

describe('weight-only quantization of a trained transformer', function () {
  this.timeout(300000);
  const temp = new TempDirs('weight-only-real-');
  let dir: string;
  let model: string;
  let test: LabeledImages;
  let floatTop1: number;

  before(async () => {
    dir = temp.make();
    model = path.join(dir, 'tiny_transformer.onnx');
    fs.copyFileSync(path.join(FIXTURES, 'tiny_transformer.onnx'), model);
    test = fashionTestSet();
    floatTop1 = accuracy((await predict(model, test)).top1, test.labels);
  });
  after(() => temp.cleanup());

  it('HQQ reconstructs the real weights better than RTN (never worse on a block)', async () => {
    const m = await readModel(model);
    const index = new GraphIndex(m.proto.graph!);
    const constants = index.constantTensors();
    let weights = 0;
    for (const n of m.proto.graph!.node) {
      const B = n.op_type === 'MatMul' ? constants.get(n.input[1]) : undefined;
      if (!B || tensorDims(B).length !== 2) continue;
      const [K, N] = tensorDims(B);
      const values = toFloat32(readTensor(B, m.external));
      for (const bits of [4, 8] as const) {
        const o = { bits, blockSize: 32, symmetric: false };
        const rtnW = blockDequantize(rtnQuantize(values, K, N, o));
        const hqqW = blockDequantize(hqqQuantize(values, K, N, o));
        const rtn = squaredError(values, rtnW);
        const hqq = squaredError(values, hqqW);
        // Several percent lower over the weight, and no block worse.
        assert.ok(hqq < rtn * 0.97, `${n.name} ${bits} bits: HQQ ${hqq} vs RTN ${rtn}`);
        for (let c = 0; c < N; c++) {
          for (let k0 = 0; k0 < K; k0 += 32) {
            let er = 0;
            let eh = 0;
            for (let k = k0; k < Math.min(K, k0 + 32); k++) {
              er += (values[k * N + c] - rtnW[k * N + c]) ** 2;
              eh += (values[k * N + c] - hqqW[k * N + c]) ** 2;
            }
            assert.ok(eh <= er, `${n.name} column ${c}, block at ${k0}: HQQ ${eh} > RTN ${er}`);
          }
        }
        if (bits === 4)
          console.log(
            `      ${B.name} [${K}, ${N}] 4-bit squared error: rtn ${rtn.toExponential(3)}, hqq ${hqq.toExponential(3)} (${((1 - hqq / rtn) * 100).toFixed(1)}% lower)`,
          );
      }
      weights++;
    }
    assert.ok(weights >= 8, `${weights} MatMul weights`);
  });

  for (const algorithm of ['rtn', 'hqq'] as const) {
    it(`4-bit ${algorithm} keeps top-1 within 1.5 points of float`, async () => {
      const out = path.join(dir, `tiny.${algorithm}.onnx`);
      const r = await quantizeModel(model, resolveSettings({ mode: 'weight-only', algorithm }), { output: out });
      const top1 = accuracy((await predict(out, test)).top1, test.labels);
      const quantized = r.nodes.filter((d) => d.quantized).length;
      const meanSqnr = r.weightErrors!.reduce((s, e) => s + e.sqnrDb, 0) / r.weightErrors!.length;
      console.log(
        `      tiny_transformer ${algorithm}: float ${floatTop1.toFixed(2)}%, int4 ${top1.toFixed(2)}%, ${quantized} nodes, size ${(r.sizes.ratio * 100).toFixed(1)}%, mean weight SQNR ${meanSqnr.toFixed(1)} dB; ${r.verification.note}`,
      );
      assert.ok(floatTop1 - top1 <= 1.5, `${algorithm} ${top1}% vs float ${floatTop1}%`);
      assert.ok(quantized >= 9, `${quantized} quantized`);
      assert.ok(r.sizes.ratio < 0.6, `size ratio ${r.sizes.ratio}`);
      for (const d of r.nodes.filter((x) => x.quantized)) assert.match(d.reason, new RegExp(`, ${algorithm}`));
    });
  }

  it('reads weights from external data and writes the quantized model', async () => {
    const external = path.join(dir, 'ext', 'tiny_ext.onnx');
    await writeModel(await readModel(model), external, { placement: 'external', threshold: 1024 });
    assert.ok(fs.existsSync(`${external}.data`));
    const r = await quantizeModel(external, resolveSettings({ mode: 'weight-only', bits: 8 }));
    assert.strictEqual(r.output, path.join(dir, 'ext', 'tiny_ext.int8w.onnx'));
    const top1 = accuracy((await predict(r.output, test)).top1, test.labels);
    assert.ok(floatTop1 - top1 <= 0.5, `int8 weights ${top1}% vs float ${floatTop1}%`);
    assert.ok(readModelSync(r.output).proto.graph!.node.some((n) => n.op_type === 'MatMulNBits'));
  });

  it('CLI: --mode weight-only writes NAME.int4.onnx; --bits 3 and --block-size 48 are refused', async () => {
    const ok = await cli(
      'quantize',
      model,
      '--mode',
      'weight-only',
      '--algorithm',
      'hqq',
      '--block-size',
      '64',
      '--accuracy-level',
      '4',
      '-o',
      path.join(dir, 'cli.int4.onnx'),
    );
    assert.strictEqual(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /mode weight-only, 4-bit asymmetric weights in blocks of 64, hqq, matmulnbits, accuracy level 4, provider cpu/);
    assert.match(ok.stdout, /quantized 14 nodes, kept 4 in float/);
    const saved = JSON.parse(fs.readFileSync(path.join(dir, 'cli.int4.quant.json'), 'utf8')) as { settings: Record<string, unknown> };
    assert.deepStrictEqual([saved.settings.algorithm, saved.settings.blockSize, saved.settings.accuracyLevel], ['hqq', 64, 4]);
    const bits = await cli('quantize', model, '--mode', 'weight-only', '--bits', '3');
    assert.notStrictEqual(bits.code, 0);
    assert.match(bits.stderr, /--bits/);
    assert.match(bits.stderr, /3/);
    const block = await cli('quantize', model, '--mode', 'weight-only', '--block-size', '48');
    assert.notStrictEqual(block.code, 0);
    assert.match(block.stderr, /block size must be a power of two from 16 to 256 \(16, 32, 64, 128 or 256\), not 48/);
    const gptq = await cli('quantize', model, '--mode', 'weight-only', '--algorithm', 'gptq');
    assert.strictEqual(gptq.code, 2, gptq.stderr);
    assert.match(gptq.stderr, /--algorithm gptq needs calibration data: give --calib DATA .* or use --algorithm rtn or hqq, which need none/);
    assert.ok(!fs.existsSync(path.join(dir, 'tiny_transformer.int4.onnx')), 'a refused run writes nothing');
  });

  it("CLI: GPTQ's damping and act-order reach the run and its result; options of another algorithm are refused", async () => {
    const out = path.join(dir, 'act.int4.onnx');
    const calib = path.join(ROOT, 'data', 'fashion-mnist', 'train-512-images-idx3-ubyte.gz');
    const run = await cli(
      'quantize',
      model,
      '--mode',
      'weight-only',
      '--algorithm',
      'gptq',
      '--gptq-damp',
      '0.05',
      '--gptq-act-order',
      '--calib',
      calib,
      '-o',
      out,
    );
    assert.strictEqual(run.code, 0, run.stderr);
    assert.match(run.stdout, /in blocks of 32, gptq \(damp 0\.05, act-order\), matmulnbits/);
    const saved = JSON.parse(fs.readFileSync(path.join(dir, 'act.int4.quant.json'), 'utf8')) as { settings: Record<string, unknown> };
    assert.deepStrictEqual([saved.settings.gptqDamp, saved.settings.gptqActOrder, saved.settings.awqGrid], [0.05, true, 20]);
    const rtn = await cli('quantize', model, '--mode', 'weight-only', '--gptq-act-order');
    assert.notStrictEqual(rtn.code, 0, rtn.stderr);
    assert.match(rtn.stderr, /the GPTQ damping and act-order apply to weight-only GPTQ only: add --mode weight-only --algorithm gptq, or leave them out/);
    const grid = await cli('quantize', model, '--mode', 'weight-only', '--algorithm', 'awq', '--awq-grid', '0', '--calib', calib);
    assert.notStrictEqual(grid.code, 0, grid.stderr);
    assert.match(grid.stderr, /the AWQ grid must be a whole number of steps from 1 to 1000, not 0/);
    assert.ok(!fs.existsSync(path.join(dir, 'tiny_transformer.int4.onnx')), 'a refused run writes nothing');
  });

  it('the model view lists a MatMulNBits weight with its bits and block size', async () => {
    const r = await quantizeModel(model, resolveSettings({ mode: 'weight-only', blockSize: 64, calibration: 'synthetic:4' }), {
      output: path.join(dir, 'view.int4.onnx'),
      resultFile: false,
    });
    const quantized = await readModel(r.output);
    const info = quantizationInfo(quantized, (n, i) => n.name || String(i));
    const matmuls = quantized.proto.graph!.node.filter((n) => n.op_type === 'MatMulNBits').length;
    const packed = info.params.filter((p) => p.type === 'uint4 (packed)');
    assert.ok(matmuls > 0 && packed.length === matmuls, `${packed.length} packed weights listed for ${matmuls} MatMulNBits`);
    assert.ok(
      packed.every((p) => p.blockSize === 64 && p.axis === 0 && p.scale.length > 0),
      JSON.stringify(packed[0]),
    );
    assert.ok([...info.integerNodes.values()].includes('MatMulNBits'));
  });
});

// The QOperator output form: QLinearConv / QLinearMatMul written into the saved model itself,
// with QuantizeLinear at the entry of each quantized region and DequantizeLinear at its exit.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { sqnr } from '../../src/core/analysis/metrics';
import { DataType } from '../../src/core/onnx/dataTypes';
import { readModelSync } from '../support/helpers';
import { quantizeModel } from '../../src/core/quant/pipeline';
import { resolveSettings } from '../../src/core/quant/settings';
import { seededRandom } from '../../src/core/random';
import { createSession, ort } from '../../src/core/runtime/session';
import { GraphBuilder, modelBytes } from '../fixtures/builder';
import { writeNpy } from '../support/npyWriter';
import { accuracy, FASHION_DIR, FIXTURES, fashionTestSet, predict } from '../support/evaluate';

const FASHION_TRAIN = path.join(FASHION_DIR, 'train-images-idx3-ubyte.gz');

function opCounts(file: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const n of readModelSync(file).proto.graph!.node) counts[n.op_type ?? ''] = (counts[n.op_type ?? ''] ?? 0) + 1;
  return counts;
}

describe('QOperator format', function () {
  this.timeout(300000);
  let dir: string;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qoperator-'));
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes QLinearConv into fashion_cnn, which loads, runs and keeps top-1 within 1 point of float', async () => {
    const src = path.join(dir, 'fashion_cnn.onnx');
    fs.copyFileSync(path.join(FIXTURES, 'fashion_cnn.onnx'), src);
    const settings = resolveSettings({ calibration: FASHION_TRAIN, perChannel: true, samples: 256, batchSize: 64, format: 'qoperator' });
    const r = await quantizeModel(src, settings);
    assert.strictEqual(r.settings.format, 'qoperator');
    const saved = JSON.parse(fs.readFileSync(r.output.replace(/\.onnx$/, '.quant.json'), 'utf8')) as { settings: { format: string } };
    assert.strictEqual(saved.settings.format, 'qoperator');
    assert.deepStrictEqual(r.verification, { loads: true, ran: true, note: 'loads and runs on a calibration batch' });

    const counts = opCounts(r.output);
    const floatCounts = opCounts(src);
    assert.strictEqual(counts.QLinearConv, floatCounts.Conv, `every Conv is a QLinearConv in the file: ${JSON.stringify(counts)}`);
    assert.ok(!counts.Conv, 'no float Conv left');
    assert.ok(counts.QuantizeLinear >= 1 && counts.DequantizeLinear >= 1, JSON.stringify(counts));
    // Every quantized Conv is reported as a QLinearConv; ops without a QLinear form stay in float and say why.
    const convs = r.nodes.filter((n) => n.opType === 'Conv');
    assert.ok(convs.length >= 2 && convs.every((n) => n.quantized && /^QLinearConv/.test(n.reason)), JSON.stringify(convs));
    const kept = r.nodes.filter((n) => !n.quantized);
    assert.ok(kept.length > 0 && kept.every((n) => /no QLinear form in the qoperator format/.test(n.reason)), JSON.stringify(kept));
    assert.strictEqual(r.fusion!.fused, r.fusion!.candidates, JSON.stringify(r.fusion));

    const test = fashionTestSet();
    const f = accuracy((await predict(src, test)).top1, test.labels);
    const q = accuracy((await predict(r.output, test)).top1, test.labels);
    console.log(`      fashion_cnn qoperator: float ${f.toFixed(2)}%, int8 ${q.toFixed(2)}%, ops ${JSON.stringify(counts)}`);
    assert.ok(f - q <= 1, `qoperator int8 ${q}% vs float ${f}%`);
  });

  it('writes QLinearMatMul for a constant-weight MatMul, close to the QDQ model', async () => {
    const random = seededRandom(7);
    const K = 32;
    const N = 16;
    const w = Float32Array.from({ length: K * N }, () => (random() - 0.5) * 0.5);
    const b = new GraphBuilder('mm');
    b.input('x', DataType.FLOAT, ['N', K]);
    b.initializer('w', DataType.FLOAT, [K, N], w);
    b.node('MatMul', ['x', 'w'], ['y'], {}, { name: 'matmul' });
    b.node('Relu', ['y'], ['r'], {}, { name: 'relu' });
    b.initializer(
      'w2',
      DataType.FLOAT,
      [N, 8],
      Float32Array.from({ length: N * 8 }, () => (random() - 0.5) * 0.5),
    );
    b.node('MatMul', ['r', 'w2'], ['z'], {}, { name: 'matmul2' });
    b.output('z', DataType.FLOAT, ['N', 8]);
    const src = path.join(dir, 'matmul.onnx');
    fs.writeFileSync(src, modelBytes(b, { opset: 13 }));
    const calib = path.join(dir, 'calib.npy');
    const samples = Float32Array.from({ length: 256 * K }, () => random() * 2 - 1);
    writeNpy(calib, '<f4', [256, K], samples);

    const results = [];
    for (const format of ['qdq', 'qoperator'] as const) {
      const out = path.join(dir, `matmul.${format}.onnx`);
      const r = await quantizeModel(src, resolveSettings({ calibration: calib, perChannel: true, format }), { output: out, resultFile: false });
      assert.ok(r.verification.ran, r.verification.note);
      assert.strictEqual(r.settings.format, format);
      results.push(r);
    }
    const counts = opCounts(results[1].output);
    assert.strictEqual(counts.QLinearMatMul, 2, JSON.stringify(counts));
    assert.ok(!counts.MatMul, JSON.stringify(counts));
    assert.strictEqual(counts.QuantizeLinear, 1, `one entry: ${JSON.stringify(counts)}`);
    assert.strictEqual(counts.DequantizeLinear, 1, `one exit: ${JSON.stringify(counts)}`);
    assert.ok(results[1].nodes.some((n) => n.node === 'relu' && !n.quantized));

    const x = Float32Array.from({ length: 64 * K }, () => random() * 2 - 1);
    const outputs: Float32Array[] = [];
    for (const file of [src, results[0].output, results[1].output]) {
      const s = await createSession(readModelSync(file));
      const o = await s.run({ x: new ort.Tensor('float32', x, [64, K]) });
      outputs.push(Float32Array.from(o.z.data as Float32Array));
      await s.release();
    }
    const vsQdq = sqnr(outputs[1], outputs[2]);
    const vsFloat = sqnr(outputs[0], outputs[2]);
    console.log(`      MatMul qoperator: SQNR ${vsQdq.toFixed(1)} dB against QDQ, ${vsFloat.toFixed(1)} dB against float`);
    assert.ok(vsQdq > 30, `SQNR ${vsQdq} dB against the QDQ model`);
  });

  it('refuses 16-bit activations in the qoperator format and reads --format from the command line', async () => {
    assert.throws(() => resolveSettings({ format: 'qoperator', activationType: 'uint16' }), /8-bit/);
    assert.strictEqual(resolveSettings({}).format, 'qdq');
    const { run } = await import('../../src/cli/main');
    const errors: string[] = [];
    const code = await run(['quantize', 'model.onnx', '--format', 'qlinear'], { log: () => undefined, error: (m: string) => errors.push(m) });
    assert.strictEqual(code, 2);
    assert.match(errors.join('\n'), /--format must be one of qdq, qoperator/);
  });
});

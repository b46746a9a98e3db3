// The engine's workflows on the Fashion-MNIST CNN, quantized and analyzed by the real pipeline and
// onnxruntime-node: quantize-then-analyze writes each file once and tells its face what it does;
// NAME.quant.json is read through its validator; and the analysis pairs integer tensors with
// float ones by the QuantResult's record, falling back to their names only for older results.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { analyzeQuantization } from '../../src/core/analysis/analyze';
import { readModel } from '../../src/core/onnx/model';
import { writeModel } from '../../src/core/onnx/write';
import { quantizeModel } from '../../src/core/quant/pipeline';
import { resolveSettings } from '../../src/core/quant/settings';
import type { WorkflowEvent } from '../../src/core/workflows/events';
import { quantizeAndAnalyze } from '../../src/core/workflows/quantizeAndAnalyze';
import { parseQuantResult, QuantResultError, type QuantResult } from '../../src/shared/quantResult';
import { FASHION_DIR, FIXTURES } from '../support/evaluate';

const TRAIN = path.join(FASHION_DIR, 'train-images-idx3-ubyte.gz');
const TEST = path.join(FASHION_DIR, 't10k-images-idx3-ubyte.gz');

describe('workflows (Fashion-MNIST CNN)', function () {
  this.timeout(300000);
  let dir: string;
  let float: string;
  let quant: QuantResult;
  const settings = resolveSettings({ calibration: TRAIN, perChannel: true, samples: 64, batchSize: 64 });
  const analysis = { data: TEST, samples: 64, latencyRuns: 0, reportFile: false as const };

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'workflows-'));
    float = path.join(dir, 'fashion_cnn.onnx');
    fs.copyFileSync(path.join(FIXTURES, 'fashion_cnn.onnx'), float);
    quant = await quantizeModel(float, settings, { output: path.join(dir, 'q.onnx') });
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('quantizeAndAnalyze: quantizes, says so, analyzes on the calibration data and writes the report once', async () => {
    const events: WorkflowEvent[] = [];
    const output = path.join(dir, 'both.onnx');
    const done = await quantizeAndAnalyze(float, settings, {
      output,
      analysis: { samples: 64, latencyRuns: 0, sensitivity: false },
      onEvent: (e) => events.push(e),
    });
    const kinds = [...new Set(events.map((e) => e.type))];
    assert.deepStrictEqual(kinds, ['quantize', 'quantized', 'progress']);
    assert.strictEqual(events.filter((e) => e.type === 'quantized').length, 1);
    assert.strictEqual(done.resultFile, path.join(dir, 'both.quant.json'));
    assert.strictEqual(done.reportFile, path.join(dir, 'both.report.json'));
    assert.strictEqual(done.report.quantResultFile, done.resultFile);
    assert.strictEqual(done.report.settings.data.split('\n')[0].includes('train-images'), true, done.report.settings.data);
    assert.deepStrictEqual(JSON.parse(fs.readFileSync(done.reportFile, 'utf8')), JSON.parse(JSON.stringify(done.report)));
    assert.deepStrictEqual(parseQuantResult(JSON.parse(fs.readFileSync(done.resultFile, 'utf8'))), JSON.parse(JSON.stringify(done.result)));
  });

  it('quantizeAndAnalyze: cancelled after the quantization keeps the complete model and its result, and writes no report', async () => {
    const controller = new AbortController();
    const output = path.join(dir, 'stop.onnx');
    await assert.rejects(
      quantizeAndAnalyze(float, settings, {
        output,
        analysis: { samples: 64, latencyRuns: 0 },
        signal: controller.signal,
        onEvent: (e) => e.type === 'quantized' && controller.abort(),
      }),
      /cancelled; no report was written/,
    );
    assert.deepStrictEqual(
      fs
        .readdirSync(dir)
        .filter((f) => f.startsWith('stop'))
        .sort(),
      ['stop.onnx', 'stop.quant.json'],
    );
  });

  it('parseQuantResult: a clean copy of a valid result; a bad one refused naming the file and the field', () => {
    const json = JSON.parse(JSON.stringify(quant));
    assert.deepStrictEqual(parseQuantResult(json), json);
    assert.throws(
      () => parseQuantResult({ ...json, tensors: [{ ...json.tensors[0], scale: 'x' }] }, 'q.quant.json'),
      (e: Error) => e instanceof QuantResultError && e.message === 'q.quant.json: invalid quant result: tensors[0].scale must be an array',
    );
    assert.throws(
      () => parseQuantResult({ ...json, settings: { ...json.settings, mode: 'fast' } }, 'q.quant.json'),
      /settings\.mode must be one of static, dynamic, weight-only, fp16, bf16 \(got "fast"\)/,
    );
    assert.throws(
      () => parseQuantResult([], 'q.quant.json'),
      (e: Error) => e.message === 'q.quant.json: invalid quant result: the result must be an object',
    );
    assert.throws(() => parseQuantResult({ ...json, format: 'onnx-compress/quant-report' }), /format must be 'onnx-compress\/quant-result'/);
    // Results written before per-op per-channel, overrides, the qoperator format and the tensor record still load.
    const older = JSON.parse(JSON.stringify(json));
    for (const k of ['perChannelOpTypes', 'tensorOverrides', 'format']) delete older.settings[k];
    delete older.quantizedNames;
    const read = parseQuantResult(older);
    assert.deepStrictEqual(
      [read.settings.perChannelOpTypes, read.settings.tensorOverrides, read.settings.format, read.quantizedNames],
      [[], {}, 'qdq', undefined],
    );
  });

  it('the analysis refuses a damaged NAME.quant.json with the file and the field', async () => {
    const copy = path.join(dir, 'bad.onnx');
    fs.copyFileSync(quant.output, copy);
    fs.writeFileSync(path.join(dir, 'bad.quant.json'), JSON.stringify({ ...quant, output: copy, nodes: 'all' }));
    await assert.rejects(analyzeQuantization(float, copy, analysis), (e: Error) =>
      e.message.startsWith(`${path.join(dir, 'bad.quant.json')}: cannot read the quantization result (invalid quant result: nodes must be an array)`),
    );
  });

  it('pairs integer weights with float ones by the recorded names, whatever they are called; older results by the names', async () => {
    const names = quant.quantizedNames!;
    const floatInits = new Set((await readModel(float)).proto.graph!.initializer.map((t) => t.name));
    assert.ok(Object.keys(names).length >= 4, JSON.stringify(names));
    for (const f of Object.values(names)) assert.ok(floatInits.has(f), `${f} is a float initializer`);
    const reference = await analyzeQuantization(float, quant.output, analysis);
    const weights = (r: { weights: Array<{ tensor: string }> }) => r.weights.map((w) => w.tensor).sort();
    assert.ok(reference.weights.length >= 4);
    // The same model with every integer initializer renamed, and the record renamed with it.
    const model = await readModel(quant.output);
    const renamed = new Map(Object.keys(names).map((q, i) => [q, `integer_${i}`]));
    const g = model.proto.graph!;
    for (const t of g.initializer) t.name = renamed.get(t.name!) ?? t.name;
    for (const n of g.node) n.input = n.input.map((x) => renamed.get(x) ?? x);
    const file = (await writeModel(model, path.join(dir, 'renamed.onnx'))).file;
    const record = Object.fromEntries(Object.entries(names).map(([q, f]) => [renamed.get(q)!, f]));
    const r = await analyzeQuantization(float, file, { ...analysis, quantResult: { ...quant, output: file, quantizedNames: record } });
    assert.deepStrictEqual(weights(r), weights(reference));
    assert.deepStrictEqual(
      r.unmatched.filter((u) => /no float counterpart/.test(u.reason)),
      [],
    );
    // A result without the record (written before it was kept): the names are read as before.
    const older = await analyzeQuantization(float, quant.output, { ...analysis, quantResult: { ...quant, quantizedNames: undefined } });
    assert.deepStrictEqual(weights(older), weights(reference));
  });
});

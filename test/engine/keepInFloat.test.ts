// Keep in float as the report panel's button runs it, on the Fashion-MNIST CNN quantized by the real
// pipeline and run by the real onnxruntime-node: the selected row names the node kept in float, a
// request that changes nothing is refused without writing a model, and the saved calibration ranges
// are required rather than silently replaced.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { analyzeQuantization } from '../../src/core/analysis/analyze';
import { defaultQuantResultFile, previousQuantResult } from '../../src/core/analysis/quantResultFile';
import { keepInFloatAndAnalyze, type Evaluation } from '../../src/core/workflows/keepInFloatAndAnalyze';
import { readModel } from '../../src/core/onnx/model';
import { quantizeModel } from '../../src/core/quant/pipeline';
import { resolveSettings } from '../../src/core/quant/settings';
import { run } from '../../src/cli/main';
import { parseQuantReport, type QuantReport } from '../../src/shared/quantReport';
import { parseQuantResult, type QuantResult } from '../../src/shared/quantResult';
import { nodesToKeepInFloat, REPORT_VIEW_PROTOCOL } from '../../src/shared/reportViewProtocol';
import { parseFromView } from '../../src/shared/ipc';
import { FASHION_DIR, FIXTURES } from '../support/evaluate';

const TRAIN = path.join(FASHION_DIR, 'train-images-idx3-ubyte.gz');
const TEST = path.join(FASHION_DIR, 't10k-images-idx3-ubyte.gz');

/** The DequantizeLinear outputs a node reads (by name) in a model file. */
async function dequantizedInputs(file: string, node: string): Promise<string[]> {
  const g = (await readModel(file)).proto.graph!;
  const producer = new Map(g.node.flatMap((n) => n.output.map((o) => [o, n] as const)));
  const n = g.node.find((x) => x.name === node);
  assert.ok(n, `${node} is in ${file}`);
  return n.input.filter((i) => producer.get(i)?.op_type === 'DequantizeLinear');
}

describe('keep in float (Fashion-MNIST CNN)', function () {
  this.timeout(300000);
  let dir: string;
  let float: string;
  let quant: QuantResult;
  let report: QuantReport;
  /** What the report panel's button runs: from the shown report, on the calibration data. */
  const forReport = async (shown: QuantReport, nodes: string[], output?: string) => {
    const previous = previousQuantResult(shown.quantizedModel, shown.quantResultFile ?? undefined);
    return keepInFloatAndAnalyze({
      floatFile: shown.floatModel,
      previous,
      previousFile: defaultQuantResultFile(shown.quantizedModel),
      what: nodes,
      shown,
      output,
      evaluation: { data: previous.settings.calibration, samples: 128, latencyRuns: 0, sensitivity: false },
    });
  };
  /** What the CLI runs: the model the request starts from is scored. */
  const keepInFloat = async (previous: QuantResult, nodes: string[], o: Evaluation & { output: string }) =>
    (
      await keepInFloatAndAnalyze({
        floatFile: float,
        previous,
        previousFile: defaultQuantResultFile(previous.output),
        what: nodes,
        evaluation: o,
        output: o.output,
      })
    ).keep;
  const files = () => fs.readdirSync(dir).sort();

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keep-float-'));
    float = path.join(dir, 'fashion_cnn.onnx');
    fs.copyFileSync(path.join(FIXTURES, 'fashion_cnn.onnx'), float);
    quant = await quantizeModel(float, resolveSettings({ calibration: TRAIN, perChannel: true, samples: 128, batchSize: 64 }));
    report = await analyzeQuantization(float, quant.output, { data: TEST, samples: 128, latencyRuns: 0, quantResult: quant, reportFile: false });
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('keeps the node the selected row names in float: its inputs are no longer dequantized', async () => {
    // The row of the first Conv's output: produced by /conv1/Conv, read by /Relu.
    const row = report.layers.find((l) => l.tensor === '/conv1/Conv_output_0')!;
    assert.deepStrictEqual([row.node, row.consumers], ['/conv1/Conv', ['/Relu']]);
    assert.ok((await dequantizedInputs(quant.output, '/conv1/Conv')).length > 0, 'quantized to begin with');
    // What the panel posts for that selection, as the host reads it.
    const msg = parseFromView(REPORT_VIEW_PROTOCOL, { type: 'notify', method: 'keepInFloat', params: { nodes: nodesToKeepInFloat(row) } });
    assert.ok(msg.type === 'notify' && msg.method === 'keepInFloat');
    assert.deepStrictEqual(msg.params.nodes, ['/conv1/Conv']);
    const output = path.join(dir, 'fashion_cnn.int8.keep-float.onnx');
    const { report: after, reportFile: file } = await forReport(report, msg.params.nodes, output);
    assert.deepStrictEqual(after.keepInFloat!.nodes, ['/conv1/Conv']);
    assert.strictEqual(after.quantizedModel, output);
    assert.deepStrictEqual(await dequantizedInputs(output, '/conv1/Conv'), []);
    // The rest stays quantized, and the saved report is the one returned.
    assert.ok((await dequantizedInputs(output, '/conv2/Conv')).length > 0);
    assert.deepStrictEqual(parseQuantReport(JSON.parse(fs.readFileSync(file, 'utf8'))).keepInFloat!.nodes, ['/conv1/Conv']);
    // One analysis: the before side is the report the panel showed, the after side the new one.
    assert.strictEqual(after.keepInFloat!.before.outputSqnr, report.model.outputs[0].error.sqnr);
    assert.strictEqual(after.keepInFloat!.after.outputSqnr, after.model.outputs[0].error.sqnr);
    const result = parseQuantResult(JSON.parse(fs.readFileSync(output.replace(/\.onnx$/, '.quant.json'), 'utf8')));
    assert.strictEqual(result.output, output);
    assert.ok(!files().some((f) => f.includes('tmp')), files().join(' '));
  });

  it('keeps a node in float even where a quantized neighbour still quantizes its input', async () => {
    // /Relu reads the Conv's output, which stays quantized for the quantized Conv: /Relu must read the float value.
    const output = path.join(dir, 'relu.onnx');
    const r = await keepInFloat(quant, ['/Relu'], { data: TEST, samples: 64, latencyRuns: 0, output });
    assert.deepStrictEqual(r.nodes, ['/Relu']);
    assert.deepStrictEqual(await dequantizedInputs(output, '/Relu'), []);
    assert.ok((await dequantizedInputs(output, '/conv1/Conv')).length > 0);
  });

  it('refuses a request that changes nothing, says why, and writes no model', async () => {
    const before = files();
    const o = { data: TEST, samples: 64, latencyRuns: 0, output: path.join(dir, 'nothing.onnx') };
    await assert.rejects(
      keepInFloat(quant, ['/nope'], o),
      /^KeepInFloatError: nothing changed: \/nope is not a node of fashion_cnn\.onnx; no model was written$/m,
    );
    // Already in float in the model the request starts from.
    const kept = previousQuantResult(path.join(dir, 'fashion_cnn.int8.keep-float.onnx'));
    await assert.rejects(
      keepInFloat(kept, ['/conv1/Conv'], o),
      /nothing changed: \/conv1\/Conv is already in float in fashion_cnn\.int8\.keep-float\.onnx; no model was written/,
    );
    await assert.rejects(forReport(report, ['/Flatten_output_0'], o.output), /nothing changed: \/Flatten_output_0 is not a node/);
    assert.deepStrictEqual(files(), before);
  });

  it('needs NAME.quant.json beside the quantized model: the engine and the CLI say so in one line', async () => {
    const copy = path.join(dir, 'copy.int8.onnx');
    fs.copyFileSync(quant.output, copy);
    const line =
      'copy.int8.quant.json is missing beside copy.int8.onnx: the calibration ranges are needed to keep layers in float without calibrating again; quantize the model again';
    assert.throws(
      () => previousQuantResult(copy),
      (e: Error) => e.message === line,
    );
    await assert.rejects(forReport({ ...report, quantizedModel: copy, quantResultFile: null }, ['/conv1/Conv']), (e: Error) => e.message === line);
    const errors: string[] = [];
    const code = await run(['analyze', float, copy, '--data', TEST, '--samples', '64', '--keep-in-float', '/conv1/Conv'], {
      log: () => undefined,
      error: (s) => errors.push(s),
    });
    assert.strictEqual(code, 1);
    assert.deepStrictEqual(errors, [`onnx-compress: ${line}`]);
    assert.deepStrictEqual(
      fs.readdirSync(dir).filter((f) => f.startsWith('copy')),
      ['copy.int8.onnx'],
    );
  });

  it('the CLI saves the requested nodes it did not keep in float in the report, as the panel does, and prints them once', async () => {
    const out = path.join(dir, 'cli-keep.report.json');
    const errors: string[] = [];
    const code = await run(
      ['analyze', float, quant.output, '--data', TEST, '--samples', '64', '--latency-runs', '0', '--keep-in-float', '/conv2/Conv,/nope', '-o', out],
      { log: () => undefined, error: (s) => errors.push(s) },
    );
    assert.strictEqual(code, 0, errors.join('\n'));
    const saved = parseQuantReport(JSON.parse(fs.readFileSync(out, 'utf8')));
    assert.deepStrictEqual(saved.keepInFloat!.nodes, ['/conv2/Conv']);
    assert.ok(saved.warnings.includes('not kept in float: /nope is not a node of fashion_cnn.onnx'), saved.warnings.join('\n'));
    assert.strictEqual(errors.filter((e) => e.includes('/nope')).length, 1, errors.join('\n'));
  });
});

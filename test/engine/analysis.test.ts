// The analysis engine on the Fashion-MNIST CNN quantized by the real pipeline, run by the real
// onnxruntime-node: a damaged layer found first, local vs accumulated errors, weight rounding
// noise, streaming, keep-in-float to a target, bad input, cancellation, the CLI and the HTML page.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { analyzeQuantization, rankLayers, type AnalysisOptions } from '../../src/core/analysis/analyze';
import { writeReportHtml } from '../../src/core/analysis/htmlReport';
import { defaultQuantResultFile } from '../../src/core/analysis/quantResultFile';
import { keepInFloatAndAnalyze, type Evaluation } from '../../src/core/workflows/keepInFloatAndAnalyze';
import type { OnWorkflowEvent } from '../../src/core/workflows/events';
import { readLabels } from '../../src/core/analysis/labels';
import { ErrorAccumulator, sqnr } from '../../src/core/analysis/metrics';
import { OutputComparison } from '../../src/core/analysis/outputs';
import { quantizeModel } from '../../src/core/quant/pipeline';
import { resolveSettings } from '../../src/core/quant/settings';
import { cpuHasVnni } from '../../src/core/runtime/cpu';
import { run } from '../../src/cli/main';
import { parseQuantReport, type QuantReport } from '../../src/shared/quantReport';
import { parseQuantResult, type QuantResult } from '../../src/shared/quantResult';
import { FASHION_DIR, FIXTURES } from '../support/evaluate';
import { writeNpy } from '../support/npyWriter';

const TRAIN = path.join(FASHION_DIR, 'train-images-idx3-ubyte.gz');
const TEST = path.join(FASHION_DIR, 't10k-images-idx3-ubyte.gz');
const LABELS = path.join(FASHION_DIR, 't10k-labels-idx1-ubyte.gz');
const DAMAGED = '/conv2/Conv_output_0';

describe('quantization analysis (Fashion-MNIST CNN)', function () {
  this.timeout(300000);
  let dir: string;
  let float: string;
  let good: QuantResult;
  let damaged: QuantResult;
  let report: QuantReport;
  const options = (o: Partial<AnalysisOptions> = {}): AnalysisOptions => ({ data: TEST, samples: 256, batchSize: 64, latencyRuns: 3, ...o });

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'analysis-'));
    float = path.join(dir, 'fashion_cnn.onnx');
    fs.copyFileSync(path.join(FIXTURES, 'fashion_cnn.onnx'), float);
    const settings = { calibration: TRAIN, perChannel: true, reduceRange: cpuHasVnni() === false, samples: 256, batchSize: 64 };
    good = await quantizeModel(float, resolveSettings(settings));
    // A range far too narrow for the second Conv's output (its values reach about 8).
    damaged = await quantizeModel(float, resolveSettings({ ...settings, tensorOverrides: { [DAMAGED]: { range: [0, 0.3] } } }), {
      output: path.join(dir, 'damaged.onnx'),
    });
    report = await analyzeQuantization(float, good.output, options({ labels: LABELS }));
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('streams SQNR as running sums equal to SQNR over the whole data', () => {
    const x = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i));
    const y = x.map((v, i) => v + 0.01 * Math.cos(3 * i));
    const acc = new ErrorAccumulator();
    for (let i = 0; i < 1000; i += 128) acc.add(x.subarray(i, i + 128), y.subarray(i, i + 128));
    assert.ok(Math.abs(acc.result().sqnr! - sqnr(x, y)) < 1e-9);
    const same = new ErrorAccumulator();
    same.add(x, x);
    const r = same.result();
    // Identical tensors: the reference definition's eps gives a finite ceiling, not Infinity.
    assert.ok(Number.isFinite(r.sqnr!) && r.sqnr! > 150, `${r.sqnr}`);
    assert.deepStrictEqual([r.mse, r.cosine, r.maxAbs], [0, 1, 0]);
  });

  it('puts a deliberately damaged layer first in the error ranking, with its clipping and sensitivity', async () => {
    const r = await analyzeQuantization(float, damaged.output, options({ sensitivity: true, sensitivitySamples: 64, latencyRuns: 0 }));
    const ranked = rankLayers(r.layers);
    console.log(
      `      ranking: ${ranked
        .slice(0, 3)
        .map((l) => `${l.tensor} ${l.local.sqnr!.toFixed(1)} dB`)
        .join(', ')}`,
    );
    assert.strictEqual(ranked[0].tensor, DAMAGED);
    const bad = ranked[0];
    assert.ok(bad.local.sqnr! < 10, `local ${bad.local.sqnr}`);
    assert.ok(bad.clippingRate! > 0.05, `clipping ${bad.clippingRate}`);
    assert.deepStrictEqual(
      bad.clipRange.map((v) => Math.round(v * 10) / 10),
      [0, 0.3],
    );
    assert.ok(bad.observed![1] > 2, `observed ${bad.observed}`);
    const healthy = report.layers.find((l) => l.tensor === DAMAGED)!;
    assert.ok(healthy.local.sqnr! > 30 && healthy.clippingRate! < 0.001, JSON.stringify(healthy.local));
    // Sensitivity: a tensor is quantized for the node reading it, so quantizing that node alone
    // (the Relu after the Conv) costs most, and the layer names it as the one to keep in float.
    assert.deepStrictEqual(bad.consumers, ['/Relu_1']);
    assert.strictEqual(r.sensitivity!.entries[0].node, '/Relu_1');
    assert.strictEqual(r.sensitivity!.entries[0].rank, 1);
    assert.ok(r.model.outputs[0].error.sqnr! < report.model.outputs[0].error.sqnr! - 10);
  });

  it('measures local and accumulated errors that make sense', async () => {
    const byName = new Map(report.layers.map((l) => [l.tensor, l]));
    // Graph order, every quantized activation matched, nothing unmatched.
    assert.deepStrictEqual(
      report.layers.map((l) => l.order),
      [...report.layers.map((l) => l.order)].sort((a, b) => a - b),
    );
    assert.deepStrictEqual(report.unmatched, []);
    assert.strictEqual(byName.get('input')!.order, 0);
    // The first quantized tensor has nothing upstream: accumulated = local.
    const input = byName.get('input')!;
    assert.strictEqual(input.local.sqnr, input.accumulated.sqnr);
    for (const l of report.layers) {
      assert.ok(l.accumulated.sqnr! > 25 && l.accumulated.cosine! > 0.99, `${l.tensor} ${JSON.stringify(l.accumulated)}`);
      assert.ok(l.histogram!.counts.reduce((a, b) => a + b, 0) + l.histogram!.below + l.histogram!.above === l.elements);
      assert.strictEqual(l.step, l.scale);
    }
    // Conv outputs carry their own rounding; the Conv+Relu pairs are compared after the fused Relu.
    const conv = byName.get('/conv1/Conv_output_0')!;
    assert.strictEqual(conv.fusedActivation, 'Relu');
    assert.ok(conv.local.sqnr! > 30 && conv.local.sqnr! < 60, `${conv.local.sqnr}`);
    // Data movement (MaxPool, Flatten) reuses its input's grid: its own Q/DQ changes nothing.
    assert.ok(byName.get('/Flatten_output_0')!.local.sqnr! > 150);
    // Downstream of quantized layers the accumulated error exceeds the layer's own.
    assert.ok(byName.get('/fc1/Gemm_output_0')!.accumulated.sqnr! < byName.get('/fc1/Gemm_output_0')!.local.sqnr!);
    const m = report.model;
    assert.ok(m.outputs[0].error.sqnr! > 25 && m.top1Agreement! > 0.95, JSON.stringify(m.outputs));
    assert.ok(m.accuracy!.float > 0.8 && Math.abs(m.accuracy!.float - m.accuracy!.quantized) < 0.03, JSON.stringify(m.accuracy));
    assert.strictEqual(m.fusion!.fused, 4);
    assert.ok(m.sizes.ratio < 0.4 && m.latency!.quantized.runs === 3 && m.latency!.float.p95Ms >= m.latency!.float.medianMs);
    assert.deepStrictEqual(report.settings, {
      data: report.settings.data,
      labels: LABELS,
      samples: 256,
      samplesUsed: 256,
      batchSize: 64,
      latencyRuns: 3,
      histogramBins: 64,
      executionProvider: 'cpu',
      sensitivity: false,
      sensitivitySamples: 0,
    });
    // Identical models: no Q/DQ to compare, outputs at the SQNR ceiling.
    const same = await analyzeQuantization(float, float, options({ reportFile: false, latencyRuns: 0 }));
    assert.strictEqual(same.layers.length, 0);
    assert.ok(same.model.outputs[0].error.sqnr! > 150 && same.model.top1Agreement === 1 && same.model.outputs[0].error.maxAbs === 0);
  });

  it('the clip share and the histogram agree: values the chart draws beyond the clip range are counted as clipped', () => {
    assert.ok(
      report.layers.some((l) => l.fusedActivation),
      'some layer has a fused activation',
    );
    for (const l of report.layers) {
      const h = l.histogram!;
      const lo = l.clipRange[0] - l.step / 2;
      const hi = l.clipRange[1] + l.step / 2;
      // Values in bins lying wholly beyond the grid's ends (and outside the edges) are certainly clipped.
      let beyond = h.below + h.above;
      h.counts.forEach((c, i) => {
        if (h.edges[i + 1] < lo || h.edges[i] > hi) beyond += c;
      });
      assert.ok(
        beyond / l.elements <= l.clippingRate! + 0.002,
        `${l.tensor}: the histogram has ${((100 * beyond) / l.elements).toFixed(2)}% beyond the clip range, the clip share says ${(100 * l.clippingRate!).toFixed(2)}%`,
      );
      assert.ok(
        (l.observed![0] >= lo - l.step && l.observed![1] <= hi + l.step) || l.clippingRate! > 0,
        `${l.tensor}: observed ${l.observed} beyond clip ${l.clipRange} with nothing clipped`,
      );
    }
  });

  it('carries every warning of the quantization into the report, and whether calibration was synthetic', async () => {
    const overflow = "bias 'fc1.bias' would overflow int32 on 3 channel(s): the scale of weight 'fc1.weight' was enlarged there so that it fits";
    const given: QuantResult = {
      ...good,
      settings: { ...good.settings, calibration: 'synthetic:16' },
      warnings: [...good.warnings, overflow, "the model's opset 9 was upgraded to 10"],
    };
    const r = await analyzeQuantization(float, good.output, options({ quantResult: given, samples: 64, latencyRuns: 0, reportFile: false }));
    for (const w of given.warnings) assert.ok(r.warnings.includes(`quantization: ${w}`), `${w} in ${JSON.stringify(r.warnings)}`);
    assert.strictEqual(r.quantSettings!.calibration, 'synthetic:16');
    assert.deepStrictEqual(parseQuantReport(JSON.parse(JSON.stringify(r))).warnings, r.warnings);
  });

  it('computes top-1 agreement only on class scores, not on an embedding', () => {
    const tensor = (dims: number[], data: Float32Array) => ({ dims, type: 'float32', data }) as unknown as import('../../src/core/runtime/session').ort.Tensor;
    const rows = (n: number, c: number, f: (r: number, k: number) => number) => Float32Array.from({ length: n * c }, (_, i) => f(Math.floor(i / c), i % c));
    const compare = (name: string, dims: number[], a: Float32Array, b: Float32Array, labels?: Int32Array) => {
      const o = new OutputComparison([name], labels && { values: labels, perSample: 1 });
      o.add({ [name]: tensor(dims, a) }, { [name]: tensor(dims, b) }, 0);
      return o;
    };
    const logits = rows(4, 10, (r, k) => (k === r ? 3 : Math.sin(r + k)));
    const noisy = logits.map((v, i) => v + 0.01 * Math.cos(i));
    assert.strictEqual(compare('logits', [4, 10], logits, noisy).top1Agreement(), 1);
    assert.deepStrictEqual(compare('logits', [4, 10], logits, noisy, Int32Array.from([0, 1, 2, 5])).accuracy(), { float: 0.75, quantized: 0.75 });
    // Named as an embedding: [1, 512] of features has no classes, whatever its values.
    const feats = rows(1, 512, (_r, k) => Math.sin(k * 0.37));
    const featsQ = feats.map((v, i) => v + 0.01 * Math.cos(i));
    assert.strictEqual(compare('embedding', [1, 512], feats, featsQ).top1Agreement(), null);
    assert.strictEqual(compare('pooler_output', [1, 512], feats, featsQ, Int32Array.from([3])).accuracy(), null);
    // Unit-length rows are an embedding normalised for cosine similarity, whatever the name.
    const unit = (x: Float32Array, c: number) => x.map((v, i) => v / Math.hypot(...x.subarray(Math.floor(i / c) * c, Math.floor(i / c) * c + c)));
    assert.strictEqual(
      compare(
        'output',
        [2, 128],
        unit(
          rows(2, 128, (r, k) => Math.cos(k + r)),
          128,
        ),
        unit(
          rows(2, 128, (r, k) => Math.cos(k + r) + 0.01),
          128,
        ),
      ).top1Agreement(),
      null,
    );
    // Confident softmax rows are nearly one-hot (length 1 too), yet probabilities: class scores.
    const probs = rows(2, 4, (r, k) => (k === r ? 0.9999 : 0.0001 / 3));
    assert.strictEqual(compare('output', [2, 4], probs, probs).top1Agreement(), 1);
    // Not rank 2, or a single column: no classes.
    assert.strictEqual(compare('logits', [2, 1], Float32Array.from([1, 2]), Float32Array.from([1, 2])).top1Agreement(), null);
    assert.strictEqual(
      compare(
        'logits',
        [1, 2, 5],
        rows(2, 5, (r, k) => r + k),
        rows(2, 5, (r, k) => r + k),
      ).top1Agreement(),
      null,
    );
  });

  it('finds weight errors at the rounding noise level (RMSE/step about 0.289), per channel', () => {
    const ints = report.weights.filter((w) => w.type !== 'int32');
    assert.strictEqual(ints.length, 4);
    for (const w of ints) {
      assert.ok(w.rmseOverStep! > 0.26 && w.rmseOverStep! < 0.31, `${w.tensor} ${w.rmseOverStep}`);
      assert.strictEqual(w.axis, 0);
      assert.strictEqual(w.scales.length, w.channelMin.length);
      w.channelMin.forEach((lo, c) => assert.ok(lo <= w.channelMax[c]));
    }
    assert.strictEqual(report.weights.find((w) => w.tensor === 'conv2.weight')!.scales.length, 32);
  });

  it('streams: the report does not grow with samples, progress comes per batch', async () => {
    const seen: number[] = [];
    const small = await analyzeQuantization(
      float,
      good.output,
      options({ samples: 64, reportFile: false, latencyRuns: 0, onProgress: (p) => p.stage === 'comparing' && seen.push(p.samples!) }),
    );
    const large = await analyzeQuantization(float, good.output, options({ samples: 512, reportFile: false, latencyRuns: 0 }));
    assert.deepStrictEqual(seen, [64]);
    const shape = (r: QuantReport) => JSON.stringify(r, (_k, v) => (typeof v === 'number' ? 0 : v)).length;
    assert.strictEqual(shape(small), shape(large));
    const l = (r: QuantReport) => r.layers.find((x) => x.tensor === DAMAGED)!.elements;
    assert.strictEqual(l(large), 8 * l(small));
  });

  it('keeps layers in float: by hand, and automatically until an output SQNR target is met', async () => {
    const before = report.model.outputs[0].error.sqnr!;
    const target = { kind: 'sqnr' as const, value: Math.ceil(before + 3) };
    const o = { data: TEST, samples: 256, batchSize: 64, latencyRuns: 3, sensitivitySamples: 64 };
    type Keep = Evaluation & { output?: string; signal?: AbortSignal; onEvent?: OnWorkflowEvent };
    const keep = async (what: string[] | typeof target, k: Keep) =>
      (
        await keepInFloatAndAnalyze({
          floatFile: float,
          previous: good,
          previousFile: defaultQuantResultFile(good.output),
          what,
          evaluation: k,
          output: k.output,
          signal: k.signal,
          onEvent: k.onEvent,
        })
      ).keep;
    const auto = await keep(target, o);
    console.log(
      `      target SQNR >= ${target.value} dB (all quantized: ${before.toFixed(1)} dB): kept ${auto.nodes.join(', ')} -> ${auto.achieved!.toFixed(1)} dB, +${auto.cost.sizeBytes} bytes, ${auto.cost.latencyMs!.toFixed(2)} ms`,
    );
    assert.strictEqual(auto.met, true);
    assert.ok(auto.achieved! >= target.value && auto.nodes.length >= 1 && auto.steps.length === auto.nodes.length);
    assert.ok(fs.existsSync(auto.output) && fs.existsSync(auto.output.replace(/\.onnx$/, '.quant.json')));
    assert.ok(auto.cost.sizeBytes > 0 && auto.after.bytes > auto.before.bytes);
    assert.ok(!fs.readdirSync(dir).some((f) => f.includes('search')), 'no scratch model left');
    const kept = parseQuantResult(JSON.parse(fs.readFileSync(auto.output.replace(/\.onnx$/, '.quant.json'), 'utf8')));
    for (const n of auto.nodes) assert.strictEqual(kept.nodes.find((d) => d.node === n)!.quantized, false);
    assert.match(kept.calibration!.source, /ranges reused/);
    // By hand: the named node is float in the new model, the rest as before.
    const hand = await keep(['/fc2/Gemm'], { ...o, output: path.join(dir, 'hand.onnx') });
    assert.deepStrictEqual(hand.nodes, ['/fc2/Gemm']);
    assert.ok(hand.after.outputSqnr! > hand.before.outputSqnr!);
    await assert.rejects(keep(['/nope'], o), /nothing changed: \/nope is not a node of fashion_cnn\.onnx/);
    // Cancelled after the model was written: it is taken away again.
    const controller = new AbortController();
    const late = path.join(dir, 'late.onnx');
    await assert.rejects(
      keep(['/fc2/Gemm'], {
        ...o,
        output: late,
        signal: controller.signal,
        onEvent: (e) => e.type === 'progress' && e.stage.startsWith('re-quantizing') && setImmediate(() => controller.abort()),
      }),
      /cancelled; nothing was written/,
    );
    assert.deepStrictEqual(
      fs.readdirSync(dir).filter((f) => f.startsWith('late')),
      [],
    );
  });

  it('compares the weights of a dynamic quantization (integer ops, Gemm weight stored transposed)', async () => {
    const tiny = path.join(dir, 'tiny_transformer.onnx');
    fs.copyFileSync(path.join(FIXTURES, 'tiny_transformer.onnx'), tiny);
    const q = await quantizeModel(tiny, resolveSettings({ mode: 'dynamic', calibration: TEST }));
    const r = await analyzeQuantization(tiny, q.output, options({ samples: 32, latencyRuns: 0, reportFile: false }));
    assert.deepStrictEqual(r.layers, []);
    assert.ok(r.unmatched.some((u) => /MatMulInteger/.test(u.tensor)));
    assert.ok(r.weights.length >= 10 && r.weights.some((w) => w.tensor === 'head.weight'));
    for (const w of r.weights) assert.ok(w.rmseOverStep! > 0.26 && w.rmseOverStep! < 0.31, `${w.tensor} ${w.rmseOverStep}`);
    assert.ok(r.model.outputs[0].error.sqnr! > 25);
  });

  it('refuses a pair that does not match and data for another model, with clear messages', async () => {
    fs.copyFileSync(path.join(FIXTURES, 'tiny_transformer.onnx'), path.join(dir, 'tiny.onnx'));
    await assert.rejects(analyzeQuantization(path.join(dir, 'tiny.onnx'), good.output, options()), /not made from this float model: only 0 of/);
    fs.copyFileSync(path.join(FIXTURES, 'mnist_cnn.onnx'), path.join(dir, 'mnist.onnx'));
    await assert.rejects(analyzeQuantization(path.join(dir, 'mnist.onnx'), good.output, options()), /weights are not those of this float model/);
    const wrong = path.join(dir, 'rgb.npy');
    writeNpy(wrong, '<f4', [4, 3, 32, 32], new Float32Array(4 * 3 * 32 * 32));
    await assert.rejects(
      analyzeQuantization(float, good.output, options({ data: wrong })),
      (e: Error) => /evaluation data does not fit the float model/.test(e.message) && /input/.test(e.message),
    );
  });

  it('leaves no report file when cancelled', async () => {
    const file = path.join(dir, 'cancelled.report.json');
    const controller = new AbortController();
    await assert.rejects(
      analyzeQuantization(
        float,
        good.output,
        options({ reportFile: file, signal: controller.signal, onProgress: (p) => p.stage === 'comparing' && controller.abort() }),
      ),
      /cancelled; no report was written/,
    );
    assert.ok(!fs.existsSync(file));
    assert.ok(!fs.readdirSync(dir).some((f) => f.endsWith('.tmp')));
  });

  it('reads labels from IDX and .npy, refusing what is not a vector of class indices', async () => {
    assert.deepStrictEqual(Array.from((await readLabels(LABELS, 5)).values), [9, 2, 1, 1, 6]);
    const npy = path.join(dir, 'labels.npy');
    writeNpy(npy, '<i8', [3], BigInt64Array.from([4n, 0n, 9n]));
    assert.deepStrictEqual(await readLabels(npy), { values: Int32Array.from([4, 0, 9]), perSample: 1 });
    writeNpy(npy, '<f4', [2], Float32Array.from([0.5, 1]));
    await assert.rejects(readLabels(npy), /label 0 is 0\.5, not a class index/);
    await assert.rejects(readLabels(TEST), /labels must be an IDX vector of ubyte/);
  });

  it('validates a report read back, naming a bad field', () => {
    const saved = JSON.parse(fs.readFileSync(good.output.replace(/\.onnx$/, '.report.json'), 'utf8'));
    assert.deepStrictEqual(parseQuantReport(saved), report);
    const bad = JSON.parse(JSON.stringify(saved));
    bad.layers[2].local.sqnr = 'NaN';
    assert.throws(() => parseQuantReport(bad), /layers\[2\]\.local\.sqnr must be a finite number/);
    bad.layers[2].local.sqnr = 1;
    bad.model.top1Agreement = 7;
    assert.throws(() => parseQuantReport(bad), /model\.top1Agreement must be between 0 and 1/);
    assert.throws(() => parseQuantReport({ ...saved, version: 2 }), /version must be 1/);
  });

  it('onnx-compress analyze prints the ranked table and writes the JSON and the offline HTML', async () => {
    const lines: string[] = [];
    const errors: string[] = [];
    const out = { log: (s: string) => lines.push(s), error: (s: string) => errors.push(s) };
    const json = path.join(dir, 'cli.report.json');
    const html = path.join(dir, 'cli.html');
    const code = await run(
      ['analyze', float, damaged.output, '--data', TEST, '--labels', LABELS, '--samples', '128', '--latency-runs', '2', '-o', json, '--html', html],
      out,
    );
    assert.strictEqual(code, 0, errors.join('\n'));
    const text = lines.join('\n');
    assert.match(text, /Layers, worst first by local SQNR/);
    const firstRow = text.split('\n').find((l) => /^\s+1\s/.test(l))!;
    assert.ok(firstRow.includes(DAMAGED), firstRow);
    assert.match(text, /top-1 agreement/);
    assert.match(text, /accuracy: float/);
    const saved = parseQuantReport(JSON.parse(fs.readFileSync(json, 'utf8')));
    assert.strictEqual(saved.settings.samplesUsed, 128);
    const page = fs.readFileSync(html, 'utf8');
    assert.doesNotMatch(page, /https?:\/\//);
    const data = /<script type="application\/json" id="quant-report">([\s\S]*?)<\/script>/.exec(page)!;
    assert.deepStrictEqual(JSON.parse(data[1]), JSON.parse(JSON.stringify(saved)));
    assert.match(page, /Content-Security-Policy" content="default-src 'none'/);
    // A report string cannot close the data element.
    writeReportHtml({ ...saved, warnings: ['</script><script>alert(1)</script>'] }, path.join(dir, 'hostile.html'));
    const hostile = fs.readFileSync(path.join(dir, 'hostile.html'), 'utf8');
    assert.ok(!hostile.includes('</script><script>alert(1)'));
    assert.throws(() => writeReportHtml(saved, path.join(dir, 'x.html'), dir), /dist\/report\.js is missing/);
    // Bad flags: exit code 2 with the reason.
    const usage: string[] = [];
    assert.strictEqual(
      await run(['analyze', float, good.output, '--data', TEST, '--target', 'speed:2'], { log: () => undefined, error: (s) => usage.push(s) }),
      2,
    );
    assert.match(usage.join('\n'), /--target: target 'speed:2' is not KIND:VALUE/);
  });
});

// Models past 2 GB, on small models that take the same paths: weights in external data (saved by
// writeModel with placement 'external') through every mode (static and dynamic quantization,
// keep in float, analysis, inspect), the switch to external data when an output would pass the
// protobuf limit (the limit lowered instead of writing 2 GiB), calibration split over several
// passes by its output budget, and the one error a missing data file gives.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { analyzeQuantization } from '../../src/core/analysis/analyze';
import { floatNameOf, matchModels } from '../../src/core/analysis/match';
import { defaultQuantResultFile } from '../../src/core/analysis/quantResultFile';
import { weightReports } from '../../src/core/analysis/weights';
import { openDataSource } from '../../src/core/data';
import { ModelWriteError } from '../../src/core/errors';
import { ExternalDataStore, isExternal } from '../../src/core/onnx/externalData';
import { nodeList } from '../../src/core/onnx/inspect';
import { readModel } from '../../src/core/onnx/model';
import { summarizeModel } from '../../src/core/onnx/summary';
import { allTensors } from '../../src/core/onnx/walk';
import { writeLimits, writeModel } from '../../src/core/onnx/write';
import { calibrate, splitByBudget } from '../../src/core/quant/calibrate';
import { quantizeModel } from '../../src/core/quant/pipeline';
import { calibrationTargets, planQuantization } from '../../src/core/quant/plan';
import { resolveSettings } from '../../src/core/quant/settings';
import { keepInFloatAndAnalyze } from '../../src/core/workflows/keepInFloatAndAnalyze';
import type { QuantResult, QuantSettings } from '../../src/shared/quantResult';
import { FIXTURES } from '../support/evaluate';
import { ort, runOrt } from '../support/helpers';

const FLOAT = path.join(FIXTURES, 'fashion_cnn.onnx');
const feeds = () => {
  const x = new Float32Array(2 * 28 * 28);
  for (let i = 0; i < x.length; i++) x[i] = ((i * 7919) % 256) / 255;
  return { input: new ort.Tensor('float32', x, [2, 1, 28, 28]) };
};

/** Counts ExternalDataStore.read calls while `work` runs. */
async function countingReads<T>(work: () => Promise<T>): Promise<{ value: T; reads: string[] }> {
  const reads: string[] = [];
  const original = ExternalDataStore.prototype.read;
  ExternalDataStore.prototype.read = function (this: ExternalDataStore, t) {
    reads.push(t.name ?? '');
    return original.call(this, t);
  };
  try {
    return { value: await work(), reads };
  } finally {
    ExternalDataStore.prototype.read = original;
  }
}

function externalCount(file: string): Promise<number> {
  return readModel(file).then((m) => [...allTensors(m.proto)].filter((v) => isExternal(v.tensor)).length);
}

describe('models past 2 GB (external data through every mode)', function () {
  this.timeout(300000);
  let dir: string;
  /** fashion_cnn with every tensor of 1 KiB or more in external data. */
  let ext: string;
  const settings = (o: Partial<QuantSettings> = {}) => resolveSettings({ mode: 'static', calibration: 'synthetic:32', batchSize: 8, ...o });

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'big-models-'));
    ext = path.join(dir, 'cnn.onnx');
    const w = await writeModel(await readModel(FLOAT), ext, { placement: 'external' });
    assert.ok(w.externalTensors >= 3 && fs.existsSync(`${ext}.data`), 'the fixture has weights past 1 KiB');
  });

  after(() => {
    writeLimits.protobuf = 2 ** 31 - 1;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('writeModel switches to external data past the protobuf limit', () => {
    it("'keep' and 'inline' asked: written with external data, the result's note says so, onnxruntime runs it identically", async () => {
      const model = await readModel(FLOAT);
      const expected = await runOrt(FLOAT, feeds());
      for (const placement of ['keep', 'inline'] as const) {
        const out = path.join(dir, `switch-${placement}.onnx`);
        const r = await writeModel(model, out, { placement, protobufLimit: 64 * 1024 });
        assert.ok(r.note, 'a note says why the placement changed');
        assert.match(
          r.note,
          /past the 64\.0 KiB protobuf limit, so tensors of 1024 bytes or more were written to the external data file switch-\w+\.onnx\.data/,
        );
        assert.strictEqual(/instead of inline as asked/.test(r.note), placement === 'inline');
        assert.ok(r.externalTensors > 0 && r.dataFile && fs.existsSync(r.dataFile));
        assert.ok(r.bytes < 64 * 1024, `the .onnx file (${r.bytes} bytes) is within the limit`);
        assert.deepStrictEqual(await runOrt(out, feeds()), expected);
      }
    });

    it('a model within the limit is written as asked, without a note', async () => {
      const r = await writeModel(await readModel(FLOAT), path.join(dir, 'within.onnx'), { placement: 'keep' });
      assert.strictEqual(r.note, undefined);
      assert.strictEqual(r.externalTensors, 0);
    });

    it('a model whose small tensors alone pass the limit is refused in one error, and nothing is written', async () => {
      const out = path.join(dir, 'refused.onnx');
      await assert.rejects(
        writeModel(await readModel(FLOAT), out, { placement: 'keep', protobufLimit: 16 }),
        (e: Error) => e instanceof ModelWriteError && /past the 16 B protobuf limit; it cannot be saved as ONNX/.test(e.message) && e.message.includes(out),
      );
      assert.ok(!fs.readdirSync(dir).some((f) => f.startsWith('refused') || f.startsWith('.refused')), fs.readdirSync(dir).join(' '));
    });
  });

  describe('static and dynamic quantization of a model with external data', () => {
    it('static: the same ranges, tensors and outputs as from the inline model, written with external data like its source', async () => {
      const a = await quantizeModel(FLOAT, settings(), { output: path.join(dir, 'inline.int8.onnx') });
      const { value: b, reads } = await countingReads(() => quantizeModel(ext, settings(), { output: path.join(dir, 'ext.int8.onnx') }));
      assert.deepStrictEqual(
        b.tensors.map((t) => [t.tensor, t.range, t.scale, t.zeroPoint]),
        a.tensors.map((t) => [t.tensor, t.range, t.scale, t.zeroPoint]),
      );
      assert.ok(b.verification.loads && b.verification.ran, b.verification.note);
      assert.deepStrictEqual(await runOrt(b.output, feeds()), await runOrt(a.output, feeds()));
      // Each external weight is read when it is quantized, not all up front and not again.
      const external = (await readModel(ext)).proto.graph!.initializer.filter(isExternal).map((t) => t.name);
      assert.ok(reads.length > 0 && reads.every((n) => external.includes(n)), reads.join(' '));
      assert.strictEqual(new Set(reads).size, reads.length, `each tensor read once: ${reads.join(' ')}`);
      assert.ok(!b.warnings.some((w) => /protobuf limit/.test(w)), 'no switch within the limit');
      // Weights kept outside stay outside: onnxruntime then loads the output tensor by tensor.
      assert.strictEqual(await externalCount(a.output), 0);
      assert.ok((await externalCount(b.output)) >= 2 && fs.existsSync(`${b.output}.data`));
    });

    it('dynamic: the same tensors and outputs as from the inline model', async () => {
      const s = resolveSettings({ mode: 'dynamic', calibration: 'synthetic:8' });
      const a = await quantizeModel(FLOAT, s, { output: path.join(dir, 'inline.dyn.onnx') });
      const b = await quantizeModel(ext, s, { output: path.join(dir, 'ext.dyn.onnx') });
      assert.deepStrictEqual(
        b.tensors.map((t) => [t.tensor, t.scale, t.zeroPoint]),
        a.tensors.map((t) => [t.tensor, t.scale, t.zeroPoint]),
      );
      assert.ok(b.verification.ran, b.verification.note);
      assert.deepStrictEqual(await runOrt(b.output, feeds()), await runOrt(a.output, feeds()));
    });

    it('an output past the limit is written with external data, verified, and the result warns', async () => {
      writeLimits.protobuf = 16 * 1024;
      try {
        // An inline float model: the int8 output would be written inline, and is past the limit.
        for (const mode of ['static', 'dynamic'] as const) {
          const out = path.join(dir, `limited.${mode}.onnx`);
          const r = await quantizeModel(FLOAT, settings({ mode }), { output: out });
          assert.ok(
            r.warnings.some((w) => /past the 16\.0 KiB protobuf limit/.test(w) && w.includes(`limited.${mode}.onnx.data`)),
            r.warnings.join('\n'),
          );
          assert.ok(r.verification.loads && r.verification.ran, r.verification.note);
          assert.ok(fs.statSync(out).size < 16 * 1024 && (await externalCount(out)) > 0);
          assert.ok(r.sizes.outputBytes > fs.statSync(out).size, 'the size counts the data file');
          await runOrt(out, feeds());
        }
      } finally {
        writeLimits.protobuf = 2 ** 31 - 1;
      }
    });

    it('a missing data file stops the run in one error naming the tensor and the file; nothing is written', async () => {
      const lone = path.join(dir, 'lone');
      fs.mkdirSync(lone);
      fs.copyFileSync(ext, path.join(lone, 'cnn.onnx'));
      await assert.rejects(quantizeModel(path.join(lone, 'cnn.onnx'), settings()), (e: Error) => {
        assert.match(e.message, /tensor '[^']+': external data file 'cnn\.onnx\.data' is missing \(looked for .*lone.cnn\.onnx\.data\)/);
        assert.strictEqual(e.message.split('\n').length, 1);
        return true;
      });
      assert.deepStrictEqual(fs.readdirSync(lone), ['cnn.onnx']);
    });
  });

  describe('analysis, keep in float and inspect read external data', () => {
    it('analyze compares the external float model with its quantized model', async () => {
      const q = await quantizeModel(ext, settings(), { output: path.join(dir, 'an.int8.onnx') });
      const report = await analyzeQuantization(ext, q.output, { data: 'synthetic:16', samples: 16, latencyRuns: 2, reportFile: false, quantResult: q });
      assert.ok(report.layers.length > 0);
      assert.ok(
        report.weights.every((w) => (w.error.sqnr ?? 0) > 20),
        'the weights read from the data file match',
      );
      assert.ok(report.model.latency, 'plain sessions of both models ran');
    });

    it('matching the models reads no weight; the weight report reads each one once, one at a time', async () => {
      const q = await quantizeModel(ext, settings(), { output: path.join(dir, 'm.int8.onnx') });
      const [float, quant] = [await readModel(ext), await readModel(q.output)];
      const { value: match, reads } = await countingReads(async () => matchModels(float, quant, floatNameOf(q.quantizedNames)));
      assert.deepStrictEqual(reads, []);
      assert.ok(match.weights.length >= 3);
      const { value: weights, reads: reportReads } = await countingReads(async () => weightReports(float, match.weights, []));
      assert.strictEqual(weights.length, match.weights.length);
      assert.ok(reportReads.length > 0 && new Set(reportReads).size === reportReads.length, reportReads.join(' '));
    });

    const keep = (floatFile: string, q: QuantResult, output: string) =>
      keepInFloatAndAnalyze({
        floatFile,
        previous: q,
        previousFile: defaultQuantResultFile(q.output),
        what: [q.nodes.find((n) => n.quantized && n.opType === 'Conv')!.node],
        evaluation: { data: 'synthetic:16', samples: 16, latencyRuns: 0, sensitivity: false },
        output,
      });

    it('keep in float from an external float model writes external data like the model it starts from', async () => {
      const q = await quantizeModel(ext, settings(), { output: path.join(dir, 'kf.int8.onnx') });
      const output = path.join(dir, 'kf.keep.onnx');
      const { keep: k } = await keep(ext, q, output);
      assert.strictEqual(k.nodes.length, 1);
      assert.ok(fs.existsSync(`${output}.data`) && (await externalCount(output)) >= 2);
      await runOrt(output, feeds());
    });

    it('keep in float past the limit: the output has external data and one note naming its data file', async () => {
      const q = await quantizeModel(FLOAT, settings(), { output: path.join(dir, 'kfi.int8.onnx') });
      assert.strictEqual(await externalCount(q.output), 0);
      writeLimits.protobuf = 16 * 1024;
      try {
        const output = path.join(dir, 'kfi.keep.onnx');
        await keep(FLOAT, q, output);
        assert.ok(fs.existsSync(`${output}.data`) && (await externalCount(output)) > 0);
        const result = JSON.parse(fs.readFileSync(defaultQuantResultFile(output), 'utf8')) as { warnings: string[] };
        const notes = result.warnings.filter((w) => /protobuf limit/.test(w));
        assert.strictEqual(notes.length, 1, result.warnings.join('\n'));
        assert.ok(notes[0].includes('external data file kfi.keep.onnx.data'), notes[0]);
        assert.ok(!fs.readdirSync(dir).some((f) => /tmp|^\.kfi/.test(f)), fs.readdirSync(dir).join(' '));
        await runOrt(output, feeds());
      } finally {
        writeLimits.protobuf = 2 ** 31 - 1;
      }
    });

    it('summary reads no external data; the node list probes shapes through the data file', async () => {
      const model = await readModel(ext);
      const { value: summary, reads } = await countingReads(async () => summarizeModel(model));
      assert.deepStrictEqual(reads, []);
      const inline = summarizeModel(await readModel(FLOAT)).parameters;
      assert.deepStrictEqual(
        [summary.parameters.tensors, summary.parameters.elements, summary.parameters.bytes],
        [inline.tensors, inline.elements, inline.bytes],
      );
      assert.ok(summary.parameters.external.tensors >= 3);
      const nodes = await nodeList(model);
      assert.strictEqual(nodes.probeFailure, undefined);
      assert.ok(nodes.nodes.every((n) => n.outputs.every((o) => o.shape !== null)));
    });
  });

  describe('calibration within an output budget', () => {
    for (const method of ['minmax', 'percentile'] as const) {
      it(`${method}: a tiny budget splits the observed tensors over several passes and gives exactly the ranges of one`, async () => {
        const model = await readModel(ext);
        const s = settings({ method });
        const tensors = calibrationTargets(planQuantization(model, s));
        assert.ok(tensors.length >= 4);
        const data = await openDataSource(s.calibration, model);
        const one = await calibrate(model, tensors, data, s);
        const progress: Array<[number, number]> = [];
        const split = await calibrate(model, tensors, data, s, { outputBudget: 8, onProgress: (p) => progress.push([p.pass, p.passes]) });
        const methodPasses = method === 'minmax' ? 1 : 2;
        assert.strictEqual(one.passes, methodPasses);
        assert.ok(split.passes > methodPasses * 2, `${split.passes} passes`);
        assert.deepStrictEqual(new Set(progress.map(([p, n]) => `${p + 1}/${n}`)).size, split.passes, 'progress counts every pass');
        assert.deepStrictEqual(
          [...split.ranges].map(([t, r]) => [t, r.rmin, r.rmax]),
          [...one.ranges].map(([t, r]) => [t, r.rmin, r.rmax]),
        );
        assert.deepStrictEqual([split.samples, split.batches], [one.samples, one.batches]);
        // A group's histogram pass sees the values its range pass measured: none falls outside.
        assert.deepStrictEqual(
          [...split.ranges.values()].filter((r) => /outside/.test(r.note ?? '')),
          [],
        );
      });
    }

    it('the QuantResult records the passes and warns; the model is the one a single pass gives', async () => {
      const a = await quantizeModel(ext, settings(), { output: path.join(dir, 'budget-a.onnx') });
      const b = await quantizeModel(ext, settings(), { output: path.join(dir, 'budget-b.onnx'), calibrationBudget: 8 });
      assert.strictEqual(a.calibration!.passes, 1);
      assert.ok(b.calibration!.passes! > 1);
      assert.ok(
        b.warnings.some((w) => w.startsWith(`calibration read the data ${b.calibration!.passes} times instead of 1`)),
        b.warnings.join('\n'),
      );
      assert.deepStrictEqual(
        b.tensors.map((t) => [t.tensor, t.range]),
        a.tensors.map((t) => [t.tensor, t.range]),
      );
    });

    it('splitByBudget keeps the order, fills each group up to the budget, and gives a lone oversized item its own group', () => {
      assert.deepStrictEqual(
        splitByBudget([1, 2, 3, 10, 1, 1], (x) => x, 4),
        [[1, 2], [3], [10], [1, 1]],
      );
      assert.deepStrictEqual(
        splitByBudget([], (x: number) => x, 4),
        [[]],
      );
    });
  });
});

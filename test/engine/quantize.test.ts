// Quantization end to end on real models: the trained fixtures (accuracy on the 10k test set),
// every calibration method, dynamic quantization of the transformer, the PP-OCR models,
// and the CLI — each output loaded, fused and run by onnxruntime-node.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { sqnr } from '../../src/core/analysis/metrics';
import { readModelSync } from '../support/helpers';
import { quantizeModel } from '../../src/core/quant/pipeline';
import { resolveSettings } from '../../src/core/quant/settings';
import { createSession, ort } from '../../src/core/runtime/session';
import { openDataSource } from '../../src/core/data';
import { seededRandom } from '../../src/core/random';
import { PNG } from 'pngjs';
import { DataType } from '../../src/core/onnx/dataTypes';
import { valueInfo } from '../fixtures/builder';
import { parseQuantResult } from '../../src/shared/quantResult';
import { run } from '../../src/cli/main';
import { cpuHasVnni } from '../../src/core/runtime/cpu';
import { accuracy, FASHION_DIR, FIXTURES, fashionTestSet, predict, type LabeledImages } from '../support/evaluate';
import { realModel } from '../support/browser';

const FASHION_TRAIN = path.join(FASHION_DIR, 'train-images-idx3-ubyte.gz');

describe('quantization on real models', function () {
  this.timeout(300000);
  let dir: string;
  let test: LabeledImages;
  let floatAccuracy: number;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quantize-'));
    for (const f of ['fashion_cnn.onnx', 'tiny_transformer.onnx']) fs.copyFileSync(path.join(FIXTURES, f), path.join(dir, f));
    test = fashionTestSet();
    floatAccuracy = accuracy((await predict(path.join(dir, 'fashion_cnn.onnx'), test)).top1, test.labels);
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('static int8 per-channel MinMax keeps Fashion-MNIST top-1 within 0.5 points of float, fused', async () => {
    // These machines have no VNNI: onnxruntime's x86 uint8 x int8 kernels then sum in saturating
    // int16 (0.5 points lost on this CNN); 7-bit weights avoid it, as the reference tool advises.
    const settings = resolveSettings({ calibration: FASHION_TRAIN, perChannel: true, reduceRange: cpuHasVnni() === false, samples: 512, batchSize: 64 });
    const r = await quantizeModel(path.join(dir, 'fashion_cnn.onnx'), settings);
    assert.strictEqual(r.output, path.join(dir, 'fashion_cnn.int8.onnx'));
    const q = accuracy((await predict(r.output, test)).top1, test.labels);
    console.log(
      `      fashion_cnn: float ${floatAccuracy.toFixed(2)}%, int8 ${q.toFixed(2)}%, size ${(r.sizes.ratio * 100).toFixed(1)}%, fused ${r.fusion!.fused}/${r.fusion!.candidates}`,
    );
    assert.ok(floatAccuracy - q <= 0.5, `int8 ${q}% vs float ${floatAccuracy}%`);
    assert.strictEqual(r.fusion!.fused, r.fusion!.candidates, JSON.stringify(r.fusion!.unfused));
    assert.ok(r.fusion!.candidates >= 3);
    assert.ok(r.sizes.ratio < 0.4, `size ratio ${r.sizes.ratio}`);
    assert.deepStrictEqual(r.verification, { loads: true, ran: true, note: 'loads and runs on a calibration batch' });
    assert.strictEqual(r.calibration!.samples, 512);
    // Every setting is echoed; the result file is the one returned.
    const saved = parseQuantResult(JSON.parse(fs.readFileSync(path.join(dir, 'fashion_cnn.int8.quant.json'), 'utf8')));
    assert.deepStrictEqual(saved.settings, { ...settings, executionProvider: 'cpu' });
    assert.ok(
      saved.tensors.some((t) => t.kind === 'weight' && t.axis === 0 && t.scale.length > 1),
      'per-channel weights with axis 0',
    );
    assert.ok(saved.tensors.some((t) => t.kind === 'bias' && t.type === 'int32'));
  });

  for (const method of ['minmax', 'percentile', 'entropy', 'mse'] as const) {
    it(`calibrates with ${method} into a model that loads, runs and keeps accuracy`, async () => {
      const out = path.join(dir, `fashion_${method}.onnx`);
      const r = await quantizeModel(path.join(dir, 'fashion_cnn.onnx'), resolveSettings({ calibration: FASHION_TRAIN, method, samples: 256, batchSize: 64 }), {
        output: out,
        resultFile: false,
      });
      assert.ok(r.verification.ran, r.verification.note);
      const q = accuracy((await predict(out, test)).top1, test.labels);
      console.log(`      ${method}: ${q.toFixed(2)}% (float ${floatAccuracy.toFixed(2)}%)`);
      // KL thresholds clip the long tails that ReLU layers of a small CNN rely on: entropy is the
      // method for wide, peaked distributions, not a default here; it must still stay usable.
      assert.ok(floatAccuracy - q < (method === 'entropy' ? 15 : 1), `${method}: ${q}%`);
    });
  }

  it('uint16 activations (com.microsoft Q/DQ at opset 13) keep accuracy and say why nothing fuses', async () => {
    const out = path.join(dir, 'fashion_u16.onnx');
    const r = await quantizeModel(
      path.join(dir, 'fashion_cnn.onnx'),
      resolveSettings({ calibration: FASHION_TRAIN, activationType: 'uint16', samples: 256, batchSize: 64 }),
      { output: out, resultFile: false },
    );
    assert.ok(r.verification.ran, r.verification.note);
    const ops = readModelSync(out)
      .proto.graph!.node.filter((n) => n.op_type === 'QuantizeLinear')
      .map((n) => n.domain);
    assert.ok(ops.length > 0 && ops.every((d) => d === 'com.microsoft'), 'contrib-domain Q/DQ below opset 21');
    const q = accuracy((await predict(out, test)).top1, test.labels);
    console.log(`      uint16 activations: ${q.toFixed(2)}% (float ${floatAccuracy.toFixed(2)}%)`);
    assert.ok(Math.abs(floatAccuracy - q) < 0.3);
    assert.ok(r.fusion!.unfused.every((u) => /8-bit Q\/DQ only/.test(u.reason)));
  });

  it('quantizes Conv dynamically only when asked, with the warning that static suits CNNs', async () => {
    const out = path.join(dir, 'fashion_dynamic.onnx');
    const r = await quantizeModel(path.join(dir, 'fashion_cnn.onnx'), resolveSettings({ mode: 'dynamic', opTypes: ['Conv', 'Gemm'] }), {
      output: out,
      resultFile: false,
    });
    assert.ok(r.verification.ran, r.verification.note);
    assert.deepStrictEqual(r.fusion!.integerOps, { ConvInteger: 2, DynamicQuantizeMatMul: 2 });
    assert.ok(r.warnings.some((w) => /ConvInteger.*static quantization is the better choice for CNNs/.test(w)));
    const q = accuracy((await predict(out, test)).top1, test.labels);
    console.log(`      dynamic with Conv: ${q.toFixed(2)}% (float ${floatAccuracy.toFixed(2)}%)`);
    assert.ok(floatAccuracy - q < 1);
    const byDefault = await quantizeModel(path.join(dir, 'fashion_cnn.onnx'), resolveSettings({ mode: 'dynamic' }), {
      output: path.join(dir, 'fashion_dyn2.onnx'),
      resultFile: false,
    });
    assert.ok(!byDefault.nodes.some((n) => n.opType === 'Conv'), 'Conv is not a default op type of dynamic mode');
  });

  it('dynamic int8 of the transformer keeps output SQNR above 25 dB', async () => {
    const r = await quantizeModel(path.join(dir, 'tiny_transformer.onnx'), resolveSettings({ mode: 'dynamic' }), { resultFile: false });
    assert.ok(r.nodes.filter((n) => n.quantized).length >= 4, 'the MatMul/Gemm with constant weights are quantized');
    const subset: LabeledImages = { images: test.images.subarray(0, 1000 * 784), labels: test.labels.subarray(0, 1000), count: 1000 };
    const f = await predict(path.join(dir, 'tiny_transformer.onnx'), subset);
    const q = await predict(r.output, subset);
    const db = sqnr(f.logits, q.logits);
    console.log(`      tiny_transformer dynamic int8: output SQNR ${db.toFixed(1)} dB, integer ops ${JSON.stringify(r.fusion!.integerOps)}`);
    assert.ok(db > 25, `SQNR ${db} dB`);
  });

  /** Runs float and quantized models on the same batch; the SQNR of `tensor` (default output 0). */
  async function tensorSqnr(floatFile: string, quantFile: string, feeds: Record<string, ort.Tensor>, tensor?: string): Promise<number> {
    const outputs: Float32Array[] = [];
    for (const file of [floatFile, quantFile]) {
      const model = readModelSync(file);
      if (tensor) model.proto.graph!.output.push(valueInfo(tensor, DataType.FLOAT));
      const s = await createSession(model);
      const o = await s.run(feeds);
      outputs.push(o[tensor ?? s.outputNames[0]].data as Float32Array);
      await s.release();
    }
    return sqnr(outputs[0], outputs[1]);
  }

  /** Pages of dark text-like bars on a light background, the kind of input an OCR model expects. */
  function textImages(folder: string, count: number, width: number, height: number, seed: number): string {
    fs.mkdirSync(folder, { recursive: true });
    const random = seededRandom(seed);
    for (let k = 0; k < count; k++) {
      const png = new PNG({ width, height });
      png.data.fill(235);
      for (let line = 8; line + 10 < height; line += 16) {
        for (let x = 6 + Math.floor(random() * 10); x < width - 12; x += 14 + Math.floor(random() * 8)) {
          const w = 6 + Math.floor(random() * 8);
          for (let y = line; y < line + 9; y++) for (let dx = 0; dx < w; dx++) png.data.fill(25, (y * width + x + dx) * 4, (y * width + x + dx) * 4 + 3);
        }
      }
      fs.writeFileSync(path.join(folder, `page${k}.png`), PNG.sync.write(png));
    }
    return folder;
  }

  // Both outputs are probabilities (the detector's Sigmoid map, the recognizer's Softmax over 6,625
  // characters), saturated or peaked: the error is measured on the logits just before them.
  const REAL: Array<[string, number, number, string | undefined, number]> = [
    ['ch_PP-OCRv4_det_infer.onnx', 128, 96, 'p2o.Add.281', 12],
    // The recognizer's CNN backbone alone already loses ~7 dB on these synthetic pages with 8
    // calibration images: finding the sensitive layers is the per-layer analysis' job.
    ['ch_PP-OCRv4_rec_infer.onnx', 160, 48, 'p2o.Add.277', 6],
  ];
  for (const [file, width, height, tensor, minDb] of REAL) {
    it(`quantizes ${file} (weights in Constant nodes): loads, fuses, SQNR above ${minDb} dB on an unseen image`, async () => {
      const src = path.join(dir, file);
      fs.copyFileSync(realModel(file), src);
      const calib = textImages(path.join(dir, `${file}-calib`), 8, width, height, 1);
      const r = await quantizeModel(src, resolveSettings({ calibration: calib, perChannel: true, batchSize: 1 }), { resultFile: false });
      assert.ok(r.verification.ran, r.verification.note);
      assert.ok(r.tensors.filter((t) => t.kind === 'weight').length > 30, 'Constant-node weights are quantized');
      const unseen = await openDataSource(textImages(path.join(dir, `${file}-eval`), 1, width, height, 99), readModelSync(src));
      let feeds: Record<string, ort.Tensor> | undefined;
      for await (const b of unseen.batches({ batchSize: 1 })) feeds = b;
      const db = await tensorSqnr(src, r.output, feeds!, tensor);
      console.log(
        `      ${file}: ${r.nodes.filter((n) => n.quantized).length} nodes quantized, fused ${r.fusion!.fused}/${r.fusion!.candidates}, size ${(r.sizes.ratio * 100).toFixed(0)}%, SQNR ${db.toFixed(1)} dB at ${tensor ?? 'the output'}`,
      );
      assert.ok(r.fusion!.fused >= r.fusion!.candidates - 2, `fused ${r.fusion!.fused} of ${r.fusion!.candidates}: ${JSON.stringify(r.fusion!.unfused)}`);
      assert.ok(db > minDb, `SQNR ${db}`);
    });
  }

  it('quantizes from the command line and replays a recipe', async () => {
    const lines: string[] = [];
    const out = { log: (s: string) => lines.push(s), error: (s: string) => lines.push(s) };
    const target = path.join(dir, 'cli.int8.onnx');
    const result = path.join(dir, 'cli.json');
    const code = await run(
      [
        'quantize',
        path.join(dir, 'fashion_cnn.onnx'),
        '--calib',
        FASHION_TRAIN,
        '--samples',
        '128',
        '--per-channel',
        '--exclude',
        '/Gemm/',
        '--exclude',
        'nothing-matches-this',
        '-o',
        target,
        '--result',
        result,
      ],
      out,
    );
    assert.strictEqual(code, 0, lines.join('\n'));
    const text = lines.join('\n');
    assert.match(text, /wrote .*cli\.int8\.onnx/);
    assert.match(text, /the pattern 'nothing-matches-this' matches no node/);
    const r = parseQuantResult(JSON.parse(fs.readFileSync(result, 'utf8')));
    assert.ok(r.nodes.some((n) => n.opType === 'Gemm' && !n.quantized && /excluded by/.test(n.reason)));
    assert.deepStrictEqual(r.unmatchedPatterns, ['nothing-matches-this']);
    // The result replays as a recipe.
    const again = path.join(dir, 'replay.onnx');
    assert.strictEqual(
      await run(['quantize', path.join(dir, 'fashion_cnn.onnx'), '--recipe', result, '-o', again, '--result', path.join(dir, 'replay.json')], out),
      0,
    );
    const replay = parseQuantResult(JSON.parse(fs.readFileSync(path.join(dir, 'replay.json'), 'utf8')));
    assert.deepStrictEqual(replay.settings, r.settings);
  });

  it('refuses bad requests with a clear message and writes nothing', async () => {
    const lines: string[] = [];
    const out = { log: (s: string) => lines.push(s), error: (s: string) => lines.push(s) };
    const src = path.join(dir, 'fashion_cnn.onnx');
    const before = fs.readdirSync(dir).sort();
    assert.strictEqual(await run(['quantize', src], out), 2, 'no --calib');
    assert.strictEqual(await run(['quantize', src, '--calib', 'synthetic', '--method', 'best'], out), 2);
    assert.strictEqual(await run(['quantize', src, '--calib', 'synthetic', '-o', src], out), 1);
    assert.match(lines.join('\n'), /output path is the input model/);
    assert.strictEqual(await run(['quantize', src, '--calib', 'synthetic', '--op-types', 'LSTM'], out), 1);
    assert.match(lines.join('\n'), /no node to quantize/);
    assert.strictEqual(await run(['quantize', src, '--calib', 'synthetic', '--activation-type', 'int8', '--weight-type', 'uint8'], out), 1);
    assert.deepStrictEqual(fs.readdirSync(dir).sort(), before, 'nothing written');
  });

  it('stops when cancelled and leaves nothing behind', async () => {
    const controller = new AbortController();
    const src = path.join(dir, 'fashion_cnn.onnx');
    const before = fs.readdirSync(dir).sort();
    const p = quantizeModel(src, resolveSettings({ calibration: FASHION_TRAIN, samples: 4096, batchSize: 32 }), {
      output: path.join(dir, 'cancelled.onnx'),
      signal: controller.signal,
      onProgress: (_s, d) => {
        if (d && d.batch === 3) controller.abort();
      },
    });
    await assert.rejects(p, /cancelled/);
    assert.deepStrictEqual(fs.readdirSync(dir).sort(), before);
  });
});

describe('per-op per-channel control and per-tensor overrides', function () {
  this.timeout(120000);
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'overrides-'));
    fs.copyFileSync(path.join(FIXTURES, 'fashion_cnn.onnx'), path.join(dir, 'fashion_cnn.onnx'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('quantizes Conv weights per channel and Gemm per tensor, and applies fixed parameters and ranges', async () => {
    const plain = await quantizeModel(path.join(dir, 'fashion_cnn.onnx'), resolveSettings({ calibration: FASHION_TRAIN, samples: 64 }), {
      output: path.join(dir, 'plain.onnx'),
      resultFile: false,
    });
    const input = plain.tensors.find((t) => t.kind === 'activation' && t.tensor === 'input')!;
    const other = plain.tensors.find((t) => t.kind === 'activation' && t.tensor !== 'input')!;
    const settings = resolveSettings({
      calibration: FASHION_TRAIN,
      samples: 64,
      perChannelOpTypes: ['Conv'],
      tensorOverrides: { input: { scale: 0.005, zeroPoint: 10 }, [other.tensor]: { range: [-1, 3] }, missing: { symmetric: true } },
    });
    const r = await quantizeModel(path.join(dir, 'fashion_cnn.onnx'), settings, { output: path.join(dir, 'custom.onnx'), resultFile: false });
    const weights = r.tensors.filter((t) => t.kind === 'weight');
    assert.deepStrictEqual(weights.map((w) => w.axis).sort(), [0, 0, null, null], 'two Conv weights on axis 0, two Gemm weights per tensor');
    assert.ok(r.nodes.filter((n) => n.opType === 'Conv').every((n) => /per channel/.test(n.reason)));
    assert.ok(r.nodes.filter((n) => n.opType === 'Gemm').every((n) => /per tensor/.test(n.reason)));
    const fixed = r.tensors.find((t) => t.tensor === 'input')!;
    assert.deepStrictEqual([fixed.scale[0], fixed.zeroPoint[0], fixed.rangeSource], [Math.fround(0.005), 10, 'override: fixed scale and zero point']);
    assert.notDeepStrictEqual(input.scale, fixed.scale);
    const ranged = r.tensors.find((t) => t.tensor === other.tensor)!;
    assert.deepStrictEqual([ranged.range, ranged.rangeSource], [[-1, 3], 'override: range']);
    assert.ok(r.warnings.includes("the override of 'missing' applies to no quantized tensor"));
    assert.ok(r.verification.ran && r.fusion!.fused === r.fusion!.candidates);
    assert.throws(() => resolveSettings({ tensorOverrides: { x: { scale: 0.1 } } }), /scale and zeroPoint together/);
    assert.throws(() => resolveSettings({ tensorOverrides: { x: { scale: 0.1, zeroPoint: 300 } } }), /zeroPoint must be an integer in \[0, 255\]/);
  });

  it("a weight's override type is the type it is stored in (16 bits for one layer, 8 for the rest); 16-bit weights are refused in dynamic mode", async () => {
    const src = path.join(dir, 'fashion_cnn.onnx');
    const plain = await quantizeModel(src, resolveSettings({ calibration: FASHION_TRAIN, samples: 32 }), {
      output: path.join(dir, 'w8.onnx'),
      resultFile: false,
    });
    const first = plain.tensors.find((t) => t.kind === 'weight')!.tensor;
    const r = await quantizeModel(src, resolveSettings({ calibration: FASHION_TRAIN, samples: 32, tensorOverrides: { [first]: { type: 'int16' } } }), {
      output: path.join(dir, 'w16.onnx'),
      resultFile: false,
    });
    const types = Object.fromEntries(r.tensors.filter((t) => t.kind === 'weight').map((t) => [t.tensor, t.type]));
    assert.strictEqual(types[first], 'int16', JSON.stringify(types));
    assert.ok(
      Object.entries(types).every(([t, type]) => t === first || type === 'int8'),
      JSON.stringify(types),
    );
    const stored = readModelSync(path.join(dir, 'w16.onnx')).proto.graph!.initializer.filter((t) => t.data_type === DataType.INT16);
    // The weight and its zero point, nothing else.
    assert.deepStrictEqual(stored.map((t) => t.name).sort(), [`${first}_quantized`, `${first}_zero_point`]);
    assert.ok(r.verification.ran, r.verification.note);
    assert.throws(
      () => resolveSettings({ mode: 'dynamic', weightType: 'int16' }),
      /dynamic mode writes MatMulInteger\/ConvInteger, which take 8-bit weights only/,
    );
  });
});

// Half-precision conversion (--mode fp16|bf16) of the repository's models, run in onnxruntime-node
// on the CPU: output SQNR against the float model, size, IO types, no Cast chains, refusals, CLI.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DataType } from '../../src/core/onnx/dataTypes';
import { castChains } from '../../src/core/quant/halfPrecision/casts';
import { storedFloatElements } from '../../src/core/quant/halfPrecision';
import { quantizeModel } from '../../src/core/quant/pipeline';
import { resolveSettings } from '../../src/core/quant/settings';
import { parseQuantResult, type QuantResult, type QuantSettings } from '../../src/shared/quantResult';
import { audioLike } from '../support/audio';
import { realModel } from '../support/browser';
import { cli } from '../support/cliRun';
import { readModelSync } from '../support/helpers';
import { writeNpy, writeNpz } from '../support/npyWriter';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const MIN_SQNR_DB = 45;
const MAX_RATIO = 0.52;

/** Silero VAD feeds: one 512-sample chunk with a zero state, named as each export names them. */
function writeSilero(file: string, model: string, seed: number): void {
  const input = { descr: '<f4', shape: [1, 512], data: audioLike(seed, 512) };
  const sr = { descr: '<i8', shape: [], data: BigInt64Array.of(16000n) };
  const state = (n: number) => ({ descr: '<f4', shape: [2, 1, n], data: new Float32Array(2 * n) });
  if (model === 'silero_vad_legacy.onnx') writeNpz(file, { input, sr, h: state(64), c: state(64) });
  else if (model === 'silero_vad_half.onnx') writeNpz(file, { input, state: state(128) });
  else writeNpz(file, { input, state: state(128), sr });
}

/** A page with rows of dark strokes, normalized as PP-OCR expects: the detector finds text in it. */
function writeTextImage(file: string): void {
  const S = 160;
  const x = new Float32Array(3 * S * S);
  for (let c = 0; c < 3; c++) {
    for (let h = 0; h < S; h++) {
      for (let w = 0; w < S; w++) x[c * S * S + h * S + w] = h > 40 && h < 70 && w > 10 && w < 150 && (w % 7 < 2 || h % 10 < 2 || (w + h) % 11 < 2) ? -2 : 2.2;
    }
  }
  writeNpy(file, '<f4', [1, 3, S, S], x);
}

interface Fixture {
  file: string;
  /** Writes the data file the verification runs on (default: synthetic inputs). */
  data?: (file: string) => void;
  ext?: string;
}

const silero = (name: string): Fixture => ({ file: realModel(name), data: (f) => writeSilero(f, name, 7), ext: '.npz' });

const FIXTURES: Fixture[] = [
  { file: path.join(ROOT, 'samples', 'fashion_cnn.onnx') },
  { file: path.join(ROOT, 'samples', 'sample-cnn.onnx') },
  { file: path.join(ROOT, 'test', 'fixtures', 'models', 'fashion_mlp_student.onnx') },
  { file: path.join(ROOT, 'test', 'fixtures', 'models', 'mnist_cnn.onnx') },
  { file: path.join(ROOT, 'test', 'fixtures', 'models', 'tiny_transformer.onnx') },
  silero('silero_vad.onnx'),
  silero('silero_vad_16k_op15.onnx'),
  silero('silero_vad_v5.onnx'),
  silero('silero_vad_legacy.onnx'),
  silero('silero_vad_half.onnx'),
  silero('silero_vad_op18_ifless.onnx'),
  { file: realModel('ch_PP-OCRv4_det_infer.onnx'), data: writeTextImage, ext: '.npy' },
  { file: realModel('ch_PP-OCRv4_rec_infer.onnx') },
  { file: realModel('ch_ppocr_mobile_v2.0_cls_infer.onnx') },
];

/**
 * Models whose float weights are a small part of the file: with every weight in half, what else the
 * file holds (node names, per-node exporter metadata, both branches of an If) keeps them past 52%.
 */
const STRUCTURE_BOUND = new Set([
  'sample-cnn.onnx',
  'tiny_transformer.onnx',
  'silero_vad.onnx',
  'silero_vad_v5.onnx',
  'silero_vad_op18_ifless.onnx',
  'ch_ppocr_mobile_v2.0_cls_infer.onnx',
]);

async function convert(dir: string, fx: Fixture, settings: Partial<QuantSettings> = {}): Promise<QuantResult> {
  const src = path.join(dir, path.basename(fx.file));
  fs.copyFileSync(fx.file, src);
  let calibration: string | undefined;
  if (fx.data) {
    calibration = path.join(dir, `${path.basename(fx.file, '.onnx')}.data${fx.ext}`);
    fx.data(calibration);
  }
  return quantizeModel(src, resolveSettings({ mode: 'fp16', ...(calibration ? { calibration } : {}), ...settings }));
}

function elemTypes(file: string, which: 'input' | 'output'): Record<string, number> {
  const g = readModelSync(file).proto.graph!;
  return Object.fromEntries(g[which].map((v) => [v.name!, v.type?.tensor_type?.elem_type ?? 0]));
}

describe('half precision: fp16 conversion of the repository models', function () {
  this.timeout(600000);
  let dir: string;
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'half-'))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const fx of FIXTURES) {
    const name = path.basename(fx.file);
    it(`${name}: runs, output SQNR >= ${MIN_SQNR_DB} dB, weights in half, IO types kept, no Cast chain`, async () => {
      const r = await convert(dir, fx);
      assert.ok(r.verification.ran, r.verification.note);
      const sqnr = r.verification.outputSqnrDb ?? {};
      assert.ok(Object.keys(sqnr).length > 0, `no output compared: ${r.verification.note}`);
      for (const [out, db] of Object.entries(sqnr)) assert.ok(db >= MIN_SQNR_DB, `${name} output ${out}: SQNR ${db} dB < ${MIN_SQNR_DB}`);
      // Size: 52% at most, except where the file's structure alone is past it; then every weight
      // not kept in float32 must be half and the file no larger than its structure allows.
      const source = readModelSync(fx.file);
      const before = storedFloatElements(source);
      const after = storedFloatElements(readModelSync(r.output));
      assert.ok(after.float32 < 0.02 * before.float32, `${after.float32} of ${before.float32} float32 values left`);
      // The floor: every float32 value two bytes smaller; the Casts and their names cost a little more.
      const floor = r.sizes.inputBytes - 2 * before.float32;
      const slack = Math.max(0.01 * r.sizes.inputBytes, 512);
      if (STRUCTURE_BOUND.has(name))
        assert.ok(r.sizes.ratio > MAX_RATIO && r.sizes.outputBytes <= floor + slack, `${r.sizes.outputBytes} bytes, floor ${floor}`);
      else assert.ok(r.sizes.ratio <= MAX_RATIO, `${name}: ${(r.sizes.ratio * 100).toFixed(1)}% of the float model`);
      assert.deepStrictEqual(elemTypes(r.output, 'input'), elemTypes(fx.file, 'input'));
      assert.deepStrictEqual(elemTypes(r.output, 'output'), elemTypes(fx.file, 'output'));
      assert.deepStrictEqual(castChains(readModelSync(r.output).proto.graph!), []);
      assert.strictEqual(r.settings.mode, 'fp16');
      assert.strictEqual(r.settings.keepIoTypes, true);
      assert.strictEqual(r.output, path.join(dir, name.replace(/\.onnx$/, '.fp16.onnx')));
      // The result file round-trips, SQNR included.
      const saved = parseQuantResult(JSON.parse(fs.readFileSync(r.output.replace(/\.onnx$/, '.quant.json'), 'utf8')));
      assert.deepStrictEqual(saved.verification.outputSqnrDb, sqnr);
      for (const d of r.nodes.filter((n) => !n.quantized)) assert.ok(d.reason.length > 10, `${d.node}: no reason`);
    });
  }

  it('--no-keep-io-types makes the float inputs and outputs float16, and the model still runs', async () => {
    const r = await convert(dir, FIXTURES[0], { keepIoTypes: false });
    assert.deepStrictEqual(Object.values(elemTypes(r.output, 'input')), [DataType.FLOAT16]);
    assert.deepStrictEqual(Object.values(elemTypes(r.output, 'output')), [DataType.FLOAT16]);
    assert.ok(r.verification.ran, r.verification.note);
    assert.ok(Object.values(r.verification.outputSqnrDb ?? {})[0] >= MIN_SQNR_DB);
    // Without the boundary Casts no Cast is left at all in this all-half CNN.
    assert.ok(!readModelSync(r.output).proto.graph!.node.some((n) => n.op_type === 'Cast'));
  });

  it('keeps the IO types by default: one Cast after the input, one before the output', async () => {
    const r = await convert(dir, FIXTURES[0]);
    const g = readModelSync(r.output).proto.graph!;
    const casts = g.node.filter((n) => n.op_type === 'Cast');
    assert.strictEqual(casts.length, 2);
    assert.ok(casts.some((c) => c.input[0] === g.input[0].name));
    assert.ok(casts.some((c) => c.output[0] === g.output[0].name));
  });

  it('refuses a model that is float16 already, naming the float model it came from', async () => {
    const first = await convert(dir, FIXTURES[0]);
    await assert.rejects(
      quantizeModel(first.output, resolveSettings({ mode: 'fp16' }), { output: path.join(dir, 'again.onnx') }),
      (e: Error) =>
        e.message.includes(first.output) &&
        /already in half precision \(\d+ of \d+ stored float values/.test(e.message) &&
        /\(fashion_cnn\.onnx\)/.test(e.message),
    );
    assert.ok(!fs.existsSync(path.join(dir, 'again.onnx')));
    // bf16 of the fp16 file is refused alike.
    await assert.rejects(quantizeModel(first.output, resolveSettings({ mode: 'bf16' }), { output: path.join(dir, 'again.onnx') }), /already in half precision/);
  });

  it('refuses a quantized model as the other modes do', async () => {
    const int8 = path.join(dir, 'fashion_cnn.int8.onnx');
    fs.copyFileSync(path.join(ROOT, 'samples', 'fashion_cnn.int8.onnx'), int8);
    await assert.rejects(quantizeModel(int8, resolveSettings({ mode: 'fp16' })), /already quantized/);
  });

  it('bf16: writes the model and says plainly that the CPU provider has no bfloat16 kernels for it', async () => {
    const r = await convert(dir, FIXTURES[4], { mode: 'bf16' });
    assert.strictEqual(r.output, path.join(dir, 'tiny_transformer.bf16.onnx'));
    assert.ok(fs.existsSync(r.output));
    assert.ok(r.sizes.ratio < 0.53);
    assert.strictEqual(r.verification.ran, false);
    assert.match(r.verification.note, /CPU provider has no bfloat16 kernels.*Could not find an implementation/);
    assert.ok(r.warnings.some((w) => /bfloat16 keeps float32's exponent range/.test(w)));
    const types = new Set(readModelSync(r.output).proto.graph!.initializer.map((t) => t.data_type));
    assert.ok(types.has(DataType.BFLOAT16) && !types.has(DataType.FLOAT));
  });

  it('bf16: refuses, writing nothing, when the opset does not allow bfloat16 for an op (Conv before opset 22)', async () => {
    const out = path.join(dir, 'fashion_cnn.bf16.onnx');
    fs.rmSync(out, { force: true });
    await assert.rejects(
      convert(dir, FIXTURES[0], { mode: 'bf16' }).then(() => undefined),
      /opset 1\d does not allow bfloat16 for Conv '\/conv1\/Conv'.*nothing was written.*--mode fp16/,
    );
    assert.ok(!fs.existsSync(out));
  });

  it('CLI: quantize --mode fp16 writes NAME.fp16.onnx and prints the verification', async () => {
    const src = path.join(dir, 'cli_cnn.onnx');
    fs.copyFileSync(FIXTURES[0].file, src);
    const r = await cli('quantize', src, '--mode', 'fp16');
    assert.strictEqual(r.code, 0, r.stderr);
    assert.ok(fs.existsSync(path.join(dir, 'cli_cnn.fp16.onnx')));
    assert.match(r.stdout, /output SQNR vs the float model: logits \d+\.\d dB/);
    assert.match(r.stdout, /mode fp16, IO types kept float32, provider cpu/);
    assert.match(r.stdout, /converted 10 nodes to fp16, kept 0 in float32/);
    assert.match(r.stderr, /activations were not observed/);
    const bad = await cli('quantize', src, '--mode', 'fp16', '--keep-io-types', '--no-keep-io-types');
    assert.strictEqual(bad.code, 2);
  });
});

// The transformer presets of the quantize wizard, clicked as a person would on the character-level
// language model (lm/char-lm.onnx): Weight-only INT4 with GPTQ on the model's own text windows, and
// Float16 (GPU). Each ends with its model written and the report in the panel, showing next-token
// agreement and cross-entropy (a language model has no top-1 accuracy).
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { readModel } from '../../src/core/onnx/model';
import { languageModelFixture } from '../support/languageModel';
import { bench } from './setup';
import { until } from './workbench';

const inWs = (...p: string[]) => path.join(bench().workspace, ...p);

/** Right-click lm/char-lm.onnx -> Quantize Model..., the preset picked. */
const startWizard = (preset: RegExp) => bench().quantizeFromExplorer('lm', 'char-lm.onnx', preset);

/** Picks the text windows beside the model, all of them, and their next-character labels. */
async function pickCalibrationText(): Promise<void> {
  const b = bench();
  await b.quickPick(/calib\.npz/);
  await b.quickTitle(/samples/);
  assert.match(await b.quickActive(), /^All 32 samples/);
  await b.quickEnter();
  await b.quickTitle(/labels/);
  await b.quickPick(/calib\.labels\.npy/);
}

describe('UI: transformers and language models', () => {
  it('Weight-only INT4 with GPTQ: the algorithm step, data beside the model, MatMulNBits written, next-token agreement in the report', async function () {
    this.timeout(300000);
    const b = bench();
    await startWizard(/^Weight-only INT4 for LLMs and transformers/);
    await b.quickTitle(/algorithm/);
    assert.match(await b.quickActive(), /^RTN/, 'round-to-nearest is the default');
    await b.shot('int4-algorithm');
    await b.quickPick(/^GPTQ/);

    await b.quickTitle(/calibration data \(GPTQ reads the layer inputs\)/);
    const rows = await b.quickRows();
    assert.ok(!rows.some((r) => /Synthetic/.test(r)), `GPTQ is not offered random inputs: ${rows.join(' | ')}`);
    await b.quickType('synthetic:8');
    await b.quickEnter();
    // The step is asked again with the same title: wait for its notice, not just the title.
    await until('the refusal of random inputs', async () => /GPTQ fits the weights to the layer inputs of your data/.test(await b.quickMessage()));
    await pickCalibrationText();

    await b.quickTitle(/keep in float/);
    await b.quickEnter();
    await b.quickTitle(/output/);
    assert.match(await b.quickActive(), /char-lm\.int4\.onnx/);
    await b.quickEnter();

    const text = await bench().reportText(/char-lm\.int4\.onnx/);
    await b.shot('int4-report');
    assert.match(text, /next-token agreement/i);
    assert.doesNotMatch(text, /top-1 agreement/i, 'no classifier metric on a language model');
    assert.match(text, /Keep in float re-uses a static run's calibration/, 'no keep-in-float button that would be refused');
    const result = JSON.parse(fs.readFileSync(inWs('lm', 'char-lm.int4.quant.json'), 'utf8'));
    assert.strictEqual(result.settings.mode, 'weight-only');
    assert.strictEqual(result.settings.algorithm, 'gptq');
    assert.strictEqual(result.settings.bits, 4);
    const model = await readModel(inWs('lm', 'char-lm.int4.onnx'));
    const constantMatMuls = languageModelFixture().model.constantMatMuls.length;
    assert.strictEqual(model.proto.graph!.node.filter((n) => n.op_type === 'MatMulNBits').length, constantMatMuls, 'every constant MatMul is 4-bit');
  });

  it('Float16 (GPU): checked on the text, written at half the size, the report in the panel', async function () {
    this.timeout(300000);
    const b = bench();
    await startWizard(/^Float16 \(GPU\)/);
    await b.quickTitle(/float16 range/);
    await pickCalibrationText();
    await b.quickTitle(/keep in float/);
    await b.quickEnter();
    await b.quickTitle(/output/);
    assert.match(await b.quickActive(), /char-lm\.fp16\.onnx/);
    await b.quickEnter();

    const text = await bench().reportText(/char-lm\.fp16\.onnx/);
    await b.shot('fp16-report');
    assert.match(text, /next-token agreement/i);
    const result = JSON.parse(fs.readFileSync(inWs('lm', 'char-lm.fp16.quant.json'), 'utf8'));
    assert.strictEqual(result.settings.mode, 'fp16');
    assert.ok(fs.statSync(inWs('lm', 'char-lm.fp16.onnx')).size <= 0.52 * fs.statSync(inWs('lm', 'char-lm.onnx')).size);
  });
});

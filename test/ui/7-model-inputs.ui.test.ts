// The wizard's inputs step, as a person meets it: synthetic data for the character-level language
// model (int64 token ids, a sequence length the model leaves open) lists what each input will be
// fed; a spec typed in the --input syntax is checked as it is typed and carried to the engine, the
// result file, the recipe and the report. Silero VAD shows a state batched on axis 1 and a scalar
// fed whole. A model whose inputs are all plain goes past the step.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { realModel } from '../support/browser';
import { bench } from './setup';
import { until } from './workbench';

const inWs = (...p: string[]) => path.join(bench().workspace, ...p);

/** The value in the quick input's box. */
async function boxValue(): Promise<string> {
  return bench().quickInput().locator('.quick-input-box input').inputValue();
}

describe('UI: model inputs of synthetic data', () => {
  // Silero VAD joins the workspace here, not in setup.ts: the earlier flows' lists of the
  // workspace's models stay as they were.
  before(() => {
    fs.mkdirSync(inWs('vad'), { recursive: true });
    fs.copyFileSync(realModel('silero_vad_16k_op15.onnx'), inWs('vad', 'silero-vad.onnx'));
  });

  it('synthetic data for a language model: the inputs step shows the inferred feed, takes a typed spec, and the run carries it', async function () {
    this.timeout(300000);
    const b = bench();
    await b.quantizeFromExplorer('lm', 'char-lm.onnx', /^Dynamic INT8 for CPU/);
    await b.quickTitle(/evaluation data/);
    await b.quickPick(/Synthetic data/);

    await b.quickTitle(/inputs \(what synthetic data feeds each\)/);
    const rows = await b.quickRows();
    const ids = rows.find((r) => r.startsWith('input_ids'));
    assert.ok(ids, `a row per model input: ${rows.join(' | ')}`);
    assert.match(ids, /int64 \[batch,1\] · seq guessed as 1/);
    assert.match(ids, /whole numbers in \[0, 95\) \(ids of an embedding table of 95 rows\)/);
    assert.match(await b.quickActive(), /Use these inputs/, 'Enter accepts the inferred feeds');
    await b.shot('inputs-1-inferred');

    await b.quickPick(/^input_ids/);
    await until('the spec box, filled with the inferred spec', async () => (await boxValue()) === 'input_ids=shape:batch,1; input_ids=range:0,95');
    await b.quickType('input_ids=shape:batch,x');
    await until('the parser refusing a size', async () =>
      /each size is a whole number or the word batch \(got 'batch,x'\)\. Example: input_ids=shape:batch,1; input_ids=range:0,95/.test(await b.quickMessage()),
    );
    await b.shot('inputs-2-refused');
    await b.quickType('input_ids=shape:batch,16,4');
    await until('the model refusing a rank', async () => /has 2 axes but its shape spec batch,16,4 has 3/.test(await b.quickMessage()));
    // The name may be left out: the box sets the input picked.
    await b.quickType('shape:batch,16; range:0,50');
    await until('the spec accepted as typed', async () => !/Example:/.test(await b.quickMessage()));
    await b.shot('inputs-3-typed');
    await b.quickEnter();

    await until('the list showing the typed spec', async () =>
      (await b.quickRows()).some((r) => /int64 \[batch,16\] · set by you/.test(r) && /\[0, 50\) \(given\)/.test(r)),
    );
    await b.shot('inputs-4-set');
    await b.quickPick(/Use these inputs/);
    await b.quickTitle(/keep in float/);
    await b.quickEnter();
    await b.quickTitle(/output/);
    assert.match(await b.quickActive(), /char-lm\.dynamic\.int8\.onnx/);
    await b.quickEnter();

    // The report of this run, showing the specs it ran with.
    const text = await b.reportText(/^(?=[\s\S]*char-lm\.dynamic\.int8\.onnx)(?=[\s\S]*input_ids=shape:batch,16; input_ids=range:0,50)/);
    assert.match(text, /synthetic int64 \[N,16\], whole numbers in \[0, 50\) \(given\)/, 'the analysis data says what it fed');
    await (await b.webview('#quant-settings')).locator('#quant-settings').scrollIntoViewIfNeeded();
    await b.shot('inputs-5-report');
    const expected = { input_ids: { shape: ['batch', 16], range: [0, 50] } };
    const result = JSON.parse(fs.readFileSync(inWs('lm', 'char-lm.dynamic.int8.quant.json'), 'utf8'));
    assert.deepStrictEqual(result.settings.inputs, expected);
    const recipe = JSON.parse(fs.readFileSync(inWs('lm', 'char-lm.dynamic.int8.recipe.json'), 'utf8'));
    assert.deepStrictEqual(recipe.settings.inputs, expected, 'the recipe replays the specs');
  });

  it('Silero VAD: the state batched on axis 1, the scalar sample rate fed whole, and a spec for the rate', async function () {
    this.timeout(120000);
    const b = bench();
    await b.quantizeFromExplorer('vad', 'silero-vad.onnx', /^Dynamic INT8 for CPU/);
    await b.quickTitle(/evaluation data/);
    await b.quickPick(/Synthetic data/);
    await b.quickTitle(/inputs \(what synthetic data feeds each\)/);
    const rows = await b.quickRows();
    // A row's text is its label, description and detail (the label and description run together).
    const row = (name: string) => rows.find((r) => new RegExp(`^${name}(float32|int64)`).test(r)) ?? '';
    assert.match(row('input'), /float32 \[batch,512\][\s\S]*speech-like audio at 16000 Hz/, rows.join(' | '));
    assert.match(row('state'), /float32 \[2,batch,128\][\s\S]*a recurrent state[\s\S]*batch on axis 1/);
    assert.match(row('sr'), /int64 \[\][\s\S]*16000 \(a sample rate\) · no batch axis: the same every batch/);
    await b.shot('inputs-6-silero');
    await b.quickPick(/^sr/);
    await until('the spec box of sr', async () => (await boxValue()) === 'sr=batch:none; sr=value:16000');
    await b.quickType('value:8000');
    await until('the spec accepted as typed', async () => !/Example:/.test(await b.quickMessage()));
    await b.quickEnter();
    await until('the rate set', async () => /^sr[\s\S]*set by you[\s\S]*8000 \(given\)/.test((await b.quickRows()).find((r) => r.startsWith('sr')) ?? ''));
    await b.closeQuickInput();
  });

  it('a model whose inputs are all plain goes from synthetic data straight on, without an inputs step', async function () {
    this.timeout(120000);
    const b = bench();
    await b.closeAllEditors();
    await b.explorerMenu('fashion-cnn.onnx', 'Quantize Model...');
    await b.quickTitle(/^Quantize fashion-cnn\.onnx: preset/);
    await b.quickPick(/^Static INT8 for CNNs/);
    await b.quickTitle(/calibration data/);
    await b.quickPick(/Synthetic data/);
    const next = await b.quickTitle(/keep in float|inputs/);
    assert.match(next, /keep in float/);
    await b.closeQuickInput();
  });
});

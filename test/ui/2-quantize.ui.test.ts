// The headline flow as a person does it: right-click a model in the Explorer, answer every wizard
// step, watch the progress, read the report, then use the report's buttons. The same wizard from
// the model view's title bar and from the palette. Asserts on the screen and on the files written.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { parseQuantReport } from '../../src/shared/quantReport';
import type { QuantResult } from '../../src/shared/quantResult';
import { writeNpy } from '../support/npyWriter';
import { bench } from './setup';
import { covers } from './coverage';
import { until } from './workbench';

const inWs = (...p: string[]) => path.join(bench().workspace, ...p);
const report = (file: string) => parseQuantReport(JSON.parse(fs.readFileSync(inWs(file), 'utf8')));

/** The report panel's frame, once it shows the layers of `model`. */
async function reportView(model: RegExp) {
  const b = bench();
  const frame = await b.webview('#keep-in-float', 180000);
  await until(`the report of ${model}`, async () => model.test(await frame.locator('body').innerText()), 60000);
  return frame;
}

describe('UI: quantize a model', () => {
  it('right-click -> Quantize Model... walks every step, shows progress and opens the report', async () => {
    const b = bench();
    await b.closeAllEditors();
    await b.explorerMenu('fashion-cnn.onnx', 'Quantize Model...');
    covers('explorer/context', 'onnxCompress.quantizeModel');

    await b.quickTitle(/^Quantize fashion-cnn\.onnx: preset/);
    assert.match(await b.quickActive(), /^Static INT8 for CNNs/, 'the recommended preset is proposed');
    await b.shot('wizard-1-preset');
    await b.quickPick(/^Static INT8 for CNNs/);

    await b.quickTitle(/calibration data/);
    const rows = await b.quickRows();
    assert.ok(
      rows.some((r) => /data\/train-512-images-idx3-ubyte\.gz/.test(r)),
      `data beside the model is offered: ${rows.join(' | ')}`,
    );
    assert.ok(!rows.some((r) => /labels/.test(r)), 'labels files are not offered as data');
    assert.doesNotMatch(await b.quickActive(), /Synthetic/, 'synthetic data is never chosen for the user');
    await b.shot('wizard-2-data');
    await b.quickPick(/data\/train-512-images-idx3-ubyte\.gz/);

    await b.quickTitle(/samples/);
    assert.match(await b.quickActive(), /^All 512 samples/, 'the data holds 512 samples: all of them recommended');
    assert.ok(
      (await b.quickRows()).some((r) => /^128 samples/.test(r)),
      'a smaller count is offered',
    );
    await b.quickEnter();

    await b.quickTitle(/labels/);
    assert.match(await b.quickActive(), /train-512-labels-idx1-ubyte\.gz/, 'the labels beside the images are proposed');
    await b.shot('wizard-4-labels');
    await b.quickEnter();

    await b.quickTitle(/keep in float/);
    assert.ok(
      (await b.quickRows()).some((r) => /\/conv1\/Conv/.test(r)),
      "the model's own nodes are offered",
    );
    await b.quickEnter();

    await b.quickTitle(/output/);
    assert.match(await b.quickActive(), /fashion-cnn\.int8\.onnx/);
    await b.quickEnter();

    await b.notification(/Quantizing fashion-cnn\.onnx|calibrating|analyzing/);
    await b.shot('quantize-progress');
    const frame = await reportView(/fashion-cnn\.int8\.onnx/);
    await b.shot('quantize-report');
    for (const f of ['fashion-cnn.int8.onnx', 'fashion-cnn.int8.quant.json', 'fashion-cnn.int8.recipe.json', 'fashion-cnn.int8.report.json']) {
      assert.ok(fs.existsSync(inWs(f)), `${f} written`);
    }
    const saved = report('fashion-cnn.int8.report.json');
    assert.strictEqual(saved.settings.samplesUsed, 512);
    assert.ok(saved.model.accuracy, 'the labels give an accuracy');
    assert.ok(saved.model.accuracy!.quantized > 0.8, `accuracy ${JSON.stringify(saved.model.accuracy)}`);
    assert.match(await frame.locator('body').innerText(), /accuracy/i, 'the report shows the accuracy');
  });

  it('data made for another model is refused at the data step, with what does not match', async () => {
    const b = bench();
    // RGB images of 32x32 pixels, for a model that reads 28x28 grey ones.
    writeNpy(inWs('rgb-32.npy'), '<f4', [4, 3, 32, 32], new Float32Array(4 * 3 * 32 * 32).fill(0.5));
    await b.explorerMenu('fashion-cnn.onnx', 'Quantize Model...');
    await b.quickTitle(/^Quantize fashion-cnn\.onnx: preset/);
    await b.quickPick(/^Static INT8 for CNNs/);
    await b.quickTitle(/calibration data/);
    await b.quickPick(/rgb-32\.npy/);
    const message = await until('the data step to say why', async () => {
      const m = await b.quickMessage();
      return /does not match|Pick other data/.test(m) ? m : undefined;
    });
    assert.match(await b.quickInput().locator('.quick-input-title').innerText(), /calibration data/, 'still at the data step');
    await b.shot('wizard-data-refused');
    assert.match(message, /\[4,3,32,32\] does not match input 'input'/);
    await b.closeQuickInput();
  });

  it('Keep selected in float keeps the node named in the selected row, and says what changed', async function () {
    this.timeout(300000);
    const b = bench();
    const frame = await reportView(/fashion-cnn\.int8\.onnx/);
    await frame.locator('#layer-filter input').fill('conv1');
    const row = frame.locator('#layers .vt-row', { hasText: '/conv1/Conv_output_0' }).first();
    await row.click();
    // The click reveals the layer in the model view, opened beside: the report keeps the focus.
    await until('the model view beside the report', async () => (await b.page.locator('.editor-group-container').count()) === 2);
    await new Promise((r) => setTimeout(r, 1000));
    assert.match(await b.activeTab(), /Quantization/, 'the report is still the active editor');
    await b.shot('report-click-keeps-focus');
    await frame.locator('#keep-in-float').click();
    const file = inWs('fashion-cnn.int8.keep-float.report.json');
    await until('the keep-in-float report', () => fs.existsSync(file), 180000);
    const result = JSON.parse(fs.readFileSync(inWs('fashion-cnn.int8.keep-float.quant.json'), 'utf8')) as QuantResult;
    assert.strictEqual(result.nodes.find((n) => n.node === '/conv1/Conv')?.quantized, false, '/conv1/Conv, the node of the row, is in float');
    assert.notStrictEqual(result.nodes.find((n) => n.node === '/Relu')?.quantized, false, 'its consumer /Relu is left as it was');
    await until('before and after in the panel', async () => /before/i.test(await frame.locator('body').innerText()), 60000);
    await b.shot('keep-in-float');
  });

  it("Auto keep-in-float and Export HTML from the report's buttons", async function () {
    this.timeout(400000);
    const b = bench();
    const frame = await reportView(/keep-float/);
    await frame.locator('#auto-kind').selectOption('sqnr');
    await frame.locator('#auto-value').fill('45');
    await frame.locator('#auto-keep').click();
    await until('the auto keep-in-float report', () => fs.existsSync(inWs('fashion-cnn.int8.keep-float-2.report.json')), 240000);
    const auto = report('fashion-cnn.int8.keep-float-2.report.json');
    assert.deepStrictEqual(auto.keepInFloat?.target, { kind: 'sqnr', value: 45 });
    assert.ok(auto.keepInFloat!.nodes.length >= 1);

    await reportView(/keep-float-2/);
    await frame.locator('#export-html').click();
    // The save dialog proposes NAME.report.html beside the model: accept it.
    await b.quickTitle(/Export the report/);
    await b.dialogOk();
    const html = inWs('fashion-cnn.int8.keep-float-2.report.html');
    await until('the HTML report', () => fs.existsSync(html), 60000);
    assert.match(fs.readFileSync(html, 'utf8'), /<html/i);
  });
});

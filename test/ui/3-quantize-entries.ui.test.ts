// Quantize Model... from the model view's title bar and from the palette, an existing output
// replaced only when the user says so, an already-quantized model refused, and a run cancelled
// from the palette.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { bench } from './setup';
import { covers } from './coverage';
import { until } from './workbench';

const inWs = (...p: string[]) => path.join(bench().workspace, ...p);

describe('UI: quantize from the title bar and the palette', () => {
  it("the model view's title button runs the wizard; an existing output is replaced only after Replace", async function () {
    this.timeout(300000);
    const b = bench();
    await b.closeAllEditors();
    await b.openFromExplorer('fashion-cnn.onnx');
    await b.webview('#overview');
    const output = inWs('fashion-cnn.int8.onnx');
    const before = fs.statSync(output).mtimeMs;
    await b.editorTitleAction('Quantize Model...');
    covers('editor/title', 'onnxCompress.quantizeModel');
    await b.quickTitle(/^Quantize fashion-cnn\.onnx: preset/);
    await b.quickEnter();
    await b.quickTitle(/calibration data/);
    assert.match(await b.quickActive(), /train-512-images.*last used|last used.*train-512/s, 'the data of the last run is proposed');
    await b.quickEnter();
    await b.quickTitle(/samples/);
    await b.quickPick(/^128 samples/);
    await b.quickTitle(/labels/);
    await b.quickEnter();
    await b.quickTitle(/keep in float/);
    await b.quickEnter();
    await b.quickTitle(/output/);
    await b.quickEnter();
    const text = await b.dialog(/fashion-cnn\.int8\.onnx already exists/);
    assert.match(text, /Replace it\?/);
    await b.shot('replace-dialog');
    await b.dialogButton('Cancel');
    await b.quickTitle(/output/);
    assert.match(await b.quickMessage(), /fashion-cnn\.int8\.onnx is kept/);
    assert.strictEqual(fs.statSync(output).mtimeMs, before, 'nothing written while the user decides');
    await b.quickEnter();
    await b.dialog(/already exists/);
    await b.dialogButton('Replace');
    await until('the model written again', () => fs.statSync(output).mtimeMs > before, 180000);
    await until(
      'its result, calibrated on the 128 samples asked',
      () => JSON.parse(fs.readFileSync(inWs('fashion-cnn.int8.quant.json'), 'utf8')).calibration?.samples === 128,
      180000,
    );
    await until('its report', () => fs.statSync(inWs('fashion-cnn.int8.report.json')).mtimeMs > before, 180000);
    await until('the report in its panel', async () => (await b.activeTab()) === 'Quantization: fashion-cnn.int8.onnx', 60000);
  });

  it('the palette quantizes the model in the active model view', async () => {
    const b = bench();
    await b.openFromExplorer('tiny-transformer.onnx');
    await b.webview('#overview');
    await until('the model view of tiny-transformer.onnx', async () => (await b.activeTab()) === 'tiny-transformer.onnx');
    await b.palette('ONNX: Quantize Model...');
    covers('commandPalette', 'onnxCompress.quantizeModel');
    await b.quickTitle(/^Quantize tiny-transformer\.onnx: preset/);
    await b.closeQuickInput();
  });

  it('with no model view active the palette asks which model, and refuses one already quantized', async () => {
    const b = bench();
    await b.closeAllEditors();
    await b.palette('ONNX: Quantize Model...');
    await b.quickTitle(/Quantize which model/);
    const rows = await b.quickRows();
    const float = rows.findIndex((r) => /^fashion-cnn\.onnx/.test(r));
    const quantized = rows.findIndex((r) => /^fashion-cnn\.int8\.onnx/.test(r));
    assert.ok(float >= 0 && quantized > float, `float models first: ${rows.join(' | ')}`);
    await b.quickPick(/^fashion-cnn\.int8\.onnx/);
    const message = await b.notification(/already quantized/);
    assert.match(message, /^Cannot quantize \S*fashion-cnn\.int8\.onnx: already quantized \(.*\): quantize the float model it came from \(fashion-cnn\.onnx\)/);
    assert.ok(!fs.existsSync(inWs('fashion-cnn.int8.int8.onnx')), 'nothing written');
    await b.shot('already-quantized');
    await b.clearNotifications();
  });

  it('ONNX: Cancel Quantization from the palette stops a run and leaves nothing half-written', async () => {
    const b = bench();
    await b.explorerMenu('fashion-cnn.onnx', 'Quantize Model...');
    await b.quickTitle(/preset/);
    await b.quickEnter();
    await b.quickTitle(/calibration data/);
    await b.quickType('synthetic:200000');
    await b.quickEnter();
    await b.quickTitle(/keep in float/);
    await b.quickEnter();
    await b.quickTitle(/output/);
    await b.quickType('cancelled/fashion-cnn.cancelled.onnx');
    await b.quickEnter();
    await b.notification(/calibrating/);
    await b.palette('ONNX: Cancel Quantization');
    covers('commandPalette', 'onnxCompress.cancelQuantization');
    await b.notification(/cancelled while calibrating\. Nothing was written/);
    const dir = inWs('cancelled');
    assert.deepStrictEqual(fs.existsSync(dir) ? fs.readdirSync(dir) : [], [], 'no file, no temporary file');
    await b.clearNotifications();
  });
});

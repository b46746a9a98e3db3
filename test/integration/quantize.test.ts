// The quantize flow in a real VS Code extension host, on the Fashion-MNIST CNN with 128 real
// calibration images: the wizard answered through its live QuickPicks, the files written, the
// report received by the report panel, keep-in-float of one layer, cancellation, a second run
// refused while one runs, data for another model, a report edited by hand.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { OnnxCompressApi } from '../../src/extension/extension';
import type { QuantizeOutcome } from '../../src/extension/quantize/quantizeCommand';
import { readRecipe } from '../../src/core/quant/settings';
import { layerErrorsFor, readReportFile } from '../../src/extension/quantize/reportFile';
import { parseQuantReport, type QuantReport } from '../../src/shared/quantReport';
import { parseQuantResult } from '../../src/shared/quantResult';
import { waitFor, workspace } from './wait';

const inWorkspace = (name: string) => path.join(workspace(), name);
const MODEL = 'fashion-cnn.onnx';

type LiveQuickPick = vscode.QuickPick<vscode.QuickPickItem>;

/** The wizard's QuickPick at `step`, as the user sees it. */
function stepShown(api: OnnxCompressApi, step: number): Promise<LiveQuickPick> {
  return waitFor(`wizard step ${step}`, () => {
    const qp = api.quantize.flow.activeQuickPick;
    return qp && qp.step === step ? qp : undefined;
  });
}

/** Answers a step like a user: picks the items by label (or types a value) and presses Enter. */
async function answer(api: OnnxCompressApi, step: number, pick: { labels?: RegExp[]; value?: string }): Promise<LiveQuickPick> {
  const qp = await stepShown(api, step);
  if (pick.value !== undefined) qp.value = pick.value;
  const items = (pick.labels ?? []).map((re) => {
    const item = qp.items.find((i) => re.test(i.label));
    assert.ok(item, `step ${step} (${qp.title}) offers ${re} among ${qp.items.map((i) => i.label).join(' | ')}`);
    return item!;
  });
  if (qp.canSelectMany) qp.selectedItems = items;
  else if (items.length) qp.activeItems = items;
  // The extension host sends QuickPick changes to the window batched on a timer: let them arrive.
  await new Promise((r) => setTimeout(r, 100));
  await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
  await waitFor(`step ${step} to close`, () => api.quantize.flow.activeQuickPick !== qp);
  return qp;
}

function leftovers(): string[] {
  return fs.readdirSync(workspace()).filter((f) => f.endsWith('.tmp'));
}

describe('Quantize in VS Code', () => {
  let api: OnnxCompressApi;
  let done: Extract<QuantizeOutcome, { status: 'done' }>;

  before(async () => {
    const ext = vscode.extensions.all.find((e) => e.packageJSON.name === 'onnx-compress');
    api = (await ext!.activate()) as OnnxCompressApi;
    assert.ok(api.quantize, 'the API exposes the quantize flow');
  });

  it('offers Quantize Model in the Explorer menu of .onnx files, the model view title and the palette', async () => {
    const ext = vscode.extensions.all.find((e) => e.packageJSON.name === 'onnx-compress')!;
    const menus = ext.packageJSON.contributes.menus as Record<string, Array<{ command: string; when?: string }>>;
    const entry = (menu: string) => menus[menu]?.find((m) => m.command === 'onnxCompress.quantizeModel');
    assert.strictEqual(entry('explorer/context')?.when, 'resourceExtname == .onnx');
    assert.strictEqual(entry('editor/title')?.when, 'activeCustomEditorId == onnxCompress.modelView');
    assert.strictEqual(entry('commandPalette'), undefined, 'never hidden from the palette');
    const command = (ext.packageJSON.contributes.commands as Array<{ command: string; title: string; category: string }>).find(
      (c) => c.command === 'onnxCompress.quantizeModel',
    );
    assert.strictEqual(`${command?.category}: ${command?.title}`, 'ONNX: Quantize Model...');
    assert.ok((await vscode.commands.getCommands(true)).includes('onnxCompress.quantizeModel'));
  });

  it('quantizes through the wizard: model, result, recipe and report written, the report in the panel', async function () {
    this.timeout(240000);
    const uri = vscode.Uri.file(inWorkspace(MODEL));
    // As the Explorer's context menu calls it: the file, and the files selected (the wizard runs).
    const running = vscode.commands.executeCommand<QuantizeOutcome | undefined>('onnxCompress.quantizeModel', uri, [uri]);

    const preset = await answer(api, 1, { labels: [/^Static INT8 for CNNs/] });
    assert.strictEqual(preset.totalSteps, 6, 'the recommended preset asks 6 questions for real data');
    assert.match(preset.title ?? '', /Quantize fashion-cnn\.onnx: preset/);
    // The data step takes a pasted path (relative to the model).
    await answer(api, 2, { value: 'fashion-calib.npy' });
    // Back (the title-bar button, or its command) returns to the data step, the answer kept.
    const before = await stepShown(api, 3);
    await vscode.commands.executeCommand('workbench.action.quickInputBack');
    const again = await stepShown(api, 2);
    assert.notStrictEqual(again, before);
    assert.strictEqual(again.items.find((i) => i.description === 'last used')?.detail, inWorkspace('fashion-calib.npy'), 'the data picked is offered first');
    await answer(api, 2, { labels: [/fashion-calib\.npy/] });
    const samples = await stepShown(api, 3);
    assert.match(samples.activeItems[0]?.label ?? '', /^All 128 samples/, 'the data holds 128 samples: all of them recommended');
    await answer(api, 3, { labels: [/^All 128 samples/] });
    await answer(api, 4, { labels: [/No labels/] });
    const exclude = await stepShown(api, 5);
    assert.ok(exclude.canSelectMany, 'nodes to keep in float are a multi-select');
    const offered = exclude.items.map((i) => `${i.description}:${i.label}`);
    for (const op of ['Conv', 'Gemm', 'Relu', 'MaxPool'])
      assert.ok(
        offered.some((o) => o.startsWith(`${op}:`)),
        `the model's real ${op} nodes are offered: ${offered.join(', ')}`,
      );
    await answer(api, 5, {});
    const output = await stepShown(api, 6);
    assert.match(output.items[0].detail ?? '', /fashion-cnn\.int8\.onnx$/);
    await answer(api, 6, { labels: [/fashion-cnn\.int8\.onnx/] });

    const outcome = await running;
    assert.ok(outcome?.status === 'done', `the run finished: ${JSON.stringify(outcome && 'message' in outcome ? outcome.message : outcome?.status)}`);
    done = outcome;
    assert.strictEqual(done.output, inWorkspace('fashion-cnn.int8.onnx'));
    for (const f of ['fashion-cnn.int8.onnx', 'fashion-cnn.int8.quant.json', 'fashion-cnn.int8.recipe.json', 'fashion-cnn.int8.report.json']) {
      assert.ok(fs.existsSync(inWorkspace(f)), `${f} written`);
    }
    assert.deepStrictEqual(leftovers(), [], 'no temporary file left');

    const recipe = readRecipe(done.recipeFile);
    assert.strictEqual(recipe.calibration, inWorkspace('fashion-calib.npy'));
    assert.strictEqual(recipe.mode, 'static');
    assert.strictEqual(recipe.perChannel, true);
    const result = parseQuantResult(JSON.parse(fs.readFileSync(done.resultFile, 'utf8')));
    assert.strictEqual(result.calibration?.samples, 128, 'calibrated on the 128 samples of the file');

    const saved = parseQuantReport(JSON.parse(fs.readFileSync(done.reportFile, 'utf8')));
    assert.strictEqual(saved.floatModel, inWorkspace(MODEL));
    assert.strictEqual(saved.quantizedModel, done.output);
    assert.strictEqual(saved.settings.samplesUsed, 128, 'analyzed on the same data');
    const convs = saved.layers.filter((l) => l.opType === 'Conv');
    assert.ok(convs.length >= 2 && convs.every((l) => l.accumulated.sqnr !== null), 'per-layer errors of the convolutions');
    assert.ok(
      saved.model.top1Agreement !== null && saved.model.top1Agreement > 0.9,
      `the int8 model agrees with float on most images (${saved.model.top1Agreement})`,
    );

    const panel = await waitFor('the report in the panel', () => {
      const s = api.reportPanel();
      return s?.ready && s.lastPosted?.report.quantizedModel === done.output ? s : undefined;
    });
    assert.strictEqual(panel.lastPosted!.report.layers.length, saved.layers.length);
    assert.strictEqual(panel.lastPosted!.previous, null);

    // What the model view colours its layers by: the quantized model's own report, and for the
    // float model the report of a quantization made from it.
    for (const model of [done.output, inWorkspace(MODEL)]) {
      const errors = await layerErrorsFor(model);
      assert.strictEqual(errors?.reportFile, done.reportFile, model);
      const conv = convs[0];
      assert.strictEqual(errors!.nodes[conv.node].accumulated, Math.min(...saved.layers.filter((l) => l.node === conv.node).map((l) => l.accumulated.sqnr!)));
    }
    assert.strictEqual(await layerErrorsFor(inWorkspace('sample-cnn.onnx')), null, 'no report, no colours');
    // The runner keeps a screenshot of the workbench with the report panel open.
    await new Promise((r) => setTimeout(r, 2000));
    console.log('__SCREENSHOT__ vscode-quantize-report');
    await new Promise((r) => setTimeout(r, 1000));
  });

  it('quantizes a transformer with the dynamic preset and evaluates it on the data picked', async function () {
    this.timeout(240000);
    const running = vscode.commands.executeCommand<QuantizeOutcome | undefined>(
      'onnxCompress.quantizeModel',
      vscode.Uri.file(inWorkspace('tiny-transformer.onnx')),
    );
    await answer(api, 1, { labels: [/^Dynamic INT8/] });
    const data = await stepShown(api, 2);
    assert.match(data.title ?? '', /evaluation data \(dynamic mode needs no calibration\)/);
    await answer(api, 2, { value: 'fashion-calib.npy' });
    await answer(api, 3, { labels: [/^All 128 samples/] });
    await answer(api, 4, { labels: [/No labels/] });
    const exclude = await stepShown(api, 5);
    assert.ok(
      exclude.items.length > 0 && exclude.items.every((i) => i.description === 'MatMul' || i.description === 'Gemm'),
      'dynamic mode offers its MatMul/Gemm nodes',
    );
    await answer(api, 5, {});
    await answer(api, 6, { labels: [/tiny-transformer\.dynamic\.int8\.onnx/] });
    const outcome = await running;
    assert.ok(outcome?.status === 'done', JSON.stringify(outcome));
    assert.strictEqual(readRecipe(outcome.recipeFile).mode, 'dynamic');
    const report = parseQuantReport(JSON.parse(fs.readFileSync(outcome.reportFile, 'utf8')));
    assert.strictEqual(report.settings.samplesUsed, 128);
    assert.ok(report.model.outputs[0].error.sqnr! > 20, `output SQNR ${report.model.outputs[0].error.sqnr} dB`);
    await waitFor('the transformer report in the panel', () => api.reportPanel()?.lastPosted?.report.quantizedModel === outcome.output);
  });

  it('quantizes the real PP-OCR detector (weights in Constant nodes) through the command, synthetic data', async function () {
    this.timeout(300000);
    const outcome = await api.quantize.flow.quantize(vscode.Uri.file(inWorkspace('ocr-det.onnx')), {
      preset: 'static',
      data: 'synthetic:4',
      exclude: [],
      output: inWorkspace('ocr-det.int8.onnx'),
    });
    assert.ok(outcome.status === 'done', JSON.stringify(outcome));
    assert.ok(
      outcome.warnings.some((w) => /synthetic data/.test(w)),
      'the synthetic data is called out',
    );
    const report = parseQuantReport(JSON.parse(fs.readFileSync(outcome.reportFile, 'utf8')));
    assert.ok(report.layers.length > 100, `${report.layers.length} layers analyzed`);
    assert.ok(report.weights.length > 60, `${report.weights.length} weights compared`);
    const fusion = report.model.fusion!;
    assert.deepStrictEqual([fusion.fused, fusion.candidates], [62, 64], 'all but the two ConvTranspose run as integer kernels');
    assert.ok(fusion.unfused.every((u) => u.opType === 'ConvTranspose'));
    await waitFor('the detector report in the panel', () => api.reportPanel()?.lastPosted?.report.quantizedModel === outcome.output);
  });

  it('Custom asks for the method, the weight granularity and the types; excluded nodes stay in float', async function () {
    this.timeout(240000);
    const running = vscode.commands.executeCommand<QuantizeOutcome | undefined>('onnxCompress.quantizeModel', vscode.Uri.file(inWorkspace(MODEL)));
    const preset = await answer(api, 1, { labels: [/^Custom/] });
    assert.strictEqual(preset.totalSteps, 6, 'asked before Custom was chosen');
    const data = await stepShown(api, 2);
    assert.strictEqual(data.totalSteps, 9, 'Custom has nine steps');
    await answer(api, 2, { labels: [/fashion-calib\.npy/] });
    await answer(api, 3, { labels: [/^All 128 samples/] });
    await answer(api, 4, { labels: [/No labels/] });
    await answer(api, 5, { labels: [/^Percentile/] });
    await answer(api, 6, { labels: [/^Per tensor/] });
    await answer(api, 7, { labels: [/^int8 activations, int8 weights/] });
    await answer(api, 8, { labels: [/^\/fc2\/Gemm$/] });
    await answer(api, 9, { value: 'custom/fashion-cnn.custom.onnx' });
    const outcome = await running;
    assert.ok(outcome?.status === 'done', JSON.stringify(outcome));
    assert.strictEqual(outcome.output, inWorkspace('custom/fashion-cnn.custom.onnx'), 'a typed output path, relative to the model');
    const recipe = readRecipe(outcome.recipeFile);
    assert.deepStrictEqual(
      [recipe.method, recipe.perChannel, recipe.activationType, recipe.weightType, recipe.exclude],
      ['percentile', false, 'int8', 'int8', ['/fc2/Gemm']],
    );
    const result = parseQuantResult(JSON.parse(fs.readFileSync(outcome.resultFile, 'utf8')));
    assert.strictEqual(result.nodes.find((n) => n.node === '/fc2/Gemm')?.quantized, false);
    assert.ok(
      result.tensors.some((t) => t.kind === 'activation' && t.type === 'int8'),
      'int8 activations',
    );
  });

  it('remembers the choices for the model', async () => {
    const running = vscode.commands.executeCommand<QuantizeOutcome | undefined>('onnxCompress.quantizeModel', vscode.Uri.file(inWorkspace(MODEL)));
    const preset = await stepShown(api, 1);
    assert.match(preset.activeItems[0]?.label ?? '', /^Custom/, 'the preset of the last run');
    await answer(api, 1, { labels: [/^Static INT8 for CNNs/] });
    const data = await stepShown(api, 2);
    const last = data.items.find((i) => i.description === 'last used');
    assert.strictEqual(last?.detail, inWorkspace('fashion-calib.npy'));
    data.hide();
    assert.strictEqual(await running, undefined, 'dismissing the wizard runs nothing');
  });

  it('keeps one layer in float: a second report, that layer in float, before and after in the panel', async function () {
    this.timeout(240000);
    const first = JSON.parse(fs.readFileSync(done.reportFile, 'utf8')) as QuantReport;
    const conv = first.layers.find((l) => l.opType === 'Conv')!.node;
    const file = await api.quantize.keepInFloat(vscode.Uri.file(done.reportFile), [conv]);
    assert.strictEqual(file, inWorkspace('fashion-cnn.int8.keep-float.report.json'));
    const after = parseQuantReport(JSON.parse(fs.readFileSync(file!, 'utf8')));
    assert.deepStrictEqual(after.keepInFloat?.nodes, [conv]);
    assert.strictEqual(after.quantizedModel, inWorkspace('fashion-cnn.int8.keep-float.onnx'));
    const result = parseQuantResult(JSON.parse(fs.readFileSync(inWorkspace('fashion-cnn.int8.keep-float.quant.json'), 'utf8')));
    assert.strictEqual(result.nodes.find((n) => n.node === conv)?.quantized, false, `${conv} is kept in float`);
    const panel = await waitFor('before and after in the panel', () => {
      const s = api.reportPanel();
      return s?.lastPosted?.report.quantizedModel === after.quantizedModel ? s : undefined;
    });
    assert.strictEqual(panel.lastPosted!.previous?.quantizedModel, done.output, 'the panel keeps the report it replaced');
  });

  it('keeps layers in float automatically until a target output SQNR', async function () {
    this.timeout(300000);
    const first = parseQuantReport(JSON.parse(fs.readFileSync(done.reportFile, 'utf8')));
    const start = first.model.outputs[0].error.sqnr!;
    const target = { kind: 'sqnr' as const, value: Math.round(start + 2) };
    const file = await api.quantize.keepInFloat(vscode.Uri.file(done.reportFile), target);
    assert.strictEqual(file, inWorkspace('fashion-cnn.int8.keep-float-2.report.json'), 'a new set of files beside the earlier attempt');
    const after = parseQuantReport(JSON.parse(fs.readFileSync(file!, 'utf8')));
    const keep = after.keepInFloat!;
    assert.deepStrictEqual(keep.target, target);
    assert.ok(keep.nodes.length >= 1 && keep.steps.length === keep.nodes.length, `layers kept one at a time: ${keep.nodes.join(', ')}`);
    assert.strictEqual(keep.met, keep.achieved !== null && keep.achieved >= target.value, `met says whether ${keep.achieved} dB reached ${target.value} dB`);
    const result = parseQuantResult(JSON.parse(fs.readFileSync(inWorkspace('fashion-cnn.int8.keep-float-2.quant.json'), 'utf8')));
    for (const n of keep.nodes) assert.strictEqual(result.nodes.find((d) => d.node === n)?.quantized, false, `${n} kept in float`);
    console.log(
      `      auto keep-in-float: output SQNR ${start.toFixed(2)} dB -> ${keep.achieved?.toFixed(2)} dB (target ${target.value}, met ${keep.met}) keeping ${keep.nodes.join(', ')}; size change ${keep.cost.sizeBytes} bytes`,
    );
  });

  it('cancels a run, leaving nothing half-written, and refuses a second run meanwhile', async function () {
    this.timeout(240000);
    const output = inWorkspace('fashion-cnn.cancelled.onnx');
    const uri = vscode.Uri.file(inWorkspace(MODEL));
    const long = { preset: 'static' as const, data: 'synthetic:200000', exclude: [], output };
    const running = api.quantize.flow.quantize(uri, long);
    await waitFor('calibration to run', () => api.quantize.flow.state?.stage === 'calibrating' && /batch [1-9]/.test(api.quantize.flow.state.detail));
    const early = api.quantize.flow.state!.percent;
    await waitFor('the progress bar to move', () => api.quantize.flow.state!.percent > early);
    assert.ok(api.quantize.flow.state!.percent < 60, `calibration fills the first 60% (${api.quantize.flow.state!.percent})`);

    const second = await api.quantize.flow.quantize(vscode.Uri.file(inWorkspace('sample-cnn.onnx')), { preset: 'static', data: 'synthetic:8' });
    assert.strictEqual(second.status, 'refused');
    assert.match((second as { message: string }).message, /fashion-cnn\.onnx is running \(calibrating\).*cancel it/);

    assert.strictEqual(await vscode.commands.executeCommand('onnxCompress.cancelQuantization'), true);
    const outcome = await running;
    assert.strictEqual(outcome.status, 'cancelled', JSON.stringify(outcome));
    assert.match((outcome as { message: string }).message, /cancelled while calibrating\. Nothing was written/);
    assert.ok(!fs.existsSync(output), 'no quantized model');
    assert.ok(!fs.existsSync(output.replace(/\.onnx$/, '.quant.json')) && !fs.existsSync(output.replace(/\.onnx$/, '.recipe.json')), 'no result or recipe');
    assert.deepStrictEqual(leftovers(), [], 'no temporary file left');
    assert.strictEqual(api.quantize.flow.state, undefined, 'no run left');
    assert.strictEqual(await vscode.commands.executeCommand('onnxCompress.cancelQuantization'), false, 'nothing left to cancel');
  });

  it('cancelled while analyzing, keeps the complete quantized files and writes no report', async function () {
    this.timeout(240000);
    const output = inWorkspace('fashion-cnn.analysis-cancelled.onnx');
    const running = api.quantize.flow.quantize(vscode.Uri.file(inWorkspace(MODEL)), {
      preset: 'static',
      data: 'synthetic:512',
      exclude: [],
      output,
    });
    await waitFor('the analysis', () => api.quantize.flow.state?.stage === 'analyzing');
    assert.strictEqual(await vscode.commands.executeCommand('onnxCompress.cancelQuantization'), true);
    const outcome = await running;
    assert.strictEqual(outcome.status, 'cancelled', JSON.stringify(outcome));
    assert.match(
      (outcome as { message: string }).message,
      /cancelled while analyzing\. Kept the complete fashion-cnn\.analysis-cancelled\.onnx, fashion-cnn\.analysis-cancelled\.quant\.json, fashion-cnn\.analysis-cancelled\.recipe\.json; no report was written/,
    );
    assert.ok(fs.existsSync(output), 'the quantized model is complete and kept');
    assert.ok(!fs.existsSync(output.replace(/\.onnx$/, '.report.json')), 'no report');
    assert.deepStrictEqual(leftovers(), [], 'no temporary file left');
  });

  it('says what does not match when the data is for another model, before anything runs', async () => {
    const output = inWorkspace('fashion-cnn.wrong.onnx');
    for (const preset of ['static', 'dynamic'] as const) {
      const outcome = await api.quantize.flow.quantize(vscode.Uri.file(inWorkspace(MODEL)), {
        preset,
        data: inWorkspace('rgb-32.npy'),
        exclude: [],
        output,
      });
      assert.strictEqual(outcome.status, 'failed', preset);
      assert.match(
        (outcome as { message: string }).message,
        /^Cannot quantize fashion-cnn\.onnx: .*rgb-32\.npy: calibration data shape \[4,3,32,32\] does not match input 'input' \[batch,1,28,28\]/,
      );
      assert.ok(!fs.existsSync(output), `${preset}: nothing written`);
    }
  });

  it('opens a saved report in the panel and refuses one edited by hand, naming the field', async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    assert.strictEqual(await vscode.commands.executeCommand('onnxCompress.openQuantReport', vscode.Uri.file(done.reportFile)), done.reportFile);
    await waitFor('the saved report in the panel', () => {
      const s = api.reportPanel();
      return s?.ready && s.lastPosted?.report.quantizedModel === done.output && s.lastPosted.previous === null;
    });
    const bad = JSON.parse(fs.readFileSync(done.reportFile, 'utf8')) as { layers: Array<{ accumulated: { sqnr: unknown } }> };
    bad.layers[0].accumulated.sqnr = 'NaN';
    const badFile = inWorkspace('edited.report.json');
    fs.writeFileSync(badFile, JSON.stringify(bad));
    assert.strictEqual(await vscode.commands.executeCommand('onnxCompress.openQuantReport', vscode.Uri.file(badFile)), undefined, 'not opened');
    assert.strictEqual(api.reportPanel()?.lastPosted?.report.quantizedModel, done.output, 'the panel still shows the good report');
    await assert.rejects(
      readReportFile(badFile),
      /edited\.report\.json: invalid quant report: layers\[0\]\.accumulated\.sqnr must be a finite number.*Quantize the model again/,
    );
  });
});

// Opening a model as a person does: a click in the Explorer opens the model view; the inspector in
// the ONNX side bar shows the same model; a weight's statistics come from a click in the view.
import * as assert from 'assert';
import { bench } from './setup';
import { covers } from './coverage';
import { until } from './workbench';

describe('UI: open a model', () => {
  it('a click in the Explorer opens the model view with its overview, layers and weights', async () => {
    const b = bench();
    await b.openFromExplorer('fashion-cnn.onnx');
    const view = await b.webview('#overview');
    await until('the overview to show the inputs', async () => /input/.test((await view.locator('#overview').innerText()) ?? ''));
    assert.strictEqual(await b.activeTab(), 'fashion-cnn.onnx');
    await view.locator('vscode-tab-header', { hasText: 'Layers' }).click();
    await until('the layers table', async () => /\/conv1\/Conv/.test(await view.locator('#layers').innerText()));
    await view.locator('vscode-tab-header', { hasText: 'Weights' }).click();
    await view.locator('#weights .vt-row', { hasText: 'fc1.weight' }).first().click();
    const stats = await until('the statistics of fc1.weight', async () => {
      const t = await view.locator('#tensor-stats').innerText();
      return /fc1\.weight/.test(t) && /std/i.test(t) ? t : undefined;
    });
    assert.match(stats, /RANGE[\s\S]*MEAN ± STD/i, 'range, mean and spread');
    await b.shot('model-view-weights');
  });

  it('the Model Inspector in the ONNX side bar lists the model\'s nodes by op type', async () => {
    const b = bench();
    const header = b.page.locator('.pane-header', { hasText: 'Model Inspector' }).first();
    // The ONNX icon toggles its side bar: click it only when the inspector is not on screen.
    if (!(await header.isVisible())) await b.page.locator('.activitybar [aria-label^="ONNX"]').first().click();
    await until('the inspector', () => header.isVisible());
    const tree = b.page.locator('.split-view-view').filter({ has: header }).locator('.monaco-list-rows').first();
    const text = await until('the inspector tree to list the model', async () => {
      const t = await tree.innerText();
      return /Nodes/.test(t) ? t : undefined;
    });
    assert.match(text, /Inputs/);
    await b.shot('inspector');
    await b.showExplorer();
  });

  it('Open Model Inspector from the Explorer menu opens the model and focuses the inspector', async () => {
    const b = bench();
    await b.closeAllEditors();
    await b.explorerMenu('tiny-transformer.onnx', 'Open Model Inspector');
    covers('explorer/context', 'onnxCompress.openModel');
    await until('the model view of tiny-transformer.onnx', async () => (await b.activeTab()) === 'tiny-transformer.onnx');
    await until('the inspector', () => b.page.locator('.pane-header', { hasText: 'Model Inspector' }).first().isVisible());
    await b.showExplorer();
  });
});

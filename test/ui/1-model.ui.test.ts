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

  it('two editors of one model keep their own tab, and closing one leaves the other working', async () => {
    const b = bench();
    await b.closeAllEditors();
    await b.openFromExplorer('fashion-cnn.onnx');
    await b.webview('#overview');
    await b.palette('View: Split Editor Right');
    await until('two model views', async () => (await b.page.locator('.editor-group-container').count()) === 2);
    const frames = await until('both views drawn', async () => {
      const found = [];
      for (const f of b.page.frames()) if (await f.$('#overview').catch(() => null)) found.push(f);
      return found.length === 2 ? found : undefined;
    });
    // One on Layers, the other on Weights: each keeps its own.
    await frames[0].locator('vscode-tab-header', { hasText: 'Layers' }).click();
    await frames[1].locator('vscode-tab-header', { hasText: 'Weights' }).click();
    await until('the first on Layers', async () => (await frames[0].locator('#layers').isVisible()) && !(await frames[0].locator('#weights').isVisible()));
    await until('the second on Weights', async () => (await frames[1].locator('#weights').isVisible()) && !(await frames[1].locator('#layers').isVisible()));
    await b.shot('two-editors');
    // Close the active (right) one: the left one still answers.
    await b.palette('View: Close Editor');
    await until('one editor left', async () => (await b.page.locator('.tabs-container .tab').count()) === 1);
    const left = await b.webview('#tabs');
    await left.locator('vscode-tab-header', { hasText: 'Weights' }).click();
    await left.locator('#weights .vt-row', { hasText: 'fc2.weight' }).first().click();
    await until('statistics in the remaining view', async () => /fc2\.weight/.test(await left.locator('#tensor-stats').innerText()));
  });

  it("the Model Inspector in the ONNX side bar lists the model's nodes by op type", async () => {
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

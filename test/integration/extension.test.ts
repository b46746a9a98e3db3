// The extension in a real VS Code extension host: the custom editor, the Model Inspector tree,
// every command, a corrupt model, and a model of 10,000 nodes.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { OnnxCompressApi } from '../../src/extension/extension';
import type { InspectorItem } from '../../src/extension/inspectorTree';
import type { ModelSummary, TensorStatsReport } from '../../src/shared/summary';
import { waitFor, workspace } from './wait';

const file = (name: string) => vscode.Uri.file(path.join(workspace(), name));

function activeCustomEditor(): vscode.TabInputCustom | undefined {
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  return input instanceof vscode.TabInputCustom ? input : undefined;
}

async function children(api: OnnxCompressApi, item?: InspectorItem): Promise<InspectorItem[]> {
  return api.tree.getChildren(item);
}

async function section(api: OnnxCompressApi, label: string): Promise<InspectorItem> {
  const roots = await children(api);
  const s = roots.find((r) => r.kind === 'section' && r.label === label);
  assert.ok(s, `section ${label} in ${roots.map((r) => (r.kind === 'section' ? r.label : r.kind))}`);
  return s!;
}

/** Leaves (nodes, tensors, values) under an item, through groups and pages. */
async function leavesUnder(api: OnnxCompressApi, item: InspectorItem): Promise<number> {
  let n = 0;
  for (const c of await children(api, item)) n += c.kind === 'group' || c.kind === 'page' ? await leavesUnder(api, c) : 1;
  return n;
}

describe('ONNX Compress in VS Code', () => {
  let api: OnnxCompressApi;

  before(async () => {
    const ext = vscode.extensions.all.find((e) => e.packageJSON.name === 'onnx-compress');
    assert.ok(ext, 'the extension is installed in the host');
    api = (await ext!.activate()) as OnnxCompressApi;
    assert.ok(api?.tree, 'activate() returns the extension API');
  });

  afterEach(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  // A real model open with a node revealed in the view and the inspector: the runner keeps a
  // screenshot of it when the host logs the marker (an artifact of the run; one is in the README).
  after(async () => {
    const uri = file('ocr-det.onnx');
    await vscode.commands.executeCommand('onnxCompress.openModel', uri);
    await waitFor('the model view', () => api.viewStatus(uri)?.state === 'ready');
    await vscode.commands.executeCommand('onnxCompress.revealNode', uri, 'p2o.Conv.2');
    await new Promise((r) => setTimeout(r, 2500));
    console.log('__SCREENSHOT__ vscode-model-view');
    await new Promise((r) => setTimeout(r, 1500));
  });

  it('opens a .onnx file in the ONNX model view, which loads the model', async () => {
    const uri = file('ocr-det.onnx');
    await vscode.commands.executeCommand('vscode.open', uri);
    const editor = await waitFor('the custom editor', () => activeCustomEditor());
    assert.strictEqual(editor.viewType, 'onnxCompress.modelView');
    assert.strictEqual(editor.uri.fsPath, uri.fsPath);
    // The webview asked for the overview and got it: the view loaded and talks to the host.
    const status = await waitFor('the view to render', () => (api.viewStatus(uri)?.state !== 'loading' ? api.viewStatus(uri) : undefined));
    assert.deepStrictEqual(status, { state: 'ready', detail: 'overview' });
    assert.strictEqual(api.store.active?.fsPath, uri.fsPath, "the opened model is the inspector's model");
  });

  it('lists the nodes of the real model in the Model Inspector', async () => {
    const uri = file('ocr-det.onnx');
    await vscode.commands.executeCommand('onnxCompress.openModel', uri);
    const total = (await api.store.get(uri)).overview().summary.nodes.total;
    const byOp = await section(api, 'Nodes by op type');
    const groups = await children(api, byOp);
    const conv = groups.find((g) => g.kind === 'group' && g.label === 'Conv');
    assert.ok(conv, 'a Conv group');
    const convNodes = await children(api, conv);
    assert.ok(convNodes.length > 10 && convNodes.every((n) => n.kind === 'node' && n.row.op === 'Conv'));
    assert.strictEqual(await leavesUnder(api, byOp), total, 'every node is listed once by op type');
    const tensors = await leavesUnder(api, await section(api, 'Initializers and constants'));
    assert.strictEqual(tensors, 342, 'every weight is listed (PP-OCR keeps them in Constant nodes)');
    const inputs = await children(api, await section(api, 'Inputs'));
    assert.deepStrictEqual(
      inputs.map((i) => (i.kind === 'value' ? i.value.name : '')),
      ['x'],
    );
  });

  it('reveals a node, shows tensor statistics, copies a name and exports the summary', async () => {
    const uri = file('sample-cnn.onnx');
    assert.strictEqual(await vscode.commands.executeCommand('onnxCompress.openModel', uri), uri.toString());
    await waitFor('the model view', () => api.viewStatus(uri)?.state === 'ready');

    const node = await vscode.commands.executeCommand<string>('onnxCompress.revealNode', uri, '/features/conv2/Conv');
    assert.strictEqual(node, '/features/conv2/Conv');

    const stats = await vscode.commands.executeCommand<TensorStatsReport>('onnxCompress.showTensorStatistics', uri, 'conv1.weight');
    assert.strictEqual(stats?.name, 'conv1.weight');
    assert.deepStrictEqual(stats.shape, [8, 1, 3, 3]);
    assert.strictEqual(stats.stats.count, 72);
    assert.ok(stats.stats.min! < 0 && stats.stats.max! > 0);

    assert.strictEqual(await vscode.commands.executeCommand('onnxCompress.copyName', 'fc.weight'), 'fc.weight');
    assert.strictEqual(await vscode.env.clipboard.readText(), 'fc.weight');

    const target = path.join(workspace(), 'sample-cnn.summary.json');
    assert.strictEqual(await vscode.commands.executeCommand('onnxCompress.exportSummary', uri, target), target);
    const summary = JSON.parse(fs.readFileSync(target, 'utf8')) as ModelSummary;
    assert.strictEqual(summary.format, 'onnx-compress/model-summary');
    assert.strictEqual(summary.nodes.total, 10);
    assert.ok(!fs.readdirSync(workspace()).some((f) => f.endsWith('.tmp')), 'no temporary file left');
  });

  it('shows an error for a corrupt model and keeps working', async () => {
    const bad = file('corrupt.onnx');
    await vscode.commands.executeCommand('vscode.open', bad);
    const status = await waitFor('the error', () => (api.viewStatus(bad)?.state === 'error' ? api.viewStatus(bad) : undefined));
    assert.match(status.detail, /corrupt\.onnx.*truncated or corrupt/);
    const roots = await children(api);
    assert.ok(roots.length === 1 && roots[0].kind === 'message' && /Cannot read the model/.test(roots[0].label), 'the inspector says why');

    const good = file('sample-cnn.onnx');
    await vscode.commands.executeCommand('vscode.open', good);
    await waitFor('the good model', () => api.viewStatus(good)?.state === 'ready');
    assert.strictEqual((await api.store.get(good)).overview().summary.nodes.total, 10);
  });

  it('opens a model of 10,000 nodes and pages its inspector lists', async () => {
    const uri = file('chain-10k.onnx');
    await vscode.commands.executeCommand('vscode.open', uri);
    await waitFor('the 10k model view', () => api.viewStatus(uri)?.state === 'ready');
    const byOp = await children(api, await section(api, 'Nodes by op type'));
    assert.deepStrictEqual(
      byOp.map((g) => (g.kind === 'group' ? `${g.label}:${g.description}` : '')),
      ['Add:5000', 'Relu:5000'],
    );
    const pages = await children(api, byOp[0]);
    assert.ok(pages.every((p) => p.kind === 'page') && pages.length === 25, `5000 nodes in pages of 200 (${pages.length})`);
    const scopes = await children(api, await section(api, 'Nodes by scope'));
    assert.strictEqual(scopes.length, 100, 'one scope per block');
    assert.strictEqual(await vscode.commands.executeCommand('onnxCompress.revealNode', uri, '/block.99/layer.98/Add'), '/block.99/layer.98/Add');
  });

  it('registers every command it contributes', async () => {
    const ext = vscode.extensions.all.find((e) => e.packageJSON.name === 'onnx-compress')!;
    const contributed = (ext.packageJSON.contributes.commands as Array<{ command: string }>).map((c) => c.command);
    const registered = new Set(await vscode.commands.getCommands(true));
    assert.deepStrictEqual(
      contributed.filter((id) => !registered.has(id)),
      [],
    );
  });
});

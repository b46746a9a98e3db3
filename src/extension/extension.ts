// The VS Code face: the .onnx model view, the Model Inspector sidebar and the ONNX commands.
// It turns gestures into engine calls and shows results; the computing lives in src/core.
import * as vscode from 'vscode';
import { useManifest } from './common/settings';
import { registerCommands, revealInInspector, type CommandContext } from './commands';
import { registerDistill, type DistillApi } from './distill';
import { InspectorTree, type InspectorItem } from './inspectorTree';
import { MODEL_VIEW_TYPE, ModelEditorProvider, type ViewStatus } from './modelEditor';
import { ModelStore } from './modelStore';
import { registerQuantize, type QuantizeApi } from './quantize';
import { ReportPanel, type ReportPanelStatus } from './reportPanel';

/** What the extension exports: used by its integration tests. */
export interface OnnxCompressApi {
  store: ModelStore;
  tree: InspectorTree;
  viewStatus(uri: vscode.Uri): ViewStatus | undefined;
  /** Distillation: the setup wizard's live input, the run controller, the Runs tree, run views. */
  distill: DistillApi;
  /** The quantize flow (its live wizard QuickPick, the run in progress, runs with given choices) and keep-in-float. */
  quantize: QuantizeApi;
  /** The report panel shown or used last: what it received and whether it is ready. */
  reportPanel(): ReportPanelStatus | undefined;
}

export function activate(context: vscode.ExtensionContext): OnnxCompressApi {
  useManifest(context.extension.packageJSON);
  const log = vscode.window.createOutputChannel('ONNX Compress', { log: true });
  const store = new ModelStore(log);
  const tree = new InspectorTree(store);
  const treeView = vscode.window.createTreeView<InspectorItem>('onnxCompress.inspector', { treeDataProvider: tree, showCollapseAll: true });
  const ctx: CommandContext = { store, tree, treeView, log, editor: undefined as unknown as ModelEditorProvider };
  ctx.editor = new ModelEditorProvider(context.extensionUri, store, log, (uri, kind, name) => revealInInspector(ctx, uri, kind, name));
  store.onDidChangeActive((uri) => {
    treeView.description = uri ? uri.path.split('/').pop() : undefined;
  });
  const quantize = registerQuantize(ctx, context);
  context.subscriptions.push(
    log,
    store,
    treeView,
    ...quantize.disposables,
    vscode.window.registerCustomEditorProvider(MODEL_VIEW_TYPE, ctx.editor, { supportsMultipleEditorsPerDocument: true }),
    ...registerCommands(ctx),
  );
  const distill = registerDistill(context, log);
  context.subscriptions.push(...distill.disposables);
  void vscode.commands.executeCommand('setContext', 'onnxCompress.hasModel', false);
  log.info('ONNX Compress ready');
  return {
    store,
    tree,
    viewStatus: (uri) => ctx.editor.status(uri),
    quantize: quantize.api,
    reportPanel: () => ReportPanel.current?.status,
    distill: distill.api,
  };
}

export function deactivate(): void {}

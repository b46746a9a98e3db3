// Commands of the "ONNX" category. Each takes its arguments when called from a tree item, a menu
// or a test, and asks for what is missing (a file, a node, a tensor) when run from the palette.
import * as path from 'path';
import * as vscode from 'vscode';
import { jsonText, writeFileAtomic } from '../core/files';
import type { TensorStatsReport } from '../shared/summary';
import type { InspectorItem, InspectorTree } from './inspectorTree';
import { MODEL_VIEW_TYPE, type ModelEditorProvider } from './modelEditor';
import type { ModelStore } from './modelStore';
import { asUri, commandRegistrar } from './common/registerCommand';

export interface CommandContext {
  store: ModelStore;
  editor: ModelEditorProvider;
  tree: InspectorTree;
  treeView: vscode.TreeView<InspectorItem>;
  log: vscode.LogOutputChannel;
}

async function pickModel(): Promise<vscode.Uri | undefined> {
  const picked = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'ONNX models': ['onnx'] }, title: 'Open an ONNX model' });
  return picked?.[0];
}

/** The model in the active editor, when that editor is the model view. */
export function activeModelEditor(): vscode.Uri | undefined {
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  return input instanceof vscode.TabInputCustom && input.viewType === MODEL_VIEW_TYPE ? input.uri : undefined;
}

/** Names the quantize flow and keep-in-float give their outputs: listed after the float models. */
const DERIVED_MODEL = /\.(int8|dynamic\.int8|keep-float)\.onnx$/i;

/**
 * The model a command started from the palette works on: the one in the active model view, else
 * one the user picks from the workspace's models (never one chosen silently from history).
 */
export async function modelFromEditorOrPick(arg: unknown, title: string): Promise<vscode.Uri | undefined> {
  const given = asUri(arg) ?? activeModelEditor();
  if (given) return given;
  const found = await vscode.workspace.findFiles('**/*.onnx', '**/{node_modules,.git}/**', 500);
  const rel = (u: vscode.Uri) => vscode.workspace.asRelativePath(u);
  found.sort((a, b) => Number(DERIVED_MODEL.test(a.fsPath)) - Number(DERIVED_MODEL.test(b.fsPath)) || rel(a).localeCompare(rel(b)));
  const browse = { label: '$(folder-opened) Browse...', uri: undefined as vscode.Uri | undefined };
  const items = [
    ...found.map((uri) => ({
      label: path.basename(uri.fsPath),
      description: path.dirname(rel(uri)) === '.' ? '' : path.dirname(rel(uri)),
      detail: DERIVED_MODEL.test(uri.fsPath) ? 'made by a quantization' : undefined,
      uri,
    })),
    browse,
  ];
  const picked = await vscode.window.showQuickPick(items, { title, placeHolder: 'Which model?', matchOnDescription: true });
  if (!picked) return undefined;
  return picked.uri ?? pickModel();
}

/** The model a command works on: the argument, else the active one, else one the user picks. */
export async function modelUri(ctx: CommandContext, arg: unknown): Promise<vscode.Uri | undefined> {
  return asUri(arg) ?? ctx.store.active ?? pickModel();
}

export async function revealInInspector(ctx: CommandContext, uri: vscode.Uri, kind: 'node' | 'tensor', name: string): Promise<boolean> {
  ctx.store.setActive(uri);
  const item = await ctx.tree.find(kind, name);
  if (!item) return false;
  await ctx.treeView.reveal(item, { select: true, focus: false, expand: true });
  return true;
}

export function registerCommands(ctx: CommandContext): vscode.Disposable[] {
  const run = commandRegistrar(ctx.log);

  return [
    run('onnxCompress.openModel', async (arg?: unknown) => {
      const uri = asUri(arg) ?? (await pickModel());
      if (!uri) return undefined;
      await vscode.commands.executeCommand('vscode.openWith', uri, MODEL_VIEW_TYPE);
      ctx.store.setActive(uri);
      await vscode.commands.executeCommand('onnxCompress.inspector.focus');
      return uri.toString();
    }),

    run('onnxCompress.revealNode', async (arg?: unknown, name?: string, options?: { preserveFocus?: boolean }) => {
      const uri = await modelUri(ctx, arg);
      if (!uri) return undefined;
      const view = await ctx.store.get(uri);
      const { rows } = await view.nodes(false);
      let node = name;
      if (node === undefined) {
        const pick = await vscode.window.showQuickPick(
          rows.map((r) => ({ label: r.name, description: r.op, detail: r.graph === 'main' ? undefined : r.graph })),
          { title: 'Reveal node', placeHolder: 'Node name or op type', matchOnDescription: true },
        );
        node = pick?.label;
      }
      if (node === undefined) return undefined;
      if (!rows.some((r) => r.name === node)) throw new Error(`No node named '${node}' in ${path.basename(uri.fsPath)}.`);
      await ctx.editor.reveal(uri, 'node', node, { preserveFocus: options?.preserveFocus === true });
      await revealInInspector(ctx, uri, 'node', node);
      return node;
    }),

    run('onnxCompress.showTensorStatistics', async (arg?: unknown, name?: string): Promise<TensorStatsReport | undefined> => {
      const fromTree = arg && typeof arg === 'object' && 'kind' in arg && (arg as InspectorItem).kind === 'tensor';
      const uri = await modelUri(ctx, fromTree ? undefined : arg);
      if (!uri) return undefined;
      const view = await ctx.store.get(uri);
      let tensor = fromTree ? (arg as Extract<InspectorItem, { kind: 'tensor' }>).row.name : name;
      if (tensor === undefined) {
        const pick = await vscode.window.showQuickPick(
          view.tensors().map((t) => ({ label: t.name, description: `${t.type} [${t.shape.join(', ')}]`, detail: t.role })),
          { title: 'Tensor statistics', placeHolder: 'Initializer or constant', matchOnDescription: true },
        );
        tensor = pick?.label;
      }
      if (tensor === undefined) return undefined;
      const report = view.tensorStats(tensor);
      const s = report.stats;
      ctx.log.info(
        `${report.name}: ${report.dataType} [${report.shape.join(', ')}] min ${s.min} max ${s.max} mean ${s.mean} std ${s.std} zeros ${(s.zeroFraction * 100).toFixed(2)}%`,
      );
      await ctx.editor.reveal(uri, 'tensor', tensor);
      return report;
    }),

    run('onnxCompress.copyName', async (arg?: unknown) => {
      const item = arg as InspectorItem | string | undefined;
      const name =
        typeof item === 'string'
          ? item
          : item?.kind === 'node' || item?.kind === 'tensor'
            ? item.row.name
            : item?.kind === 'value'
              ? item.value.name
              : undefined;
      if (!name) throw new Error('Select a node, tensor, input or output in the Model Inspector to copy its name.');
      await vscode.env.clipboard.writeText(name);
      return name;
    }),

    run('onnxCompress.exportSummary', async (arg?: unknown, target?: unknown) => {
      const uri = await modelUri(ctx, arg);
      if (!uri) return undefined;
      const summary = (await ctx.store.get(uri)).overview().summary;
      let out = asUri(target);
      if (!out) {
        out = await vscode.window.showSaveDialog({
          defaultUri: vscode.Uri.file(uri.fsPath.replace(/\.onnx$/i, '') + '.summary.json'),
          filters: { JSON: ['json'] },
          title: 'Export model summary',
        });
      }
      if (!out) return undefined;
      await writeFileAtomic(out.fsPath, jsonText(summary));
      ctx.log.info(`exported the summary of ${uri.fsPath} to ${out.fsPath}`);
      return out.fsPath;
    }),

    run('onnxCompress.refreshInspector', async () => {
      const uri = ctx.store.active;
      if (!uri) return ctx.tree.refresh();
      // An unchanged file keeps the tree as it is: rebuilding it would collapse the open branches
      // and make the rows on screen point at elements that no longer exist until it is redrawn.
      if (!ctx.store.reloadIfChanged(uri)) vscode.window.setStatusBarMessage(`Model Inspector: ${path.basename(uri.fsPath)} has not changed on disk`, 4000);
    }),
  ];
}

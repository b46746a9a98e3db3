// The custom readonly editor for .onnx files: a webview that shows the model overview and asks
// the host for what it displays. Model loading errors are shown in the view itself.
import * as vscode from 'vscode';
import { errorMessage } from '../core/errors';
import type { ModelStore } from './modelStore';
import { layerErrorsFor } from './quantize/reportFile';
import { settings } from './settings';
import { WebviewChannel, webviewHtml } from './webviewChannel';

export const MODEL_VIEW_TYPE = 'onnxCompress.modelView';

/** What a view last reported to the host (used by tests through the extension's API). */
export interface ViewStatus {
  state: 'loading' | 'ready' | 'error';
  detail: string;
}

class OnnxDocument implements vscode.CustomDocument {
  constructor(readonly uri: vscode.Uri) {}
  dispose(): void {}
}

export class ModelEditorProvider implements vscode.CustomReadonlyEditorProvider<OnnxDocument> {
  private readonly channels = new Map<string, { panel: vscode.WebviewPanel; channel: WebviewChannel }>();
  private readonly statuses = new Map<string, ViewStatus>();

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly store: ModelStore,
    private readonly log: vscode.LogOutputChannel,
    private readonly revealInInspector: (uri: vscode.Uri, kind: 'node' | 'tensor', name: string) => Promise<boolean>,
  ) {}

  openCustomDocument(uri: vscode.Uri): OnnxDocument {
    return new OnnxDocument(uri);
  }

  resolveCustomEditor(document: OnnxDocument, panel: vscode.WebviewPanel): void {
    const { uri } = document;
    const key = uri.toString();
    const webview = panel.webview;
    webview.options = {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'dist'), vscode.Uri.joinPath(this.extensionUri, 'media')],
    };
    this.statuses.set(key, { state: 'loading', detail: '' });
    const view = () => this.store.get(uri);
    const tracked = <T>(work: () => Promise<T>, what: string): Promise<T> =>
      work().then(
        (r) => {
          this.statuses.set(key, { state: 'ready', detail: what });
          return r;
        },
        (e) => {
          this.statuses.set(key, { state: 'error', detail: errorMessage(e) });
          throw e;
        },
      );
    const channel = new WebviewChannel(webview, {
      overview: () => tracked(async () => (await view()).overview(), 'overview'),
      nodes: ({ probe }) => view().then((v) => v.nodes(probe && settings().probeShapes)),
      tensors: () => view().then((v) => v.tensors()),
      tensorStats: ({ name }) => view().then((v) => v.tensorStats(name)),
      revealInInspector: ({ kind, name }) => this.revealInInspector(uri, kind, name),
      layerErrors: () => layerErrorsFor(uri.fsPath),
    }, this.log);
    // A report written (or removed) beside the model recolours its layers.
    const reports = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.joinPath(uri, '..'), '*.report.json'));
    const reportChanged = () => channel.notify('layerErrorsChanged', {});
    reports.onDidCreate(reportChanged);
    reports.onDidChange(reportChanged);
    reports.onDidDelete(reportChanged);
    webview.html = webviewHtml(webview, this.extensionUri, uri.path.split('/').pop() ?? 'model');
    this.channels.set(key, { panel, channel });
    if (panel.active) this.store.setActive(uri);
    panel.onDidChangeViewState(() => {
      if (panel.active) this.store.setActive(uri);
    });
    panel.onDidDispose(() => {
      channel.dispose();
      reports.dispose();
      this.channels.delete(key);
      this.statuses.delete(key);
      if (this.store.active?.toString() === key) this.store.setActive(this.anyOpen());
    });
  }

  private anyOpen(): vscode.Uri | undefined {
    const first = this.channels.keys().next();
    return first.done ? undefined : vscode.Uri.parse(first.value);
  }

  /** Shows a node or tensor in the model view of `uri`, opening the view when needed. With
   *  preserveFocus (a click in the report panel) a view it opens goes beside, and the focus stays. */
  async reveal(uri: vscode.Uri, kind: 'node' | 'tensor', name: string, options: { preserveFocus?: boolean } = {}): Promise<void> {
    let entry = this.channels.get(uri.toString());
    if (!entry) {
      await vscode.commands.executeCommand('vscode.openWith', uri, MODEL_VIEW_TYPE, options.preserveFocus ? { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true } : undefined);
      entry = this.channels.get(uri.toString());
    }
    entry?.panel.reveal(undefined, true);
    entry?.channel.notify('reveal', { kind, name });
  }

  status(uri: vscode.Uri): ViewStatus | undefined {
    return this.statuses.get(uri.toString());
  }

  isOpen(uri: vscode.Uri): boolean {
    return this.channels.has(uri.toString());
  }
}

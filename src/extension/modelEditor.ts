// The custom readonly editor for .onnx files: a webview that shows the model overview and asks
// the host for what it displays. Model loading errors are shown in the view itself.
import * as vscode from 'vscode';
import { errorMessage } from '../core/errors';
import type { ModelStore } from './modelStore';
import { PanelRegistry } from './panelRegistry';
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

interface Panel {
  panel: vscode.WebviewPanel;
  channel: WebviewChannel;
  status: ViewStatus;
}

export class ModelEditorProvider implements vscode.CustomReadonlyEditorProvider<OnnxDocument> {
  /** Every open view, several per model when it is split: each has its own channel and status. */
  private readonly panels = new PanelRegistry<Panel>();

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
    const release = this.store.retain(uri);
    const view = () => this.store.get(uri);
    const tracked = <T>(work: () => Promise<T>, what: string): Promise<T> =>
      work().then(
        (r) => {
          entry.status = { state: 'ready', detail: what };
          return r;
        },
        (e) => {
          entry.status = { state: 'error', detail: errorMessage(e) };
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
    const entry: Panel = { panel, channel, status: { state: 'loading', detail: '' } };
    // A report written (or removed) beside the model recolours its layers.
    const reports = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.joinPath(uri, '..'), '*.report.json'));
    const reportChanged = () => channel.notify('layerErrorsChanged', {});
    reports.onDidCreate(reportChanged);
    reports.onDidChange(reportChanged);
    reports.onDidDelete(reportChanged);
    webview.html = webviewHtml(webview, this.extensionUri, uri.path.split('/').pop() ?? 'model');
    const remove = this.panels.add(key, entry);
    const activated = () => {
      if (!panel.active) return;
      this.panels.touch(key, entry);
      this.store.setActive(uri);
    };
    activated();
    panel.onDidChangeViewState(activated);
    panel.onDidDispose(() => {
      channel.dispose();
      reports.dispose();
      remove();
      // The inspector moves to another open model only when this model's last view is gone.
      if (!this.panels.has(key) && this.store.active?.toString() === key) this.store.setActive(this.anyOpen());
      release();
    });
  }

  private anyOpen(): vscode.Uri | undefined {
    const key = this.panels.keys()[0];
    return key === undefined ? undefined : vscode.Uri.parse(key);
  }

  /** Shows a node or tensor in the model view of `uri` (the view of it used last), opening one when needed. */
  async reveal(uri: vscode.Uri, kind: 'node' | 'tensor', name: string): Promise<void> {
    let entry = this.panels.current(uri.toString());
    if (!entry) {
      await vscode.commands.executeCommand('vscode.openWith', uri, MODEL_VIEW_TYPE);
      entry = this.panels.current(uri.toString());
    }
    entry?.panel.reveal(undefined, true);
    entry?.channel.notify('reveal', { kind, name });
  }

  /** The status of the view of `uri` used last. */
  status(uri: vscode.Uri): ViewStatus | undefined {
    return this.panels.current(uri.toString())?.status;
  }

  /** The statuses of every view of `uri`, in the order they were last used. */
  statuses(uri: vscode.Uri): ViewStatus[] {
    return this.panels.panels(uri.toString()).map((p) => p.status);
  }

  isOpen(uri: vscode.Uri): boolean {
    return this.panels.has(uri.toString());
  }
}

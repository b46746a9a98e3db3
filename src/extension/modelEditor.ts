// The custom readonly editor for .onnx files: a webview that shows the model overview and asks
// the host for what it displays. Model loading errors are shown in the view itself.
import * as vscode from 'vscode';
import { errorMessage } from '../core/errors';
import type { ModelView } from '../core/onnx/modelView';
import { fedInputs, formatInputShapes, guessInputDims, inputShapesFor, inputShapesProblem, parseInputShapes } from '../core/runtime/inputShapes';
import { MODEL_VIEW_PROTOCOL, type ModelViewNotifications, type ModelViewRequests } from '../shared/modelViewProtocol';
import type { ModelStore } from './modelStore';
import { layerErrorsFor } from './quantize/reportFile';
import { settings } from './common/settings';
import { WebviewCollection } from './webview/collection';
import { WebviewHost } from './webview/host';
import { showPage } from './webview/page';

export const MODEL_VIEW_TYPE = 'onnxCompress.modelView';
const MODEL_VIEW_PAGE = { script: 'dist/webview.js', styles: ['media/common/base.css', 'media/main.css'] };

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
  host: WebviewHost<ModelViewRequests, Record<never, never>, ModelViewNotifications>;
  status: ViewStatus;
}

export class ModelEditorProvider implements vscode.CustomReadonlyEditorProvider<OnnxDocument> {
  /** Every open view, several per model when it is split: each has its own host and status. */
  private readonly panels = new WebviewCollection<Panel>();
  /** Input sizes given with Set Input Shapes, per model, for this session (the setting keeps them longer). */
  private readonly givenShapes = new Map<string, Record<string, number[]>>();

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
    const host = new WebviewHost(panel, {
      protocol: MODEL_VIEW_PROTOCOL,
      log: this.log,
      beforeReady: 'queue',
      notifications: {},
      requests: {
        overview: () => tracked(async () => (await view()).overview(), 'overview'),
        nodes: ({ probe }) => view().then((v) => v.nodes(probe && settings().probeShapes, probe ? this.inputShapes(uri, v) : undefined)),
        tensors: () => view().then((v) => v.tensors()),
        tensorStats: ({ name }) => view().then((v) => v.tensorStats(name)),
        revealInInspector: ({ kind, name }) => this.revealInInspector(uri, kind, name),
        layerErrors: () => layerErrorsFor(uri.fsPath),
        setInputShapes: () => this.askInputShapes(uri),
      },
    });
    const entry: Panel = { panel, host, status: { state: 'loading', detail: '' } };
    // A report written (or removed) beside the model recolours its layers.
    const reports = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.joinPath(uri, '..'), '*.report.json'));
    const reportChanged = () => host.notify('layerErrorsChanged', {});
    reports.onDidCreate(reportChanged);
    reports.onDidChange(reportChanged);
    reports.onDidDelete(reportChanged);
    const config = vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('onnxCompress.inspector.inputShapes') || e.affectsConfiguration('onnxCompress.inspector.probeShapes')) {
        host.notify('inputShapesChanged', {});
      }
    });
    showPage(panel.webview, this.extensionUri, MODEL_VIEW_PAGE, uri.path.split('/').pop() ?? 'model');
    const remove = this.panels.add(key, entry);
    const activated = () => {
      if (!panel.active) return;
      this.panels.touch(key, entry);
      this.store.setActive(uri);
    };
    activated();
    panel.onDidChangeViewState(activated);
    panel.onDidDispose(() => {
      host.dispose();
      reports.dispose();
      config.dispose();
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

  /** The probe's input sizes for `uri`: the setting's where they fit, then those given for it. */
  private inputShapes(uri: vscode.Uri, view: ModelView): Record<string, number[]> {
    const { shapes, unfit } = inputShapesFor(fedInputs(view.model), settings().inputShapes, this.givenShapes.get(uri.toString()));
    for (const why of unfit) this.log.info(`onnxCompress.inspector.inputShapes left out for ${uri.fsPath}: ${why}`);
    return shapes;
  }

  /** Set Input Shapes...: asks for the sizes of the model's inputs, then every view of it probes again. */
  private async askInputShapes(uri: vscode.Uri): Promise<boolean> {
    const view = await this.store.get(uri);
    const inputs = fedInputs(view.model);
    if (!inputs.length) {
      void vscode.window.showInformationMessage('This model has no inputs to size: its shapes do not depend on them.');
      return false;
    }
    const current = this.inputShapes(uri, view);
    const named = new Map<string, number>();
    const shown = Object.fromEntries(inputs.map((i) => [i.name, current[i.name] ?? guessInputDims(i.dims ?? [], named).dims]));
    const value = await vscode.window.showInputBox({
      title: 'Set Input Shapes',
      prompt: `Sizes of ${uri.path.split('/').pop()}'s inputs for the shape probe, NAME=D1,D2,... separated by ';' (for this session; the onnxCompress.inspector.inputShapes setting keeps them)`,
      value: formatInputShapes(shown),
      ignoreFocusOut: true,
      validateInput: (text) => {
        try {
          return inputShapesProblem(inputs, parseInputShapes(text));
        } catch (e) {
          return errorMessage(e);
        }
      },
    });
    if (value === undefined) return false;
    const given = parseInputShapes(value);
    this.givenShapes.set(uri.toString(), given);
    this.log.info(`input sizes for ${uri.fsPath}: ${formatInputShapes(given) || '(guessed)'}`);
    for (const p of this.panels.panels(uri.toString())) p.host.notify('inputShapesChanged', {});
    return true;
  }

  /**
   * Shows a node or tensor in the model view of `uri` (the view of it used last), opening one when
   * needed. With preserveFocus (a click in the report panel) a view it opens goes beside, and the
   * focus stays where it was.
   */
  async reveal(uri: vscode.Uri, kind: 'node' | 'tensor', name: string, options: { preserveFocus?: boolean } = {}): Promise<void> {
    let entry = this.panels.current(uri.toString());
    if (entry) {
      // Its own column, named: a custom editor's panel revealed with none can be opened a second
      // time in the active group (an empty tab that hid the report there).
      entry.panel.reveal(entry.panel.viewColumn, true);
    } else {
      // With preserveFocus, the column after the caller's (the report's), named explicitly.
      const beside = vscode.window.tabGroups.activeTabGroup.viewColumn + 1;
      await vscode.commands.executeCommand(
        'vscode.openWith',
        uri,
        MODEL_VIEW_TYPE,
        options.preserveFocus ? { viewColumn: beside, preserveFocus: true, preview: false } : undefined,
      );
      entry = this.panels.current(uri.toString());
    }
    entry?.host.notify('reveal', { kind, name });
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

// Loaded models, one per file, shared by the model view, the inspector and the commands. A model
// is read once and dropped when its file changes; the "active" model is the one the inspector shows.
import * as vscode from 'vscode';
import { readModel } from '../core/onnx/model';
import { ModelView } from '../core/onnx/modelView';
import { settings } from './settings';

export class ModelStore implements vscode.Disposable {
  private readonly loaded = new Map<string, Promise<ModelView>>();
  private activeUri: vscode.Uri | undefined;
  private readonly changed = new vscode.EventEmitter<vscode.Uri | undefined>();
  /** Fires with the active model's URI when it changes (or undefined when none is left). */
  readonly onDidChangeActive = this.changed.event;
  private readonly watcher = vscode.workspace.createFileSystemWatcher('**/*.onnx');

  constructor(private readonly log: vscode.LogOutputChannel) {
    const drop = (uri: vscode.Uri) => {
      if (this.loaded.delete(uri.toString())) this.log.info(`model changed on disk: ${uri.fsPath}`);
      if (this.activeUri?.toString() === uri.toString()) this.changed.fire(this.activeUri);
    };
    this.watcher.onDidChange(drop);
    this.watcher.onDidDelete(drop);
  }

  get(uri: vscode.Uri): Promise<ModelView> {
    const key = uri.toString();
    let view = this.loaded.get(key);
    if (!view) {
      const started = Date.now();
      view = readModel(uri.fsPath).then((model) => {
        this.log.info(`read ${uri.fsPath} in ${Date.now() - started} ms`);
        return new ModelView(model, settings().histogramBins);
      });
      view.catch((e) => {
        this.log.error(`cannot read ${uri.fsPath}: ${e instanceof Error ? e.message : e}`);
        this.loaded.delete(key);
      });
      this.loaded.set(key, view);
    }
    return view;
  }

  get active(): vscode.Uri | undefined {
    return this.activeUri;
  }

  setActive(uri: vscode.Uri | undefined): void {
    if (uri?.toString() === this.activeUri?.toString()) return;
    this.activeUri = uri;
    void vscode.commands.executeCommand('setContext', 'onnxCompress.hasModel', !!uri);
    this.changed.fire(uri);
  }

  /** The active model, or an error with the next step. */
  async activeView(): Promise<{ uri: vscode.Uri; view: ModelView }> {
    const uri = this.activeUri;
    if (!uri) throw new Error('No ONNX model is open. Open a .onnx file first (ONNX: Open Model Inspector).');
    return { uri, view: await this.get(uri) };
  }

  dispose(): void {
    this.watcher.dispose();
    this.changed.dispose();
  }
}

// Loaded models, one per file, shared by the model view, the inspector and the commands. A model
// is read once, dropped when its file changes, and released when its last editor closes unless
// it is the "active" model, the one the inspector shows (see ModelCache).
import * as fs from 'fs';
import * as vscode from 'vscode';
import { readModel } from '../core/onnx/model';
import { ModelView } from '../core/onnx/modelView';
import { ModelCache } from './modelCache';
import { settings } from './common/settings';

export class ModelStore implements vscode.Disposable {
  private readonly loaded: ModelCache<ModelView>;
  private activeUri: vscode.Uri | undefined;
  private readonly changed = new vscode.EventEmitter<vscode.Uri | undefined>();
  /** Fires with the active model's URI when it changes (or undefined when none is left). */
  readonly onDidChangeActive = this.changed.event;
  private readonly watcher = vscode.workspace.createFileSystemWatcher('**/*.onnx');
  /** Size and modification time of each file when it was read, to tell whether it changed since. */
  private readonly readAs = new Map<string, string>();

  constructor(private readonly log: vscode.LogOutputChannel) {
    this.loaded = new ModelCache((key) => this.log.info(`released ${vscode.Uri.parse(key).fsPath}: no editor shows it`));
    const drop = (uri: vscode.Uri) => {
      if (this.loaded.drop(uri.toString())) this.log.info(`model changed on disk: ${uri.fsPath}`);
      if (this.activeUri?.toString() === uri.toString()) this.changed.fire(this.activeUri);
    };
    this.watcher.onDidChange(drop);
    this.watcher.onDidDelete(drop);
  }

  get(uri: vscode.Uri): Promise<ModelView> {
    return this.loaded.get(uri.toString(), () => {
      const started = Date.now();
      this.readAs.set(uri.toString(), fingerprint(uri));
      const view = readModel(uri.fsPath).then((model) => {
        this.log.info(`read ${uri.fsPath} in ${Date.now() - started} ms`);
        return new ModelView(model, settings().histogramBins, (detail) => this.log.warn(`shape probe of ${uri.fsPath} failed: ${detail}`));
      });
      view.catch((e) => this.log.error(`cannot read ${uri.fsPath}: ${e instanceof Error ? e.message : e}`));
      return view;
    });
  }

  /**
   * Reads the model of `uri` again when its file changed since it was read, firing the change
   * when it is the active model. Returns whether it changed: an unchanged file keeps its loaded
   * model, so a refresh does not rebuild views (and their expanded branches) for nothing.
   */
  reloadIfChanged(uri: vscode.Uri): boolean {
    const key = uri.toString();
    if (this.loaded.isLoaded(key) && this.readAs.get(key) === fingerprint(uri)) return false;
    this.loaded.drop(key);
    if (this.activeUri?.toString() === key) this.changed.fire(this.activeUri);
    return true;
  }

  /** Keeps the model of `uri` loaded until the returned function is called (one per editor). */
  retain(uri: vscode.Uri): () => void {
    return this.loaded.retain(uri.toString());
  }

  isLoaded(uri: vscode.Uri): boolean {
    return this.loaded.isLoaded(uri.toString());
  }

  get active(): vscode.Uri | undefined {
    return this.activeUri;
  }

  setActive(uri: vscode.Uri | undefined): void {
    if (uri?.toString() === this.activeUri?.toString()) return;
    this.activeUri = uri;
    this.loaded.setActive(uri?.toString());
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

function fingerprint(uri: vscode.Uri): string {
  try {
    const st = fs.statSync(uri.fsPath);
    return `${st.size}:${st.mtimeMs}`;
  } catch {
    return 'missing';
  }
}

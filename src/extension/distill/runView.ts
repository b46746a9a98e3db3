// The run view's host side: one webview panel per run folder. It keeps the run's events, so a
// view that is opened late, hidden and shown again, or reopened draws the whole run; nothing is
// posted before the view says ready, and every message from the view is validated.
import * as crypto from 'crypto';
import * as path from 'path';
import * as vscode from 'vscode';
import type { DistillEvent, StudentVerification } from '../../shared/distillRun';
import {
  parseRunViewMessage, type FromRunView, type RunViewAction, type RunViewHeader, type RunViewState, type ToRunView,
} from '../../shared/runViewProtocol';
import { modelViewHtml } from '../../shared/webviewHtml';

export const RUN_VIEW_TYPE = 'onnxCompress.distillRun';

/** What the view last reported (read by the extension's tests through its API). */
export interface RunViewStatus {
  ready: boolean;
  /** Events posted to the view, and what the view said it drew. */
  posted: number;
  drawn: Extract<FromRunView, { type: 'drawn' }> | null;
  state: RunViewState;
  lastRejected: string | null;
}

export class RunView implements vscode.Disposable {
  private static readonly views = new Map<string, RunView>();

  private ready = false;
  private readonly events: DistillEvent[] = [];
  private header: RunViewHeader;
  private stateMessage: Extract<ToRunView, { type: 'state' }> = { type: 'state', state: 'running', message: 'Starting', verification: null, actions: ['cancel'] };
  private drawn: RunViewStatus['drawn'] = null;
  private lastRejected: string | null = null;
  private readonly disposables: vscode.Disposable[] = [];
  private onAction: (action: RunViewAction) => void = () => undefined;

  static get(runDir: string): RunView | undefined {
    return RunView.views.get(path.resolve(runDir));
  }

  /** Opens (or reveals) the view of `header.runDir`; `onAction` answers its buttons. */
  static show(extensionUri: vscode.Uri, header: RunViewHeader, onAction: (a: RunViewAction) => void, log: vscode.LogOutputChannel): RunView {
    const key = path.resolve(header.runDir);
    let view = RunView.views.get(key);
    if (!view) {
      const panel = vscode.window.createWebviewPanel(RUN_VIEW_TYPE, `Distill: ${header.name}`, { viewColumn: vscode.ViewColumn.Active, preserveFocus: true }, {
        enableScripts: true,
        localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist'), vscode.Uri.joinPath(extensionUri, 'media')],
      });
      view = new RunView(panel, extensionUri, header, log);
      RunView.views.set(key, view);
    } else {
      view.panel.reveal(undefined, true);
    }
    view.onAction = onAction;
    view.setHeader(header);
    return view;
  }

  private constructor(readonly panel: vscode.WebviewPanel, extensionUri: vscode.Uri, header: RunViewHeader, private readonly log: vscode.LogOutputChannel) {
    this.header = header;
    const webview = panel.webview;
    const uri = (...rel: string[]) => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, ...rel)).toString();
    webview.html = modelViewHtml({
      nonce: crypto.randomBytes(16).toString('base64'),
      cspSource: webview.cspSource,
      scriptUri: uri('dist', 'run.js'),
      styleUri: uri('media', 'run', 'run.css'),
      title: panel.title,
    });
    this.disposables.push(
      webview.onDidReceiveMessage((raw) => this.receive(raw)),
      // A hidden webview is torn down; it says ready again when shown and gets the whole run.
      panel.onDidChangeViewState(() => {
        if (!panel.visible) this.ready = false;
      }),
      panel.onDidDispose(() => this.dispose()),
    );
  }

  get status(): RunViewStatus {
    return { ready: this.ready, posted: this.events.length, drawn: this.drawn, state: this.stateMessage.state, lastRejected: this.lastRejected };
  }

  private receive(raw: unknown): void {
    const msg = parseRunViewMessage(raw);
    if (typeof msg === 'string') {
      this.lastRejected = msg;
      this.log.warn(`run view: ignored a message (${msg})`);
      return;
    }
    if (msg.type === 'ready') {
      this.ready = true;
      this.post({ type: 'header', header: this.header });
      if (this.events.length) this.post({ type: 'events', events: this.events });
      this.post(this.stateMessage);
    } else if (msg.type === 'drawn') {
      this.drawn = msg;
    } else if (this.stateMessage.actions.includes(msg.action)) {
      this.onAction(msg.action);
    } else {
      this.lastRejected = `action ${msg.action} is not offered now`;
    }
  }

  private post(msg: ToRunView): void {
    if (this.ready) void this.panel.webview.postMessage(msg);
  }

  setHeader(header: RunViewHeader): void {
    this.header = header;
    this.post({ type: 'header', header });
  }

  /** Starts the curves over (a resumed run replays its folder's metrics before the new events). */
  reset(events: DistillEvent[] = []): void {
    this.events.splice(0, this.events.length, ...events);
    this.drawn = null;
    this.post({ type: 'reset' });
    if (events.length) this.post({ type: 'events', events });
  }

  addEvents(events: DistillEvent[]): void {
    if (!events.length) return;
    this.events.push(...events);
    this.post({ type: 'events', events });
  }

  setState(state: RunViewState, message: string, verification: StudentVerification | null, actions: RunViewAction[]): void {
    this.stateMessage = { type: 'state', state, message, verification, actions };
    this.post(this.stateMessage);
  }

  dispose(): void {
    this.ready = false;
    if (RunView.views.get(path.resolve(this.header.runDir)) === this) RunView.views.delete(path.resolve(this.header.runDir));
    this.disposables.forEach((d) => d.dispose());
    this.panel.dispose();
  }
}

// The quantization report panel: a webview that draws a QuantReport and turns the user's clicks
// (reveal a layer, keep layers in float, export HTML) into calls of the actions it was given. One
// panel per float model; a new report for the same model replaces what it shows. Nothing is posted
// before the view says it is ready, and a view that was hidden and comes back gets the report again.
import * as crypto from 'crypto';
import * as vscode from 'vscode';
import { errorMessage } from '../core/errors';
import type { QuantReport } from '../shared/quantReport';
import {
  parseReportViewMessage, REPORT_SCRIPT, REPORT_STYLESHEETS, type KeepInFloatTarget, type LayerRef, type ReportAction,
  type ToReportView,
} from '../shared/reportProtocol';
import { modelViewHtml } from '../shared/webviewHtml';

export const REPORT_VIEW_TYPE = 'onnxCompress.quantReport';

/** What an action gets: cancellation (the panel's Cancel) and a progress sink shown in the panel. */
export interface ActionOptions {
  signal: AbortSignal;
  onProgress(message: string, fraction?: number): void;
}

/** What the panel asks of the extension; the quantize flow implements it with the engine. */
export interface ReportActions {
  /** Show the layer in the Model Inspector and the model view, leaving the focus in the report. */
  reveal(layer: LayerRef): Promise<void> | void;
  /** Re-quantize with these nodes in float; resolves to the new model's report. */
  keepInFloat(nodes: string[], options: ActionOptions): Promise<QuantReport>;
  /** Keep the most sensitive layers in float until the target is met; resolves to the new report. */
  autoKeepInFloat(target: KeepInFloatTarget, options: ActionOptions): Promise<QuantReport>;
  /** Write the report as one offline HTML file; resolves to its path, or undefined when the user cancelled. */
  exportHtml(report: QuantReport): Promise<string | undefined>;
}

/** What the panel shows and last sent (read through the extension's API by tests). */
export interface ReportPanelStatus {
  ready: boolean;
  /** The last `report` message posted to the view (null before the first). */
  lastPosted: Extract<ToReportView, { type: 'report' }> | null;
  /** The action running now. */
  busy: ReportAction | null;
  /** The last message the view sent that was refused, and why. */
  lastRejected: string | null;
}

const basename = (p: string) => p.split(/[\\/]/).pop() ?? p;

export class ReportPanel implements vscode.Disposable {
  private static readonly panels = new Map<string, ReportPanel>();
  /** The panel shown or used last. */
  static current: ReportPanel | undefined;

  private ready = false;
  private report: QuantReport;
  private previous: QuantReport | null = null;
  private lastPosted: ReportPanelStatus['lastPosted'] = null;
  private lastRejected: string | null = null;
  private running: { action: ReportAction; abort: AbortController; busy: ToReportView } | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  /** Opens (or reuses) the panel of the report's float model and shows the report. */
  static show(context: { extensionUri: vscode.Uri }, report: QuantReport, actions: ReportActions, log: vscode.LogOutputChannel): ReportPanel {
    const existing = ReportPanel.panels.get(report.floatModel);
    if (existing) {
      existing.actions = actions;
      existing.setReport(report, null);
      existing.panel.reveal(undefined, false);
      ReportPanel.current = existing;
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(REPORT_VIEW_TYPE, `Quantization: ${basename(report.quantizedModel)}`, vscode.ViewColumn.Active, {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(context.extensionUri, 'dist'), vscode.Uri.joinPath(context.extensionUri, 'media')],
    });
    const created = new ReportPanel(panel, context.extensionUri, report, actions, log);
    ReportPanel.panels.set(report.floatModel, created);
    ReportPanel.current = created;
    return created;
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    report: QuantReport,
    private actions: ReportActions,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.report = report;
    const webview = panel.webview;
    const uri = (rel: string) => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, ...rel.split('/'))).toString();
    webview.html = modelViewHtml({
      nonce: crypto.randomBytes(16).toString('base64'),
      cspSource: webview.cspSource,
      scriptUri: uri(REPORT_SCRIPT),
      styleUri: REPORT_STYLESHEETS.map(uri),
      title: panel.title,
    });
    this.disposables.push(
      webview.onDidReceiveMessage((raw) => void this.receive(raw)),
      // A hidden webview is torn down; it says ready again when shown.
      panel.onDidChangeViewState(() => {
        if (!panel.visible) this.ready = false;
        if (panel.active) ReportPanel.current = this;
      }),
      panel.onDidDispose(() => this.dispose()),
    );
  }

  get status(): ReportPanelStatus {
    return { ready: this.ready, lastPosted: this.lastPosted, busy: this.running?.action ?? null, lastRejected: this.lastRejected };
  }

  /** Shows `report`; with `previous`, side by side with the report it replaces. */
  setReport(report: QuantReport, previous: QuantReport | null): void {
    this.report = report;
    this.previous = previous;
    this.panel.title = `Quantization: ${basename(report.quantizedModel)}`;
    this.postReport();
  }

  private postReport(): void {
    const msg = { type: 'report' as const, report: this.report, previous: this.previous };
    if (this.post(msg)) this.lastPosted = msg;
  }

  private post(msg: ToReportView): boolean {
    if (!this.ready) return false;
    void this.panel.webview.postMessage(msg);
    return true;
  }

  private async receive(raw: unknown): Promise<void> {
    const msg = parseReportViewMessage(raw);
    if (typeof msg === 'string') {
      this.lastRejected = msg;
      this.log.warn(`report panel: ignored a message (${msg})`);
      return;
    }
    switch (msg.type) {
      case 'ready':
        this.ready = true;
        this.postReport();
        if (this.running) this.post(this.running.busy);
        return;
      case 'cancel':
        this.running?.abort.abort();
        return;
      case 'reveal':
        try {
          await this.actions.reveal(msg.layer);
          // The user goes on clicking layers here: the report stays the active editor.
          this.panel.reveal(this.panel.viewColumn, false);
        } catch (e) {
          this.fail(null, e);
        }
        return;
      case 'keepInFloat':
        return this.run('keepInFloat', `Keeping ${msg.nodes.length} layer(s) in float`, (o) => this.actions.keepInFloat(msg.nodes, o));
      case 'autoKeepInFloat':
        return this.run('autoKeepInFloat', `Keeping layers in float until ${msg.target.kind} ${msg.target.value}`, (o) => this.actions.autoKeepInFloat(msg.target, o));
      case 'exportHtml':
        return this.run('exportHtml', 'Exporting the report as HTML', async () => {
          const file = await this.actions.exportHtml(this.report);
          return file ? `Saved ${file}` : 'Export cancelled';
        });
    }
  }

  /** Runs one action at a time; a result that is a report replaces the shown one (before/after). */
  private async run(action: ReportAction, label: string, work: (o: ActionOptions) => Promise<QuantReport | string>): Promise<void> {
    if (this.running) {
      this.post({ type: 'error', action, message: `${label}: refused, "${this.running.action}" is still running. Wait for it or press Cancel.` });
      return;
    }
    const abort = new AbortController();
    const busy = (message: string, fraction: number | null): ToReportView => ({ type: 'busy', action, message, fraction });
    this.running = { action, abort, busy: busy(label, null) };
    this.post(this.running.busy);
    this.log.info(`report panel: ${label}`);
    try {
      const result = await work({
        signal: abort.signal,
        onProgress: (message, fraction) => {
          if (!this.running) return;
          this.running.busy = busy(message, fraction ?? null);
          this.post(this.running.busy);
        },
      });
      this.running = undefined;
      if (typeof result === 'string') {
        this.post({ type: 'done', action, message: result });
      } else {
        const before = this.report;
        this.post({ type: 'done', action, message: `${label}: done` });
        this.setReport(result, before);
      }
    } catch (e) {
      this.running = undefined;
      this.fail(action, e, abort.signal.aborted ? `${label}: cancelled` : undefined);
    }
  }

  private fail(action: ReportAction | null, e: unknown, message?: string): void {
    const text = message ?? errorMessage(e);
    this.log.error(`report panel: ${text}`);
    this.post({ type: 'error', action, message: text });
  }

  dispose(): void {
    this.running?.abort.abort();
    for (const [k, p] of ReportPanel.panels) if (p === this) ReportPanel.panels.delete(k);
    if (ReportPanel.current === this) ReportPanel.current = undefined;
    this.disposables.splice(0).forEach((d) => d.dispose());
    this.panel.dispose();
  }
}

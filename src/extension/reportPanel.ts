// The quantization report panel: a webview that draws a QuantReport and turns the user's clicks
// (reveal a layer, keep layers in float, export HTML) into calls of the actions it was given. One
// panel per float model; a new report for the same model replaces what it shows. A view that was
// hidden and comes back gets the report (and the action running) again when it says ready.
import * as vscode from 'vscode';
import { errorMessage } from '../core/errors';
import type { QuantReport } from '../shared/quantReport';
import {
  REPORT_SCRIPT,
  REPORT_STYLESHEETS,
  REPORT_VIEW_PROTOCOL,
  type FromReportViewMessages,
  type KeepInFloatTarget,
  type LayerRef,
  type ReportAction,
  type ToReportViewMessages,
} from '../shared/reportViewProtocol';
import { WebviewCollection } from './webview/collection';
import type { WebviewHost } from './webview/host';
import { createPanel, hostPanel } from './webview/panel';

export const REPORT_VIEW_TYPE = 'onnxCompress.quantReport';
const REPORT_PANEL = { viewType: REPORT_VIEW_TYPE, page: { script: REPORT_SCRIPT, styles: REPORT_STYLESHEETS }, protocol: REPORT_VIEW_PROTOCOL };

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
  /** The last report posted to the view (null before the first). */
  lastPosted: ToReportViewMessages['report'] | null;
  /** The action running now. */
  busy: ReportAction | null;
  /** The last message the view sent that was refused, and why. */
  lastRejected: string | null;
}

const basename = (p: string) => p.split(/[\\/]/).pop() ?? p;

export class ReportPanel implements vscode.Disposable {
  /** One panel per float model. */
  private static readonly panels = new WebviewCollection<ReportPanel>();
  /** The panel shown or used last. */
  static current: ReportPanel | undefined;

  private readonly host: WebviewHost<Record<never, never>, FromReportViewMessages, ToReportViewMessages>;
  private report: QuantReport;
  private previous: QuantReport | null = null;
  private lastPosted: ReportPanelStatus['lastPosted'] = null;
  private running: { action: ReportAction; abort: AbortController; busy: ToReportViewMessages['busy'] } | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private removeFromPanels: () => void = () => undefined;

  /** Opens (or reuses) the panel of the report's float model and shows the report. */
  static show(context: { extensionUri: vscode.Uri }, report: QuantReport, actions: ReportActions, log: vscode.LogOutputChannel): ReportPanel {
    const existing = ReportPanel.panels.current(report.floatModel);
    if (existing) {
      existing.actions = actions;
      existing.setReport(report, null);
      existing.panel.reveal(undefined, false);
      ReportPanel.current = existing;
      return existing;
    }
    const panel = createPanel(REPORT_PANEL, `Quantization: ${basename(report.quantizedModel)}`, vscode.ViewColumn.Active, context.extensionUri);
    const created = new ReportPanel(panel, context.extensionUri, report, actions, log);
    created.removeFromPanels = ReportPanel.panels.add(report.floatModel, created);
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
    this.host = hostPanel(panel, REPORT_PANEL, extensionUri, log, () => this.replay(), {
      cancel: () => this.running?.abort.abort(),
      reveal: async ({ layer }) => {
        try {
          await this.actions.reveal(layer);
          // The user goes on clicking layers here: the report stays the active editor.
          this.panel.reveal(this.panel.viewColumn, false);
        } catch (e) {
          this.fail(null, e);
        }
      },
      keepInFloat: ({ nodes }) => this.run('keepInFloat', `Keeping ${nodes.length} layer(s) in float`, (o) => this.actions.keepInFloat(nodes, o)),
      autoKeepInFloat: ({ target }) =>
        this.run('autoKeepInFloat', `Keeping layers in float until ${target.kind} ${target.value}`, (o) => this.actions.autoKeepInFloat(target, o)),
      exportHtml: () =>
        this.run('exportHtml', 'Exporting the report as HTML', async () => {
          const file = await this.actions.exportHtml(this.report);
          return file ? `Saved ${file}` : 'Export cancelled';
        }),
    });
    this.disposables.push(
      panel.onDidChangeViewState(() => {
        if (panel.active) ReportPanel.current = this;
      }),
      panel.onDidDispose(() => this.dispose()),
    );
  }

  get status(): ReportPanelStatus {
    return { ready: this.host.ready, lastPosted: this.lastPosted, busy: this.running?.action ?? null, lastRejected: this.host.lastRejected };
  }

  /** Shows `report`; with `previous`, side by side with the report it replaces. */
  setReport(report: QuantReport, previous: QuantReport | null): void {
    this.report = report;
    this.previous = previous;
    this.panel.title = `Quantization: ${basename(report.quantizedModel)}`;
    this.postReport();
  }

  /** The report and the action running, posted each time the view says ready. */
  private replay(): void {
    this.postReport();
    if (this.running) this.host.notify('busy', this.running.busy);
  }

  private postReport(): void {
    const params = { report: this.report, previous: this.previous };
    if (this.host.notify('report', params)) this.lastPosted = params;
  }

  /** Runs one action at a time; a result that is a report replaces the shown one (before/after). */
  private async run(action: ReportAction, label: string, work: (o: ActionOptions) => Promise<QuantReport | string>): Promise<void> {
    if (this.running) {
      this.host.notify('error', { action, message: `${label}: refused, "${this.running.action}" is still running. Wait for it or press Cancel.` });
      return;
    }
    const abort = new AbortController();
    const busy = (message: string, fraction: number | null) => ({ action, message, fraction });
    this.running = { action, abort, busy: busy(label, null) };
    this.host.notify('busy', this.running.busy);
    this.log.info(`report panel: ${label}`);
    try {
      const result = await work({
        signal: abort.signal,
        onProgress: (message, fraction) => {
          if (!this.running) return;
          this.running.busy = busy(message, fraction ?? null);
          this.host.notify('busy', this.running.busy);
        },
      });
      this.running = undefined;
      if (typeof result === 'string') {
        this.host.notify('done', { action, message: result });
      } else {
        const before = this.report;
        this.host.notify('done', { action, message: `${label}: done` });
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
    this.host.notify('error', { action, message: text });
  }

  dispose(): void {
    this.running?.abort.abort();
    this.removeFromPanels();
    if (ReportPanel.current === this) ReportPanel.current = undefined;
    this.host.dispose();
    this.disposables.splice(0).forEach((d) => d.dispose());
    this.panel.dispose();
  }
}

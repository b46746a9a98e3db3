// What the report panel's buttons do, with the analysis engine: analyze a fresh quantization and
// save its report; keep layers in float (re-quantized from the saved calibration ranges, then
// analyzed again, so the panel can show before and after); the automatic search to a target;
// reveal a layer; export the offline HTML report.
import * as fs from 'fs';
import * as vscode from 'vscode';
import type { AnalysisProgress } from '../../core/analysis/analyze';
import { writeReportHtml } from '../../core/analysis/htmlReport';
import { defaultQuantResultFile, defaultReportFile, previousQuantResult } from '../../core/analysis/quantResultFile';
import { keepInFloatAndAnalyze } from '../../core/workflows/keepInFloatAndAnalyze';
import type { QuantReport } from '../../shared/quantReport';
import type { KeepInFloatTarget, LayerRef } from '../../shared/reportViewProtocol';
import type { CommandContext } from '../commands';
import type { ActionOptions, ReportActions } from '../reportPanel';
import { settings } from '../common/settings';

/** A progress line and, where the step counts, how far it is (0-1). */
export function progressLine(p: AnalysisProgress): [string, number | undefined] {
  const of = p.total ? `${p.batch ?? 0}/${p.total}` : p.batch !== undefined ? `batch ${p.batch}` : '';
  return [of ? `${p.stage} (${of})` : p.stage, p.total ? Math.min(1, (p.batch ?? 0) / p.total) : undefined];
}

/** How reports are made: the analysis settings. */
export function analysisChoices(): { samples: number | null; latencyRuns: number; sensitivity: boolean } {
  const s = settings();
  return { samples: s.analysisSamples, latencyRuns: s.latencyRuns, sensitivity: s.sensitivity };
}

/** BASE.keep-float.onnx, then BASE.keep-float-2.onnx ...: each attempt keeps its own files. */
export function nextKeepOutput(previousOutput: string): string {
  const base = previousOutput.replace(/(\.keep-float(-\d+)?)?\.onnx$/i, '');
  for (let i = 1; ; i++) {
    const file = `${base}.keep-float${i > 1 ? `-${i}` : ''}.onnx`;
    if (!fs.existsSync(file)) return file;
  }
}

export class QuantReportActions implements ReportActions {
  constructor(
    private readonly ctx: CommandContext,
    private readonly report: QuantReport,
    private readonly extensionRoot: string,
  ) {}

  /** Reveals the node in the quantized model, or in the float one when the rewrite renamed it. */
  async reveal(layer: LayerRef): Promise<void> {
    if (!layer.node) {
      void vscode.window.showInformationMessage(`'${layer.tensor}' is a graph input: it has no node to reveal.`);
      return;
    }
    const quantized = vscode.Uri.file(this.report.quantizedModel);
    const { rows } = await (await this.ctx.store.get(quantized)).nodes(false);
    const model = rows.some((r) => r.name === layer.node) ? quantized : vscode.Uri.file(this.report.floatModel);
    // The report keeps the focus: the user goes on clicking layers there.
    await vscode.commands.executeCommand('onnxCompress.revealNode', model, layer.node, { preserveFocus: true });
  }

  /** `nodes`: node names of the shown quantized model, each kept in float (its inputs not quantized). */
  async keepInFloat(nodes: string[], o: ActionOptions): Promise<QuantReport> {
    this.ctx.log.info(`keeping in float: ${nodes.join(', ')}`);
    return this.keep(nodes, o);
  }

  async autoKeepInFloat(target: KeepInFloatTarget, o: ActionOptions): Promise<QuantReport> {
    // The search measures accuracy with the labels the report was made with (the wizard's labels step).
    if (target.kind === 'accuracy' && !this.report.settings.labels) {
      throw new Error(
        "An accuracy target needs class labels, and this report was made without them: quantize again with labels (the wizard's labels step), or choose an agreement target (top-1 agreement with the float model) or an output SQNR.",
      );
    }
    this.ctx.log.info(`keeping layers in float until ${target.kind} >= ${target.value}`);
    const report = await this.keep(target, o);
    const keep = report.keepInFloat!;
    if (!keep.met) this.ctx.log.warn(`target ${target.kind} ${target.value} not met: reached ${keep.achieved} with ${keep.nodes.length} node(s) in float`);
    return report;
  }

  /** Keeps layers of the shown report's model in float (its numbers are the before side) and analyzes the new model on the report's data. */
  private async keep(what: string[] | KeepInFloatTarget, o: ActionOptions): Promise<QuantReport> {
    const shown = this.report;
    const previousFile = shown.quantResultFile ?? undefined;
    const previous = previousQuantResult(shown.quantizedModel, previousFile);
    const { report, reportFile } = await keepInFloatAndAnalyze({
      floatFile: shown.floatModel,
      previous,
      previousFile: previousFile ?? defaultQuantResultFile(shown.quantizedModel),
      what,
      shown,
      evaluation: {
        ...analysisChoices(),
        data: previous.settings.calibration,
        labels: shown.settings.labels ?? undefined,
        ep: previous.settings.executionProvider,
      },
      output: nextKeepOutput(shown.quantizedModel),
      signal: o.signal,
      onEvent: (e) => e.type === 'progress' && o.onProgress(...progressLine(e)),
    });
    this.logKept(report, reportFile);
    return report;
  }

  private logKept(report: QuantReport, file: string): void {
    this.ctx.log.info(`kept ${report.keepInFloat!.nodes.length} node(s) in float: ${report.quantizedModel}; report ${file}`);
    for (const w of report.warnings.filter((x) => x.startsWith('not kept in float'))) this.ctx.log.warn(w);
  }

  async exportHtml(report: QuantReport): Promise<string | undefined> {
    const target = await vscode.window.showSaveDialog({
      defaultUri: vscode.Uri.file(defaultReportFile(report.quantizedModel).replace(/\.json$/i, '.html')),
      filters: { HTML: ['html'] },
      title: 'Export the report as one offline HTML file',
    });
    if (!target) return undefined;
    // The extension's own folder holds the report app (dist/report.js, media/) the page inlines.
    writeReportHtml(report, target.fsPath, this.extensionRoot);
    this.ctx.log.info(`exported the report to ${target.fsPath}`);
    return target.fsPath;
  }
}

// What the report panel's buttons do, with the analysis engine: analyze a fresh quantization and
// save its report; keep layers in float (re-quantized from the saved calibration ranges, then
// analyzed again, so the panel can show before and after); the automatic search to a target;
// reveal a layer; export the offline HTML report.
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { analyzeQuantization, defaultQuantResultFile, defaultReportFile, writeJsonFile, type AnalysisProgress } from '../../core/analysis/analyze';
import { writeReportHtml } from '../../core/analysis/htmlReport';
import { autoKeepInFloat, keepInFloat, type KeepInFloatOptions } from '../../core/analysis/keepInFloat';
import type { KeepInFloatReport, QuantReport } from '../../shared/quantReport';
import type { QuantResult } from '../../shared/quantResult';
import type { KeepInFloatTarget, LayerRef } from '../../shared/reportProtocol';
import type { CommandContext } from '../commands';
import type { ActionOptions, ReportActions } from '../reportPanel';
import { settings } from '../settings';

interface Progress {
  /** Class labels for the accuracy (the wizard's labels step). */
  labels?: string;
  signal: AbortSignal;
  onProgress(message: string, fraction?: number): void;
}

function progressLine(p: AnalysisProgress | { stage: string; batch?: number; total?: number }): [string, number | undefined] {
  const of = p.total ? `${p.batch ?? 0}/${p.total}` : p.batch !== undefined ? `batch ${p.batch}` : '';
  return [of ? `${p.stage} (${of})` : p.stage, p.total ? Math.min(1, (p.batch ?? 0) / p.total) : undefined];
}

/**
 * Analyzes a quantization on its own data (the calibration data, or for dynamic mode the data the
 * user picked for evaluation) and saves NAME.report.json beside the quantized model; `keep` records
 * which layers were kept in float to make it.
 */
export async function analyzeAndSave(result: QuantResult, o: Progress, keep: KeepInFloatReport | null = null): Promise<{ report: QuantReport; file: string }> {
  const s = settings();
  const report = await analyzeQuantization(result.input, result.output, {
    data: result.settings.calibration,
    labels: o.labels,
    samples: s.analysisSamples,
    latencyRuns: s.latencyRuns,
    sensitivity: s.sensitivity && result.settings.mode === 'static',
    ep: result.settings.executionProvider,
    quantResult: result,
    reportFile: false,
    signal: o.signal,
    onProgress: (p) => o.onProgress(...progressLine(p)),
  });
  report.quantResultFile ??= fs.existsSync(defaultQuantResultFile(result.output)) ? defaultQuantResultFile(result.output) : null;
  report.keepInFloat = keep;
  if (o.signal.aborted) throw Object.assign(new Error('cancelled; no report was written'), { name: 'AbortError' });
  const file = defaultReportFile(result.output);
  writeJsonFile(file, report);
  return { report, file };
}

/** BASE.keep-float.onnx, then BASE.keep-float-2.onnx ...: each attempt keeps its own files. */
export function nextKeepOutput(previousOutput: string): string {
  const base = previousOutput.replace(/(\.keep-float(-\d+)?)?\.onnx$/i, '');
  for (let i = 1; ; i++) {
    const file = `${base}.keep-float${i > 1 ? `-${i}` : ''}.onnx`;
    if (!fs.existsSync(file)) return file;
  }
}

function readQuantResult(report: QuantReport): QuantResult {
  const file = report.quantResultFile ?? defaultQuantResultFile(report.quantizedModel);
  if (!fs.existsSync(file)) {
    throw new Error(`Keeping layers in float reuses the calibration ranges saved in ${path.basename(file)}, which is missing beside ${report.quantizedModel}. Quantize the model again (ONNX: Quantize Model...).`);
  }
  return JSON.parse(fs.readFileSync(file, 'utf8')) as QuantResult;
}

export class QuantReportActions implements ReportActions {
  constructor(private readonly ctx: CommandContext, private readonly report: QuantReport, private readonly extensionRoot: string) {}

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

  private options(previous: QuantResult, o: ActionOptions): KeepInFloatOptions {
    const s = settings();
    return {
      data: previous.settings.calibration,
      samples: s.analysisSamples,
      latencyRuns: s.latencyRuns,
      output: nextKeepOutput(previous.output),
      sensitivity: this.report.sensitivity ?? undefined,
      signal: o.signal,
      onProgress: (p) => o.onProgress(...progressLine(p)),
    };
  }

  /** Re-analyzes the model a keep-in-float run wrote, so the panel gets a full report of it. */
  private async analyzeKept(keep: KeepInFloatReport, o: ActionOptions): Promise<QuantReport> {
    const file = defaultQuantResultFile(keep.output);
    const result = JSON.parse(fs.readFileSync(fs.existsSync(file) ? file : (this.report.quantResultFile ?? ''), 'utf8')) as QuantResult;
    const { report, file: saved } = await analyzeAndSave(result, o, keep);
    this.ctx.log.info(`kept ${keep.nodes.length} node(s) in float: ${keep.output}; report ${saved}`);
    return report;
  }

  async keepInFloat(nodes: string[], o: ActionOptions): Promise<QuantReport> {
    const previous = readQuantResult(this.report);
    this.ctx.log.info(`keeping in float: ${nodes.join(', ')}`);
    return this.analyzeKept(await keepInFloat(this.report.floatModel, previous, nodes, this.options(previous, o)), o);
  }

  async autoKeepInFloat(target: KeepInFloatTarget, o: ActionOptions): Promise<QuantReport> {
    if (target.kind === 'accuracy') {
      throw new Error('An accuracy target needs class labels, which the quantize flow does not take: choose an agreement target (top-1 agreement with the float model) or an output SQNR, or run `onnx-compress analyze FLOAT QUANT --data DATA --labels FILE --target accuracy:VALUE`.');
    }
    const previous = readQuantResult(this.report);
    this.ctx.log.info(`keeping layers in float until ${target.kind} >= ${target.value}`);
    const keep = await autoKeepInFloat(this.report.floatModel, previous, target, this.options(previous, o));
    if (!keep.met) this.ctx.log.warn(`target ${target.kind} ${target.value} not met: reached ${keep.achieved} with ${keep.nodes.length} node(s) in float`);
    return this.analyzeKept(keep, o);
  }

  async exportHtml(report: QuantReport): Promise<string | undefined> {
    const target = await vscode.window.showSaveDialog({
      defaultUri: vscode.Uri.file(defaultReportFile(report.quantizedModel).replace(/\.json$/i, '.html')),
      filters: { HTML: ['html'] }, title: 'Export the report as one offline HTML file',
    });
    if (!target) return undefined;
    // The extension's own folder holds the report app (dist/report.js, media/) the page inlines.
    writeReportHtml(report, target.fsPath, this.extensionRoot);
    this.ctx.log.info(`exported the report to ${target.fsPath}`);
    return target.fsPath;
  }
}

// "ONNX: Keep Layers in Float...": what the report panel's buttons do, as a command — for a report
// file (the argument, else the one the panel shows) and either layers (picked worst first) or a
// target for the automatic search. The panel then shows the new report beside the one it replaces.
import * as path from 'path';
import * as vscode from 'vscode';
import { defaultReportFile } from '../../core/analysis/quantResultFile';
import { parseTarget } from '../../core/analysis/keepReport';
import { errorMessage } from '../../core/errors';
import type { QuantReport } from '../../shared/quantReport';
import type { KeepInFloatTarget } from '../../shared/reportViewProtocol';
import { asUri } from '../common/registerCommand';
import { ReportPanel } from '../reportPanel';
import type { QuantReportActions } from './reportActions';
import { readReportFile } from './reportFile';

const AUTO = '$(wand) Automatically, until a target is met...';

/** Layers worst first (accumulated SQNR), or a target; undefined when the user dismissed the pick. */
async function askWhat(report: QuantReport): Promise<string[] | KeepInFloatTarget | undefined> {
  const ranked = [...report.layers].filter((l) => l.node).sort((a, b) => (a.accumulated.sqnr ?? Infinity) - (b.accumulated.sqnr ?? Infinity));
  const layers = [
    ...new Map(
      ranked.map((l) => [l.node, { label: l.node, description: `${l.opType} · accumulated SQNR ${l.accumulated.sqnr?.toFixed(1) ?? '-'} dB` }]),
    ).values(),
  ];
  const picked = await vscode.window.showQuickPick([{ label: AUTO, description: 'keeps the most sensitive layers in float' }, ...layers], {
    canPickMany: true,
    title: `Keep in float (${path.basename(report.quantizedModel)})`,
    placeHolder: 'Layers to keep in float, worst first',
    matchOnDescription: true,
  });
  if (!picked?.length) return undefined;
  if (!picked.some((p) => p.label === AUTO)) return picked.map((p) => p.label);
  const text = await vscode.window.showInputBox({
    title: 'Keep layers in float until',
    value: 'sqnr:30',
    prompt: 'sqnr:DB (output SQNR) or agreement:0-1 (top-1 agreement with the float model)',
    validateInput: (v) => {
      try {
        parseTarget(v);
        return undefined;
      } catch (e) {
        return errorMessage(e);
      }
    },
  });
  return text === undefined ? undefined : parseTarget(text);
}

export async function keepLayersInFloat(
  show: (r: QuantReport) => ReportPanel,
  actionsFor: (r: QuantReport) => QuantReportActions,
  arg: unknown,
  given?: string[] | KeepInFloatTarget,
): Promise<string | undefined> {
  const shown = ReportPanel.current?.status.lastPosted?.report.quantizedModel;
  const file = asUri(arg)?.fsPath ?? (shown && defaultReportFile(shown));
  if (!file) throw new Error('Open a quantization report first (ONNX: Quantize Model... or ONNX: Open Quantization Report...).');
  const before = await readReportFile(file);
  const what = given ?? (await askWhat(before));
  if (!what || (Array.isArray(what) && !what.length)) return undefined;
  const actions = actionsFor(before);
  const title = Array.isArray(what) ? `Keeping ${what.length} layer(s) in float` : `Keeping layers in float until ${what.kind} ${what.value}`;
  const after = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, (progress, token) => {
    const abort = new AbortController();
    token.onCancellationRequested(() => abort.abort());
    const o = { signal: abort.signal, onProgress: (message: string) => progress.report({ message }) };
    return Array.isArray(what) ? actions.keepInFloat(what, o) : actions.autoKeepInFloat(what, o);
  });
  show(after).setReport(after, before);
  return defaultReportFile(after.quantizedModel);
}

// The quantize flow's commands: quantize a model (wizard, run, analysis, report panel), cancel the
// run, keep layers in float (by hand or to a target), and open a saved report in the panel.
import * as path from 'path';
import * as vscode from 'vscode';
import { errorMessage } from '../../core/errors';
import { asUri, modelUri, type CommandContext } from '../commands';
import type { QuantReport } from '../../shared/quantReport';
import type { KeepInFloatTarget } from '../../shared/reportProtocol';
import { ReportPanel } from '../reportPanel';
import type { QuantizeChoices } from './choices';
import { keepLayersInFloat } from './keepInFloatCommand';
import { QuantizeFlow, type QuantizeOutcome } from './quantizeCommand';
import { RememberedChoices } from './recipes';
import { analyzeAndSave, QuantReportActions } from './reportActions';
import { readReportFile } from './reportFile';

export function registerQuantize(ctx: CommandContext, context: vscode.ExtensionContext): { flow: QuantizeFlow; disposables: vscode.Disposable[] } {
  const actionsFor = (report: QuantReport) => new QuantReportActions(ctx, report, context.extensionUri.fsPath);
  const show = (report: QuantReport) => ReportPanel.show(context, report, actionsFor(report), ctx.log);
  const flow = new QuantizeFlow(ctx.store, new RememberedChoices(context.workspaceState, ctx.log), ctx.log, {
    analyze: (result, o) => analyzeAndSave(result, o),
    show,
  });
  const fail = (id: string, e: unknown) => {
    ctx.log.error(`${id}: ${errorMessage(e)}`);
    void vscode.window.showErrorMessage(errorMessage(e));
    return undefined;
  };
  return {
    flow,
    disposables: [
      flow,
      vscode.commands.registerCommand('onnxCompress.quantizeModel', async (arg?: unknown, choices?: Partial<QuantizeChoices>): Promise<QuantizeOutcome | undefined> => {
        try {
          const uri = await modelUri(ctx, arg);
          return uri ? await flow.quantize(uri, choices) : undefined;
        } catch (e) {
          return fail('onnxCompress.quantizeModel', e);
        }
      }),
      vscode.commands.registerCommand('onnxCompress.cancelQuantization', () => {
        if (flow.cancel()) return true;
        void vscode.window.showInformationMessage('No quantization is running.');
        return false;
      }),
      vscode.commands.registerCommand('onnxCompress.keepInFloat', async (arg?: unknown, what?: string[] | KeepInFloatTarget): Promise<string | undefined> => {
        try {
          return await keepLayersInFloat(show, actionsFor, arg, what);
        } catch (e) {
          return fail('onnxCompress.keepInFloat', e);
        }
      }),
      vscode.commands.registerCommand('onnxCompress.openQuantReport', async (arg?: unknown): Promise<string | undefined> => {
        try {
          let uri = asUri(arg);
          if (!uri) {
            const picked = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'Quantization reports': ['json'] }, title: 'Open a quantization report (NAME.report.json)' });
            uri = picked?.[0];
          }
          if (!uri) return undefined;
          const report = await readReportFile(uri.fsPath);
          show(report);
          ctx.log.info(`opened the report ${uri.fsPath} (${path.basename(report.quantizedModel)})`);
          return uri.fsPath;
        } catch (e) {
          return fail('onnxCompress.openQuantReport', e);
        }
      }),
    ],
  };
}

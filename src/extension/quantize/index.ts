// The quantize flow's commands: quantize a model (wizard, run, analysis, report panel), cancel the
// run, keep layers in float (by hand or to a target), and open a saved report in the panel.
import * as path from 'path';
import * as vscode from 'vscode';
import type { CommandContext } from '../commands';
import { asUri, commandRegistrar } from '../common/registerCommand';
import type { QuantReport } from '../../shared/quantReport';
import type { KeepInFloatTarget } from '../../shared/reportViewProtocol';
import { ReportPanel } from '../reportPanel';
import { keepLayersInFloat } from './keepInFloatCommand';
import { QuantizeFlow, quantizeTarget, type QuantizeOutcome } from './quantizeCommand';
import { RememberedChoices } from './recipes';
import { QuantReportActions } from './reportActions';
import { readReportFile } from './reportFile';

export interface QuantizeApi {
  flow: QuantizeFlow;
  /** Keep layers in float from a report, with the layers or target given (the command asks). */
  keepInFloat(report: vscode.Uri, what: string[] | KeepInFloatTarget): Promise<string | undefined>;
}

export function registerQuantize(ctx: CommandContext, context: vscode.ExtensionContext): { api: QuantizeApi; disposables: vscode.Disposable[] } {
  const actionsFor = (report: QuantReport) => new QuantReportActions(ctx, report, context.extensionUri.fsPath);
  const show = (report: QuantReport) => ReportPanel.show(context, report, actionsFor(report), ctx.log);
  const flow = new QuantizeFlow(ctx.store, new RememberedChoices(context.workspaceState, ctx.log), ctx.log, {
    show,
  });
  const command = commandRegistrar(ctx.log);
  return {
    api: { flow, keepInFloat: (report, what) => keepLayersInFloat(show, actionsFor, report, what) },
    disposables: [
      flow,
      // A menu passes (uri, ...): the wizard always runs. Choices given in code go through the
      // extension's API (flow.quantize), never through the command.
      command('onnxCompress.quantizeModel', async (arg?: unknown): Promise<QuantizeOutcome | undefined> => {
        const uri = await quantizeTarget(arg);
        return uri ? await flow.quantize(uri) : undefined;
      }),
      command('onnxCompress.cancelQuantization', () => {
        if (flow.cancel()) return true;
        void vscode.window.showInformationMessage('No quantization is running.');
        return false;
      }),
      command('onnxCompress.keepInFloat', (arg?: unknown): Promise<string | undefined> => keepLayersInFloat(show, actionsFor, arg, undefined)),
      command('onnxCompress.openQuantReport', async (arg?: unknown): Promise<string | undefined> => {
        let uri = asUri(arg);
        if (!uri) {
          const picked = await vscode.window.showOpenDialog({
            canSelectMany: false,
            filters: { 'Quantization reports': ['json'] },
            title: 'Open a quantization report (NAME.report.json)',
          });
          uri = picked?.[0];
        }
        if (!uri) return undefined;
        const report = await readReportFile(uri.fsPath);
        show(report);
        ctx.log.info(`opened the report ${uri.fsPath} (${path.basename(report.quantizedModel)})`);
        return uri.fsPath;
      }),
    ],
  };
}

// Distillation in VS Code: the setup wizard, run commands (start, cancel, resume, open), the run
// view and the Runs tree. Registered by the extension's activate(); the engine does the work.
import * as path from 'path';
import * as vscode from 'vscode';
import { errorMessage } from '../../core/errors';
import { commandRegistrar } from '../common/registerCommand';
import { RUNS_FOLDER } from '../../shared/distillRun';
import { DISTILL_SPEC_SUFFIX } from '../../shared/distillSpec';
import { RunController, type StartOutcome } from './runController';
import { RunView, type RunViewStatus } from './runView';
import { RunsTree, type RunsItem } from './runsTree';
import { SpecChecker } from './specProblems';
import { DistillWizard } from './wizard';

/** What the distillation part exposes in the extension's API (its integration tests read it). */
export interface DistillApi {
  wizard: DistillWizard;
  runs: RunsTree;
  controller: RunController;
  checker: SpecChecker;
  runView(runDir: string): RunViewStatus | undefined;
}

/** A run folder from a command argument: a path, a Uri or a Runs tree item. */
function runDirOf(arg: unknown): string | undefined {
  if (typeof arg === 'string' && arg) return path.resolve(arg);
  if (arg instanceof vscode.Uri) return arg.fsPath;
  if (arg && typeof arg === 'object' && 'run' in arg) return (arg as RunsItem).run.runDir;
  return undefined;
}

export function registerDistill(context: vscode.ExtensionContext, log: vscode.LogOutputChannel): { api: DistillApi; disposables: vscode.Disposable[] } {
  const checker = new SpecChecker(log);
  const wizard = new DistillWizard(log, checker);
  // Each asks the other only once both exist: the tree which runs are running, the controller to redraw the tree.
  const runs = new RunsTree((dir) => controller.running.includes(path.resolve(dir)));
  const controller = new RunController(context.extensionUri, log, checker, () => runs.refresh());
  const view = vscode.window.createTreeView<RunsItem>('onnxCompress.runs', { treeDataProvider: runs });

  const command = commandRegistrar(log);

  const pickRun = async (arg: unknown, what: string, filter: (status: string) => boolean): Promise<string | undefined> => {
    const dir = runDirOf(arg);
    if (dir) return dir;
    const candidates = (await runs.runs()).filter((r) => filter(r.status));
    const pick = await vscode.window.showQuickPick(
      candidates.map((r) => ({ label: r.name, description: r.status, detail: r.runDir })),
      { title: what, placeHolder: 'Which run?' },
    );
    return pick?.detail;
  };

  const disposables: vscode.Disposable[] = [
    checker,
    controller,
    view,
    command('onnxCompress.setUpDistillation', async () => {
      const folder = vscode.workspace.workspaceFolders?.[0];
      if (!folder) throw new Error('Open a folder first: the wizard writes the run spec (NAME.distill.json) into the workspace folder.');
      return wizard.run(folder.uri.fsPath);
    }),
    command('onnxCompress.startDistillation', (arg?: unknown): Promise<StartOutcome | undefined> => controller.start(arg)),
    command('onnxCompress.cancelDistillation', (arg?: unknown) => {
      const dir = runDirOf(arg);
      if (!controller.cancel(dir)) void vscode.window.showInformationMessage(dir ? `${path.basename(dir)} is not running.` : 'No distillation run is running.');
      return true;
    }),
    command('onnxCompress.resumeDistillation', async (arg?: unknown) => {
      const dir = await pickRun(arg, 'Resume Distillation Run', (s) => s === 'cancelled' || s === 'failed');
      return dir ? controller.start(undefined, dir) : undefined;
    }),
    command('onnxCompress.openDistillRun', async (arg?: unknown) => {
      const dir = await pickRun(arg, 'Open Distillation Run', () => true);
      if (dir) controller.open(dir);
      return dir;
    }),
    command('onnxCompress.refreshRuns', () => runs.refresh()),
    // A spec saved by hand is checked against the real models: its problems show at their fields.
    vscode.workspace.onDidSaveTextDocument((doc) => {
      if (doc.uri.scheme === 'file' && doc.uri.fsPath.endsWith(DISTILL_SPEC_SUFFIX) && !doc.uri.fsPath.includes(`${path.sep}${RUNS_FOLDER}${path.sep}`)) {
        checker.check(doc.uri.fsPath).catch((e) => log.warn(`${doc.uri.fsPath}: ${errorMessage(e)}`));
      }
    }),
    // A run folder that appears or changes (from the CLI too) shows up in the tree.
    ...['report.json', 'spec.distill.json'].map((f) => {
      const watcher = vscode.workspace.createFileSystemWatcher(`**/${RUNS_FOLDER}/*/${f}`);
      watcher.onDidCreate(() => runs.refresh());
      watcher.onDidChange(() => runs.refresh());
      return watcher;
    }),
  ];
  return {
    api: { wizard, runs, controller, checker, runView: (dir) => RunView.get(dir)?.status },
    disposables,
  };
}

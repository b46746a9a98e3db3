// The "Runs" view of the ONNX sidebar: the distillation runs found in the workspace's run folders
// (the engine's listRuns), newest first, with status, accuracy and date; under each, its spec,
// student, report and log. Clicking a run opens its run view.
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { listRuns } from '../../core/distill';
import { RUN_LAYOUT, RUNS_FOLDER, type RunSummary } from '../../shared/distillRun';

export type RunsItem = { kind: 'run'; run: RunSummary } | { kind: 'file'; run: RunSummary; label: string; file: string };

const STATUS_ICON: Record<RunSummary['status'], string> = {
  completed: 'pass',
  cancelled: 'debug-pause',
  failed: 'error',
  running: 'sync~spin',
  unknown: 'question',
};

export class RunsTree implements vscode.TreeDataProvider<RunsItem> {
  private readonly changed = new vscode.EventEmitter<RunsItem | undefined>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly isRunning: (runDir: string) => boolean) {}

  refresh(): void {
    this.changed.fire(undefined);
  }

  /** Every run of the workspace: the runs folders are found by the spec copy each run keeps. */
  async runs(): Promise<RunSummary[]> {
    const copies = await vscode.workspace.findFiles(`**/${RUNS_FOLDER}/*/${RUN_LAYOUT.spec}`, '**/node_modules/**', 5000);
    const folders = [...new Set(copies.map((u) => path.dirname(path.dirname(u.fsPath))))];
    const runs = (await Promise.all(folders.map((f) => listRuns(f)))).flat();
    return runs.sort((a, b) => (b.started ?? '').localeCompare(a.started ?? ''));
  }

  async getChildren(item?: RunsItem): Promise<RunsItem[]> {
    if (!item) return (await this.runs()).map((run) => ({ kind: 'run', run }));
    if (item.kind !== 'run') return [];
    const dir = item.run.runDir;
    const files: Array<[string, string]> = [
      ['spec', path.join(dir, RUN_LAYOUT.spec)],
      ['student', item.run.student ?? path.join(dir, RUN_LAYOUT.student)],
      ['report', path.join(dir, RUN_LAYOUT.report)],
      ['log', path.join(dir, RUN_LAYOUT.log)],
      ['metrics', path.join(dir, RUN_LAYOUT.metrics)],
    ];
    return files.filter(([, f]) => fs.existsSync(f)).map(([label, file]) => ({ kind: 'file', run: item.run, label, file }));
  }

  getTreeItem(item: RunsItem): vscode.TreeItem {
    if (item.kind === 'file') {
      const t = new vscode.TreeItem(item.label, vscode.TreeItemCollapsibleState.None);
      t.resourceUri = vscode.Uri.file(item.file);
      t.description = path.basename(item.file);
      t.contextValue = 'distillRunFile';
      t.command = item.file.endsWith('.onnx')
        ? { command: 'onnxCompress.openModel', title: 'Open Model', arguments: [t.resourceUri] }
        : { command: 'vscode.open', title: 'Open', arguments: [t.resourceUri] };
      return t;
    }
    const r = item.run;
    const status = this.isRunning(r.runDir) ? 'running' : r.status;
    const t = new vscode.TreeItem(r.name, vscode.TreeItemCollapsibleState.Collapsed);
    const accuracy = r.accuracy !== null ? `${(r.accuracy * 100).toFixed(2)}%` : null;
    const date = r.started ? new Date(r.started).toLocaleString() : null;
    t.description = [status, accuracy, date].filter(Boolean).join(' · ');
    t.tooltip = new vscode.MarkdownString(
      [
        `**${r.name}** — ${status}`,
        accuracy
          ? `accuracy ${accuracy}${r.agreement !== null ? `, agreement with the teacher ${(r.agreement * 100).toFixed(2)}%` : ''}`
          : 'no accuracy (not verified or no labels)',
        date ? `started ${date}` : '',
        `\`${r.runDir}\``,
      ]
        .filter(Boolean)
        .join('\n\n'),
    );
    t.iconPath = new vscode.ThemeIcon(STATUS_ICON[status]);
    // Which actions the item's menu offers: resume only a run that stopped with a checkpoint.
    const resumable =
      (status === 'cancelled' || status === 'failed') &&
      fs.existsSync(path.join(r.runDir, RUN_LAYOUT.checkpoints)) &&
      fs.readdirSync(path.join(r.runDir, RUN_LAYOUT.checkpoints)).some((f) => f.endsWith('.pt'));
    t.contextValue = `distillRun.${status}${resumable ? '.resumable' : ''}`;
    t.command = { command: 'onnxCompress.openDistillRun', title: 'Open Run', arguments: [r.runDir] };
    return t;
  }
}

// "ONNX: Start Distillation Run" and its companions: the checks before a run (workspace trust,
// the spec's problems at their place, the Python interpreter with exactly what it lacks, the
// cache size), the run itself through the engine's distillAndVerify with a cancellable progress
// notification, its events streamed into the run view and its lines into the log, and at the
// end the student's verification with what to do next (quantize it, open the folder, resume).
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { estimateCacheBytes, newRunDir, probePython, type SpecValidation } from '../../core/distill';
import { distillAndVerify } from '../../core/workflows/distillAndVerify';
import { errorMessage } from '../../core/errors';
import { RUN_LAYOUT, type DistillEvent, type DistillRunReport } from '../../shared/distillRun';
import { DISTILL_SPEC_SUFFIX, KNOWLEDGE_FORMULAS, type ResolvedDistillSpec } from '../../shared/distillSpec';
import { formatBytes } from '../../shared/format';
import type { RunViewAction } from '../../shared/runViewProtocol';
import { settings } from '../common/settings';
import { RunView } from './runView';
import { readMetrics, readRunReport, specOfRun } from './recordedRun';
import { settingsRows, verificationLine } from './runSummary';
import type { SpecChecker } from './specProblems';

export const PYTHON_SETTING = 'onnxCompress.distill.pythonPath';

/** Why a run did not start: shown to the user and returned to the caller (a test, a script). */
export interface Refusal {
  refused: 'untrusted' | 'python' | 'spec' | 'no-spec' | 'busy';
  message: string;
}

export type StartOutcome = DistillRunReport | Refusal;

export function isRefusal(o: StartOutcome | undefined): o is Refusal {
  return !!o && 'refused' in o;
}

interface ActiveRun {
  runDir: string;
  specFile: string;
  abort: AbortController;
}

export class RunController implements vscode.Disposable {
  private readonly active = new Map<string, ActiveRun>();
  /** The last run started here and how it ended (read by the extension's tests). */
  last: { runDir: string; report: DistillRunReport | null } | undefined;
  /** The last refusal or failure message shown. */
  lastMessage: string | undefined;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly log: vscode.LogOutputChannel,
    private readonly checker: SpecChecker,
    private readonly onRunsChanged: () => void,
  ) {}

  get running(): string[] {
    return [...this.active.keys()];
  }

  /** The spec a command works on: the argument, the active editor's, or one the user picks. */
  async specFile(arg: unknown): Promise<string | undefined> {
    if (arg instanceof vscode.Uri) return arg.fsPath;
    if (typeof arg === 'string' && arg) return path.resolve(arg);
    const active = vscode.window.activeTextEditor?.document.uri;
    if (active?.fsPath.endsWith(DISTILL_SPEC_SUFFIX)) return active.fsPath;
    const specs = await vscode.workspace.findFiles(`**/*${DISTILL_SPEC_SUFFIX}`, '**/{node_modules,distill-runs}/**', 200);
    if (specs.length === 1) return specs[0].fsPath;
    const pick = await vscode.window.showQuickPick(
      specs.map((u) => ({ label: path.basename(u.fsPath), description: vscode.workspace.asRelativePath(u), uri: u })),
      { title: 'Start Distillation Run', placeHolder: 'Which run spec?' },
    );
    return pick?.uri.fsPath;
  }

  private refuse(refused: Refusal['refused'], message: string, ...actions: Array<[string, () => unknown]>): Refusal {
    this.lastMessage = message;
    this.log.warn(message);
    void vscode.window.showErrorMessage(message, ...actions.map(([label]) => label)).then((chosen) => actions.find(([label]) => label === chosen)?.[1]());
    return { refused, message };
  }

  /** Starts a run of `specArg`, or resumes the run in `resume` (its folder); resolves when it ends. */
  async start(specArg: unknown, resume?: string): Promise<StartOutcome | undefined> {
    if (!vscode.workspace.isTrusted) {
      return this.refuse(
        'untrusted',
        'Distillation runs execute Python (the trainer and any PyTorch factory the spec names), so they are disabled in an untrusted workspace. Trust this workspace to run them.',
        ['Manage Workspace Trust', () => vscode.commands.executeCommand('workbench.trust.manage')],
      );
    }
    const specFile = resume ? specOfRun(resume) : await this.specFile(specArg);
    if (!specFile) return undefined;
    if (!fs.existsSync(specFile))
      return this.refuse('no-spec', `${specFile} does not exist. Create a spec with "ONNX: Set Up Distillation...".`, [
        'Set Up Distillation...',
        () => vscode.commands.executeCommand('onnxCompress.setUpDistillation'),
      ]);
    if (resume && this.active.has(path.resolve(resume))) return this.refuse('busy', `${resume} is running already.`);

    const validation = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: `Checking ${path.basename(specFile)}` }, () =>
      this.checker.check(specFile),
    );
    if (!validation.ok || !validation.spec) {
      const errors = validation.problems.filter((p) => p.severity === 'error');
      const first = errors[0];
      return this.refuse(
        'spec',
        `${path.basename(specFile)} has ${errors.length} problem${errors.length === 1 ? '' : 's'}${first ? `; first: ${first.path ? `${first.path}: ` : ''}${first.message}` : ''}. They are marked in the spec and listed in the Problems panel.`,
        ['Open Spec', () => vscode.window.showTextDocument(vscode.Uri.file(specFile))],
        ['Show Problems', () => vscode.commands.executeCommand('workbench.actions.view.problems')],
      );
    }
    const spec = validation.spec;
    const configured = settings().distillPython;
    const probe = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'Checking the Python interpreter' }, () =>
      probePython(configured, { needCuda: spec.device === 'cuda' }),
    );
    this.log.info(probe.message);
    if (!probe.ok) {
      return this.refuse(
        'python',
        `Cannot start the run: ${probe.message}. The interpreter comes from the setting ${PYTHON_SETTING}${configured ? '' : ' (empty: ONNX_COMPRESS_PYTHON, then python3)'}.`,
        ['Open Setting', () => vscode.commands.executeCommand('workbench.action.openSettings', PYTHON_SETTING)],
      );
    }
    const cache = this.cacheText(spec, validation);
    this.log.info(`${specFile}: teacher cache ${cache}`);
    // The engine resolves the interpreter again from the user's own choice, so that a fallback
    // (python3 without torch -> /usr/bin/python3) is written into the run's log and report too.
    return this.run(specFile, spec, { shown: probe.python, named: configured || undefined }, cache, resume);
  }

  private cacheText(spec: ResolvedDistillSpec, v: SpecValidation): string {
    if (spec.scheme.kind !== 'offline' && spec.scheme.kind !== 'assistant') return `none (${spec.scheme.kind} scheme runs the teacher live)`;
    const estimates = estimateCacheBytes(
      spec,
      v.teacherTensors,
      v.data.map((d) => ({ split: d.split, samples: d.samples, labels: d.labels !== null })),
    );
    const parts = estimates.map((e) => `${e.split} ${e.bytes === null ? 'size unknown until the teacher runs' : formatBytes(e.bytes)} (${e.samples} samples)`);
    return `${parts.join(', ')}, ${spec.cache.dtype}${spec.cache.topK ? `, top ${spec.cache.topK} logits` : ''} in ${spec.cache.dir}`;
  }

  private async run(
    specFile: string,
    spec: ResolvedDistillSpec,
    python: { shown: string; named?: string },
    cache: string,
    resume?: string,
  ): Promise<DistillRunReport> {
    // The folder is chosen here so the view can open before the engine's first event.
    const runDir = path.resolve(resume ?? newRunDir(specFile));
    const abort = new AbortController();
    const entry: ActiveRun = { runDir, specFile, abort };
    this.active.set(runDir, entry);
    this.last = { runDir, report: null };
    const view = RunView.show(
      this.extensionUri,
      {
        name: path.basename(runDir),
        runDir,
        specFile,
        settings: settingsRows(spec, cache, python.shown),
        formulas: Object.fromEntries(spec.knowledge.map((k) => [k.type, KNOWLEDGE_FORMULAS[k.type]])),
      },
      (a) => void this.act(a, runDir),
      this.log,
    );
    // A resumed run draws its earlier epochs first.
    view.reset(resume ? readMetrics(runDir) : []);
    view.setState('running', `${resume ? 'Resuming' : 'Running'} ${path.basename(specFile)}`, null, ['cancel']);
    this.onRunsChanged();

    let pending: DistillEvent[] = [];
    let timer: NodeJS.Timeout | undefined;
    // The user may close the view mid-run and reopen it (it then replays metrics.jsonl): post to the one open now.
    const flush = () => {
      timer = undefined;
      RunView.get(runDir)?.addEvents(pending);
      pending = [];
    };
    const report = await Promise.resolve(
      vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Distilling ${path.basename(specFile)}`, cancellable: true },
        async (progress, token) => {
          token.onCancellationRequested(() => abort.abort());
          let stepsPerEpoch = 0;
          let epochs = spec.epochs;
          let reported = 0;
          const onEvent = (e: DistillEvent) => {
            if (e.event === 'phase') progress.report({ message: e.message });
            else if (e.event === 'cache' && e.state === 'estimate')
              this.log.info(`${e.split} cache: ${formatBytes(e.bytes)} for ${e.samples} samples in ${e.dir}`);
            else if (e.event === 'start') {
              stepsPerEpoch = e.stepsPerEpoch;
              epochs = e.epochs;
            } else if (e.event === 'step' && stepsPerEpoch) {
              const percent = (100 * ((e.epoch - 1) * stepsPerEpoch + e.step)) / (epochs * stepsPerEpoch);
              progress.report({
                increment: Math.max(0, percent - reported),
                message: `epoch ${e.epoch}/${epochs}, step ${e.step}/${stepsPerEpoch}, loss ${e.loss.toPrecision(4)}`,
              });
              reported = Math.max(reported, percent);
            } else if (e.event === 'error') {
              this.log.error(`${e.message}${e.where ? ` (${e.where})` : ''}${e.hint ? `: ${e.hint}` : ''}`);
            }
            pending.push(e);
            timer ??= setTimeout(flush, 100);
          };
          try {
            return await distillAndVerify(specFile, {
              runDir: resume ? undefined : runDir,
              resume,
              python: python.named,
              signal: abort.signal,
              onEvent,
              onLog: (line) => this.log.info(`[${path.basename(runDir)}] ${line}`),
            });
          } finally {
            if (timer) clearTimeout(timer);
            flush();
          }
        },
      ),
    ).finally(() => {
      this.active.delete(runDir);
      this.onRunsChanged();
    });
    this.last = { runDir, report };
    this.finish(report, RunView.get(runDir) ?? view);
    return report;
  }

  /** The end of a run: the view's state, a message with what to do next, the log. */
  private finish(report: DistillRunReport, view: RunView): void {
    const runDir = report.paths.runDir;
    const name = path.basename(runDir);
    const resumable = report.checkpoint !== null;
    if (report.status === 'completed') {
      const line = report.verification ? verificationLine(report.verification) : 'not verified';
      this.log.info(`${name}: completed; student ${report.paths.student}: ${line}`);
      view.setState('completed', `Completed: ${report.paths.student}`, report.verification, ['quantize', 'openFolder', 'openReport']);
      void vscode.window.showInformationMessage(`Distillation ${name} completed: ${line}.`, 'Quantize This Student', 'Open Run Folder').then((a) => {
        if (a) void this.act(a === 'Quantize This Student' ? 'quantize' : 'openFolder', runDir);
      });
      return;
    }
    const actions: RunViewAction[] = [...(resumable ? ['resume' as const] : []), 'openFolder', 'openReport'];
    const message =
      report.status === 'cancelled'
        ? `Distillation ${name} was cancelled${resumable ? `; its checkpoint ${path.basename(report.checkpoint!)} lets it resume` : ' before a checkpoint was written'}.`
        : `Distillation ${name} failed: ${report.message}${resumable ? ` (the last checkpoint is kept: ${path.basename(report.checkpoint!)})` : ''}`;
    this.lastMessage = message;
    view.setState(report.status, message, report.verification, actions);
    const buttons = [...(resumable ? ['Resume'] : []), 'Open Log', 'Open Run Folder'];
    const show = report.status === 'cancelled' ? vscode.window.showWarningMessage : vscode.window.showErrorMessage;
    void show(message, ...buttons).then((a) => {
      if (a === 'Resume') void this.act('resume', runDir);
      else if (a === 'Open Log') void vscode.window.showTextDocument(vscode.Uri.file(path.join(runDir, RUN_LAYOUT.log)));
      else if (a === 'Open Run Folder') void this.act('openFolder', runDir);
    });
  }

  /** What the run view's buttons, the messages' buttons and the Runs tree's actions do. */
  async act(action: RunViewAction, runDir: string): Promise<unknown> {
    try {
      switch (action) {
        case 'cancel':
          return this.cancel(runDir);
        case 'resume':
          return await this.start(undefined, runDir);
        case 'openFolder':
          return await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(runDir));
        case 'openReport':
          return await vscode.window.showTextDocument(vscode.Uri.file(path.join(runDir, RUN_LAYOUT.report)));
        case 'quantize':
          return await vscode.commands.executeCommand('onnxCompress.quantizeModel', vscode.Uri.file(path.join(runDir, RUN_LAYOUT.student)));
      }
    } catch (e) {
      this.log.error(`${action} ${runDir}: ${errorMessage(e)}`);
      void vscode.window.showErrorMessage(errorMessage(e));
    }
    return undefined;
  }

  /** Opens the run view of a past (or running) run from its folder. */
  open(runDir: string): RunView {
    const dir = path.resolve(runDir);
    const existing = RunView.get(dir);
    if (existing && this.active.has(dir)) {
      existing.panel.reveal();
      return existing;
    }
    // A run killed before it wrote its report has none, but its metrics still draw.
    const report = readRunReport(dir);
    const settings = report?.settings;
    const view = RunView.show(
      this.extensionUri,
      {
        name: path.basename(dir),
        runDir: dir,
        specFile: report?.specFile ?? path.join(dir, RUN_LAYOUT.spec),
        settings: settings
          ? settingsRows(settings, report!.caches.map((c) => `${c.split} ${formatBytes(c.bytes)} (${c.state})`).join(', ') || 'none', report!.trainer.python)
          : [],
        formulas: report?.losses ?? {},
      },
      (a) => void this.act(a, dir),
      this.log,
    );
    view.reset(readMetrics(dir));
    if (this.active.has(dir)) {
      view.setState('running', 'Running', null, ['cancel']);
    } else if (report) {
      const resumable = report.status !== 'completed' && report.checkpoint !== null;
      view.setState(
        report.status,
        report.status === 'completed' ? `Completed: ${report.paths.student}` : (report.message ?? report.status),
        report.verification,
        report.status === 'completed' ? ['quantize', 'openFolder', 'openReport'] : [...(resumable ? ['resume' as const] : []), 'openFolder', 'openReport'],
      );
    } else {
      view.setState('failed', 'No report: the run was stopped before it could write one.', null, ['openFolder']);
    }
    return view;
  }

  cancel(runDir?: string): boolean {
    const runs = runDir ? [this.active.get(path.resolve(runDir))] : [...this.active.values()];
    let any = false;
    for (const r of runs) {
      if (!r) continue;
      r.abort.abort();
      any = true;
    }
    return any;
  }

  dispose(): void {
    this.cancel();
  }
}

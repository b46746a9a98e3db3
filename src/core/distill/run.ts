// A distillation run, start to end: the run folder (spec copy, job, log, metrics.jsonl,
// checkpoints, student, report), validation, the teacher cache, the trainable student graph, the
// trainer as a child process speaking JSON lines, the student back to ONNX, its verification in
// onnxruntime-node, and report.json. Cancelling sends SIGINT (the trainer checkpoints) and, after
// a grace period, SIGKILL. Whatever happens, the folder keeps what was done and the report says
// how it ended. Teacher-assistant chains run as consecutive steps in `steps/`.
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as readline from 'readline';
import {
  DISTILL_REPORT_FORMAT, DISTILL_REPORT_VERSION, RUN_LAYOUT, RUNS_FOLDER,
  type CacheReport, type CheckpointEvent, type DistillEvent, type DistillRunReport, type EpochMetrics, type ErrorEvent,
  type CheckEvent, type StudentVerification, type TrainerEvent, type WarningEvent,
} from '../../shared/distillRun';
import { KNOWLEDGE_FORMULAS, type ResolvedDistillSpec } from '../../shared/distillSpec';
import { errorMessage } from '../errors';
import { readModel } from '../onnx/model';
import { buildTeacherCache, estimateCacheBytes, MANIFEST, type CacheResult } from './cache';
import { lastLines, probePython, PYTHON_ENV, resolvePython, trainerEnv, TRAINER_MODULE, type PythonProbe } from './python';
import { graphInputs } from './tensors';
import { exportTrainableGraph, writeTrainedWeights } from './trainableGraph';
import { readSpecFile, runCopyOfSpec } from './spec';
import { problemLines, validateSpec, type SpecValidation } from './validate';
import { verifyStudent } from './verify';
import { jsonText, writeFileAtomic } from '../files';

export interface StartRunOptions {
  /** The run folder (default `<spec folder>/distill-runs/<spec name>-<time>`). */
  runDir?: string;
  /** Resume the run in this folder from its last checkpoint. */
  resume?: string;
  /** Python interpreter (default: ONNX_COMPRESS_PYTHON, then python3). */
  python?: string;
  signal?: AbortSignal;
  onEvent?: (e: DistillEvent) => void;
  /** Lines of the log (the trainer's other output and the engine's notes). */
  onLog?: (line: string) => void;
  /** Milliseconds between SIGINT and SIGKILL on cancel (default 30000). */
  graceMs?: number;
}

class RunFailure extends Error {}

function timestamp(d = new Date()): string {
  return d.toISOString().replace(/[:]/g, '').replace(/\..+$/, '').replace('T', '-');
}

/** Where a new run of `specFile` goes: RUNS_FOLDER beside the spec, one folder per start time. */
export function newRunDir(specFile: string): string {
  const spec = path.resolve(specFile);
  const name = path.basename(spec).replace(/\.distill\.json$|\.json$/, '');
  return path.join(path.dirname(spec), RUNS_FOLDER, `${name}-${timestamp()}`);
}

/** The newest checkpoint file of a run folder, or null. */
export function lastCheckpoint(runDir: string): string | null {
  const dir = path.join(runDir, RUN_LAYOUT.checkpoints);
  if (!fs.existsSync(dir)) return null;
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.pt')).map((f) => path.join(dir, f));
  files.sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
  return files[0] ?? null;
}

/** Runs (or resumes) the distillation described by `specFile`; resolves with the report (status completed, cancelled or failed). */
export async function startRun(specFile: string, options: StartRunOptions = {}): Promise<DistillRunReport> {
  const spec = path.resolve(specFile);
  const runDir = path.resolve(options.resume ?? options.runDir ?? newRunDir(spec));
  if (options.resume && !fs.existsSync(path.join(runDir, RUN_LAYOUT.job))) {
    throw new Error(`${runDir}: not a run folder that can be resumed (no ${RUN_LAYOUT.job}); give the folder of an earlier run`);
  }
  await fs.promises.mkdir(path.join(runDir, RUN_LAYOUT.checkpoints), { recursive: true });
  const run = new RunFolder(runDir, options);
  // The copy reads the same files from the run folder (paths made absolute); on resume the copy made first stays.
  const copyFile = path.join(runDir, RUN_LAYOUT.spec);
  if (!options.resume || !fs.existsSync(copyFile)) {
    const raw = await readSpecFile(spec).catch(() => undefined);
    if (raw === undefined) await fs.promises.copyFile(spec, copyFile).catch(() => undefined);
    else await fs.promises.writeFile(copyFile, `${JSON.stringify(runCopyOfSpec(raw, path.dirname(spec)), null, 2)}\n`);
  }
  const report = run.report(spec);
  try {
    run.emit({ event: 'phase', phase: 'validate', message: `validating ${spec}` });
    const validation = await validateSpec(spec);
    for (const line of problemLines(validation)) run.log(line);
    if (!validation.ok || !validation.spec) throw new RunFailure(`the spec has problems:\n  ${problemLines(validation).filter((l) => l.startsWith('error')).join('\n  ')}`);
    const settings = validation.spec;
    report.settings = settings;
    report.knowledgeTypes = settings.knowledge.map((k) => k.type);
    report.losses = Object.fromEntries(settings.knowledge.map((k) => [k.type, KNOWLEDGE_FORMULAS[k.type]]));
    report.warnings.push(...validation.problems.filter((p) => p.severity === 'warning').map((p) => `${p.path}: ${p.message}`));

    const probe = await probePython(options.python, { needCuda: settings.device === 'cuda', signal: options.signal });
    run.log(probe.message);
    // Naming both: the user may expect python3 on PATH (a venv, pyenv) to run the trainer.
    if (probe.fallbackFrom) run.warn(report, { event: 'warning', message: `${probe.fallbackFrom}; the trainer runs with ${probe.python} (torch ${probe.torch})`, hint: `to choose the interpreter, set onnxCompress.distill.pythonPath, --python or ${PYTHON_ENV}` });
    report.trainer.python = probe.python;
    report.trainer.torch = probe.torch;
    if (!probe.ok) throw new RunFailure(probe.message);

    const steps = chainSteps(settings);
    let result: StepResult | undefined;
    for (const [i, step] of steps.entries()) {
      // The last step (the student) runs in the run folder itself; assistants in steps/.
      const last = i === steps.length - 1;
      const stepDir = last ? runDir : path.join(runDir, RUN_LAYOUT.steps, `${i + 1}-${path.basename(step.studentLabel).replace(/\.onnx$/, '')}`);
      const done = path.join(stepDir, RUN_LAYOUT.student);
      if (options.resume && !last && fs.existsSync(done)) {
        run.log(`step ${i + 1}: ${done} exists from the earlier run; kept`);
        result = { student: done, verification: null };
      } else {
        // Every step's student is verified against the spec's teacher: that is the comparison that matters.
        result = await runStep(run, step.spec, stepDir, validation, probe, report, options, steps.length > 1 ? { index: i + 1, count: steps.length } : undefined, settings.teacher);
      }
      if (steps.length > 1 && i < steps.length - 1) {
        report.chain.push({ step: i + 1, model: step.studentLabel, student: result.student, status: 'completed' });
        // The trained assistant teaches the next step.
        steps[i + 1].spec.teacher = { ...steps[i + 1].spec.teacher, model: result.student, output: step.spec.student.output };
      }
    }
    report.paths.student = result!.student;
    report.verification = result!.verification;
    report.status = 'completed';
    run.emit({ event: 'phase', phase: 'done', message: `done: ${result!.student}` });
  } catch (e) {
    const cancelled = options.signal?.aborted || (e as Error).name === 'AbortError' || e instanceof CancelledRun;
    report.status = cancelled ? 'cancelled' : 'failed';
    report.message = cancelled ? `cancelled${report.checkpoint ? `; resume from ${report.checkpoint} with --resume ${runDir}` : ''}` : errorMessage(e);
    run.log(`${report.status}: ${report.message}`);
  } finally {
    report.finished = new Date().toISOString();
    await run.writeReport(report);
    await run.close();
  }
  return report;
}

interface ChainStep { spec: ResolvedDistillSpec; studentLabel: string }

/** One step, or for the assistant scheme teacher -> assistant(s) -> student, each step a plain offline run. */
function chainSteps(settings: ResolvedDistillSpec): ChainStep[] {
  if (settings.scheme.kind !== 'assistant') return [{ spec: settings, studentLabel: settings.student.kind === 'onnx' ? settings.student.model : settings.student.factory }];
  const assistants = settings.scheme.assistants ?? [];
  // Pair knowledge names tensors of the teacher and the final student only: chain steps keep the
  // terms that compare logits.
  const logitTerms = settings.knowledge.filter((k) => k.type === 'response');
  const steps: ChainStep[] = assistants.map((a, i) => ({
    studentLabel: a.model,
    spec: {
      ...settings,
      knowledge: logitTerms,
      scheme: { kind: 'offline' },
      student: { kind: 'onnx', model: a.model, output: a.output ?? 'logits' },
      epochs: a.epochs ?? settings.epochs,
      cache: { ...settings.cache, dir: path.join(settings.cache.dir, `chain-${i + 1}`) },
      teacher: { ...settings.teacher },
    },
  }));
  steps.push({ studentLabel: settings.student.kind === 'onnx' ? settings.student.model : settings.student.factory, spec: { ...settings, knowledge: logitTerms, scheme: { kind: 'offline' }, cache: { ...settings.cache, dir: path.join(settings.cache.dir, `chain-${assistants.length + 1}`) }, teacher: { ...settings.teacher } } });
  return steps;
}

interface StepResult { student: string; verification: StudentVerification | null }

class CancelledRun extends Error {
  constructor() { super('cancelled'); this.name = 'AbortError'; }
}

async function runStep(
  run: RunFolder, spec: ResolvedDistillSpec, dir: string, validation: SpecValidation, probe: PythonProbe,
  report: DistillRunReport, options: StartRunOptions, chain: { index: number; count: number } | undefined, verifyTeacher: ResolvedDistillSpec['teacher'],
): Promise<StepResult> {
  const chainInfo = chain ? { chainStep: chain.index, chainSteps: chain.count } : {};
  await fs.promises.mkdir(path.join(dir, RUN_LAYOUT.checkpoints), { recursive: true });
  // The student (and an online teacher) as trainable graphs.
  run.emit({ event: 'phase', phase: 'export-graph', ...chainInfo, message: spec.student.kind === 'onnx' ? `writing the trainable graph of ${spec.student.model}` : `the PyTorch student ${spec.student.factory}` });
  let studentJob: Record<string, unknown>;
  if (spec.student.kind === 'onnx') {
    // The cache holds inputs under the teacher's names; a student whose inputs are named otherwise
    // gets them renamed (by position) in its trainable graph only.
    const [teacherInputs, studentInputs] = [graphInputs(await readModel(spec.teacher.model)), graphInputs(await readModel(spec.student.model))];
    const renameInputs = Object.fromEntries(studentInputs.map((n, i) => [n, teacherInputs[i]]).filter(([a, b]) => b !== undefined && a !== b));
    const g = await exportTrainableGraph(spec.student.model, path.join(dir, RUN_LAYOUT.studentGraph), { renameInputs });
    if (g.unsupported.length) throw new RunFailure(`the student has nodes the trainer cannot run: ${g.unsupported.map((u) => `${u.node} (${u.opType}): ${u.reason}`).join('; ')}`);
    studentJob = { kind: 'onnx', graph: g.graphFile, output: spec.student.output };
  } else {
    studentJob = { kind: 'factory', factory: spec.student.factory, inputNames: spec.student.inputNames.length ? spec.student.inputNames : validation.teacherTensors.filter((t) => t.kind === 'input').map((t) => t.name), output: spec.student.output };
  }
  let teacherJob: Record<string, unknown> | null = null;
  if (spec.scheme.kind === 'online') {
    const g = await exportTrainableGraph(spec.teacher.model, path.join(dir, RUN_LAYOUT.teacherGraph));
    teacherJob = { kind: 'onnx', graph: g.graphFile, output: spec.teacher.output };
  }
  const weightsDir = path.join(dir, RUN_LAYOUT.studentWeights);
  const studentFile = path.join(dir, RUN_LAYOUT.student);
  const resume = options.resume ? lastCheckpoint(dir) : null;
  if (options.resume && !resume) run.log(`no checkpoint in ${path.join(dir, RUN_LAYOUT.checkpoints)}: starting from the beginning`);
  report.resumedFrom = resume;
  const job = {
    format: 'onnx-compress/distill-job', version: 1,
    runDir: dir,
    train: { manifest: path.join(spec.cache.dir, 'train', MANIFEST) },
    eval: spec.data.eval ? { manifest: path.join(spec.cache.dir, 'eval', MANIFEST) } : null,
    student: studentJob,
    teacher: teacherJob,
    teacherOutput: spec.teacher.output,
    assistants: [],
    knowledge: spec.knowledge,
    scheme: spec.scheme,
    optimizer: spec.optimizer,
    schedule: spec.schedule,
    epochs: spec.epochs, batchSize: spec.batchSize, seed: spec.seed, device: spec.device, threads: spec.threads,
    resume,
    export: { weightsDir, onnx: studentFile, opset: spec.export.opset, dynamicBatch: spec.export.dynamicBatch },
  };
  const jobFile = path.join(dir, RUN_LAYOUT.job);
  await fs.promises.writeFile(jobFile, JSON.stringify(job, null, 2));

  // Before the (possibly long) cache: the trainer builds the student and lists what it cannot run
  // or which tensor names it does not know (a PyTorch student's names are checked only here).
  await checkJob(run, probe.python, jobFile, dir);

  // The cache: its size first, then written (or reused).
  run.emit({ event: 'phase', phase: 'cache', ...chainInfo, message: `teacher knowledge cache in ${spec.cache.dir}` });
  if (!chain || chain.index === 1) {
    for (const e of estimateCacheBytes(spec, validation.teacherTensors, validation.data.map((d) => ({ split: d.split, samples: d.samples, labels: d.labels !== null })))) {
      // Unknown shapes (symbolic image sizes): the cache announces its size after the teacher's first batch.
      if (e.bytes !== null) run.emit({ event: 'cache', split: e.split, state: 'estimate', bytes: e.bytes, samples: e.samples, dir: path.join(spec.cache.dir, e.split) });
      run.log(`cache ${e.split}: ${e.samples} samples, about ${e.bytes === null ? '? (a shape is unknown)' : `${(e.bytes / 2 ** 20).toFixed(1)} MiB`} (${e.parts.map((p) => `${p.what} ${p.bytes === null ? '?' : p.bytes}`).join(', ')})`);
    }
  }
  const caches: Partial<Record<'train' | 'eval', CacheResult>> = {};
  for (const split of ['train', 'eval'] as const) {
    if (!spec.data[split]) continue;
    const c = await buildTeacherCache(spec, split, { signal: options.signal, onEvent: (e) => (e.state === 'progress' ? run.emitQuiet(e) : run.emit(e)) });
    caches[split] = c;
    const state = c.state === 'rebuilt' ? `rebuilt: ${c.reason}` : c.state;
    report.caches.push({ split, dir: c.dir, bytes: c.manifest.bytes, samples: c.manifest.samples, state } as CacheReport);
    run.log(`cache ${split}: ${state} (${c.manifest.samples} samples, ${c.manifest.bytes} bytes) in ${c.dir}`);
  }

  // Training.
  run.emit({ event: 'phase', phase: 'train', ...chainInfo, message: `training with ${probe.python} (torch ${probe.torch})` });
  const exported = await train(run, probe.python, jobFile, dir, report, options);

  // The student back to ONNX.
  run.emit({ event: 'phase', phase: 'write-student', ...chainInfo, message: `writing ${studentFile}` });
  if (spec.student.kind === 'onnx') {
    const w = await writeTrainedWeights(spec.student.model, weightsDir, studentFile);
    run.log(`student: ${w.replaced.length} trained initializers written into the graph of ${spec.student.model}${w.unchanged.length ? `; unchanged: ${w.unchanged.join(', ')}` : ''}`);
  } else if (!exported.onnx || !fs.existsSync(exported.onnx)) {
    throw new RunFailure('the trainer exported no ONNX student (no "exported" event of kind onnx)');
  } else if (path.resolve(exported.onnx) !== studentFile) {
    await fs.promises.copyFile(exported.onnx, studentFile);
  }

  // Verification.
  run.emit({ event: 'phase', phase: 'verify', ...chainInfo, message: 'verifying the student in onnxruntime-node' });
  const verifySplit = spec.data.eval ?? { ...spec.data.train, samples: Math.min(spec.data.train.samples ?? 2000, 2000) };
  const verifyCache = caches.eval ?? null;
  const verification = await verifyStudent(studentFile, {
    teacherFile: verifyTeacher.model, teacherOutput: verifyTeacher.output,
    studentOutput: spec.student.output, split: verifySplit,
    labelsFile: verifyCache?.manifest.labels ? path.join(verifyCache.dir, verifyCache.manifest.labels.file) : (spec.data.eval ? null : trainLabelsFile(caches.train!)),
    executionProvider: spec.teacher.executionProvider, latencyRuns: spec.evaluation.latencyRuns, signal: options.signal,
  });
  run.emit({ event: 'verify', verification });
  return { student: studentFile, verification };
}

function trainLabelsFile(c: CacheResult): string | null {
  return c.manifest.labels ? path.join(c.dir, c.manifest.labels.file) : null;
}

/** Runs the trainer's `check` on the job: unsupported ops or unknown tensor names fail the run before any training. */
async function checkJob(run: RunFolder, python: string, jobFile: string, dir: string): Promise<void> {
  const child = spawn(python, ['-m', TRAINER_MODULE, 'check', jobFile], { cwd: dir, env: trainerEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let check: CheckEvent | undefined;
  let error: ErrorEvent | undefined;
  const stderr: string[] = [];
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    let e: TrainerEvent | undefined;
    try { e = JSON.parse(line); } catch { /* not an event */ }
    if (!e || typeof e.event !== 'string') return run.log(line);
    if (e.event === 'check') check = e;
    if (e.event === 'error') error = e;
    run.emit(e);
  });
  readline.createInterface({ input: child.stderr }).on('line', (line) => { stderr.push(line); run.log(line); });
  const code = await new Promise<number | null>((resolve) => {
    child.on('error', () => resolve(null));
    child.on('close', (c) => resolve(c));
  });
  if (error) throw new RunFailure(`the trainer cannot train this student: ${error.message}${error.where ? ` (at ${error.where})` : ''}${error.hint ? `; ${error.hint}` : ''}`);
  if (code !== 0 || !check) throw new RunFailure(`the trainer's check failed (exit ${code}): ${lastLines(stderr.join('\n'))}`);
  if (check.unsupported.length) {
    throw new RunFailure(`the trainer cannot run ${check.unsupported.length} node(s) of the model: ${check.unsupported.map((u) => `${u.node} (${u.opType}): ${u.reason}`).join('; ')}`);
  }
  run.log(`trainer check: every node supported, ${check.parameters} trainable parameters`);
}

/** Spawns the trainer and follows its events until it exits. */
async function train(run: RunFolder, python: string, jobFile: string, dir: string, report: DistillRunReport, options: StartRunOptions): Promise<{ onnx: string | null }> {
  const child = spawn(python, ['-m', TRAINER_MODULE, 'train', jobFile], { cwd: dir, env: trainerEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let lastError: ErrorEvent | undefined;
  let onnx: string | null = null;
  const stderr: string[] = [];
  let killTimer: NodeJS.Timeout | undefined;
  const onAbort = () => {
    run.log('cancel: SIGINT sent to the trainer (it writes a checkpoint)');
    child.kill('SIGINT');
    killTimer = setTimeout(() => {
      run.log(`the trainer did not stop within ${(options.graceMs ?? 30000) / 1000} s: SIGKILL`);
      child.kill('SIGKILL');
    }, options.graceMs ?? 30000);
  };
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });
  const epochs = new Map<number, EpochMetrics>();
  const epochOf = (n: number) => {
    let e = epochs.get(n);
    if (!e) epochs.set(n, (e = { epoch: n, loss: NaN, terms: {}, seconds: 0, accuracy: null, agreement: null }));
    return e;
  };
  const lines = readline.createInterface({ input: child.stdout });
  lines.on('line', (line) => {
    let e: TrainerEvent | undefined;
    try {
      const parsed = JSON.parse(line);
      if (parsed && typeof parsed.event === 'string') e = parsed;
    } catch { /* not an event */ }
    if (!e) return run.log(line);
    switch (e.event) {
      case 'start':
        report.trainer.device = e.device;
        report.trainer.threads = e.threads;
        report.trainer.torch = e.torch;
        report.trainer.blasGflops = e.blasGflops ?? null;
        if (typeof e.blasGflops === 'number') run.log(`trainer: CPU matrix products at ${e.blasGflops.toFixed(1)} GFLOP/s (measured at start-up)`);
        if (e.losses && Object.keys(e.losses).length) report.losses = e.losses;
        break;
      case 'epoch': Object.assign(epochOf(e.epoch), { loss: e.loss, terms: e.terms, seconds: e.seconds }); break;
      case 'eval': Object.assign(epochOf(e.epoch), { accuracy: e.accuracy, agreement: e.agreement }); break;
      case 'checkpoint': report.checkpoint = (e as CheckpointEvent).path; break;
      case 'exported': if (e.kind === 'onnx') onnx = e.path; break;
      case 'warning': run.warn(report, e); return;
      case 'error': lastError = e; run.log(`trainer error: ${e.message}${e.where ? ` (at ${e.where})` : ''}${e.hint ? `; ${e.hint}` : ''}`); break;
    }
    run.emit(e);
  });
  const errLines = readline.createInterface({ input: child.stderr });
  errLines.on('line', (line) => {
    stderr.push(line);
    if (stderr.length > 50) stderr.shift();
    run.log(line);
  });
  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; spawnError?: string }>((resolve) => {
    child.on('error', (e) => resolve({ code: null, signal: null, spawnError: errorMessage(e) }));
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  if (killTimer) clearTimeout(killTimer);
  options.signal?.removeEventListener('abort', onAbort);
  report.epochs = [...epochs.values()].sort((a, b) => a.epoch - b.epoch);
  if (exit.spawnError) throw new RunFailure(`cannot start the trainer with ${python}: ${exit.spawnError}`);
  if (options.signal?.aborted || exit.code === 130) throw new CancelledRun();
  if (exit.code !== 0) {
    const why = lastError ? `${lastError.message}${lastError.where ? ` (at ${lastError.where})` : ''}${lastError.hint ? `; ${lastError.hint}` : ''}` : `the trainer exited with ${exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`}: ${lastLines(stderr.join('\n'))}`;
    throw new RunFailure(`${why}${report.checkpoint ? ` (last checkpoint: ${report.checkpoint})` : ''}; the log is ${run.paths.log}`);
  }
  return { onnx };
}

/** The run folder's open files: the log and metrics.jsonl, both appended line by line. */
class RunFolder {
  readonly paths: DistillRunReport['paths'];
  private readonly logStream: fs.WriteStream;
  private readonly metricsStream: fs.WriteStream;

  constructor(readonly dir: string, private readonly options: StartRunOptions) {
    this.paths = {
      runDir: dir,
      spec: path.join(dir, RUN_LAYOUT.spec),
      job: path.join(dir, RUN_LAYOUT.job),
      log: path.join(dir, RUN_LAYOUT.log),
      metrics: path.join(dir, RUN_LAYOUT.metrics),
      checkpoints: path.join(dir, RUN_LAYOUT.checkpoints),
      student: null,
      report: path.join(dir, RUN_LAYOUT.report),
    };
    this.logStream = fs.createWriteStream(this.paths.log, { flags: 'a' });
    this.metricsStream = fs.createWriteStream(this.paths.metrics, { flags: 'a' });
  }

  log(line: string): void {
    this.logStream.write(`${line}\n`);
    this.options.onLog?.(line);
  }

  emit(e: DistillEvent): void {
    this.metricsStream.write(`${JSON.stringify(e)}\n`);
    this.options.onEvent?.(e);
  }

  /** A warning: in metrics.jsonl, the log and the report's warnings. */
  warn(report: DistillRunReport, e: WarningEvent): void {
    const text = `${e.message}${e.hint ? `; ${e.hint}` : ''}`;
    if (!report.warnings.includes(text)) report.warnings.push(text);
    this.log(`warning: ${text}`);
    this.emit(e);
  }

  /** Progress events go to the listener only (metrics.jsonl would fill with them). */
  emitQuiet(e: DistillEvent): void {
    this.options.onEvent?.(e);
  }

  report(spec: string): DistillRunReport {
    const now = new Date().toISOString();
    return {
      format: DISTILL_REPORT_FORMAT, version: DISTILL_REPORT_VERSION, status: 'failed', message: null, specFile: spec,
      settings: null, losses: {}, knowledgeTypes: [], caches: [], epochs: [], checkpoint: null, resumedFrom: null,
      verification: null, chain: [], paths: this.paths,
      trainer: { python: resolvePython(this.options.python), torch: null, device: null, threads: null, blasGflops: null },
      started: now, finished: now, warnings: [],
    };
  }

  async writeReport(report: DistillRunReport): Promise<void> {
    await writeFileAtomic(this.paths.report, jsonText(report));
  }

  async close(): Promise<void> {
    await Promise.all([this.logStream, this.metricsStream].map((s) => new Promise<void>((resolve) => s.end(resolve))));
  }
}

// The trainer as a child process speaking JSON lines: its `check` of a job before anything long
// runs, and `train`, followed event by event into the report until it exits. Cancelling sends
// SIGINT (the trainer checkpoints) and, after a grace period, SIGKILL.
import { spawn } from 'child_process';
import * as readline from 'readline';
import type { CheckEvent, CheckpointEvent, DistillRunReport, EpochMetrics, ErrorEvent, TrainerEvent } from '../../shared/distillRun';
import { errorMessage } from '../errors';
import { lastLines, trainerEnv, TRAINER_MODULE } from './python';
import type { RunFolder } from './runFolder';

/** A run that cannot go on; its message is the report's. */
export class RunFailure extends Error {}

export class CancelledRun extends Error {
  constructor() {
    super('cancelled');
    this.name = 'AbortError';
  }
}

export interface TrainOptions {
  signal?: AbortSignal;
  /** Milliseconds between SIGINT and SIGKILL on cancel (default 30000). */
  graceMs?: number;
}

/** Runs the trainer's `check` on the job: unsupported ops or unknown tensor names fail the run before any training. */
export async function checkJob(run: RunFolder, python: string, jobFile: string, dir: string): Promise<void> {
  const child = spawn(python, ['-m', TRAINER_MODULE, 'check', jobFile], { cwd: dir, env: trainerEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let check: CheckEvent | undefined;
  let error: ErrorEvent | undefined;
  const stderr: string[] = [];
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    let e: TrainerEvent | undefined;
    try {
      e = JSON.parse(line);
    } catch {
      /* not an event */
    }
    if (!e || typeof e.event !== 'string') return run.log(line);
    if (e.event === 'check') check = e;
    if (e.event === 'error') error = e;
    run.emit(e);
  });
  readline.createInterface({ input: child.stderr }).on('line', (line) => {
    stderr.push(line);
    run.log(line);
  });
  const code = await new Promise<number | null>((resolve) => {
    child.on('error', () => resolve(null));
    child.on('close', (c) => resolve(c));
  });
  if (error)
    throw new RunFailure(
      `the trainer cannot train this student: ${error.message}${error.where ? ` (at ${error.where})` : ''}${error.hint ? `; ${error.hint}` : ''}`,
    );
  if (code !== 0 || !check) throw new RunFailure(`the trainer's check failed (exit ${code}): ${lastLines(stderr.join('\n'))}`);
  if (check.unsupported.length) {
    throw new RunFailure(
      `the trainer cannot run ${check.unsupported.length} node(s) of the model: ${check.unsupported.map((u) => `${u.node} (${u.opType}): ${u.reason}`).join('; ')}`,
    );
  }
  run.log(`trainer check: every node supported, ${check.parameters} trainable parameters`);
}

/** Spawns the trainer and follows its events until it exits. */
export async function train(
  run: RunFolder,
  python: string,
  jobFile: string,
  dir: string,
  report: DistillRunReport,
  options: TrainOptions,
): Promise<{ onnx: string | null }> {
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
    } catch {
      /* not an event */
    }
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
      case 'epoch':
        Object.assign(epochOf(e.epoch), { loss: e.loss, terms: e.terms, seconds: e.seconds });
        break;
      case 'eval':
        Object.assign(epochOf(e.epoch), { accuracy: e.accuracy, agreement: e.agreement });
        break;
      case 'checkpoint':
        report.checkpoint = (e as CheckpointEvent).path;
        break;
      case 'exported':
        if (e.kind === 'onnx') onnx = e.path;
        break;
      case 'warning':
        run.warn(report, e);
        return;
      case 'error':
        lastError = e;
        run.log(`trainer error: ${e.message}${e.where ? ` (at ${e.where})` : ''}${e.hint ? `; ${e.hint}` : ''}`);
        break;
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
    const why = lastError
      ? `${lastError.message}${lastError.where ? ` (at ${lastError.where})` : ''}${lastError.hint ? `; ${lastError.hint}` : ''}`
      : `the trainer exited with ${exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`}: ${lastLines(stderr.join('\n'))}`;
    throw new RunFailure(`${why}${report.checkpoint ? ` (last checkpoint: ${report.checkpoint})` : ''}; the log is ${run.paths.log}`);
  }
  return { onnx };
}

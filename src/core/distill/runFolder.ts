// A run folder: where runs go (one folder per start time, beside the spec), the newest checkpoint
// of one, and its open files: the log and metrics.jsonl, both appended line by line, and report.json.
import * as fs from 'fs';
import * as path from 'path';
import {
  DISTILL_REPORT_FORMAT,
  DISTILL_REPORT_VERSION,
  RUN_LAYOUT,
  RUNS_FOLDER,
  type DistillEvent,
  type DistillRunReport,
  type WarningEvent,
} from '../../shared/distillRun';
import { jsonText, writeFileAtomic } from '../files';
import { resolvePython } from './python';

/** What a run reports to, besides its folder. */
export interface RunListeners {
  /** Python interpreter (default: ONNX_COMPRESS_PYTHON, then python3). */
  python?: string;
  onEvent?: (e: DistillEvent) => void;
  /** Lines of the log (the trainer's other output and the engine's notes). */
  onLog?: (line: string) => void;
}

function timestamp(d = new Date()): string {
  return d.toISOString().replace(/[:]/g, '').replace(/\..+$/, '').replace('T', '-');
}

/** Where a new run of `specFile` goes: RUNS_FOLDER beside the spec, one folder per start time (`kind`: a sweep's prefix). */
export function newRunDir(specFile: string, kind = ''): string {
  const spec = path.resolve(specFile);
  const name = path.basename(spec).replace(/\.distill\.json$|\.json$/, '');
  return path.join(path.dirname(spec), RUNS_FOLDER, `${name}-${kind ? `${kind}-` : ''}${timestamp()}`);
}

/** The newest checkpoint file of a run folder, or null. */
export function lastCheckpoint(runDir: string): string | null {
  const dir = path.join(runDir, RUN_LAYOUT.checkpoints);
  if (!fs.existsSync(dir)) return null;
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.pt'))
    .map((f) => path.join(dir, f));
  files.sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
  return files[0] ?? null;
}

/** The run folder's open files: the log and metrics.jsonl, both appended line by line. */
export class RunFolder {
  readonly paths: DistillRunReport['paths'];
  private readonly logStream: fs.WriteStream;
  private readonly metricsStream: fs.WriteStream;

  constructor(
    readonly dir: string,
    private readonly options: RunListeners,
  ) {
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
      format: DISTILL_REPORT_FORMAT,
      version: DISTILL_REPORT_VERSION,
      status: 'failed',
      message: null,
      specFile: spec,
      settings: null,
      losses: {},
      knowledgeTypes: [],
      caches: [],
      epochs: [],
      checkpoint: null,
      resumedFrom: null,
      verification: null,
      chain: [],
      paths: this.paths,
      trainer: { python: resolvePython(this.options.python), torch: null, device: null, threads: null, blasGflops: null },
      started: now,
      finished: now,
      warnings: [],
    };
  }

  async writeReport(report: DistillRunReport): Promise<void> {
    await writeFileAtomic(this.paths.report, jsonText(report));
  }

  async close(): Promise<void> {
    await Promise.all([this.logStream, this.metricsStream].map((s) => new Promise<void>((resolve) => s.end(resolve))));
  }
}

// A distillation run as the extension, the CLI and the run view see it: the trainer's JSON-line
// events (docs/distill-formats.md section 4), the engine's own events, the run folder's layout and
// the final report (`report.json`).
import type { ResolvedDistillSpec, KnowledgeType } from './distillSpec';

export const DISTILL_REPORT_FORMAT = 'onnx-compress/distill-report';
export const DISTILL_REPORT_VERSION = 1;

/** Files and folders inside a run folder. */
export const RUN_LAYOUT = {
  spec: 'spec.distill.json',
  job: 'job.json',
  log: 'log.txt',
  metrics: 'metrics.jsonl',
  checkpoints: 'checkpoints',
  studentGraph: 'student-graph',
  teacherGraph: 'teacher-graph',
  studentWeights: 'student-weights',
  student: 'student.onnx',
  report: 'report.json',
  /** Teacher-assistant chains: one sub-folder per step (`steps/1-assistant`, ...). */
  steps: 'steps',
} as const;

/** Default parent of run folders: `<spec folder>/distill-runs/<spec name>-<timestamp>`. */
export const RUNS_FOLDER = 'distill-runs';

// --- Trainer events (one JSON object per stdout line) ---

export interface StartEvent {
  event: 'start';
  epochs: number;
  stepsPerEpoch: number;
  samples: number;
  device: string;
  threads: number;
  torch: string;
  parameters: number;
  /** term -> formula text */
  losses: Record<string, string>;
  resumedFrom: string | null;
  /** GFLOP/s of the CPU's matrix products, measured at start-up (null on CUDA); a slow BLAS also gets a `warning`. */
  blasGflops?: number | null;
}

export interface StepEvent {
  event: 'step';
  epoch: number;
  step: number;
  loss: number;
  terms: Record<string, number>;
  lr: number;
  samplesPerSec: number;
}

export interface EpochEvent {
  event: 'epoch';
  epoch: number;
  loss: number;
  terms: Record<string, number>;
  seconds: number;
}

export interface EvalEvent {
  event: 'eval';
  epoch: number;
  accuracy: number | null;
  agreement: number | null;
  loss: number | null;
}

export interface CheckpointEvent {
  event: 'checkpoint';
  path: string;
  epoch: number;
  step: number;
  reason: 'epoch' | 'interrupt' | 'error';
}

export interface ExportedEvent {
  event: 'exported';
  kind: 'weights' | 'onnx';
  path: string;
}

export interface UnsupportedNode {
  node: string;
  opType: string;
  reason: string;
}

export interface CheckEvent {
  event: 'check';
  unsupported: UnsupportedNode[];
  parameters: number;
}

export interface ErrorEvent {
  event: 'error';
  message: string;
  where?: string;
  hint?: string;
}

/** Something that slows or changes the run without stopping it (the trainer's or the engine's); also in the report's warnings. */
export interface WarningEvent {
  event: 'warning';
  message: string;
  hint?: string;
}

export type TrainerEvent = StartEvent | StepEvent | EpochEvent | EvalEvent | CheckpointEvent | ExportedEvent | CheckEvent | ErrorEvent | WarningEvent;

// --- Engine events (same stream: metrics.jsonl holds both kinds) ---

/** A phase of the run, announced before it starts. */
export interface PhaseEvent {
  event: 'phase';
  phase: 'validate' | 'cache' | 'export-graph' | 'train' | 'write-student' | 'verify' | 'baseline' | 'done';
  /** Teacher-assistant chains: which step (1-based) of how many. */
  chainStep?: number;
  chainSteps?: number;
  message: string;
}

/** The teacher cache: its size before writing, progress while writing, and whether it was reused. */
export interface CacheEvent {
  event: 'cache';
  split: 'train' | 'eval';
  state: 'estimate' | 'progress' | 'reused' | 'rebuilt' | 'written';
  bytes: number;
  samples: number;
  done?: number;
  /** Why a cache was rebuilt (which hash changed). */
  reason?: string;
  dir: string;
}

export interface VerifyEvent {
  event: 'verify';
  verification: StudentVerification;
}

/** The labels-only baseline finished an epoch: its accuracy next to the distilled student's at that epoch. */
export interface BaselineEvent {
  event: 'baseline';
  epoch: number;
  accuracy: number | null;
  kdAccuracy: number | null;
  /** kdAccuracy - accuracy (null where either is unknown). */
  gain: number | null;
}

export type EngineEvent = PhaseEvent | CacheEvent | VerifyEvent | BaselineEvent;
export type DistillEvent = TrainerEvent | EngineEvent;

// --- The report ---

export type RunStatus = 'completed' | 'cancelled' | 'failed';

export interface StudentVerification {
  /** The student loaded in onnxruntime-node. */
  loads: boolean;
  samples: number;
  /** Top-1 accuracy on the eval data (null without labels). */
  accuracy: number | null;
  /** The teacher's accuracy on the same samples (null without labels). */
  teacherAccuracy: number | null;
  /** Fraction of samples where the student's argmax equals the teacher's. */
  agreement: number | null;
  studentBytes: number;
  teacherBytes: number;
  /** Median single-batch latency in ms (batch size 1), student and teacher, same provider. */
  latencyMs: number | null;
  teacherLatencyMs: number | null;
  executionProvider: string;
  /** Which data verified it. */
  data: string;
}

export interface EpochMetrics {
  epoch: number;
  loss: number;
  terms: Record<string, number>;
  seconds: number;
  accuracy: number | null;
  agreement: number | null;
}

export interface CacheReport {
  split: 'train' | 'eval';
  dir: string;
  bytes: number;
  samples: number;
  /** 'reused' | 'written' | 'rebuilt: <why>' */
  state: string;
}

export interface DistillRunReport {
  format: typeof DISTILL_REPORT_FORMAT;
  version: 1;
  status: RunStatus;
  /** Why it failed or was cancelled (null when completed). */
  message: string | null;
  specFile: string;
  /** Every effective setting (null when the spec could not be resolved). */
  settings: ResolvedDistillSpec | null;
  /** term -> formula actually used (from the trainer's start event, else the engine's table). */
  losses: Record<string, string>;
  knowledgeTypes: KnowledgeType[];
  caches: CacheReport[];
  epochs: EpochMetrics[];
  /** Last checkpoint written (resume from it with --resume RUNDIR). */
  checkpoint: string | null;
  resumedFrom: string | null;
  verification: StudentVerification | null;
  /** Teacher-assistant chains: the report of each step before the last. */
  chain: { step: number; model: string; student: string; status: RunStatus }[];
  paths: {
    runDir: string;
    spec: string;
    job: string;
    log: string;
    metrics: string;
    checkpoints: string;
    student: string | null;
    report: string;
  };
  /** `blasGflops`: the CPU's matrix-product speed the trainer measured (absent in reports of earlier versions). */
  trainer: { python: string; torch: string | null; device: string | null; threads: number | null; blasGflops?: number | null };
  started: string;
  finished: string;
  warnings: string[];
  /** The labels-only baseline (absent or null when none was asked for). */
  baseline?: BaselineReport | null;
}

/** KD against the same student trained on labels alone: same data, schedule, epochs and seed. */
export interface BaselineReport {
  status: RunStatus;
  message: string | null;
  runDir: string;
  student: string | null;
  epochs: EpochMetrics[];
  verification: StudentVerification | null;
  /** Per epoch: the distilled student's evaluation accuracy, the baseline's, and KD's gain (kd - baseline). */
  perEpoch: { epoch: number; kd: number | null; baseline: number | null; gain: number | null }[];
  /** Verified accuracy (onnxruntime-node, same samples) of the distilled student minus the baseline's. */
  gain: number | null;
}

/** One past run, as the Runs tree lists it. */
export interface RunSummary {
  runDir: string;
  name: string;
  status: RunStatus | 'running' | 'unknown';
  started: string | null;
  accuracy: number | null;
  agreement: number | null;
  student: string | null;
  report: string | null;
}

// Runs a fuzz target in a worker thread with a capped heap and a watchdog. A synchronous parser
// cannot be interrupted from inside its own thread, so the watchdog lives here: an input that
// runs longer than STALL_MS, or a heap past HEAP_MB (the worker dies), or a process whose
// resident memory grows past RSS_GROWTH_MB (typed arrays live outside the capped heap) ends the
// worker, and the report names the seed and the input (fast-check path) that reproduce it.
import * as path from 'path';
import { Worker } from 'worker_threads';
import type { WorkerJob, WorkerMessage } from './worker';

const STALL_MS = 20_000;
const HEAP_MB = 384;
const RSS_GROWTH_MB = 1536;

export interface FuzzBudget {
  seed: number;
  runs: number;
  seconds?: number;
  path?: string;
  /** How long one input may run before it counts as a hang. */
  stallMs?: number;
}

export interface FuzzOutcome {
  target: string;
  seed: number;
  /** Inputs tried. */
  runs: number;
  failure?: string;
}

const OUT_DIR = path.resolve(__dirname, '../../../.test-output/fuzz');

/** The budget from FUZZ_SEED / FUZZ_RUNS / FUZZ_SECONDS / FUZZ_PATH, else the given defaults. */
export function budgetFromEnv(defaults: FuzzBudget): FuzzBudget {
  const env = process.env;
  const num = (v: string | undefined) => (v !== undefined && v !== '' ? Number(v) : undefined);
  return {
    seed: num(env.FUZZ_SEED) ?? defaults.seed,
    runs: num(env.FUZZ_RUNS) ?? defaults.runs,
    seconds: num(env.FUZZ_SECONDS) ?? defaults.seconds,
    path: env.FUZZ_PATH || defaults.path,
  };
}

export function runTarget(target: string, budget: FuzzBudget): Promise<FuzzOutcome> {
  const job: WorkerJob = { target, seed: budget.seed, runs: budget.runs, seconds: budget.seconds, path: budget.path, outDir: OUT_DIR };
  const worker = new Worker(path.join(__dirname, 'worker.js'), {
    workerData: job,
    resourceLimits: { maxOldGenerationSizeMb: HEAP_MB, maxYoungGenerationSizeMb: 64 },
  });
  const baseRss = process.memoryUsage.rss();
  const stallMs = budget.stallMs ?? STALL_MS;
  let last: { call: number; firstFailure?: number; at: number } = { call: -1, at: Date.now() };
  const where = () => {
    // Before a failure each call is one generated input, so its index is the path; after one,
    // fast-check is shrinking and the first failing input reproduces the problem.
    const p = last.firstFailure ?? last.call;
    return `input ${p} of seed ${budget.seed}; replay: FUZZ_TARGET=${target} FUZZ_SEED=${budget.seed} FUZZ_PATH=${budget.path ?? p} npm run fuzz`;
  };
  return new Promise<FuzzOutcome>((resolve) => {
    let settled = false;
    const finish = (o: Omit<FuzzOutcome, 'target' | 'seed'>) => {
      if (settled) return;
      settled = true;
      clearInterval(timer);
      void worker.terminate();
      resolve({ target, seed: budget.seed, ...o });
    };
    const timer = setInterval(() => {
      const grown = (process.memoryUsage.rss() - baseRss) / 2 ** 20;
      if (grown > RSS_GROWTH_MB) finish({ runs: last.call, failure: `memory grew by ${grown.toFixed(0)} MiB (cap ${RSS_GROWTH_MB}) at ${where()}` });
      else if (Date.now() - last.at > stallMs) finish({ runs: last.call, failure: `no progress for ${stallMs / 1000} s (a hang) at ${where()}` });
    }, 100);
    worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'beat') last = { call: m.call, firstFailure: m.firstFailure, at: Date.now() };
      else finish({ runs: m.runs, failure: m.failure });
    });
    worker.on('error', (e) => finish({ runs: last.call, failure: `the worker died (${e.message}) at ${where()}` }));
    worker.on('exit', (code) => finish({ runs: last.call, failure: `the worker exited (code ${code}) at ${where()}` }));
  });
}

// Runs one fuzz target inside a worker thread (see harness.ts): a parser that hangs or allocates
// without bound takes this thread down, not the test run, and the harness still knows which
// input it was on from the heartbeats posted before each one.
import * as fc from 'fast-check';
import * as fs from 'fs';
import * as path from 'path';
import { parentPort, workerData } from 'worker_threads';
import { Scratch, type FuzzTarget } from './target';
import { loadTarget } from './targets';

export interface WorkerJob {
  target: string;
  seed: number;
  runs: number;
  /** Stop after this long even if `runs` are not done (the long budget). */
  seconds?: number;
  /** Replays one input (fast-check's counterexample path). */
  path?: string;
  /** Where a failing input is written in full. */
  outDir: string;
}

export type WorkerMessage = { type: 'beat'; call: number; firstFailure?: number } | { type: 'done'; runs: number; failure?: string };

const post = (m: WorkerMessage) => parentPort!.postMessage(m);

async function main(job: WorkerJob): Promise<void> {
  const target = (await loadTarget(job.target)) as FuzzTarget<unknown>;
  const scratch = new Scratch();
  let call = 0;
  let firstFailure: number | undefined;
  const property = fc.asyncProperty(target.arbitrary, async (value) => {
    post({ type: 'beat', call, firstFailure });
    call++;
    try {
      await target.check(value, scratch);
    } catch (e) {
      firstFailure ??= call - 1;
      throw e;
    }
  });
  try {
    const details = await fc.check(property, {
      seed: job.seed,
      numRuns: job.path ? 1 : job.runs,
      path: job.path,
      interruptAfterTimeLimit: job.seconds ? job.seconds * 1000 : undefined,
      markInterruptAsFailure: false,
    });
    if (!details.failed) {
      post({ type: 'done', runs: details.numRuns });
      return;
    }
    const shown = fc.stringify(details.counterexample?.[0]);
    fs.mkdirSync(job.outDir, { recursive: true });
    const file = path.join(job.outDir, `${job.target}-${job.seed}.txt`);
    fs.writeFileSync(file, shown);
    const err = details.errorInstance;
    post({
      type: 'done',
      runs: details.numRuns,
      failure:
        `${err instanceof Error ? err.message : String(err)}\n` +
        `counterexample (${details.numShrinks} shrinks; in full in ${file}): ${shown.length > 600 ? `${shown.slice(0, 600)}…` : shown}\n` +
        `replay: FUZZ_TARGET=${job.target} FUZZ_SEED=${job.seed} FUZZ_PATH=${details.counterexamplePath} npm run fuzz`,
    });
  } finally {
    scratch.dispose();
  }
}

main(workerData as WorkerJob).catch((e) =>
  post({ type: 'done', runs: 0, failure: `the target failed outside its check (loading it, or generating an input): ${e instanceof Error ? e.stack : e}` }),
);

// Runs readModel (and summarizeModel) in a worker thread, so that a hang or a crash of the
// decoder (a stack overflow, an endless loop, an out-of-memory) fails one test instead of
// stalling or killing the run: the worker is terminated when it overruns its time.
import * as path from 'path';
import { Worker } from 'worker_threads';

export type IsolatedResult =
  { ok: true; irVersion: string; warnings: string[]; summaryError?: { name: string; message: string } } | { ok: false; name: string; message: string };

const WORKER = `
const { parentPort, workerData } = require('worker_threads');
const { readModel } = require(workerData.model);
const { summarizeModel } = require(workerData.summary);
(async () => {
  const results = [];
  for (const file of workerData.files) {
    try {
      const m = await readModel(file);
      let warnings = [], summaryError;
      try { warnings = summarizeModel(m).warnings; } catch (e) { summaryError = { name: e && e.name, message: String(e && e.message) }; }
      results.push({ ok: true, irVersion: String(m.proto.ir_version), warnings, summaryError });
    } catch (e) {
      results.push({ ok: false, name: e && e.name, message: String(e && e.message) });
    }
  }
  parentPort.postMessage(results);
})();
`;

/** readModel + summarizeModel of each file in one worker; rejects if it takes over `ms`. */
export function readModelsIsolated(files: string[], ms = 5000): Promise<IsolatedResult[]> {
  const core = path.resolve(__dirname, '..', '..', 'src', 'core', 'onnx');
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: { files, model: path.join(core, 'model.js'), summary: path.join(core, 'summary.js') },
    resourceLimits: { maxOldGenerationSizeMb: 512 },
  });
  return new Promise<IsolatedResult[]>((resolve, reject) => {
    const timer = setTimeout(() => {
      void worker.terminate();
      reject(new Error(`reading ${files.length === 1 ? files[0] : `${files.length} files`} did not finish within ${ms} ms (hang)`));
    }, ms);
    worker.once('message', (r: IsolatedResult[]) => {
      clearTimeout(timer);
      void worker.terminate();
      resolve(r);
    });
    worker.once('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`the reader crashed: ${e.message}`));
    });
    worker.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the reader's thread exited (code ${code}) without an answer`));
    });
  });
}

export async function readModelIsolated(file: string, ms = 5000): Promise<IsolatedResult> {
  return (await readModelsIsolated([file], ms))[0];
}

// Plain inference for the big-model benchmark, in its own process so that its peak RSS is its own:
//
//   node -r out/bench/rss-hook.js out/bench/big-child.js infer MODEL BATCH
//
// One onnxruntime session created from the model's path (its external data read by onnxruntime
// beside it), with the options the engine's sessions use, then one run on a batch of seeded
// values. Prints one JSON line: the session and run times in ms.
import * as fs from 'fs';
import { performance } from 'perf_hooks';
import { seededRandom } from '../src/core/random';
import { ort } from '../src/core/runtime/session';
import { runChildMain } from './rss-hook';

async function infer(file: string, batch: number): Promise<object> {
  let t = performance.now();
  const session = await ort.InferenceSession.create(file, { executionProviders: ['cpu'], graphOptimizationLevel: 'all', logSeverityLevel: 3 });
  const sessionMs = performance.now() - t;
  const dims = (session.inputMetadata[0] as { shape?: Array<number | string> }).shape ?? [];
  const width = Number(dims[dims.length - 1]);
  const rnd = seededRandom(7);
  const x = Float32Array.from({ length: batch * width }, () => rnd());
  t = performance.now();
  const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x, [batch, width]) });
  const runMs = performance.now() - t;
  for (const v of Object.values(out)) v.dispose();
  await session.release();
  return { sessionMs, runMs, modelBytes: fs.statSync(file).size };
}

const [mode, file, batch] = process.argv.slice(2);
if (mode !== 'infer' || !file) {
  process.stderr.write('usage: big-child.js infer MODEL BATCH\n');
  process.exit(2);
}
runChildMain(() => infer(file, Number(batch ?? 8)));

// The fixed, seeded fuzz budget of `npm test`: every target, a few hundred inputs each (see
// FUZZING.md). `npm run fuzz` runs the long budget.
import * as assert from 'assert';
import { runTarget } from './harness';
import { TARGET_NAMES } from './targets';

const SEED = 20261203;
// In-memory targets are cheap; the file readers write a file per input.
const RUNS: Record<string, number> = { 'onnx-model': 1000, 'quant-report': 1000, 'webview-messages': 2000 };
const DEFAULT_RUNS = 300;

describe('fuzz (seeded budget)', function () {
  this.timeout(120_000);
  for (const name of TARGET_NAMES) {
    it(`${name}: a value or a clean typed error for every input`, async () => {
      const runs = RUNS[name] ?? DEFAULT_RUNS;
      const o = await runTarget(name, { seed: SEED, runs });
      console.log(`      ${name}: ${o.runs} inputs tried`);
      assert.strictEqual(o.failure, undefined, o.failure);
      assert.strictEqual(o.runs, runs);
    });
  }
});

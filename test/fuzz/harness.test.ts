// The harness itself: a hang, a runaway heap and an exception outside the allowed classes are
// each reported as a failure that names how to replay the input, and the run goes on.
import * as assert from 'assert';
import { runTarget } from './harness';

describe('fuzz harness', function () {
  this.timeout(60_000);

  it('reports a hang (the watchdog ends the worker) with the input that hung', async () => {
    const o = await runTarget('selftest-hang', { seed: 1, runs: 50, stallMs: 1500 });
    assert.match(o.failure ?? '', /no progress for 1.5 s \(a hang\) at input 5 of seed 1; replay: FUZZ_TARGET=selftest-hang FUZZ_SEED=1 FUZZ_PATH=5/);
  });

  it('reports a heap past its cap (the worker dies) with the input that grew it', async () => {
    const o = await runTarget('selftest-heap', { seed: 1, runs: 50 });
    assert.match(o.failure ?? '', /the worker (died|exited).* at input 5 of seed 1/);
  });

  it('reports an exception outside the allowed classes with the shrunk counterexample', async () => {
    const o = await runTarget('selftest-throw', { seed: 1, runs: 200 });
    assert.match(o.failure ?? '', /not a clean error: TypeError: input 501 is not allowed/);
    assert.match(o.failure ?? '', /counterexample \(\d+ shrinks.*\): 501\n/);
    assert.match(o.failure ?? '', /replay: FUZZ_TARGET=selftest-throw FUZZ_SEED=1 FUZZ_PATH=\S+ npm run fuzz/);
  });
});

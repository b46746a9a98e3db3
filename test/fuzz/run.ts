// `npm run fuzz`: the long budget. Every target (or FUZZ_TARGET=a,b) runs for FUZZ_SECONDS
// (default 30) from a fresh seed (or FUZZ_SEED), and the inputs tried are printed per target.
// FUZZ_PATH with FUZZ_SEED and one FUZZ_TARGET replays a reported input.
import { budgetFromEnv, runTarget } from './harness';
import { TARGET_NAMES } from './targets';

async function main(): Promise<number> {
  const names = process.env.FUZZ_TARGET ? process.env.FUZZ_TARGET.split(',') : TARGET_NAMES;
  const budget = budgetFromEnv({ seed: Math.floor(Math.random() * 2 ** 31), runs: 1e9, seconds: 30 });
  console.log(`fuzzing ${names.length} target(s), seed ${budget.seed}, ${budget.path ? `replaying ${budget.path}` : `${budget.seconds} s each`}`);
  let failed = 0;
  for (const name of names) {
    const o = await runTarget(name, budget);
    console.log(`${name.padEnd(18)} ${String(o.runs).padStart(9)} inputs  ${o.failure ? 'FAILED' : 'ok'}`);
    if (o.failure) {
      failed++;
      console.log(o.failure.replace(/^/gm, '    '));
    }
  }
  return failed ? 1 : 0;
}

main().then((code) => {
  process.exitCode = code;
});

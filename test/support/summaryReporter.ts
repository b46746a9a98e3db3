// Mocha's spec reporter plus the closing line CI reads: `N passed, N failed`. A run that
// executed no test fails: a suite that silently found nothing must not look green.
import * as Mocha from 'mocha';

const { EVENT_RUN_END } = Mocha.Runner.constants;

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner: Mocha.Runner, options?: Mocha.MochaOptions) {
    super(runner, options);
    runner.once(EVENT_RUN_END, () => {
      const s = runner.stats ?? { passes: 0, failures: 0, pending: 0 };
      const skipped = s.pending ? `, ${s.pending} skipped` : '';
      console.log(`\n${s.passes} passed, ${s.failures} failed${skipped}`);
      if (s.passes + s.failures === 0) {
        console.log('no test ran');
        process.exitCode = 1;
      }
    });
  }
}

export = SummaryReporter;

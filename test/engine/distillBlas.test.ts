// The trainer's start-up BLAS measurement as the user reads it: the figure in the report and the
// log, and a slow BLAS's warning (forced here through the trainer's threshold variable, so the test
// holds whatever BLAS this machine has) in metrics.jsonl, the log and the report's warnings.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import type { DistillEvent, WarningEvent } from '../../src/shared/distillRun';
import { distillAndVerify } from '../../src/core/workflows/distillAndVerify';
import { TempDirs } from '../support/helpers';
import { writeSpec } from '../fixtures/distill/support';

const PYTHON = process.env.ONNX_COMPRESS_PYTHON || '/usr/bin/python3';
const THRESHOLD_ENV = 'ONNX_COMPRESS_MIN_BLAS_GFLOPS';

describe('distillation runs: the BLAS speed the trainer measured', function () {
  this.timeout(300000);
  const temp = new TempDirs('distill-blas-');
  const saved = process.env[THRESHOLD_ENV];
  after(() => {
    temp.cleanup();
    if (saved === undefined) delete process.env[THRESHOLD_ENV];
    else process.env[THRESHOLD_ENV] = saved;
  });

  it('reports the figure, and a BLAS below the threshold as a warning with the fix in the stream, the log and the report', async () => {
    process.env[THRESHOLD_ENV] = '1e12';
    const dir = temp.make();
    const spec = writeSpec(dir, (s) => {
      s.data.train.samples = 256;
      s.data.eval = { ...s.data.eval!, samples: 128 };
      s.evaluation = { latencyRuns: 3 };
    });
    const runDir = path.join(dir, 'run');
    const events: DistillEvent[] = [];
    const report = await distillAndVerify(spec, { runDir, python: PYTHON, onEvent: (e) => events.push(e) });
    assert.strictEqual(report.status, 'completed', report.message ?? '');

    const gflops = report.trainer.blasGflops!;
    assert.ok(typeof gflops === 'number' && gflops > 0, String(gflops));
    const start = events.find((e) => e.event === 'start');
    assert.strictEqual(start?.event === 'start' && start.blasGflops, gflops);

    const warnings = events.filter((e): e is WarningEvent => e.event === 'warning');
    assert.strictEqual(warnings.length, 1, JSON.stringify(warnings));
    assert.ok(warnings[0].message.startsWith(`matrix products on the CPU run at ${gflops.toFixed(1)} GFLOP/s (below 1e+12)`), warnings[0].message);
    assert.match(warnings[0].hint ?? '', /apt-get install libopenblas0-pthread/);
    const text = `${warnings[0].message}; ${warnings[0].hint}`;
    assert.deepStrictEqual(report.warnings, [text]);

    const metrics = fs
      .readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepStrictEqual(
      metrics.filter((e) => e.event === 'warning'),
      warnings,
    );
    const log = fs.readFileSync(path.join(runDir, 'log.txt'), 'utf8');
    assert.ok(log.includes(`warning: ${text}`), log);
    assert.ok(log.includes(`trainer: CPU matrix products at ${gflops.toFixed(1)} GFLOP/s`), log);
    assert.deepStrictEqual(JSON.parse(fs.readFileSync(path.join(runDir, 'report.json'), 'utf8')).warnings, [text]);
  });
});

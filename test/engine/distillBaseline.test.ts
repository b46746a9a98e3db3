// The labels-only baseline with the real trainer: the same fresh student trained on the labels
// alone, verified in onnxruntime-node on the same samples, and KD's gain reported per epoch and
// verified; a baseline without labels is refused before anything runs.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import type { DistillEvent, DistillRunReport } from '../../src/shared/distillRun';
import { validateSpec } from '../../src/core/distill/validate';
import { distillAndVerify } from '../../src/core/workflows/distillAndVerify';
import { formatReport } from '../../src/cli/distill';
import { TempDirs } from '../support/helpers';
import { freshStudent, writeSpec } from '../fixtures/distill/support';

const PYTHON = process.env.ONNX_COMPRESS_PYTHON || '/usr/bin/python3';

const lines = (file: string): DistillEvent[] =>
  fs
    .readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

describe('distillation: the labels-only baseline', function () {
  this.timeout(600000);
  const temp = new TempDirs('distill-baseline-');
  after(() => temp.cleanup());

  it('--baseline trains the same student on labels alone and reports KD against it, per epoch and verified', async () => {
    const dir = temp.make();
    const student = await freshStudent(path.join(dir, 'student.onnx'));
    const spec = writeSpec(dir, (s) => {
      s.student = { model: student, output: 'logits' };
      s.data.train.samples = 3000;
      s.data.eval = { ...s.data.eval!, samples: 2000 };
      s.epochs = 2;
    });
    const events: DistillEvent[] = [];
    const runDir = path.join(dir, 'run');
    const report = await distillAndVerify(spec, { runDir, python: PYTHON, baseline: true, onEvent: (e) => events.push(e) });
    assert.strictEqual(report.status, 'completed', `${report.message}\n${fs.readFileSync(path.join(runDir, 'log.txt'), 'utf8')}`);
    const b = report.baseline!;
    assert.strictEqual(b.status, 'completed', b.message ?? '');
    assert.strictEqual(b.runDir, path.join(runDir, 'baseline'));

    // The baseline trained on the cross-entropy alone, from the same initial student, for the same epochs.
    const trained = lines(path.join(b.runDir, 'metrics.jsonl')).filter((e) => e.event === 'step');
    assert.ok(trained.length > 0);
    for (const e of trained) if (e.event === 'step') assert.deepStrictEqual(Object.keys(e.terms), ['ce']);
    const kdTerms = lines(path.join(runDir, 'metrics.jsonl')).find((e) => e.event === 'step');
    assert.ok(kdTerms?.event === 'step' && 'kd' in kdTerms.terms, 'the distilled run trained with KD');
    assert.strictEqual(b.epochs.length, 2);
    const ownReport = JSON.parse(fs.readFileSync(path.join(b.runDir, 'report.json'), 'utf8')) as DistillRunReport;
    assert.strictEqual(ownReport.settings!.knowledge.length, 1);
    assert.deepStrictEqual(ownReport.settings!.knowledge[0], { type: 'response', weight: 1, temperature: 1, alpha: 1, target: 'soft' });
    assert.strictEqual(ownReport.settings!.seed, report.settings!.seed);
    assert.strictEqual(ownReport.settings!.data.train.samples, 3000);

    // Two different students, both verified on the same samples; the gain is their difference.
    assert.ok(!fs.readFileSync(b.student!).equals(fs.readFileSync(report.paths.student!)), 'the baseline is its own student');
    assert.strictEqual(b.verification!.samples, report.verification!.samples);
    assert.ok(b.verification!.accuracy! > 0.5, `a trained baseline: ${b.verification!.accuracy}`);
    assert.strictEqual(b.gain, report.verification!.accuracy! - b.verification!.accuracy!);

    // Per epoch: both accuracies, from each run's own evaluation; and one event per baseline epoch in the main stream.
    assert.deepStrictEqual(
      b.perEpoch.map((p) => p.epoch),
      [1, 2],
    );
    for (const p of b.perEpoch) {
      assert.strictEqual(p.kd, report.epochs.find((e) => e.epoch === p.epoch)!.accuracy);
      assert.strictEqual(p.baseline, b.epochs.find((e) => e.epoch === p.epoch)!.accuracy);
      assert.strictEqual(p.gain, p.kd! - p.baseline!);
    }
    const said = events.filter((e) => e.event === 'baseline');
    assert.deepStrictEqual(
      said.map((e) => e.event === 'baseline' && [e.epoch, e.gain]),
      b.perEpoch.map((p) => [p.epoch, p.gain]),
    );
    assert.ok(events.some((e) => e.event === 'phase' && e.phase === 'baseline'));
    // The spec copy records that the baseline ran, and the summary says it in words.
    assert.strictEqual((JSON.parse(fs.readFileSync(path.join(runDir, 'spec.distill.json'), 'utf8')) as { baseline?: boolean }).baseline, true);
    const text = formatReport(report);
    assert.match(text, new RegExp(`Baseline   labels only.*: KD (gains|loses) ${Math.abs(100 * b.gain!).toFixed(2)} points`));
  });

  it('a baseline without training labels is refused at validation, naming the field', async () => {
    const dir = temp.make();
    const spec = writeSpec(dir, (s) => {
      delete (s.data.train as { labels?: string }).labels;
      s.knowledge = [{ type: 'response', temperature: 4, alpha: 0, target: 'soft' }];
    });
    assert.strictEqual((await validateSpec(spec)).ok, true, 'pure KD needs no labels');
    const v = await validateSpec(spec, { baseline: true });
    assert.strictEqual(v.ok, false);
    const problem = v.problems.find((p) => p.severity === 'error');
    assert.strictEqual(problem?.path, 'data.train.labels');
    assert.match(problem!.message, /labels-only baseline .* there are none: give data.train.labels, or drop the baseline/);
  });
});

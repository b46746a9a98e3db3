// The KD sweep with the real trainer: one run folder per setting plus a labels-only reference,
// the best setting (by verified accuracy) written back into the spec; a cancelled sweep leaves the
// spec alone; specs the sweep cannot pick on are refused.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import type { DistillSpec } from '../../src/shared/distillSpec';
import { listRuns } from '../../src/core/distill/runs';
import { sweepDistill, type SweepResult } from '../../src/core/workflows/sweepDistill';
import { formatSweep } from '../../src/cli/distill';
import { TempDirs } from '../support/helpers';
import { freshStudent, writeSpec } from '../fixtures/distill/support';

const PYTHON = process.env.ONNX_COMPRESS_PYTHON || '/usr/bin/python3';

describe('distillation: the KD sweep', function () {
  this.timeout(900000);
  const temp = new TempDirs('distill-sweep-');
  after(() => temp.cleanup());

  async function smallSpec(dir: string, edit: (s: DistillSpec) => void = () => undefined): Promise<string> {
    const student = await freshStudent(path.join(dir, 'student.onnx'));
    return writeSpec(
      dir,
      (s) => {
        s.student = { model: student, output: 'logits' };
        s.data.train.samples = 3000;
        s.data.eval = { ...s.data.eval!, samples: 2000 };
        edit(s);
      },
      'small.distill.json',
    );
  }

  it('trains labels-only and every (T, alpha) of the grid, lists each trial as a run, and writes the best setting into the spec', async () => {
    const dir = temp.make();
    const spec = await smallSpec(dir);
    const before = JSON.parse(fs.readFileSync(spec, 'utf8')) as DistillSpec;
    const seen: string[] = [];
    const r = await sweepDistill(spec, {
      python: PYTHON,
      grid: { temperatures: [4], alphas: [0.1, 0.9] },
      onTrial: (e) => seen.push(`${e.trial}/${e.trials} ${e.state}`),
    });
    assert.strictEqual(r.status, 'completed', JSON.stringify(r.trials));
    assert.deepStrictEqual(seen, ['1/3 start', '1/3 done', '2/3 start', '2/3 done', '3/3 start', '3/3 done']);
    assert.deepStrictEqual(
      r.trials.map((t) => t.setting),
      ['labels-only', { temperature: 4, alpha: 0.1, featureWeight: null }, { temperature: 4, alpha: 0.9, featureWeight: null }],
    );
    for (const t of r.trials) assert.ok(t.status === 'completed' && t.accuracy! > 0.5, JSON.stringify(t));
    // Each trial trained what it says: the labels-only run on CE alone, the others with the KD term and the spec's feature hint.
    const trialKnowledge = (t: SweepResult['trials'][number]) =>
      (JSON.parse(fs.readFileSync(path.join(t.runDir, 'spec.distill.json'), 'utf8')) as DistillSpec).knowledge!;
    assert.deepStrictEqual(trialKnowledge(r.trials[0]), [{ type: 'response', temperature: 1, alpha: 1, target: 'soft' }]);
    assert.deepStrictEqual(trialKnowledge(r.trials[2])[0], { type: 'response', temperature: 4, alpha: 0.9, target: 'soft' });
    assert.deepStrictEqual(trialKnowledge(r.trials[2])[1], before.knowledge![1]);

    const kd = r.trials.slice(1);
    const best = kd.reduce((a, t) => (t.accuracy! > a.accuracy! ? t : a));
    assert.strictEqual(r.best!.runDir, best.runDir);
    assert.strictEqual(r.gain, best.accuracy! - r.trials[0].accuracy!);
    // The spec: the best T and alpha, everything else as it was.
    const after = JSON.parse(fs.readFileSync(spec, 'utf8')) as DistillSpec;
    assert.strictEqual(r.writtenBack, true);
    const setting = r.best!.setting as { temperature: number; alpha: number };
    assert.deepStrictEqual(after.knowledge![0], { ...before.knowledge![0], temperature: setting.temperature, alpha: setting.alpha });
    assert.deepStrictEqual({ ...after, knowledge: null }, { ...before, knowledge: null });
    // Every trial is a run the Runs view lists; the summary is a file beside them.
    const listed = (await listRuns(path.join(dir, 'distill-runs'))).map((x) => x.runDir).sort();
    assert.deepStrictEqual(listed, r.trials.map((t) => t.runDir).sort());
    assert.deepStrictEqual(JSON.parse(fs.readFileSync(r.summaryFile, 'utf8')), JSON.parse(JSON.stringify(r)));
    assert.match(formatSweep(r), /Best {7}T 4, alpha 0\.(1|9): .* against .* labels only: KD (gains|loses)/);
  });

  it('a sweep cancelled after its first trial writes nothing into the spec', async () => {
    const dir = temp.make();
    const spec = await smallSpec(dir);
    const text = fs.readFileSync(spec, 'utf8');
    const controller = new AbortController();
    const r = await sweepDistill(spec, {
      python: PYTHON,
      grid: { temperatures: [4], alphas: [0.5] },
      signal: controller.signal,
      onTrial: (e) => e.state === 'done' && controller.abort(),
    });
    assert.strictEqual(r.status, 'cancelled');
    assert.strictEqual(r.trials.length, 1);
    assert.strictEqual(r.writtenBack, false);
    assert.strictEqual(fs.readFileSync(spec, 'utf8'), text);
    assert.match(formatSweep(r), /Spec {7}unchanged \(the sweep cancelled\)/);
  });

  it('refuses a spec without labelled evaluation data, or without a response term', async () => {
    const dir = temp.make();
    const noEval = await smallSpec(dir, (s) => delete (s.data as { eval?: unknown }).eval);
    await assert.rejects(sweepDistill(noEval, { python: PYTHON }), /small\.distill\.json: .*give data\.eval with labels/);
    const dir2 = temp.make();
    const noResponse = await smallSpec(dir2, (s) => (s.knowledge = s.knowledge!.filter((k) => k.type !== 'response')));
    await assert.rejects(sweepDistill(noResponse, { python: PYTHON }), /the spec has none: add \{"type": "response"\}/);
    assert.ok(!fs.existsSync(path.join(dir, 'distill-runs')) && !fs.existsSync(path.join(dir2, 'distill-runs')), 'a refused sweep starts no run');
  });
});

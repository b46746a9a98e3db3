// The distillation run view's plumbing that needs no VS Code (its messages: protocol.test.ts):
// spec problems find their place in the JSON text, and the view's progress model turns a real
// run's recorded events into steps, epochs and an ETA.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { jsonValueSpans, spanOf } from '../../src/extension/distill/jsonLocations';
import type { DistillEvent, StartEvent } from '../../src/shared/distillRun';
import { formatDuration, RunProgress } from '../../media/run/progress';
import { ROOT } from '../support/browser';

describe('JSON locations of spec problems', () => {
  const text = JSON.stringify(
    { teacher: { model: 't.onnx' }, knowledge: [{ type: 'response' }, { type: 'feature', pairs: [{ teacher: '/a', student: '/b' }] }] },
    null,
    2,
  );

  it('finds the value a path names, and the nearest parent of a missing field', () => {
    const spans = jsonValueSpans(text);
    const at = (p: string) => {
      const s = spanOf(spans, p)!;
      return text.slice(s.start, s.end);
    };
    assert.strictEqual(at('knowledge[1].pairs[0].teacher'), '"/a"');
    assert.strictEqual(at('teacher.model'), '"t.onnx"');
    assert.strictEqual(at('knowledge[0].temperature'), at('knowledge[0]'), 'a missing field is shown on its object');
    assert.strictEqual(at(''), text);
  });

  it('keeps what it found before a syntax error', () => {
    const spans = jsonValueSpans('{"teacher": {"model": "t.onnx"}, "student": ');
    assert.ok(spans.has('teacher.model'));
  });
});

describe('run progress from a recorded run', () => {
  const events = fs
    .readFileSync(path.join(ROOT, 'test', 'fixtures', 'distill', 'run.metrics.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as DistillEvent);
  const start = events.find((e): e is StartEvent => e.event === 'start')!;

  it('counts steps across epochs and brings the ETA to zero at the end', () => {
    const p = new RunProgress();
    const etas: number[] = [];
    for (const e of events) {
      p.ingest(e);
      const eta = p.etaSeconds();
      if (e.event === 'step' && eta !== null) etas.push(eta);
    }
    assert.strictEqual(p.stepsDone, start.epochs * start.stepsPerEpoch);
    assert.strictEqual(p.epochsDone, start.epochs);
    assert.strictEqual(p.etaSeconds(), 0);
    assert.ok(etas[0] > etas[etas.length - 1], 'the ETA falls as steps are done');
    assert.deepStrictEqual([...p.terms].sort(), Object.keys(start.losses).sort(), 'one curve per loss term, each with the formula the trainer announced');
  });

  it('formats durations', () => {
    assert.strictEqual(formatDuration(null), '—');
    assert.strictEqual(formatDuration(42.4), '42s');
    assert.strictEqual(formatDuration(125), '2m 05s');
    assert.strictEqual(formatDuration(3 * 3600 + 7 * 60), '3h 07m');
  });
});

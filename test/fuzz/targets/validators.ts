// The validators of documents read from disk: the quantization report (parseQuantReport) and the
// distillation spec (checkSpecStructure, and validateSpec on a spec file). A report is returned
// clean or refused with a QuantReportError; a spec's problems are returned as a list, and only an
// unreadable file throws (a SpecError).
import * as fs from 'fs';
import * as path from 'path';
import { OnnxCompressError } from '../../../src/core/errors';
import { checkSpecStructure } from '../../../src/core/distill/spec';
import { validateSpec } from '../../../src/core/distill/validate';
import { parseQuantReport, QuantReportError } from '../../../src/shared/quantReport';
import { reportFixture, keptInFloatFixture } from '../../support/reportFixture';
import { jsonLike } from '../jsonMutate';
import { InvariantViolation, expectClean, type FuzzTarget } from '../target';

const SPEC_FIXTURE = path.resolve(__dirname, '../../../../test/fixtures/distill/fashion-kd.distill.json');

export function quantReportTarget(): FuzzTarget<unknown> {
  const small = reportFixture({ layers: 3, sensitivity: true, seed: 5 });
  const seeds = [small, keptInFloatFixture(small, [small.layers[0].node])];
  return {
    arbitrary: jsonLike(seeds),
    async check(json) {
      await expectClean([QuantReportError], () => parseQuantReport(json));
    },
  };
}

/** A spec using the other branches: a PyTorch student, assistants, image preprocessing. */
const FACTORY_SPEC = {
  format: 'onnx-compress/distill-spec',
  version: 1,
  teacher: { model: 't.onnx', executionProvider: 'cpu' },
  student: { factory: 'student.py:build', inputNames: ['x'], output: 'logits' },
  data: {
    train: {
      source: 'imgs',
      labels: null,
      samples: null,
      imagePreprocess: { width: 32, height: 32, layout: 'NCHW', channels: 'RGB', mean: [0.5], std: [0.25], scale: 0.0039, resize: 'nearest' },
      augmentation: 'random',
    },
    eval: null,
  },
  knowledge: [
    { type: 'attention', p: 2, pairs: [{ teacher: 'a', student: 'b', adapter: 'conv1x1' }] },
    { type: 'relation', distance: 1, angle: 2, pair: { teacher: 'a', student: 'b' } },
    { type: 'similarity', pairs: [{ teacher: 'a', student: 'b' }] },
  ],
  scheme: { kind: 'assistant', mode: 'snapshot', every: 2, pairs: [{ teacher: 'a', student: 'b' }], assistants: [{ model: 'a.onnx', epochs: 1 }] },
  optimizer: { name: 'sgd', lr: 0.1, weightDecay: 0, momentum: 0.9 },
  schedule: { name: 'step', warmupEpochs: 1, stepSize: 2, gamma: 0.5 },
  epochs: 2,
  batchSize: 8,
  seed: 0,
  device: 'auto',
  threads: null,
  cache: { dir: 'c', dtype: 'float16', topK: 5 },
  export: { opset: 17, dynamicBatch: true },
  evaluation: { latencyRuns: 3 },
};

export function distillSpecTarget(): FuzzTarget<unknown> {
  const seeds = [JSON.parse(fs.readFileSync(SPEC_FIXTURE, 'utf8')), FACTORY_SPEC];
  return {
    arbitrary: jsonLike(seeds),
    async check(json, scratch) {
      const problems = await expectClean([], () => checkSpecStructure(json));
      if (!Array.isArray(problems)) throw new InvariantViolation(new Error('checkSpecStructure returned no list'));
      const file = path.join(scratch.fresh(), 'fuzz.distill.json');
      fs.writeFileSync(file, JSON.stringify(json) ?? '');
      await expectClean([OnnxCompressError], () => validateSpec(file, { structureOnly: true }));
    },
  };
}

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
/** A spec using the other branches: a PyTorch student, assistants, image preprocessing. */
const FACTORY_SPEC = path.resolve(__dirname, '../../../../test/fuzz/targets/factory.distill.json');

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

export function distillSpecTarget(): FuzzTarget<unknown> {
  const seeds = [SPEC_FIXTURE, FACTORY_SPEC].map((file) => JSON.parse(fs.readFileSync(file, 'utf8')));
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

// The optional `blocks` of a weight's report: kept when present, absent (not undefined) in reports
// written before it, a bad value named; and the words the CLI and the panel share for it.
import * as assert from 'assert';
import { formatRelativeError, formatWeightBlocks } from '../../src/shared/format';
import { parseQuantReport } from '../../src/shared/quantReport';
import { reportFixture } from '../support/reportFixture';

describe('weight report blocks', () => {
  it('parses with and without blocks, and names a bad one', () => {
    const old = JSON.parse(JSON.stringify(reportFixture({ layers: 6, sensitivity: false })));
    assert.ok(old.weights.length > 0);
    const parsed = parseQuantReport(old);
    assert.ok(
      parsed.weights.every((w) => !('blocks' in w)),
      'a report without blocks parses to weights without the key',
    );
    const blocks = { size: 32, count: 2048, meanRelative: 0.0815, maxRelative: 0.134 };
    const withBlocks = JSON.parse(JSON.stringify(old));
    withBlocks.weights[0].blocks = blocks;
    assert.deepStrictEqual(parseQuantReport(withBlocks).weights[0].blocks, blocks);
    withBlocks.weights[0].blocks = { ...blocks, meanRelative: 'high' };
    assert.throws(() => parseQuantReport(withBlocks), /weights\[0\]\.blocks\.meanRelative/);
  });

  it('formats block errors as percentages with three significant digits', () => {
    assert.deepStrictEqual([0, 0.00412, 0.0803, 0.214, 1.5].map(formatRelativeError), ['0%', '0.412%', '8.03%', '21.4%', '150%']);
    assert.deepStrictEqual(formatWeightBlocks('uint4', { size: 32, count: 1, meanRelative: 0.08, maxRelative: 0.1 }), {
      bits: '4 bits',
      layout: 'blocks of 32 (1 block)',
      error: '8.00% mean, 10.0% worst block',
    });
  });
});

// The note on which integer path a fused model takes, for CPUs with and without VNNI.
import * as assert from 'assert';
import { integerPathNote } from '../../src/core/runtime/cpu';

describe('integer path note per CPU', () => {
  const u8s8 = { activationType: 'uint8', weightType: 'int8', reduceRange: false } as const;
  it('without VNNI: full-range int8 weights saturate, 7-bit weights need no note', () => {
    assert.match(integerPathNote(false, u8s8)!, /no VNNI.*saturating 16-bit sums.*--reduce-range/);
    assert.strictEqual(integerPathNote(false, { ...u8s8, reduceRange: true }), null);
  });
  it('with VNNI: full range is exact here, and 7-bit weights only cost accuracy', () => {
    assert.match(integerPathNote(true, u8s8)!, /has VNNI.*exactly here.*AVX2 alone saturates.*--reduce-range/);
    assert.match(integerPathNote(true, { ...u8s8, reduceRange: true })!, /do not saturate.*only cost accuracy/);
  });
  it('says nothing for other types or an unknown CPU', () => {
    assert.strictEqual(integerPathNote(undefined, u8s8), null);
    assert.strictEqual(integerPathNote(true, { ...u8s8, weightType: 'uint8' }), null);
    assert.strictEqual(integerPathNote(false, { ...u8s8, activationType: 'int8' }), null);
  });
});

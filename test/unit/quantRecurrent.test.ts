// Nodes whose output reaches a recurrent op unchanged stay in float (the recurrence accumulates
// the rounding of its input); the rest of the graph is quantized as before.
import * as assert from 'assert';
import { DataType } from '../../src/core/onnx/dataTypes';
import { decodeModel } from '../../src/core/onnx/model';
import { planQuantization } from '../../src/core/quant/plan';
import { resolveSettings } from '../../src/core/quant/settings';
import { GraphBuilder, modelBytes } from '../fixtures/builder';

function lstmModel() {
  // x -> MatMul -> Relu -> Transpose -> LSTM, and x -> MatMul_side -> side (no recurrence).
  const g = new GraphBuilder('rnn')
    .input('x', DataType.FLOAT, [1, 5, 8])
    .initializer(
      'w',
      DataType.FLOAT,
      [8, 8],
      Float32Array.from({ length: 64 }, (_, i) => (i % 7) / 7 - 0.5),
    )
    .initializer(
      'w2',
      DataType.FLOAT,
      [8, 4],
      Float32Array.from({ length: 32 }, (_, i) => (i % 5) / 5 - 0.5),
    )
    .initializer('W', DataType.FLOAT, [1, 16, 8], new Float32Array(128).fill(0.1))
    .initializer('R', DataType.FLOAT, [1, 16, 4], new Float32Array(64).fill(0.1))
    .node('MatMul', ['x', 'w'], ['h'], {}, { name: 'proj' })
    .node('Relu', ['h'], ['r'], {}, { name: 'act' })
    .node('Transpose', ['r'], ['seq'], { perm: [1, 0, 2] }, { name: 'tr' })
    .node('LSTM', ['seq', 'W', 'R'], ['y'], { hidden_size: 4 }, { name: 'lstm' })
    .node('MatMul', ['x', 'w2'], ['side'], {}, { name: 'side' })
    .output('y', DataType.FLOAT, null)
    .output('side', DataType.FLOAT, null);
  return decodeModel(modelBytes(g, { opset: 13 }));
}

describe('quantization plan before a recurrent op', () => {
  it('keeps in float the nodes whose output reaches the LSTM through data movement, and says why', () => {
    const plan = planQuantization(lstmModel(), resolveSettings({ mode: 'static', calibration: 'synthetic' }));
    const decision = (n: string) => plan.decisions.find((d) => d.node === n)!;
    for (const n of ['proj', 'act', 'tr']) {
      assert.strictEqual(decision(n).quantized, false, n);
      assert.match(decision(n).reason, /reaches a recurrent op/);
    }
    assert.strictEqual(decision('side').quantized, true, 'a MatMul that does not feed the LSTM is quantized');
    assert.deepStrictEqual(
      plan.nodes.map((p) => p.name),
      ['side'],
    );
    assert.strictEqual(plan.warnings.length, 1);
    assert.match(plan.warnings[0], /feeds a recurrent op.*proj, act, tr/);
  });

  it('quantizes them all the same when the include list names them', () => {
    const plan = planQuantization(lstmModel(), resolveSettings({ mode: 'static', calibration: 'synthetic', include: ['proj', 'side'] }));
    assert.deepStrictEqual(
      plan.nodes.map((p) => p.name),
      ['proj', 'side'],
    );
    assert.deepStrictEqual(plan.warnings, []);
  });
});

// calibrate() itself: which tensors it observes, that ranges computed inside the graph equal the
// collectors' own on the values, and that a batch with NaN/±Inf falls back to the values.
import * as assert from 'assert';
import * as path from 'path';
import { openDataSource, type DataSource } from '../../src/core/data';
import { DataType } from '../../src/core/onnx/dataTypes';
import { decodeModel } from '../../src/core/onnx/model';
import { readModelSync } from '../support/helpers';
import { calibrate } from '../../src/core/quant/calibrate';
import { createCollector } from '../../src/core/quant/collectors';
import { calibrationTargets, planQuantization } from '../../src/core/quant/plan';
import { resolveSettings } from '../../src/core/quant/settings';
import { createSession, ort } from '../../src/core/runtime/session';
import type { CalibrationMethodName } from '../../src/shared/quantResult';
import { GraphBuilder, modelBytes } from '../fixtures/builder';
import { FIXTURES } from '../support/evaluate';

/** Fixed batches, the same on every pass. */
function fixedData(batches: Array<Record<string, ort.Tensor>>): DataSource {
  return {
    describe: () => 'fixed test batches',
    async *batches() {
      yield* batches;
    },
  };
}

describe('calibrate()', function () {
  this.timeout(120000);
  const file = path.join(FIXTURES, 'fashion_cnn.onnx');

  it('observes only the tensors whose range it must measure', () => {
    const model = readModelSync(file);
    const plan = planQuantization(model, resolveSettings({ mode: 'static', calibration: 'synthetic' }));
    const targets = calibrationTargets(plan);
    const producer = new Map(model.proto.graph!.node.flatMap((n) => n.output.map((o) => [o, n.op_type] as const)));
    const derived = plan.activations.filter((t) => !targets.includes(t));
    assert.ok(derived.length > 0, 'fashion_cnn has Conv outputs fused with Relu and MaxPool outputs');
    for (const t of derived) {
      const source = plan.fusedActivationRanges.get(t) ?? plan.sharedParams.get(t);
      assert.ok(source && plan.activations.includes(source), `${t} takes its parameters from a planned tensor`);
    }
    const ops = new Set(derived.map((t) => producer.get(t)));
    assert.ok(ops.has('Conv'), 'a Conv output fused with its Relu is not observed');
    assert.ok(ops.has('MaxPool'), 'a MaxPool output keeps its input parameters and is not observed');
  });

  for (const method of ['minmax', 'percentile', 'mse'] as CalibrationMethodName[]) {
    it(`${method}: ranges from in-graph extremes equal the collector fed every value`, async () => {
      const model = readModelSync(file);
      const settings = resolveSettings({ mode: 'static', calibration: 'synthetic:24', method, batchSize: 8, symmetricActivations: method === 'mse' });
      const data = await openDataSource(settings.calibration, model);
      const tensors = calibrationTargets(planQuantization(model, settings));
      const got = await calibrate(model, tensors, data, settings);
      // The reference: the same collectors fed the full tensors, fetched as plain outputs.
      const graph = model.proto.graph!;
      const extra = tensors.filter((t) => !graph.output.some((o) => o.name === t) && !graph.input.some((i) => i.name === t));
      for (const t of extra) graph.output.push({ name: t, type: { tensor_type: { elem_type: DataType.FLOAT } } } as never);
      const session = await createSession(model);
      graph.output.length -= extra.length;
      const collectors = new Map(
        tensors.map((t) => [t, createCollector({ method, symmetric: settings.symmetricActivations, percentile: settings.percentile, targetBits: 8 })]),
      );
      const passes = [...collectors.values()][0].passes;
      for (let pass = 0; pass < passes; pass++) {
        for await (const feeds of data.batches({ batchSize: 8 })) {
          const out = await session.run(feeds);
          for (const [t, c] of collectors) c.add((out[t] ?? feeds[t]).data as Float32Array, pass);
        }
      }
      await session.release();
      for (const [t, c] of collectors) {
        const want = c.range();
        const have = got.ranges.get(t)!;
        assert.deepStrictEqual([have.rmin, have.rmax], [want.rmin, want.rmax], `${method} range of ${t}`);
      }
      assert.strictEqual(got.samples, 24);
    });
  }

  it('falls back to the values for a batch whose extremes are not finite, and says what it ignored', async () => {
    // y = Log(x): x = 0 gives -Inf, x < 0 gives NaN.
    const g = new GraphBuilder('log')
      .input('x', DataType.FLOAT, ['N', 4])
      .node('Log', ['x'], ['y'])
      .node('Relu', ['y'], ['z'])
      .output('z', DataType.FLOAT, ['N', 4]);
    const model = decodeModel(modelBytes(g, { opset: 13 }));
    const t = (v: number[]) => ({ x: new ort.Tensor('float32', Float32Array.from(v), [v.length / 4, 4]) });
    const data = fixedData([t([1, 2, 4, 8]), t([0, 0.5, 1, 2, -1, 1, 1, 1])]);
    for (const method of ['minmax', 'percentile'] as CalibrationMethodName[]) {
      const r = await calibrate(model, ['y'], data, resolveSettings({ mode: 'static', calibration: 'x', method, percentile: 100 }));
      const y = r.ranges.get('y')!;
      assert.deepStrictEqual([y.rmin, y.rmax], [Math.fround(Math.log(0.5)), Math.fround(Math.log(8))], method);
      assert.match(y.note ?? '', /ignored 2 non-finite values \(1 NaN, 1 ±Inf\)/, method);
    }
  });
});

import * as assert from 'assert';
import { decodeModel } from '../../src/core/onnx/model';
import { DataType } from '../../src/core/onnx/dataTypes';
import { createSession, ort } from '../../src/core/runtime/session';
import { GraphBuilder, modelBytes } from '../fixtures/builder';

describe('test model builder', () => {
  it('builds a model that onnxruntime runs', async () => {
    const g = new GraphBuilder('mm')
      .input('x', DataType.FLOAT, ['N', 4])
      .initializer('w', DataType.FLOAT, [4, 2], new Float32Array(8).fill(0.5))
      .node('MatMul', ['x', 'w'], ['y'])
      .output('y', DataType.FLOAT, ['N', 2]);
    const model = decodeModel(modelBytes(g));
    const session = await createSession(model);
    const r = await session.run({ x: new ort.Tensor('float32', new Float32Array([1, 2, 3, 4]), [1, 4]) });
    assert.deepStrictEqual(Array.from(r.y.data as Float32Array), [5, 5]);
    await session.release();
  });
});

// graph.json always records the model's real default-domain opset under '': the trainer refuses a
// graph without one rather than guess, since operators changed meaning between opsets.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { exportTrainableGraph, TrainableGraphError } from '../../src/core/distill/trainableGraph';
import { createMessage, encodeMessage } from '../../src/core/onnx/codec';
import { DataType } from '../../src/core/onnx/dataTypes';
import type { ModelProto, OperatorSetIdProto } from '../../src/core/onnx/types';
import { buildModel, GraphBuilder, type ModelOptions } from '../fixtures/builder';
import { TempDirs } from '../support/helpers';

const temp = new TempDirs('distill-opset-');

/** A small model file whose opset imports are as given (default: the builder's). */
function softmaxModel(options: ModelOptions, imports?: Array<{ domain: string; version: number }>): string {
  const g = new GraphBuilder()
    .input('x', DataType.FLOAT, ['N', 4])
    .initializer('w', DataType.FLOAT, [4, 4], new Float32Array(16).fill(0.5))
    .node('MatMul', ['x', 'w'], ['h'])
    .node('Softmax', ['h'], ['y'])
    .output('y', DataType.FLOAT, ['N', 4]);
  const proto: ModelProto = buildModel(g, options);
  if (imports) proto.opset_import = imports.map((o) => createMessage<OperatorSetIdProto>('OperatorSetIdProto', o));
  const file = path.join(temp.make(), 'softmax.onnx');
  fs.writeFileSync(file, encodeMessage('ModelProto', proto));
  return file;
}

describe('distillation engine: the opset graph.json records', () => {
  after(() => temp.cleanup());

  const opsetsWritten = async (model: string) => {
    const dir = temp.make();
    const r = await exportTrainableGraph(model, dir);
    const onDisk = JSON.parse(fs.readFileSync(path.join(dir, 'graph.json'), 'utf8')).opsets;
    assert.deepStrictEqual(onDisk, r.graph.opsets);
    return onDisk as Record<string, number>;
  };

  it("is the model's own default-domain opset, with the other domains kept", async () => {
    assert.deepStrictEqual(await opsetsWritten(softmaxModel({ opset: 11, opsets: { 'com.microsoft': 1 } })), { '': 11, 'com.microsoft': 1 });
  });

  it('is recorded under "" when the model names the default domain "ai.onnx"', async () => {
    assert.deepStrictEqual(await opsetsWritten(softmaxModel({ irVersion: 7 }, [{ domain: 'ai.onnx', version: 9 }])), { '': 9 });
  });

  it('is opset 1 for a model of IR version 1 or 2 that imports none, as ONNX defines', async () => {
    assert.deepStrictEqual(await opsetsWritten(softmaxModel({ irVersion: 2 }, [])), { '': 1 });
  });

  it('refuses a model of IR 3 or later that imports no default-domain opset, naming the model and the fix', async () => {
    const model = softmaxModel({ irVersion: 8 }, [{ domain: 'com.microsoft', version: 1 }]);
    await assert.rejects(exportTrainableGraph(model, temp.make()), (e: Error) => {
      assert.ok(e instanceof TrainableGraphError, String(e));
      assert.match(e.message, /^\/.+\/softmax\.onnx: the model imports no opset for the default ONNX domain \(IR 8\).*re-export it with its opset recorded$/);
      assert.ok(!e.message.includes('\n'));
      return true;
    });
  });
});

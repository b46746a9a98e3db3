// The shapes a probe run learns for models with symbolic input dims: an image model probed with
// 1x1 images shows shapes nobody would see (or fails), so the probe guesses image sizes, and a
// model no guess can run says which input needs a size.
import * as assert from 'assert';
import { nodeList } from '../../src/core/onnx/inspect';
import { decodeModel } from '../../src/core/onnx/model';
import { DataType } from '../../src/core/onnx/dataTypes';
import { GraphBuilder, modelBytes } from '../fixtures/builder';

const outputShape = (list: Awaited<ReturnType<typeof nodeList>>, node: string) => list.nodes.find((n) => n.name === node)!.outputs[0].shape;

/** x [batch, 3, H, W] -> Conv 7x7 stride 2 (no padding: a 1x1 image is too small) -> Relu -> y. */
function imageModel(): GraphBuilder {
  return new GraphBuilder('image')
    .input('x', DataType.FLOAT, ['batch', 3, 'H', 'W'])
    .initializer('w', DataType.FLOAT, [8, 3, 7, 7], new Float32Array(8 * 3 * 7 * 7).fill(0.01))
    .node('Conv', ['x', 'w'], ['c'], { kernel_shape: [7, 7], strides: [2, 2] }, { name: 'stem' })
    .node('Relu', ['c'], ['y'], {}, { name: 'act' })
    .output('y', DataType.FLOAT, ['batch', 8, 'h2', 'w2']);
}

/** x [batch, n] -> Reshape to [1, 2, 3]: only n = 6 runs, which nothing in the model says. */
function reshapeModel(): GraphBuilder {
  return new GraphBuilder('reshape')
    .input('x', DataType.FLOAT, ['batch', 'n'])
    .initializer('to', DataType.INT64, [3], BigInt64Array.of(1n, 2n, 3n))
    .node('Reshape', ['x', 'to'], ['r'], {}, { name: 'fold' })
    .node('Relu', ['r'], ['y'], {}, { name: 'act' })
    .output('y', DataType.FLOAT, null);
}

describe('probe run: input sizes for symbolic dims', function () {
  it('probes an image model with batch 1 and 224x224 images, not 1x1', async () => {
    const list = await nodeList(decodeModel(modelBytes(imageModel())));
    assert.strictEqual(list.probeFailure, undefined, list.probeNote);
    assert.strictEqual(list.shapeSource, 'value_info+probe');
    // (224 - 7) / 2 + 1 = 109
    assert.deepStrictEqual(outputShape(list, 'stem'), [1, 8, 109, 109]);
    assert.match(list.probeNote!, /x=\[1,3,224,224\]/);
  });

  it('takes the sizes it is given over the guess', async () => {
    const list = await nodeList(decodeModel(modelBytes(imageModel())), { inputShapes: { x: [2, 3, 64, 32] } });
    assert.deepStrictEqual(outputShape(list, 'stem'), [2, 8, 29, 13]);
  });

  it('a model no guess runs: one sentence naming the input and the dim, no onnxruntime words', async () => {
    const list = await nodeList(decodeModel(modelBytes(reshapeModel())));
    assert.ok(list.probeFailure, `the probe was expected to fail: ${list.probeNote}`);
    assert.strictEqual(list.probeFailure.sizes, true);
    assert.strictEqual(
      list.probeFailure.sentence,
      "Shapes could not be probed: input 'x' needs a concrete size for 'n' (tried x=[1,1], which the Reshape node 'fold' refused).",
    );
    // The full message (for the CLI and the log) still has onnxruntime's reason and the CLI's way out.
    assert.match(list.probeNote!, /^no probe run: .*x=\[1,1\].*--input-shape/s);

    const sized = await nodeList(decodeModel(modelBytes(reshapeModel())), { inputShapes: { x: [1, 6] } });
    assert.strictEqual(sized.probeFailure, undefined, sized.probeNote);
    assert.deepStrictEqual(outputShape(sized, 'act'), [1, 2, 3]);

    const wrong = await nodeList(decodeModel(modelBytes(reshapeModel())), { inputShapes: { x: [1, 5] } });
    assert.strictEqual(wrong.probeFailure?.sentence, "Shapes could not be probed with the input sizes x=[1,5]: the Reshape node 'fold' refused them.");
  });

  it('a model onnxruntime cannot load: a sentence that does not offer input sizes', async () => {
    const model = decodeModel(
      modelBytes(
        new GraphBuilder('g')
          .input('x', DataType.FLOAT, ['n'])
          .node('Frobnicate', ['x'], ['f'], {}, { name: 'frob' })
          .node('Relu', ['f'], ['y'])
          .output('y', DataType.FLOAT, null),
      ),
    );
    const list = await nodeList(model);
    assert.deepStrictEqual(list.probeFailure, { sentence: 'Shapes could not be probed: onnxruntime cannot load this model.', sizes: false });
    assert.match(list.probeNote!, /Frobnicate/);
  });
});

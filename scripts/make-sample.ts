// Writes samples/sample-cnn.onnx: a small image classifier (28x28 grey input, 10 classes) with
// seeded weights, for the README's first command. Its intermediate shapes are left undeclared,
// so `inspect --nodes` shows a probe run at work.
import * as fs from 'fs';
import * as path from 'path';
import { DataType } from '../src/core/onnx/dataTypes';
import { seededRandom } from '../src/core/random';
import { decodeModel } from '../src/core/onnx/model';
import { writeModel } from '../src/core/onnx/write';
import { encodeMessage } from '../src/core/onnx/codec';
import { GraphBuilder, buildModel } from '../test/fixtures/builder';

function weights(n: number, scale: number, rand: () => number): Float32Array {
  return Float32Array.from({ length: n }, () => rand() * scale);
}

export async function makeSample(out: string): Promise<void> {
  const uniform = seededRandom(7);
  const r = () => uniform() * 2 - 1;
  const g = new GraphBuilder('sample_cnn')
    .input('image', DataType.FLOAT, ['batch', 1, 28, 28])
    .initializer('conv1.weight', DataType.FLOAT, [8, 1, 3, 3], weights(72, 0.5, r))
    .initializer('conv1.bias', DataType.FLOAT, [8], weights(8, 0.1, r))
    .node('Conv', ['image', 'conv1.weight', 'conv1.bias'], ['conv1'], { pads: [1, 1, 1, 1] }, { name: '/features/conv1/Conv' })
    .node('Relu', ['conv1'], ['relu1'], {}, { name: '/features/relu1/Relu' })
    .node('MaxPool', ['relu1'], ['pool1'], { kernel_shape: [2, 2], strides: [2, 2] }, { name: '/features/pool1/MaxPool' })
    .initializer('conv2.weight', DataType.FLOAT, [16, 8, 3, 3], weights(1152, 0.2, r))
    .initializer('conv2.bias', DataType.FLOAT, [16], weights(16, 0.1, r))
    .node('Conv', ['pool1', 'conv2.weight', 'conv2.bias'], ['conv2'], { pads: [1, 1, 1, 1] }, { name: '/features/conv2/Conv' })
    .node('Relu', ['conv2'], ['relu2'], {}, { name: '/features/relu2/Relu' })
    .node('GlobalAveragePool', ['relu2'], ['gap'], {}, { name: '/head/gap/GlobalAveragePool' })
    .node('Flatten', ['gap'], ['flat'], {}, { name: '/head/Flatten' })
    .constant('fc.weight', DataType.FLOAT, [10, 16], weights(160, 0.3, r))
    .initializer('fc.bias', DataType.FLOAT, [10], weights(10, 0.05, r))
    .node('Gemm', ['flat', 'fc.weight', 'fc.bias'], ['logits'], { transB: 1 }, { name: '/head/fc/Gemm' })
    .node('Softmax', ['logits'], ['probabilities'], { axis: 1 }, { name: '/head/Softmax' })
    .output('probabilities', DataType.FLOAT, ['batch', 10]);
  const proto = buildModel(g, { opset: 13, producer: 'onnx-compress sample' });
  proto.metadata_props = [{ key: 'description', value: 'Seeded demo classifier for 28x28 images' }];
  fs.mkdirSync(path.dirname(out), { recursive: true });
  await writeModel(decodeModel(encodeMessage('ModelProto', proto)), out);
}

if (require.main === module) {
  const out = path.resolve(process.argv[2] ?? path.join(__dirname, '..', '..', 'samples', 'sample-cnn.onnx'));
  makeSample(out).then(
    () => console.log(`sample model: ${path.relative(process.cwd(), out)}\n`),
    (e) => {
      console.error(e);
      process.exitCode = 1;
    },
  );
}

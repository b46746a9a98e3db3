// The folder the integration tests open: a real model, the demo sample, a corrupt file, a
// model of 10,000 nodes (built in code, nothing committed), and a classifier with calibration data.
import * as fs from 'fs';
import * as path from 'path';
import { DataType } from '../../src/core/onnx/dataTypes';
import { GraphBuilder, modelBytes } from '../fixtures/builder';
import { realModel } from '../support/browser';
import { makeSample } from '../../scripts/make-sample';
import { FIXTURES, fashionTestSet } from '../support/evaluate';
import { writeNpy } from '../support/npyWriter';

/** The quantize flow's files: the Fashion-MNIST CNN and transformer, 128 real test images, and data for another model. */
function quantizeFiles(dir: string): void {
  fs.copyFileSync(path.join(FIXTURES, 'fashion_cnn.onnx'), path.join(dir, 'fashion-cnn.onnx'));
  fs.copyFileSync(path.join(FIXTURES, 'tiny_transformer.onnx'), path.join(dir, 'tiny-transformer.onnx'));
  const n = 128;
  writeNpy(path.join(dir, 'fashion-calib.npy'), '<f4', [n, 1, 28, 28], fashionTestSet().images.subarray(0, n * 784));
  writeNpy(path.join(dir, 'rgb-32.npy'), '<f4', [4, 3, 32, 32], new Float32Array(4 * 3 * 32 * 32).fill(0.5));
}

/** A chain of `count` nodes in scopes /block.N/layer.M/..., like large exported networks. */
export function chainModel(count: number): Uint8Array {
  const g = new GraphBuilder('chain').input('x', DataType.FLOAT, ['N', 16]).initializer('bias', DataType.FLOAT, [16], new Float32Array(16).fill(0.001));
  let prev = 'x';
  for (let i = 0; i < count; i++) {
    const out = i === count - 1 ? 'y' : `t${i}`;
    const op = i % 2 ? 'Relu' : 'Add';
    g.node(op, op === 'Add' ? [prev, 'bias'] : [prev], [out], {}, { name: `/block.${Math.floor(i / 100)}/layer.${i % 100}/${op}` });
    prev = out;
  }
  return modelBytes(g.output('y', DataType.FLOAT, ['N', 16]), { opset: 13 });
}

export async function prepareWorkspace(dir: string): Promise<string> {
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(realModel('ch_PP-OCRv4_det_infer.onnx'), path.join(dir, 'ocr-det.onnx'));
  await makeSample(path.join(dir, 'sample-cnn.onnx'));
  const good = fs.readFileSync(path.join(dir, 'sample-cnn.onnx'));
  fs.writeFileSync(path.join(dir, 'corrupt.onnx'), good.subarray(0, Math.floor(good.length / 2)));
  fs.writeFileSync(path.join(dir, 'chain-10k.onnx'), chainModel(10000));
  quantizeFiles(dir);
  return dir;
}

// The folder the integration tests open: a real model, the demo sample, a corrupt file and a
// model of 10,000 nodes (built in code, nothing committed).
import * as fs from 'fs';
import * as path from 'path';
import { DataType } from '../../src/core/onnx/dataTypes';
import { GraphBuilder, modelBytes } from '../fixtures/builder';
import { realModel } from '../support/browser';
import { makeSample } from '../../scripts/make-sample';

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
  return dir;
}

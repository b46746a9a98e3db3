// External data: a model whose tensors name data files by location, offset and length. Locations
// that escape the model's folder (`..`, absolute paths, links out, folders) must be refused with
// a TensorDataError, and no byte of the file outside the folder may ever be read.
import * as fc from 'fast-check';
import * as fs from 'fs';
import * as path from 'path';
import { OnnxCompressError } from '../../../src/core/errors';
import { DataType } from '../../../src/core/onnx/dataTypes';
import { readModel } from '../../../src/core/onnx/model';
import { summarizeModel } from '../../../src/core/onnx/summary';
import { readTensor } from '../../../src/core/onnx/tensor';
import { createMessage } from '../../../src/core/onnx/codec';
import { DATA_LOCATION_EXTERNAL, type TensorProto } from '../../../src/core/onnx/types';
import { isExternal } from '../../../src/core/onnx/externalData';
import { allTensors } from '../../../src/core/onnx/walk';
import { GraphBuilder, modelBytes } from '../../fixtures/builder';
import { InvariantViolation, expectClean, type FuzzTarget } from '../target';

/** A byte pattern only the file outside the model's folder holds. */
const SECRET = Buffer.from('SECRET-OUTSIDE-THE-MODEL-FOLDER!');
const ABS = '<abs>';

interface Ref {
  location: string;
  offset?: string;
  length?: string;
  dataType: number;
  dims: number[];
}

const location = fc.oneof(
  fc.constantFrom(
    'w.bin',
    './w.bin',
    'sub/../w.bin',
    '../secret.bin',
    '../../secret.bin',
    'link-out',
    'link-in',
    'link-dir/x.bin',
    'sub',
    'sub/',
    'missing.bin',
    '',
    '.',
    '..',
    'w.bin\0',
    `${ABS}/secret.bin`,
    `${ABS}/model/w.bin`,
    'w.bin/..',
    '%2e%2e/secret.bin',
    '..\\secret.bin',
  ),
  fc.string({ maxLength: 12 }),
);
const count = fc.oneof(
  fc.nat({ max: 80 }).map(String),
  fc.constantFrom('', '-1', '1.5', '1e3', '0x10', ' 4', '9007199254740993', '18446744073709551615', '00', 'NaN'),
  fc.string({ maxLength: 4 }),
);
const ref: fc.Arbitrary<Ref> = fc.record({
  location,
  offset: fc.option(count, { nil: undefined }),
  length: fc.option(count, { nil: undefined }),
  dataType: fc.constantFrom(DataType.FLOAT, DataType.UINT8, DataType.INT64, DataType.INT4, DataType.STRING, 0, 99),
  dims: fc.array(fc.oneof(fc.nat({ max: 6 }), fc.constant(2 ** 40)), { maxLength: 3 }),
});

interface Case {
  refs: Ref[];
  dataBytes: number;
}

function externalTensor(r: Ref, i: number, abs: string): TensorProto {
  const kv = [
    ['location', r.location.replace(ABS, abs)],
    ['offset', r.offset],
    ['length', r.length],
  ]
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([key, value]) => ({ key, value }));
  return createMessage<TensorProto>('TensorProto', {
    name: `t${i}`,
    data_type: r.dataType,
    dims: r.dims,
    data_location: DATA_LOCATION_EXTERNAL,
    external_data: kv,
  });
}

/** case/secret.bin outside; case/model/ holds m.onnx, w.bin, links in and out, a subfolder. */
function writeCase(root: string, c: Case): string {
  fs.writeFileSync(path.join(root, 'secret.bin'), Buffer.concat(Array(4).fill(SECRET)));
  const dir = path.join(root, 'model');
  fs.mkdirSync(path.join(dir, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'w.bin'), Buffer.alloc(c.dataBytes, 0x11));
  fs.symlinkSync(path.join(root, 'secret.bin'), path.join(dir, 'link-out'));
  fs.symlinkSync('w.bin', path.join(dir, 'link-in'));
  fs.symlinkSync(root, path.join(dir, 'link-dir'));
  const g = new GraphBuilder('main').input('x', DataType.FLOAT, [1]).output('x', DataType.FLOAT, [1]);
  c.refs.forEach((r, i) => g.initializerProto(externalTensor(r, i, root)));
  const file = path.join(dir, 'm.onnx');
  fs.writeFileSync(file, modelBytes(g));
  return file;
}

const target: FuzzTarget<Case> = {
  arbitrary: fc.record({ refs: fc.array(ref, { minLength: 1, maxLength: 3 }), dataBytes: fc.nat({ max: 64 }) }),
  async check(c, scratch) {
    const file = writeCase(scratch.fresh(), c);
    const model = await expectClean([OnnxCompressError], () => readModel(file));
    if (!model) return;
    await expectClean([OnnxCompressError], () => {
      summarizeModel(model);
      for (const { tensor } of allTensors(model.proto)) {
        if (isExternal(tensor) && model.external.read(tensor).includes(SECRET.subarray(0, 8))) {
          throw new InvariantViolation(new Error(`tensor '${tensor.name}' read bytes from outside the model's folder`));
        }
        readTensor(tensor, model.external);
      }
    });
  },
};

export default () => target;

// The ONNX reader: decodeModel on damaged real models, random bytes and generated models with
// deep subgraphs, odd attributes and huge declared shapes; a model that decodes is then
// summarized and every tensor in it read, as the inspector does.
import * as fc from 'fast-check';
import * as fs from 'fs';
import * as path from 'path';
import { ModelReadError, OnnxCompressError } from '../../../src/core/errors';
import { encodeMessage } from '../../../src/core/onnx/codec';
import { decodeModel } from '../../../src/core/onnx/model';
import { summarizeModel } from '../../../src/core/onnx/summary';
import { readTensor } from '../../../src/core/onnx/tensor';
import { allTensors } from '../../../src/core/onnx/walk';
import { DataType } from '../../../src/core/onnx/dataTypes';
import { GraphBuilder, modelBytes } from '../../fixtures/builder';
import { bytesLike } from '../mutate';
import { expectClean, type FuzzTarget } from '../target';

const FIXTURES = path.resolve(__dirname, '../../../../test/fixtures/models');

/** A small model with a subgraph (If), a Constant node, a tensor attribute and an initializer. */
function nestedSeed(): Uint8Array {
  const branch = (v: number) => new GraphBuilder(`b${v}`).constant(`c${v}`, DataType.FLOAT, [2], new Float32Array([v, v])).output(`c${v}`, DataType.FLOAT, [2]);
  const g = new GraphBuilder('main')
    .input('cond', DataType.BOOL, [])
    .initializer('w', DataType.INT64, [2, 2], new BigInt64Array([1n, 2n, 3n, 4n]))
    .node('If', ['cond'], ['y'], { then_branch: branch(1), else_branch: branch(2) })
    .output('y', DataType.FLOAT, ['N']);
  return modelBytes(g, { opset: 13 });
}

export function modelSeeds(): Uint8Array[] {
  const files = ['mnist_cnn.onnx', 'tiny_transformer.onnx'].map((f) => path.join(FIXTURES, f)).filter((f) => fs.existsSync(f));
  return [nestedSeed(), ...files.map((f) => new Uint8Array(fs.readFileSync(f)))];
}

// ---- generated models -------------------------------------------------------------------

const int64 = fc.oneof(
  fc.integer({ min: -2, max: 8 }),
  fc.constantFrom(2 ** 31, 2 ** 32 + 1, 2 ** 53 - 1, 2 ** 40),
  fc.constantFrom('9223372036854775807', '-9223372036854775808', '4611686018427387904'),
);
const name = fc.string({ maxLength: 6 });
const bytes = fc.uint8Array({ maxLength: 48 });

const tensor = fc.record(
  {
    name,
    dims: fc.array(int64, { maxLength: 9 }),
    data_type: fc.integer({ min: -1, max: 27 }),
    raw_data: fc.option(bytes, { nil: undefined }),
    float_data: fc.array(fc.float({ noDefaultInfinity: false }), { maxLength: 8 }),
    int32_data: fc.array(fc.integer(), { maxLength: 8 }),
    int64_data: fc.array(int64, { maxLength: 4 }),
    string_data: fc.array(bytes, { maxLength: 3 }),
    data_location: fc.constantFrom(undefined, 0, 1, 7),
    external_data: fc.array(fc.record({ key: fc.constantFrom('location', 'offset', 'length', 'x'), value: fc.string({ maxLength: 8 }) }), { maxLength: 3 }),
  },
  { requiredKeys: ['dims'] },
);

function graphOf(depth: number): fc.Arbitrary<object> {
  const sub =
    depth > 0
      ? fc.option(
          fc.constant(null).chain(() => graphOf(depth - 1)),
          { nil: undefined, freq: 2 },
        )
      : fc.constant(undefined);
  const attribute = fc.record(
    {
      name,
      type: fc.integer({ min: 0, max: 14 }),
      i: fc.option(int64, { nil: undefined }),
      f: fc.option(fc.float(), { nil: undefined }),
      s: fc.option(bytes, { nil: undefined }),
      ints: fc.array(int64, { maxLength: 4 }),
      t: fc.option(tensor, { nil: undefined }),
      g: sub,
    },
    { requiredKeys: [] },
  );
  const node = fc.record(
    {
      op_type: fc.constantFrom('Constant', 'If', 'Loop', 'Conv', 'Add', '', 'QuantizeLinear'),
      name,
      domain: fc.constantFrom(undefined, '', 'ai.onnx', 'com.microsoft'),
      input: fc.array(name, { maxLength: 3 }),
      output: fc.array(name, { maxLength: 2 }),
      attribute: fc.array(attribute, { maxLength: 2 }),
    },
    { requiredKeys: ['op_type'] },
  );
  const dim = fc.oneof(fc.record({ dim_value: int64 }), fc.record({ dim_param: name }), fc.constant({}));
  const valueInfo = fc.record({
    name,
    type: fc.record({ tensor_type: fc.record({ elem_type: fc.integer({ min: 0, max: 26 }), shape: fc.record({ dim: fc.array(dim, { maxLength: 5 }) }) }) }),
  });
  return fc.record({
    name,
    node: fc.array(node, { maxLength: 3 }),
    initializer: fc.array(tensor, { maxLength: 3 }),
    input: fc.array(valueInfo, { maxLength: 2 }),
    output: fc.array(valueInfo, { maxLength: 2 }),
  });
}

/** A chain of If nodes `depth` deep, each holding the next graph: protobuf nesting past any limit. */
function deepModel(depth: number): object {
  let g: object = { name: 'leaf', node: [] };
  for (let d = 0; d < depth; d++) g = { name: `g${d}`, node: [{ op_type: 'If', attribute: [{ name: 'then_branch', type: 5, g }] }] };
  return { ir_version: 8, opset_import: [{ domain: '', version: 13 }], graph: g };
}

const generatedModel = fc
  .oneof(
    {
      weight: 4,
      arbitrary: fc.record(
        {
          ir_version: fc.oneof(fc.integer({ min: 0, max: 12 }), int64),
          opset_import: fc.array(fc.record({ domain: fc.constantFrom('', 'ai.onnx', 'com.microsoft'), version: int64 }), { maxLength: 2 }),
          graph: fc.option(graphOf(3), { nil: undefined, freq: 8 }),
        },
        { requiredKeys: [] },
      ),
    },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 160 }).map(deepModel) },
  )
  .map((m) => encodeMessage('ModelProto', m));

// ---- the target -------------------------------------------------------------------------

export function onnxModelTarget(seeds: Uint8Array[]): FuzzTarget<Uint8Array> {
  return {
    arbitrary: fc.oneof({ weight: 3, arbitrary: bytesLike(seeds) }, { weight: 1, arbitrary: generatedModel }),
    async check(input) {
      const model = await expectClean([ModelReadError], () => decodeModel(input, { label: 'fuzz.onnx' }));
      if (!model) return;
      await expectClean([OnnxCompressError], () => {
        summarizeModel(model);
        for (const { tensor: t } of allTensors(model.proto)) readTensor(t, model.external);
      });
    },
  };
}

export default () => onnxModelTarget(modelSeeds());

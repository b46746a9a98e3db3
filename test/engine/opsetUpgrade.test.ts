// upgradeOpsetTo10: models of opset 7, 8 and 9 raised to 10 compute exactly what they did in
// onnxruntime (Slice, TopK, Upsample, BatchNormalization, Dropout rewritten; in subgraphs,
// IR-3 graphs and model-local functions too), PP-OCR's opset-9 recognizer included; nodes that
// cannot be converted are refused by name, with the model left untouched.
import * as assert from 'assert';
import Long from 'long';
import { createMessage, encodeMessage } from '../../src/core/onnx/codec';
import { DataType } from '../../src/core/onnx/dataTypes';
import { decodeModel, type OnnxModel } from '../../src/core/onnx/model';
import { readModelSync } from '../support/helpers';
import { OpsetUpgradeError, upgradeOpsetTo10 } from '../../src/core/onnx/opsetUpgrade';
import { readTensor } from '../../src/core/onnx/tensor';
import { AttributeType, int64ToNumber, type AttributeProto, type FunctionProto, type NodeProto, type ValueInfoProto } from '../../src/core/onnx/types';
import { allGraphs } from '../../src/core/onnx/walk';
import { syntheticInput } from '../../src/core/runtime/probe';
import { createSession, ort } from '../../src/core/runtime/session';
import { buildModel, float, floats, GraphBuilder, modelBytes, type ModelOptions } from '../fixtures/builder';
import { realModel } from '../support/browser';

const INT64_MAX = Long.MAX_VALUE as unknown as number;
const INT64_MIN = Long.MIN_VALUE as unknown as number;

type Feeds = Record<string, ort.Tensor>;
interface Output {
  type: string;
  dims: number[];
  bytes: Buffer;
  data: ort.Tensor['data'];
}

function decoded(b: GraphBuilder, options: ModelOptions): OnnxModel {
  return decodeModel(modelBytes(b, options));
}

/** Seeded inputs for every graph input that is not an initializer. */
function seededFeeds(model: OnnxModel, seed = 7): Feeds {
  const graph = model.proto.graph!;
  const inits = new Set(graph.initializer.map((t) => t.name));
  const feeds: Feeds = {};
  graph.input.forEach((v, i) => {
    if (!inits.has(v.name)) feeds[v.name!] = syntheticInput(v, undefined, seed + i);
  });
  return feeds;
}

async function runAll(model: OnnxModel, feeds: Feeds): Promise<Record<string, Output>> {
  const session = await createSession(model);
  try {
    const results = await session.run(feeds);
    const out: Record<string, Output> = {};
    for (const [name, t] of Object.entries(results)) {
      const data = t.data as Exclude<ort.Tensor['data'], string[]>;
      out[name] = { type: t.type, dims: [...t.dims], bytes: Buffer.from(data.buffer, data.byteOffset, data.byteLength), data: t.data };
    }
    return out;
  } finally {
    await session.release();
  }
}

function assertIdentical(before: Record<string, Output>, after: Record<string, Output>): void {
  assert.deepStrictEqual(Object.keys(after).sort(), Object.keys(before).sort());
  for (const name of Object.keys(before)) {
    assert.strictEqual(after[name].type, before[name].type, `${name}: type`);
    assert.deepStrictEqual(after[name].dims, before[name].dims, `${name}: dims`);
    assert.ok(after[name].bytes.equals(before[name].bytes), `${name}: values differ`);
  }
}

/** Runs the model, upgrades it, checks the upgrade, runs it again and compares exactly. */
async function upgradeKeepsOutputs(model: OnnxModel, feedSets: Feeds[] = [seededFeeds(model)]) {
  const before = [];
  for (const feeds of feedSets) before.push(await runAll(model, feeds));
  const result = upgradeOpsetTo10(model);
  assert.deepStrictEqual(
    model.proto.opset_import.filter((o) => !o.domain).map((o) => int64ToNumber(o.version)),
    [10],
  );
  // The upgraded model survives an encode/decode round trip and runs the same.
  const again = decodeModel(encodeMessage('ModelProto', model.proto));
  for (let i = 0; i < feedSets.length; i++) {
    const after = await runAll(again, feedSets[i]);
    assertIdentical(before[i], after);
  }
  return { result, before };
}

function nodeByName(model: OnnxModel, name: string): NodeProto {
  for (const { graph } of allGraphs(model.proto)) {
    const n = graph.node.find((x) => x.name === name);
    if (n) return n;
  }
  throw new Error(`no node ${name}`);
}

function int64Values(model: OnnxModel, name: string): bigint[] {
  for (const { graph } of allGraphs(model.proto)) {
    const t = graph.initializer.find((x) => x.name === name);
    if (t) return [...(readTensor(t).values as BigInt64Array)];
  }
  throw new Error(`no initializer ${name}`);
}

function assertRefused(model: OnnxModel, pattern: RegExp): void {
  const bytes = Buffer.from(encodeMessage('ModelProto', model.proto));
  assert.throws(
    () => upgradeOpsetTo10(model),
    (e: unknown) => {
      assert.ok(e instanceof OpsetUpgradeError, String(e));
      assert.match((e as Error).message, pattern);
      return true;
    },
  );
  assert.ok(Buffer.from(encodeMessage('ModelProto', model.proto)).equals(bytes), 'a refused model is left as it was');
}

describe('upgradeOpsetTo10', function () {
  this.timeout(120000);

  it('Slice-1 attributes become int64 inputs (negative starts, INT64_MAX/INT64_MIN ends, clamping, default axes, empty results)', async () => {
    const b = new GraphBuilder('slices')
      .input('x', DataType.FLOAT, [3, 5, 7])
      .node('Slice', ['x'], ['s1'], { starts: [1, -3], ends: [INT64_MAX, -1], axes: [0, 2] }, { name: 'slice_max' })
      .node('Slice', ['x'], ['s2'], { starts: [0, 1, 2], ends: [2, 4, 100] }, { name: 'slice_noaxes' })
      .node('Slice', ['x'], ['s3'], { starts: [-100], ends: [2], axes: [1] }, { name: 'slice_clamp' })
      .node('Slice', ['x'], ['s4'], { starts: [4], ends: [2], axes: [1] }, { name: 'slice_empty' })
      .node('Slice', ['x'], ['s5'], { starts: [INT64_MIN, 2], ends: [INT64_MAX, INT64_MAX], axes: [2, 1] }, { name: 'slice_min' })
      .node('Slice', ['x'], ['s6'], { starts: [1], ends: [-1], axes: [-1] }, { name: 'slice_negaxis' })
      .output('s1', DataType.FLOAT, null)
      .output('s2', DataType.FLOAT, null)
      .output('s3', DataType.FLOAT, null)
      .output('s4', DataType.FLOAT, null)
      .output('s5', DataType.FLOAT, null)
      .output('s6', DataType.FLOAT, null);
    const model = decoded(b, { opset: 9 });
    const { result, before } = await upgradeKeepsOutputs(model);
    assert.deepStrictEqual(result, { from: 9, converted: ['slice_max', 'slice_noaxes', 'slice_clamp', 'slice_empty', 'slice_min', 'slice_negaxis'] });
    assert.deepStrictEqual(before[0].s1.dims, [2, 5, 2]);
    assert.deepStrictEqual(before[0].s4.dims, [3, 0, 7]);
    const n = nodeByName(model, 'slice_max');
    assert.deepStrictEqual(n.attribute, []);
    assert.deepStrictEqual(n.input, ['x', 'slice_max_starts', 'slice_max_ends', 'slice_max_axes']);
    assert.deepStrictEqual(int64Values(model, 'slice_max_ends'), [9223372036854775807n, -1n]);
    assert.deepStrictEqual(int64Values(model, 'slice_min_starts'), [-9223372036854775808n, 2n]);
    assert.strictEqual(nodeByName(model, 'slice_noaxes').input.length, 3, 'no axes input where the attribute was absent');
  });

  it('Upsample-9 (scales input, nearest and linear) becomes Resize-10', async () => {
    const b = new GraphBuilder('ups')
      .input('x', DataType.FLOAT, [1, 2, 3, 4])
      .initializer('sc', DataType.FLOAT, [4], new Float32Array([1, 1, 2, 3]))
      .initializer('sc2', DataType.FLOAT, [4], new Float32Array([1, 1, 2.5, 1.5]))
      .node('Upsample', ['x', 'sc'], ['near'], { mode: 'nearest' }, { name: 'up_nearest' })
      .node('Upsample', ['x', 'sc'], ['near_default'], {}, { name: 'up_default' })
      .node('Upsample', ['x', 'sc2'], ['lin'], { mode: 'linear' }, { name: 'up_linear' })
      .output('near', DataType.FLOAT, null)
      .output('near_default', DataType.FLOAT, null)
      .output('lin', DataType.FLOAT, null);
    const model = decoded(b, { opset: 9 });
    const { result, before } = await upgradeKeepsOutputs(model);
    assert.deepStrictEqual(result, { from: 9, converted: ['up_nearest', 'up_default', 'up_linear'] });
    assert.deepStrictEqual(before[0].near.dims, [1, 2, 6, 12]);
    const n = nodeByName(model, 'up_linear');
    assert.strictEqual(n.op_type, 'Resize');
    assert.deepStrictEqual(n.input, ['x', 'sc2']);
    assert.strictEqual(new TextDecoder().decode(n.attribute.find((a) => a.name === 'mode')!.s), 'linear');
  });

  it('TopK-1 (k attribute) gets k as an int64 [1] input', async () => {
    const b = new GraphBuilder('topk')
      .input('x', DataType.FLOAT, [3, 10])
      .node('TopK', ['x'], ['v1', 'i1'], { k: 4 }, { name: 'topk_last' })
      .node('TopK', ['x'], ['v2', 'i2'], { k: 2, axis: 0 }, { name: 'topk_axis0' })
      .output('v1', DataType.FLOAT, null)
      .output('i1', DataType.INT64, null)
      .output('v2', DataType.FLOAT, null)
      .output('i2', DataType.INT64, null);
    const model = decoded(b, { opset: 9 });
    const { result, before } = await upgradeKeepsOutputs(model);
    assert.deepStrictEqual(result.converted, ['topk_last', 'topk_axis0']);
    assert.deepStrictEqual(before[0].i1.dims, [3, 4]);
    const n = nodeByName(model, 'topk_axis0');
    assert.deepStrictEqual(n.input, ['x', 'topk_axis0_k']);
    assert.deepStrictEqual(
      n.attribute.map((a) => a.name),
      ['axis'],
    );
    assert.deepStrictEqual(int64Values(model, 'topk_axis0_k'), [2n]);
  });

  it('an opset-7 model: Upsample-7 scales attribute, BatchNormalization spatial=1, pools and Dropout', async () => {
    const c = 2;
    const b = new GraphBuilder('seven')
      .input('x', DataType.FLOAT, [1, c, 4, 6])
      .initializer('bn_s', DataType.FLOAT, [c], new Float32Array([1.5, 0.5]))
      .initializer('bn_b', DataType.FLOAT, [c], new Float32Array([0.1, -0.2]))
      .initializer('bn_m', DataType.FLOAT, [c], new Float32Array([0.4, 0.6]))
      .initializer('bn_v', DataType.FLOAT, [c], new Float32Array([0.9, 1.1]))
      .node('BatchNormalization', ['x', 'bn_s', 'bn_b', 'bn_m', 'bn_v'], ['bn'], { spatial: 1, epsilon: float(1e-5) }, { name: 'bn' })
      .node('Upsample', ['bn'], ['up'], { scales: floats([1, 1, 2, 2]), mode: 'nearest' }, { name: 'up7' })
      .node('Upsample', ['bn'], ['up_lin'], { scales: floats([1, 1, 1.5, 2]), mode: 'linear' }, { name: 'up7_linear' })
      .node('MaxPool', ['up'], ['mp'], { kernel_shape: [3, 3], strides: [2, 2] }, { name: 'maxpool' })
      .node('AveragePool', ['up_lin'], ['ap'], { kernel_shape: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 1 }, { name: 'avgpool' })
      .node('Dropout', ['ap'], ['dr', 'dr_mask'], { ratio: float(0.3) }, { name: 'dropout' })
      .node('Slice', ['dr'], ['sl'], { starts: [1], ends: [INT64_MAX], axes: [3] }, { name: 'slice' })
      .node('TopK', ['sl'], ['tv', 'ti'], { k: 2 }, { name: 'topk' })
      .valueInfo('dr_mask', DataType.FLOAT, [1, c, 5, 7])
      .output('mp', DataType.FLOAT, null)
      .output('tv', DataType.FLOAT, null)
      .output('ti', DataType.INT64, null);
    const model = decoded(b, { opset: 7, irVersion: 3 });
    // IR 3: initializers are graph inputs too.
    for (const t of model.proto.graph!.initializer)
      model.proto.graph!.input.push(
        createMessage<ValueInfoProto>('ValueInfoProto', {
          name: t.name,
          type: { tensor_type: { elem_type: DataType.FLOAT, shape: { dim: [{ dim_value: c }] } } } as ValueInfoProto['type'],
        }),
      );
    const { result } = await upgradeKeepsOutputs(model, [{ x: syntheticInput(model.proto.graph!.input[0], undefined, 3) }]);
    assert.deepStrictEqual(result, { from: 7, converted: ['bn', 'up7', 'up7_linear', 'dropout', 'slice', 'topk'] });
    assert.deepStrictEqual(
      nodeByName(model, 'bn').attribute.map((a) => a.name),
      ['epsilon'],
    );
    assert.deepStrictEqual(nodeByName(model, 'dropout').output, ['dr']);
    assert.ok(!model.proto.graph!.value_info.some((v) => v.name === 'dr_mask'), 'the dropped mask loses its value_info');
    // IR 3 keeps its rule that initializers are graph inputs: the new tensors are Constant nodes, each before its reader.
    assert.strictEqual(model.proto.graph!.initializer.length, 4);
    const ops = model.proto.graph!.node.map((n) => n.op_type);
    assert.deepStrictEqual(ops, [
      'BatchNormalization',
      'Constant',
      'Resize',
      'Constant',
      'Resize',
      'MaxPool',
      'AveragePool',
      'Dropout',
      'Constant',
      'Constant',
      'Constant',
      'Slice',
      'Constant',
      'TopK',
    ]);
  });

  it('converts nodes inside If branches, with initializers in the branch', async () => {
    const thenB = new GraphBuilder('then')
      .node('Slice', ['x'], ['t_out'], { starts: [1, 0], ends: [3, -2], axes: [1, 2] }, { name: 'then_slice' })
      .output('t_out', DataType.FLOAT, null);
    // Both branches give [2, 2, 5] (onnxruntime's If shape inference cannot merge differing dims).
    const elseB = new GraphBuilder('else')
      .node('Upsample', ['x', 'outer_scales'], ['e_up'], { mode: 'nearest' }, { name: 'else_up' })
      .node('TopK', ['e_up'], ['e_v', 'e_i'], { k: 2, axis: 1 }, { name: 'else_topk' })
      .node('Slice', ['e_v'], ['e_out'], { starts: [1], ends: [6], axes: [2] }, { name: 'else_slice' })
      .output('e_out', DataType.FLOAT, null);
    const b = new GraphBuilder('main')
      .input('cond', DataType.BOOL, [])
      .input('x', DataType.FLOAT, [2, 5, 7])
      .initializer('outer_scales', DataType.FLOAT, [3], new Float32Array([1, 2, 1]))
      .node('If', ['cond'], ['y'], { then_branch: thenB, else_branch: elseB }, { name: 'if' })
      .output('y', DataType.FLOAT, null);
    const model = decoded(b, { opset: 9 });
    const x = syntheticInput(model.proto.graph!.input[1], undefined, 11);
    const feeds = (c: boolean) => ({ cond: new ort.Tensor('bool', new Uint8Array([c ? 1 : 0]), []), x });
    const { result, before } = await upgradeKeepsOutputs(model, [feeds(true), feeds(false)]);
    assert.deepStrictEqual(result, { from: 9, converted: ['then_slice', 'else_up', 'else_topk', 'else_slice'] });
    assert.deepStrictEqual(before[0].y.dims, [2, 2, 5]);
    assert.deepStrictEqual(before[1].y.dims, [2, 2, 5]);
    assert.ok(!before[0].y.bytes.equals(before[1].y.bytes), 'the branches compute different values');
    const ifNode = nodeByName(model, 'if');
    const thenGraph = ifNode.attribute.find((a) => a.name === 'then_branch')!.g!;
    assert.deepStrictEqual(
      thenGraph.initializer.map((t) => t.name),
      ['then_slice_starts', 'then_slice_ends', 'then_slice_axes'],
    );
    assert.strictEqual(model.proto.graph!.initializer.length, 1, 'the main graph gets nothing new');
  });

  it('gives new tensors names no value, tensor or node already has', async () => {
    const b = new GraphBuilder('names')
      .input('x', DataType.FLOAT, [4, 6])
      .node('Relu', ['x'], ['s_starts'], {}, { name: 's_ends' })
      .node('Slice', ['s_starts'], ['y'], { starts: [1], ends: [3] }, { name: 's' })
      .node('Slice', ['y'], ['z'], { starts: [0], ends: [1] })
      .output('z', DataType.FLOAT, null);
    const model = decoded(b, { opset: 9 });
    const { result } = await upgradeKeepsOutputs(model);
    assert.deepStrictEqual(result.converted, ['s', 'Slice_2']);
    assert.deepStrictEqual(nodeByName(model, 's').input, ['s_starts', 's_starts_1', 's_ends_1']);
    assert.deepStrictEqual(nodeByName(model, 'Slice_2').input, ['y', 'Slice_2_starts', 'Slice_2_ends']);
  });

  it('converts model-local functions that import opset 9, with Constant nodes in the body', async () => {
    const slice = createMessage<NodeProto>('NodeProto', {
      name: 'fn_slice',
      op_type: 'Slice',
      input: ['a'],
      output: ['b'],
      attribute: [
        createMessage<AttributeProto>('AttributeProto', { name: 'starts', type: AttributeType.INTS, ints: [1] }),
        createMessage<AttributeProto>('AttributeProto', { name: 'ends', type: AttributeType.INTS, ints: [INT64_MAX] }),
      ],
    });
    const fn = createMessage<FunctionProto>('FunctionProto', {
      name: 'DropFirst',
      domain: 'local',
      input: ['a'],
      output: ['b'],
      node: [slice],
      opset_import: [{ domain: '', version: 9 }],
    });
    const b = new GraphBuilder('fn')
      .input('x', DataType.FLOAT, [4, 3])
      .node('DropFirst', ['x'], ['y'], {}, { name: 'call', domain: 'local' })
      .output('y', DataType.FLOAT, null);
    const proto = buildModel(b, { opset: 9, opsets: { local: 1 } });
    proto.functions.push(fn);
    const model = decodeModel(encodeMessage('ModelProto', proto));
    const { result, before } = await upgradeKeepsOutputs(model);
    assert.deepStrictEqual(result.converted, ['fn_slice']);
    assert.deepStrictEqual(before[0].y.dims, [3, 3]);
    const f = model.proto.functions[0];
    assert.deepStrictEqual(
      f.opset_import.map((o) => int64ToNumber(o.version)),
      [10],
    );
    assert.deepStrictEqual(
      f.node.map((n) => n.op_type),
      ['Constant', 'Constant', 'Slice'],
    );
  });

  it('leaves models at opset 10 or newer as they are', () => {
    const b = new GraphBuilder('new').input('x', DataType.FLOAT, [2, 2]).node('Relu', ['x'], ['y']).output('y', DataType.FLOAT, null);
    const model = decoded(b, { opset: 11 });
    const bytes = Buffer.from(encodeMessage('ModelProto', model.proto));
    assert.deepStrictEqual(upgradeOpsetTo10(model), { from: 11, converted: [] });
    assert.ok(Buffer.from(encodeMessage('ModelProto', model.proto)).equals(bytes));
  });

  it('upgrades PP-OCRv4 rec (opset 9) with the same outputs', async () => {
    const model = readModelSync(realModel('ch_PP-OCRv4_rec_infer.onnx'));
    assert.strictEqual(int64ToNumber(model.proto.opset_import[0].version), 9);
    const input = model.proto.graph!.input[0];
    const feeds = { [input.name!]: syntheticInput(input, [1, 3, 48, 160]) };
    const before = await runAll(model, feeds);
    const result = upgradeOpsetTo10(model);
    assert.strictEqual(result.from, 9);
    assert.strictEqual(result.converted.length, 10);
    for (const name of result.converted) {
      const n = nodeByName(model, name);
      assert.strictEqual(n.op_type, 'Slice');
      assert.deepStrictEqual(n.attribute, []);
      assert.ok(n.input.length === 3 || n.input.length === 4);
    }
    assert.deepStrictEqual(
      model.proto.opset_import.map((o) => [o.domain ?? '', int64ToNumber(o.version)]),
      [['', 10]],
    );
    const after = await runAll(decodeModel(encodeMessage('ModelProto', model.proto)), feeds);
    assert.deepStrictEqual(Object.keys(after), Object.keys(before));
    for (const name of Object.keys(before)) {
      assert.deepStrictEqual(after[name].dims, before[name].dims);
      assert.deepStrictEqual(after[name].dims, [1, 20, 6625]);
      const a = after[name].data as Float32Array;
      const e = before[name].data as Float32Array;
      let worst = 0;
      for (let i = 0; i < e.length; i++) worst = Math.max(worst, Math.abs(a[i] - e[i]));
      assert.ok(worst <= 1e-6, `${name}: largest difference ${worst}`);
      assert.ok(after[name].bytes.equals(before[name].bytes), `${name}: not bit-identical (largest difference ${worst})`);
    }
  });

  describe('refuses what it cannot convert, naming the node and leaving the model untouched', () => {
    it('a Dropout whose mask is read (opset 9)', () => {
      const b = new GraphBuilder('drop')
        .input('x', DataType.FLOAT, [2, 3])
        .node('Slice', ['x'], ['s'], { starts: [0], ends: [1] }, { name: 'first' })
        .node('Dropout', ['s'], ['y', 'mask'], {}, { name: 'drop' })
        .output('y', DataType.FLOAT, null)
        .output('mask', DataType.FLOAT, null);
      assertRefused(
        decoded(b, { opset: 9 }),
        /cannot upgrade node 'drop' \(Dropout\) from opset 9 to 10 automatically; re-export the model with opset 13 or newer \(its mask output 'mask' is read/,
      );
    });

    it('Scan-8 (opset 8)', () => {
      const body = new GraphBuilder('body')
        .input('acc_in', DataType.FLOAT, [2])
        .input('xi', DataType.FLOAT, [2])
        .node('Add', ['acc_in', 'xi'], ['acc_out'])
        .output('acc_out', DataType.FLOAT, [2]);
      const b = new GraphBuilder('scan')
        .input('acc', DataType.FLOAT, [1, 2])
        .input('xs', DataType.FLOAT, [1, 3, 2])
        .node('Scan', ['', 'acc', 'xs'], ['final'], { body, num_scan_inputs: 1 }, { name: 'scan8' })
        .output('final', DataType.FLOAT, [1, 2]);
      assertRefused(
        decoded(b, { opset: 8 }),
        /cannot upgrade node 'scan8' \(Scan\) from opset 8 to 10 automatically; re-export the model with opset 13 or newer/,
      );
    });

    it('BatchNormalization with spatial=0 and experimental MeanVarianceNormalization (opset 8)', () => {
      const bn = new GraphBuilder('bn')
        .input('x', DataType.FLOAT, [1, 2, 2])
        .node('BatchNormalization', ['x', 's', 'b', 'm', 'v'], ['y'], { spatial: 0 }, { name: 'bn0' })
        .output('y', DataType.FLOAT, null);
      assertRefused(decoded(bn, { opset: 8 }), /cannot upgrade node 'bn0' \(BatchNormalization\) from opset 8 to 10 automatically; .*spatial=0/);
      const mvn = new GraphBuilder('mvn')
        .input('x', DataType.FLOAT, [1, 2, 2, 2])
        .node('MeanVarianceNormalization', ['x'], ['y'], { across_channels: 1 }, { name: 'mvn' })
        .output('y', DataType.FLOAT, null);
      assertRefused(decoded(mvn, { opset: 8 }), /cannot upgrade node 'mvn' \(MeanVarianceNormalization\) from opset 8 to 10/);
    });

    it('a node in a subgraph, named with where it is', () => {
      const thenB = new GraphBuilder('then').node('Upsample', ['x', 'sc'], ['t'], { mode: 'cubic' }, { name: 'cubic_up' }).output('t', DataType.FLOAT, null);
      const elseB = new GraphBuilder('else').node('Identity', ['x'], ['e']).output('e', DataType.FLOAT, null);
      const b = new GraphBuilder('main')
        .input('c', DataType.BOOL, [])
        .input('x', DataType.FLOAT, [1, 1, 2, 2])
        .input('sc', DataType.FLOAT, [4])
        .node('If', ['c'], ['y'], { then_branch: thenB, else_branch: elseB }, { name: 'branch' })
        .output('y', DataType.FLOAT, null);
      assertRefused(
        decoded(b, { opset: 9 }),
        /cannot upgrade node 'cubic_up' \(Upsample\) in main\/branch\.then_branch from opset 9 to 10 automatically; .*mode 'cubic'/,
      );
    });

    it('models older than opset 7', () => {
      const b = new GraphBuilder('old').input('x', DataType.FLOAT, [2]).node('Relu', ['x'], ['y']).output('y', DataType.FLOAT, null);
      assertRefused(decoded(b, { opset: 6 }), /opset 6 predates opset 7.*re-export the model with opset 13 or newer/);
    });
  });
});

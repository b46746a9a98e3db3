import { varint } from '../support/varint';
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import Long from 'long';
import { ModelReadError, OnnxCompressError } from '../../src/core/errors';
import { createMessage, encodeMessage } from '../../src/core/onnx/codec';
import { DataType } from '../../src/core/onnx/dataTypes';
import { nodeList } from '../../src/core/onnx/inspect';
import { decodeModel, readModel } from '../../src/core/onnx/model';
import { summarizeModel } from '../../src/core/onnx/summary';
import type { GraphProto, NodeProto, TensorProto } from '../../src/core/onnx/types';
import { GraphBuilder, modelBytes } from '../fixtures/builder';
import { seededBytes, TempDirs, withTimeout } from '../support/helpers';
import { readModelIsolated, readModelsIsolated, type IsolatedResult } from '../support/isolated';

/** A real model: weights, several nodes, symbolic dims. */
function realModel(): Uint8Array {
  const w = Float32Array.from({ length: 16 * 8 }, (_, i) => Math.sin(i));
  return modelBytes(
    new GraphBuilder('real')
      .input('x', DataType.FLOAT, ['N', 16])
      .initializer('w', DataType.FLOAT, [16, 8], w)
      .initializer('b', DataType.FLOAT, [8], new Float32Array(8).fill(0.25))
      .node('MatMul', ['x', 'w'], ['h'], {}, { name: 'proj' })
      .node('Add', ['h', 'b'], ['h2'], {}, { name: 'bias' })
      .node('Relu', ['h2'], ['y'], {}, { name: 'act' })
      .output('y', DataType.FLOAT, ['N', 8]),
    { producer: 'bad-input-tests' },
  );
}

/** Asserts the isolated read failed with a ModelReadError naming the file and matching the problem. */
function assertReadError(r: IsolatedResult, file: string, ...problems: RegExp[]): void {
  assert.ok(!r.ok, `expected a ModelReadError for ${file}, but it read fine`);
  assert.strictEqual(r.name, 'ModelReadError', `expected ModelReadError, got ${r.name}: ${r.message}`);
  assert.ok(r.message.startsWith(`${file}: `), `message names the file first: ${r.message}`);
  for (const p of problems) assert.match(r.message, p);
}

describe('bad input', function () {
  this.timeout(20_000);
  const temp = new TempDirs('onnx-compress-bad-');
  let dir: string;
  beforeEach(() => {
    dir = temp.make();
  });
  afterEach(() => temp.cleanup());

  function put(name: string, bytes: Uint8Array): string {
    const file = path.join(dir, name);
    fs.writeFileSync(file, bytes);
    return file;
  }

  it('the untouched model reads (the cases below differ from it only as stated)', async () => {
    const r = await readModelIsolated(put('ok.onnx', realModel()));
    assert.ok(r.ok && r.irVersion === '8' && r.warnings.length === 0, JSON.stringify(r));
  });

  it('a model cut in half: ModelReadError saying it is truncated', async () => {
    const full = realModel();
    const file = put('half.onnx', full.subarray(0, full.length >> 1));
    assertReadError(await readModelIsolated(file), file, /truncated/);
    // In this process too (readModel, the product's reader), with the same message.
    await assert.rejects(readModel(file), (e: unknown) => e instanceof ModelReadError && /truncated/.test(e.message));
  });

  it('every prefix of a model fails cleanly with a ModelReadError naming the file (none reads as a model)', async () => {
    const full = realModel();
    const files: string[] = [];
    for (let cut = 1; cut < full.length; cut++) files.push(put(`cut${cut}.onnx`, full.subarray(0, cut)));
    const results = await readModelsIsolated(files, 15_000);
    const bad = results
      .map((r, i) => ({ r, file: files[i] }))
      .filter(({ r, file }) => r.ok || r.name !== 'ModelReadError' || !r.message.startsWith(`${file}: `))
      .map(({ r, file }) => `${path.basename(file)}: ${JSON.stringify(r)}`);
    assert.deepStrictEqual(bad, []);
  });

  it('random bytes (seeded): ModelReadError naming the file', async () => {
    const files: string[] = [];
    for (let seed = 1; seed <= 40; seed++) files.push(put(`random${seed}.bin`, seededBytes(seed, 1 + ((seed * 997) % 5000))));
    const results = await readModelsIsolated(files, 10_000);
    results.forEach((r, i) => assertReadError(r, files[i], /not valid protobuf|not an ONNX model|truncated|corrupt/));
  });

  it('a valid protobuf that is not a model: an encoded TensorProto, NodeProto, GraphProto', async () => {
    const t = createMessage<TensorProto>('TensorProto', { name: 'weights', data_type: DataType.FLOAT, dims: [4], raw_data: new Uint8Array(16) });
    const n = createMessage<NodeProto>('NodeProto', { op_type: 'Relu', input: ['x'], output: ['y'], name: 'r' });
    const g = new GraphBuilder('just a graph').input('x', DataType.FLOAT, [1]).node('Relu', ['x'], ['y']).output('y', DataType.FLOAT, [1]).build();
    for (const [name, bytes] of [
      ['tensor.pb', encodeMessage('TensorProto', t)],
      ['node.pb', encodeMessage('NodeProto', n)],
      ['graph.pb', encodeMessage('GraphProto', g as GraphProto)],
    ] as Array<[string, Uint8Array]>) {
      const file = put(name, bytes);
      assertReadError(await readModelIsolated(file), file, /not an ONNX model/);
    }
  });

  it('an absurd declared length (2^31 bytes for the graph field) fails at once, saying so', async () => {
    // ir_version = 8, then field 7 (graph), wire type 2, with a length of 2^31 and 3 bytes behind it.
    const bytes = Uint8Array.from([0x08, 0x08, 0x3a, ...varint(2 ** 31), 1, 2, 3]);
    const file = put('absurd.onnx', bytes);
    const t0 = Date.now();
    const r = await readModelIsolated(file, 2000);
    assert.ok(Date.now() - t0 < 2000);
    assertReadError(r, file, /truncated/);
    // The same for a raw_data length beyond the file inside a real model's initializer.
    const tensorBytes = [0x4a, ...varint(2 ** 31 - 1), 0, 0]; // TensorProto.raw_data = 9
    const graphBytes = [0x2a, ...varint(tensorBytes.length), ...tensorBytes]; // GraphProto.initializer = 5
    const huge = Uint8Array.from([0x08, 0x08, 0x3a, ...varint(graphBytes.length), ...graphBytes]);
    const file2 = put('absurd-raw.onnx', huge);
    assertReadError(await readModelIsolated(file2, 2000), file2, /truncated/);
  });

  it('an IR version newer than 11', async () => {
    for (const ir of [12, 1000]) {
      const file = put(
        `ir${ir}.onnx`,
        modelBytes(new GraphBuilder('g').input('x', DataType.FLOAT, [1]).node('Relu', ['x'], ['y']).output('y', DataType.FLOAT, [1]), { irVersion: ir }),
      );
      assertReadError(await readModelIsolated(file), file, new RegExp(`IR version ${ir} is newer`), /up to 11/);
    }
    const zero = put('ir0.onnx', modelBytes(new GraphBuilder('g'), { irVersion: 0 }));
    assertReadError(await readModelIsolated(zero), zero, /IR version 0 is not valid/);
  });

  it('an empty file', async () => {
    const file = put('empty.onnx', new Uint8Array(0));
    assertReadError(await readModelIsolated(file), file, /empty/);
  });

  it('a folder path', async () => {
    const folder = path.join(dir, 'model.onnx');
    fs.mkdirSync(folder);
    await withTimeout(
      assert.rejects(readModel(folder), (e: unknown) => e instanceof ModelReadError && e.message.startsWith(`${folder}: `) && /is a folder/.test(e.message)),
      2000,
      'readModel(folder)',
    );
  });

  it('a missing file', async () => {
    const missing = path.join(dir, 'nope', 'missing.onnx');
    await withTimeout(
      assert.rejects(readModel(missing), (e: unknown) => e instanceof ModelReadError && e.message === `${missing}: no such file`),
      2000,
      'readModel(missing)',
    );
  });

  it('a node without op_type', async () => {
    const g = new GraphBuilder('g').input('x', DataType.FLOAT, [1]).node('Relu', ['x'], ['y']).output('y', DataType.FLOAT, [1]);
    delete (g.build().node[0] as Partial<NodeProto>).op_type;
    const file = put('noop.onnx', modelBytes(g));
    assertReadError(await readModelIsolated(file), file, /node 0 of graph main has no op_type/);
  });

  it('a tensor dimension beyond 2^53 or negative is reported as a model problem, not a RangeError', async () => {
    for (const [label, dim] of [
      ['huge', Long.fromString('1152921504606846976')],
      ['negative', -1],
    ] as Array<[string, Long | number]>) {
      const t = createMessage<TensorProto>('TensorProto', { name: 'w', data_type: DataType.FLOAT, dims: [dim], raw_data: new Uint8Array(4) });
      const g = new GraphBuilder('g').input('x', DataType.FLOAT, [1]).initializerProto(t).node('Add', ['x', 'w'], ['y']).output('y', DataType.FLOAT, [1]);
      const file = put(`${label}.onnx`, modelBytes(g));
      const r = await readModelIsolated(file);
      if (!r.ok) {
        assertReadError(r, file, /tensor 'w'/);
      } else {
        assert.ok(r.summaryError, `${label}: a dimension of ${dim} must not pass unnoticed`);
        assert.ok(
          ['ModelReadError', 'TensorDataError'].includes(r.summaryError.name),
          `${label}: summary failed with ${r.summaryError.name}: ${r.summaryError.message}`,
        );
        assert.match(r.summaryError.message, /tensor 'w'/);
      }
    }
  });

  describe('a model using an unknown op', () => {
    function unknownOpModel(): Uint8Array {
      return modelBytes(
        new GraphBuilder('g')
          .input('x', DataType.FLOAT, [2, 3])
          .node('Relu', ['x'], ['r'], {}, { name: 'fine' })
          .node('Frobnicate', ['r'], ['f'], {}, { name: 'frob_1' })
          .node('Abs', ['f'], ['y'], {}, { name: 'after' })
          .output('y', DataType.FLOAT, [2, 3]),
      );
    }

    it('the summary warns, naming the op and the node', async () => {
      const file = put('unknown-op.onnx', unknownOpModel());
      const r = await readModelIsolated(file);
      assert.ok(r.ok, JSON.stringify(r));
      assert.strictEqual(r.warnings.length, 1);
      assert.match(r.warnings[0], /unknown op Frobnicate/);
      assert.match(r.warnings[0], /node 'frob_1'/);
      assert.match(r.warnings[0], /graph main/);
      assert.match(r.warnings[0], /onnxruntime will refuse/);
      // Ops of non-standard domains are not judged.
      const custom = decodeModel(
        modelBytes(
          new GraphBuilder('g').input('x', DataType.FLOAT, [1]).node('Whatever', ['x'], ['y'], {}, { domain: 'com.example' }).output('y', DataType.FLOAT, [1]),
          { opsets: { 'com.example': 1 } },
        ),
      );
      assert.deepStrictEqual(summarizeModel(custom).warnings, []);
    });

    it("nodeList reports onnxruntime's refusal as probeNote without throwing", async () => {
      const model = await readModel(put('unknown-op.onnx', unknownOpModel()));
      const list = await withTimeout(nodeList(model), 10_000, 'nodeList');
      assert.match(list.probeNote ?? '', /^no probe run: /);
      assert.match(list.probeNote!, /onnxruntime cannot load the model/);
      assert.match(list.probeNote!, /Frobnicate/);
      assert.strictEqual(list.shapeSource, 'value_info');
      assert.deepStrictEqual(
        list.nodes.map((n) => n.name),
        ['fine', 'frob_1', 'after'],
      );
      // Types still come from the rules where they can: Relu keeps float32, the unknown op's output is unknown.
      assert.strictEqual(list.nodes[0].outputs[0].elemType, 'float32');
      assert.strictEqual(list.nodes[1].outputs[0].elemType, 'float32', 'default-domain ops keep the first input type');
      // The model in memory is left as it was (the probe's extra outputs removed).
      assert.strictEqual(model.proto.graph!.output.length, 1);
    });
  });

  it("a deeply nested hostile message hits protobufjs' recursion limit: ModelReadError, no stack overflow", async () => {
    // GraphProto.node -> NodeProto.attribute -> AttributeProto.g -> GraphProto ... 5000 levels,
    // built from the inside out: each level's headers, then the bytes written outermost first.
    const levels: number[][] = [];
    let len = 0;
    for (let i = 0; i < 5000; i++) {
      const attr = [0x32, ...varint(len)]; // AttributeProto.g = 6
      const node = [0x2a, ...varint(attr.length + len)]; // NodeProto.attribute = 5
      const graphHead = [0x0a, ...varint(node.length + attr.length + len)]; // GraphProto.node = 1
      levels.push([...graphHead, ...node, ...attr]);
      len += graphHead.length + node.length + attr.length;
    }
    const graph = new Uint8Array(len);
    let at = 0;
    for (let i = levels.length - 1; i >= 0; i--) {
      graph.set(levels[i], at);
      at += levels[i].length;
    }
    const file = put('deep.onnx', Buffer.concat([Uint8Array.from([0x08, 0x08, 0x3a, ...varint(graph.length)]), graph]));
    assertReadError(await readModelIsolated(file, 5000), file, /nests messages too deeply/, /corrupt or hostile/);
    // Unknown groups nested as deeply (skipped fields) are refused the same way.
    const groups = new Uint8Array(2 + 2 * 100_000);
    groups.set([0x08, 0x08]);
    for (let i = 0; i < 100_000; i++) groups.set([0xfb, 0x07], 2 + 2 * i); // field 127, start group
    const file2 = put('groups.onnx', groups);
    assertReadError(await readModelIsolated(file2, 5000), file2, /nests messages too deeply/);
  });

  it('a model nested to a realistic depth (10 If levels) still reads', async () => {
    let inner = new GraphBuilder('leaf').node('Identity', ['x'], ['o0']).output('o0', DataType.FLOAT, [1]);
    for (let d = 1; d <= 10; d++) {
      const other = new GraphBuilder(`e${d}`).node('Identity', ['x'], [`e${d}`]).output(`e${d}`, DataType.FLOAT, [1]);
      inner = new GraphBuilder(`l${d}`).node('If', ['c'], [`o${d}`], { then_branch: inner, else_branch: other }).output(`o${d}`, DataType.FLOAT, [1]);
    }
    const bytes = modelBytes(inner.input('x', DataType.FLOAT, [1]).input('c', DataType.BOOL, []));
    const model = decodeModel(bytes);
    assert.strictEqual(summarizeModel(model).nodes.total, 21);
  });

  it('errors from decodeModel are OnnxCompressErrors with the label, for buffers too', () => {
    assert.throws(
      () => decodeModel(seededBytes(3, 100), { label: 'upload.onnx' }),
      (e: unknown) => e instanceof ModelReadError && e instanceof OnnxCompressError && e.message.startsWith('upload.onnx: '),
    );
    assert.throws(
      () => decodeModel(seededBytes(3, 100)),
      (e: unknown) => e instanceof ModelReadError && e.message.startsWith('model: '),
    );
  });
});

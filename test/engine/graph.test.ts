import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { OnnxCompressError } from '../../src/core/errors';
import { DataType, dataTypeName } from '../../src/core/onnx/dataTypes';
import { inferElementTypes } from '../../src/core/onnx/elementTypes';
import { GraphIndex } from '../../src/core/onnx/graph';
import { decodeModel, type OnnxModel } from '../../src/core/onnx/model';
import { summarizeModel } from '../../src/core/onnx/summary';
import type { GraphProto } from '../../src/core/onnx/types';
import { allGraphs } from '../../src/core/onnx/walk';
import { probeRun } from '../../src/core/runtime/probe';
import { float, floats, GraphBuilder, modelBytes, tensor, type ModelOptions } from '../fixtures/builder';
import { ort, runOrt } from '../support/helpers';

const TESTDATA = '/usr/lib/python3/dist-packages/onnx/backend/test/data/node';

/** The model as decoded, and a second copy with every declared type of outputs and value_info removed. */
function withAndWithoutDeclaredTypes(bytes: Uint8Array): { model: OnnxModel; stripped: OnnxModel } {
  const model = decodeModel(bytes);
  const stripped = decodeModel(bytes);
  for (const { graph } of allGraphs(stripped.proto)) {
    for (const o of graph.output) delete o.type;
    graph.value_info.length = 0;
  }
  return { model, stripped };
}

interface TypeCheck {
  compared: number;
  mismatches: string[];
  unresolved: string[];
  notReported: string[];
}

/**
 * Infers the element type of every main-graph node output without the declared output types,
 * then exposes every node output (untyped, so onnxruntime decides) in one probe run and compares.
 */
async function checkAgainstOrt(bytes: Uint8Array, label: string): Promise<TypeCheck> {
  const { model, stripped } = withAndWithoutDeclaredTypes(bytes);
  const { types, unresolved } = inferElementTypes(new GraphIndex(stripped.proto.graph!));
  const wanted = model.proto.graph!.node.flatMap((n) => n.output).filter(Boolean);
  const probed = await probeRun(model, wanted); // no elemTypes: every value exposed untyped
  const out: TypeCheck = { compared: 0, mismatches: [], unresolved: [], notReported: [] };
  for (const name of wanted) {
    const ortType = probed.types.get(name);
    const ours = types.get(name);
    const op = model.proto.graph!.node.find((n) => n.output.includes(name))!.op_type;
    if (ortType === undefined) {
      if (probed.shapes.has(name)) out.notReported.push(`${label}: ${name} (${op})`);
      continue;
    }
    if (ours === undefined) {
      out.unresolved.push(`${label}: ${name} (${op}) onnxruntime ${dataTypeName(ortType)}, ours unresolved: ${unresolved.get(name)}`);
      continue;
    }
    out.compared++;
    if (ours !== ortType) out.mismatches.push(`${label}: ${name} (${op}) inferred ${dataTypeName(ours)}, onnxruntime ${dataTypeName(ortType)}`);
  }
  return out;
}

/** Loop (trip 3) whose body holds an If; both read outer-scope values. y = x + 3 * 2x. */
function loopWithIf(): GraphBuilder {
  const thenB = new GraphBuilder('then').node('Add', ['acc', 'scale'], ['t_out'], {}, { name: 'then_add' }).output('t_out', DataType.FLOAT, [3]);
  const elseB = new GraphBuilder('else').node('Sub', ['acc', 'scale'], ['e_out'], {}, { name: 'else_sub' }).output('e_out', DataType.FLOAT, [3]);
  const body = new GraphBuilder('body')
    .input('iter', DataType.INT64, [])
    .input('c', DataType.BOOL, [])
    .input('acc', DataType.FLOAT, [3])
    .node('If', ['flag'], ['branch_out'], { then_branch: thenB, else_branch: elseB }, { name: 'branch' })
    .node('Identity', ['c'], ['c_out'], {}, { name: 'keep_cond' })
    .node('Identity', ['branch_out'], ['scan_v'], {}, { name: 'scan_id' })
    .output('c_out', DataType.BOOL, [])
    .output('branch_out', DataType.FLOAT, [3])
    .output('scan_v', DataType.FLOAT, [3]);
  return (
    new GraphBuilder('main')
      .input('x', DataType.FLOAT, [3])
      .initializer('trip', DataType.INT64, [], BigInt64Array.of(3n))
      .initializer('cond0', DataType.BOOL, [], Uint8Array.of(1))
      .initializer('flag', DataType.BOOL, [], Uint8Array.of(1))
      .initializer('two', DataType.FLOAT, [], Float32Array.of(2))
      // The Loop comes first, but reads 'scale' (made by the next node) from inside its body.
      .node('Loop', ['trip', 'cond0', 'x'], ['acc_final', 'scan_out'], { body }, { name: 'loop' })
      .node('Mul', ['x', 'two'], ['scale'], {}, { name: 'mkscale' })
      .node('Identity', ['acc_final'], ['y'], {}, { name: 'out' })
      .valueInfo('scale', DataType.FLOAT, [3])
      .output('y', DataType.FLOAT, [3])
      .output('scan_out', DataType.FLOAT, [3, 3])
  );
}

function seededShuffle<T>(items: T[], seed: number): T[] {
  const a = [...items];
  let s = seed >>> 0;
  for (let i = a.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

describe('graph index and element types', () => {
  describe('GraphIndex', () => {
    it('producers, consumers, initializers, inputs and outputs', () => {
      const g = new GraphBuilder('g')
        .input('x', DataType.FLOAT, [2])
        .initializer('w', DataType.FLOAT, [2], Float32Array.of(1, 2))
        .node('Add', ['x', 'x'], ['a'], {}, { name: 'sq' })
        .node('Mul', ['a', 'w'], ['b'], {}, { name: 'scale' })
        .node('Add', ['a', 'b'], ['y'], {}, { name: 'sum' })
        .node('TopK', ['y', 'k'], ['vals', ''], { axis: 0 }, { name: 'top' })
        .initializer('k', DataType.INT64, [1], BigInt64Array.of(1n))
        .output('y', DataType.FLOAT, [2]);
      const index = new GraphIndex(g.build());
      assert.deepStrictEqual(
        [...index.producer],
        [
          ['a', 0],
          ['b', 1],
          ['y', 2],
          ['vals', 3],
        ],
      );
      assert.deepStrictEqual(index.consumers.get('x'), [0], 'a node reading a value twice is one consumer');
      assert.deepStrictEqual(index.consumers.get('a'), [1, 2]);
      assert.deepStrictEqual(index.consumers.get('w'), [1]);
      assert.deepStrictEqual(index.consumers.get('y'), [3]);
      assert.strictEqual(index.consumers.get('vals'), undefined);
      assert.strictEqual(index.consumers.has(''), false, 'empty (omitted optional) names are not values');
      assert.deepStrictEqual([...index.initializers.keys()], ['w', 'k']);
      assert.deepStrictEqual([...index.inputs.keys()], ['x']);
      assert.deepStrictEqual([...index.outputs.keys()], ['y']);
      assert.strictEqual(index.outerRefs.size, 0);
      assert.ok(index.definesLocally('w') && index.definesLocally('x') && index.definesLocally('b') && !index.definesLocally('zz'));
      assert.deepStrictEqual(index.topologicalOrder(), [0, 1, 2, 3], 'a sorted graph keeps its order');
    });

    it('orders a shuffled graph so every node follows its producers; onnxruntime agrees on the result', async () => {
      const g = new GraphBuilder('chain').input('x', DataType.FLOAT, [4]);
      // A chain with diamonds: v{i+1} = (v_i + v_i) * v_{i-1}
      g.node('Identity', ['x'], ['v0']).node('Neg', ['x'], ['v1']);
      for (let i = 1; i < 12; i++) {
        g.node('Add', [`v${i}`, `v${i}`], [`d${i}`])
          .node('Mul', [`d${i}`, `v${i - 1}`], [`p${i}`])
          .node('Tanh', [`p${i}`], [`v${i + 1}`]);
      }
      g.output('v12', DataType.FLOAT, [4]);
      const sorted = g.build();
      const shuffled: GraphProto = { ...sorted, node: seededShuffle(sorted.node, 7) };
      assert.notDeepStrictEqual(
        shuffled.node.map((n) => n.output[0]),
        sorted.node.map((n) => n.output[0]),
      );
      const index = new GraphIndex(shuffled);
      const order = index.topologicalOrder();
      assert.strictEqual(order.length, shuffled.node.length);
      assert.deepStrictEqual(
        [...order].sort((a, b) => a - b),
        shuffled.node.map((_, i) => i),
        'a permutation',
      );
      const seen = new Set(['x']);
      for (const i of order) {
        for (const name of shuffled.node[i].input) assert.ok(seen.has(name), `${shuffled.node[i].name} reads ${name} before it is made`);
        for (const name of shuffled.node[i].output) seen.add(name);
      }
      assert.strictEqual(index.topologicalOrder(), order, 'cached');

      // Reordered by the index, the model runs as the original does.
      const reordered = new GraphBuilder('r');
      Object.assign(reordered.build(), { ...shuffled, node: order.map((i) => shuffled.node[i]) });
      const feeds = { x: new ort.Tensor('float32', Float32Array.of(0.1, -0.2, 0.3, 0.5), [4]) };
      assert.deepStrictEqual(await runOrt(modelBytes(reordered), feeds), await runOrt(modelBytes(g), feeds));
    });

    it('reports a cycle naming the graph and the nodes', () => {
      const g = new GraphBuilder('cyc')
        .input('x', DataType.FLOAT, [1])
        .node('Relu', ['x'], ['ok'], {}, { name: 'fine' })
        .node('Add', ['b', 'x'], ['a'], {}, { name: 'first' })
        .node('Add', ['a', 'ok'], ['b'], {}, { name: 'second' })
        .output('a', DataType.FLOAT, [1]);
      assert.throws(
        () => new GraphIndex(g.build()).topologicalOrder(),
        (e: unknown) =>
          e instanceof OnnxCompressError &&
          /graph main/.test(e.message) &&
          /cycle/.test(e.message) &&
          e.message.includes("'first'") &&
          e.message.includes("'second'") &&
          !e.message.includes("'fine'"),
      );
    });

    it('a node that reads its own output is a cycle too', async () => {
      const g = new GraphBuilder('self')
        .input('x', DataType.FLOAT, [1])
        .node('Add', ['x', 'a'], ['a'], {}, { name: 'selfish' })
        .output('a', DataType.FLOAT, [1]);
      // onnxruntime refuses the model...
      await assert.rejects(runOrt(modelBytes(g), { x: new ort.Tensor('float32', Float32Array.of(1), [1]) }));
      // ...and so must the index, instead of ordering it as if it were fine.
      assert.throws(
        () => new GraphIndex(g.build()).topologicalOrder(),
        (e: unknown) => e instanceof OnnxCompressError && /cycle/.test(e.message) && e.message.includes("'selfish'"),
      );
    });

    it('a cycle inside a subgraph names the subgraph', () => {
      const body = new GraphBuilder('then')
        .node('Neg', ['q'], ['p'], {}, { name: 'p1' })
        .node('Neg', ['p'], ['q'], {}, { name: 'q1' })
        .output('p', DataType.FLOAT, [1]);
      const els = new GraphBuilder('else').node('Identity', ['x'], ['e']).output('e', DataType.FLOAT, [1]);
      const g = new GraphBuilder('m')
        .input('x', DataType.FLOAT, [1])
        .input('c', DataType.BOOL, [])
        .node('If', ['c'], ['y'], { then_branch: body, else_branch: els }, { name: 'gate' })
        .output('y', DataType.FLOAT, [1]);
      const index = new GraphIndex(g.build());
      assert.deepStrictEqual(index.topologicalOrder(), [0]);
      const thenIdx = index.subgraphs.find((s) => s.attribute === 'then_branch')!.index;
      assert.throws(
        () => thenIdx.topologicalOrder(),
        (e: unknown) => e instanceof Error && e.message.includes('graph main/gate.then_branch') && /cycle/.test(e.message),
      );
    });

    it('indexes If inside Loop recursively, with outer references and implicit inputs', async () => {
      const model = decodeModel(modelBytes(loopWithIf(), { opset: 13 }));
      const main = new GraphIndex(model.proto.graph!);
      assert.deepStrictEqual(
        [...main.allIndexes()].map((i) => i.path),
        ['main', 'main/loop.body', 'main/loop.body/branch.then_branch', 'main/loop.body/branch.else_branch'],
      );
      const body = main.subgraphs[0].index;
      assert.deepStrictEqual({ node: main.subgraphs[0].node, attribute: main.subgraphs[0].attribute }, { node: 0, attribute: 'body' });
      assert.strictEqual(body.parent, main);
      const [thenRef, elseRef] = body.subgraphs;
      assert.deepStrictEqual([thenRef.node, thenRef.attribute, elseRef.node, elseRef.attribute], [0, 'then_branch', 0, 'else_branch']);
      assert.strictEqual(thenRef.index.parent, body);

      // Branches read the Loop's carried value (from the body) and 'scale' (from the main graph).
      assert.deepStrictEqual([...thenRef.index.outerRefs].sort(), ['acc', 'scale']);
      assert.deepStrictEqual([...elseRef.index.outerRefs].sort(), ['acc', 'scale']);
      assert.deepStrictEqual([...body.implicitInputs.get(0)!].sort(), ['acc', 'scale']);
      // The body defines 'acc' itself; 'flag' (If's condition) and 'scale' come from outside.
      assert.deepStrictEqual([...body.outerRefs].sort(), ['flag', 'scale']);
      assert.deepStrictEqual([...main.implicitInputs.get(0)!].sort(), ['flag', 'scale']);
      assert.strictEqual(main.outerRefs.size, 0);
      assert.deepStrictEqual(main.consumers.get('scale'), [0], 'the Loop consumes scale through its body');
      assert.deepStrictEqual(main.consumers.get('flag'), [0]);
      assert.deepStrictEqual(body.consumers.get('acc'), [0]);
      // So the Loop must wait for the node that makes 'scale', listed after it.
      assert.deepStrictEqual(main.topologicalOrder(), [1, 0, 2]);

      // value_info lookup walks out through the enclosing scopes.
      assert.strictEqual(thenRef.index.valueInfo('scale')?.type?.tensor_type?.elem_type, DataType.FLOAT, 'main value_info from a branch');
      assert.strictEqual(thenRef.index.valueInfo('acc')?.type?.tensor_type?.elem_type, DataType.FLOAT, 'body input from a branch');
      assert.strictEqual(thenRef.index.valueInfo('x')?.name, 'x');
      assert.strictEqual(thenRef.index.valueInfo('t_out')?.name, 't_out');
      assert.strictEqual(body.valueInfo('t_out'), undefined, 'an inner value is not visible outside');
      assert.strictEqual(thenRef.index.valueInfo('nope'), undefined);

      // The model is valid: onnxruntime runs it. y = x + 3 * 2x; scan rows x + 2x * k.
      const x = Float32Array.of(1, -2, 0.5);
      const r = await runOrt(modelBytes(loopWithIf(), { opset: 13 }), { x: new ort.Tensor('float32', x, [3]) });
      assert.deepStrictEqual(
        r.y.data,
        Array.from(x, (v) => 7 * v),
      );
      assert.deepStrictEqual(
        r.scan_out.data,
        [1, 2, 3].flatMap((k) => Array.from(x, (v) => v + 2 * v * k)),
      );
    });
  });

  describe('inferElementTypes', () => {
    /** Ops whose output type differs from their first input's. */
    function typeZoo(): GraphBuilder {
      const thenB = new GraphBuilder('then').node('Cast', ['x'], ['ti64'], { to: DataType.INT64 }).output('ti64', DataType.INT64, [4]);
      const elseB = new GraphBuilder('else').node('Shape', ['x'], ['eshape']).output('eshape', DataType.INT64, [1]);
      const body = new GraphBuilder('body')
        .input('i', DataType.INT64, [])
        .input('c', DataType.BOOL, [])
        .input('v', DataType.INT32, [4])
        .node('Add', ['v', 'one_i32'], ['v2'])
        .node('Identity', ['c'], ['c2'])
        .node('Cast', ['i'], ['i_f16'], { to: DataType.FLOAT16 })
        .output('c2', DataType.BOOL, [])
        .output('v2', DataType.INT32, [4])
        .output('i_f16', DataType.FLOAT16, []);
      return new GraphBuilder('zoo')
        .input('x', DataType.FLOAT, [4])
        .initializer('s', DataType.FLOAT, [], Float32Array.of(0.05))
        .initializer('s16', DataType.FLOAT16, [], Uint16Array.of(0x2a66)) // ~0.05
        .initializer('zp8', DataType.INT8, [], Int8Array.of(-3))
        .initializer('k', DataType.INT64, [1], BigInt64Array.of(2n))
        .initializer('flag', DataType.BOOL, [], Uint8Array.of(0))
        .initializer('trip', DataType.INT64, [], BigInt64Array.of(2n))
        .initializer('one_i32', DataType.INT32, [], Int32Array.of(1))
        .initializer('depth', DataType.INT64, [], BigInt64Array.of(3n))
        .initializer('onoff', DataType.FLOAT, [2], Float32Array.of(0, 1))
        .node('Cast', ['x'], ['xi'], { to: DataType.INT32 })
        .node('CastLike', ['x', 'zp8'], ['x_like'])
        .node('Shape', ['x'], ['sh'])
        .node('Size', ['x'], ['sz'])
        .node('Equal', ['xi', 'xi'], ['eq'])
        .node('Greater', ['x', 's'], ['gt'])
        .node('IsNaN', ['x'], ['nan'])
        .node('QuantizeLinear', ['x', 's', 'zp8'], ['q_i8'])
        .node('QuantizeLinear', ['x', 's'], ['q_u8'])
        .node('DequantizeLinear', ['q_i8', 's', 'zp8'], ['dq'])
        .node('DequantizeLinear', ['q_i8', 's16', 'zp8'], ['dq16'])
        .node('DynamicQuantizeLinear', ['x'], ['dyn_q', 'dyn_s', 'dyn_zp'])
        .node('TopK', ['x', 'k'], ['top_v', 'top_i'])
        .node('ArgMax', ['x'], ['amax'])
        .node('NonZero', ['x'], ['nz'])
        .node('Where', ['gt', 'xi', 'xi'], ['wh'])
        .node('OneHot', ['top_i', 'depth', 'onoff'], ['oh'])
        .node('Constant', [], ['c_i32'], { value: tensor('', DataType.INT32, [2], Int32Array.of(1, 2)) })
        .node('Constant', [], ['c_int'], { value_int: 5 })
        .node('Constant', [], ['c_floats'], { value_floats: floats([1, 2]) })
        .node('Constant', [], ['c_float'], { value_float: float(1.5) })
        .node('ConstantOfShape', ['sh'], ['cos_i8'], { value: tensor('', DataType.INT8, [1], Int8Array.of(7)) })
        .node('ConstantOfShape', ['sh'], ['cos_default'])
        .node('If', ['flag'], ['if_out'], { then_branch: thenB, else_branch: elseB })
        .node('Loop', ['trip', 'flag', 'xi'], ['loop_v', 'loop_scan'], { body })
        .node('Dropout', ['x'], ['drop', 'mask'])
        .output('dq', DataType.FLOAT, [4]);
    }

    const EXPECTED: Record<string, DataType> = {
      xi: DataType.INT32,
      x_like: DataType.INT8,
      sh: DataType.INT64,
      sz: DataType.INT64,
      eq: DataType.BOOL,
      gt: DataType.BOOL,
      nan: DataType.BOOL,
      q_i8: DataType.INT8,
      q_u8: DataType.UINT8,
      dq: DataType.FLOAT,
      dq16: DataType.FLOAT16,
      dyn_q: DataType.UINT8,
      dyn_s: DataType.FLOAT,
      dyn_zp: DataType.UINT8,
      top_v: DataType.FLOAT,
      top_i: DataType.INT64,
      amax: DataType.INT64,
      nz: DataType.INT64,
      wh: DataType.INT32,
      oh: DataType.FLOAT,
      c_i32: DataType.INT32,
      c_int: DataType.INT64,
      c_floats: DataType.FLOAT,
      c_float: DataType.FLOAT,
      cos_i8: DataType.INT8,
      cos_default: DataType.FLOAT,
      if_out: DataType.INT64,
      loop_v: DataType.INT32,
      loop_scan: DataType.FLOAT16,
      drop: DataType.FLOAT,
      mask: DataType.BOOL,
    };

    it('types every output of ops whose output type differs from input 0', () => {
      const { stripped } = withAndWithoutDeclaredTypes(modelBytes(typeZoo(), { opset: 21, irVersion: 10 }));
      const { types, unresolved } = inferElementTypes(new GraphIndex(stripped.proto.graph!));
      const wrong = Object.entries(EXPECTED)
        .filter(([name, t]) => types.get(name) !== t)
        .map(([name, t]) => `${name}: expected ${dataTypeName(t)}, got ${dataTypeName(types.get(name))}`);
      assert.deepStrictEqual(wrong, []);
      assert.deepStrictEqual([...unresolved.keys()], []);
      // Subgraph values are typed under their own names too.
      assert.strictEqual(types.get('v2'), DataType.INT32);
      assert.strictEqual(types.get('ti64'), DataType.INT64);
      assert.strictEqual(types.get('i_f16'), DataType.FLOAT16);
    });

    it('agrees with onnxruntime on every exposed value of the zoo', async () => {
      const check = await checkAgainstOrt(modelBytes(typeZoo(), { opset: 21, irVersion: 10 }), 'zoo');
      assert.deepStrictEqual(check.mismatches, []);
      assert.deepStrictEqual(check.unresolved, []);
      assert.deepStrictEqual(check.notReported, []);
      assert.strictEqual(check.compared, Object.keys(EXPECTED).length);
    });

    it('types Loop outputs when the body leaves its carried inputs untyped (as ONNX allows)', async () => {
      // ONNX's own function expansions (e.g. Range) declare no type on Loop body inputs: their
      // types are those of the Loop's inputs (iteration count int64, condition bool, then v_initial).
      const body = new GraphBuilder('body')
        .input('i', DataType.INT64, [])
        .input('c', DataType.BOOL, [])
        .input('prev', DataType.INT32, null)
        .node('Add', ['prev', 'step'], ['next'])
        .node('Identity', ['c'], ['c_out'])
        .node('Identity', ['prev'], ['seen'])
        .output('c_out', DataType.BOOL, [])
        .output('next', DataType.INT32, null)
        .output('seen', DataType.INT32, null);
      const bodyProto = body.build();
      delete bodyProto.input[2].type; // 'prev' has no declared type
      const g = new GraphBuilder('m')
        .input('start', DataType.INT32, [])
        .initializer('trip', DataType.INT64, [], BigInt64Array.of(4n))
        .initializer('go', DataType.BOOL, [], Uint8Array.of(1))
        .initializer('step', DataType.INT32, [], Int32Array.of(3))
        .node('Loop', ['trip', 'go', 'start'], ['last', 'all'], { body })
        .output('all', DataType.INT32, [4]);
      const bytes = modelBytes(g, { opset: 13 });
      // onnxruntime accepts it: all = [s, s+3, s+6, s+9].
      const r = await runOrt(bytes, { start: new ort.Tensor('int32', Int32Array.of(1), []) });
      assert.deepStrictEqual(r.all.data, [1, 4, 7, 10]);
      const check = await checkAgainstOrt(bytes, 'untyped loop body');
      assert.deepStrictEqual(check.mismatches, []);
      assert.deepStrictEqual(check.unresolved, [], 'Loop outputs must be typed from the Loop inputs');
    });

    it('values no rule can type are listed as unresolved, with the reason', () => {
      const g = new GraphBuilder('custom')
        .input('x', DataType.FLOAT, [2])
        .node('Mystery', ['x'], ['m'], {}, { domain: 'example.vendor', name: 'mystery_node' })
        .node('Relu', ['m'], ['r'])
        .output('r', DataType.FLOAT, [2]);
      const { stripped } = withAndWithoutDeclaredTypes(modelBytes(g, { opsets: { 'example.vendor': 1 } }));
      const { types, unresolved } = inferElementTypes(new GraphIndex(stripped.proto.graph!));
      assert.strictEqual(types.get('m'), undefined);
      assert.match(unresolved.get('m')!, /no type rule for op example\.vendor::Mystery/);
      assert.match(unresolved.get('r')!, /an input's type is unknown/);
    });
  });

  describe('inferElementTypes against onnxruntime on libonnx test models', function () {
    this.timeout(120_000);
    // Models whose ops change element types (and their function expansions, which chain many ops).
    const pick =
      /^test_(cast|castlike|shape|size|equal|less|greater|not|and|or|xor|isnan|isinf|quantizelinear|dequantizelinear|dynamicquantizelinear|top_k|if|loop|scan|constant|argmax|argmin|nonzero|where|onehot|unique|dropout|maxpool_with|range|matmulinteger|convinteger|qlinear|eyelike|layer_normalization|bernoulli|bitshift|mod|pow|gather|scatter|reduce_sum|compress|clip|identity)/;
    let ran = 0;
    let compared = 0;
    let candidates = 0;
    const mismatches: string[] = [];
    const unresolved: string[] = [];
    const notRun: string[] = [];

    before(async function () {
      if (!fs.existsSync(TESTDATA)) this.skip();
      const names = fs
        .readdirSync(TESTDATA)
        .filter((d) => pick.test(d))
        .sort();
      candidates = names.length;
      for (const name of names) {
        const file = path.join(TESTDATA, name, 'model.onnx');
        if (!fs.existsSync(file)) continue;
        let check: TypeCheck;
        try {
          check = await checkAgainstOrt(fs.readFileSync(file), name);
        } catch {
          notRun.push(name); // onnxruntime refuses the model or the synthetic inputs
          continue;
        }
        ran++;
        compared += check.compared;
        mismatches.push(...check.mismatches);
        unresolved.push(...check.unresolved);
      }
    });

    it('at least 100 models run with synthetic inputs', () => {
      assert.ok(ran >= 100, `only ${ran} of ${candidates} models ran (not run: ${notRun.slice(0, 20).join(', ')})`);
      assert.ok(compared >= ran, `${compared} values compared`);
      console.log(`      ${ran} of ${candidates} models ran; ${compared} node outputs compared with onnxruntime`);
    });

    it('every element type we infer equals the one onnxruntime returns', () => {
      assert.deepStrictEqual(mismatches, [], `${mismatches.length} of ${compared} element types differ from onnxruntime's`);
    });

    it('no value that onnxruntime types is left unresolved', () => {
      // Not wrong, but each is a value that a calibration run cannot expose.
      assert.deepStrictEqual(unresolved, [], `${unresolved.length} values onnxruntime types were left unresolved`);
    });
  });

  describe('summarizeModel', () => {
    it('keeps symbolic dims and counts nested subgraph nodes', () => {
      const g = loopWithIf();
      const proto = g.build();
      proto.input[0] = new GraphBuilder().input('x', DataType.FLOAT, ['batch', 'seq', null, 3]).build().input[0];
      proto.output[0] = new GraphBuilder().output('y', DataType.FLOAT, ['batch', 'seq', null, 3]).build().output[0];
      const s = summarizeModel(decodeModel(modelBytes(g, { opset: 13, producer: 'tests' } as ModelOptions)));
      assert.deepStrictEqual(s.inputs, [{ name: 'x', kind: 'tensor', elemType: 'float32', shape: ['batch', 'seq', null, 3] }]);
      assert.deepStrictEqual(s.outputs[0].shape, ['batch', 'seq', null, 3]);
      assert.deepStrictEqual(s.outputs[1].shape, [3, 3]);
      // main: Loop, Mul, Identity; body: If, Identity x2; branches: Add, Sub.
      assert.strictEqual(s.nodes.total, 8);
      assert.strictEqual(s.nodes.mainGraph, 3);
      assert.strictEqual(s.nodes.subgraphs, 5);
      const ops = Object.fromEntries(s.nodes.byOpType.map((o) => [o.opType, o.count]));
      assert.deepStrictEqual(ops, { Identity: 3, Add: 1, If: 1, Loop: 1, Mul: 1, Sub: 1 });
      assert.strictEqual(s.nodes.byOpType[0].opType, 'Identity', 'most used first');
      assert.strictEqual(s.parameters.tensors, 4);
      assert.deepStrictEqual(s.warnings, []);
    });
  });
});

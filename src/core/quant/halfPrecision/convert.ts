// The half-precision rewrite of a model in memory (docs/quantization.md, section 9). Every node
// that handles float32 values is classified: it computes in half, or it stays in float32 with a
// reason. Each float value then gets one precision: what its producer computes in (graph inputs:
// float32 while the IO types are kept; initializers and Constants: float32 only when a float32
// consumer reads them). Where a reader needs the other precision, one Cast per value and target
// type is put in the reader's graph. If/Loop/Scan bodies follow their node: a converted node has
// half formal inputs and outputs, a kept one keeps its whole body in float32.
import type { NodeDecision, QuantSettings } from '../../../shared/quantResult';
import { createMessage } from '../../onnx/codec';
import { DataType } from '../../onnx/dataTypes';
import { inferElementTypes } from '../../onnx/elementTypes';
import { GraphIndex } from '../../onnx/graph';
import type { OnnxModel } from '../../onnx/model';
import { makeTensor, readTensor, toFloat32 } from '../../onnx/tensor';
import { AttributeType, int64ToNumber, type AttributeProto, type GraphProto, type NodeProto, type TensorProto } from '../../onnx/types';
import type { TensorSink } from '../../onnx/tensorSink';
import { nodeLabel } from '../../onnx/walk';
import { patternMatcher } from '../plan';
import { foldCasts, renameReads } from './casts';
import { ANY_PRECISION_INPUT, CONTROL_FLOW, CONVERTED_DOMAINS, FLOAT32_INPUTS, FLOAT32_OUTPUTS, KEEP_FLOAT32 } from './opRules';
import { batchNormOverflow, encodeHalf, weightReason, weightStats, type HalfMode } from './ranges';

type Precision = 'half' | 'float32';

interface NodeInfo {
  half: boolean;
  reason: string;
  graph: GraphIndex;
  label: string;
}

/** A place that reads a float value and needs it in one precision. */
interface Use {
  graph: GraphIndex;
  value: string;
  need: Precision;
  /** Points the reader at another value (a Cast's output). */
  redirect: (name: string) => void;
  /** The main graph's outputs keep their names: their producer is renamed instead. */
  mainOutput?: boolean;
}

export interface HalfConversion {
  decisions: NodeDecision[];
  warnings: string[];
  unmatchedPatterns: string[];
  /** Casts left in the model after folding. */
  casts: number;
}

const INTEGER_TYPES = new Set<number>([
  DataType.UINT8,
  DataType.INT8,
  DataType.UINT16,
  DataType.INT16,
  DataType.INT32,
  DataType.INT64,
  DataType.UINT32,
  DataType.UINT64,
  DataType.BOOL,
]);
/** Constants up to this size count as scalars in a shape computation (an offset, a divisor). */
const SMALL_CONSTANT = 16;

const attr = (n: NodeProto, name: string) => n.attribute.find((a) => a.name === name);

export function halfType(mode: HalfMode): DataType {
  return mode === 'fp16' ? DataType.FLOAT16 : DataType.BFLOAT16;
}

/**
 * Rewrites `model` (a copy) to compute in half precision. `overflowing` maps observed float
 * activations to the reason they cannot be half (their writers and readers stay float32). With a
 * `sink`, each half initializer goes to the output's data file as soon as it is made.
 */
export function convertGraphToHalf(model: OnnxModel, settings: QuantSettings, overflowing: Map<string, string>, sink?: TensorSink): HalfConversion {
  const mode = settings.mode as HalfMode;
  const target = halfType(mode);
  const warnings: string[] = [];
  const root = new GraphIndex(model.proto.graph!);
  const { types } = inferElementTypes(root);
  const isFloat = (name: string | undefined) => !!name && types.get(name) === DataType.FLOAT;
  const indexes = [...root.allIndexes()];
  const owners = new Map<GraphIndex, NodeProto>();
  for (const g of indexes) for (const s of g.subgraphs) owners.set(s.index, g.nodes[s.node]);

  // Constant values (initializers, Constant nodes) anywhere, by name.
  const constants = new Map<string, TensorProto>();
  const sparse = new Set<string>();
  for (const g of indexes) {
    for (const [name, t] of g.constantTensors()) constants.set(name, t);
    for (const s of g.graph.sparse_initializer) if (s.values?.name) sparse.add(s.values.name);
  }
  const stats = new Map<string, ReturnType<typeof weightStats>>();
  const statsOf = (name: string) => {
    let s = stats.get(name);
    if (!s) {
      s = weightStats(toFloat32(readTensor(constants.get(name)!, model.external)));
      stats.set(name, s);
    }
    return s;
  };
  const constantSize = (name: string) => {
    const t = constants.get(name);
    return t ? t.dims.reduce<number>((p, d) => p * int64ToNumber(d), 1) : Infinity;
  };

  // A BatchNormalization's running statistics tell how large its input gets, data or not.
  const overflow = new Map(overflowing);
  if (mode === 'fp16') {
    for (const g of indexes) {
      for (const n of g.nodes) {
        if (n.op_type !== 'BatchNormalization' || !constants.has(n.input[3]) || !constants.has(n.input[4]) || overflow.has(n.input[0])) continue;
        const why = batchNormOverflow(n, (x) => toFloat32(readTensor(constants.get(x)!, model.external)));
        if (why) overflow.set(n.input[0], why);
      }
    }
  }
  const excludes = settings.exclude.map((p) => ({ p, match: patternMatcher(p), used: false }));
  const info = new Map<NodeProto, NodeInfo>();
  // Float values computed from integers (shape arithmetic): exact in float32 up to 2^24, in
  // float16 only up to 2048.
  const fromIntegers = new Set<string>();

  for (const g of indexes) {
    const owner = owners.get(g);
    const ownerInfo = owner ? info.get(owner) : undefined;
    for (const i of g.topologicalOrder()) {
      const n = g.nodes[i];
      const op = n.op_type ?? '';
      const floatIns = n.input.filter(isFloat);
      const floatOuts = n.output.filter(isFloat);
      if (!floatIns.length && !floatOuts.length && !CONTROL_FLOW.has(op)) continue;
      const label = nodeLabel(n, i);
      const keep = (reason: string) => info.set(n, { half: false, reason, graph: g, label });
      const domain = n.domain ?? '';
      // A body node answers to its own name and to the path the decisions show.
      const qualified = g.path === 'main' ? label : `${g.path}/${label}`;
      const excluded = excludes.find((e) => e.match(label) || e.match(qualified));
      if (excluded) excluded.used = true;
      if (ownerInfo && !ownerInfo.half) keep(`inside ${ownerInfo.label}, which stays float32`);
      else if (excluded) keep(`excluded (${excluded.p})`);
      else if (!CONVERTED_DOMAINS.has(domain)) keep(`an op of domain '${domain}': its half-precision kernels are unknown`);
      else if (KEEP_FLOAT32[op]) keep(KEEP_FLOAT32[op]);
      else if (op === 'Cast' && floatOuts.length && INTEGER_TYPES.has(types.get(n.input[0]) ?? 0)) {
        fromIntegers.add(n.output[0]);
        keep('turns integers into float for a shape or index computation (exact in float32 only)');
      } else if (
        floatIns.some((x) => fromIntegers.has(x)) &&
        floatIns.every((x) => fromIntegers.has(x) || constantSize(x) <= SMALL_CONSTANT) &&
        op !== 'Constant'
      ) {
        for (const o of floatOuts) fromIntegers.add(o);
        keep('part of a shape or index computation on integer values (exact in float32 only)');
      } else {
        const weakWeight =
          mode === 'fp16'
            ? floatIns
                .filter((x) => constants.has(x))
                .map((x) => weightReason(x, statsOf(x)))
                .find((r) => r)
            : undefined;
        const tooLarge = mode === 'fp16' ? [...floatIns, ...floatOuts].map((x) => overflow.get(x)).find((r) => r) : undefined;
        if (weakWeight) keep(weakWeight);
        else if (tooLarge) keep(tooLarge);
        else info.set(n, { half: true, reason: `computes in ${mode === 'fp16' ? 'float16' : 'bfloat16'}`, graph: g, label });
      }
    }
  }

  // Who reads each float value, and in which precision.
  const uses: Use[] = [];
  for (const [n, ni] of info) {
    const op = n.op_type ?? '';
    if (ANY_PRECISION_INPUT.has(op)) continue;
    n.input.forEach((name, k) => {
      if (!isFloat(name)) return;
      const need: Precision = ni.half && !FLOAT32_INPUTS[op]?.includes(k) ? 'half' : 'float32';
      uses.push({ graph: ni.graph, value: name, need, redirect: (x) => (n.input[k] = x) });
    });
  }
  for (const g of indexes) {
    const owner = owners.get(g);
    const need: Precision = owner ? (info.get(owner)?.half ? 'half' : 'float32') : settings.keepIoTypes ? 'float32' : 'half';
    g.graph.output.forEach((o, k) => {
      if (!isFloat(o.name)) return;
      uses.push({ graph: g, value: o.name!, need, redirect: (x) => (g.graph.output[k].name = x), mainOutput: !owner });
    });
  }

  // The precision each float value is stored in.
  const precision = new Map<string, Precision>();
  const readAsFloat32 = new Set(uses.filter((u) => u.need === 'float32').map((u) => u.value));
  for (const g of indexes) {
    const owner = owners.get(g);
    const inputs: Precision = owner ? (info.get(owner)?.half ? 'half' : 'float32') : settings.keepIoTypes ? 'float32' : 'half';
    // An initializer also listed as an input (IR < 4 exports) is a stored value like the others.
    for (const v of g.graph.input) if (isFloat(v.name) && !g.initializers.has(v.name!)) precision.set(v.name!, inputs);
    for (const name of g.initializers.keys()) {
      if (isFloat(name)) precision.set(name, readAsFloat32.has(name) || sparse.has(name) ? 'float32' : 'half');
    }
    for (const n of g.nodes) {
      const ni = info.get(n);
      if (!ni) continue;
      const op = n.op_type ?? '';
      n.output.forEach((o, k) => {
        if (!isFloat(o)) return;
        if (op === 'Constant' && ni.half) precision.set(o, readAsFloat32.has(o) ? 'float32' : 'half');
        else precision.set(o, ni.half && !FLOAT32_OUTPUTS[op]?.includes(k) ? 'half' : 'float32');
      });
    }
  }

  // Names must stay unique across every graph.
  const taken = new Set<string>();
  const nodeNames = new Set<string>();
  for (const g of indexes) {
    for (const n of g.nodes) for (const x of [...n.input, ...n.output, n.name ?? '']) taken.add(x);
    for (const n of g.nodes) nodeNames.add(n.name ?? '');
    for (const v of [...g.graph.input, ...g.graph.output, ...g.graph.value_info]) taken.add(v.name ?? '');
    for (const t of g.graph.initializer) taken.add(t.name ?? '');
  }
  const fresh = (base: string) => {
    let name = base;
    for (let k = 1; taken.has(name); k++) name = `${base}_${k}`;
    taken.add(name);
    return name;
  };
  const castNode = (from: string, to: string, type: number) =>
    createMessage<NodeProto>('NodeProto', {
      op_type: 'Cast',
      // Named after the value it writes; node names must stay unique too.
      name: nodeNames.has(to) ? fresh(`${to}_cast`) : to,
      input: [from],
      output: [to],
      attribute: [createMessage<AttributeProto>('AttributeProto', { name: 'to', type: AttributeType.INT, i: type })],
    });
  const typeOf = (p: Precision) => (p === 'half' ? target : DataType.FLOAT);
  const suffix = (p: Precision) => (p === 'half' ? mode : 'fp32');

  const castsFor = new Map<string, string>();
  for (const u of uses) {
    const have = precision.get(u.value);
    if (!have || have === u.need) continue;
    if (u.mainOutput) {
      const p = u.graph.producer.get(u.value);
      if (p === undefined) {
        warnings.push(`the graph output '${u.value}' is an input or a stored tensor: it keeps the precision it has (${have})`);
        continue;
      }
      // The producer writes a renamed value; a Cast writes the output under its own name.
      const renamed = fresh(`${u.value}_${suffix(have)}`);
      renameReads(u.graph.graph, u.value, renamed);
      const producer = u.graph.nodes[p];
      producer.output = producer.output.map((o) => (o === u.value ? renamed : o));
      for (const v of u.graph.graph.value_info) if (v.name === u.value) v.name = renamed;
      precision.set(renamed, have);
      precision.set(u.value, u.need);
      u.graph.graph.node.push(castNode(renamed, u.value, typeOf(u.need)));
      continue;
    }
    const key = `${u.graph.path}\u0000${u.value}\u0000${u.need}`;
    let cast = castsFor.get(key);
    if (!cast) {
      cast = fresh(`${u.value}_${suffix(u.need)}`);
      castsFor.set(key, cast);
      precision.set(cast, u.need);
      u.graph.graph.node.push(castNode(u.value, cast, typeOf(u.need)));
    }
    u.redirect(cast);
  }

  // Stored values, attributes and declared types follow the precisions chosen.
  let clamped = 0;
  const toHalf = (t: TensorProto): TensorProto => {
    const r = encodeHalf(toFloat32(readTensor(t, model.external)), mode);
    clamped += r.clamped;
    const dims = t.dims.map((d) => int64ToNumber(d));
    return Object.assign(makeTensor({ name: t.name ?? '', dataType: target, dims, values: r.bits }), t.doc_string ? { doc_string: t.doc_string } : {});
  };
  for (const g of indexes) {
    g.graph.initializer = g.graph.initializer.map((t) => {
      if (t.data_type !== DataType.FLOAT || precision.get(t.name ?? '') !== 'half') return t;
      const half = toHalf(t);
      sink?.put(half);
      return half;
    });
    for (const n of g.nodes) {
      const ni = info.get(n);
      if (!ni?.half) continue;
      const out = n.output[0];
      if (n.op_type === 'Constant' && precision.get(out) === 'half') halfConstant(n, toHalf, target);
      else if (n.op_type === 'Cast' && precision.get(out) === 'half') attr(n, 'to')!.i = target;
      else if (n.op_type === 'ConstantOfShape' && precision.get(out) === 'half') {
        const value = attr(n, 'value');
        if (value?.t) value.t = toHalf(value.t);
        else n.attribute.push(createMessage<AttributeProto>('AttributeProto', { name: 'value', type: AttributeType.TENSOR, t: toHalf(zeroTensor()) }));
      }
    }
    for (const v of [...g.graph.input, ...g.graph.output, ...g.graph.value_info]) {
      const tt = v.type?.tensor_type;
      if (tt?.elem_type === DataType.FLOAT && precision.get(v.name ?? '') === 'half') tt.elem_type = target;
    }
  }
  if (clamped) {
    warnings.push(
      `${clamped} stored value${clamped > 1 ? 's were' : ' was'} beyond ${mode}'s largest finite value and ${clamped > 1 ? 'were' : 'was'} clamped to ±${mode === 'fp16' ? '65504' : '3.39e38'} (never Inf)`,
    );
  }
  for (const g of indexes) sortGraph(g.graph);
  const casts = foldCasts(model.proto.graph!);

  const decisions: NodeDecision[] = [...info.entries()]
    .filter(([n]) => n.op_type !== 'Constant')
    .map(([n, ni]) => ({
      node: ni.graph.path === 'main' ? ni.label : `${ni.graph.path}/${ni.label}`,
      opType: n.op_type ?? '',
      quantized: ni.half,
      reason: ni.reason,
    }));
  return { decisions, warnings, unmatchedPatterns: excludes.filter((e) => !e.used).map((e) => e.p), casts };
}

function zeroTensor(): TensorProto {
  return makeTensor({ name: '', dataType: DataType.FLOAT, dims: [1], values: new Float32Array(1) });
}

/** A float Constant's value, in whichever attribute it is, as a half tensor. */
function halfConstant(n: NodeProto, toHalf: (t: TensorProto) => TensorProto, target: DataType): void {
  const value = attr(n, 'value');
  if (value?.t) {
    if (value.t.data_type === DataType.FLOAT) value.t = toHalf(value.t);
    return;
  }
  const single = attr(n, 'value_float');
  const many = attr(n, 'value_floats');
  const values = single ? new Float32Array([single.f ?? 0]) : new Float32Array(many?.floats ?? []);
  const dims = single ? [] : [values.length];
  const t = toHalf(makeTensor({ name: '', dataType: DataType.FLOAT, dims, values }));
  n.attribute = [createMessage<AttributeProto>('AttributeProto', { name: 'value', type: AttributeType.TENSOR, t: { ...t, data_type: target } })];
}

/** Puts the nodes of one graph (Casts were appended) in an order where writers come first. */
function sortGraph(graph: GraphProto): void {
  const order = new GraphIndex(graph).topologicalOrder();
  const nodes = graph.node;
  graph.node = order.map((i) => nodes[i]);
}

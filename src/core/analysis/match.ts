// Which tensors of a quantized model correspond to which of its float original. The static rewrite
// puts QuantizeLinear -> DequantizeLinear on an activation: the Q input is the value "before"
// (float, in the quantized model), the DQ output "after" (what consumers read). The float name is
// the Q input, except for a graph output, which keeps its name on the DQ side (the producer then
// writes NAME_before_QuantizeLinear). Weights are integer initializers read by a DequantizeLinear
// or an integer operator; the QuantResult names the float tensor each was made from.
import { GraphIndex } from '../onnx/graph';
import type { OnnxModel } from '../onnx/model';
import { elementCount, readTensor, tensorDims, toFloat32 } from '../onnx/tensor';
import { int64ToNumber, type NodeProto, type TensorProto } from '../onnx/types';
import { dataTypeName } from '../onnx/dataTypes';
import { blockFloatNameGuess, matchBlockWeights, type BlockWeightMatch } from './blockWeights';

export interface ActivationPair {
  /** The tensor's name in the float model ('' when it has no counterpart there). */
  floatName: string;
  before: string;
  after: string;
  /** The node of the float model producing it ('' for a graph input) and its op type. */
  node: string;
  opType: string;
  /** Float-model nodes reading the tensor. */
  consumers: string[];
  type: string;
  scale: number;
  zeroPoint: number;
}

export interface QuantizedWeight {
  floatName: string;
  quantizedName: string;
  /** Nodes of the quantized model reading the dequantized value. */
  consumers: string[];
  type: string;
  axis: number | null;
  scales: Float32Array;
  zeroPoints: Float64Array;
  /** Reads the integer values (as floats) when asked: a model's weights are compared one at a
   *  time, so that a large model's are never all in memory at once. */
  quantized: () => Float32Array;
  /** Elements of the integer tensor. */
  elements: number;
  dims: number[];
}

export interface ModelMatch {
  activations: ActivationPair[];
  weights: QuantizedWeight[];
  /** Weights quantized in blocks (MatMulNBits, GatherBlockQuantized, blocked DequantizeLinear). */
  blockWeights: BlockWeightMatch[];
  unmatched: Array<{ tensor: string; reason: string }>;
  /** Float model's tensors (graph inputs and node outputs) in topological order, by position. */
  order: Map<string, number>;
}

/** The float tensor an integer initializer holds, or undefined when it was not made from one. */
export type FloatNameOf = (quantizedName: string) => string | undefined;

const LEGACY_SUFFIX = /_quantized(_\d+)?$/;

/**
 * The QuantResult's record of which tensor became which integer initializer. Without one (a
 * result written before it was recorded, or a model quantized elsewhere), the name the rewrites
 * give them, W_quantized (W_quantized_1 ...) for W, or W_Q4 / W_DQ_Q4 for a block-quantized W, is
 * read backwards: the one place that guesses.
 */
export function floatNameOf(quantizedNames?: Record<string, string>): FloatNameOf {
  if (quantizedNames) return (q) => (Object.prototype.hasOwnProperty.call(quantizedNames, q) ? quantizedNames[q] : undefined);
  return (q) => (LEGACY_SUFFIX.test(q) ? q.replace(LEGACY_SUFFIX, '') : blockFloatNameGuess(q));
}

const isQ = (n: NodeProto) => n.op_type === 'QuantizeLinear';
const isDQ = (n: NodeProto) => n.op_type === 'DequantizeLinear';

/** A constant's type and shape, and a reader of its values, without reading them now. */
function constantInfo(
  index: GraphIndex,
  constants: Map<string, TensorProto>,
  name: string,
  model: OnnxModel,
): { read: () => Float32Array; dims: number[]; type: number } | undefined {
  const t = constants.get(name) ?? index.initializers.get(name);
  if (!t) return undefined;
  return { read: () => toFloat32(readTensor(t, model.external)), dims: tensorDims(t), type: t.data_type ?? 0 };
}

function constantValues(
  index: GraphIndex,
  constants: Map<string, TensorProto>,
  name: string,
  model: OnnxModel,
): { values: Float32Array; dims: number[]; type: number } | undefined {
  const t = constants.get(name) ?? index.initializers.get(name);
  if (!t) return undefined;
  const data = readTensor(t, model.external);
  return { values: toFloat32(data), dims: tensorDims(t), type: data.dataType };
}

function axisOf(n: NodeProto, rank: number): number {
  const a = n.attribute.find((x) => x.name === 'axis');
  const axis = a?.i !== undefined ? int64ToNumber(a.i) : 1;
  return axis < 0 ? axis + rank : axis;
}

export function matchModels(float: OnnxModel, quant: OnnxModel, floatName: FloatNameOf = floatNameOf()): ModelMatch {
  const fIndex = new GraphIndex(float.proto.graph!);
  const qIndex = new GraphIndex(quant.proto.graph!);
  const qConstants = qIndex.constantTensors();
  const fConstants = fIndex.constantTensors();
  const fNodes = float.proto.graph!.node;
  const order = new Map<string, number>();
  for (const i of fIndex.inputs.keys()) if (!fIndex.initializers.has(i)) order.set(i, order.size);
  for (const i of fIndex.topologicalOrder()) for (const o of fNodes[i].output) if (o) order.set(o, order.size);
  const known = (name: string) => order.has(name);

  const activations: ActivationPair[] = [];
  const weights: QuantizedWeight[] = [];
  const unmatched: ModelMatch['unmatched'] = [];
  const seen = new Set<string>();
  const qNodes = quant.proto.graph!.node;
  for (const q of qNodes.filter(isQ)) {
    const before = q.input[0];
    const consumers = qIndex.consumers.get(q.output[0]) ?? [];
    const dq = consumers.map((c) => qNodes[c]).find(isDQ);
    if (!dq || qConstants.has(before)) continue;
    const after = dq.output[0];
    const floatName = known(before) ? before : known(after) ? after : '';
    if (seen.has(floatName || before)) continue; // one pair per consumer: the first one stands for all
    seen.add(floatName || before);
    const scale = constantValues(qIndex, qConstants, q.input[1], quant);
    const zp = q.input[2] ? constantValues(qIndex, qConstants, q.input[2], quant) : undefined;
    if (!scale || scale.values.length !== 1) {
      unmatched.push({ tensor: before, reason: 'its QuantizeLinear has no constant per-tensor scale' });
      continue;
    }
    const producer = floatName ? fIndex.producer.get(floatName) : undefined;
    const pn = producer !== undefined ? fNodes[producer] : undefined;
    if (!floatName) unmatched.push({ tensor: before, reason: 'quantized in the quantized model but absent from the float model' });
    activations.push({
      floatName,
      before,
      after,
      node: pn ? pn.name || `${pn.op_type}_${producer}` : '',
      opType: pn?.op_type ?? (floatName ? 'input' : ''),
      consumers: (fIndex.consumers.get(floatName) ?? []).map((c) => fNodes[c].name || `${fNodes[c].op_type}_${c}`),
      type: zp ? dataTypeName(zp.type) : 'uint8',
      scale: scale.values[0],
      zeroPoint: zp ? zp.values[0] : 0,
    });
  }

  const blockWeights = matchBlockWeights(quant, floatName, unmatched).filter((w) => {
    if (fConstants.has(w.floatName)) return true;
    unmatched.push({ tensor: w.quantizedName, reason: `block-quantized weight with no float counterpart '${w.floatName}' in the float model` });
    return false;
  });
  // Blocked DequantizeLinear (block_size set) is read above, with the other block formats.
  for (const dq of qNodes.filter((n) => isDQ(n) && !n.attribute.some((a) => a.name === 'block_size'))) {
    const qName = dq.input[0];
    if (!qIndex.initializers.has(qName) && !qConstants.has(qName)) continue;
    const q = constantInfo(qIndex, qConstants, qName, quant)!;
    const source = floatName(qName) ?? qName;
    if (!fConstants.has(source)) {
      unmatched.push({ tensor: qName, reason: `integer initializer with no float counterpart '${source}' in the float model` });
      continue;
    }
    const scale = constantValues(qIndex, qConstants, dq.input[1], quant);
    const zp = dq.input[2] ? constantValues(qIndex, qConstants, dq.input[2], quant) : undefined;
    if (!scale) continue;
    const perAxis = scale.values.length > 1;
    weights.push({
      floatName: source,
      quantizedName: qName,
      consumers: (qIndex.consumers.get(dq.output[0]) ?? []).map((c) => qNodes[c].name || `${qNodes[c].op_type}_${c}`),
      type: dataTypeName(q.type),
      axis: perAxis ? axisOf(dq, q.dims.length) : null,
      scales: scale.values,
      zeroPoints: zp ? Float64Array.from(zp.values) : new Float64Array(scale.values.length),
      quantized: q.read,
      elements: elementCount(q.dims),
      dims: q.dims,
    });
  }
  // Weights read by integer operators directly (dynamic MatMulInteger/ConvInteger, QOperator
  // QLinearConv/QLinearMatMul): the integer initializer made from W, with W_scale and
  // W_zero_point beside it; per channel along the op's output-channel axis.
  const matched = new Set(weights.map((w) => w.quantizedName));
  const integerOps: Record<string, number> = { MatMulInteger: 1, ConvInteger: 1, QLinearConv: 3, QLinearMatMul: 3 };
  for (const [k, n] of qNodes.entries()) {
    const slot = n.op_type ? integerOps[n.op_type] : undefined;
    const qName = slot !== undefined ? n.input[slot] : undefined;
    const source = qName && !matched.has(qName) && qConstants.has(qName) ? floatName(qName) : undefined;
    if (!qName || !source) continue;
    const q = constantInfo(qIndex, qConstants, qName, quant)!;
    const scale = constantValues(qIndex, qConstants, `${source}_scale`, quant);
    const zp = constantValues(qIndex, qConstants, `${source}_zero_point`, quant);
    if (!fConstants.has(source) || !scale) continue;
    matched.add(qName);
    const lastAxis = (n.op_type ?? '').includes('MatMul');
    weights.push({
      floatName: source,
      quantizedName: qName,
      consumers: [n.name || `${n.op_type}_${k}`],
      type: dataTypeName(q.type),
      axis: scale.values.length > 1 ? (lastAxis ? q.dims.length - 1 : 0) : null,
      scales: scale.values,
      zeroPoints: zp ? Float64Array.from(zp.values) : new Float64Array(scale.values.length),
      quantized: q.read,
      elements: elementCount(q.dims),
      dims: q.dims,
    });
  }
  // A float tensor the rewrite would have quantized but the quantized model computes elsewhere.
  for (const qOp of ['QLinearConv', 'QLinearMatMul', 'ConvInteger', 'MatMulInteger', 'DynamicQuantizeLinear']) {
    const n = qNodes.filter((x) => x.op_type === qOp).length;
    if (n)
      unmatched.push({
        tensor: `(${n} ${qOp} node${n > 1 ? 's' : ''})`,
        reason: 'integer operators compute inside one node: their activations have no Q/DQ pair to compare, only the model outputs are compared',
      });
  }
  activations.sort((a, b) => (order.get(a.floatName) ?? Infinity) - (order.get(b.floatName) ?? Infinity));
  return { activations, weights, blockWeights, unmatched, order };
}

/** Reads the float model's constants (weights, biases) by name. */
export function floatConstants(float: OnnxModel): (name: string) => { values: Float32Array; dims: number[] } | undefined {
  const index = new GraphIndex(float.proto.graph!);
  const constants = index.constantTensors();
  return (name) => constantValues(index, constants, name, float);
}

export interface FusedActivation {
  op: string;
  min: number;
  max: number;
}

/** For a float tensor read by one Relu or Clip only: that activation's clamp, which the quantized
 *  model applies through the grid's range (the rewrite gives the tensor the activation's range). */
export function fusedActivations(float: OnnxModel): (tensor: string) => FusedActivation | null {
  const index = new GraphIndex(float.proto.graph!);
  const read = floatConstants(float);
  const nodes = float.proto.graph!.node;
  const scalar = (name: string | undefined, fallback: number) => (name ? (read(name)?.values[0] ?? fallback) : fallback);
  return (tensor) => {
    const consumers = index.consumers.get(tensor) ?? [];
    if (consumers.length !== 1 || index.outputs.has(tensor)) return null;
    const n = nodes[consumers[0]];
    if (n.op_type === 'Relu') return { op: 'Relu', min: 0, max: Infinity };
    if (n.op_type !== 'Clip') return null;
    const attr = (k: string) => n.attribute.find((a) => a.name === k)?.f;
    return { op: 'Clip', min: attr('min') ?? scalar(n.input[1], -Infinity), max: attr('max') ?? scalar(n.input[2], Infinity) };
  };
}

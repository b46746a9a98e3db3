// The QOperator output form (the reference tool's QuantFormat.QOperator): Conv and MatMul are
// written as QLinearConv / QLinearMatMul of the default domain (opset 10+), with QuantizeLinear at
// the entry of each quantized region and DequantizeLinear at its exit, so that the model runs
// integer kernels without relying on onnxruntime's Q/DQ fusion.
//
// The parameters are the QDQ rewriter's: the plan is narrowed to the ops that have a QLinear form,
// the QdqRewriter writes its Q/DQ model, and each DequantizeLinear -> Conv|MatMul -> QuantizeLinear
// pattern is then collapsed into one QLinear node that reads the integer tensors directly (the
// int32 bias of a Conv without its DequantizeLinear). Q/DQ nodes left unread are removed.
import type { NodeDecision } from '../../shared/quantResult';
import { createMessage } from '../onnx/codec';
import { DataType } from '../onnx/dataTypes';
import { GraphIndex } from '../onnx/graph';
import type { OnnxModel } from '../onnx/model';
import { readTensor, tensorDims, toFloat32 } from '../onnx/tensor';
import { int64ToNumber, type GraphProto, type NodeProto, type TensorProto } from '../onnx/types';
import type { PlannedNode, QuantPlan } from './plan';
import { MS_DOMAIN, opsetOf, pruneAndSort } from './qdq';

/** Planned ops written as a QLinear node in this form. */
export const QOPERATOR_OPS: Record<string, string> = { Conv: 'QLinearConv', MatMul: 'QLinearMatMul' };
/** Relu/Clip: their range is given to the Conv/MatMul before them, so the clamp happens in integers. */
const RANGE_DONORS = new Set(['Relu', 'Clip']);

/**
 * Narrows a plan to the ops that have a QLinear form: the others are kept in float, with the reason
 * in their decision. Returns the tensors to calibrate (the activations of the ops kept, plus the
 * Relu/Clip outputs whose ranges they take).
 */
export function restrictPlanToQOperator(plan: QuantPlan): string[] {
  const keep = plan.nodes.filter((p) => p.opType in QOPERATOR_OPS);
  const dropped = new Map(plan.nodes.filter((p) => !(p.opType in QOPERATOR_OPS)).map((p) => [p.name, p]));
  const keptOutputs = new Set(keep.flatMap((p) => p.outputs));
  for (const d of plan.decisions) {
    const p = dropped.get(d.node);
    if (!p || !d.quantized) continue;
    d.quantized = false;
    const donor = RANGE_DONORS.has(p.opType) && [...plan.fusedActivationRanges].some(([from, to]) => keptOutputs.has(from) && p.outputs.includes(to));
    d.reason = `no QLinear form in the qoperator format: kept in float${donor ? ' (its output range is the quantized range of the op before it)' : ''}`;
  }
  plan.nodes = keep;
  // Data-movement ops are no longer quantized: nothing shares their parameters.
  plan.sharedParams.clear();
  for (const from of [...plan.fusedActivationRanges.keys()]) if (!keptOutputs.has(from)) plan.fusedActivationRanges.delete(from);
  const activations: string[] = [];
  for (const p of keep) {
    for (const t of [...p.activationInputs.map((k) => p.inputs[k]), ...p.outputs]) if (!activations.includes(t)) activations.push(t);
  }
  plan.activations = activations;
  const calibrated = [...activations];
  for (const to of plan.fusedActivationRanges.values()) if (!calibrated.includes(to)) calibrated.push(to);
  return calibrated;
}

export interface QOperatorResult {
  /** Planned node name -> the QLinear op it became. */
  converted: Map<string, string>;
  warnings: string[];
}

const EIGHT_BIT = new Set<number>([DataType.UINT8, DataType.INT8]);

function isQdqOp(n: NodeProto, op: string): boolean {
  return n.op_type === op && ((n.domain ?? '') === '' || n.domain === MS_DOMAIN);
}

function axisOf(n: NodeProto): number {
  const a = n.attribute.find((x) => x.name === 'axis');
  return a?.i !== undefined ? int64ToNumber(a.i) : 1;
}

function numel(t: TensorProto | undefined): number {
  return t ? tensorDims(t).reduce((a, b) => a * b, 1) : 0;
}

/**
 * Collapses DequantizeLinear -> Conv|MatMul -> QuantizeLinear into QLinearConv / QLinearMatMul,
 * in a model the QdqRewriter has just written. `planned` maps the planned nodes by their NodeProto.
 */
export function convertToQOperator(model: OnnxModel, planned: Map<NodeProto, PlannedNode>): QOperatorResult {
  const graph = model.proto.graph!;
  const converted = new Map<string, string>();
  const warnings: string[] = [];
  if (opsetOf(model, '') < 10) {
    warnings.push('QLinearConv/QLinearMatMul need opset 10: the model stays in QDQ form');
    return { converted, warnings };
  }
  const index = new GraphIndex(graph);
  const initializers = index.initializers;
  const producerOf = (name: string): NodeProto | undefined => {
    const i = index.producer.get(name);
    return i === undefined ? undefined : index.nodes[i];
  };
  const consumersOf = (name: string): NodeProto[] => (index.consumers.get(name) ?? []).map((i) => index.nodes[i]);
  /** An 8-bit DequantizeLinear feeding `name`: [integer tensor, scale, zero point] and its scale count. */
  const dequantized = (name: string, perTensor: boolean): { inputs: string[]; dq: NodeProto; scales: number } | undefined => {
    const dq = producerOf(name);
    if (!dq || !isQdqOp(dq, 'DequantizeLinear') || dq.input.length < 3 || !dq.input[2]) return undefined;
    const zp = initializers.get(dq.input[2]);
    const scale = initializers.get(dq.input[1]);
    if (!zp || !scale || !EIGHT_BIT.has(zp.data_type ?? 0)) return undefined;
    const scales = numel(scale);
    if (perTensor && scales !== 1) return undefined;
    return { inputs: dq.input.slice(0, 3), dq, scales };
  };
  const graphOutputs = new Set(graph.output.map((o) => o.name ?? ''));
  const replaced = new Map<NodeProto, NodeProto>();
  const removed = new Set<NodeProto>();
  const renames = new Map<string, string>();

  for (const node of index.nodes) {
    const pn = planned.get(node);
    const qop = pn ? QOPERATOR_OPS[node.op_type ?? ''] : undefined;
    if (!pn || !qop || (node.domain ?? '') !== '') continue;
    const y = node.output[0];
    const x = dequantized(node.input[0], true);
    const w = dequantized(node.input[1], false);
    if (!x || !w || graphOutputs.has(y)) continue;
    if (w.scales > 1) {
      // Per channel: Conv along the output channels (axis 0); MatMul per column of a 2-D constant B.
      const wt = initializers.get(w.inputs[0]);
      const rank = wt ? tensorDims(wt).length : 0;
      const ok = qop === 'QLinearConv' ? axisOf(w.dq) === 0 : wt !== undefined && rank === 2 && axisOf(w.dq) === 1;
      if (!ok) continue;
    }
    let bias: string | undefined;
    if (qop === 'QLinearConv' && node.input[2]) {
      const b = producerOf(node.input[2]);
      const bq = b && isQdqOp(b, 'DequantizeLinear') ? initializers.get(b.input[0]) : undefined;
      if (!bq || bq.data_type !== DataType.INT32) continue;
      bias = b!.input[0];
    }
    const qs = consumersOf(y);
    if (
      !qs.length ||
      !qs.every(
        (q) => isQdqOp(q, 'QuantizeLinear') && q.input[0] === y && q.input.length >= 3 && q.input[1] === qs[0].input[1] && q.input[2] === qs[0].input[2],
      )
    )
      continue;
    const out = qs[0];
    const outZp = initializers.get(out.input[2]);
    if (numel(initializers.get(out.input[1])) !== 1 || !outZp || outZp.data_type !== initializers.get(x.inputs[2])?.data_type) continue;
    const inputs = [...x.inputs, ...w.inputs, out.input[1], out.input[2], ...(bias ? [bias] : [])];
    const q = createMessage<NodeProto>('NodeProto', {
      op_type: qop,
      input: inputs,
      output: [out.output[0]],
      name: node.name,
      attribute: qop === 'QLinearConv' ? node.attribute : [],
    });
    replaced.set(node, q);
    for (const other of qs) removed.add(other);
    for (const other of qs.slice(1)) renames.set(other.output[0], out.output[0]);
    converted.set(pn.name, qop);
  }

  graph.node = graph.node.filter((n) => !removed.has(n)).map((n) => replaced.get(n) ?? n);
  if (renames.size) for (const n of graph.node) n.input = n.input.map((i) => renames.get(i) ?? i);
  joinRegions(graph, graphOutputs, new Set(converted.values()));
  // Q/DQ nodes nothing reads any more (the DequantizeLinear before each QLinear input, then the
  // QuantizeLinear of a tensor only those read) go, until none is left.
  for (;;) {
    const after = new GraphIndex(graph);
    const unread = graph.node.filter(
      (n) =>
        (isQdqOp(n, 'DequantizeLinear') || isQdqOp(n, 'QuantizeLinear')) &&
        n.output.every((o) => !graphOutputs.has(o) && !(after.consumers.get(o) ?? []).length),
    );
    if (!unread.length) break;
    graph.node = graph.node.filter((n) => !unread.includes(n));
  }
  const produced = new Set(graph.node.flatMap((n) => n.output));
  graph.value_info = graph.value_info.filter((v) => produced.has(v.name ?? '') || graph.input.some((i) => i.name === v.name));
  pruneAndSort(graph);
  return { converted, warnings };
}

function scalarValue(t: TensorProto | undefined): number | undefined {
  if (!t || numel(t) !== 1) return undefined;
  return toFloat32(readTensor(t))[0];
}

/**
 * Joins quantized regions that only a no-op separates, so that QLinear nodes read each other's
 * integer outputs: a Relu after the DequantizeLinear of a QLinear output whose zero point is the
 * type's minimum (its range starts at 0: the Relu took place in integers) is dropped, then a
 * QuantizeLinear reading a DequantizeLinear with the same scale and zero point is bypassed (the
 * round trip gives back the same integers).
 */
function joinRegions(graph: GraphProto, graphOutputs: Set<string>, qlinearOps: Set<string>): void {
  const rename = (from: string, to: string) => {
    for (const n of graph.node) n.input = n.input.map((i) => (i === from ? to : i));
  };
  let index = new GraphIndex(graph);
  const producerOf = (name: string) => {
    const i = index.producer.get(name);
    return i === undefined ? undefined : index.nodes[i];
  };
  const typeMin = (t: TensorProto | undefined) => (t?.data_type === DataType.UINT8 ? 0 : t?.data_type === DataType.INT8 ? -128 : undefined);
  const drop = new Set<NodeProto>();
  for (const relu of index.nodes) {
    if (relu.op_type !== 'Relu' || (relu.domain ?? '') !== '' || graphOutputs.has(relu.output[0])) continue;
    const dq = producerOf(relu.input[0]);
    if (!dq || !isQdqOp(dq, 'DequantizeLinear') || !qlinearOps.has(producerOf(dq.input[0])?.op_type ?? '')) continue;
    const zp = index.initializers.get(dq.input[2] ?? '');
    if (typeMin(zp) === undefined || scalarValue(zp) !== typeMin(zp)) continue;
    drop.add(relu);
    rename(relu.output[0], relu.input[0]);
  }
  graph.node = graph.node.filter((n) => !drop.has(n));
  index = new GraphIndex(graph);
  for (const q of index.nodes) {
    if (!isQdqOp(q, 'QuantizeLinear') || graphOutputs.has(q.output[0]) || q.input.length < 3) continue;
    const dq = producerOf(q.input[0]);
    if (!dq || !isQdqOp(dq, 'DequantizeLinear') || dq.input.length < 3) continue;
    const [s1, s2] = [index.initializers.get(dq.input[1]), index.initializers.get(q.input[1])];
    const [z1, z2] = [index.initializers.get(dq.input[2]), index.initializers.get(q.input[2])];
    const same =
      scalarValue(s1) !== undefined &&
      scalarValue(s1) === scalarValue(s2) &&
      z1?.data_type === z2?.data_type &&
      scalarValue(z1) !== undefined &&
      scalarValue(z1) === scalarValue(z2);
    if (same) rename(q.output[0], dq.input[0]);
  }
}

/** The decisions of the converted nodes say which QLinear op they became. */
export function describeQOperator(decisions: NodeDecision[], converted: Map<string, string>, planned: PlannedNode[]): void {
  const plannedNames = new Set(planned.map((p) => p.name));
  for (const d of decisions) {
    const op = converted.get(d.node);
    if (op) d.reason = d.reason.replace(/^QDQ/, op);
    else if (d.quantized && plannedNames.has(d.node))
      d.reason = `${d.reason}; left in QDQ form: its inputs or output do not match the ${QOPERATOR_OPS[d.opType] ?? 'QLinear'} pattern`;
  }
}

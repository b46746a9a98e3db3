// Whether a model is quantized already: Q/DQ pairs (QDQ format, or a QAT export), QLinear* ops
// (QOperator format), integer-kernel ops (ConvInteger, MatMulInteger, MatMulNBits, GatherBlockQuantized...) and the
// DynamicQuantizeLinear of dynamic quantization. Quantizing such a model again stacks a second set
// of Q/DQ on the first (onnxruntime then refuses the duplicate node names), so the engine refuses
// it, and the faces can leave such models out of their pickers.
import type { OnnxModel } from '../onnx/model';
import { INTEGER_OPS } from '../onnx/quantInfo';
import type { NodeProto } from '../onnx/types';
import { allGraphs } from '../onnx/walk';

const QDQ_OPS = new Set(['QuantizeLinear', 'DequantizeLinear']);
const QUANTIZED_OPS = new Set([...INTEGER_OPS, ...QDQ_OPS, 'DynamicQuantizeLinear', 'ConvInteger', 'MatMulInteger', 'MatMulNBits', 'GatherBlockQuantized']);

function isQuantizedOp(op: string): boolean {
  return QUANTIZED_OPS.has(op) || op.startsWith('QLinear');
}

/** The quantization ops of a model (every graph, subgraphs and functions too), counted by op
 *  type; empty for a float model. Only the graph structure is read, never tensor data. */
export function quantizedOpsIn(model: Pick<OnnxModel, 'proto'>): Record<string, number> {
  const counts: Record<string, number> = {};
  const count = (nodes: NodeProto[]) => {
    for (const n of nodes) {
      const op = n.op_type ?? '';
      if (isQuantizedOp(op)) counts[op] = (counts[op] ?? 0) + 1;
    }
  };
  for (const { graph } of allGraphs(model.proto)) count(graph.node);
  for (const f of model.proto.functions) count(f.node);
  return counts;
}

export function isQuantizedModel(model: Pick<OnnxModel, 'proto'>): boolean {
  return Object.keys(quantizedOpsIn(model)).length > 0;
}

/** "12 QuantizeLinear/DequantizeLinear nodes, 2 QLinearConv": Q/DQ first, then by count. */
export function describeQuantizedOps(ops: Record<string, number>): string {
  const qdq = (ops.QuantizeLinear ?? 0) + (ops.DequantizeLinear ?? 0);
  const others = Object.entries(ops)
    .filter(([op]) => !QDQ_OPS.has(op))
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return [...(qdq ? [`${qdq} QuantizeLinear/DequantizeLinear node${qdq > 1 ? 's' : ''}`] : []), ...others.map(([op, n]) => `${n} ${op}`)].join(', ');
}

// Raising a model's default-domain opset to 21 for blocked DequantizeLinear (block_size is new in
// DequantizeLinear-21), only where that changes nothing: from opset 13 on, the operators kept their
// meaning up to 21 except the few listed here (attributes that became inputs, renamed modes, a
// changed input shape), which are refused with the node named rather than rewritten.
import { OnnxCompressError } from '../../errors';
import type { OnnxModel } from '../../onnx/model';
import { defaultOpsetVersion } from '../../onnx/opsetUpgrade';
import { int64ToNumber } from '../../onnx/types';
import { allGraphs, nodeLabel } from '../../onnx/walk';

export class Opset21Error extends OnnxCompressError {}

const OLDEST = 13;
/** Op type -> the first opset whose definition it has at 21 in a way an older node may not match. */
const REDUCE_AXES = { since: 18, why: 'axes became an input at opset 18' };
const CHANGED_SINCE_13: Record<string, { since: number; why: string }> = {
  ...Object.fromEntries(
    ['ReduceMax', 'ReduceMin', 'ReduceMean', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceSumSquare'].map((op) => [
      op,
      REDUCE_AXES,
    ]),
  ),
  GridSample: { since: 20, why: 'its modes were renamed at opset 20' },
  DFT: { since: 20, why: 'axis became an input at opset 20' },
  GroupNormalization: { since: 21, why: 'its scale and bias became per channel at opset 21' },
};

/** Returns the opset the model had; raises it to 21 (and the IR version to 10) or throws. */
export function raiseOpsetTo21(model: OnnxModel, nextStep: string): number {
  const from = defaultOpsetVersion(model.proto) ?? 0;
  if (from >= 21) return from;
  const refuse = (why: string) =>
    new Opset21Error(`blocked DequantizeLinear needs opset 21 and this model's opset ${from} cannot be raised to it: ${why}; ${nextStep}`, model.file);
  if (from < OLDEST) throw refuse(`operators changed too much since opset ${from} (13 or newer can be raised)`);
  if (model.proto.functions.length) throw refuse('it has model-local functions, whose opsets are not raised');
  for (const { graph, path } of allGraphs(model.proto)) {
    graph.node.forEach((n, i) => {
      const changed = (!n.domain || n.domain === 'ai.onnx') && CHANGED_SINCE_13[n.op_type ?? ''];
      if (changed && from < changed.since) throw refuse(`${n.op_type} '${nodeLabel(n, i)}' in ${path}: ${changed.why}`);
    });
  }
  for (const o of model.proto.opset_import) if (!o.domain || o.domain === 'ai.onnx') o.version = 21;
  if (int64ToNumber(model.proto.ir_version) < 10) model.proto.ir_version = 10;
  return from;
}

// Whether a quantized model was made from a float model: the same inputs and outputs, and most of
// the float model's node names (the rewrites keep them, or name a replacement after them).
import type { OnnxModel } from '../onnx/model';
import { AnalysisError } from './errors';

const WEIGHT_ONLY_SUFFIX = /_(DQ_|MatMul_)?Q(4|8)(_\d+)?$/;

/** Float and quantized models must take the same inputs, give the same outputs and share the
 *  float model's nodes (the rewrite keeps their names). */
export function checkPair(float: OnnxModel, quant: OnnxModel): void {
  const named = float.proto.graph!.node.map((n) => n.name).filter((n): n is string => !!n);
  // Weight-only quantization names a node's replacement after it: g1 -> g1_Q4, g1_DQ_Q4, g1_MatMul_Q4.
  const kept = new Set(quant.proto.graph!.node.flatMap((n) => [n.name, n.name?.replace(WEIGHT_ONLY_SUFFIX, '')]));
  const found = named.filter((n) => kept.has(n)).length;
  if (named.length && found < named.length / 2) {
    throw new AnalysisError(
      `the quantized model was not made from this float model: only ${found} of the float model's ${named.length} nodes appear in it (by name); give the float model it was quantized from`,
      `${float.file} / ${quant.file}`,
    );
  }
  const io = (m: OnnxModel, which: 'input' | 'output') => {
    const g = m.proto.graph!;
    const init = new Set(g.initializer.map((t) => t.name));
    return g[which]
      .filter((v) => !init.has(v.name))
      .map((v) => `${v.name}:${v.type?.tensor_type?.elem_type ?? '?'}`)
      .sort();
  };
  for (const which of ['input', 'output'] as const) {
    const a = io(float, which);
    const b = io(quant, which);
    if (a.join() !== b.join()) {
      const names = (l: string[]) => l.map((x) => x.replace(/:[^:]*$/, '')).join(', ') || '(none)';
      throw new AnalysisError(
        `the two models do not match: the float model's ${which}s are ${names(a)}, the quantized model's ${names(b)}${a.length === b.length ? ' (or their element types differ)' : ''}; give the float model the quantized one was made from`,
        `${float.file} / ${quant.file}`,
      );
    }
  }
}

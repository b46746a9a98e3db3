// Which nodes weight-only quantization rewrites, and why the others stay in float: MatMul and Gemm
// with a constant float32 2-D B, and Gather on a constant float32 [vocab, dim] table (embeddings).
import type { LayerOverride, NodeDecision, QuantSettings } from '../../../shared/quantResult';
import { DataType } from '../../onnx/dataTypes';
import { GraphIndex } from '../../onnx/graph';
import type { OnnxModel } from '../../onnx/model';
import { tensorDims } from '../../onnx/tensor';
import { int64ToNumber, type AttributeProto, type NodeProto } from '../../onnx/types';
import { nodeLabel } from '../../onnx/walk';
import type { WeightLayout } from '../blockScheme';
import { patternMatcher } from '../plan';
import type { BlockOptions } from './types';

export interface WeightNode {
  /** Index in the main graph's node list. */
  index: number;
  node: NodeProto;
  name: string;
  opType: 'MatMul' | 'Gemm' | 'Gather';
  /** Initializer name of the float weight. */
  weight: string;
  /** The reduced axis (blocks run along it) and the other one: B[K, N]; for a Gather, K = dim, N = vocab. */
  K: number;
  N: number;
  layout: WeightLayout;
  options: BlockOptions;
  /** Gemm: alpha, beta, the bias input C ('' when none). */
  alpha: number;
  beta: number;
  bias: string;
}

export interface WeightNodes {
  nodes: WeightNode[];
  decisions: NodeDecision[];
  unmatchedPatterns: string[];
}

function attr(n: NodeProto, name: string): AttributeProto | undefined {
  return n.attribute.find((a) => a.name === name);
}

function intAttr(n: NodeProto, name: string, fallback: number): number {
  const a = attr(n, name);
  return a?.i !== undefined && a.i !== null ? int64ToNumber(a.i) : fallback;
}

/** The block options of one node: the run's, changed by its layer override. */
export function nodeOptions(settings: QuantSettings, override: LayerOverride | undefined): BlockOptions {
  return { bits: override?.bits ?? settings.bits, blockSize: override?.blockSize ?? settings.blockSize, symmetric: settings.symmetricWeights };
}

export function findWeightNodes(model: OnnxModel, settings: QuantSettings): WeightNodes {
  const index = new GraphIndex(model.proto.graph!);
  const constants = index.constantTensors();
  const exclude = settings.exclude.map((p) => ({ p, match: patternMatcher(p), used: false }));
  const include = settings.include.map((p) => ({ p, match: patternMatcher(p), used: false }));
  const opTypes = new Set(settings.opTypes);
  const nodes: WeightNode[] = [];
  const decisions: NodeDecision[] = [];
  const initializers = new Set(model.proto.graph!.initializer.map((t) => t.name ?? ''));
  index.nodes.forEach((n, i) => {
    const op = n.op_type ?? '';
    if ((op !== 'MatMul' && op !== 'Gemm' && op !== 'Gather') || !opTypes.has(op) || (n.domain ?? '') !== '') return;
    const name = nodeLabel(n, i);
    const skip = (reason: string) => decisions.push({ node: name, opType: op, quantized: false, reason });
    const ex = exclude.find((e) => e.match(name));
    if (ex) {
      ex.used = true;
      return skip(`excluded by '${ex.p}'`);
    }
    if (include.length) {
      const inc = include.find((e) => e.match(name));
      if (!inc) return skip('not in the include patterns');
      inc.used = true;
    }
    const wName = op === 'Gather' ? n.input[0] : n.input[1];
    const W = constants.get(wName);
    // A Constant node's value is not streamed from an initializer; it is rare for large weights.
    if (!W || !initializers.has(wName) || W.data_type !== DataType.FLOAT || tensorDims(W).length !== 2) {
      return skip(op === 'Gather' ? 'needs a constant float32 2-D table (an initializer) as its data' : 'needs a constant float32 2-D initializer as B');
    }
    const [d0, d1] = tensorDims(W);
    const options = nodeOptions(settings, settings.layerOverrides[name]);
    const base = { index: i, node: n, name, weight: wName, options, alpha: 1, beta: 1, bias: '' };
    if (op === 'Gather') {
      if (intAttr(n, 'axis', 0) !== 0) return skip('a Gather on axis 1 of the table is not an embedding lookup');
      nodes.push({ ...base, opType: op, K: d1, N: d0, layout: 'NK' });
      return;
    }
    if (op === 'Gemm') {
      if (intAttr(n, 'transA', 0) !== 0) return skip('Gemm with transA is kept in float (MatMulNBits takes A as it is)');
      const transB = intAttr(n, 'transB', 0) !== 0;
      nodes.push({
        ...base,
        opType: op,
        K: transB ? d1 : d0,
        N: transB ? d0 : d1,
        layout: transB ? 'NK' : 'KN',
        alpha: attr(n, 'alpha')?.f ?? 1,
        beta: attr(n, 'beta')?.f ?? 1,
        bias: n.input[2] ?? '',
      });
      return;
    }
    nodes.push({ ...base, opType: op, K: d0, N: d1, layout: 'KN' });
  });
  return { nodes, decisions, unmatchedPatterns: [...exclude, ...include].filter((e) => !e.used).map((e) => e.p) };
}

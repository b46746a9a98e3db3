// The quantization plan: which nodes are quantized, which of their inputs are activations (to
// calibrate), weights (quantized offline, per channel where the op has an output-channel axis)
// and biases (int32), and which nodes are kept in float and why. Weights are found in
// initializers and in Constant nodes alike, in the node's graph or an enclosing one. Nodes inside
// If branches (nested ones too) are planned like the main graph's; Loop/Scan bodies stay in float.
import type { NodeDecision, QuantSettings } from '../../shared/quantResult';
import { DataType } from '../onnx/dataTypes';
import { inferElementTypes } from '../onnx/elementTypes';
import { GraphIndex } from '../onnx/graph';
import type { OnnxModel } from '../onnx/model';
import { int64ToNumber, type NodeProto, type TensorProto } from '../onnx/types';
import { nodeLabel } from '../onnx/walk';

export interface PlannedWeight {
  tensor: string;
  kind: 'weight' | 'bias' | 'constant';
  /** Per-channel axis when the op has one and per-channel is on; null: per tensor. */
  axis: number | null;
  node: number;
  inputIndex: number;
}

export interface PlannedNode {
  /** The graph the node is in: the main graph, or an If branch (nested ones too). */
  graph: GraphIndex;
  index: number;
  name: string;
  opType: string;
  /** The node's inputs as planned (the rewrite renames them). */
  inputs: string[];
  /** Indices of the inputs that are activations. */
  activationInputs: number[];
  weights: PlannedWeight[];
  outputs: string[];
}

export interface QuantPlan {
  index: GraphIndex;
  nodes: PlannedNode[];
  decisions: NodeDecision[];
  /** Float activations to calibrate, in graph order. */
  activations: string[];
  unmatchedPatterns: string[];
  /** Output -> input whose parameters it reuses (data movement ops change no value). */
  sharedParams: Map<string, string>;
  /** Relu/Clip inputs that take their output's range, so the activation fuses away. */
  fusedActivationRanges: Map<string, string>;
  /** Constant tensors by name: initializers and Constant node outputs of every graph (names are
   *  unique across a model's scopes, so a branch finds an outer-scope weight here too). */
  constants: Map<string, TensorProto>;
  warnings: string[];
}

/** Data movement: the output holds the input's values, so it keeps the input's parameters. */
const SAME_PARAMS = new Set(['Reshape', 'Transpose', 'Squeeze', 'Unsqueeze', 'Flatten', 'Slice', 'MaxPool', 'Gather', 'Split', 'Pad', 'Resize']);
/** Per op: which inputs carry data to quantize (the rest: shapes, indices, options). */
/** Ops that carry a state across time steps; onnxruntime runs them in float. */
const RECURRENT = new Set(['LSTM', 'GRU', 'RNN']);
/** Ops that magnify the relative rounding error of small inputs. */
const MAGNIFIERS = new Set(['Sqrt', 'Log', 'Pow', 'Reciprocal']);
/** Ops whose output holds their input's values, so a rounding before them reaches their readers. */
const PASS_THROUGH = new Set([...SAME_PARAMS, 'Relu', 'Clip', 'Identity', 'Concat']);

/**
 * Whether `name`, read in graph `g`, reaches the data input of a recurrent op through ops that
 * only move or clip values, following it into If branches (whose k-th output is the If's k-th
 * output) and, through `outputReaches`, out of the graph `g` itself when it is a branch.
 */
function reachesRecurrence(g: GraphIndex, name: string, outputReaches: (output: string) => boolean = () => false): boolean {
  if (g.outputs.has(name) && outputReaches(name)) return true;
  for (const c of new Set(g.consumers.get(name) ?? [])) {
    const n = g.nodes[c];
    const op = n.op_type ?? '';
    // Its sequence input or its initial state: either way the rounding circulates in the recurrence.
    if (RECURRENT.has(op) && n.input.includes(name)) return true;
    const passes = PASS_THROUGH.has(op) && (op === 'Concat' ? n.input.includes(name) : n.input[0] === name);
    if (passes && n.output.some((o) => o && reachesRecurrence(g, o, outputReaches))) return true;
    for (const s of g.subgraphs) {
      if (s.node !== c || !s.index.outerRefs.has(name)) continue;
      const outs = s.index.graph.output.map((o) => o.name);
      const parent = (o: string) => op === 'If' && !!n.output[outs.indexOf(o)] && reachesRecurrence(g, n.output[outs.indexOf(o)], outputReaches);
      if (reachesRecurrence(s.index, name, parent)) return true;
    }
  }
  return false;
}

const DATA_INPUTS: Record<string, (n: NodeProto) => number[]> = {
  Conv: () => [0],
  ConvTranspose: () => [0],
  Gemm: () => [0, 1],
  MatMul: () => [0, 1],
  Add: (n) => n.input.map((_, i) => i),
  Mul: (n) => n.input.map((_, i) => i),
  Concat: (n) => n.input.map((_, i) => i),
  Where: () => [1, 2],
};
const WEIGHT_OPS: Record<string, (n: NodeProto) => { weight: number; axis: number; bias?: number }> = {
  Conv: () => ({ weight: 1, axis: 0, bias: 2 }),
  ConvTranspose: () => ({ weight: 1, axis: 1, bias: 2 }),
  Gemm: (n) => ({ weight: 1, axis: intAttr(n, 'transB', 0) ? 0 : 1, bias: 2 }),
  MatMul: () => ({ weight: 1, axis: 1 }),
};

function intAttr(n: NodeProto, name: string, fallback: number): number {
  const a = n.attribute.find((x) => x.name === name);
  return a?.i !== undefined ? int64ToNumber(a.i) : fallback;
}

/** A user pattern: exact name, glob (* and ?), or /regex/flags. */
export function patternMatcher(pattern: string): (name: string) => boolean {
  const re = /^\/(.*)\/([a-z]*)$/.exec(pattern);
  if (re) {
    const r = new RegExp(re[1], re[2]);
    return (name) => r.test(name);
  }
  if (/[*?]/.test(pattern)) {
    const r = new RegExp(
      `^${pattern
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.')}$`,
    );
    return (name) => r.test(name);
  }
  return (name) => name === pattern;
}

/** Where a graph sits: the main graph, inside If branches only (quantized), or in a Loop/Scan body. */
interface Scope {
  g: GraphIndex;
  /** The owning If chain, innermost last: the graph is a branch of `owners[k].node` in `owners[k].parent`. */
  owners: Array<{ parent: GraphIndex; node: number; attribute: string }>;
  /** Why the graph's nodes stay in float, if they do. */
  keep?: string;
}

function scopes(index: GraphIndex, settings: QuantSettings): Scope[] {
  const out: Scope[] = [];
  const walk = (g: GraphIndex, owners: Scope['owners'], keep: string | undefined) => {
    out.push({ g, owners, keep });
    for (const s of g.subgraphs) {
      const owner = g.nodes[s.node];
      const op = owner.op_type ?? '';
      const why =
        keep ??
        (op !== 'If'
          ? `inside the ${op} body ${s.index.path}: calibration cannot observe a value that changes at each iteration, so static quantization keeps it in float (dynamic mode quantizes it)`
          : settings.format === 'qoperator'
            ? `inside the subgraph ${s.index.path}: the qoperator format rewrites the main graph only; use --format qdq`
            : undefined);
      walk(s.index, [...owners, { parent: g, node: s.node, attribute: s.attribute }], why);
    }
  };
  walk(index, [], undefined);
  return out;
}

/**
 * Whether `name`, read in the graph of `scope`, reaches a recurrent op: within the graph and, when
 * the graph is an If branch, through the If's matching output in the parent graph (and so on up).
 */
function reachesRecurrenceIn(scope: Scope, name: string): boolean {
  const up = (k: number): ((output: string) => boolean) => {
    if (k < 0) return () => false;
    const { parent, node, attribute } = scope.owners[k];
    const branch = parent.subgraphs.find((s) => s.node === node && s.attribute === attribute)!.index;
    const outs = branch.graph.output.map((o) => o.name);
    return (o) => {
      const mapped = parent.nodes[node].output[outs.indexOf(o)];
      return !!mapped && reachesRecurrence(parent, mapped, up(k - 1));
    };
  };
  return reachesRecurrence(scope.g, name, up(scope.owners.length - 1));
}

/** Whether `name`, read in graph `g`, is the model's output, or becomes it through data movement only. */
function reachesModelOutput(g: GraphIndex, name: string, outputReaches: (output: string) => boolean): boolean {
  if (g.outputs.has(name) && outputReaches(name)) return true;
  for (const c of new Set(g.consumers.get(name) ?? [])) {
    const n = g.nodes[c];
    const op = n.op_type ?? '';
    if ((SAME_PARAMS.has(op) || op === 'Identity') && n.input[0] === name && n.output.some((o) => o && reachesModelOutput(g, o, outputReaches))) return true;
    // Read inside an If branch: its k-th output is the If's k-th output.
    for (const s of g.subgraphs) {
      if (s.node !== c || op !== 'If' || !s.index.outerRefs.has(name)) continue;
      const outs = s.index.graph.output.map((o) => o.name);
      const parent = (o: string) => !!n.output[outs.indexOf(o)] && reachesModelOutput(g, n.output[outs.indexOf(o)], outputReaches);
      if (reachesModelOutput(s.index, name, parent)) return true;
    }
  }
  return false;
}

/** reachesModelOutput for a value of the graph of `scope`, following If outputs up to the main graph. */
function isModelOutputIn(scope: Scope, name: string): boolean {
  const up = (k: number): ((output: string) => boolean) => {
    if (k < 0) return () => true;
    const { parent, node, attribute } = scope.owners[k];
    const branch = parent.subgraphs.find((s) => s.node === node && s.attribute === attribute)!.index;
    const outs = branch.graph.output.map((o) => o.name);
    return (o) => {
      const mapped = parent.nodes[node].output[outs.indexOf(o)];
      return !!mapped && reachesModelOutput(parent, mapped, up(k - 1));
    };
  };
  return reachesModelOutput(scope.g, name, up(scope.owners.length - 1));
}

export function planQuantization(model: OnnxModel, settings: QuantSettings): QuantPlan {
  const index = new GraphIndex(model.proto.graph!);
  const { types } = inferElementTypes(index);
  const isFloat = (name: string) => types.get(name) === DataType.FLOAT;
  const constants = new Map<string, TensorProto>();
  for (const g of index.allIndexes()) for (const [k, t] of g.constantTensors()) if (!constants.has(k)) constants.set(k, t);

  const opTypes = new Set(settings.opTypes);
  const exclude = settings.exclude.map((p) => ({ p, match: patternMatcher(p), used: false }));
  const include = settings.include.map((p) => ({ p, match: patternMatcher(p), used: false }));
  const decisions: NodeDecision[] = [];
  const nodes: PlannedNode[] = [];
  const decide = (node: string, opType: string, quantized: boolean, reason: string) => decisions.push({ node, opType, quantized, reason });
  const beforeRecurrence: string[] = [];

  for (const scope of scopes(index, settings)) {
    const g = scope.g;
    const where = g === index ? '' : ` (in ${g.path})`;
    for (const i of g.topologicalOrder()) {
      const n = g.nodes[i];
      const op = n.op_type ?? '';
      const name = nodeLabel(n, i);
      const excluded = exclude.filter((e) => e.match(name));
      excluded.forEach((e) => (e.used = true));
      const included = include.filter((e) => e.match(name));
      included.forEach((e) => (e.used = true));
      if (!opTypes.has(op) || (n.domain ?? '') !== '') continue;
      if (scope.keep) {
        decide(name, op, false, scope.keep);
        continue;
      }
      if (excluded.length) {
        decide(name, op, false, `excluded by '${excluded[0].p}'`);
        continue;
      }
      if (include.length && !included.length) {
        decide(name, op, false, 'not in the include list');
        continue;
      }
      // Only constants in (a weight sliced or reordered, as LSTM exports do inside their branches):
      // onnxruntime folds such a node, and rounding its output would only round the weight it makes.
      const dataIn = (DATA_INPUTS[op]?.(n) ?? [0]).filter((k) => n.input[k]);
      if (!WEIGHT_OPS[op] && dataIn.length && dataIn.every((k) => constants.has(n.input[k]))) {
        decide(name, op, false, 'its inputs are all constants: onnxruntime folds it, there is no activation to quantize');
        continue;
      }
      // A Sigmoid (or data movement) that makes the model's answer gains no integer kernel from Q/DQ
      // and would put the answer on an 8-bit grid: a probability of 6e-4 (Silero VAD on silence)
      // becomes 0 or the grid's first step. Naming it in the include list quantizes it anyway.
      if (!included.length && (op === 'Sigmoid' || SAME_PARAMS.has(op)) && n.output.every((o) => !o || isModelOutputIn(scope, o))) {
        decide(name, op, false, "its output is the model's output (through data movement only): kept in float, so the result is not rounded to an 8-bit grid");
        continue;
      }
      // Sqrt, Log, Pow and Reciprocal magnify the rounding of small values: a power spectrum
      // (Silero's STFT: re^2 + im^2 -> Sqrt) spans decades that an 8-bit grid turns into zeros
      // (measured on Silero VAD windows: 7.7 dB output SQNR with that Add quantized, 16.9 without).
      const magnifier = n.output
        .flatMap((o) => (o ? (g.consumers.get(o) ?? []).map((c) => g.nodes[c]) : []))
        .find((c) => MAGNIFIERS.has(c.op_type ?? '') && n.output.includes(c.input[0]));
      if (!included.length && magnifier) {
        decide(
          name,
          op,
          false,
          `its output feeds ${magnifier.op_type} '${magnifier.name || magnifier.op_type}', which magnifies the rounding of small values: kept in float`,
        );
        continue;
      }
      // A recurrent op feeds its state back at every time step, so a rounding of its input grows
      // along the sequence (Silero VAD: the encoder's last Conv rounded to a step of 8.3 halves the
      // LSTM state's SQNR); it runs in float anyway, so the Q/DQ would buy no integer kernel for it.
      // Naming the node in the include list quantizes it all the same.
      if (!included.length && n.output.some((o) => o && reachesRecurrenceIn(scope, o))) {
        decide(
          name,
          op,
          false,
          'its output reaches a recurrent op (LSTM/GRU/RNN) unchanged: kept in float, since the recurrence accumulates the rounding of its input',
        );
        beforeRecurrence.push(name);
        continue;
      }
      const dataInputs = (DATA_INPUTS[op]?.(n) ?? [0]).filter((k) => n.input[k]);
      const floatOutputs = n.output.filter((o) => o && isFloat(o));
      if (!dataInputs.length || !dataInputs.every((k) => isFloat(n.input[k])) || !floatOutputs.length) {
        decide(name, op, false, 'its data is not float32');
        continue;
      }
      const weights: PlannedWeight[] = [];
      const activationInputs: number[] = [];
      const w = WEIGHT_OPS[op]?.(n);
      if (w && constants.has(n.input[w.weight])) {
        const perChannel = settings.perChannel || settings.perChannelOpTypes.includes(op);
        weights.push({ tensor: n.input[w.weight], kind: 'weight', axis: perChannel ? w.axis : null, node: i, inputIndex: w.weight });
        const bias = w.bias !== undefined ? n.input[w.bias] : undefined;
        const biasTensor = bias ? constants.get(bias) : undefined;
        if (bias && biasTensor && biasTensor.dims.length === 1) weights.push({ tensor: bias, kind: 'bias', axis: null, node: i, inputIndex: w.bias! });
      }
      for (const k of dataInputs) {
        if (weights.some((x) => x.inputIndex === k)) continue;
        // Constant operands of Add/Mul/Concat...: quantized once, like the activations beside them.
        if (constants.has(n.input[k])) weights.push({ tensor: n.input[k], kind: 'constant', axis: null, node: i, inputIndex: k });
        else activationInputs.push(k);
      }
      if (op === 'MatMul' && !activationInputs.includes(0)) {
        decide(name, op, false, 'its first input is a constant: no activation to quantize');
        continue;
      }
      nodes.push({ graph: g, index: i, name, opType: op, inputs: [...n.input], activationInputs, weights, outputs: floatOutputs });
      decide(
        name,
        op,
        true,
        (weights.some((x) => x.kind === 'weight')
          ? `QDQ, weights ${weights.find((x) => x.kind === 'weight')!.axis === null ? 'per tensor' : 'per channel'}`
          : 'QDQ') + where,
      );
    }
  }

  const quantizedOutputs = new Set(nodes.flatMap((p) => p.outputs));
  const activations: string[] = [];
  const seen = new Set<string>();
  for (const p of nodes) {
    for (const t of [...p.activationInputs.map((k) => p.graph.nodes[p.index].input[k]), ...p.outputs]) {
      if (!seen.has(t)) {
        seen.add(t);
        activations.push(t);
      }
    }
  }

  const sharedParams = new Map<string, string>();
  const fusedActivationRanges = new Map<string, string>();
  for (const p of nodes) {
    const n = p.graph.nodes[p.index];
    if (SAME_PARAMS.has(p.opType) && p.outputs.length === 1 && p.opType !== 'Split') sharedParams.set(p.outputs[0], n.input[0]);
    if ((p.opType === 'Relu' || p.opType === 'Clip') && (p.graph.consumers.get(n.input[0]) ?? []).length === 1 && quantizedOutputs.has(n.input[0])) {
      fusedActivationRanges.set(n.input[0], p.outputs[0]);
    }
  }

  return {
    index,
    nodes,
    decisions,
    activations,
    constants,
    sharedParams,
    fusedActivationRanges,
    warnings: beforeRecurrence.length
      ? [
          `kept in float because their output feeds a recurrent op, whose state accumulates input rounding: ${beforeRecurrence.join(', ')} (name them in --include to quantize them anyway)`,
        ]
      : [],
    unmatchedPatterns: [...exclude, ...include].filter((e) => !e.used).map((e) => e.p),
  };
}

/**
 * The activations whose range calibration must measure: those whose parameters come from another
 * observed tensor are left out (a fused Relu/Clip input takes its output's range; data movement
 * keeps its input's parameters). Observing fewer tensors also lets onnxruntime keep Conv+Relu fused
 * in the observing session.
 */
export function calibrationTargets(plan: QuantPlan): string[] {
  const observed = new Set(plan.activations);
  const derived = (t: string) => observed.has(plan.fusedActivationRanges.get(t) ?? '') || observed.has(plan.sharedParams.get(t) ?? '');
  return plan.activations.filter((t) => !derived(t));
}

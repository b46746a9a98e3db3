// The tensors of a model that knowledge can be taken from or given to (with shapes from value_info
// or a probe run), the adapter a pair of them needs, and proposed teacher/student pairs by
// matching resolution.
import type { AdapterName } from '../../shared/distillSpec';
import type { Dim } from '../../shared/summary';
import { nodeList, type NodeListOptions } from '../onnx/inspect';
import { readModel, type OnnxModel } from '../onnx/model';
import { shapeDims } from '../onnx/summary';
import { tensorElemType } from '../onnx/elementTypes';
import { dataTypeName } from '../onnx/dataTypes';

export interface TensorInfo {
  name: string;
  /** Axis 0 is the batch (a probe run reports it as 1). Null: unknown. */
  shape: Dim[] | null;
  dtype: string | null;
  /** The node writing it (null for a graph input). */
  producer: string | null;
  opType: string | null;
  kind: 'input' | 'intermediate' | 'output';
}

/** Every graph input and node output of the main graph, in graph order, with shapes. */
export async function listTensors(model: OnnxModel | string, options: NodeListOptions = {}): Promise<TensorInfo[]> {
  const m = typeof model === 'string' ? await readModel(model) : model;
  const graph = m.proto.graph!;
  const initializers = new Set(graph.initializer.map((t) => t.name));
  const outputs = new Set(graph.output.map((o) => o.name));
  const out: TensorInfo[] = [];
  for (const v of graph.input) {
    if (!v.name || initializers.has(v.name)) continue;
    const t = tensorElemType(v.type);
    out.push({
      name: v.name,
      shape: shapeDims(v.type?.tensor_type?.shape) ?? null,
      dtype: t === undefined ? null : dataTypeName(t),
      producer: null,
      opType: null,
      kind: 'input',
    });
  }
  const list = await nodeList(m, options);
  for (const n of list.nodes) {
    if (n.graph !== 'main' || n.opType === 'Constant') continue;
    for (const o of n.outputs) {
      if (!o.name) continue;
      out.push({ name: o.name, shape: o.shape, dtype: o.elemType, producer: n.name, opType: n.opType, kind: outputs.has(o.name) ? 'output' : 'intermediate' });
    }
  }
  return out;
}

/** Names of a model's graph inputs that are fed (not initializers). */
export function graphInputs(m: OnnxModel): string[] {
  const weights = new Set(m.proto.graph!.initializer.map((t) => t.name));
  return m.proto.graph!.input.filter((v) => !weights.has(v.name)).map((v) => v.name ?? '');
}

/** Dims after the batch axis, or null when any is unknown. */
export function sampleDims(shape: readonly Dim[] | null): number[] | null {
  if (!shape || shape.length === 0) return null;
  const rest = shape.slice(1);
  return rest.every((d): d is number => typeof d === 'number' && d > 0) ? rest : null;
}

/** The shape the job file carries: a null batch axis, then the sample dims. */
export function jobShape(shape: readonly Dim[] | null): (number | null)[] | null {
  const dims = sampleDims(shape);
  return dims ? [null, ...dims] : null;
}

export interface AdapterChoice {
  adapter: AdapterName | null;
  /** Why this adapter (or why none fits). */
  reason: string;
}

const fmt = (d: readonly number[]) => `[${d.join(',')}]`;

/**
 * The adapter a feature pair needs so the student's tensor can be compared with the teacher's:
 * same sample shape -> none; NCHW with other channels -> conv1x1, other H x W -> interpolate,
 * both -> conv1x1+interpolate; same rank with only the last axis different -> linear.
 * `attention` compares channel-summed maps, so only H x W matters.
 */
export function chooseAdapter(teacher: readonly Dim[] | null, student: readonly Dim[] | null, kind: 'feature' | 'attention' = 'feature'): AdapterChoice {
  const t = sampleDims(teacher);
  const s = sampleDims(student);
  if (!t || !s)
    return {
      adapter: null,
      reason: `shape unknown (teacher ${teacher ? fmt(teacher as number[]) : '?'}, student ${student ? fmt(student as number[]) : '?'})`,
    };
  const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((x, i) => x === b[i]);
  if (kind === 'attention') {
    if (t.length !== 3 || s.length !== 3) return { adapter: null, reason: `attention transfer needs NCHW feature maps (teacher ${fmt(t)}, student ${fmt(s)})` };
    return same(t.slice(1), s.slice(1))
      ? { adapter: 'none', reason: `both ${t[1]}x${t[2]}; channels are summed (${t[0]} vs ${s[0]})` }
      : { adapter: 'interpolate', reason: `student ${s[1]}x${s[2]} resized to the teacher's ${t[1]}x${t[2]}` };
  }
  if (same(t, s)) return { adapter: 'none', reason: `same shape ${fmt(t)}` };
  if (t.length === 3 && s.length === 3) {
    const channels = t[0] !== s[0];
    const spatial = t[1] !== s[1] || t[2] !== s[2];
    if (channels && spatial)
      return {
        adapter: 'conv1x1+interpolate',
        reason: `channels ${s[0]} -> ${t[0]} by a 1x1 convolution, ${s[1]}x${s[2]} -> ${t[1]}x${t[2]} by interpolation`,
      };
    if (channels) return { adapter: 'conv1x1', reason: `channels ${s[0]} -> ${t[0]} by a 1x1 convolution (both ${t[1]}x${t[2]})` };
    return { adapter: 'interpolate', reason: `${s[1]}x${s[2]} -> ${t[1]}x${t[2]} by interpolation (both ${t[0]} channels)` };
  }
  if (t.length === s.length && same(t.slice(0, -1), s.slice(0, -1))) {
    return { adapter: 'linear', reason: `last axis ${s[s.length - 1]} -> ${t[t.length - 1]} by a linear layer` };
  }
  return {
    adapter: null,
    reason: `no adapter maps student ${fmt(s)} onto teacher ${fmt(t)}; pick tensors of the same rank (feature maps with feature maps, hidden vectors with hidden vectors)`,
  };
}

export interface ProposedPair {
  teacher: string;
  student: string;
  teacherShape: Dim[];
  studentShape: Dim[];
  adapter: AdapterName;
  /** Why these two. */
  reason: string;
}

const VECTOR_OPS = new Set(['Relu', 'Gelu', 'Tanh', 'Sigmoid', 'Gemm', 'MatMul', 'Add', 'Flatten', 'LayerNormalization', 'ReduceMean', 'GlobalAveragePool']);

/**
 * Pairs proposed for feature knowledge: for each spatial resolution (H x W) that both models
 * have, the deepest teacher map with the deepest student map at it; then the last hidden vectors
 * before the logits (same rank). Logits are left out (response knowledge covers them).
 */
export function proposePairs(teacher: readonly TensorInfo[], student: readonly TensorInfo[]): ProposedPair[] {
  const usable = (list: readonly TensorInfo[]) => list.filter((t) => t.kind === 'intermediate' && t.dtype === 'float32' && sampleDims(t.shape));
  const t = usable(teacher);
  const s = usable(student);
  const out: ProposedPair[] = [];
  // Proposed only where an adapter maps the student's shape onto the teacher's.
  const propose = (a: TensorInfo, b: TensorInfo, why: string) => {
    const choice = chooseAdapter(a.shape, b.shape);
    if (choice.adapter)
      out.push({
        teacher: a.name,
        student: b.name,
        teacherShape: a.shape!,
        studentShape: b.shape!,
        adapter: choice.adapter,
        reason: `${why}: ${choice.reason}`,
      });
  };
  const deepestAt = (list: TensorInfo[], key: string) => [...list].reverse().find((x) => spatialKey(x) === key);
  const spatialKey = (x: TensorInfo) => {
    const d = sampleDims(x.shape)!;
    return d.length === 3 ? `${d[1]}x${d[2]}` : null;
  };
  const keys = [...new Set(t.map(spatialKey).filter((k): k is string => k !== null))];
  for (const key of keys) {
    const a = deepestAt(t, key);
    const b = deepestAt(s, key);
    if (a && b) propose(a, b, `both ${key}`);
  }
  // Hidden vectors: the last non-spatial tensor of each model before its output, same rank.
  const lastVector = (list: TensorInfo[]) => [...list].reverse().find((x) => sampleDims(x.shape)!.length !== 3 && VECTOR_OPS.has(x.opType ?? ''));
  const a = lastVector(t);
  const b = a && [...s].reverse().find((x) => sampleDims(x.shape)!.length === sampleDims(a.shape)!.length && VECTOR_OPS.has(x.opType ?? ''));
  if (a && b) propose(a, b, `last hidden ${sampleDims(a.shape)!.length === 1 ? 'vectors' : 'sequences'} before the logits`);
  return out;
}

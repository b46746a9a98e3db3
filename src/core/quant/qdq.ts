// The static QDQ rewrite: QuantizeLinear -> DequantizeLinear on the float inputs and outputs of
// each planned node (one pair per tensor, shared by its consumers, or one per consumer on request),
// weights stored as integers feeding a DequantizeLinear with an explicit axis, biases as int32
// with S_bias = S_input * S_weight. onnxruntime recognises these patterns and fuses them into
// integer kernels (QLinearConv, QLinearMatMul...).
//
// Q/DQ come from the default domain where the opset has them for the types used (8-bit and per-
// axis from opset 13, 16-bit from 21); otherwise from onnxruntime's com.microsoft domain, which
// has them at every opset, so that old exports (PP-OCR's opset 9 and 11) need no upgrade.
import type { QuantSettings, TensorQuantization } from '../../shared/quantResult';
import { createMessage } from '../onnx/codec';
import type { OnnxModel } from '../onnx/model';
import { GraphIndex } from '../onnx/graph';
import { makeTensor, readTensor, tensorDims, toFloat32 } from '../onnx/tensor';
import { int64ToNumber, type AttributeProto, type GraphProto, type NodeProto, type OperatorSetIdProto, type TensorProto } from '../onnx/types';
import { AttributeType } from '../onnx/types';
import { DataType } from '../onnx/dataTypes';
import type { CalibratedRange } from './calibrate';
import type { QuantPlan } from './plan';
import { perChannelParams, perTensorParams, quantizeBias, quantizePerChannel, quantizeValues, quantTypeInfo, scaleZeroPoint, type QuantType } from './scheme';

export interface QdqResult {
  tensors: TensorQuantization[];
  warnings: string[];
  /** Each integer initializer written, and the float tensor it holds. */
  quantizedNames: Record<string, string>;
}

export interface Params {
  /** int32: biases. */
  type: QuantType | 'int32';
  scale: Float32Array;
  zeroPoint: Int32Array;
  axis: number | null;
}

export const MS_DOMAIN = 'com.microsoft';

export function opsetOf(model: OnnxModel, domain: string): number {
  const o = model.proto.opset_import.find((x) => (x.domain ?? '') === domain || (domain === '' && x.domain === 'ai.onnx'));
  return o ? int64ToNumber(o.version) : 0;
}

export function intAttr(name: string, value: number): AttributeProto {
  return createMessage<AttributeProto>('AttributeProto', { name, type: AttributeType.INT, i: value });
}

function integerArray(type: QuantType | 'int32', values: ArrayLike<number>): Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array {
  if (type === 'int32') return Int32Array.from(values);
  const info = quantTypeInfo(type);
  if (info.bits === 16) return info.signed ? Int16Array.from(values) : Uint16Array.from(values);
  return info.signed ? Int8Array.from(values) : Uint8Array.from(values);
}

export function dataTypeOf(type: QuantType | 'int32'): number {
  return type === 'int32' ? DataType.INT32 : quantTypeInfo(type).dataType;
}

/** What the rewriters of all graphs share: parameters by tensor, names in use, the report. */
interface Shared {
  params: Map<string, Params>;
  names: Set<string>;
  report: TensorQuantization[];
  warnings: string[];
  quantizedNames: Record<string, string>;
  domain: string;
  /** Where each value is produced, in whichever graph. */
  producers: Map<string, { g: GraphIndex; node: number }>;
}

/**
 * The static QDQ rewrite of a whole model: one GraphRewriter per graph that holds planned nodes
 * (the main graph, If branches). Each inserts its Q/DQ pairs beside the nodes it rewires, in its
 * own graph, so that onnxruntime sees the DQ -> op -> Q pattern within one graph and fuses it; an
 * outer-scope activation gets its own Q/DQ pair inside the branch that reads it, and an outer-scope
 * weight its integer copy in that branch. Scales are shared by tensor name across graphs.
 */
export class QdqRewriter {
  readonly report: TensorQuantization[] = [];
  readonly warnings: string[] = [];

  constructor(
    private readonly model: OnnxModel,
    private readonly plan: QuantPlan,
    private readonly settings: QuantSettings,
  ) {}

  apply(ranges: Map<string, CalibratedRange>): QdqResult {
    const { model, plan, settings } = this;
    const opset = opsetOf(model, '');
    const types = [settings.activationType, settings.weightType, ...Object.values(settings.tensorOverrides).flatMap((o) => (o.type ? [o.type] : []))];
    const sixteen = types.some((t) => quantTypeInfo(t).bits === 16);
    const domain = opset >= 21 || (opset >= 13 && !sixteen) ? '' : MS_DOMAIN;
    if (domain === MS_DOMAIN && !model.proto.opset_import.some((o) => o.domain === MS_DOMAIN)) {
      model.proto.opset_import.push(createMessage<OperatorSetIdProto>('OperatorSetIdProto', { domain: MS_DOMAIN, version: 1 }));
    }
    const shared: Shared = {
      params: new Map(),
      names: new Set(),
      report: this.report,
      warnings: this.warnings,
      quantizedNames: {},
      domain,
      producers: new Map(),
    };
    const graphs = [...plan.index.allIndexes()];
    for (const g of graphs) {
      g.nodes.forEach((n, i) => n.output.forEach((o) => o && shared.producers.set(o, { g, node: i })));
      for (const name of [...g.producer.keys(), ...g.initializers.keys(), ...g.inputs.keys(), ...g.outputs.keys()]) shared.names.add(name);
    }
    // Parameters of every activation first, in graph order, so that shared parameters resolve from their source.
    const rewriters = new Map(graphs.map((g) => [g, new GraphRewriter(model, plan, settings, g, shared)]));
    const params = new Map<string, Params>();
    for (const t of plan.activations) {
      const p = rewriters.get(plan.index)!.activationParams(t, ranges);
      if (p) {
        params.set(t, p);
        shared.params.set(t, p);
      } else this.warnings.push(`no calibrated range for '${t}': left in float`);
    }
    // Each graph quantizes the activations its planned nodes read or write.
    for (const g of graphs) {
      const mine = plan.nodes.filter((p) => p.graph === g);
      if (!mine.length) continue;
      const wanted = new Set(mine.flatMap((p) => [...p.activationInputs.map((k) => p.inputs[k]), ...p.outputs]));
      const rw = rewriters.get(g)!;
      for (const t of plan.activations) if (wanted.has(t) && params.has(t)) rw.quantizeActivation(t, params.get(t)!);
      rw.quantizeNodes(mine);
    }
    // Children first: a graph is pruned once the branches inside it read what they will read.
    for (const g of graphs.reverse()) rewriters.get(g)!.finish();
    return { tensors: this.report, warnings: this.warnings, quantizedNames: shared.quantizedNames };
  }
}

type ConstantParams = { p: Params; values: Float32Array; dims: number[]; range: [number, number] | null };

/** The QDQ rewrite of one graph. */
class GraphRewriter {
  /** The constant measured last, while the next step may ask for it again (see constantParams). */
  private lastConstant: { tensor: string; axis: number | null; kind: 'weight' | 'constant'; result: ConstantParams } | undefined;

  private readonly graph;
  private readonly index: GraphIndex;
  private readonly newNodes: NodeProto[] = [];
  private readonly newInitializers: TensorProto[] = [];
  private readonly params: Map<string, Params>;
  private readonly dequantized = new Map<string, string>();
  private readonly report: TensorQuantization[];
  private readonly warnings: string[];
  private readonly quantizedNames: Record<string, string>;
  private readonly domain: string;

  constructor(
    private readonly model: OnnxModel,
    private readonly plan: QuantPlan,
    private readonly settings: QuantSettings,
    scope: GraphIndex,
    private readonly shared: Shared,
  ) {
    this.graph = scope.graph;
    this.index = scope;
    this.params = shared.params;
    this.report = shared.report;
    this.warnings = shared.warnings;
    this.quantizedNames = shared.quantizedNames;
    this.domain = shared.domain;
  }

  private unique(base: string): string {
    let name = base;
    for (let k = 1; this.shared.names.has(name); k++) name = `${base}_${k}`;
    this.shared.names.add(name);
    return name;
  }

  private addParamsInitializers(tensor: string, p: Params): [string, string] {
    const scale = this.unique(`${tensor}_scale`);
    const zp = this.unique(`${tensor}_zero_point`);
    const dims = p.axis === null ? [] : [p.scale.length];
    this.newInitializers.push(makeTensor({ name: scale, dataType: DataType.FLOAT, dims, values: p.scale }));
    this.newInitializers.push(makeTensor({ name: zp, dataType: dataTypeOf(p.type), dims, values: integerArray(p.type, p.zeroPoint) }));
    return [scale, zp];
  }

  private node(op: string, inputs: string[], outputs: string[], name: string, attrs: AttributeProto[] = []): void {
    this.newNodes.push(
      createMessage<NodeProto>('NodeProto', { op_type: op, domain: this.domain || undefined, input: inputs, output: outputs, name, attribute: attrs }),
    );
  }

  /** Parameters of an activation from its calibrated range, after the range adjustments. */
  activationParams(tensor: string, ranges: Map<string, CalibratedRange>): Params | undefined {
    const shared = this.plan.sharedParams.get(tensor);
    if (shared && this.params.has(shared)) return this.params.get(shared);
    const fusedWith = this.plan.fusedActivationRanges.get(tensor);
    const producer = this.shared.producers.get(tensor);
    const isSoftmax = producer !== undefined && producer.g.nodes[producer.node].op_type === 'Softmax';
    const o = this.settings.tensorOverrides[tensor];
    const calibrated = isSoftmax ? { rmin: 0, rmax: 1 } : ranges.get(fusedWith ?? tensor);
    const range = o?.range ? { rmin: o.range[0], rmax: o.range[1] } : calibrated;
    if (!range && o?.scale === undefined) return undefined;
    const type = o?.type ?? this.settings.activationType;
    const source =
      o?.scale !== undefined
        ? 'override: fixed scale and zero point'
        : o?.range
          ? 'override: range'
          : isSoftmax
            ? 'Softmax output: [0, 1]'
            : fusedWith
              ? `range of '${fusedWith}' (Relu/Clip fused)`
              : this.settings.method;
    const { scale, zeroPoint } =
      o?.scale !== undefined
        ? { scale: Math.fround(o.scale), zeroPoint: o.zeroPoint! }
        : scaleZeroPoint(range!.rmin, range!.rmax, type, { symmetric: o?.symmetric ?? this.settings.symmetricActivations, reduceRange: false });
    const p: Params = { type, scale: Float32Array.of(scale), zeroPoint: Int32Array.of(zeroPoint), axis: null };
    if (!range) {
      this.report.push({ tensor, kind: 'activation', type, range: null, rangeSource: source, scale: [scale], zeroPoint: [zeroPoint], axis: null });
      return p;
    }
    this.report.push({
      tensor,
      kind: 'activation',
      type,
      range: [range.rmin, range.rmax],
      rangeSource: source,
      scale: [scale],
      zeroPoint: [zeroPoint],
      axis: null,
    });
    if (range.note) this.warnings.push(`${tensor}: ${range.note}`);
    return p;
  }

  /** Inserts Q -> DQ after an activation and points its consumers at the DQ output. */
  quantizeActivation(tensor: string, p: Params): void {
    this.params.set(tensor, p);
    const [scale, zp] = this.addParamsInitializers(tensor, p);
    if (this.graph.output.some((o) => o.name === tensor) && this.index.producer.has(tensor)) {
      // A graph output keeps its name on the DQ side, so that its producer feeds Q alone and can fuse.
      const producer = this.index.producer.get(tensor);
      const pre = this.unique(`${tensor}_before_QuantizeLinear`);
      this.index.nodes[producer!].output = this.index.nodes[producer!].output.map((o) => (o === tensor ? pre : o));
      const q = this.unique(`${tensor}_QuantizeLinear_Output`);
      this.node('QuantizeLinear', [pre, scale, zp], [q], this.unique(`${tensor}_QuantizeLinear`));
      this.node('DequantizeLinear', [q, scale, zp], [tensor], this.unique(`${tensor}_DequantizeLinear`));
      return;
    }
    const consumers = (this.index.consumers.get(tensor) ?? []).filter((c) => this.index.nodes[c].input.includes(tensor));
    const groups = this.settings.dedicatedQdqPerConsumer && consumers.length > 1 ? consumers.map((c) => [c]) : [consumers];
    groups.forEach((group, k) => {
      const suffix = groups.length > 1 ? `_${k}` : '';
      const q = this.unique(`${tensor}_QuantizeLinear_Output${suffix}`);
      const dq = this.unique(`${tensor}_DequantizeLinear_Output${suffix}`);
      this.node('QuantizeLinear', [tensor, scale, zp], [q], this.unique(`${tensor}_QuantizeLinear${suffix}`));
      this.node('DequantizeLinear', [q, scale, zp], [dq], this.unique(`${tensor}_DequantizeLinear${suffix}`));
      for (const c of group) {
        const n = this.index.nodes[c];
        n.input = n.input.map((x) => (x === tensor ? dq : x));
      }
    });
  }

  private floatValues(tensor: string): { values: Float32Array; dims: number[] } {
    const t = this.plan.constants.get(tensor)!;
    return { values: toFloat32(readTensor(t, this.model.external)), dims: tensorDims(t) };
  }

  /** Integer weights + DequantizeLinear; returns the DQ output that replaces the weight. */
  private addQuantizedConstant(
    tensor: string,
    q: ArrayLike<number>,
    dims: number[],
    p: Params,
    kind: TensorQuantization['kind'],
    range: [number, number] | null,
  ): string {
    const existing = this.dequantized.get(tensor);
    if (existing) return existing;
    const qName = this.unique(`${tensor}_quantized`);
    this.quantizedNames[qName] = tensor;
    this.newInitializers.push(makeTensor({ name: qName, dataType: dataTypeOf(p.type), dims, values: integerArray(p.type, q) }));
    const [scale, zp] = this.addParamsInitializers(tensor, p);
    const dq = this.unique(`${tensor}_DequantizeLinear_Output`);
    this.node('DequantizeLinear', [qName, scale, zp], [dq], `${tensor}_DequantizeLinear`, p.axis === null ? [] : [intAttr('axis', p.axis)]);
    this.dequantized.set(tensor, dq);
    this.params.set(tensor, p);
    // An outer-scope weight read in two branches is written in each, reported once.
    if (this.report.some((r) => r.tensor === tensor && r.kind === kind)) return dq;
    this.report.push({
      tensor,
      kind,
      type: p.type,
      range,
      rangeSource: kind === 'bias' ? 'S_input * S_weight' : 'min/max of the values',
      scale: Array.from(p.scale.subarray(0, 64)),
      zeroPoint: Array.from(p.zeroPoint.subarray(0, 64)),
      axis: p.axis,
    });
    return dq;
  }

  /** Scale and zero point of a constant: per channel along `axis`, else per tensor. */
  private constantParams(tensor: string, axis: number | null, kind: 'weight' | 'constant'): ConstantParams {
    // The bias check and the weight's quantization ask for the same weight one after the other:
    // it is read (from external data, for a large model) and measured once.
    const kept = this.lastConstant;
    this.lastConstant = undefined;
    if (kept && kept.tensor === tensor && kept.axis === axis && kept.kind === kind) return kept.result;
    const result = this.measureConstant(tensor, axis, kind);
    this.lastConstant = { tensor, axis, kind, result };
    return result;
  }

  private measureConstant(tensor: string, axis: number | null, kind: 'weight' | 'constant'): ConstantParams {
    const { values, dims } = this.floatValues(tensor);
    // A tensor override's type applies to a weight as to an activation (16-bit weights for a layer
    // whose output cannot take 8-bit rounding).
    const o = this.settings.tensorOverrides[tensor];
    const type: QuantType = o?.type ?? (kind === 'weight' ? this.settings.weightType : this.settings.activationType);
    const symmetric = o?.symmetric ?? (kind === 'weight' ? this.settings.symmetricWeights : false);
    const opts = { symmetric, reduceRange: kind === 'weight' && this.settings.reduceRange };
    const { scale, zeroPoint, range } = perTensorParams(values, type, opts);
    if (axis !== null && dims.length > axis) {
      const { scales, zeroPoints } = perChannelParams(values, dims, axis, type, opts);
      return { p: { type, scale: scales, zeroPoint: zeroPoints, axis }, values, dims, range };
    }
    return { p: { type, scale: Float32Array.of(scale), zeroPoint: Int32Array.of(zeroPoint), axis: null }, values, dims, range };
  }

  /** Integer weight + DequantizeLinear; `scales` overrides the computed scales (bias overflow). */
  quantizeWeight(tensor: string, axis: number | null, kind: 'weight' | 'constant', scales?: Float32Array): string {
    const { p: measured, values, dims, range } = this.constantParams(tensor, axis, kind);
    this.lastConstant = undefined;
    const p = { ...measured };
    if (scales) p.scale = scales;
    const type = p.type as QuantType;
    const q = p.axis !== null ? quantizePerChannel(values, dims, p.axis, p.scale, p.zeroPoint, type) : quantizeValues(values, p.scale[0], p.zeroPoint[0], type);
    return this.addQuantizedConstant(tensor, q, dims, p, kind, range);
  }

  /** Weight scales enlarged so that the bias fits int32 (the reference's remedy), or undefined. */
  private biasSafeScales(bias: string, inputTensor: string, weight: string, axis: number | null, beta: number): Float32Array | undefined {
    const input = this.params.get(inputTensor);
    if (!input || this.dequantized.has(weight)) return undefined;
    const { p } = this.constantParams(weight, axis, 'weight');
    const r = quantizeBias(this.floatValues(bias).values, input.scale[0], p.scale, beta);
    if (!r.adjustWeightScale) return undefined;
    this.warnings.push(
      `bias '${bias}' would overflow int32 on ${r.overflow.length} channel(s): the scale of weight '${weight}' was enlarged there so that it fits`,
    );
    return r.adjustWeightScale;
  }

  /** int32 bias with S = S_input * S_weight (a vector when the weight is per channel). */
  quantizeBias(tensor: string, inputTensor: string, weightTensor: string, beta: number): string | undefined {
    const input = this.params.get(inputTensor);
    const weight = this.params.get(weightTensor);
    if (!input || !weight) return undefined;
    const { values, dims } = this.floatValues(tensor);
    const r = quantizeBias(values, input.scale[0], weight.scale, beta);
    if (r.overflow.length) this.warnings.push(`bias '${tensor}': channels ${r.overflow.slice(0, 8).join(', ')} overflow int32 at this scale and were clamped`);
    const p: Params = { type: 'int32', scale: r.scales, zeroPoint: new Int32Array(r.scales.length), axis: r.scales.length > 1 ? 0 : null };
    return this.addQuantizedConstant(tensor, r.values, dims, p, 'bias', null);
  }

  /** Weights and biases of this graph's planned nodes. */
  quantizeNodes(planned: QuantPlan['nodes']): void {
    for (const pn of planned) {
      const node = this.index.nodes[pn.index];
      const bias = pn.weights.find((x) => x.kind === 'bias');
      const weight = pn.weights.find((x) => x.kind === 'weight');
      const beta = pn.opType === 'Gemm' ? (node.attribute.find((a) => a.name === 'beta')?.f ?? 1) : 1;
      const safeScales = bias && weight ? this.biasSafeScales(bias.tensor, pn.inputs[0], weight.tensor, weight.axis, beta) : undefined;
      for (const w of pn.weights.filter((x) => x.kind !== 'bias')) {
        node.input[w.inputIndex] = this.quantizeWeight(w.tensor, w.axis, w.kind as 'weight' | 'constant', w === weight ? safeScales : undefined);
      }
      if (bias && weight) {
        const dq = this.quantizeBias(bias.tensor, pn.inputs[0], weight.tensor, beta);
        if (dq) node.input[bias.inputIndex] = dq;
      }
    }
  }

  /** New nodes and initializers in; unused float weights out; nodes in topological order. */
  finish(): void {
    this.graph.initializer.push(...this.newInitializers);
    this.graph.node.push(...this.newNodes);
    pruneAndSort(this.graph);
  }
}

/** Drops initializers and Constant nodes nothing reads, then puts the nodes in topological order. */
export function pruneAndSort(graph: GraphProto): void {
  const used = new Set(graph.node.flatMap((n) => n.input));
  for (const o of graph.output) used.add(o.name ?? '');
  for (const sub of new GraphIndex(graph).subgraphs) for (const ref of sub.index.outerRefs) used.add(ref);
  graph.initializer = graph.initializer.filter((t) => used.has(t.name ?? ''));
  graph.node = graph.node.filter((n) => n.op_type !== 'Constant' || n.output.some((o) => used.has(o)));
  const sorted = new GraphIndex(graph).topologicalOrder();
  graph.node = sorted.map((i) => graph.node[i]);
}

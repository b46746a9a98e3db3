// Weight-only quantization of a model in place (a copy the pipeline made): one weight at a time,
// read through the tensor readers (external data too), quantized by the chosen algorithm, written
// as packed initializers, the float values dropped before the next one. No onnxruntime session is
// needed until the pipeline verifies the written model.
import type { NodeDecision, QuantSettings, TensorQuantization, WeightBlockError } from '../../../shared/quantResult';
import { createMessage } from '../../onnx/codec';
import { DataType } from '../../onnx/dataTypes';
import { GraphIndex } from '../../onnx/graph';
import type { OnnxModel } from '../../onnx/model';
import { readTensor, tensorDims, toFloat32 } from '../../onnx/tensor';
import type { TensorSink } from '../../onnx/tensorSink';
import type { OperatorSetIdProto, TensorProto } from '../../onnx/types';
import { blockErrorStats } from '../blockScheme';
import { hqqQuantize } from './hqq';
import { rtnQuantize } from './rtn';
import { findWeightNodes, type WeightNode } from './targets';
import type { BlockOptions, WeightOnlyChoice, WeightTarget } from './types';
import { writeDequantizeLinear, writeGatherBlockQuantized, writeMatMulNBits, type Rewrite, type WriteContext } from './writers';

export interface WeightOnlyResult {
  tensors: TensorQuantization[];
  decisions: NodeDecision[];
  unmatchedPatterns: string[];
  warnings: string[];
  quantizedNames: Record<string, string>;
  weightErrors: WeightBlockError[];
  /** The data-free rewrite quantized nothing: no MatMul/Gemm/Gather with a constant weight. */
  quantizedCount: number;
}

/** GPTQ/AWQ: the choices for the MatMul/Gemm targets, keyed by node name (see dataAwareChoicesFor). */
export type ChoicesFor = (targets: WeightTarget[], weightOf: (t: WeightTarget) => Float32Array) => Promise<Map<string, WeightOnlyChoice>>;

/** How many scale and zero-point values a result lists per weight (the rest are summarised). */
const LISTED = 8;

/** B's float values, [K, N] for MatMul/Gemm as the algorithms read them through `layout`. */
function floatWeight(model: OnnxModel, t: TensorProto): Float32Array {
  return toFloat32(readTensor(t, model.external));
}

function typeName(o: BlockOptions): string {
  return `${o.symmetric ? 'int' : 'uint'}${o.bits}`;
}

/** [K, N] row-major from a weight stored [N, K] (data-aware algorithms read B as the MatMul does). */
function asKN(values: Float32Array, t: WeightNode): Float32Array {
  if (t.layout === 'KN') return values;
  const out = new Float32Array(values.length);
  for (let n = 0; n < t.N; n++) for (let k = 0; k < t.K; k++) out[k * t.N + n] = values[n * t.K + k];
  return out;
}

/** With a `sink`, each new initializer goes to the output's data file as soon as it is made. */
export async function quantizeWeightOnly(model: OnnxModel, settings: QuantSettings, choicesFor?: ChoicesFor, sink?: TensorSink): Promise<WeightOnlyResult> {
  const graph = model.proto.graph!;
  const found = findWeightNodes(model, settings);
  const decisions = [...found.decisions];
  const warnings: string[] = [];
  const tensors: TensorQuantization[] = [];
  const quantizedNames: Record<string, string> = {};
  const weightErrors: WeightBlockError[] = [];
  const byName = new Map(graph.initializer.map((t) => [t.name ?? '', t]));
  const index = new GraphIndex(graph);
  const taken = new Set<string>([
    ...byName.keys(),
    ...graph.node.flatMap((n) => [n.name ?? '', ...n.input, ...n.output]),
    ...graph.input.map((v) => v.name ?? ''),
  ]);
  const unique = (base: string) => {
    let name = base;
    for (let i = 1; taken.has(name); i++) name = `${base}_${i}`;
    taken.add(name);
    return name;
  };
  const constants = index.constantTensors();
  const ctx: WriteContext = {
    unique,
    constantBias: (name, N) => {
      const c = constants.get(name);
      if (!c || c.data_type !== DataType.FLOAT) return undefined;
      const dims = tensorDims(c);
      const ok = (dims.length === 1 && dims[0] === N) || (dims.length === 2 && dims[0] === 1 && dims[1] === N);
      return ok ? toFloat32(readTensor(c, model.external)) : undefined;
    },
    accuracyLevel: settings.accuracyLevel,
    format: settings.weightOnlyFormat,
  };

  const eligible: WeightNode[] = [];
  for (const t of found.nodes) {
    const skip = (reason: string) => decisions.push({ node: t.name, opType: t.opType, quantized: false, reason });
    if (t.opType === 'Gather') {
      if (settings.weightOnlyFormat === 'dequantize-linear') {
        skip('embedding Gathers are quantized in the matmulnbits format only (GatherBlockQuantized); kept in float');
        continue;
      }
      if (t.K % t.options.blockSize !== 0) {
        skip(`the table's row length ${t.K} is not a multiple of the block size ${t.options.blockSize}, which GatherBlockQuantized needs; kept in float`);
        continue;
      }
      if (settings.algorithm === 'gptq' || settings.algorithm === 'awq') {
        skip(`${settings.algorithm} quantizes MatMul weights from their inputs; an embedding table has none, so it is kept in float`);
        continue;
      }
    }
    eligible.push(t);
  }

  // GPTQ/AWQ: their choices first (they run the model on calibration data); RTN/HQQ per weight below.
  let dataAware: Map<string, WeightOnlyChoice> | undefined;
  if (settings.algorithm === 'gptq' || settings.algorithm === 'awq') {
    if (!choicesFor) throw new RangeError(`no provider of ${settings.algorithm} choices`);
    const targets = eligible.filter((t) => t.opType !== 'Gather').map((t) => ({ node: t.name, input: t.node.input[0], weight: t.weight, K: t.K, N: t.N }));
    const nodeOf = new Map(eligible.map((t) => [t.name, t]));
    dataAware = await choicesFor(targets, (target) => {
      const t = nodeOf.get(target.node)!;
      return asKN(floatWeight(model, byName.get(t.weight)!), t);
    });
  }

  const replaced = new Map<number, Rewrite>();
  // A weight read by several nodes the same way is quantized once and its initializers shared.
  const done = new Map<string, { node: string; names: string[]; choice: WeightOnlyChoice; algorithm: string }>();
  const write = (t: WeightNode, choice: WeightOnlyChoice, reuse?: string[]) => {
    const rewrite =
      t.opType === 'Gather'
        ? writeGatherBlockQuantized(t, choice, ctx, reuse)
        : settings.weightOnlyFormat === 'dequantize-linear'
          ? writeDequantizeLinear(t, choice, ctx, reuse)
          : writeMatMulNBits(t, choice, ctx, reuse);
    if (sink) for (const init of rewrite.initializers) sink.put(init);
    return rewrite;
  };
  for (const t of eligible) {
    const key = [t.weight, t.opType === 'Gather', t.layout, t.options.bits, t.options.blockSize, t.options.symmetric, t.alpha].join('|');
    const same = dataAware ? undefined : done.get(key);
    if (same) {
      const rewrite = write(t, same.choice, same.names);
      replaced.set(t.index, rewrite);
      decisions.push({
        node: t.name,
        opType: t.opType,
        quantized: true,
        reason: `${describe(t, same.choice, same.algorithm, rewrite)}, sharing the quantized weight of '${same.node}'`,
      });
      continue;
    }
    const stored = byName.get(t.weight)!;
    let values: Float32Array | undefined = floatWeight(model, stored);
    let choice = dataAware?.get(t.name);
    let algorithm: string = settings.algorithm;
    if (!choice) {
      if (dataAware) warnings.push(`${settings.algorithm} gave no choice for '${t.name}': it was quantized with rtn`);
      algorithm = settings.algorithm === 'hqq' ? 'hqq' : 'rtn';
      choice = { weight: algorithm === 'hqq' ? hqqQuantize(values, t.K, t.N, t.options, t.layout) : rtnQuantize(values, t.K, t.N, t.options, t.layout) };
    }
    const w = choice.weight;
    if (w.K !== t.K || w.N !== t.N || w.bits !== t.options.bits || w.blockSize !== t.options.blockSize) {
      throw new RangeError(
        `the choice for '${t.name}' has shape [${w.K}, ${w.N}] with ${w.bits} bits in blocks of ${w.blockSize}; the node needs [${t.K}, ${t.N}], ${t.options.bits} bits, blocks of ${t.options.blockSize}`,
      );
    }
    // AWQ scaled the weight's rows: its error is measured against W * s, what was quantized.
    const reference = choice.inputScale ? scaleRows(values, t, choice.inputScale) : values;
    const err = blockErrorStats(reference, w, choice.inputScale ? 'KN' : t.layout);
    values = undefined; // the float copy goes before the next weight is read
    const rewrite = write(t, choice);
    replaced.set(t.index, rewrite);
    // Only the shape is kept for a sharer: the integers are in the initializers already.
    const shape = { ...w, q: new Uint8Array(0), scales: new Float32Array(0), zeroPoints: new Uint8Array(0) };
    done.set(key, { node: t.name, names: rewrite.weightInputs, choice: { weight: shape }, algorithm });
    quantizedNames[rewrite.quantizedName] = t.weight;
    weightErrors.push({ tensor: t.weight, node: t.name, ...err, sqnrDb: Number.isFinite(err.sqnrDb) ? err.sqnrDb : err.sqnrDb > 0 ? 999 : -999 });
    decisions.push({ node: t.name, opType: t.opType, quantized: true, reason: describe(t, choice, algorithm, rewrite) });
    tensors.push({
      tensor: t.weight,
      kind: 'weight',
      type: typeName(w),
      range: null,
      rangeSource: `${algorithm}, ${w.N * w.kBlocks} blocks of ${w.blockSize} along K (first ${Math.min(LISTED, w.scales.length)} scales and zero points listed)`,
      scale: Array.from(w.scales.subarray(0, LISTED)),
      zeroPoint: Array.from(w.zeroPoints.subarray(0, LISTED)),
      axis: t.opType === 'Gather' ? 1 : 0,
    });
  }

  graph.node = graph.node.flatMap((n, i) => replaced.get(i)?.nodes ?? [n]);
  for (const r of replaced.values()) graph.initializer.push(...r.initializers);
  const used = new Set(graph.node.flatMap((n) => n.input));
  for (const o of graph.output) used.add(o.name ?? '');
  for (const sub of index.subgraphs) for (const ref of sub.index.outerRefs) used.add(ref);
  const dropped = new Set(graph.initializer.filter((t) => !used.has(t.name ?? '')).map((t) => t.name ?? ''));
  graph.initializer = graph.initializer.filter((t) => !dropped.has(t.name ?? ''));
  // Weights listed as graph inputs too (before IR 4) go with their initializer.
  graph.input = graph.input.filter((v) => !dropped.has(v.name ?? ''));
  for (const [q, f] of Object.entries(quantizedNames))
    if (!dropped.has(f)) warnings.push(`'${f}' is read by other nodes too, so it stays in float beside ${q}`);
  if (replaced.size && [...replaced.values()].some((r) => r.nodes.some((n) => n.domain === 'com.microsoft'))) {
    if (!model.proto.opset_import.some((o) => o.domain === 'com.microsoft')) {
      model.proto.opset_import.push(createMessage<OperatorSetIdProto>('OperatorSetIdProto', { domain: 'com.microsoft', version: 1 }));
    }
  }
  for (const node of Object.keys(settings.layerOverrides)) {
    if (!found.nodes.some((t) => t.name === node)) warnings.push(`the layer override of '${node}' applies to no quantized node`);
  }
  return { tensors, decisions, unmatchedPatterns: found.unmatchedPatterns, warnings, quantizedNames, weightErrors, quantizedCount: replaced.size };
}

/** "MatMulNBits: 4 bits, blocks of 32, asymmetric, rtn, K = 80 padded to 96". */
function describe(t: WeightNode, choice: WeightOnlyChoice, algorithm: string, rewrite: Rewrite): string {
  const w = choice.weight;
  const padded = t.K % w.blockSize ? `, K = ${t.K} padded to ${w.kBlocks * w.blockSize}` : '';
  const op = rewrite.nodes.find((n) => n.op_type === 'MatMulNBits' || n.op_type === 'GatherBlockQuantized' || n.op_type === 'DequantizeLinear')!.op_type;
  const alpha = t.alpha !== 1 ? ', alpha folded into the scales' : '';
  const awq = choice.inputScale ? ', input divided by the AWQ scale' : '';
  return `${op}: ${w.bits} bits, blocks of ${w.blockSize}, ${w.symmetric ? 'symmetric' : 'asymmetric'}, ${algorithm}${padded}${alpha}${awq}`;
}

/** W * s per row k (AWQ's scaled weight), [K, N] row-major. */
function scaleRows(values: Float32Array, t: WeightNode, s: Float32Array): Float32Array {
  const kn = asKN(values, t);
  const out = new Float32Array(kn.length);
  for (let k = 0; k < t.K; k++) for (let n = 0; n < t.N; n++) out[k * t.N + n] = kn[k * t.N + n] * s[k];
  return out;
}

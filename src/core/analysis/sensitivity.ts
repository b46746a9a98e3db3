// Sensitivity: for each quantized node, the output error when only that node reads quantized
// values and when every quantized node but that one does. A node is put back in float by pointing
// its inputs from the DequantizeLinear outputs to the float values (an activation's value before
// its QuantizeLinear, the float model's weight): sessions are built in memory from the quantized
// model, so nothing is re-quantized or written, and the ranges are exactly the ones in use. Scored
// on a few samples held in memory (their count bounds that memory). Rank 1 = the node whose
// quantization alone costs most.
import type { SensitivityEntry, SensitivityReport } from '../../shared/quantReport';
import { batchSampleCount, type DataSource } from '../data';
import { errorMessage, OnnxCompressError } from '../errors';
import { DataType } from '../onnx/dataTypes';
import { GraphIndex } from '../onnx/graph';
import type { OnnxModel } from '../onnx/model';
import { makeTensor } from '../onnx/tensor';
import type { NodeProto } from '../onnx/types';
import { createSession, type ort } from '../runtime/session';
import { floatConstants, type FloatNameOf } from './match';
import { ErrorAccumulator } from './metrics';

export interface SensitivityOptions {
  /** The float tensor each integer initializer holds (the QuantResult's record). */
  floatName: FloatNameOf;
  samples: number;
  batchSize: number;
  ep: string;
  signal?: AbortSignal;
  onProgress?: (p: { stage: string; batch?: number; total?: number }) => void;
  /** A variant that could not run: its number is null and this says why. */
  onWarning?: (message: string) => void;
}

const ALL_NODES_UP_TO = 40;
const WEIGHTED = new Set(['Conv', 'ConvTranspose', 'MatMul', 'Gemm']);

interface QuantizedNode {
  node: NodeProto;
  name: string;
  /** Per input index: the float value to read instead of the dequantized one. */
  floatInputs: Map<number, string>;
  /** A graph output the rewrite quantized after this node (the node writes NAME_before_QuantizeLinear,
   *  Q -> DQ writes NAME): in float, the node writes NAME itself and the pair is left aside. */
  graphOutputs: Array<{ index: number; q: NodeProto; dq: NodeProto }>;
}

/** Points the node's inputs (and quantized graph outputs) at float values; returns the undo. */
function toFloat(n: QuantizedNode): () => void {
  const inputs = [...n.node.input];
  const outputs = [...n.node.output];
  const pairs = n.graphOutputs.map(({ q, dq }) => [[...q.input], [...dq.output]] as const);
  for (const [i, name] of n.floatInputs) n.node.input[i] = name;
  for (const { index, q, dq } of n.graphOutputs) {
    const name = dq.output[0];
    n.node.output[index] = name;
    q.input[0] = name;
    dq.output[0] = `${name}__set_aside`;
  }
  return () => {
    n.node.input = inputs;
    n.node.output = outputs;
    n.graphOutputs.forEach(({ q, dq }, k) => {
      q.input = [...pairs[k][0]];
      dq.output = [...pairs[k][1]];
    });
  };
}

/**
 * The quantized model's nodes that read dequantized values, each with the float replacement of
 * those inputs; the float weights they need are added to the graph (unused by the model itself).
 */
function quantizedNodes(float: OnnxModel, quant: OnnxModel, floatName: FloatNameOf): QuantizedNode[] {
  const graph = quant.proto.graph!;
  const index = new GraphIndex(graph);
  const readFloat = floatConstants(float);
  const floatNames = new Set(float.proto.graph!.node.map((n) => n.name));
  const added = new Set<string>();
  const out: QuantizedNode[] = [];
  for (const node of graph.node) {
    if (node.op_type === 'QuantizeLinear' || node.op_type === 'DequantizeLinear' || !floatNames.has(node.name)) continue;
    const floatInputs = new Map<number, string>();
    node.input.forEach((input, i) => {
      const p = index.producer.get(input);
      const dq = p !== undefined ? graph.node[p] : undefined;
      if (dq?.op_type !== 'DequantizeLinear') return;
      const source = dq.input[0];
      const q = index.producer.get(source);
      if (q !== undefined && graph.node[q].op_type === 'QuantizeLinear') {
        floatInputs.set(i, graph.node[q].input[0]);
        return;
      }
      const weight = floatName(source) ?? source;
      if (!index.producer.has(weight) && !index.initializers.has(weight) && !added.has(weight)) {
        const f = readFloat(weight);
        if (!f) return;
        graph.initializer.push(makeTensor({ name: weight, dataType: DataType.FLOAT, dims: f.dims, values: f.values }));
        added.add(weight);
      }
      floatInputs.set(i, weight);
    });
    const graphOutputs: QuantizedNode['graphOutputs'] = [];
    node.output.forEach((o, slot) => {
      const q = (index.consumers.get(o) ?? []).map((c) => graph.node[c]).find((c) => c.op_type === 'QuantizeLinear');
      const dq = q && (index.consumers.get(q.output[0]) ?? []).map((c) => graph.node[c]).find((c) => c.op_type === 'DequantizeLinear');
      if (q && dq && index.outputs.has(dq.output[0]) && (index.consumers.get(o) ?? []).length === 1) graphOutputs.push({ index: slot, q, dq });
    });
    if (floatInputs.size || graphOutputs.length) out.push({ node, name: node.name!, floatInputs, graphOutputs });
  }
  return out;
}

async function heldBatches(data: DataSource, samples: number, batchSize: number, signal?: AbortSignal): Promise<Array<Record<string, ort.Tensor>>> {
  const batches: Array<Record<string, ort.Tensor>> = [];
  for await (const b of data.batches({ batchSize, limit: samples, signal })) batches.push(b);
  return batches;
}

export async function measureSensitivity(float: OnnxModel, quant: OnnxModel, data: DataSource, o: SensitivityOptions): Promise<SensitivityReport> {
  const batches = await heldBatches(data, o.samples, o.batchSize, o.signal);
  const output = float.proto.graph!.output[0].name!;
  const reference: Float32Array[] = [];
  const floatSession = await createSession(float, { executionProviders: [o.ep] });
  try {
    for (const feeds of batches) {
      const r = await floatSession.run(feeds);
      reference.push(Float32Array.from(r[output].data as Float32Array));
      for (const t of Object.values(r)) t.dispose();
    }
  } finally {
    await floatSession.release();
  }
  const graph = quant.proto.graph!;
  const initializers = graph.initializer.length;
  const allNodes = quantizedNodes(float, quant, o.floatName);
  // Two sessions per node: on large graphs only the nodes holding weights are measured.
  const nodes = allNodes.length > ALL_NODES_UP_TO ? allNodes.filter((n) => WEIGHTED.has(n.node.op_type!)) : allNodes;
  if (nodes.length < allNodes.length) {
    o.onWarning?.(
      `sensitivity measured for the ${nodes.length} ${[...WEIGHTED].join('/')} nodes only, of ${allNodes.length} quantized nodes (each costs two model builds; above ${ALL_NODES_UP_TO} nodes the others are skipped)`,
    );
  }
  /** Output SQNR with the nodes in `floatSet` reading float values. */
  const score = async (floatSet: Set<QuantizedNode>, what: string): Promise<number | null> => {
    if (o.signal?.aborted) throw new OnnxCompressError('cancelled; no report was written', quant.file);
    const undo = [...floatSet].map(toFloat);
    let session: ort.InferenceSession | undefined;
    try {
      session = await createSession(quant, { executionProviders: [o.ep] });
      const acc = new ErrorAccumulator();
      for (const [k, feeds] of batches.entries()) {
        const r = await session.run(feeds, [output]);
        acc.add(reference[k], r[output].data as Float32Array);
        r[output].dispose();
      }
      return acc.result().sqnr;
    } catch (e) {
      o.onWarning?.(`sensitivity, ${what}: ${errorMessage(e)}`);
      return null;
    } finally {
      await session?.release();
      for (const u of undo.reverse()) u();
    }
  };
  try {
    const all = await score(new Set(), 'all quantized');
    const entries: SensitivityEntry[] = [];
    for (const [k, n] of nodes.entries()) {
      o.onProgress?.({ stage: 'sensitivity', batch: k + 1, total: nodes.length });
      entries.push({
        tensor: n.node.output[0] ?? '',
        node: n.name,
        onlyThisSqnr: await score(new Set(allNodes.filter((x) => x !== n)), `only '${n.name}' quantized`),
        allButThisSqnr: await score(new Set([n]), `all but '${n.name}' quantized`),
        rank: 0,
      });
    }
    // Most sensitive first: the lowest SQNR when quantized alone; ties broken by the gain of keeping it in float.
    const key = (e: SensitivityEntry) => e.onlyThisSqnr ?? Infinity;
    [...entries].sort((a, b) => key(a) - key(b) || (b.allButThisSqnr ?? -Infinity) - (a.allButThisSqnr ?? -Infinity)).forEach((e, i) => (e.rank = i + 1));
    entries.sort((a, b) => a.rank - b.rank);
    return { samples: batches.reduce((s, b) => s + batchSampleCount(b), 0), allQuantizedSqnr: all, entries };
  } finally {
    graph.initializer.length = initializers;
  }
}

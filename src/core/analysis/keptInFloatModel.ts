// The model a keep-in-float request writes: the float model quantized again with the earlier
// run's ranges (no calibration), the chosen nodes excluded and pointed at float inputs, written
// with its QuantResult beside it.
import * as fs from 'fs';
import * as path from 'path';
import type { QuantResult } from '../../shared/quantResult';
import { jsonText, temporaryName, writeFileAtomicSync } from '../files';
import { GraphIndex } from '../onnx/graph';
import { readModel } from '../onnx/model';
import type { GraphProto, NodeProto } from '../onnx/types';
import { isExternalSwitchNote, modelBytes, writeModel } from '../onnx/write';
import { pruneAndSort } from '../quant/qdq';
import { verifyQuantized } from '../quant/verify';
import type { ort } from '../runtime/session';
import { KeepInFloatError } from './errors';
import { nothingChanged } from './keepReport';
import { defaultQuantResultFile } from './quantResultFile';
import { exactNode, quantizedNodes, requantize } from './requantize';

/** Kept in float: nodes excluded by name from an earlier keep-in-float or quantize run. */
function excludedNodes(r: QuantResult): Set<string> {
  return new Set(r.nodes.filter((d) => !d.quantized && d.reason.startsWith('excluded by')).map((d) => d.node));
}

function producers(g: GraphProto): Map<string, NodeProto> {
  return new Map(g.node.flatMap((n) => n.output.map((o) => [o, n] as const)));
}

/** The inputs of `node` that DequantizeLinear outputs feed, i.e. the values quantized for it. */
function dequantizedInputs(node: NodeProto, producer: Map<string, NodeProto>): string[] {
  return node.input.filter((i) => producer.get(i)?.op_type === 'DequantizeLinear');
}

/**
 * Points the nodes' dequantized activation inputs at the float values their QuantizeLinear took,
 * then drops the Q/DQ pairs nothing reads any more. The rewrite quantizes a tensor once for all
 * its readers, so an excluded node still reads a quantized value when a quantized neighbour shares
 * it; this is what makes the node compute in float (as the sensitivity measure assumes).
 */
function readFloatInputs(g: GraphProto, nodes: Set<string>): void {
  const producer = producers(g);
  for (const n of g.node) {
    if (!n.name || !nodes.has(n.name)) continue;
    n.input = n.input.map((i) => {
      const dq = producer.get(i);
      const q = dq?.op_type === 'DequantizeLinear' ? producer.get(dq.input[0]) : undefined;
      return q?.op_type === 'QuantizeLinear' ? q.input[0] : i;
    });
  }
  for (;;) {
    const used = new Set(g.node.flatMap((n) => n.input));
    for (const o of g.output) used.add(o.name ?? '');
    for (const refs of new GraphIndex(g).implicitInputs.values()) refs.forEach((r) => used.add(r));
    const left = g.node.filter((n) => !((n.op_type === 'QuantizeLinear' || n.op_type === 'DequantizeLinear') && !n.output.some((o) => used.has(o))));
    if (left.length === g.node.length) break;
    g.node = left;
  }
  pruneAndSort(g);
}

export interface Kept {
  result: QuantResult;
  /** The requested nodes now in float, and why each of the others changed nothing. */
  kept: string[];
  unchanged: string[];
}

/**
 * Keeping a node in float means what onnxruntime's nodes_to_exclude means: the node itself is not
 * quantized, so it reads float values: no DequantizeLinear feeds any of its inputs (activations,
 * weights, biases) in the written model. Its output stays quantized where a quantized node reads it
 * (that node's input). The model is quantized again with the earlier ranges and the nodes excluded,
 * those nodes (and those an earlier request kept) are pointed at float inputs, and the result is
 * written to a temporary file renamed to `output`, with its QuantResult beside it. A request that
 * would change nothing is refused before anything is written.
 */
export async function writeKeptInFloat(
  floatFile: string,
  previous: QuantResult,
  nodes: string[],
  output: string,
  o: { signal?: AbortSignal; feeds?: Record<string, ort.Tensor>; scratch?: boolean },
): Promise<Kept> {
  const floatNames = new Set((await readModel(floatFile)).proto.graph!.node.map((n) => n.name));
  if (!fs.existsSync(previous.output))
    throw new KeepInFloatError(`the quantized model ${previous.output} named by its quantization result is missing; quantize the model again`);
  const before = (await readModel(previous.output)).proto.graph!;
  const beforeProducer = producers(before);
  const already = excludedNodes(previous);
  const base = path.basename(previous.output);
  const unchanged: string[] = [];
  const asked = nodes.filter((n) => {
    const node = before.node.find((x) => x.name === n);
    if (!floatNames.has(n)) unchanged.push(`${n} is not a node of ${path.basename(floatFile)}`);
    else if (node && dequantizedInputs(node, beforeProducer).length) return true;
    else unchanged.push(already.has(n) ? `${n} is already in float in ${base}` : `${n} is not quantized in ${base}`);
    return false;
  });
  if (!asked.length) throw nothingChanged(unchanged);
  const quantized = new Set(quantizedNodes(previous));
  if (asked.filter((n) => quantized.has(n)).length >= quantized.size)
    throw new KeepInFloatError(`keeping all ${quantized.size} quantized nodes in float leaves the float model; keep fewer`);

  const scratch = `${temporaryName(output)}.onnx`;
  try {
    const result = await requantize(
      floatFile,
      previous,
      { exclude: [...previous.settings.exclude, ...asked.filter((n) => !already.has(n)).map(exactNode)] },
      scratch,
      o.signal,
      false,
    );
    const model = await readModel(scratch);
    const g = model.proto.graph!;
    // The asked nodes, and those an earlier request put on float inputs (excluded, reading no DQ).
    const inFloat = new Set([
      ...asked,
      ...[...already].filter((n) => {
        const node = before.node.find((x) => x.name === n);
        return node && !dequantizedInputs(node, beforeProducer).length;
      }),
    ]);
    readFloatInputs(g, inFloat);
    const producer = producers(g);
    const kept = asked.filter((n) => {
      const node = g.node.find((x) => x.name === n)!;
      const still = dequantizedInputs(node, producer);
      if (still.length) unchanged.push(`${n} still reads the quantized ${still.join(', ')}`);
      return !still.length;
    });
    if (!kept.length) throw nothingChanged(unchanged);
    if (o.signal?.aborted) throw new KeepInFloatError('cancelled; nothing was written', output);
    const written = await writeModel(model, output, { signal: o.signal });
    // Written past the protobuf limit, the scratch model had its tensors moved out, and the output
    // keeps them there: the note names the output's data file, not the scratch's (removed below).
    const scratchNote = result.warnings.find(isExternalSwitchNote);
    const note =
      written.note ?? (scratchNote && written.dataFile ? scratchNote.split(`${path.basename(scratch)}.data`).join(path.basename(written.dataFile)) : undefined);
    if (o.scratch) return { result: { ...result, output: written.file }, kept, unchanged };
    // Q/DQ pairs went away with the rewiring: fusion is what onnxruntime makes of this model. The
    // ranges of the tensors no longer quantized stay in the result: a later request reuses them.
    const candidates = result.nodes
      .filter((d) => d.quantized && ['Conv', 'ConvTranspose', 'MatMul', 'Gemm'].includes(d.opType))
      .map((d) => ({ name: d.node, opType: d.opType }));
    const v = await verifyQuantized(written.file, candidates, o.feeds, result.settings.executionProvider, result.settings.activationType.endsWith('16'));
    const outputBytes = modelBytes(written.file);
    const final: QuantResult = {
      ...result,
      output: written.file,
      fusion: v.fusion,
      verification: { loads: v.loads, ran: v.ran, note: v.note },
      sizes: { ...result.sizes, outputBytes, ratio: outputBytes / result.sizes.inputBytes },
      warnings: [...result.warnings.filter((w) => !isExternalSwitchNote(w)), ...(note ? [note] : [])],
    };
    writeFileAtomicSync(defaultQuantResultFile(written.file), jsonText(final));
    return { result: final, kept, unchanged };
  } finally {
    for (const f of [scratch, `${scratch}.data`]) fs.rmSync(f, { force: true });
  }
}

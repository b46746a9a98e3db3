// Keep in float: quantize the float model again with chosen nodes computing in float (see
// writeKeptInFloat), reusing the earlier run's ranges (seconds, no calibration), and say what it
// gained and cost. The automatic form
// adds the nodes whose exclusion helps most (sensitivity, all-but-one) one at a time until the
// target is met.
import * as fs from 'fs';
import * as path from 'path';
import type { KeepInFloatReport, KeepInFloatTargetKind, ModelSummary, QuantReport, SensitivityReport } from '../../shared/quantReport';
import type { QuantResult } from '../../shared/quantResult';
import { openDataSource, type DataSource } from '../data';
import { errorMessage, OnnxCompressError } from '../errors';
import { jsonText, temporaryName, writeFileAtomicSync } from '../files';
import { GraphIndex } from '../onnx/graph';
import { readModel } from '../onnx/model';
import type { GraphProto, NodeProto } from '../onnx/types';
import { modelBytes, writeModel } from '../onnx/write';
import { pruneAndSort } from '../quant/qdq';
import { verifyQuantized } from '../quant/verify';
import { chooseProvider } from '../runtime/providers';
import { createSession, type ort } from '../runtime/session';
import { analyzeQuantization, ANALYSIS_DEFAULTS, defaultQuantResultFile, defaultReportFile, loadQuantResult, writeJsonFile, type AnalysisOptions, type AnalysisProgress } from './analyze';
import { readLabels } from './labels';
import { exactNode, firstBatch, quantizedNodes, requantize, scoreModel, summarize, type Score } from './requantize';
import { measureSensitivity } from './sensitivity';

export class KeepInFloatError extends OnnxCompressError {}

/** The evaluation the re-quantized model gets: the analysis' own options. */
export interface KeepInFloatOptions extends Pick<AnalysisOptions, 'data' | 'labels' | 'samples' | 'batchSize' | 'ep' | 'latencyRuns'> {
  /** The model written (default: the earlier output with `.keep-float` before `.onnx`). */
  output?: string;
  /** Auto: sensitivity already measured (else it is measured here). */
  sensitivity?: SensitivityReport;
  sensitivitySamples?: number;
  /** The model kept-in-float starts from, already measured (the report shown): not scored again. */
  before?: ModelSummary;
  signal?: AbortSignal;
  onProgress?: (p: { stage: string; batch?: number; total?: number }) => void;
  /** Requested nodes that were not kept in float, and why (the others were). */
  onWarning?: (w: string) => void;
}

export interface KeepTarget {
  kind: KeepInFloatTargetKind;
  value: number;
}

export function defaultKeepOutput(previous: QuantResult): string {
  return previous.output.replace(/(\.onnx)?$/i, '.keep-float.onnx');
}

/** Reads `sqnr:30`, `agreement:0.99` or `accuracy:0.87`. */
export function parseTarget(text: string): KeepTarget {
  const m = /^(sqnr|agreement|accuracy):(-?\d+(?:\.\d+)?)$/.exec(text.trim());
  if (!m) throw new KeepInFloatError(`target '${text}' is not KIND:VALUE with KIND sqnr (dB), agreement (0-1) or accuracy (0-1), e.g. sqnr:30`);
  const value = Number(m[2]);
  if (m[1] !== 'sqnr' && (value < 0 || value > 1)) throw new KeepInFloatError(`target ${m[1]} must be between 0 and 1 (got ${value})`);
  return { kind: m[1] as KeepInFloatTargetKind, value };
}

function valueOf(score: Pick<Score, 'outputSqnr' | 'top1Agreement' | 'accuracy'>, kind: KeepInFloatTargetKind | 'sqnr'): number | null {
  return kind === 'sqnr' ? score.outputSqnr : kind === 'agreement' ? score.top1Agreement : score.accuracy;
}

interface Context {
  data: DataSource;
  floatSession: ort.InferenceSession;
  outputs: string[];
  labels?: Int32Array;
  ep: string;
  batchSize: number;
  samples: number | null;
  runs: number;
  feeds?: Record<string, ort.Tensor>;
  output: string;
  signal?: AbortSignal;
}

async function open<T>(floatFile: string, previous: QuantResult, o: KeepInFloatOptions, body: (c: Context) => Promise<T>): Promise<T> {
  if (previous.settings.mode !== 'static') throw new KeepInFloatError('keep-in-float re-quantizes with saved calibration ranges: it needs a static quantization (dynamic mode is already quick to re-run with --exclude)', previous.output);
  const float = await readModel(floatFile);
  const ep = (await chooseProvider(o.ep ?? previous.settings.executionProvider)).provider;
  let data: DataSource;
  try {
    data = await openDataSource(o.data, float);
  } catch (e) {
    throw new KeepInFloatError(`the evaluation data does not fit the float model: ${errorMessage(e)}`, o.data);
  }
  const samples = o.samples === undefined ? ANALYSIS_DEFAULTS.samples : o.samples;
  const labels = o.labels ? await readLabels(o.labels, samples ?? undefined) : undefined;
  const floatSession = await createSession(float, { executionProviders: [ep] });
  const batchSize = o.batchSize ?? ANALYSIS_DEFAULTS.batchSize;
  const output = path.resolve(o.output ?? defaultKeepOutput(previous));
  // Files this run creates; a cancelled run takes them away again.
  const created = [output, `${output}.data`, output.replace(/(\.onnx)?$/i, '.quant.json')].filter((f) => !fs.existsSync(f));
  try {
    return await body({
      data, floatSession, outputs: float.proto.graph!.output.map((x) => x.name!), labels, ep, batchSize, samples,
      runs: o.latencyRuns ?? ANALYSIS_DEFAULTS.latencyRuns, feeds: await firstBatch(data, batchSize), output, signal: o.signal,
    });
  } catch (e) {
    if (o.signal?.aborted) {
      for (const f of created) fs.rmSync(f, { force: true });
      throw new KeepInFloatError('cancelled; nothing was written', output);
    }
    throw e;
  } finally {
    await floatSession.release();
  }
}

async function scoreFile(c: Context, file: string): Promise<Score> {
  return scoreModel(c.floatSession, file, c.outputs, c.data, { samples: c.samples, batchSize: c.batchSize, ep: c.ep, labels: c.labels, signal: c.signal });
}

function report(nodes: string[], target: KeepTarget | null, achieved: number | null, before: ModelSummary, after: ModelSummary, steps: KeepInFloatReport['steps']): KeepInFloatReport {
  return {
    nodes,
    target,
    achieved,
    met: target ? achieved !== null && achieved >= target.value : null,
    output: after.file,
    cost: {
      sizeBytes: after.bytes - before.bytes,
      latencyMs: after.medianMs !== null && before.medianMs !== null ? after.medianMs - before.medianMs : null,
    },
    steps,
    before,
    after,
  };
}

/** A keep-in-float request that would leave the model as it is: nothing is written. */
function nothingChanged(reasons: string[]): KeepInFloatError {
  return new KeepInFloatError(`nothing changed: ${reasons.join('; ')}; no model was written`);
}

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

interface Kept {
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
async function writeKeptInFloat(floatFile: string, previous: QuantResult, nodes: string[], output: string, o: { signal?: AbortSignal; feeds?: Record<string, ort.Tensor>; scratch?: boolean }): Promise<Kept> {
  const floatNames = new Set((await readModel(floatFile)).proto.graph!.node.map((n) => n.name));
  if (!fs.existsSync(previous.output)) throw new KeepInFloatError(`the quantized model ${previous.output} named by its quantization result is missing; quantize the model again`);
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
  if (asked.filter((n) => quantized.has(n)).length >= quantized.size) throw new KeepInFloatError(`keeping all ${quantized.size} quantized nodes in float leaves the float model; keep fewer`);

  const scratch = `${temporaryName(output)}.onnx`;
  try {
    const result = await requantize(floatFile, previous, { exclude: [...previous.settings.exclude, ...asked.filter((n) => !already.has(n)).map(exactNode)] }, scratch, o.signal, false);
    const model = await readModel(scratch);
    const g = model.proto.graph!;
    // The asked nodes, and those an earlier request put on float inputs (excluded, reading no DQ).
    const inFloat = new Set([...asked, ...[...already].filter((n) => {
      const node = before.node.find((x) => x.name === n);
      return node && !dequantizedInputs(node, beforeProducer).length;
    })]);
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
    if (o.scratch) return { result: { ...result, output: written.file }, kept, unchanged };
    // Q/DQ pairs went away with the rewiring: fusion is what onnxruntime makes of this model. The
    // ranges of the tensors no longer quantized stay in the result: a later request reuses them.
    const candidates = result.nodes.filter((d) => d.quantized && ['Conv', 'ConvTranspose', 'MatMul', 'Gemm'].includes(d.opType)).map((d) => ({ name: d.node, opType: d.opType }));
    const v = await verifyQuantized(written.file, candidates, o.feeds, result.settings.executionProvider, result.settings.activationType.endsWith('16'));
    const outputBytes = modelBytes(written.file);
    const final: QuantResult = {
      ...result, output: written.file, fusion: v.fusion, verification: { loads: v.loads, ran: v.ran, note: v.note },
      sizes: { ...result.sizes, outputBytes, ratio: outputBytes / result.sizes.inputBytes },
    };
    writeFileAtomicSync(defaultQuantResultFile(written.file), jsonText(final));
    return { result: final, kept, unchanged };
  } finally {
    for (const f of [scratch, `${scratch}.data`]) fs.rmSync(f, { force: true });
  }
}

/** Re-quantizes with `nodes` kept in float; writes the model (and its QuantResult) at the output path. */
export async function keepInFloat(floatFile: string, previous: QuantResult, nodes: string[], o: KeepInFloatOptions): Promise<KeepInFloatReport> {
  return open(floatFile, previous, o, async (c) => {
    o.onProgress?.({ stage: `re-quantizing with ${nodes.length} node(s) in float` });
    const { kept, unchanged } = await writeKeptInFloat(floatFile, previous, nodes, c.output, { signal: c.signal, feeds: c.feeds });
    for (const u of unchanged) o.onWarning?.(`not kept in float: ${u}`);
    o.onProgress?.({ stage: 'scoring the quantized model' });
    const before = await summarize(previous.output, await scoreFile(c, previous.output), c.feeds, c.runs, c.ep);
    const score = await scoreFile(c, c.output);
    const after = await summarize(c.output, score, c.feeds, c.runs, c.ep);
    return report(kept, null, score.outputSqnr, before, after, []);
  });
}

/**
 * Keeps the nodes whose exclusion raises the output SQNR most (all-but-one sensitivity) in float,
 * one more at a time, until `target` is met or only one quantized node would be left.
 */
export async function autoKeepInFloat(floatFile: string, previous: QuantResult, target: KeepTarget, o: KeepInFloatOptions): Promise<KeepInFloatReport> {
  if (target.kind === 'accuracy' && !o.labels) throw new KeepInFloatError('an accuracy target needs labels (--labels FILE)');
  return open(floatFile, previous, o, async (c) => {
    o.onProgress?.({ stage: 'scoring the quantized model' });
    const before = o.before ?? await summarize(previous.output, await scoreFile(c, previous.output), c.feeds, c.runs, c.ep);
    if (target.kind === 'agreement' && before.top1Agreement === null) throw new KeepInFloatError('an agreement target needs a classifier (first output shaped [N, classes])');
    const start = valueOf(before, target.kind);
    if (start !== null && start >= target.value) return report([], target, start, before, before, []);
    const sensitivity = o.sensitivity ?? await measureSensitivity(await readModel(floatFile), await readModel(previous.output), c.data, {
      samples: Math.min(o.sensitivitySamples ?? ANALYSIS_DEFAULTS.sensitivitySamples, c.samples ?? Infinity), batchSize: c.batchSize, ep: c.ep, signal: c.signal, onProgress: o.onProgress,
    });
    const order = [...sensitivity.entries].sort((a, b) => (b.allButThisSqnr ?? -Infinity) - (a.allButThisSqnr ?? -Infinity)).map((e) => e.node);
    const kept: string[] = [];
    const steps: KeepInFloatReport['steps'] = [];
    let last: Score | null = null;
    // The search writes a scratch model; only the final choice is written at the output path.
    const scratch = `${temporaryName(c.output)}.onnx`;
    try {
      for (const node of order.slice(0, Math.max(0, order.length - 1))) {
        if (c.signal?.aborted) throw new KeepInFloatError('cancelled', c.output);
        kept.push(node);
        o.onProgress?.({ stage: `keeping ${kept.length} node(s) in float`, batch: kept.length, total: order.length - 1 });
        await writeKeptInFloat(floatFile, previous, kept, scratch, { signal: c.signal, scratch: true });
        last = await scoreFile(c, scratch);
        const achieved = valueOf(last, target.kind);
        steps.push({ node, achieved });
        if (achieved !== null && achieved >= target.value) break;
      }
    } finally {
      for (const f of [scratch, `${scratch}.data`]) fs.rmSync(f, { force: true });
    }
    if (!last) return report(kept, target, start, before, before, steps);
    await writeKeptInFloat(floatFile, previous, kept, c.output, { signal: c.signal, feeds: c.feeds });
    const after = await summarize(c.output, last, c.feeds, c.runs, c.ep);
    return report(kept, target, valueOf(last, target.kind), before, after, steps);
  });
}

/** NAME.quant.json beside the quantized model (or the file given): the ranges keep-in-float reuses. */
export function previousQuantResult(quantFile: string, resultFile?: string): QuantResult {
  const file = resultFile ?? defaultQuantResultFile(quantFile);
  if (!fs.existsSync(file)) {
    const where = resultFile ? file : `${path.basename(file)} is missing beside ${path.basename(quantFile)}`;
    throw new KeepInFloatError(`${resultFile ? `${where} is missing` : where}: the calibration ranges are needed to keep layers in float without calibrating again; quantize the model again`);
  }
  return loadQuantResult(quantFile, file).result!;
}

/** A report's model as keep-in-float compares it (the first output's SQNR, as scoring measures it). */
export function modelSummary(r: QuantReport): ModelSummary {
  const m = r.model;
  return {
    file: r.quantizedModel, outputSqnr: m.outputs[0]?.error.sqnr ?? null, top1Agreement: m.top1Agreement, accuracy: m.accuracy?.quantized ?? null,
    bytes: m.sizes.quantizedBytes, medianMs: m.latency?.quantized.medianMs ?? null,
  };
}

/** How a report is made again after keep-in-float: the report panel's settings. */
export interface ReportKeepOptions {
  /** Class labels of the data (default: those of the report the request starts from). */
  labels?: string;
  samples: number | null;
  latencyRuns: number;
  sensitivity: boolean;
  /** The model written (default: the shown model with `.keep-float` before `.onnx`). */
  output?: string;
  signal?: AbortSignal;
  onProgress?: (p: AnalysisProgress | { stage: string; batch?: number; total?: number }) => void;
}

/**
 * Analyzes a quantization on its own data (the calibration data, or for dynamic mode the data
 * picked for evaluation) and saves NAME.report.json beside the quantized model; `keep` records
 * which layers were kept in float to make it.
 */
export async function analyzeAndSaveReport(result: QuantResult, o: ReportKeepOptions, keep: KeepInFloatReport | null = null, warnings: string[] = []): Promise<{ report: QuantReport; file: string }> {
  const report = await analyzeQuantization(result.input, result.output, {
    data: result.settings.calibration,
    labels: o.labels,
    samples: o.samples,
    latencyRuns: o.latencyRuns,
    sensitivity: o.sensitivity && result.settings.mode === 'static',
    ep: result.settings.executionProvider,
    quantResult: result,
    keepInFloat: keep ?? undefined,
    reportFile: false,
    signal: o.signal,
    onProgress: o.onProgress,
  });
  report.quantResultFile ??= fs.existsSync(defaultQuantResultFile(result.output)) ? defaultQuantResultFile(result.output) : null;
  report.warnings.push(...warnings);
  if (keep) {
    // One analysis: its model section is the after side, as the shown report is the before side.
    keep.after = modelSummary(report);
    keep.achieved = keep.target ? valueOf(keep.after, keep.target.kind) : keep.after.outputSqnr;
    keep.met = keep.target ? keep.achieved !== null && keep.achieved >= keep.target.value : null;
    keep.cost = { sizeBytes: keep.after.bytes - keep.before.bytes, latencyMs: keep.after.medianMs !== null && keep.before.medianMs !== null ? keep.after.medianMs - keep.before.medianMs : null };
  }
  if (o.signal?.aborted) throw new KeepInFloatError('cancelled; no report was written', result.output);
  const file = defaultReportFile(result.output);
  writeJsonFile(file, report);
  return { report, file };
}

/**
 * What the report panel's "Keep selected in float" does: keeps the named nodes of the report's
 * quantized model in float (see writeKeptInFloat), then analyzes the new model once, with the shown
 * report as the before side, and saves its report. Nodes that changed nothing are named in its warnings.
 */
export async function keepInFloatForReport(shown: QuantReport, nodes: string[], o: ReportKeepOptions): Promise<{ report: QuantReport; file: string }> {
  const previous = previousQuantResult(shown.quantizedModel, shown.quantResultFile ?? undefined);
  if (previous.settings.mode !== 'static') throw new KeepInFloatError('keep-in-float re-quantizes with saved calibration ranges: it needs a static quantization (dynamic mode is already quick to re-run with --exclude)', previous.output);
  const output = path.resolve(o.output ?? defaultKeepOutput(previous));
  o.onProgress?.({ stage: `re-quantizing with ${nodes.length} node(s) in float` });
  const created = [output, `${output}.data`, defaultQuantResultFile(output)].filter((f) => !fs.existsSync(f));
  try {
    const { result, kept, unchanged } = await writeKeptInFloat(shown.floatModel, previous, nodes, output, { signal: o.signal });
    const before = modelSummary(shown);
    const keep = report(kept, null, null, before, before, []);
    return await analyzeAndSaveReport(result, { ...o, labels: o.labels ?? shown.settings.labels ?? undefined }, keep, unchanged.map((u) => `not kept in float: ${u}`));
  } catch (e) {
    if (o.signal?.aborted) {
      for (const f of created) fs.rmSync(f, { force: true });
      throw new KeepInFloatError('cancelled; nothing was written', output);
    }
    throw e;
  }
}

/** What "Auto keep-in-float" does: the search from the shown report (not scored again), then one analysis. */
export async function autoKeepInFloatForReport(shown: QuantReport, target: KeepTarget, options: ReportKeepOptions): Promise<{ report: QuantReport; file: string }> {
  const o = { ...options, labels: options.labels ?? shown.settings.labels ?? undefined };
  const previous = previousQuantResult(shown.quantizedModel, shown.quantResultFile ?? undefined);
  const keep = await autoKeepInFloat(shown.floatModel, previous, target, {
    data: previous.settings.calibration, labels: o.labels, samples: o.samples, latencyRuns: 0, ep: previous.settings.executionProvider,
    output: o.output, sensitivity: shown.sensitivity ?? undefined, before: modelSummary(shown), signal: o.signal, onProgress: o.onProgress,
  });
  if (!keep.nodes.length) throw nothingChanged([`${target.kind} is already ${keep.achieved} (target ${target.value}) in ${path.basename(shown.quantizedModel)}`]);
  return analyzeAndSaveReport(previousQuantResult(keep.output), o, keep);
}

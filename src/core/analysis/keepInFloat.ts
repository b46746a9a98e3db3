// Keep in float: quantize the float model again with chosen nodes excluded, reusing the earlier
// run's ranges (seconds, no calibration), and say what it gained and cost. The automatic form
// adds the nodes whose exclusion helps most (sensitivity, all-but-one) one at a time until the
// target is met.
import * as fs from 'fs';
import * as path from 'path';
import type { KeepInFloatReport, KeepInFloatTargetKind, ModelSummary, SensitivityReport } from '../../shared/quantReport';
import type { QuantResult } from '../../shared/quantResult';
import { openDataSource, type DataSource } from '../data';
import { errorMessage, OnnxCompressError } from '../errors';
import { readModel } from '../onnx/model';
import { chooseProvider } from '../runtime/providers';
import { createSession, type ort } from '../runtime/session';
import { ANALYSIS_DEFAULTS, type AnalysisOptions } from './analyze';
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
  signal?: AbortSignal;
  onProgress?: (p: { stage: string; batch?: number; total?: number }) => void;
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

function valueOf(score: Score, kind: KeepInFloatTargetKind | 'sqnr'): number | null {
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

function checkNodes(previous: QuantResult, nodes: string[]): void {
  const quantized = new Set(quantizedNodes(previous));
  const unknown = nodes.filter((n) => !quantized.has(n));
  if (unknown.length) throw new KeepInFloatError(`not quantized in ${path.basename(previous.output)}, so there is nothing to keep in float: ${unknown.join(', ')} (quantized nodes: ${[...quantized].slice(0, 12).join(', ')}${quantized.size > 12 ? ', ...' : ''})`);
  if (nodes.length >= quantized.size) throw new KeepInFloatError(`keeping all ${quantized.size} quantized nodes in float leaves the float model; keep fewer`);
}

/** Re-quantizes with `nodes` kept in float; writes the model (and its QuantResult) at the output path. */
export async function keepInFloat(floatFile: string, previous: QuantResult, nodes: string[], o: KeepInFloatOptions): Promise<KeepInFloatReport> {
  checkNodes(previous, nodes);
  return open(floatFile, previous, o, async (c) => {
    o.onProgress?.({ stage: 'scoring the quantized model' });
    const before = await summarize(previous.output, await scoreFile(c, previous.output), c.feeds, c.runs, c.ep);
    o.onProgress?.({ stage: `re-quantizing with ${nodes.length} node(s) in float` });
    await requantize(floatFile, previous, { exclude: [...previous.settings.exclude, ...nodes.map(exactNode)] }, c.output, c.signal);
    const score = await scoreFile(c, c.output);
    const after = await summarize(c.output, score, c.feeds, c.runs, c.ep);
    return report(nodes, null, score.outputSqnr, before, after, []);
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
    const first = await scoreFile(c, previous.output);
    const before = await summarize(previous.output, first, c.feeds, c.runs, c.ep);
    if (target.kind === 'agreement' && first.top1Agreement === null) throw new KeepInFloatError('an agreement target needs a classifier (first output shaped [N, classes])');
    const start = valueOf(first, target.kind);
    if (start !== null && start >= target.value) return report([], target, start, before, before, []);
    const sensitivity = o.sensitivity ?? await measureSensitivity(await readModel(floatFile), await readModel(previous.output), c.data, {
      samples: Math.min(o.sensitivitySamples ?? ANALYSIS_DEFAULTS.sensitivitySamples, c.samples ?? Infinity), batchSize: c.batchSize, ep: c.ep, signal: c.signal, onProgress: o.onProgress,
    });
    const order = [...sensitivity.entries].sort((a, b) => (b.allButThisSqnr ?? -Infinity) - (a.allButThisSqnr ?? -Infinity)).map((e) => e.node);
    const kept: string[] = [];
    const steps: KeepInFloatReport['steps'] = [];
    let score = first;
    // The search writes a scratch model; only the final choice is written at the output path.
    const scratch = path.join(path.dirname(c.output), `.keep-float-search-${process.pid}.onnx`);
    const exclude = () => ({ exclude: [...previous.settings.exclude, ...kept.map(exactNode)] });
    try {
      for (const node of order.slice(0, Math.max(0, order.length - 1))) {
        if (c.signal?.aborted) throw new KeepInFloatError('cancelled', c.output);
        kept.push(node);
        o.onProgress?.({ stage: `keeping ${kept.length} node(s) in float`, batch: kept.length, total: order.length - 1 });
        await requantize(floatFile, previous, exclude(), scratch, c.signal, false);
        score = await scoreFile(c, scratch);
        const achieved = valueOf(score, target.kind);
        steps.push({ node, achieved });
        if (achieved !== null && achieved >= target.value) break;
      }
    } finally {
      for (const f of [scratch, `${scratch}.data`]) fs.rmSync(f, { force: true });
    }
    if (!kept.length) return report(kept, target, valueOf(score, target.kind), before, before, steps);
    await requantize(floatFile, previous, exclude(), c.output, c.signal);
    const after = await summarize(c.output, score, c.feeds, c.runs, c.ep);
    return report(kept, target, valueOf(score, target.kind), before, after, steps);
  });
}

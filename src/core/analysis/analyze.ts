// Analysis of a quantized model against its float original, streamed like calibration: each
// batch runs through the float model (activations exposed as outputs), the quantized model with
// every Q/DQ pair's "before" and "after" exposed, and the quantized model as it is (fused integer
// kernels, for the whole-model numbers); running sums are updated and the batch is dropped, so
// memory depends on the batch and the number of layers, never on the number of samples.
import * as path from 'path';
import {
  QUANT_REPORT_FORMAT,
  QUANT_REPORT_VERSION,
  type KeepInFloatReport,
  type LayerReport,
  type ModelSummary,
  type QuantReport,
  type SensitivityReport,
} from '../../shared/quantReport';
import type { QuantResult } from '../../shared/quantResult';
import { batchSampleCount, modelInputs, openDataSource, type DataSource } from '../data';
import { errorMessage } from '../errors';
import { DataType } from '../onnx/dataTypes';
import { readModel, type OnnxModel } from '../onnx/model';
import { modelBytes } from '../onnx/write';
import { chooseProvider } from '../runtime/providers';
import { createSessionFromFile, sessionWithOutputs, type ort } from '../runtime/session';
import { checkPair } from './checkPair';
import { AnalysisError, cancelled } from './errors';
import { modelSummary } from './keepReport';
import { labelledSamples, readLabels, type Labels } from './labels';
import { measureLatency } from './latency';
import { clipRangeOf, LayerStats, qRange } from './layerStats';
import { floatNameOf, fusedActivations, matchModels } from './match';
import { OutputComparison } from './outputs';
import { defaultQuantResultFile, defaultReportFile, loadQuantResult, writeJsonFile } from './quantResultFile';
import { measureSensitivity } from './sensitivity';
import { weightReports } from './weights';

export interface AnalysisProgress {
  stage: string;
  batch?: number;
  samples?: number;
  total?: number;
}

export interface AnalysisOptions {
  /** Evaluation data spec (as for calibration: a file, a folder, synthetic[:N]). */
  data: string;
  /** Class labels for accuracy (IDX label file or .npy of integers), or next-token labels for a
   *  language model (.npy [samples, seq] of token ids; negative ids are skipped). */
  labels?: string;
  /** Samples to use (default 512; null: all). */
  samples?: number | null;
  batchSize?: number;
  ep?: string;
  latencyRuns?: number;
  histogramBins?: number;
  /** Also measure per-node sensitivity (output SQNR with one node quantized / all but one). */
  sensitivity?: boolean;
  sensitivitySamples?: number;
  /** The QuantResult of the quantized model; default: NAME.quant.json beside it, when present. */
  quantResult?: QuantResult | string;
  /** What keep-in-float did to make the quantized model, completed with this analysis' model
   *  numbers as its after side (embedded in the report). */
  keepInFloat?: (after: ModelSummary) => KeepInFloatReport;
  /** Warnings of the steps before the analysis, added after its own. */
  warnings?: string[];
  /** Where to save the report (default NAME.report.json beside the quantized model); false: not saved. */
  reportFile?: string | false;
  signal?: AbortSignal;
  onProgress?: (p: AnalysisProgress) => void;
}

export const ANALYSIS_DEFAULTS = { samples: 512, batchSize: 32, latencyRuns: 20, histogramBins: 64, sensitivitySamples: 64 };

async function openData(spec: string, model: OnnxModel, inputs?: QuantResult['settings']['inputs']): Promise<DataSource> {
  try {
    return await openDataSource(spec, model, { inputs });
  } catch (e) {
    throw new AnalysisError(`the evaluation data does not fit the float model: ${errorMessage(e)}`, spec);
  }
}

async function release(...sessions: Array<ort.InferenceSession | undefined>): Promise<void> {
  for (const s of sessions) await s?.release();
}

export async function analyzeQuantization(floatFile: string, quantFile: string, options: AnalysisOptions): Promise<QuantReport> {
  const progress = options.onProgress ?? (() => undefined);
  const signal = options.signal;
  const samples = options.samples === undefined ? ANALYSIS_DEFAULTS.samples : options.samples;
  const batchSize = options.batchSize ?? ANALYSIS_DEFAULTS.batchSize;
  const latencyRuns = options.latencyRuns ?? ANALYSIS_DEFAULTS.latencyRuns;
  const bins = options.histogramBins ?? ANALYSIS_DEFAULTS.histogramBins;
  for (const [k, v, min] of [
    ['batchSize', batchSize, 1],
    ['latencyRuns', latencyRuns, 0],
    ['histogramBins', bins, 2],
    ['samples', samples ?? 1, 1],
  ] as const) {
    if (!Number.isInteger(v) || v < min) throw new AnalysisError(`${k} must be a whole number >= ${min} (got ${v})`);
  }
  const ep = await chooseProvider(options.ep ?? 'cpu');
  const warnings: string[] = ep.note ? [ep.note] : [];
  progress({ stage: 'reading the models' });
  const float = await readModel(floatFile);
  const quant = await readModel(quantFile);
  checkPair(float, quant);
  const qr = loadQuantResult(quant.file!, options.quantResult);
  // What the quantization warned about (bias scales enlarged, an opset upgrade, synthetic
  // calibration...) explains what the analysis measures: the report carries every one.
  for (const w of qr.result?.warnings ?? []) warnings.push(`quantization: ${w}`);
  if (qr.result && path.resolve(qr.result.input) !== float.file) {
    warnings.push(`the quantization result says the model was made from ${qr.result.input}, not ${float.file}`);
  }
  if (!qr.result)
    warnings.push(
      `no quantization result (${path.basename(defaultQuantResultFile(quant.file!))}) beside the quantized model: calibrated ranges and fusion are not available`,
    );
  // The per-input specs the quantization ran with (sizes, batch axes) feed the same model here.
  const data = await openData(options.data, float, qr.result?.settings.inputs);
  const labels = options.labels ? await readLabels(options.labels, samples ?? undefined) : undefined;

  const floatName = floatNameOf(qr.result?.quantizedNames);
  const match = matchModels(float, quant, floatName);
  const unmatched = [...match.unmatched];
  const weights = weightReports(float, match.weights, unmatched, match.blockWeights);
  // Rounding to 8 bits keeps weights above 30 dB; far below, the weights are another model's.
  const weightSqnr = weights
    .filter((w) => w.type !== 'int32')
    .map((w) => w.error.sqnr ?? 0)
    .sort((a, b) => a - b);
  if (weightSqnr.length && weightSqnr[Math.floor(weightSqnr.length / 2)] < 10) {
    throw new AnalysisError(
      `the quantized model's weights are not those of this float model (median weight SQNR ${weightSqnr[Math.floor(weightSqnr.length / 2)].toFixed(1)} dB, where rounding gives 30 or more); give the float model it was quantized from`,
      `${float.file} / ${quant.file}`,
    );
  }
  for (const p of match.activations) qRange(p, quant.file);
  if (!match.activations.length)
    warnings.push(
      `no activation of the quantized model goes through a QuantizeLinear/DequantizeLinear pair (${match.blockWeights.length ? 'weight-only quantization keeps activations in float' : 'a dynamic, QOperator or half-precision model'}): there is no per-layer activation error to show; weights and outputs are compared`,
    );
  const calibrated = new Map<string, [number, number]>();
  for (const t of qr.result?.tensors ?? []) if (t.kind === 'activation' && t.range) calibrated.set(t.tensor, t.range);
  const fusedWith = fusedActivations(float);
  const stats = match.activations.map((p) => {
    // A Relu/Clip that follows alone and whose range the grid starts at is fused: its clipping is the activation's.
    const f = fusedWith(p.floatName);
    const fused = f && clipRangeOf(p)[0] >= f.min - p.scale / 2 ? f : null;
    return new LayerStats(p, calibrated.get(p.floatName) ?? null, bins, fused);
  });
  const floatInputs = new Set(float.proto.graph!.input.map((v) => v.name));
  const outputNames = float.proto.graph!.output.map((o) => o.name!);
  const floatNames = [...new Set(stats.map((s) => s.pair.floatName).filter((n) => n && !floatInputs.has(n)))];
  const quantNames = [...new Set(stats.flatMap((s) => [s.pair.before, s.pair.after]).filter((n) => !floatInputs.has(n)))];

  progress({ stage: 'preparing sessions' });
  let floatSession: ort.InferenceSession | undefined;
  let observing: ort.InferenceSession | undefined;
  let plain: ort.InferenceSession | undefined;
  const firstInput = modelInputs(float)[0];
  const tokenInput = !!firstInput && [DataType.INT32, DataType.INT64].includes(firstInput.elemType);
  const outputs = new OutputComparison(outputNames, labels, { tokenInput, labelsFile: options.labels });
  let used = 0;
  let batches = 0;
  let latencyFeeds: Record<string, ort.Tensor> | undefined;
  let latency: QuantReport['model']['latency'] = null;
  const bound = Math.min(samples ?? Infinity, data.samples ?? Infinity);
  const expected = Number.isFinite(bound) ? bound : undefined;
  try {
    floatSession = await sessionWithOutputs(float, floatNames, ep.provider, { elemType: DataType.FLOAT });
    observing = await sessionWithOutputs(quant, quantNames, ep.provider, { elemType: DataType.FLOAT });
    plain = await createSessionFromFile(quant, { executionProviders: [ep.provider] });
    for await (const feeds of data.batches({ batchSize, limit: samples ?? undefined, signal })) {
      if (signal?.aborted) throw cancelled(quantFile);
      const f = await floatSession.run(feeds);
      const q = quantNames.length ? await observing.run(feeds, quantNames) : {};
      const p = await plain.run(feeds);
      const values = (r: Record<string, ort.Tensor>, name: string) => (r[name] ?? feeds[name])?.data as Float32Array | undefined;
      for (const s of stats) {
        const before = values(q, s.pair.before);
        const after = values(q, s.pair.after);
        if (before && after) s.add(s.pair.floatName ? values(f, s.pair.floatName) : undefined, before, after);
      }
      outputs.add(f, p, used);
      for (const r of [f, q, p]) for (const t of Object.values(r)) t.dispose();
      latencyFeeds ??= feeds;
      used += batchSampleCount(feeds);
      batches++;
      progress({ stage: 'comparing', batch: batches, samples: used, total: expected });
    }
    if (!used) throw new AnalysisError('the evaluation data holds no sample', options.data);
    if (latencyRuns > 0 && latencyFeeds) {
      progress({ stage: 'measuring latency' });
      // Plain sessions of both models, same provider, same process, same batch.
      const floatPlain = await createSessionFromFile(float, { executionProviders: [ep.provider] });
      try {
        latency = {
          float: await measureLatency(floatPlain, latencyFeeds, latencyRuns, ep.provider, signal),
          quantized: await measureLatency(plain, latencyFeeds, latencyRuns, ep.provider, signal),
        };
      } finally {
        await floatPlain.release();
      }
    }
  } catch (e) {
    if (signal?.aborted) throw cancelled(quantFile);
    throw e;
  } finally {
    await release(floatSession, observing, plain);
  }
  if (signal?.aborted) throw cancelled(quantFile);

  for (const s of stats)
    if (s.sizeMismatch) warnings.push(`'${s.pair.floatName}' has a different size in the two models: its accumulated error is not measured`);
  warnings.push(...labelWarnings(outputs, labels, used, outputNames[0]));

  const floatBytes = modelBytes(float.file!);
  const quantizedBytes = modelBytes(quant.file!);
  const layers = stats.map((s) => s.report(match.order.get(s.pair.floatName) ?? -1));

  const sensitivitySamples = Math.min(used, options.sensitivitySamples ?? ANALYSIS_DEFAULTS.sensitivitySamples);
  let sensitivity: SensitivityReport | null = null;
  if (options.sensitivity) {
    sensitivity = await measureSensitivity(float, quant, data, {
      floatName,
      samples: sensitivitySamples,
      batchSize,
      ep: ep.provider,
      signal,
      onProgress: progress,
      onWarning: (w) => warnings.push(w),
    });
  }

  const report: QuantReport = {
    format: QUANT_REPORT_FORMAT,
    version: QUANT_REPORT_VERSION,
    floatModel: float.file!,
    quantizedModel: quant.file!,
    quantResultFile: qr.file,
    quantSettings: qr.result?.settings ?? null,
    settings: {
      data: data.describe(),
      labels: options.labels ?? null,
      samples,
      samplesUsed: used,
      batchSize,
      latencyRuns,
      histogramBins: bins,
      executionProvider: ep.provider,
      sensitivity: !!options.sensitivity,
      sensitivitySamples: options.sensitivity ? sensitivitySamples : 0,
    },
    layers,
    weights,
    model: {
      outputs: outputs.outputs(),
      top1Agreement: outputs.top1Agreement(),
      languageModel: outputs.languageModel(),
      accuracy: outputs.accuracy(),
      sizes: { floatBytes, quantizedBytes, ratio: quantizedBytes / floatBytes },
      latency,
      fusion: qr.result?.fusion ?? null,
    },
    sensitivity,
    keepInFloat: null,
    unmatched,
    warnings: [...warnings, ...(options.warnings ?? [])],
    created: new Date().toISOString(),
  };
  if (options.keepInFloat) report.keepInFloat = options.keepInFloat(modelSummary(report));
  if (signal?.aborted) throw cancelled(quantFile);
  if (options.reportFile !== false) writeJsonFile(options.reportFile ?? defaultReportFile(quant.file!), report);
  return report;
}

/** What the labels could not be used for, in words. */
function labelWarnings(outputs: OutputComparison, labels: Labels | undefined, used: number, output: string): string[] {
  if (!labels) return [];
  const sequences = labels.perSample > 1;
  const held = sequences ? `${labelledSamples(labels)} rows of ${labels.perSample} next-token labels` : `${labels.values.length} labels`;
  if (outputs.nextTokenScores) {
    if (!sequences)
      return [
        `the labels file holds one label per sample, but '${output}' scores the next token at every position: give a .npy [samples, seq] of next-token ids for cross-entropy`,
      ];
    if (outputs.nonFiniteCrossEntropy)
      return [`the cross-entropy of '${output}' is not a finite number (NaN or infinite scores in a model): no cross-entropy or perplexity`];
  } else if (outputs.classScores) {
    if (sequences) return [`the labels file holds ${held}, but '${output}' is class scores: give one class index per sample for accuracy`];
  } else {
    return [
      `labels were given but the first output ('${output}') is neither class scores ([N, classes]) nor next-token scores ([N, seq, vocabulary]), or is an embedding: no accuracy`,
    ];
  }
  return outputs.labelledSamples < used
    ? [`the labels file holds ${held} for ${used} samples: ${sequences ? 'cross-entropy' : 'accuracy'} uses the first ${outputs.labelledSamples}`]
    : [];
}

/**
 * Layers ordered worst first, unmeasured ones last. By 'local' SQNR (default): the error a layer's
 * own quantization adds, which puts the layer that breaks a model first; accumulated error also
 * carries everything upstream, so every layer after a bad one looks as bad.
 */
export function rankLayers(layers: LayerReport[], by: 'accumulated' | 'local' = 'local'): LayerReport[] {
  const other = by === 'local' ? 'accumulated' : 'local';
  const key = (l: LayerReport, k: 'accumulated' | 'local') => l[k].sqnr ?? Infinity;
  return [...layers].sort((a, b) => key(a, by) - key(b, by) || key(a, other) - key(b, other) || a.order - b.order);
}

// What an analysis of a quantized model found, as versioned JSON: per-layer activation ranges and
// errors, per-weight errors, the whole-model comparison, and optionally sensitivity and what was kept
// in float. Written beside the quantized model (NAME.report.json); read by the CLI, the report panel
// and the offline HTML report. Fields are only ever added, never renamed.
//
// Numbers: SQNR follows the reference definition 20 log10(max(||x||, eps) / max(||x - y||, eps)),
// eps = 1e-10, so identical tensors give a finite ceiling (about 200 dB plus the signal's own level),
// never +Infinity. Any metric that could not be computed (no elements seen) is null. Every number
// in a report is finite.
import type { FusionReport, QuantSettings } from './quantResult';
import { Fields, fail, obj, parseWith, str } from './jsonFields';
import { analysisSettings, keepInFloat, layer, model, sensitivity, unmatched, weight } from './quantReportFields';

export const QUANT_REPORT_FORMAT = 'onnx-compress/quant-report';
export const QUANT_REPORT_VERSION = 1;

/** Four views of the difference between a reference x and a test y. null: nothing was compared. */
export interface ErrorMetrics {
  /** dB, reference definition (finite; see the note above). */
  sqnr: number | null;
  mse: number | null;
  /** Cosine similarity of x and y as flat vectors; 1 when both are zero. */
  cosine: number | null;
  maxAbs: number | null;
}

export interface Histogram {
  /** bins + 1 ascending edges; values outside [edges[0], edges[bins]] land in `below`/`above`. */
  edges: number[];
  counts: number[];
  below: number;
  above: number;
}

export interface LayerReport {
  /** The activation tensor (its name in the float model). */
  tensor: string;
  /** The node producing it ('' for a graph input). */
  node: string;
  opType: string;
  /** Position in the float graph's topological order (graph inputs first). */
  order: number;
  quantizedType: string;
  scale: number;
  zeroPoint: number;
  /** The quantization grid step in float units (= scale). */
  step: number;
  /** The range calibration measured, when the QuantResult said it; else null. */
  calibratedRange: [number, number] | null;
  /** The range the integer grid covers: [(qmin - zp) * scale, (qmax - zp) * scale]. */
  clipRange: [number, number];
  /** Min/max of the float model's tensor over the evaluation data (the quantized model's values
   *  before Q/DQ when not matched); null when nothing was seen. */
  observed: [number, number] | null;
  /** Before vs after the tensor's own Q/DQ inside the quantized model. */
  local: ErrorMetrics;
  /** Float model's tensor vs the quantized model's dequantized tensor. */
  accumulated: ErrorMetrics;
  /** Share of values beyond the grid's ends by more than half a step (saturated at qmin or qmax).
   *  Counted on the values `observed` and `histogram` describe (the float model's), so the three
   *  agree; the quantized model's own values when the tensor was not matched. */
  clippingRate: number | null;
  /** Share of the integer grid used: (max q seen - min q seen) / (qmax - qmin). */
  rangeUse: number | null;
  /** Of the float model's values, with fixed edges spanning the union of clip and calibrated range. */
  histogram: Histogram | null;
  /** Elements compared (over all samples). */
  elements: number;
  /** A Relu/Clip that alone reads this tensor and is fused through its grid: the errors, observed
   *  range, clip share and histogram then describe values after that activation, since the cut
   *  below its range is the activation itself, not clipping; null otherwise. */
  fusedActivation: string | null;
  /** Nodes of the float model reading this tensor: the rewrite quantizes a tensor for the nodes
   *  that read it, so keeping these in float is what removes this Q/DQ pair. */
  consumers: string[];
}

export interface WeightReport {
  tensor: string;
  /** The node(s) using it. */
  nodes: string[];
  type: string;
  axis: number | null;
  /** One entry per channel along `axis`, or a single entry when per-tensor. A weight quantized in
   *  blocks has one per output column (along `axis` of the float tensor): the column's range, its
   *  largest |scale| and its mean zero point over the column's blocks. */
  channelMin: number[];
  channelMax: number[];
  scales: number[];
  zeroPoints: number[];
  error: ErrorMetrics;
  /** RMSE / step (per channel, RMS over channels): about 0.289 = 1/sqrt(12) for pure rounding noise. */
  rmseOverStep: number | null;
  elements: number;
  /** Weight-only quantization in blocks of `size` values along K: `count` blocks, and over them
   *  ||w - w~|| / ||w|| of each block, the mean and the worst (0 for an all-zero block). */
  blocks?: WeightBlocks;
}

export interface WeightBlocks {
  size: number;
  count: number;
  meanRelative: number;
  maxRelative: number;
}

export interface OutputReport {
  name: string;
  error: ErrorMetrics;
}

export interface LatencyReport {
  medianMs: number;
  p95Ms: number;
  runs: number;
  batchSize: number;
  executionProvider: string;
}

/** The first output read as a language model's next-token scores [batch, seq, vocabulary]. */
export interface LanguageModelReport {
  output: string;
  vocabulary: number;
  /** Positions compared (samples × sequence length). */
  tokens: number;
  /** Share of positions where the float and quantized models' most likely next token (argmax over
   *  the vocabulary) is the same. */
  nextTokenAgreement: number;
  /** Positions with a next-token label (negative labels are skipped); 0 without labels. */
  labelledTokens: number;
  /** With labels: mean cross-entropy of the labelled next tokens, nats/token; else null. */
  crossEntropy: { float: number; quantized: number } | null;
  /** exp(crossEntropy). */
  perplexity: { float: number; quantized: number } | null;
  /** quantized − float cross-entropy (nats/token); negative when quantization happened to help. */
  crossEntropyIncrease: number | null;
  /** quantized / float perplexity − 1 (0.02: 2% higher). */
  perplexityIncrease: number | null;
}

export interface ModelReport {
  outputs: OutputReport[];
  /** Share of samples where float and quantized top-1 agree; null unless the first output is class
   *  scores (see OutputComparison for the rule: an embedding or a regression output has no top-1). */
  top1Agreement: number | null;
  /** Per-position comparison when the first output is a language model's [batch, seq, vocabulary]
   *  scores; null otherwise (and in reports written before it existed). */
  languageModel: LanguageModelReport | null;
  /** With labels: accuracy of each model; else null. */
  accuracy: { float: number; quantized: number } | null;
  /** ratio = quantizedBytes / floatBytes (below 1: the quantized model is smaller). */
  sizes: { floatBytes: number; quantizedBytes: number; ratio: number };
  /** Median and p95 of each model on the same batch; p95 − median is the run-to-run spread. */
  latency: { float: LatencyReport; quantized: LatencyReport } | null;
  fusion: FusionReport | null;
}

export interface SensitivityEntry {
  /** The activation tensor whose Q/DQ is switched. */
  tensor: string;
  node: string;
  /** Output SQNR (dB, first output, vs float) with only this tensor quantized. */
  onlyThisSqnr: number | null;
  /** Output SQNR with every quantized tensor but this one. */
  allButThisSqnr: number | null;
  /** 1 = most sensitive (lowest onlyThisSqnr). */
  rank: number;
}

export interface SensitivityReport {
  /** Samples the output error was measured on. */
  samples: number;
  /** Output SQNR with everything quantized, on the same samples. */
  allQuantizedSqnr: number | null;
  entries: SensitivityEntry[];
}

export type KeepInFloatTargetKind = 'sqnr' | 'agreement' | 'accuracy';

export interface KeepInFloatReport {
  /** Node names kept in float, in the order they were added. */
  nodes: string[];
  /** The target for the automatic search; null when the layers were chosen by hand. */
  target: { kind: KeepInFloatTargetKind; value: number } | null;
  /** The value reached (same unit as the target, or output SQNR when no target). */
  achieved: number | null;
  met: boolean | null;
  /** The model written with those layers in float. */
  output: string;
  cost: {
    /** Bytes added compared to the fully quantized model. */
    sizeBytes: number;
    /** Median latency added (ms, may be negative within noise); null when not measured. */
    latencyMs: number | null;
  };
  /** Each step of the automatic search: what was added and what it reached. */
  steps: Array<{ node: string; achieved: number | null }>;
  /** The fully quantized model and the one with layers kept in float, side by side. */
  before: ModelSummary;
  after: ModelSummary;
}

/** A few whole-model numbers to compare two quantized versions. */
export interface ModelSummary {
  file: string;
  outputSqnr: number | null;
  top1Agreement: number | null;
  accuracy: number | null;
  bytes: number;
  medianMs: number | null;
}

export interface AnalysisSettings {
  /** Description of the evaluation data (as its reader says it). */
  data: string;
  labels: string | null;
  /** Samples asked (null: all); `samplesUsed` is what ran. */
  samples: number | null;
  samplesUsed: number;
  batchSize: number;
  latencyRuns: number;
  histogramBins: number;
  executionProvider: string;
  sensitivity: boolean;
  /** Samples the sensitivity runs use. */
  sensitivitySamples: number;
}

export interface QuantReport {
  format: typeof QUANT_REPORT_FORMAT;
  version: typeof QUANT_REPORT_VERSION;
  floatModel: string;
  quantizedModel: string;
  /** The QuantResult the quantized model came with (NAME.quant.json), when found. */
  quantResultFile: string | null;
  /** The quantization settings from that QuantResult; null when absent. */
  quantSettings: QuantSettings | null;
  settings: AnalysisSettings;
  layers: LayerReport[];
  weights: WeightReport[];
  model: ModelReport;
  sensitivity: SensitivityReport | null;
  keepInFloat: KeepInFloatReport | null;
  /** Tensors quantized in one model that have no counterpart in the other. */
  unmatched: Array<{ tensor: string; reason: string }>;
  warnings: string[];
  /** ISO time the analysis finished. */
  created: string;
}

// ---- validation ---------------------------------------------------------------------------------

export class QuantReportError extends Error {}

/**
 * Checks a report read from disk (possibly edited by hand) and returns a clean copy holding only
 * the known fields; throws QuantReportError naming the first bad field. Strings are returned as
 * data: callers must still render them as text, never as markup.
 */
export function parseQuantReport(json: unknown): QuantReport {
  return parseWith(
    json,
    (v) => {
      const f = new Fields(v, '', 'the report');
      if (f.o.format !== QUANT_REPORT_FORMAT) fail('format', `must be '${QUANT_REPORT_FORMAT}' (got ${JSON.stringify(f.o.format)})`);
      if (f.o.version !== QUANT_REPORT_VERSION)
        fail('version', `must be ${QUANT_REPORT_VERSION} (got ${JSON.stringify(f.o.version)}); re-run the analysis with this version`);
      return {
        format: QUANT_REPORT_FORMAT,
        version: QUANT_REPORT_VERSION,
        floatModel: f.str('floatModel'),
        quantizedModel: f.str('quantizedModel'),
        quantResultFile: f.opt('quantResultFile', str),
        // The quantization settings are echoed for display; only their shape as an object is checked.
        quantSettings: f.opt('quantSettings', obj) as QuantSettings | null,
        settings: f.get('settings', analysisSettings),
        layers: f.list('layers', layer),
        weights: f.list('weights', weight),
        model: f.get('model', model),
        sensitivity: f.opt('sensitivity', sensitivity),
        keepInFloat: f.opt('keepInFloat', keepInFloat),
        unmatched: f.list('unmatched', unmatched),
        warnings: f.list('warnings', str),
        created: f.str('created'),
      };
    },
    (m) => new QuantReportError(`invalid quant report: ${m}`),
  );
}

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
  /** One entry per channel along `axis`, or a single entry when per-tensor. */
  channelMin: number[];
  channelMax: number[];
  scales: number[];
  zeroPoints: number[];
  error: ErrorMetrics;
  /** RMSE / step (per channel, RMS over channels): about 0.289 = 1/sqrt(12) for pure rounding noise. */
  rmseOverStep: number | null;
  elements: number;
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

export interface ModelReport {
  outputs: OutputReport[];
  /** Share of samples where float and quantized top-1 agree; null unless the first output is class
   *  scores (see OutputComparison for the rule: an embedding has no top-1). */
  top1Agreement: number | null;
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

type Obj = Record<string, unknown>;

function fail(where: string, what: string): never {
  throw new QuantReportError(`invalid quant report: ${where} ${what}`);
}
function obj(v: unknown, where: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(where, 'must be an object');
  return v as Obj;
}
function arr(v: unknown, where: string): unknown[] {
  if (!Array.isArray(v)) fail(where, 'must be an array');
  return v;
}
function str(v: unknown, where: string): string {
  if (typeof v !== 'string') fail(where, 'must be a string');
  return v;
}
function num(v: unknown, where: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(where, `must be a finite number (got ${JSON.stringify(v)})`);
  return v;
}
function bool(v: unknown, where: string): boolean {
  if (typeof v !== 'boolean') fail(where, 'must be true or false');
  return v;
}
function opt<T>(v: unknown, where: string, check: (v: unknown, where: string) => T): T | null {
  return v === null || v === undefined ? null : check(v, where);
}
function nums(v: unknown, where: string): number[] {
  return arr(v, where).map((x, i) => num(x, `${where}[${i}]`));
}
function pair(v: unknown, where: string): [number, number] {
  const a = nums(v, where);
  if (a.length !== 2) fail(where, 'must be [min, max]');
  if (a[0] > a[1]) fail(where, `must have min <= max (got [${a[0]}, ${a[1]}])`);
  return [a[0], a[1]];
}
function share(v: unknown, where: string): number {
  const x = num(v, where);
  if (x < 0 || x > 1) fail(where, `must be between 0 and 1 (got ${x})`);
  return x;
}

function metrics(v: unknown, where: string): ErrorMetrics {
  const o = obj(v, where);
  return {
    sqnr: opt(o.sqnr, `${where}.sqnr`, num),
    mse: opt(o.mse, `${where}.mse`, num),
    cosine: opt(o.cosine, `${where}.cosine`, num),
    maxAbs: opt(o.maxAbs, `${where}.maxAbs`, num),
  };
}

function histogram(v: unknown, where: string): Histogram {
  const o = obj(v, where);
  const edges = nums(o.edges, `${where}.edges`);
  const counts = nums(o.counts, `${where}.counts`);
  if (edges.length !== counts.length + 1) fail(`${where}.edges`, `must have one more entry than counts (${edges.length} vs ${counts.length})`);
  for (let i = 1; i < edges.length; i++) if (!(edges[i] >= edges[i - 1])) fail(`${where}.edges[${i}]`, 'must be ascending');
  counts.forEach((c, i) => { if (c < 0) fail(`${where}.counts[${i}]`, 'must not be negative'); });
  return { edges, counts, below: num(o.below, `${where}.below`), above: num(o.above, `${where}.above`) };
}

function layer(v: unknown, where: string): LayerReport {
  const o = obj(v, where);
  return {
    tensor: str(o.tensor, `${where}.tensor`),
    node: str(o.node, `${where}.node`),
    opType: str(o.opType, `${where}.opType`),
    order: num(o.order, `${where}.order`),
    quantizedType: str(o.quantizedType, `${where}.quantizedType`),
    scale: num(o.scale, `${where}.scale`),
    zeroPoint: num(o.zeroPoint, `${where}.zeroPoint`),
    step: num(o.step, `${where}.step`),
    calibratedRange: opt(o.calibratedRange, `${where}.calibratedRange`, pair),
    clipRange: pair(o.clipRange, `${where}.clipRange`),
    observed: opt(o.observed, `${where}.observed`, pair),
    local: metrics(o.local, `${where}.local`),
    accumulated: metrics(o.accumulated, `${where}.accumulated`),
    clippingRate: opt(o.clippingRate, `${where}.clippingRate`, share),
    rangeUse: opt(o.rangeUse, `${where}.rangeUse`, share),
    histogram: opt(o.histogram, `${where}.histogram`, histogram),
    elements: num(o.elements, `${where}.elements`),
    fusedActivation: opt(o.fusedActivation, `${where}.fusedActivation`, str),
    consumers: arr(o.consumers ?? [], `${where}.consumers`).map((x, i) => str(x, `${where}.consumers[${i}]`)),
  };
}

function weight(v: unknown, where: string): WeightReport {
  const o = obj(v, where);
  return {
    tensor: str(o.tensor, `${where}.tensor`),
    nodes: arr(o.nodes, `${where}.nodes`).map((x, i) => str(x, `${where}.nodes[${i}]`)),
    type: str(o.type, `${where}.type`),
    axis: opt(o.axis, `${where}.axis`, num),
    channelMin: nums(o.channelMin, `${where}.channelMin`),
    channelMax: nums(o.channelMax, `${where}.channelMax`),
    scales: nums(o.scales, `${where}.scales`),
    zeroPoints: nums(o.zeroPoints, `${where}.zeroPoints`),
    error: metrics(o.error, `${where}.error`),
    rmseOverStep: opt(o.rmseOverStep, `${where}.rmseOverStep`, num),
    elements: num(o.elements, `${where}.elements`),
  };
}

function latency(v: unknown, where: string): LatencyReport {
  const o = obj(v, where);
  return {
    medianMs: num(o.medianMs, `${where}.medianMs`),
    p95Ms: num(o.p95Ms, `${where}.p95Ms`),
    runs: num(o.runs, `${where}.runs`),
    batchSize: num(o.batchSize, `${where}.batchSize`),
    executionProvider: str(o.executionProvider, `${where}.executionProvider`),
  };
}

function fusion(v: unknown, where: string): FusionReport {
  const o = obj(v, where);
  const ops = obj(o.integerOps, `${where}.integerOps`);
  const integerOps: Record<string, number> = {};
  for (const [k, c] of Object.entries(ops)) integerOps[k] = num(c, `${where}.integerOps.${k}`);
  return {
    candidates: num(o.candidates, `${where}.candidates`),
    fused: num(o.fused, `${where}.fused`),
    integerOps,
    unfused: arr(o.unfused, `${where}.unfused`).map((u, i) => {
      const w = `${where}.unfused[${i}]`;
      const x = obj(u, w);
      return { node: str(x.node, `${w}.node`), opType: str(x.opType, `${w}.opType`), reason: str(x.reason, `${w}.reason`) };
    }),
  };
}

function model(v: unknown, where: string): ModelReport {
  const o = obj(v, where);
  const sizes = obj(o.sizes, `${where}.sizes`);
  const lat = opt(o.latency, `${where}.latency`, obj);
  const acc = opt(o.accuracy, `${where}.accuracy`, obj);
  return {
    outputs: arr(o.outputs, `${where}.outputs`).map((x, i) => {
      const w = `${where}.outputs[${i}]`;
      const p = obj(x, w);
      return { name: str(p.name, `${w}.name`), error: metrics(p.error, `${w}.error`) };
    }),
    top1Agreement: opt(o.top1Agreement, `${where}.top1Agreement`, share),
    accuracy: acc && { float: share(acc.float, `${where}.accuracy.float`), quantized: share(acc.quantized, `${where}.accuracy.quantized`) },
    sizes: {
      floatBytes: num(sizes.floatBytes, `${where}.sizes.floatBytes`),
      quantizedBytes: num(sizes.quantizedBytes, `${where}.sizes.quantizedBytes`),
      ratio: num(sizes.ratio, `${where}.sizes.ratio`),
    },
    latency: lat && { float: latency(lat.float, `${where}.latency.float`), quantized: latency(lat.quantized, `${where}.latency.quantized`) },
    fusion: opt(o.fusion, `${where}.fusion`, fusion),
  };
}

function sensitivity(v: unknown, where: string): SensitivityReport {
  const o = obj(v, where);
  return {
    samples: num(o.samples, `${where}.samples`),
    allQuantizedSqnr: opt(o.allQuantizedSqnr, `${where}.allQuantizedSqnr`, num),
    entries: arr(o.entries, `${where}.entries`).map((x, i) => {
      const w = `${where}.entries[${i}]`;
      const e = obj(x, w);
      return {
        tensor: str(e.tensor, `${w}.tensor`),
        node: str(e.node, `${w}.node`),
        onlyThisSqnr: opt(e.onlyThisSqnr, `${w}.onlyThisSqnr`, num),
        allButThisSqnr: opt(e.allButThisSqnr, `${w}.allButThisSqnr`, num),
        rank: num(e.rank, `${w}.rank`),
      };
    }),
  };
}

const TARGET_KINDS: KeepInFloatTargetKind[] = ['sqnr', 'agreement', 'accuracy'];

function keepInFloat(v: unknown, where: string): KeepInFloatReport {
  const o = obj(v, where);
  const t = opt(o.target, `${where}.target`, obj);
  if (t && !TARGET_KINDS.includes(t.kind as KeepInFloatTargetKind)) fail(`${where}.target.kind`, `must be one of ${TARGET_KINDS.join(', ')}`);
  const cost = obj(o.cost, `${where}.cost`);
  return {
    nodes: arr(o.nodes, `${where}.nodes`).map((x, i) => str(x, `${where}.nodes[${i}]`)),
    target: t && { kind: t.kind as KeepInFloatTargetKind, value: num(t.value, `${where}.target.value`) },
    achieved: opt(o.achieved, `${where}.achieved`, num),
    met: opt(o.met, `${where}.met`, bool),
    output: str(o.output, `${where}.output`),
    cost: { sizeBytes: num(cost.sizeBytes, `${where}.cost.sizeBytes`), latencyMs: opt(cost.latencyMs, `${where}.cost.latencyMs`, num) },
    steps: arr(o.steps, `${where}.steps`).map((x, i) => {
      const w = `${where}.steps[${i}]`;
      const s = obj(x, w);
      return { node: str(s.node, `${w}.node`), achieved: opt(s.achieved, `${w}.achieved`, num) };
    }),
    before: modelSummary(o.before, `${where}.before`),
    after: modelSummary(o.after, `${where}.after`),
  };
}

function modelSummary(v: unknown, where: string): ModelSummary {
  const o = obj(v, where);
  return {
    file: str(o.file, `${where}.file`),
    outputSqnr: opt(o.outputSqnr, `${where}.outputSqnr`, num),
    top1Agreement: opt(o.top1Agreement, `${where}.top1Agreement`, share),
    accuracy: opt(o.accuracy, `${where}.accuracy`, share),
    bytes: num(o.bytes, `${where}.bytes`),
    medianMs: opt(o.medianMs, `${where}.medianMs`, num),
  };
}

function analysisSettings(v: unknown, where: string): AnalysisSettings {
  const o = obj(v, where);
  return {
    data: str(o.data, `${where}.data`),
    labels: opt(o.labels, `${where}.labels`, str),
    samples: opt(o.samples, `${where}.samples`, num),
    samplesUsed: num(o.samplesUsed, `${where}.samplesUsed`),
    batchSize: num(o.batchSize, `${where}.batchSize`),
    latencyRuns: num(o.latencyRuns, `${where}.latencyRuns`),
    histogramBins: num(o.histogramBins, `${where}.histogramBins`),
    executionProvider: str(o.executionProvider, `${where}.executionProvider`),
    sensitivity: bool(o.sensitivity, `${where}.sensitivity`),
    sensitivitySamples: num(o.sensitivitySamples, `${where}.sensitivitySamples`),
  };
}

/**
 * Checks a report read from disk (possibly edited by hand) and returns a clean copy holding only
 * the known fields; throws QuantReportError naming the first bad field. Strings are returned as
 * data: callers must still render them as text, never as markup.
 */
export function parseQuantReport(json: unknown): QuantReport {
  const o = obj(json, 'the report');
  if (o.format !== QUANT_REPORT_FORMAT) fail('format', `must be '${QUANT_REPORT_FORMAT}' (got ${JSON.stringify(o.format)})`);
  if (o.version !== QUANT_REPORT_VERSION) fail('version', `must be ${QUANT_REPORT_VERSION} (got ${JSON.stringify(o.version)}); re-run the analysis with this version`);
  return {
    format: QUANT_REPORT_FORMAT,
    version: QUANT_REPORT_VERSION,
    floatModel: str(o.floatModel, 'floatModel'),
    quantizedModel: str(o.quantizedModel, 'quantizedModel'),
    quantResultFile: opt(o.quantResultFile, 'quantResultFile', str),
    // The quantization settings are echoed for display; only their shape as an object is checked.
    quantSettings: opt(o.quantSettings, 'quantSettings', obj) as QuantSettings | null,
    settings: analysisSettings(o.settings, 'settings'),
    layers: arr(o.layers, 'layers').map((x, i) => layer(x, `layers[${i}]`)),
    weights: arr(o.weights, 'weights').map((x, i) => weight(x, `weights[${i}]`)),
    model: model(o.model, 'model'),
    sensitivity: opt(o.sensitivity, 'sensitivity', sensitivity),
    keepInFloat: opt(o.keepInFloat, 'keepInFloat', keepInFloat),
    unmatched: arr(o.unmatched, 'unmatched').map((x, i) => {
      const u = obj(x, `unmatched[${i}]`);
      return { tensor: str(u.tensor, `unmatched[${i}].tensor`), reason: str(u.reason, `unmatched[${i}].reason`) };
    }),
    warnings: arr(o.warnings, 'warnings').map((x, i) => str(x, `warnings[${i}]`)),
    created: str(o.created, 'created'),
  };
}

// The checks parseQuantReport applies to each part of a report read from disk or posted to a
// webview: a clean copy holding only the known fields, or a JsonFieldError naming the first bad one.
import { Fields, fail, list, nums, oneOf, opt, pair, share, str, num, bool, type Check } from './jsonFields';
import type {
  AnalysisSettings,
  ErrorMetrics,
  Histogram,
  KeepInFloatReport,
  KeepInFloatTargetKind,
  LanguageModelReport,
  LatencyReport,
  LayerReport,
  ModelReport,
  ModelSummary,
  OutputReport,
  SensitivityEntry,
  SensitivityReport,
  WeightBlocks,
  WeightReport,
} from './quantReport';
import type { FusionReport } from './quantResult';

/**
 * The check of an object whose fields are each checked by the entry of that name in `checks`,
 * in the table's order (so the first bad field is the one named); other fields are dropped.
 */
function record<T>(checks: { [K in keyof T]: Check<T[K]> }): Check<T> {
  return (v, where) => {
    const f = new Fields(v, where);
    const out = {} as T;
    for (const key of Object.keys(checks) as Array<keyof T & string>) {
      const x = f.get(key, checks[key]);
      // An optional field that is absent stays absent (not a key holding undefined).
      if (x !== undefined) out[key] = x;
    }
    return out;
  };
}

/** `check`, or null where the field is null or absent. */
function optional<T>(check: Check<T>): Check<T | null> {
  return (v, where) => opt(v, where, check);
}

const optNum = optional(num);

export const metrics = record<ErrorMetrics>({ sqnr: optNum, mse: optNum, cosine: optNum, maxAbs: optNum });

function histogram(v: unknown, where: string): Histogram {
  const f = new Fields(v, where);
  const edges = f.get('edges', nums);
  const counts = f.get('counts', nums);
  if (edges.length !== counts.length + 1) fail(f.at('edges'), `must have one more entry than counts (${edges.length} vs ${counts.length})`);
  for (let i = 1; i < edges.length; i++) if (!(edges[i] >= edges[i - 1])) fail(`${f.at('edges')}[${i}]`, 'must be ascending');
  counts.forEach((c, i) => {
    if (c < 0) fail(`${f.at('counts')}[${i}]`, 'must not be negative');
  });
  return { edges, counts, below: f.num('below'), above: f.num('above') };
}

export const layer = record<LayerReport>({
  tensor: str,
  node: str,
  opType: str,
  order: num,
  quantizedType: str,
  scale: num,
  zeroPoint: num,
  step: num,
  calibratedRange: optional(pair),
  clipRange: pair,
  observed: optional(pair),
  local: metrics,
  accumulated: metrics,
  clippingRate: optional(share),
  rangeUse: optional(share),
  histogram: optional(histogram),
  elements: num,
  fusedActivation: optional(str),
  // Reports written before consumers were recorded have none.
  consumers: (v, where) => (v === undefined ? [] : list(v, where, str)),
});

const weightBlocks = record<WeightBlocks>({ size: num, count: num, meanRelative: num, maxRelative: num });

export const weight = record<WeightReport>({
  tensor: str,
  nodes: (v, where) => list(v, where, str),
  type: str,
  axis: optNum,
  channelMin: nums,
  channelMax: nums,
  scales: nums,
  zeroPoints: nums,
  error: metrics,
  rmseOverStep: optNum,
  elements: num,
  // Only weights quantized in blocks have it (and reports written before it existed have none).
  blocks: (v, where) => (v === undefined || v === null ? undefined : weightBlocks(v, where)),
});

const latency = record<LatencyReport>({ medianMs: num, p95Ms: num, runs: num, batchSize: num, executionProvider: str });

export function fusion(v: unknown, where: string): FusionReport {
  const f = new Fields(v, where);
  const ops = new Fields(f.o.integerOps, f.at('integerOps'));
  return {
    candidates: f.num('candidates'),
    fused: f.num('fused'),
    integerOps: Object.fromEntries(Object.keys(ops.o).map((k) => [k, ops.num(k)])),
    unfused: f.list('unfused', record<FusionReport['unfused'][number]>({ node: str, opType: str, reason: str })),
  };
}

/** `{ float, quantized }`, each checked by `check`. */
function floatAndQuantized<T>(check: Check<T>): Check<{ float: T; quantized: T }> {
  return record({ float: check, quantized: check });
}

const positiveNum: Check<number> = (v, where) => {
  const x = num(v, where);
  if (!(x > 0)) fail(where, `must be above 0 (got ${x})`);
  return x;
};

const languageModel = record<LanguageModelReport>({
  output: str,
  vocabulary: num,
  tokens: num,
  nextTokenAgreement: share,
  labelledTokens: num,
  crossEntropy: optional(floatAndQuantized(num)),
  perplexity: optional(floatAndQuantized(positiveNum)),
  crossEntropyIncrease: optNum,
  perplexityIncrease: optNum,
});

export function model(v: unknown, where: string): ModelReport {
  const f = new Fields(v, where);
  const sizes = new Fields(f.o.sizes, f.at('sizes'));
  return {
    outputs: f.list('outputs', record<OutputReport>({ name: str, error: metrics })),
    top1Agreement: f.opt('top1Agreement', share),
    // Reports written before language models were recognised have none.
    languageModel: f.opt('languageModel', languageModel),
    accuracy: f.opt('accuracy', floatAndQuantized(share)),
    sizes: { floatBytes: sizes.num('floatBytes'), quantizedBytes: sizes.num('quantizedBytes'), ratio: sizes.num('ratio') },
    latency: f.opt('latency', floatAndQuantized(latency)),
    fusion: f.opt('fusion', fusion),
  };
}

export const sensitivity = record<SensitivityReport>({
  samples: num,
  allQuantizedSqnr: optNum,
  entries: (v, where) => list(v, where, record<SensitivityEntry>({ tensor: str, node: str, onlyThisSqnr: optNum, allButThisSqnr: optNum, rank: num })),
});

const TARGET_KINDS: readonly KeepInFloatTargetKind[] = ['sqnr', 'agreement', 'accuracy'];

const target = record<{ kind: KeepInFloatTargetKind; value: number }>({ kind: oneOf(TARGET_KINDS), value: num });

export function keepInFloat(v: unknown, where: string): KeepInFloatReport {
  const f = new Fields(v, where);
  const cost = new Fields(f.o.cost, f.at('cost'));
  return {
    nodes: f.list('nodes', str),
    target: f.opt('target', target),
    achieved: f.opt('achieved', num),
    met: f.opt('met', bool),
    output: f.str('output'),
    cost: { sizeBytes: cost.num('sizeBytes'), latencyMs: cost.opt('latencyMs', num) },
    steps: f.list('steps', record<KeepInFloatReport['steps'][number]>({ node: str, achieved: optNum })),
    before: f.get('before', modelSummary),
    after: f.get('after', modelSummary),
  };
}

const modelSummary = record<ModelSummary>({
  file: str,
  outputSqnr: optNum,
  top1Agreement: optional(share),
  accuracy: optional(share),
  bytes: num,
  medianMs: optNum,
});

export const analysisSettings = record<AnalysisSettings>({
  data: str,
  labels: optional(str),
  samples: optNum,
  samplesUsed: num,
  batchSize: num,
  latencyRuns: num,
  histogramBins: num,
  executionProvider: str,
  sensitivity: bool,
  sensitivitySamples: num,
});

export const unmatched = record<{ tensor: string; reason: string }>({ tensor: str, reason: str });

// The checks parseQuantReport applies to each part of a report read from disk or posted to a
// webview: a clean copy holding only the known fields, or a JsonFieldError naming the first bad one.
import { Fields, fail, nums, oneOf, pair, share, str, num, bool } from './jsonFields';
import type {
  AnalysisSettings,
  ErrorMetrics,
  Histogram,
  KeepInFloatReport,
  KeepInFloatTargetKind,
  LatencyReport,
  LayerReport,
  ModelReport,
  ModelSummary,
  SensitivityReport,
  WeightReport,
} from './quantReport';
import type { FusionReport } from './quantResult';

export function metrics(v: unknown, where: string): ErrorMetrics {
  const f = new Fields(v, where);
  return { sqnr: f.opt('sqnr', num), mse: f.opt('mse', num), cosine: f.opt('cosine', num), maxAbs: f.opt('maxAbs', num) };
}

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

export function layer(v: unknown, where: string): LayerReport {
  const f = new Fields(v, where);
  return {
    tensor: f.str('tensor'),
    node: f.str('node'),
    opType: f.str('opType'),
    order: f.num('order'),
    quantizedType: f.str('quantizedType'),
    scale: f.num('scale'),
    zeroPoint: f.num('zeroPoint'),
    step: f.num('step'),
    calibratedRange: f.opt('calibratedRange', pair),
    clipRange: f.get('clipRange', pair),
    observed: f.opt('observed', pair),
    local: f.get('local', metrics),
    accumulated: f.get('accumulated', metrics),
    clippingRate: f.opt('clippingRate', share),
    rangeUse: f.opt('rangeUse', share),
    histogram: f.opt('histogram', histogram),
    elements: f.num('elements'),
    fusedActivation: f.opt('fusedActivation', str),
    // Reports written before consumers were recorded have none.
    consumers: f.o.consumers === undefined ? [] : f.list('consumers', str),
  };
}

export function weight(v: unknown, where: string): WeightReport {
  const f = new Fields(v, where);
  return {
    tensor: f.str('tensor'),
    nodes: f.list('nodes', str),
    type: f.str('type'),
    axis: f.opt('axis', num),
    channelMin: f.get('channelMin', nums),
    channelMax: f.get('channelMax', nums),
    scales: f.get('scales', nums),
    zeroPoints: f.get('zeroPoints', nums),
    error: f.get('error', metrics),
    rmseOverStep: f.opt('rmseOverStep', num),
    elements: f.num('elements'),
  };
}

function latency(v: unknown, where: string): LatencyReport {
  const f = new Fields(v, where);
  return {
    medianMs: f.num('medianMs'),
    p95Ms: f.num('p95Ms'),
    runs: f.num('runs'),
    batchSize: f.num('batchSize'),
    executionProvider: f.str('executionProvider'),
  };
}

export function fusion(v: unknown, where: string): FusionReport {
  const f = new Fields(v, where);
  const ops = new Fields(f.o.integerOps, f.at('integerOps'));
  return {
    candidates: f.num('candidates'),
    fused: f.num('fused'),
    integerOps: Object.fromEntries(Object.keys(ops.o).map((k) => [k, ops.num(k)])),
    unfused: f.list('unfused', (u, w) => {
      const x = new Fields(u, w);
      return { node: x.str('node'), opType: x.str('opType'), reason: x.str('reason') };
    }),
  };
}

/** `{ float, quantized }`, each checked by `check`. */
function floatAndQuantized<T>(check: (v: unknown, where: string) => T) {
  return (v: unknown, where: string): { float: T; quantized: T } => {
    const f = new Fields(v, where);
    return { float: f.get('float', check), quantized: f.get('quantized', check) };
  };
}

export function model(v: unknown, where: string): ModelReport {
  const f = new Fields(v, where);
  const sizes = new Fields(f.o.sizes, f.at('sizes'));
  return {
    outputs: f.list('outputs', (x, w) => {
      const p = new Fields(x, w);
      return { name: p.str('name'), error: p.get('error', metrics) };
    }),
    top1Agreement: f.opt('top1Agreement', share),
    accuracy: f.opt('accuracy', floatAndQuantized(share)),
    sizes: { floatBytes: sizes.num('floatBytes'), quantizedBytes: sizes.num('quantizedBytes'), ratio: sizes.num('ratio') },
    latency: f.opt('latency', floatAndQuantized(latency)),
    fusion: f.opt('fusion', fusion),
  };
}

export function sensitivity(v: unknown, where: string): SensitivityReport {
  const f = new Fields(v, where);
  return {
    samples: f.num('samples'),
    allQuantizedSqnr: f.opt('allQuantizedSqnr', num),
    entries: f.list('entries', (x, w) => {
      const e = new Fields(x, w);
      return {
        tensor: e.str('tensor'),
        node: e.str('node'),
        onlyThisSqnr: e.opt('onlyThisSqnr', num),
        allButThisSqnr: e.opt('allButThisSqnr', num),
        rank: e.num('rank'),
      };
    }),
  };
}

const TARGET_KINDS: readonly KeepInFloatTargetKind[] = ['sqnr', 'agreement', 'accuracy'];

function target(v: unknown, where: string): { kind: KeepInFloatTargetKind; value: number } {
  const f = new Fields(v, where);
  return { kind: f.get('kind', oneOf(TARGET_KINDS)), value: f.num('value') };
}

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
    steps: f.list('steps', (x, w) => {
      const s = new Fields(x, w);
      return { node: s.str('node'), achieved: s.opt('achieved', num) };
    }),
    before: f.get('before', modelSummary),
    after: f.get('after', modelSummary),
  };
}

function modelSummary(v: unknown, where: string): ModelSummary {
  const f = new Fields(v, where);
  return {
    file: f.str('file'),
    outputSqnr: f.opt('outputSqnr', num),
    top1Agreement: f.opt('top1Agreement', share),
    accuracy: f.opt('accuracy', share),
    bytes: f.num('bytes'),
    medianMs: f.opt('medianMs', num),
  };
}

export function analysisSettings(v: unknown, where: string): AnalysisSettings {
  const f = new Fields(v, where);
  return {
    data: f.str('data'),
    labels: f.opt('labels', str),
    samples: f.opt('samples', num),
    samplesUsed: f.num('samplesUsed'),
    batchSize: f.num('batchSize'),
    latencyRuns: f.num('latencyRuns'),
    histogramBins: f.num('histogramBins'),
    executionProvider: f.str('executionProvider'),
    sensitivity: f.bool('sensitivity'),
    sensitivitySamples: f.num('sensitivitySamples'),
  };
}

export function unmatched(v: unknown, where: string): { tensor: string; reason: string } {
  const f = new Fields(v, where);
  return { tensor: f.str('tensor'), reason: f.str('reason') };
}

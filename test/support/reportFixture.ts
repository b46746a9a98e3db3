// A realistic QuantReport built in code (nothing big is committed): a deep CNN-like graph of
// thousands of activation tensors. Each layer's values are sampled from a seeded distribution,
// quantized with the layer's uint8 grid and measured with the engine's own metrics, so errors,
// clipping, range use and histograms are computed, not typed in. A few layers are damaged (a clip
// range far narrower than the data) and stand out; some tensors are unmatched, some ops unfused.
import { sqnr } from '../../src/core/analysis/metrics';
import { resolveSettings } from '../../src/core/quant/settings';
import { seededRandom } from '../../src/core/random';
import {
  QUANT_REPORT_FORMAT,
  QUANT_REPORT_VERSION,
  type ErrorMetrics,
  type LayerReport,
  type QuantReport,
  type SensitivityEntry,
  type WeightReport,
} from '../../src/shared/quantReport';

export interface ReportFixtureOptions {
  layers?: number;
  seed?: number;
  /** Layer indices whose clip range is cut to a tenth of the data's range. */
  damaged?: number[];
  sensitivity?: boolean;
  /** Renames layer i's tensor and node (e.g. to markup, to check it renders as text). */
  names?: Record<number, string>;
}

const SAMPLES = 384;
const BINS = 64;
const OPS = ['Conv', 'Relu', 'Conv', 'Add', 'Relu', 'MaxPool', 'Conv', 'Sigmoid', 'Mul', 'MatMul', 'Concat', 'Conv'];

function metrics(x: Float64Array, y: Float64Array): ErrorMetrics {
  let mse = 0;
  let dot = 0;
  let nx = 0;
  let ny = 0;
  for (let i = 0; i < x.length; i++) {
    mse += (x[i] - y[i]) ** 2;
    dot += x[i] * y[i];
    nx += x[i] * x[i];
    ny += y[i] * y[i];
  }
  return {
    sqnr: sqnr(x, y),
    mse: mse / x.length,
    cosine: nx && ny ? dot / Math.sqrt(nx * ny) : 1,
    maxAbs: Array.from(x).reduce((m, v, i) => Math.max(m, Math.abs(v - y[i])), 0),
  };
}

function gaussian(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/** uint8 asymmetric parameters covering [lo, hi] (0 always representable). */
function grid(lo: number, hi: number): { scale: number; zeroPoint: number } {
  const a = Math.min(lo, 0);
  const b = Math.max(hi, 0);
  const scale = (b - a) / 255 || 1e-8;
  return { scale, zeroPoint: Math.max(0, Math.min(255, Math.round(-a / scale))) };
}

function quantize(x: Float64Array, scale: number, zp: number): { y: Float64Array; clipped: number; qmin: number; qmax: number } {
  const y = new Float64Array(x.length);
  let clipped = 0;
  let qmin = 255;
  let qmax = 0;
  for (let i = 0; i < x.length; i++) {
    const raw = Math.round(x[i] / scale) + zp;
    const q = Math.max(0, Math.min(255, raw));
    // Beyond the grid by more than half a step, as the engine counts: values rounding to qmin are not clipped.
    if (raw < 0 || raw > 255) clipped++;
    qmin = Math.min(qmin, q);
    qmax = Math.max(qmax, q);
    y[i] = (q - zp) * scale;
  }
  return { y, clipped, qmin, qmax };
}

function histogram(x: Float64Array, lo: number, hi: number, scaleTo: number) {
  const edges = Array.from({ length: BINS + 1 }, (_, i) => lo + ((hi - lo) * i) / BINS);
  const counts = new Array<number>(BINS).fill(0);
  let below = 0;
  let above = 0;
  for (const v of x) {
    if (v < lo) below++;
    else if (v > hi) above++;
    else counts[Math.min(BINS - 1, Math.floor(((v - lo) / (hi - lo)) * BINS))]++;
  }
  const k = scaleTo / x.length;
  return { edges, counts: counts.map((c) => Math.round(c * k)), below: Math.round(below * k), above: Math.round(above * k) };
}

function names(i: number): { tensor: string; node: string; op: string } {
  const op = OPS[i % OPS.length];
  const stage = Math.floor(i / 400) + 1;
  const block = Math.floor((i % 400) / 12);
  const node = `/stage${stage}/block${block}/${op.toLowerCase()}_${i % 12}/${op}`;
  return { tensor: `${node}_output_0`, node, op };
}

export function reportFixture(o: ReportFixtureOptions = {}): QuantReport {
  const count = o.layers ?? 2000;
  const rand = seededRandom(o.seed ?? 7);
  const damaged = new Set(o.damaged ?? [Math.floor(count * 0.62), Math.floor(count * 0.31)]);
  const elements = 64 * 56 * 56;
  let carriedNoise = 0;
  const layers: LayerReport[] = [];
  for (let i = 0; i < count; i++) {
    const n = names(i);
    const tensor = o.names?.[i] ?? n.tensor;
    const node = o.names?.[i] ?? n.node;
    const relu = n.op === 'Relu' || n.op === 'MaxPool';
    const spread = 0.5 + 3 * rand();
    const x = new Float64Array(SAMPLES);
    for (let k = 0; k < SAMPLES; k++) {
      const g = gaussian(rand) * spread + (n.op === 'Sigmoid' ? 0 : 0.2 * spread);
      x[k] = n.op === 'Sigmoid' ? 1 / (1 + Math.exp(-g)) : relu ? Math.max(0, g) : g;
    }
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of x) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    // Calibration saw a slightly different range than the evaluation data; damaged layers far less.
    const cut = damaged.has(i) ? 0.1 : 0.97 + 0.06 * rand();
    const calibrated: [number, number] = [lo * cut, hi * cut];
    const { scale, zeroPoint } = grid(calibrated[0], calibrated[1]);
    const clipRange: [number, number] = [(0 - zeroPoint) * scale, (255 - zeroPoint) * scale];
    const q = quantize(x, scale, zeroPoint);
    const local = metrics(x, q.y);
    // The error reaching this tensor: what earlier layers left (decaying) plus its own.
    carriedNoise = carriedNoise * 0.985 + (local.mse ?? 0);
    const acc = new Float64Array(SAMPLES);
    const sigma = Math.sqrt(carriedNoise);
    for (let k = 0; k < SAMPLES; k++) acc[k] = q.y[k] + gaussian(rand) * sigma * 0.5;
    const histLo = Math.min(clipRange[0], calibrated[0], lo);
    const histHi = Math.max(clipRange[1], calibrated[1], hi);
    layers.push({
      tensor,
      node,
      opType: n.op,
      order: i + 1,
      quantizedType: 'uint8',
      scale,
      zeroPoint,
      step: scale,
      calibratedRange: calibrated,
      clipRange,
      observed: [lo, hi],
      local,
      accumulated: metrics(x, acc),
      clippingRate: q.clipped / SAMPLES,
      rangeUse: (q.qmax - q.qmin) / 255,
      histogram: histogram(x, histLo, histHi, elements),
      elements: elements * 16,
      fusedActivation: n.op === 'Conv' && OPS[(i + 1) % OPS.length] === 'Relu' ? 'Relu' : null,
      // The next layer reads this one (a chain, as in the float graph).
      consumers: i + 1 < count ? [o.names?.[i + 1] ?? names(i + 1).node] : [],
    });
  }
  const weights: WeightReport[] = [];
  for (let i = 0; i < count; i += 3) {
    const n = names(i);
    if (n.op !== 'Conv' && n.op !== 'MatMul') continue;
    const channels = 16 << Math.floor(rand() * 5);
    const channelMin: number[] = [];
    const channelMax: number[] = [];
    const scales: number[] = [];
    const x = new Float64Array(channels * 8);
    const y = new Float64Array(channels * 8);
    let rmse = 0;
    for (let c = 0; c < channels; c++) {
      const spread = 0.02 + 0.3 * rand();
      let cmin = Infinity;
      let cmax = -Infinity;
      for (let k = 0; k < 8; k++) {
        const v = gaussian(rand) * spread;
        x[c * 8 + k] = v;
        cmin = Math.min(cmin, v);
        cmax = Math.max(cmax, v);
      }
      const s = Math.max(Math.abs(cmin), Math.abs(cmax)) / 127;
      let err = 0;
      for (let k = 0; k < 8; k++) {
        y[c * 8 + k] = Math.round(x[c * 8 + k] / s) * s;
        err += (x[c * 8 + k] - y[c * 8 + k]) ** 2;
      }
      rmse += Math.sqrt(err / 8) / s;
      channelMin.push(cmin);
      channelMax.push(cmax);
      scales.push(s);
    }
    weights.push({
      tensor: `${n.node.replace(/\/[A-Za-z]+$/, '')}.weight`,
      nodes: [n.node],
      type: 'int8',
      axis: 0,
      channelMin,
      channelMax,
      scales,
      zeroPoints: scales.map(() => 0),
      error: metrics(x, y),
      rmseOverStep: rmse / channels,
      elements: channels * 9 * 64,
    });
  }
  let sensitivity: QuantReport['sensitivity'] = null;
  if (o.sensitivity ?? true) {
    const entries: Array<Omit<SensitivityEntry, 'rank'>> = layers
      .filter((_, i) => i % 10 === 0 || damaged.has(i))
      .map((l) => ({
        tensor: l.tensor,
        node: l.node,
        // Alone, a layer costs the output about its own local error plus what the rest of the net adds.
        onlyThisSqnr: l.local.sqnr === null ? null : l.local.sqnr + 6 + 4 * rand(),
        allButThisSqnr: l.local.sqnr === null ? null : 18 + (l.local.sqnr < 20 ? 9 : 0.3 * rand()),
      }));
    entries.sort((a, b) => (a.onlyThisSqnr ?? Infinity) - (b.onlyThisSqnr ?? Infinity));
    sensitivity = { samples: 32, allQuantizedSqnr: 18.2, entries: entries.map((e, r) => ({ ...e, rank: r + 1 })) };
  }
  const last = layers[layers.length - 1];
  const settings = resolveSettings({ mode: 'static' });
  settings.calibration = '/data/imagenet-val-subset';
  settings.perChannel = true;
  return {
    format: QUANT_REPORT_FORMAT,
    version: QUANT_REPORT_VERSION,
    floatModel: '/models/deep_cnn.onnx',
    quantizedModel: '/models/deep_cnn.int8.onnx',
    quantResultFile: '/models/deep_cnn.int8.quant.json',
    quantSettings: settings,
    settings: {
      data: '/data/imagenet-val-subset (image folder, 224x224, 500 files)',
      labels: '/data/imagenet-val-subset/labels.txt',
      samples: 256,
      samplesUsed: 256,
      batchSize: 16,
      latencyRuns: 50,
      histogramBins: BINS,
      executionProvider: 'cpu',
      sensitivity: sensitivity !== null,
      sensitivitySamples: 32,
    },
    layers,
    weights,
    model: {
      outputs: [{ name: 'logits', error: last.accumulated }],
      top1Agreement: 0.9765,
      languageModel: null,
      accuracy: { float: 0.7612, quantized: 0.7394 },
      sizes: { floatBytes: 102_502_400, quantizedBytes: 26_013_232, ratio: 26_013_232 / 102_502_400 },
      latency: {
        float: { medianMs: 41.3, p95Ms: 44.9, runs: 50, batchSize: 1, executionProvider: 'cpu' },
        quantized: { medianMs: 17.8, p95Ms: 19.6, runs: 50, batchSize: 1, executionProvider: 'cpu' },
      },
      fusion: {
        candidates: 412,
        fused: 409,
        integerOps: { QLinearConv: 401, MatMulInteger: 8 },
        unfused: [
          { node: names(9).node, opType: 'MatMul', reason: 'its second input is not a constant, so onnxruntime keeps it in float' },
          { node: names(133).node, opType: 'MatMul', reason: 'a 16-bit activation: onnxruntime fuses 8-bit Q/DQ only' },
          { node: names(1801).node, opType: 'Conv', reason: 'grouped convolution with per-channel weights on an axis onnxruntime does not fuse' },
        ],
      },
    },
    sensitivity,
    keepInFloat: null,
    unmatched: [
      { tensor: '/stage1/block0/shape_0/Shape_output_0', reason: 'int64 tensor: not quantized, no counterpart in the quantized model' },
      { tensor: '/stage5/block3/reshape/Reshape_output_0', reason: "renamed by the quantized model's optimizer" },
      { tensor: 'onnx::Add_4021', reason: 'only in the quantized model' },
    ],
    warnings: ['calibration used 256 of 500 samples (--samples 256)', 'the CPU lacks VNNI: int8 weights use the full range, results may differ on older CPUs'],
    created: '2026-11-25T21:00:00.000Z',
  };
}

/**
 * The report after keeping `nodes` in float: the tensors only they read are no longer quantized,
 * the error those carried no longer reaches later layers, and the model is a little larger.
 */
export function keptInFloatFixture(before: QuantReport, nodes: string[]): QuantReport {
  const kept = new Set(nodes);
  const isGone = (l: LayerReport) => l.consumers.length > 0 && l.consumers.every((c) => kept.has(c));
  const gone = before.layers.filter(isGone);
  const firstGone = Math.min(...gone.map((l) => l.order));
  const lift = (m: ErrorMetrics, order: number): ErrorMetrics => (order > firstGone && m.sqnr !== null ? { ...m, sqnr: m.sqnr + 12 } : m);
  const layers = before.layers.filter((l) => !isGone(l)).map((l) => ({ ...l, accumulated: lift(l.accumulated, l.order) }));
  const last = layers[layers.length - 1];
  const extraBytes = gone.length * 40_000;
  const summary = (file: string, outputSqnr: number | null, top1Agreement: number, accuracy: number, bytes: number, medianMs: number) => ({
    file,
    outputSqnr,
    top1Agreement,
    accuracy,
    bytes,
    medianMs,
  });
  const output = before.quantizedModel.replace(/\.onnx$/, '.kif.onnx');
  return {
    ...before,
    quantizedModel: output,
    layers,
    model: {
      ...before.model,
      outputs: [{ name: 'logits', error: last.accumulated }],
      top1Agreement: 0.9921,
      accuracy: before.model.accuracy && { float: before.model.accuracy.float, quantized: 0.7581 },
      sizes: {
        ...before.model.sizes,
        quantizedBytes: before.model.sizes.quantizedBytes + extraBytes,
        ratio: (before.model.sizes.quantizedBytes + extraBytes) / before.model.sizes.floatBytes,
      },
    },
    keepInFloat: {
      nodes,
      target: null,
      achieved: last.accumulated.sqnr,
      met: null,
      output,
      cost: { sizeBytes: extraBytes, latencyMs: 0.4 },
      steps: [],
      before: summary(before.quantizedModel, before.model.outputs[0].error.sqnr, 0.9765, 0.7394, before.model.sizes.quantizedBytes, 17.8),
      after: summary(output, last.accumulated.sqnr, 0.9921, 0.7581, before.model.sizes.quantizedBytes + extraBytes, 18.2),
    },
  };
}

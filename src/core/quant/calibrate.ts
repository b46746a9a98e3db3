// Streaming calibration: the tensors to observe become extra graph outputs (typed by element-type
// propagation), the data runs through onnxruntime batch by batch, each collector updates its
// running statistics and the batch is dropped. Memory depends on the batch size and the number of
// observed tensors, never on the number of samples. Histogram methods take a second pass.
//
// What one batch brings into JavaScript is bounded by a budget (CalibrationRun.outputBudget): when
// the observed tensors' outputs for a batch would pass it, they are split into groups and the data
// is read once per group and method pass (the per-node calibration of other tools does the same). Extremes cost a
// few scalars per tensor; whole values cost their elements, learned from one sample beforehand.
import * as os from 'os';
import type { QuantSettings } from '../../shared/quantResult';
import { createMessage } from '../onnx/codec';
import { DataType } from '../onnx/dataTypes';
import type { OnnxModel } from '../onnx/model';
import { AttributeType, type AttributeProto, type NodeProto } from '../onnx/types';
import { sessionWithOutputs, type ort } from '../runtime/session';
import { batchSampleCount, type DataSource } from '../data';
import { createCollector, type Collector } from './collectors';
import { quantTypeInfo } from './scheme';

export interface CalibrationProgress {
  pass: number;
  passes: number;
  batch: number;
  samples: number;
}

export interface CalibratedRange {
  rmin: number;
  rmax: number;
  note?: string;
}

export interface CalibrationResult {
  ranges: Map<string, CalibratedRange>;
  samples: number;
  batches: number;
  seconds: number;
  /** Passes made over the data: the method's passes, each split into as many as the output budget needed. */
  passes: number;
  /** The passes the method itself takes (1 or 2). */
  methodPasses: number;
  /** The budget the passes were planned with, in bytes. */
  outputBudget: number;
  /** Where the time went, in ms, summed over the passes (for the benchmark and the curious). */
  timings: { sessions: number; data: number; run: number; collect: number; range: number };
}

export interface CalibrationRun {
  signal?: AbortSignal;
  onProgress?: (p: CalibrationProgress) => void;
  /** Bytes of observed outputs one batch may bring out of onnxruntime (default
   *  defaultCalibrationBudget()); past it, the observed tensors are split over several passes. */
  outputBudget?: number;
}

/** 1 GiB, or an eighth of the machine's memory when that is less. */
export function defaultCalibrationBudget(): number {
  return Math.min(2 ** 30, Math.floor(os.totalmem() / 8));
}

export class CalibrationCancelled extends Error {
  constructor() {
    super('cancelled');
    this.name = 'AbortError';
  }
}

export function collectorFor(settings: QuantSettings): Collector {
  return createCollector({
    method: settings.method,
    percentile: settings.percentile,
    movingAverage: settings.movingAverage ?? undefined,
    symmetric: settings.symmetricActivations,
    parity: settings.entropyParity,
    // MSE weighs rounding error against clipping for the levels the activations will have.
    targetBits: quantTypeInfo(settings.activationType).bits,
  });
}

/** Suffixes of the in-graph reductions a tensor's extremes come from. */
const MIN = '__onnx_compress_min';
const MAX = '__onnx_compress_max';
const ABS_MIN = '__onnx_compress_absmin';
const SHAPE = '__onnx_compress_shape';

/** What one pass asks the session for: a tensor's values, or only its extremes. */
interface Observed {
  tensor: string;
  extremes: { absMin: boolean } | null;
}

function outputNames(o: Observed): string[] {
  if (!o.extremes) return [o.tensor];
  return [o.tensor + MIN, o.tensor + MAX, ...(o.extremes.absMin ? [o.tensor + ABS_MIN] : [])];
}

/**
 * A session that returns the observed tensors besides the model's outputs; the model is left as
 * it was. A tensor whose extremes suffice gets ReduceMin/ReduceMax nodes (over all axes) and only
 * those scalars cross into JavaScript: copying every intermediate tensor out of onnxruntime is what
 * calibration would otherwise spend most of its time on.
 */
async function observingSession(model: OnnxModel, observed: Observed[], settings: QuantSettings): Promise<ort.InferenceSession> {
  const nodes: NodeProto[] = [];
  const node = (op: string, input: string, out: string, reduce: boolean) =>
    nodes.push(
      createMessage<NodeProto>('NodeProto', {
        op_type: op,
        input: [input],
        output: [out],
        name: out,
        attribute: reduce ? [createMessage<AttributeProto>('AttributeProto', { name: 'keepdims', type: AttributeType.INT, i: 0 })] : [],
      }),
    );
  for (const { tensor, extremes } of observed) {
    if (!extremes) continue;
    node('ReduceMin', tensor, tensor + MIN, true);
    node('ReduceMax', tensor, tensor + MAX, true);
    if (extremes.absMin) {
      node('Abs', tensor, tensor + ABS_MIN + '_abs', false);
      node('ReduceMin', tensor + ABS_MIN + '_abs', tensor + ABS_MIN, true);
    }
  }
  return sessionWithOutputs(model, observed.flatMap(outputNames), settings.executionProvider, { nodes, elemType: DataType.FLOAT });
}

/** The graph inputs the data feeds: an initializer listed as an input (IR < 4 exports) is not fed. */
export function fedInputs(model: OnnxModel): Set<string> {
  const stored = new Set(model.proto.graph!.initializer.map((t) => t.name ?? ''));
  return new Set(model.proto.graph!.input.map((v) => v.name ?? '').filter((n) => !stored.has(n)));
}

const scalar = (t: ort.Tensor | undefined) => (t ? (t.data as Float32Array)[0] : NaN);

/** Bytes one batch of `o` brings out: its extremes (a few scalars), or all its values. */
function outputBytes(o: Observed, elementsPerSample: Map<string, number>, batchSize: number): number {
  if (o.extremes) return 4 * outputNames(o).length;
  return 4 * (elementsPerSample.get(o.tensor) ?? 0) * batchSize;
}

/** Consecutive groups whose outputs per batch stay within `budget` (a tensor alone may pass it). */
export function splitByBudget<T>(items: T[], bytes: (item: T) => number, budget: number): T[][] {
  const groups: T[][] = [];
  let current: T[] = [];
  let used = 0;
  for (const item of items) {
    const b = bytes(item);
    if (current.length && used + b > budget) {
      groups.push(current);
      current = [];
      used = 0;
    }
    current.push(item);
    used += b;
  }
  if (current.length || !groups.length) groups.push(current);
  return groups;
}

/** Elements per sample of each tensor, from Shape nodes run on the first sample: only their
 *  shapes cross into JavaScript, whatever the tensors' sizes. */
async function elementsPerSample(
  model: OnnxModel,
  tensors: string[],
  data: DataSource,
  settings: QuantSettings,
  signal?: AbortSignal,
): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  if (!tensors.length) return sizes;
  const nodes = tensors.map((t) => createMessage<NodeProto>('NodeProto', { op_type: 'Shape', input: [t], output: [t + SHAPE], name: t + SHAPE }));
  const session = await sessionWithOutputs(
    model,
    tensors.map((t) => t + SHAPE),
    settings.executionProvider,
    { nodes, elemType: DataType.INT64 },
  );
  try {
    for await (const feeds of data.batches({ batchSize: 1, limit: 1, signal })) {
      const out = await session.run(
        feeds,
        tensors.map((t) => t + SHAPE),
      );
      for (const t of tensors) {
        const dims = Array.from(out[t + SHAPE].data as BigInt64Array, Number);
        sizes.set(
          t,
          dims.reduce((a, b) => a * b, 1),
        );
      }
      for (const o of Object.values(out)) o.dispose();
    }
  } finally {
    await session.release();
  }
  return sizes;
}

export async function calibrate(
  model: OnnxModel,
  tensors: string[],
  data: DataSource,
  settings: QuantSettings,
  run: CalibrationRun = {},
): Promise<CalibrationResult> {
  const started = Date.now();
  const budget = run.outputBudget ?? defaultCalibrationBudget();
  const inputs = fedInputs(model);
  const collectors = new Map(tensors.map((t) => [t, collectorFor(settings)]));
  const methodPasses = collectors.size ? Math.max(...[...collectors.values()].map((c) => c.passes)) : 1;
  const timings = { sessions: 0, data: 0, run: 0, collect: 0, range: 0 };
  const since = (t: number) => performance.now() - t;

  // Each method pass: its observed tensors in groups that fit the budget. Graph inputs come from
  // the feeds, at no cost: they go with the first group.
  const valued = [...collectors]
    .filter(([t, c]) => !inputs.has(t) && Array.from({ length: c.passes }, (_, p) => c.extremesFor(p)).some((e) => e === null))
    .map(([t]) => t);
  let t0 = performance.now();
  const perSample = await elementsPerSample(model, valued, data, settings, run.signal);
  timings.sessions += since(t0);
  // One grouping for all the method's passes, sized by the pass that reads the most: each group's
  // passes then run the same graph (onnxruntime fuses differently around the tensors a session
  // observes, and a histogram pass must see the values its range pass measured).
  const observable = [...collectors].filter(([t]) => !inputs.has(t));
  const fed = [...collectors].filter(([t]) => inputs.has(t));
  const heaviest = ([tensor, c]: [string, Collector]) =>
    Math.max(...Array.from({ length: c.passes }, (_, pass) => outputBytes({ tensor, extremes: c.extremesFor(pass) }, perSample, settings.batchSize)));
  const plan: Array<{ pass: number; active: Array<[string, Collector]>; observed: Observed[] }> = [];
  splitByBudget(observable, heaviest, budget).forEach((group, i) => {
    for (let pass = 0; pass < methodPasses; pass++) {
      const active = [...(i === 0 ? fed : []), ...group].filter(([, c]) => c.passes > pass);
      const observed = active.filter(([t]) => !inputs.has(t)).map(([tensor, c]) => ({ tensor, extremes: c.extremesFor(pass) }));
      plan.push({ pass, active, observed });
    }
  });

  let samples = 0;
  let batches = 0;
  for (const [index, { pass, active, observed }] of plan.entries()) {
    let t = performance.now();
    const session = await observingSession(model, observed, settings);
    timings.sessions += since(t);
    // Only for a batch whose extremes are not finite (NaN or ±Inf in a tensor): its values, so that
    // the collector can count what it ignores and use the finite rest.
    let valuesSession: ort.InferenceSession | undefined;
    const names = observed.flatMap(outputNames);
    let passSamples = 0;
    let batch = 0;
    try {
      const it = data
        .batches({ batchSize: settings.batchSize, limit: settings.samples ?? undefined, shuffleSeed: settings.shuffleSeed ?? undefined, signal: run.signal })
        [Symbol.asyncIterator]();
      for (;;) {
        t = performance.now();
        const next = await it.next();
        timings.data += since(t);
        if (next.done) break;
        const feeds = next.value;
        if (run.signal?.aborted) throw new CalibrationCancelled();
        t = performance.now();
        const outputs = names.length ? await session.run(feeds, names) : {};
        timings.run += since(t);
        t = performance.now();
        const nonFinite: string[] = [];
        for (const [tensor, collector] of active) {
          const extremes = collector.extremesFor(pass);
          if (!extremes || inputs.has(tensor)) {
            const values = (outputs[tensor] ?? feeds[tensor]).data as Float32Array;
            // Empty: a value lifted out of an If branch this batch did not take (subgraphCalibration.ts).
            if (values.length) collector.add(values, pass);
            continue;
          }
          const e = {
            min: scalar(outputs[tensor + MIN]),
            max: scalar(outputs[tensor + MAX]),
            absMin: extremes.absMin ? scalar(outputs[tensor + ABS_MIN]) : undefined,
          };
          // min +Inf with max -Inf: an empty tensor (a value lifted out of an If branch the batch did
          // not take, subgraphCalibration.ts), which every collector ignores.
          const empty = e.min === Infinity && e.max === -Infinity;
          if (empty || (Number.isFinite(e.min) && Number.isFinite(e.max) && (e.absMin === undefined || Number.isFinite(e.absMin))))
            collector.addExtremes(e, pass);
          else nonFinite.push(tensor);
        }
        for (const o of Object.values(outputs)) o.dispose();
        timings.collect += since(t);
        if (nonFinite.length) {
          valuesSession ??= await observingSession(
            model,
            observed.map((o) => ({ tensor: o.tensor, extremes: null })),
            settings,
          );
          const values = await valuesSession.run(feeds, nonFinite);
          for (const t of nonFinite) collectors.get(t)!.add(values[t].data as Float32Array, pass);
          for (const o of Object.values(values)) o.dispose();
        }
        passSamples += batchSampleCount(feeds);
        batch++;
        run.onProgress?.({ pass: index, passes: plan.length, batch, samples: passSamples });
      }
    } finally {
      await session.release();
      await valuesSession?.release();
    }
    if (index === 0) {
      samples = passSamples;
      batches = batch;
    }
  }
  if (samples === 0) throw new Error('the calibration data holds no sample');
  t0 = performance.now();
  const ranges = new Map<string, CalibratedRange>();
  for (const [name, c] of collectors) ranges.set(name, c.range());
  timings.range = since(t0);
  return { ranges, samples, batches, seconds: (Date.now() - started) / 1000, passes: plan.length, methodPasses, outputBudget: budget, timings };
}

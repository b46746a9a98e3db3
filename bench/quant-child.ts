// One quantization measurement, in its own process (so that its peak RSS is its own).
//
//   node out/bench/quant-child.js MODE ARGS...
//
// Prints one JSON line on stdout (the last line). Times are milliseconds (performance.now),
// measured after the modules are loaded and the model is read; maxRssBytes is VmHWM (rss-hook).
//
// Modes:
//   calib-time MODEL SPEC BATCH SAMPLES REPS
//       Calibration time against plain inference over the same batches, interleaved per repetition
//       (after a warm-up that is not counted: a plain pass, one batch through minmax and percentile):
//         plain       createSession (the options calibrate() uses) + one pass: data.batches + run,
//                     before and after the calibrations of each repetition
//         minmax, entropy, percentile   calibrate() with that method (its own session, 1 or 2 passes)
//       plus, for attribution, an instrumented replica of calibrate() ('profile'), which times its
//       parts: session creation, data, session.run with the observed outputs, collector.add,
//       range(). The replica's total is printed beside calibrate()'s so the two can be compared.
//       Then, once, a prototype of MinMax computed in the graph (ReduceMin/ReduceMax per tensor).
//   calib-rss MODEL SPEC METHOD BATCH SAMPLES [gc]
//       calibrate() once; peak RSS of the process, and the RSS before calibrating. With `gc` (and
//       node --expose-gc), a full garbage collection after every batch (a control).
//   latency MODEL MODE SPEC SAMPLES PERCHANNEL SHAPE RUNS THREADS OUTDIR
//       quantizeModel (MODE static|dynamic, calibrated on SPEC, at most SAMPLES samples) into
//       OUTDIR, then the float and the int8 model (sessions with the same options) run
//       alternately on the same seeded uniform [0,1) input; RUNS is BATCH:COUNT,... (e.g.
//       1:50,32:20), after 3 warm-up runs each; SHAPE is one sample's dims, e.g. 1,28,28;
//       THREADS: intra-op thread counts to measure, 0 = onnxruntime's default (e.g. 0,1).
//       Median and p95 per model and batch size, and the QuantResult's fusion report.
import { peakRssBytes, runChildMain } from './rss-hook';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { openDataSource, type DataSource } from '../src/core/data';
import { readModel, type OnnxModel } from '../src/core/onnx/model';
import { createMessage } from '../src/core/onnx/codec';
import { DataType } from '../src/core/onnx/dataTypes';
import { AttributeType, type AttributeProto, type NodeProto, type ValueInfoProto } from '../src/core/onnx/types';
import { calibrate, collectorFor } from '../src/core/quant/calibrate';
import { quantizeModel } from '../src/core/quant/pipeline';
import { planQuantization } from '../src/core/quant/plan';
import { resolveSettings } from '../src/core/quant/settings';
import { createSession, ort } from '../src/core/runtime/session';
import type { QuantSettings } from '../src/shared/quantResult';
import { seededRandom } from '../src/core/random';
import { percentile } from './util';

function currentRssBytes(): number {
  return process.memoryUsage().rss;
}

function settingsFor(spec: string, method: QuantSettings['method'], batchSize: number, samples: number): QuantSettings {
  return resolveSettings({ mode: 'static', calibration: spec, method, batchSize, samples });
}

/** The plain pass: a session with the options calibrate() uses, then run every batch once. */
async function plainPass(model: OnnxModel, data: DataSource, s: QuantSettings): Promise<{ total: number; create: number; pass: number; run: number; batches: number }> {
  const t0 = performance.now();
  const session = await createSession(model, { executionProviders: [s.executionProvider] });
  const t1 = performance.now();
  let run = 0;
  let batches = 0;
  try {
    for await (const feeds of data.batches({ batchSize: s.batchSize, limit: s.samples ?? undefined })) {
      const r0 = performance.now();
      const out = await session.run(feeds);
      run += performance.now() - r0;
      for (const t of Object.values(out)) t.dispose();
      batches++;
    }
  } finally {
    await session.release();
  }
  const t2 = performance.now();
  return { total: t2 - t0, create: t1 - t0, pass: t2 - t1, run, batches };
}

/** Iterating the batches alone (data generation / decoding). */
async function dataPass(data: DataSource, s: QuantSettings): Promise<number> {
  const t0 = performance.now();
  for await (const feeds of data.batches({ batchSize: s.batchSize, limit: s.samples ?? undefined })) void feeds;
  return performance.now() - t0;
}

interface Profile {
  total: number;
  create: number;
  data: number;
  run: number;
  collect: number;
  range: number;
  passes: number;
  /** Values handed to the collectors in pass 0 (all observed tensors, all batches). */
  values: number;
  /** One more pass of the observing session that fetches only the model's own outputs. */
  runModelOutputsOnly?: number;
}

/**
 * A replica of calibrate() (src/core/quant/calibrate.ts) with timers around its parts; it uses the
 * same collectors, the same extra outputs and the same session options.
 */
async function profiledCalibrate(model: OnnxModel, tensors: string[], data: DataSource, s: QuantSettings, modelOutputsOnly = false): Promise<Profile> {
  const t0 = performance.now();
  const graph = model.proto.graph!;
  const inputs = new Set(graph.input.map((v) => v.name ?? ''));
  const fetched = tensors.filter((t) => !inputs.has(t));
  const collectors = new Map(tensors.map((t) => [t, collectorFor(s)]));
  const passes = collectors.size ? Math.max(...[...collectors.values()].map((c) => c.passes)) : 1;
  const count = graph.output.length;
  const modelOutputs = graph.output.map((o) => o.name ?? '');
  const existing = new Set(modelOutputs);
  for (const name of fetched) {
    if (existing.has(name)) continue;
    graph.output.push(createMessage<ValueInfoProto>('ValueInfoProto', { name, type: { tensor_type: { elem_type: DataType.FLOAT } } }));
  }
  let session: ort.InferenceSession;
  try {
    session = await createSession(model, { executionProviders: [s.executionProvider] });
  } finally {
    graph.output.length = count;
  }
  const t1 = performance.now();
  let dataMs = 0;
  let run = 0;
  let collect = 0;
  let values = 0;
  let range = 0;
  let runModelOutputsOnly: number | undefined;
  let runModelOutputsOnlyWall: number | undefined;
  try {
    for (let pass = 0; pass < passes; pass++) {
      const it = data.batches({ batchSize: s.batchSize, limit: s.samples ?? undefined })[Symbol.asyncIterator]();
      for (;;) {
        const d0 = performance.now();
        const next = await it.next();
        dataMs += performance.now() - d0;
        if (next.done) break;
        const feeds = next.value;
        const r0 = performance.now();
        const outputs = fetched.length ? await session.run(feeds, fetched) : {};
        const r1 = performance.now();
        for (const [name, c] of collectors) {
          if (c.passes <= pass) continue;
          const t = outputs[name] ?? feeds[name];
          if (pass === 0) values += t.data.length;
          c.add(t.data as Float32Array, pass);
        }
        for (const t of Object.values(outputs)) t.dispose();
        run += r1 - r0;
        collect += performance.now() - r1;
      }
    }
    const g0 = performance.now();
    for (const c of collectors.values()) c.range();
    range = performance.now() - g0;
    if (modelOutputsOnly) {
      const w0 = performance.now();
      // Not part of calibrate(): the same session, asked for the model's outputs only. Its run
      // time against the plain session's shows what the extra outputs cost in the graph itself
      // (fusions they block), apart from copying them out.
      runModelOutputsOnly = 0;
      for await (const feeds of data.batches({ batchSize: s.batchSize, limit: s.samples ?? undefined })) {
        const r0 = performance.now();
        const out = await session.run(feeds, modelOutputs);
        runModelOutputsOnly += performance.now() - r0;
        for (const t of Object.values(out)) t.dispose();
      }
      runModelOutputsOnlyWall = performance.now() - w0;
    }
  } finally {
    await session.release();
  }
  // Wall time of everything calibrate() does (release included), without the extra pass above.
  const total = performance.now() - t0 - (runModelOutputsOnlyWall ?? 0);
  return { total, create: t1 - t0, data: dataMs, run, collect, range, passes, values, runModelOutputsOnly };
}

/**
 * Not what calibrate() does: a prototype of computing MinMax inside the graph. A ReduceMin and a
 * ReduceMax node (keepdims 0, all axes) per observed tensor, so that only two scalars per tensor
 * leave onnxruntime, as ONNX Runtime's Python MinMaxCalibrater does. Timed like the plain pass
 * (session creation + one pass), and checked against the MinMax collector's ranges.
 */
async function inGraphMinMax(model: OnnxModel, tensors: string[], data: DataSource, s: QuantSettings): Promise<{ total: number; create: number; pass: number; maxRangeDiff: number }> {
  const t0 = performance.now();
  const graph = model.proto.graph!;
  const [outputs, nodes] = [graph.output.length, graph.node.length];
  const fetches: string[] = [];
  for (const t of tensors) {
    for (const op of ['ReduceMin', 'ReduceMax']) {
      const out = `${t}__bench_${op}`;
      graph.node.push(createMessage<NodeProto>('NodeProto', {
        op_type: op, input: [t], output: [out], name: `${out}_node`,
        attribute: [createMessage<AttributeProto>('AttributeProto', { name: 'keepdims', type: AttributeType.INT, i: 0 })],
      }));
      graph.output.push(createMessage<ValueInfoProto>('ValueInfoProto', { name: out, type: { tensor_type: { elem_type: DataType.FLOAT } } }));
      fetches.push(out);
    }
  }
  let session: ort.InferenceSession;
  try {
    session = await createSession(model, { executionProviders: [s.executionProvider] });
  } finally {
    graph.output.length = outputs;
    graph.node.length = nodes;
  }
  const t1 = performance.now();
  const lo = new Float64Array(tensors.length).fill(Infinity);
  const hi = new Float64Array(tensors.length).fill(-Infinity);
  try {
    for await (const feeds of data.batches({ batchSize: s.batchSize, limit: s.samples ?? undefined })) {
      const out = await session.run(feeds, fetches);
      tensors.forEach((_, i) => {
        lo[i] = Math.min(lo[i], (out[fetches[2 * i]].data as Float32Array)[0]);
        hi[i] = Math.max(hi[i], (out[fetches[2 * i + 1]].data as Float32Array)[0]);
      });
    }
  } finally {
    await session.release();
  }
  const total = performance.now() - t0;
  // The same ranges as the collector's (finite data): the largest difference, relative to the range.
  const ranges = (await calibrate(model, tensors, data, s)).ranges;
  let maxRangeDiff = 0;
  tensors.forEach((t, i) => {
    const r = ranges.get(t)!;
    const width = Math.max(1e-12, r.rmax - r.rmin);
    maxRangeDiff = Math.max(maxRangeDiff, Math.abs(r.rmin - lo[i]) / width, Math.abs(r.rmax - hi[i]) / width);
  });
  return { total, create: t1 - t0, pass: total - (t1 - t0), maxRangeDiff };
}

const METHODS = ['minmax', 'entropy', 'percentile'] as const;

async function calibTime(args: string[]): Promise<Record<string, unknown>> {
  const [file, spec, batchArg, samplesArg, repsArg] = args;
  const batch = Number(batchArg);
  const samplesAsked = Number(samplesArg);
  const reps = Number(repsArg);
  const model = await readModel(file);
  const base = settingsFor(spec, 'minmax', batch, samplesAsked);
  const plan = planQuantization(model, base);
  const data = await openDataSource(spec, model);
  const out: Record<string, unknown[]> = { plainBefore: [], plainAfter: [], data: [], ...Object.fromEntries(METHODS.map((m) => [m, []])) };
  const counts: Record<string, { samples: number; batches: number }> = {};
  // Warm-up, not counted: the plain pass, and one batch through the minmax and histogram code
  // (entropy is left out: its range() costs the same whatever the number of batches).
  await plainPass(model, data, base);
  for (const m of ['minmax', 'percentile'] as const) await calibrate(model, plan.activations, data, settingsFor(spec, m, batch, batch));
  for (let rep = 0; rep < reps; rep++) {
    // A plain pass before and after the calibrations of each round: their mean is the round's
    // baseline, so that a change in machine load during the round shows in both.
    out.plainBefore.push(await plainPass(model, data, base));
    out.data.push(await dataPass(data, base));
    for (const m of METHODS) {
      const s = settingsFor(spec, m, batch, samplesAsked);
      const t0 = performance.now();
      const r = await calibrate(model, plan.activations, data, s);
      out[m].push(performance.now() - t0);
      counts[m] = { samples: r.samples, batches: r.batches };
    }
    out.plainAfter.push(await plainPass(model, data, base));
  }
  // Attribution, once: the instrumented replica of calibrate(), each method.
  const profile: Record<string, Profile> = {};
  for (const m of METHODS) profile[m] = await profiledCalibrate(model, plan.activations, data, settingsFor(spec, m, batch, samplesAsked), m === 'minmax');
  const inGraph = await inGraphMinMax(model, plan.activations, data, base);
  return { ...out, profile, inGraph, counts, activations: plan.activations.length };
}

async function calibRss(args: string[]): Promise<Record<string, unknown>> {
  const [file, spec, method, batchArg, samplesArg, gcArg] = args;
  // 'gc': a full garbage collection after every batch (needs node --expose-gc), so that the peak
  // holds only what is alive, not the garbage that the collector has not reclaimed yet.
  const collectGarbage = gcArg === 'gc' ? (globalThis as { gc?: () => void }).gc : undefined;
  if (gcArg === 'gc' && !collectGarbage) throw new Error('calib-rss ... gc needs node --expose-gc');
  const model = await readModel(file);
  const s = settingsFor(spec, method as QuantSettings['method'], Number(batchArg), Number(samplesArg));
  const plan = planQuantization(model, s);
  const data = await openDataSource(spec, model);
  const beforeRss = currentRssBytes();
  const beforePeak = peakRssBytes();
  const t0 = performance.now();
  const r = await calibrate(model, plan.activations, data, s, { onProgress: collectGarbage ? () => collectGarbage() : undefined });
  const ms = performance.now() - t0;
  return { ms, samples: r.samples, batches: r.batches, beforeRssBytes: beforeRss, beforePeakBytes: beforePeak, activations: plan.activations.length };
}

async function latency(args: string[]): Promise<Record<string, unknown>> {
  const [file, mode, spec, samplesArg, perChannel, shapeArg, runsArg, threadsArg, outDir] = args;
  const sampleDims = shapeArg.split(',').map(Number);
  // "1:50,32:20": batch size 1, 50 runs of each model; batch size 32, 20 runs.
  const plan = runsArg.split(',').map((p) => p.split(':').map(Number) as [number, number]);
  const settings = resolveSettings({
    mode: mode as QuantSettings['mode'], calibration: spec, samples: Number(samplesArg), perChannel: perChannel === 'true',
  });
  const output = path.join(outDir, `${path.basename(file, '.onnx')}.${mode}.int8.onnx`);
  const q0 = performance.now();
  const result = await quantizeModel(file, settings, { output, resultFile: false });
  const quantizeMs = performance.now() - q0;
  const fModel = await readModel(file);
  const qModel = await readModel(result.output);
  const per: Record<string, Record<string, unknown>> = {};
  const problems: string[] = [];
  // Threads: 0 = onnxruntime's default (one per core), or a fixed intra-op thread count.
  for (const threads of threadsArg.split(',').map(Number)) {
    // The same session options for both (createSession's: CPU, all graph optimizations).
    const fSession = await createSession(fModel, { intraOpThreads: threads || undefined });
    const qSession = await createSession(qModel, { intraOpThreads: threads || undefined });
    const inputName = fSession.inputNames[0];
    try {
      for (const [b, runs] of plan) {
        const n = b * sampleDims.reduce((a, c) => a * c, 1);
        const values = new Float32Array(n);
        const rnd = seededRandom(7);
        for (let i = 0; i < n; i++) values[i] = rnd();
        const feeds = { [inputName]: new ort.Tensor('float32', values, [b, ...sampleDims]) };
        const once = async (s: ort.InferenceSession) => {
          const t0 = performance.now();
          const o = await s.run(feeds);
          return { ms: performance.now() - t0, o };
        };
        // Warm-up (the first runs allocate and pick kernels), and a check of the int8 outputs.
        for (let w = 0; w < 3; w++) {
          const f = await once(fSession);
          const q = await once(qSession);
          if (w === 0) {
            const fo = Object.values(f.o)[0];
            const qo = Object.values(q.o)[0];
            if (fo.dims.join() !== qo.dims.join()) problems.push(`batch ${b}: int8 output dims [${qo.dims}] differ from float [${fo.dims}]`);
            if (!(qo.data as Float32Array).every((v) => Number.isFinite(v))) problems.push(`batch ${b}: int8 output has non-finite values`);
          }
          for (const t of [...Object.values(f.o), ...Object.values(q.o)]) t.dispose();
        }
        const float: number[] = [];
        const int8: number[] = [];
        for (let r = 0; r < runs; r++) {
          // Alternating order (float first, then int8 first) so that a drift in load hits both alike.
          const order = r % 2 ? [qSession, fSession] : [fSession, qSession];
          for (const s of order) {
            const { ms, o } = await once(s);
            (s === fSession ? float : int8).push(ms);
            for (const t of Object.values(o)) t.dispose();
          }
        }
        per[`${threads}/${b}`] = {
          threads, batch: b, runs, floatMedian: percentile(float, 50), floatP95: percentile(float, 95), int8Median: percentile(int8, 50), int8P95: percentile(int8, 95),
          // Run r of each model was measured back to back: the median of those per-pair ratios.
          pairedSpeedup: percentile(float.map((f, i) => f / int8[i]), 50),
        };
      }
    } finally {
      await fSession.release();
      await qSession.release();
    }
  }
  return {
    quantizeMs, fusion: result.fusion, sizes: result.sizes, warnings: result.warnings, verification: result.verification,
    calibration: result.calibration ? { samples: result.calibration.samples, seconds: result.calibration.seconds } : null,
    latency: per, problems,
  };
}

async function main(): Promise<Record<string, unknown>> {
  const [mode, ...args] = process.argv.slice(2);
  switch (mode) {
    case 'idle':
      return {};
    case 'calib-time':
      return calibTime(args);
    case 'calib-rss':
      return calibRss(args);
    case 'latency':
      return latency(args);
    default:
      throw new Error(`unknown mode '${mode}'`);
  }
}

runChildMain(main);

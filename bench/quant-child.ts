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
//       plus calibrate()'s own timings of its parts (session creation, data, session.run,
//       collectors, range()) for attribution.
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
import { calibrate, collectorFor, type CalibrationResult } from '../src/core/quant/calibrate';
import { quantizeModel } from '../src/core/quant/pipeline';
import { calibrationTargets, planQuantization } from '../src/core/quant/plan';
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
async function plainPass(
  model: OnnxModel,
  data: DataSource,
  s: QuantSettings,
): Promise<{ total: number; create: number; pass: number; run: number; batches: number }> {
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
  // calibrate()'s own account of where its time went, per repetition.
  const timings: Record<string, CalibrationResult['timings'][]> = Object.fromEntries(METHODS.map((m) => [m, []]));
  // Warm-up, not counted: the plain pass, and one batch through the minmax and histogram code
  // (entropy is left out: its range() costs the same whatever the number of batches).
  await plainPass(model, data, base);
  for (const m of ['minmax', 'percentile'] as const) await calibrate(model, calibrationTargets(plan), data, settingsFor(spec, m, batch, batch));
  for (let rep = 0; rep < reps; rep++) {
    // A plain pass before and after the calibrations of each round: their mean is the round's
    // baseline, so that a change in machine load during the round shows in both.
    out.plainBefore.push(await plainPass(model, data, base));
    out.data.push(await dataPass(data, base));
    for (const m of METHODS) {
      const s = settingsFor(spec, m, batch, samplesAsked);
      const t0 = performance.now();
      const r = await calibrate(model, calibrationTargets(plan), data, s);
      out[m].push(performance.now() - t0);
      counts[m] = { samples: r.samples, batches: r.batches };
      timings[m].push(r.timings);
    }
    out.plainAfter.push(await plainPass(model, data, base));
  }
  const passes = Object.fromEntries(METHODS.map((m) => [m, collectorFor(settingsFor(spec, m, batch, samplesAsked)).passes]));
  return { ...out, timings, passes, counts, activations: calibrationTargets(plan).length };
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
  const r = await calibrate(model, calibrationTargets(plan), data, s, { onProgress: collectGarbage ? () => collectGarbage() : undefined });
  const ms = performance.now() - t0;
  return { ms, samples: r.samples, batches: r.batches, beforeRssBytes: beforeRss, beforePeakBytes: beforePeak, activations: calibrationTargets(plan).length };
}

async function latency(args: string[]): Promise<Record<string, unknown>> {
  const [file, mode, spec, samplesArg, perChannel, shapeArg, runsArg, threadsArg, outDir] = args;
  const sampleDims = shapeArg.split(',').map(Number);
  // "1:50,32:20": batch size 1, 50 runs of each model; batch size 32, 20 runs.
  const plan = runsArg.split(',').map((p) => p.split(':').map(Number) as [number, number]);
  const settings = resolveSettings({
    mode: mode as QuantSettings['mode'],
    calibration: spec,
    samples: Number(samplesArg),
    perChannel: perChannel === 'true',
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
          threads,
          batch: b,
          runs,
          floatMedian: percentile(float, 50),
          floatP95: percentile(float, 95),
          int8Median: percentile(int8, 50),
          int8P95: percentile(int8, 95),
          // Run r of each model was measured back to back: the median of those per-pair ratios.
          pairedSpeedup: percentile(
            float.map((f, i) => f / int8[i]),
            50,
          ),
        };
      }
    } finally {
      await fSession.release();
      await qSession.release();
    }
  }
  return {
    quantizeMs,
    fusion: result.fusion,
    sizes: result.sizes,
    warnings: result.warnings,
    verification: result.verification,
    calibration: result.calibration ? { samples: result.calibration.samples, seconds: result.calibration.seconds } : null,
    latency: per,
    problems,
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

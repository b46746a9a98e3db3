// One measurement, in its own process so that its peak RSS is its own.
//
//   node out/bench/child.js MODE ARGS...
//
// Prints one JSON line on stdout. Times are in milliseconds (performance.now), measured after the
// modules are loaded; maxRssBytes is the process's peak resident set (VmHWM, see peakRssBytes).
//
// Modes:
//   idle                     nothing: the RSS of a bare Node process with this script loaded
//   read FILE...             fs.readFileSync of every FILE (the baseline)
//   read-async FILE          fs.promises.readFile (what readModel uses), for diagnosis
//   inspect FILE             readModel + summarizeModel + JSON.stringify (what `inspect --json` does)
//   decode FILE              readFileSync + decodeModel + summarizeModel, each timed (diagnosis)
//   tensor FILE NAME         readModel, then tensorStatistics(NAME) timed, and a plain one-pass
//                            min/max/sum loop over the same values for comparison
//   save-external IN OUT     readModel(IN) + writeModel(OUT, { placement: 'external' })
import { peakRssBytes, runChildMain } from './rss-hook';
import * as fs from 'fs';
import * as path from 'path';
// The module object itself (not an import-star copy), so that patching it reaches every user.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- an import-star copy would not carry the patch
import fsModule = require('fs');
import { performance } from 'perf_hooks';
import { decodeModel, readModel } from '../src/core/onnx/model';
import { summarizeModel, tensorStatistics, findTensor } from '../src/core/onnx/summary';
import { readTensor, toFloat32 } from '../src/core/onnx/tensor';
import { writeModel } from '../src/core/onnx/write';

/** Files this process opened (by base name), to show that external data is not touched. */
const opened = new Set<string>();

function watchOpens(): void {
  const record = (p: unknown) => {
    if (typeof p === 'string' || p instanceof URL) opened.add(path.basename(String(p)));
  };
  const f = fsModule as unknown as Record<string, (...a: unknown[]) => unknown>;
  for (const name of ['openSync', 'readFileSync', 'open', 'readFile', 'createReadStream']) {
    const orig = f[name];
    f[name] = function (this: unknown, ...a: unknown[]) {
      record(a[0]);
      return orig.apply(this, a);
    };
  }
  const p = fsModule.promises as unknown as Record<string, (...a: unknown[]) => unknown>;
  for (const name of ['open', 'readFile']) {
    const orig = p[name];
    p[name] = function (this: unknown, ...a: unknown[]) {
      record(a[0]);
      return orig.apply(this, a);
    };
  }
}

async function main(): Promise<Record<string, unknown>> {
  const [mode, ...args] = process.argv.slice(2);
  switch (mode) {
    case 'idle':
      return {};
    case 'read': {
      const t0 = performance.now();
      let bytes = 0;
      const keep: Buffer[] = [];
      for (const f of args) {
        const b = fs.readFileSync(f);
        keep.push(b);
        bytes += b.length;
      }
      return { ms: performance.now() - t0, bytes };
    }
    case 'read-async': {
      const t0 = performance.now();
      const b = await fs.promises.readFile(args[0]);
      return { ms: performance.now() - t0, bytes: b.length };
    }
    case 'inspect': {
      watchOpens();
      const t0 = performance.now();
      const model = await readModel(args[0]);
      const t1 = performance.now();
      const summary = summarizeModel(model);
      const json = JSON.stringify(summary, null, 2);
      const t2 = performance.now();
      return {
        ms: t2 - t0,
        readModelMs: t1 - t0,
        summarizeMs: t2 - t1,
        jsonChars: json.length,
        tensors: summary.parameters.tensors,
        parameterBytes: summary.parameters.bytes,
        external: summary.parameters.external,
        opened: [...opened],
      };
    }
    case 'decode': {
      const t0 = performance.now();
      const bytes = fs.readFileSync(args[0]);
      const t1 = performance.now();
      const model = decodeModel(bytes, { file: path.resolve(args[0]) });
      const t2 = performance.now();
      summarizeModel(model);
      const t3 = performance.now();
      return { ms: t3 - t0, readMs: t1 - t0, decodeMs: t2 - t1, summarizeMs: t3 - t2 };
    }
    case 'tensor': {
      watchOpens();
      const t0 = performance.now();
      const model = await readModel(args[0]);
      const t1 = performance.now();
      const report = tensorStatistics(model, args[1]);
      const t2 = performance.now();
      const statsPeakRssBytes = peakRssBytes();
      const raw = findTensor(model, args[1])!.tensor.raw_data;
      // The same values, through a plain loop: what one pass over the data costs at least.
      const values = toFloat32(readTensor(findTensor(model, args[1])!.tensor, model.external));
      const t3 = performance.now();
      let min = Infinity;
      let max = -Infinity;
      let sum = 0;
      let sq = 0;
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        if (v < min) min = v;
        if (v > max) max = v;
        sum += v;
        sq += v * v;
      }
      const t4 = performance.now();
      return {
        readModelMs: t1 - t0,
        statsMs: t2 - t1,
        loopMs: t4 - t3,
        elements: report.stats.count,
        statsPeakRssBytes,
        // raw_data sits wherever protobuf put it: a float32 view needs a 4-byte aligned offset.
        rawDataAligned: raw ? raw.byteOffset % 4 === 0 : null,
        check: { mean: report.stats.mean, loopMean: sum / values.length, min, max, sq },
        opened: [...opened],
      };
    }
    case 'save-external': {
      const t0 = performance.now();
      const model = await readModel(args[0]);
      const r = await writeModel(model, args[1], { placement: 'external' });
      return { ms: performance.now() - t0, bytes: r.bytes, dataFile: r.dataFile, dataBytes: r.dataBytes, externalTensors: r.externalTensors };
    }
    default:
      throw new Error(`unknown mode '${mode}'`);
  }
}

runChildMain(main);

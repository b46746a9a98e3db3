// Writing one split's teacher cache: the teacher runs batch by batch over the data, and its inputs,
// the wanted tensors (top-k logits where asked) and the labels stream to .npy files.
import * as fs from 'fs';
import * as path from 'path';
import type { CacheDtype, ResolvedDataSplit, ResolvedDistillSpec } from '../../shared/distillSpec';
import type { CacheEvent } from '../../shared/distillRun';
import { firstAxisSampleCount, type openDataSource } from '../data';
import { abortError } from '../data/errors';
import type { OnnxModel } from '../onnx/model';
import { float32ToFloat16Bits } from '../onnx/floatFormats';
import { sessionWithOutputs } from '../runtime/session';
import { BYTES, CACHE_FORMAT, CACHE_VERSION, CacheError, DESCR, type CacheArray, type CacheHashes, type CacheManifest } from './cacheLayout';
import { NpyStreamWriter } from './npyStream';

export interface CacheBuildOptions {
  signal?: AbortSignal;
  onEvent?: (e: CacheEvent) => void;
  /** Samples per teacher run (default 256). */
  batchSize?: number;
}

function topKRows(values: Float32Array, rows: number, k: number): { values: Float32Array; indices: BigInt64Array } {
  const classes = values.length / rows;
  const outV = new Float32Array(rows * k);
  const outI = new BigInt64Array(rows * k);
  const idx = Array.from({ length: classes }, (_, i) => i);
  for (let r = 0; r < rows; r++) {
    const row = values.subarray(r * classes, (r + 1) * classes);
    idx.sort((a, b) => row[b] - row[a] || a - b);
    for (let j = 0; j < k; j++) {
      outV[r * k + j] = row[idx[j]];
      outI[r * k + j] = BigInt(idx[j]);
    }
    for (let i = 0; i < classes; i++) idx[i] = i;
  }
  return { values: outV, indices: outI };
}

function stored(values: Float32Array, dtype: CacheDtype): ArrayBufferView {
  return dtype === 'float16' ? float32ToFloat16Bits(values) : values;
}

/** Writes the cache into `tmp` (renamed to `finalDir` by the caller once complete); returns its manifest. */
export async function writeCache(
  teacher: OnnxModel,
  source: Awaited<ReturnType<typeof openDataSource>>,
  tmp: string,
  n: number,
  labels: Int32Array | null,
  tensors: string[],
  spec: ResolvedDistillSpec,
  split: ResolvedDataSplit,
  splitName: 'train' | 'eval',
  hashes: CacheHashes,
  options: CacheBuildOptions,
  finalDir: string,
): Promise<CacheManifest> {
  const session = await sessionWithOutputs(teacher, tensors, spec.teacher.executionProvider);
  const inputs = new Map<string, { writer: NpyStreamWriter; entry: CacheArray }>();
  const outs = new Map<string, { writer: NpyStreamWriter; indices?: NpyStreamWriter; entry: CacheArray }>();
  const fileOf = (name: string) => name.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^_+/, '') || 'tensor';
  const used = new Set<string>();
  const unique = (base: string) => {
    let f = base;
    for (let i = 1; used.has(f); i++) f = `${base}_${i}`;
    used.add(f);
    return f;
  };
  let done = 0;
  let estimate: number | null = null;
  try {
    for await (const feeds of source.batches({
      batchSize: options.batchSize ?? 256,
      limit: n,
      shuffleSeed: split.shuffleSeed ?? undefined,
      signal: options.signal,
    })) {
      if (options.signal?.aborted) throw abortError();
      const rows = firstAxisSampleCount(feeds, 'the teacher cache');
      const results = await session.run(feeds, tensors);
      if (done === 0) {
        // Shapes are known now: open the writers, and announce the size before anything is written.
        for (const [name, t] of Object.entries(feeds)) {
          const file = `inputs/${unique(fileOf(name))}.npy`;
          const shape = [n, ...t.dims.slice(1)];
          inputs.set(name, {
            writer: await NpyStreamWriter.create(path.join(tmp, file), DESCR[t.type], shape.slice(1), n),
            entry: { name, file, shape, dtype: t.type },
          });
        }
        for (const name of tensors) {
          const t = results[name];
          if (t.type !== 'float32')
            throw new CacheError(`teacher tensor '${name}' is ${t.type}; only float32 tensors can be cached as knowledge`, spec.teacher.model);
          const topK = name === spec.teacher.output ? spec.cache.topK : null;
          const base = unique(fileOf(name));
          const row = topK !== null ? [topK] : t.dims.slice(1);
          if (topK !== null && t.dims.length !== 2) throw new CacheError(`top-k storage needs logits [N, classes]; '${name}' is [${t.dims.join(',')}]`);
          const file = topK !== null ? `teacher/${base}.values.npy` : `teacher/${base}.npy`;
          const entry: CacheArray = { tensor: name, file, shape: [n, ...row], dtype: spec.cache.dtype, topK };
          const writer = await NpyStreamWriter.create(path.join(tmp, file), DESCR[spec.cache.dtype], row, n);
          let indices: NpyStreamWriter | undefined;
          if (topK !== null) {
            entry.indices = `teacher/${base}.indices.npy`;
            indices = await NpyStreamWriter.create(path.join(tmp, entry.indices), '<i8', row, n);
          }
          outs.set(name, { writer, indices, entry });
        }
        const perRow =
          [...inputs.values(), ...outs.values()].reduce(
            (s, { entry }) => s + entry.shape.slice(1).reduce((a, b) => a * b, 1) * (BYTES[entry.dtype] + (entry.topK ? 8 : 0)),
            0,
          ) + (labels ? 8 : 0);
        estimate = perRow * n;
        options.onEvent?.({ event: 'cache', split: splitName, state: 'estimate', bytes: estimate, samples: n, dir: finalDir });
      }
      for (const [name, t] of Object.entries(feeds)) await inputs.get(name)!.writer.append(t.data as ArrayBufferView, rows);
      for (const [name, o] of outs) {
        const values = results[name].data as Float32Array;
        if (o.indices) {
          const top = topKRows(values, rows, o.entry.topK!);
          await o.writer.append(stored(top.values, spec.cache.dtype), rows);
          await o.indices.append(top.indices, rows);
        } else {
          await o.writer.append(stored(values, spec.cache.dtype), rows);
        }
      }
      for (const t of Object.values(results)) t.dispose();
      done += rows;
      options.onEvent?.({ event: 'cache', split: splitName, state: 'progress', bytes: estimate ?? 0, samples: n, done, dir: finalDir });
    }
  } finally {
    for (const w of [...inputs.values(), ...outs.values()]) await w.writer.close();
    for (const o of outs.values()) await o.indices?.close();
    await session.release();
  }
  if (done !== n) {
    // The model fixed the batch size and a last partial batch was dropped: the arrays say so.
    for (const e of [...inputs.values(), ...outs.values()]) e.entry.shape[0] = done;
  }
  let labelEntry: CacheManifest['labels'] = null;
  if (labels) {
    const w = await NpyStreamWriter.create(path.join(tmp, 'labels.npy'), '<i8', [], done);
    await w.append(
      BigInt64Array.from(labels.subarray(0, done), (v) => BigInt(v)),
      done,
    );
    await w.close();
    labelEntry = { file: 'labels.npy', shape: [done], dtype: 'int64' };
  }
  let bytes = 0;
  for (const f of await listFiles(tmp)) bytes += (await fs.promises.stat(f)).size;
  return {
    format: CACHE_FORMAT,
    version: CACHE_VERSION,
    samples: done,
    inputs: [...inputs.values()].map((x) => x.entry),
    labels: labelEntry,
    teacher: [...outs.values()].map((x) => x.entry),
    hashes,
    bytes,
    created: new Date().toISOString(),
  };
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.promises.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p)));
    else out.push(p);
  }
  return out;
}

// The teacher knowledge cache (docs/distill-formats.md section 1): the teacher runs once over the
// data in onnxruntime-node with the wanted tensors exposed as outputs; inputs, labels and those
// tensors stream batch by batch to .npy files, with a manifest of hashes (model, data,
// preprocessing, tensor list and storage). A cache whose hashes no longer match is rebuilt, with
// the reason said. It is written into a temporary folder and renamed into place when complete.
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { CacheDtype, ResolvedDataSplit, ResolvedDistillSpec } from '../../shared/distillSpec';
import type { CacheEvent } from '../../shared/distillRun';
import { openDataSource } from '../data';
import { shuffledOrder } from '../data/source';
import { abortError } from '../data/errors';
import { readModel, type OnnxModel } from '../onnx/model';
import { float32ToFloat16Bits } from '../onnx/floatFormats';
import { sessionWithOutputs } from '../runtime/session';
import { OnnxCompressError } from '../errors';
import { temporaryName } from '../files';
import { readLabels } from './labels';
import { NpyStreamWriter } from './npyStream';
import { sampleDims, type TensorInfo } from './tensors';

export const CACHE_FORMAT = 'onnx-compress/teacher-cache';
export const CACHE_VERSION = 1;
export const MANIFEST = 'manifest.json';

export class CacheError extends OnnxCompressError {}

export interface CacheArray {
  name?: string;
  tensor?: string;
  file: string;
  indices?: string;
  shape: number[];
  dtype: string;
  topK?: number | null;
}

export interface CacheManifest {
  format: typeof CACHE_FORMAT;
  version: 1;
  samples: number;
  inputs: CacheArray[];
  labels: { file: string; shape: number[]; dtype: 'int64' } | null;
  teacher: CacheArray[];
  hashes: CacheHashes;
  bytes: number;
  created: string;
}

export interface CacheHashes {
  model: string;
  data: string;
  preprocessing: string;
  tensors: string;
}

/** The teacher tensors a spec needs cached: its logits, then every pair's teacher side. */
export function teacherTensorsOf(spec: ResolvedDistillSpec): string[] {
  const names = [spec.teacher.output];
  // Self-distillation pairs name the student's own tensors: only the teacher's logits are cached (for agreement).
  if (spec.scheme.kind === 'self') return names;
  for (const k of spec.knowledge) {
    if (k.type === 'relation') names.push(k.pair.teacher);
    else if (k.type !== 'response') names.push(...k.pairs.map((p) => p.teacher));
  }
  return [...new Set(names)];
}

const BYTES: Record<string, number> = { float32: 4, float16: 2, float64: 8, int64: 8, int32: 4, uint8: 1, int8: 1, int16: 2, uint16: 2, uint32: 4, bool: 1 };
const DESCR: Record<string, string> = {
  float32: '<f4',
  float16: '<f2',
  float64: '<f8',
  int64: '<i8',
  int32: '<i4',
  uint8: '|u1',
  int8: '|i1',
  int16: '<i2',
  uint16: '<u2',
  uint32: '<u4',
  bool: '|b1',
};

export interface CacheEstimate {
  split: 'train' | 'eval';
  samples: number;
  /** Null when a shape is unknown before the teacher runs. */
  bytes: number | null;
  parts: { what: string; bytes: number | null }[];
}

/**
 * The cache's size before it is written: samples x (input bytes + 8 for a label + per teacher
 * tensor its elements x storage bytes, or k x (storage + 8) with top-k logits).
 */
export function estimateCacheBytes(
  spec: ResolvedDistillSpec,
  teacherTensors: readonly TensorInfo[],
  samples: { split: 'train' | 'eval'; samples: number; labels: boolean }[],
): CacheEstimate[] {
  const storage = BYTES[spec.cache.dtype];
  const perSample = (t: TensorInfo | undefined, bytes: number) => {
    const d = sampleDims(t?.shape ?? null);
    return d ? d.reduce((a, b) => a * b, 1) * bytes : null;
  };
  return samples.map(({ split, samples: n, labels }) => {
    const parts: CacheEstimate['parts'] = [];
    for (const input of teacherTensors.filter((t) => t.kind === 'input')) {
      const b = perSample(input, BYTES[input.dtype ?? 'float32'] ?? 4);
      parts.push({ what: `input ${input.name}`, bytes: b === null ? null : b * n });
    }
    if (labels) parts.push({ what: 'labels', bytes: 8 * n });
    for (const name of teacherTensorsOf(spec)) {
      const t = teacherTensors.find((x) => x.name === name);
      const topK = name === spec.teacher.output ? spec.cache.topK : null;
      const b = topK !== null ? topK * (storage + 8) : perSample(t, storage);
      parts.push({ what: `teacher ${name}${topK !== null ? ` (top ${topK})` : ''}`, bytes: b === null ? null : b * n });
    }
    const bytes = parts.some((p) => p.bytes === null) ? null : parts.reduce((s, p) => s + p.bytes!, 0);
    return { split, samples: n, bytes, parts };
  });
}

async function sha256File(file: string, hash = crypto.createHash('sha256')): Promise<crypto.Hash> {
  await new Promise<void>((resolve, reject) => {
    fs.createReadStream(file)
      .on('data', (d) => hash.update(d))
      .on('end', resolve)
      .on('error', reject);
  });
  return hash;
}

/** Data files hashed by content; a folder by its files' names, sizes and modification times (hashing every image would cost more than the cache). */
async function hashData(split: ResolvedDataSplit, describe: string): Promise<string> {
  const h = crypto.createHash('sha256');
  h.update(JSON.stringify({ describe, samples: split.samples, shuffleSeed: split.shuffleSeed, labels: split.labels }));
  const addPath = async (p: string) => {
    const stat = await fs.promises.stat(p);
    if (stat.isDirectory()) {
      for (const e of (await fs.promises.readdir(p)).sort()) {
        const s = await fs.promises.stat(path.join(p, e));
        h.update(`${e}\0${s.size}\0${s.mtimeMs}\0`);
      }
    } else {
      await sha256File(p, h);
    }
  };
  if (!/^synthetic(:|$)/.test(split.source)) await addPath(split.source);
  if (split.labels) await addPath(split.labels);
  return h.digest('hex');
}

function hashJson(v: unknown): string {
  return crypto.createHash('sha256').update(JSON.stringify(v)).digest('hex');
}

export interface CacheBuildOptions {
  signal?: AbortSignal;
  onEvent?: (e: CacheEvent) => void;
  /** Samples per teacher run (default 256). */
  batchSize?: number;
}

export interface CacheResult {
  dir: string;
  manifestFile: string;
  manifest: CacheManifest;
  state: 'reused' | 'written' | 'rebuilt';
  /** Why it was rebuilt. */
  reason?: string;
}

/** Reads a cache's manifest, or says why it cannot be used. */
async function existingManifest(dir: string): Promise<CacheManifest | string> {
  const file = path.join(dir, MANIFEST);
  let m: CacheManifest;
  try {
    m = JSON.parse(await fs.promises.readFile(file, 'utf8'));
  } catch {
    return fs.existsSync(dir) ? 'its manifest is missing or unreadable' : 'none';
  }
  if (m.format !== CACHE_FORMAT || m.version !== CACHE_VERSION) return `its format is ${m.format} v${m.version}, not ${CACHE_FORMAT} v${CACHE_VERSION}`;
  for (const a of [...m.inputs, ...m.teacher, ...(m.labels ? [m.labels] : [])]) {
    for (const f of [a.file, ...('indices' in a && a.indices ? [a.indices] : [])]) {
      if (!fs.existsSync(path.join(dir, f))) return `its file ${f} is missing`;
    }
  }
  return m;
}

const HASH_MEANING: Record<keyof CacheHashes, string> = {
  model: 'the teacher model changed',
  data: 'the data (or its labels, sample limit or order) changed',
  preprocessing: 'the preprocessing changed',
  tensors: 'the cached tensors or their storage (dtype, top-k) changed',
};

/** Builds (or reuses) the cache of one split in `<spec.cache.dir>/<split>`. */
export async function buildTeacherCache(spec: ResolvedDistillSpec, splitName: 'train' | 'eval', options: CacheBuildOptions = {}): Promise<CacheResult> {
  const split = spec.data[splitName];
  if (!split) throw new CacheError(`the spec has no ${splitName} data`);
  const teacher = await readModel(spec.teacher.model);
  const source = await openDataSource(split.source, teacher, { imagePreprocess: split.imagePreprocess as never });
  const dir = path.join(spec.cache.dir, splitName);
  const tensors = teacherTensorsOf(spec);
  const hashes: CacheHashes = {
    model: (await sha256File(spec.teacher.model)).digest('hex'),
    data: await hashData(split, source.describe()),
    preprocessing: hashJson(split.imagePreprocess),
    tensors: hashJson({ tensors, dtype: spec.cache.dtype, topK: spec.cache.topK, output: spec.teacher.output }),
  };
  const old = await existingManifest(dir);
  let reason: string | undefined;
  if (typeof old === 'string') {
    reason = old === 'none' ? undefined : old;
  } else {
    const changed = (Object.keys(HASH_MEANING) as (keyof CacheHashes)[]).filter((k) => old.hashes?.[k] !== hashes[k]);
    if (!changed.length) {
      options.onEvent?.({ event: 'cache', split: splitName, state: 'reused', bytes: old.bytes, samples: old.samples, dir });
      return { dir, manifestFile: path.join(dir, MANIFEST), manifest: old, state: 'reused' };
    }
    reason = changed.map((k) => `${HASH_MEANING[k]} (sha256 ${old.hashes?.[k]?.slice(0, 12) ?? 'none'} -> ${hashes[k].slice(0, 12)})`).join('; ');
  }
  const total = source.samples ?? 0;
  const n = split.samples === null ? total : Math.min(total, split.samples);
  if (n === 0) throw new CacheError(`the ${splitName} data holds no sample`, split.source);
  let labels: Int32Array | null = null;
  if (split.labels) {
    const all = (await readLabels(split.labels)).values;
    if (all.length !== total) throw new CacheError(`holds ${all.length} labels but the data holds ${total} samples`, split.labels);
    const order = split.shuffleSeed !== null && total > 1 ? shuffledOrder(total, split.shuffleSeed) : null;
    labels = Int32Array.from({ length: n }, (_, i) => all[order ? order[i] : i]);
  }
  const tmp = temporaryName(dir);
  await fs.promises.mkdir(path.join(tmp, 'inputs'), { recursive: true });
  await fs.promises.mkdir(path.join(tmp, 'teacher'), { recursive: true });
  try {
    const manifest = await writeCache(teacher, source, tmp, n, labels, tensors, spec, split, splitName, hashes, options, dir);
    await fs.promises.writeFile(path.join(tmp, MANIFEST), JSON.stringify(manifest, null, 2));
    await replaceDir(tmp, dir);
    const state = reason ? 'rebuilt' : 'written';
    options.onEvent?.({ event: 'cache', split: splitName, state, bytes: manifest.bytes, samples: manifest.samples, dir, ...(reason ? { reason } : {}) });
    return { dir, manifestFile: path.join(dir, MANIFEST), manifest, state, reason };
  } catch (e) {
    await fs.promises.rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** Puts `tmp` where `dir` is, the old folder removed only once the new one is in place. */
async function replaceDir(tmp: string, dir: string): Promise<void> {
  const old = temporaryName(dir);
  const had = fs.existsSync(dir);
  if (had) await fs.promises.rename(dir, old);
  await fs.promises.rename(tmp, dir);
  if (had) await fs.promises.rm(old, { recursive: true, force: true });
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

async function writeCache(
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
      const rows = Object.values(feeds)[0].dims[0];
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

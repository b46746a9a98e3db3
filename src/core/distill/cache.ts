// The teacher knowledge cache (docs/distill-formats.md section 1): the teacher runs once over the
// data in onnxruntime-node with the wanted tensors exposed as outputs; inputs, labels and those
// tensors stream batch by batch to .npy files, with a manifest of hashes (model, data,
// preprocessing, tensor list and storage). A cache whose hashes no longer match is rebuilt, with
// the reason said. It is written into a temporary folder and renamed into place when complete.
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { ResolvedDataSplit, ResolvedDistillSpec } from '../../shared/distillSpec';
import { openDataSource } from '../data';
import { shuffledOrder } from '../data/source';
import { readModel } from '../onnx/model';
import { temporaryName } from '../files';
import { CACHE_FORMAT, CACHE_VERSION, CacheError, MANIFEST, teacherTensorsOf, type CacheHashes, type CacheManifest } from './cacheLayout';
import { writeCache, type CacheBuildOptions } from './cacheWriter';
import { readLabels } from './labels';

export {
  CACHE_FORMAT,
  CACHE_VERSION,
  CacheError,
  estimateCacheBytes,
  MANIFEST,
  teacherTensorsOf,
  type CacheArray,
  type CacheEstimate,
  type CacheHashes,
  type CacheManifest,
} from './cacheLayout';
export type { CacheBuildOptions } from './cacheWriter';

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

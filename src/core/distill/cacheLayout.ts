// What a teacher cache holds (docs/distill-formats.md section 1): its manifest's format, the
// tensors a spec needs cached, how each array is stored, and the size the cache will take.
import type { ResolvedDistillSpec } from '../../shared/distillSpec';
import { OnnxCompressError } from '../errors';
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

/** Bytes per element of each stored dtype. */
export const BYTES: Record<string, number> = {
  float32: 4,
  float16: 2,
  float64: 8,
  int64: 8,
  int32: 4,
  uint8: 1,
  int8: 1,
  int16: 2,
  uint16: 2,
  uint32: 4,
  bool: 1,
};
/** Each stored dtype as a .npy header describes it. */
export const DESCR: Record<string, string> = {
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

// Reading a `*.distill.json`: its structure checked against the spec's schema (schemaCheck.ts),
// then every default filled in and every relative path resolved against the spec's folder.
import * as fs from 'fs';
import * as path from 'path';
import {
  DISTILL_DEFAULTS,
  isFactoryStudent,
  type DataSplitSpec,
  type DistillSpec,
  type ResolvedDataSplit,
  type ResolvedDistillSpec,
  type TensorPairSpec,
} from '../../shared/distillSpec';
import { DistillSpecSchema } from '../../shared/distillSpecSchema';
import { OnnxCompressError, errorMessage } from '../errors';
import { checkAgainstSchema, type SpecProblem } from './schemaCheck';

export type { SpecProblem } from './schemaCheck';

export class SpecError extends OnnxCompressError {}

export async function readSpecFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await fs.promises.readFile(file, 'utf8');
  } catch (e) {
    throw new SpecError(`cannot read the spec (${errorMessage(e)}); create one with "ONNX: Set Up Distillation..." or see README (Distill)`, file);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new SpecError(`is not valid JSON (${errorMessage(e)}); fix the syntax (the editor marks it)`, file);
  }
}

/** Structural checks of a parsed spec against its schema; returns the problems (errors make the spec unusable). */
export function checkSpecStructure(raw: unknown): SpecProblem[] {
  return checkAgainstSchema(DistillSpecSchema, raw);
}

function resolvePair(p: TensorPairSpec): TensorPairSpec {
  return { teacher: p.teacher, student: p.student, adapter: p.adapter ?? 'auto' };
}

/**
 * Every setting with its default, paths made absolute against `specDir`. Tensor pairs keep the
 * adapter asked for ('auto' included) and no shapes: validation settles both against the real
 * models. `outputs` fills unset output names (the models' first outputs).
 */
export function resolveSpec(spec: DistillSpec, specDir: string, outputs: { teacher: string; student: string }): ResolvedDistillSpec {
  const D = DISTILL_DEFAULTS;
  const abs = (p: string) => path.resolve(specDir, p);
  // A data source may be `synthetic...`, which is no path.
  const source = (s: string) => (/^synthetic(:|$)/.test(s) ? s : abs(s));
  const split = (s: DataSplitSpec): ResolvedDataSplit => ({
    source: source(s.source),
    labels: s.labels ? abs(s.labels) : null,
    samples: s.samples ?? null,
    shuffleSeed: s.shuffleSeed ?? null,
    imagePreprocess: s.imagePreprocess ?? {},
    augmentation: s.augmentation ?? 'none',
  });
  const unsettled = (p: TensorPairSpec) => ({ ...resolvePair(p), teacherShape: null, studentShape: null, adapter: (p.adapter ?? 'auto') as never });
  // Each kind's settings default from its entry in DISTILL_DEFAULTS (kept in that entry's key order);
  // only the tensor pairs need more than a default.
  const withDefaults = (k: object, defaults: object) => {
    const given = k as Record<string, unknown>;
    return Object.fromEntries(Object.entries(defaults).map(([key, value]) => [key, given[key] ?? value]));
  };
  const knowledge = (spec.knowledge ?? D.knowledge).map((k) => {
    const settings = { type: k.type, ...withDefaults(k, D[k.type]) };
    switch (k.type) {
      case 'response':
        return settings;
      case 'relation':
        return { ...settings, pair: unsettled(k.pair ?? { teacher: outputs.teacher, student: outputs.student, adapter: 'auto' }) };
      default:
        return { ...settings, pairs: k.pairs.map(unsettled) };
    }
  });
  const student: ResolvedDistillSpec['student'] = isFactoryStudent(spec.student)
    ? { kind: 'factory', factory: abs(spec.student.factory), inputNames: spec.student.inputNames ?? [], output: spec.student.output ?? D.studentFactoryOutput }
    : { kind: 'onnx', model: abs(spec.student.model), output: spec.student.output ?? outputs.student };
  const scheme = spec.scheme ?? { kind: D.scheme };
  return {
    description: spec.description ?? '',
    teacher: {
      model: abs(spec.teacher.model),
      output: spec.teacher.output ?? outputs.teacher,
      executionProvider: spec.teacher.executionProvider ?? D.teacherExecutionProvider,
    },
    student,
    data: { train: split(spec.data.train), eval: spec.data.eval ? split(spec.data.eval) : null },
    knowledge: knowledge as ResolvedDistillSpec['knowledge'],
    scheme: {
      ...scheme,
      ...(scheme.kind === 'self' ? { mode: scheme.mode ?? 'snapshot', every: scheme.every ?? D.snapshotEvery } : {}),
      ...(scheme.assistants ? { assistants: scheme.assistants.map((a) => ({ ...a, model: abs(a.model) })) } : {}),
    },
    optimizer: { ...D.optimizer, ...spec.optimizer },
    schedule: { ...D.schedule, ...spec.schedule },
    epochs: spec.epochs ?? D.epochs,
    batchSize: spec.batchSize ?? D.batchSize,
    seed: spec.seed ?? D.seed,
    device: spec.device ?? D.device,
    threads: spec.threads === undefined ? D.threads : spec.threads,
    cache: { dir: abs(spec.cache?.dir ?? D.cacheDir), dtype: spec.cache?.dtype ?? D.cacheDtype, topK: spec.cache?.topK ?? D.topK },
    export: { opset: spec.export?.opset ?? D.opset, dynamicBatch: spec.export?.dynamicBatch ?? D.dynamicBatch },
    evaluation: { latencyRuns: spec.evaluation?.latencyRuns ?? D.latencyRuns },
    baseline: spec.baseline ?? false,
  };
}

/**
 * The spec as the run folder keeps it: the user's text with every path made absolute (and the
 * cache folder made explicit), so that the copy, run from the run folder, reads the same models,
 * data and cache. A spec too broken to read is kept as it was.
 */
export function runCopyOfSpec(raw: unknown, specDir: string): unknown {
  if (typeof raw !== 'object' || raw === null) return raw;
  type Json = Record<string, unknown>;
  const objectAt = (v: unknown): Json | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : undefined);
  const copy = JSON.parse(JSON.stringify(raw)) as Json;
  const abs = (o: Json | undefined, key: string, keep?: (v: string) => boolean) => {
    if (o && typeof o[key] === 'string' && !keep?.(o[key] as string)) o[key] = path.resolve(specDir, o[key] as string);
  };
  delete copy.$schema;
  abs(objectAt(copy.teacher), 'model');
  const student = objectAt(copy.student);
  abs(student, 'model');
  abs(student, 'factory');
  for (const split of ['train', 'eval']) {
    const data = objectAt(objectAt(copy.data)?.[split]);
    abs(data, 'source', (v) => /^synthetic(:|$)/.test(v));
    abs(data, 'labels');
  }
  const assistants = objectAt(copy.scheme)?.assistants;
  for (const a of Array.isArray(assistants) ? assistants : []) abs(objectAt(a), 'model');
  const cache = objectAt(copy.cache) ?? {};
  cache.dir = path.resolve(specDir, typeof cache.dir === 'string' ? cache.dir : DISTILL_DEFAULTS.cacheDir);
  copy.cache = cache;
  return copy;
}

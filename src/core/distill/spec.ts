// Reading a `*.distill.json`: its structure checked field by field (each problem names its JSON
// path and what is expected; unknown keys are reported, never ignored), then every default filled
// in and every relative path resolved against the spec's folder.
import * as fs from 'fs';
import * as path from 'path';
import {
  DISTILL_DEFAULTS, DISTILL_SPEC_FORMAT, DISTILL_SPEC_VERSION, isFactoryStudent,
  type DataSplitSpec, type DistillSpec, type ResolvedDataSplit, type ResolvedDistillSpec, type TensorPairSpec,
} from '../../shared/distillSpec';
import { OnnxCompressError, errorMessage } from '../errors';
import { closest } from './names';

export class SpecError extends OnnxCompressError {}

export interface SpecProblem {
  severity: 'error' | 'warning';
  /** JSON path of the field, e.g. `knowledge[1].pairs[0].teacher` (empty: the whole spec). */
  path: string;
  message: string;
}

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

type Check = (v: unknown, at: string) => boolean;

/** Structural checks of a parsed spec; returns the problems (errors make the spec unusable). */
export function checkSpecStructure(raw: unknown): SpecProblem[] {
  const problems: SpecProblem[] = [];
  const err = (at: string, message: string) => problems.push({ severity: 'error', path: at, message });
  const join = (at: string, key: string | number) => (typeof key === 'number' ? `${at}[${key}]` : at ? `${at}.${key}` : key);
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

  const str: Check = (v, at) => (typeof v === 'string' && v.length > 0) || (err(at, 'must be a non-empty string'), false);
  const num = (min: number, max = Infinity, integer = false): Check => (v, at) =>
    (typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max && (!integer || Number.isInteger(v)))
    || (err(at, `must be ${integer ? 'a whole number' : 'a number'}${min > -Infinity ? ` >= ${min}` : ''}${max < Infinity ? ` and <= ${max}` : ''} (got ${JSON.stringify(v)})`), false);
  const oneOf = (...values: unknown[]): Check => (v, at) =>
    values.includes(v) || (err(at, `must be one of ${values.map((x) => JSON.stringify(x)).join(', ')} (got ${JSON.stringify(v)})`), false);
  const bool: Check = (v, at) => typeof v === 'boolean' || (err(at, 'must be true or false'), false);
  const nullable = (c: Check): Check => (v, at) => v === null || c(v, at);
  const list = (c: Check, minItems = 0): Check => (v, at) => {
    if (!Array.isArray(v)) return err(at, 'must be a list'), false;
    if (v.length < minItems) return err(at, `must list at least ${minItems} item${minItems === 1 ? '' : 's'}`), false;
    return v.map((x, i) => c(x, join(at, i))).every(Boolean);
  };
  const object = (fields: Record<string, Check>, required: string[] = []): Check => (v, at) => {
    if (!isObj(v)) return err(at || '(spec)', 'must be an object'), false;
    let ok = true;
    for (const k of required) if (v[k] === undefined) { err(join(at, k), 'is required'); ok = false; }
    for (const [k, x] of Object.entries(v)) {
      // Own keys only: a key named like an Object.prototype member (valueOf, __proto__) is unknown.
      const c = Object.hasOwn(fields, k) ? fields[k] : undefined;
      if (!c) {
        const near = closest(k, Object.keys(fields));
        err(join(at, k), `is not a known field${near ? ` (did you mean '${near}'?)` : ''}; known: ${Object.keys(fields).join(', ')}`);
        ok = false;
      } else if (x !== undefined && !c(x, join(at, k))) ok = false;
    }
    return ok;
  };

  const pair = object({ teacher: str, student: str, adapter: oneOf('auto', 'none', 'conv1x1', 'linear', 'interpolate', 'pool', 'conv1x1+interpolate') }, ['teacher', 'student']);
  const weight = num(0);
  const knowledgeFields: Record<string, Record<string, Check>> = {
    response: { type: str, weight, temperature: num(Number.MIN_VALUE), alpha: num(0, 1), target: oneOf('soft', 'logits', 'hard') },
    feature: { type: str, weight, similarity: oneOf('mse', 'l1', 'cosine'), pairs: list(pair, 1) },
    attention: { type: str, weight, p: num(1), pairs: list(pair, 1) },
    relation: { type: str, weight, distance: num(0), angle: num(0), pair },
    similarity: { type: str, weight, pairs: list(pair, 1) },
  };
  const knowledge: Check = (v, at) => {
    if (!isObj(v)) return err(at, 'must be an object with a type'), false;
    const fields = typeof v.type === 'string' && Object.hasOwn(knowledgeFields, v.type) ? knowledgeFields[v.type] : undefined;
    if (!fields) return err(join(at, 'type'), `must be one of ${Object.keys(knowledgeFields).map((k) => `"${k}"`).join(', ')} (got ${JSON.stringify(v.type)})`), false;
    return object(fields, v.type === 'response' || v.type === 'relation' ? ['type'] : ['type', 'pairs'])(v, at);
  };
  const preprocess = object({
    width: num(1, Infinity, true), height: num(1, Infinity, true), layout: oneOf('NCHW', 'NHWC'), channels: oneOf('RGB', 'BGR', 'GRAY'),
    mean: list(num(-Infinity)), std: list(num(Number.MIN_VALUE)), scale: num(-Infinity), resize: oneOf('bilinear', 'nearest'),
  });
  const split = object({
    source: str, labels: nullable(str), samples: nullable(num(1, Infinity, true)), shuffleSeed: nullable(num(0, Infinity, true)),
    imagePreprocess: preprocess, augmentation: oneOf('none', 'random'),
  }, ['source']);
  const student: Check = (v, at) => {
    if (!isObj(v)) return err(at, 'must be an object'), false;
    if (typeof v.factory === 'string' || v.model === undefined) {
      if (v.model !== undefined) return err(at, 'give either model (an ONNX student) or factory (file.py:function), not both'), false;
      return object({ factory: str, inputNames: list(str, 1), output: str }, ['factory'])(v, at)
        && (/^.+\.py:[A-Za-z_]\w*$/.test(v.factory as string) || (err(join(at, 'factory'), `must be 'path/to/file.py:function' (got ${JSON.stringify(v.factory)})`), false));
    }
    return object({ model: str, output: str }, ['model'])(v, at);
  };
  const spec = object({
    $schema: str,
    format: oneOf(DISTILL_SPEC_FORMAT),
    version: oneOf(DISTILL_SPEC_VERSION),
    description: (v, at) => typeof v === 'string' || (err(at, 'must be a string'), false),
    teacher: object({ model: str, output: str, executionProvider: str }, ['model']),
    student,
    data: object({ train: split, eval: nullable(split) }, ['train']),
    knowledge: list(knowledge),
    scheme: object({
      kind: oneOf('offline', 'online', 'self', 'assistant'), mode: oneOf('snapshot', 'auxiliary'), every: num(1, Infinity, true),
      pairs: list(pair, 1), assistants: list(object({ model: str, output: str, epochs: num(1, Infinity, true) }, ['model']), 1),
    }, ['kind']),
    optimizer: object({ name: oneOf('adam', 'adamw', 'sgd'), lr: num(Number.MIN_VALUE), weightDecay: num(0), momentum: num(0, 1) }),
    schedule: object({ name: oneOf('constant', 'cosine', 'step'), warmupEpochs: num(0, Infinity, true), stepSize: num(1, Infinity, true), gamma: num(Number.MIN_VALUE) }),
    epochs: num(1, Infinity, true),
    batchSize: num(1, Infinity, true),
    seed: num(0, Infinity, true),
    device: oneOf('cpu', 'cuda', 'auto'),
    threads: nullable(num(1, Infinity, true)),
    cache: object({ dir: str, dtype: oneOf('float32', 'float16'), topK: nullable(num(1, Infinity, true)) }),
    export: object({ opset: num(7, 30, true), dynamicBatch: bool }),
    evaluation: object({ latencyRuns: num(1, Infinity, true) }),
  }, ['format', 'version', 'teacher', 'student', 'data']);
  spec(raw, '');
  return problems;
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
  const knowledge = (spec.knowledge ?? D.knowledge).map((k) => {
    switch (k.type) {
      case 'response': return { type: k.type, weight: k.weight ?? D.response.weight, temperature: k.temperature ?? D.response.temperature, alpha: k.alpha ?? D.response.alpha, target: k.target ?? D.response.target };
      case 'feature': return { type: k.type, weight: k.weight ?? D.feature.weight, similarity: k.similarity ?? D.feature.similarity, pairs: k.pairs.map(unsettled) };
      case 'attention': return { type: k.type, weight: k.weight ?? D.attention.weight, p: k.p ?? D.attention.p, pairs: k.pairs.map(unsettled) };
      case 'relation': return { type: k.type, weight: k.weight ?? D.relation.weight, distance: k.distance ?? D.relation.distance, angle: k.angle ?? D.relation.angle, pair: unsettled(k.pair ?? { teacher: outputs.teacher, student: outputs.student, adapter: 'auto' }) };
      case 'similarity': return { type: k.type, weight: k.weight ?? D.similarity.weight, pairs: k.pairs.map(unsettled) };
    }
  });
  const student: ResolvedDistillSpec['student'] = isFactoryStudent(spec.student)
    ? { kind: 'factory', factory: abs(spec.student.factory), inputNames: spec.student.inputNames ?? [], output: spec.student.output ?? D.studentFactoryOutput }
    : { kind: 'onnx', model: abs(spec.student.model), output: spec.student.output ?? outputs.student };
  const scheme = spec.scheme ?? { kind: D.scheme };
  return {
    description: spec.description ?? '',
    teacher: { model: abs(spec.teacher.model), output: spec.teacher.output ?? outputs.teacher, executionProvider: spec.teacher.executionProvider ?? D.teacherExecutionProvider },
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
  };
}

/**
 * The spec as the run folder keeps it: the user's text with every path made absolute (and the
 * cache folder made explicit), so that the copy, run from the run folder, reads the same models,
 * data and cache. A spec too broken to read is kept as it was.
 */
export function runCopyOfSpec(raw: unknown, specDir: string): unknown {
  if (typeof raw !== 'object' || raw === null) return raw;
  const copy = JSON.parse(JSON.stringify(raw)) as Record<string, any>;
  const abs = (o: Record<string, unknown> | undefined, key: string, keep?: (v: string) => boolean) => {
    if (o && typeof o[key] === 'string' && !(keep?.(o[key] as string))) o[key] = path.resolve(specDir, o[key] as string);
  };
  delete copy.$schema;
  abs(copy.teacher, 'model');
  abs(copy.student, 'model');
  abs(copy.student, 'factory');
  for (const split of ['train', 'eval']) {
    abs(copy.data?.[split], 'source', (v) => /^synthetic(:|$)/.test(v));
    abs(copy.data?.[split], 'labels');
  }
  for (const a of Array.isArray(copy.scheme?.assistants) ? copy.scheme.assistants : []) abs(a, 'model');
  if (typeof copy.cache !== 'object' || copy.cache === null) copy.cache = {};
  copy.cache.dir = path.resolve(specDir, typeof copy.cache.dir === 'string' ? copy.cache.dir : DISTILL_DEFAULTS.cacheDir);
  return copy;
}

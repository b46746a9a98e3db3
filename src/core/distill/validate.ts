// Validation of a `*.distill.json` against the real models and data: structure, files, tensor
// names (with close names suggested), shapes of paired tensors and the adapter each pair gets,
// data fitting the teacher's inputs, labels where a loss or the evaluation needs them, caching
// under augmentation. The result also carries both models' tensors and proposed pairs, which the
// setup wizard lists.
import * as fs from 'fs';
import * as path from 'path';
import type { DistillSpec, ResolvedDistillSpec, ResolvedPair, TensorPairSpec } from '../../shared/distillSpec';
import { openDataSource, type DataSource } from '../data';
import { readModel, type OnnxModel } from '../onnx/model';
import { errorMessage } from '../errors';
import { readLabels, maxLabel } from './labels';
import { closeNames } from './names';
import { checkSpecStructure, readSpecFile, resolveSpec, SpecError, type SpecProblem } from './spec';
import { chooseAdapter, graphInputs, jobShape, listTensors, proposePairs, sampleDims, type ProposedPair, type TensorInfo } from './tensors';

export type { SpecProblem } from './spec';
export type { ProposedPair } from './tensors';

/** The adapter validation settled for one tensor pair. */
export interface PlannedAdapter {
  /** e.g. `knowledge[1].pairs[0]` */
  path: string;
  teacher: string;
  student: string;
  teacherShape: (number | null)[] | null;
  studentShape: (number | null)[] | null;
  adapter: string;
  reason: string;
}

export interface SplitCheck {
  split: 'train' | 'eval';
  /** The data layer's description of what feeds each input. */
  describe: string;
  /** Samples that will be used (after the limit). */
  samples: number;
  labels: string | null;
  classes: number | null;
}

export interface SpecValidation {
  file: string;
  /** Null when the structure is too broken to resolve. */
  spec: ResolvedDistillSpec | null;
  problems: SpecProblem[];
  adapters: PlannedAdapter[];
  pairsProposed: ProposedPair[];
  teacherTensors: TensorInfo[];
  studentTensors: TensorInfo[];
  data: SplitCheck[];
  /** No errors: the spec can run. */
  ok: boolean;
}

export interface ValidateOptions {
  /** Stop after the structure and file checks (no model loading); the editor's quick check. */
  structureOnly?: boolean;
  /** Train the labels-only baseline whatever the spec says (`--baseline`). */
  baseline?: boolean;
}

const hasErrors = (p: SpecProblem[]) => p.some((x) => x.severity === 'error');

/** Validates the spec file; never throws for a bad spec (problems say what is wrong), only for an unreadable file. */
export async function validateSpec(file: string, options: ValidateOptions = {}): Promise<SpecValidation> {
  const abs = path.resolve(file);
  const raw = await readSpecFile(abs);
  const problems = checkSpecStructure(raw);
  const result: SpecValidation = {
    file: abs,
    spec: null,
    problems,
    adapters: [],
    pairsProposed: [],
    teacherTensors: [],
    studentTensors: [],
    data: [],
    ok: false,
  };
  if (hasErrors(problems)) return result;
  const spec = { ...(raw as DistillSpec), ...(options.baseline ? { baseline: true } : {}) };
  const dir = path.dirname(abs);
  const err = (at: string, message: string) => problems.push({ severity: 'error', path: at, message });
  const warn = (at: string, message: string) => problems.push({ severity: 'warning', path: at, message });

  const load = async (p: string, at: string): Promise<OnnxModel | null> => {
    try {
      return await readModel(path.resolve(dir, p));
    } catch (e) {
      err(at, `${errorMessage(e)}; give the path of an .onnx file (relative to the spec's folder)`);
      return null;
    }
  };
  const teacher = await load(spec.teacher.model, 'teacher.model');
  const student = 'model' in spec.student ? await load(spec.student.model, 'student.model') : null;
  if ('factory' in spec.student) {
    const [pyFile, fn] = splitFactory(path.resolve(dir, spec.student.factory));
    if (!fs.existsSync(pyFile)) err('student.factory', `no such file ${pyFile}; give 'path/to/file.py:function' relative to the spec's folder`);
    else if (!new RegExp(`^def\\s+${fn}\\s*\\(`, 'm').test(await fs.promises.readFile(pyFile, 'utf8')))
      err('student.factory', `${pyFile} defines no function '${fn}' (no 'def ${fn}(' at the start of a line)`);
  }
  for (const [i, a] of (spec.scheme?.assistants ?? []).entries()) await load(a.model, `scheme.assistants[${i}].model`);
  const teacherOut = spec.teacher.output ?? defaultLogits(teacher, 'teacher', warn);
  const studentOut = 'model' in spec.student ? (spec.student.output ?? defaultLogits(student, 'student', warn)) : (spec.student.output ?? 'logits');
  const resolved = resolveSpec(spec, dir, { teacher: teacherOut, student: studentOut });
  result.spec = resolved;
  if (options.structureOnly || !teacher) return finish(result);

  result.teacherTensors = await listTensors(teacher);
  if (student) result.studentTensors = await listTensors(student);
  const tNames = result.teacherTensors.map((t) => t.name);
  const sNames = result.studentTensors.map((t) => t.name);
  const find = (list: TensorInfo[], name: string) => list.find((t) => t.name === name);
  const missing = (names: string[], name: string, at: string, model: string) => {
    const near = closeNames(name, names);
    err(
      at,
      `the ${model} has no tensor '${name}'${near.length ? `; close names: ${near.map((n) => `'${n}'`).join(', ')}` : ''} (list them with --validate-only --json or in the wizard)`,
    );
  };

  // Outputs: logits, not probabilities (softmax(zT/T) of probabilities is not what KD means).
  for (const [side, m, name] of [
    ['teacher', teacher, resolved.teacher.output],
    ['student', student, resolved.student.output],
  ] as const) {
    const producer = m?.proto.graph!.node.find((n) => n.output.includes(name));
    if (producer && SOFTMAX_OPS.has(producer.op_type ?? '')) {
      warn(
        `${side}.output`,
        `'${name}' is the output of ${producer.op_type} (probabilities, not logits); distillation softens logits: set ${side}.output to its input '${producer.input[0]}'`,
      );
    }
  }
  if (!find(result.teacherTensors, resolved.teacher.output)) missing(tNames, resolved.teacher.output, 'teacher.output', 'teacher');
  if (student && resolved.student.kind === 'onnx' && !find(result.studentTensors, resolved.student.output))
    missing(sNames, resolved.student.output, 'student.output', 'student');
  const tOut = find(result.teacherTensors, resolved.teacher.output);
  const sOut = resolved.student.kind === 'onnx' ? find(result.studentTensors, resolved.student.output) : undefined;
  const classes = sampleDims(tOut?.shape ?? null);
  if (tOut && sOut && sampleDims(sOut.shape) && classes && sampleDims(sOut.shape)!.join() !== classes.join()) {
    err(
      'student.output',
      `the student's output ${shapeText(sOut.shape)} does not match the teacher's ${shapeText(tOut.shape)}; response knowledge compares logits of the same classes`,
    );
  }

  // Pairs: names, shapes, adapters.
  const settle = (
    pair: TensorPairSpec,
    at: string,
    kind: 'feature' | 'attention' | 'any',
    studentList: TensorInfo[],
    studentLabel = 'student',
  ): ResolvedPair => {
    // Self-distillation: a snapshot of the student plays the teacher, so both sides name student tensors.
    const selfTeacher = resolved.scheme.kind === 'self';
    const t = find(selfTeacher ? result.studentTensors : result.teacherTensors, pair.teacher);
    const s = find(studentList, pair.student);
    if (!t)
      missing(selfTeacher ? sNames : tNames, pair.teacher, `${at}.teacher`, selfTeacher ? 'student (its snapshot teaches in the self scheme)' : 'teacher');
    if (!s && (student || studentList !== result.studentTensors))
      missing(
        studentList.map((x) => x.name),
        pair.student,
        `${at}.student`,
        studentLabel,
      );
    const out: ResolvedPair = {
      teacher: pair.teacher,
      student: pair.student,
      teacherShape: jobShape(t?.shape ?? null),
      studentShape: jobShape(s?.shape ?? null),
      adapter: 'none',
    };
    if (!t || !s) {
      if (!student && resolved.student.kind === 'factory') {
        out.adapter = pair.adapter && pair.adapter !== 'auto' ? pair.adapter : 'none';
        warn(`${at}.student`, `a PyTorch student's tensors are known only to the trainer: '${pair.student}' is checked when training starts`);
      }
      return out;
    }
    const wanted = pair.adapter ?? 'auto';
    if (kind === 'any') {
      out.adapter = 'none';
    } else {
      const choice = chooseAdapter(t.shape, s.shape, kind);
      if (!choice.adapter) {
        err(at, `'${pair.teacher}' ${shapeText(t.shape)} and '${pair.student}' ${shapeText(s.shape)} cannot be compared: ${choice.reason}`);
      } else if (wanted !== 'auto' && wanted !== choice.adapter && !(wanted === 'pool' && choice.adapter === 'interpolate')) {
        err(
          `${at}.adapter`,
          `'${wanted}' does not fit '${pair.teacher}' ${shapeText(t.shape)} vs '${pair.student}' ${shapeText(s.shape)}: ${choice.reason}; use "${choice.adapter}" or "auto"`,
        );
      } else {
        out.adapter = wanted === 'auto' ? choice.adapter : wanted;
        result.adapters.push({
          path: at,
          teacher: pair.teacher,
          student: pair.student,
          teacherShape: out.teacherShape,
          studentShape: out.studentShape,
          adapter: out.adapter,
          reason: choice.reason,
        });
      }
    }
    return out;
  };
  resolved.knowledge = resolved.knowledge.map((k, i) => {
    const at = `knowledge[${i}]`;
    switch (k.type) {
      case 'feature':
        return { ...k, pairs: k.pairs.map((p, j) => settle(p, `${at}.pairs[${j}]`, 'feature', result.studentTensors)) };
      case 'attention':
        return { ...k, pairs: k.pairs.map((p, j) => settle(p, `${at}.pairs[${j}]`, 'attention', result.studentTensors)) };
      case 'similarity':
        return { ...k, pairs: k.pairs.map((p, j) => settle(p, `${at}.pairs[${j}]`, 'any', result.studentTensors)) };
      case 'relation':
        return { ...k, pair: settle(k.pair, `${at}.pair`, 'any', result.studentTensors) };
      default:
        return k;
    }
  });
  if (resolved.scheme.kind === 'self' && resolved.scheme.mode === 'auxiliary') {
    if (!resolved.scheme.pairs?.length) err('scheme.pairs', 'the self scheme in auxiliary mode needs pairs of (deep -> shallow) student tensors');
    // Both sides are the student's own tensors (deep -> shallow); the adapter is settled as for feature pairs.
    resolved.scheme.pairs = (resolved.scheme.pairs ?? []).map((p, j) => {
      const at = `scheme.pairs[${j}]`;
      const deep = find(result.studentTensors, p.teacher);
      const shallow = find(result.studentTensors, p.student);
      for (const [side, t] of [
        ['teacher', deep],
        ['student', shallow],
      ] as const)
        if (student && !t) missing(sNames, p[side], `${at}.${side}`, 'student');
      const out: ResolvedPair = {
        teacher: p.teacher,
        student: p.student,
        teacherShape: jobShape(deep?.shape ?? null),
        studentShape: jobShape(shallow?.shape ?? null),
        adapter: p.adapter && p.adapter !== 'auto' ? p.adapter : 'none',
      };
      // The output as the deep side gets an auxiliary head (pooling + linear) in the trainer, whatever the shapes.
      if (deep && shallow && p.teacher !== resolved.student.output && (p.adapter ?? 'auto') === 'auto') {
        const choice = chooseAdapter(deep.shape, shallow.shape);
        if (!choice.adapter) err(at, `'${p.teacher}' and '${p.student}' cannot be compared: ${choice.reason}`);
        else {
          out.adapter = choice.adapter;
          result.adapters.push({
            path: at,
            teacher: p.teacher,
            student: p.student,
            teacherShape: out.teacherShape,
            studentShape: out.studentShape,
            adapter: out.adapter,
            reason: choice.reason,
          });
        }
      }
      return out;
    });
  }
  result.pairsProposed = student ? proposePairs(result.teacherTensors, result.studentTensors) : [];

  // Scheme.
  if (resolved.knowledge.length === 0) err('knowledge', 'lists no knowledge; add at least { "type": "response" }');
  if (resolved.scheme.kind === 'assistant' && !resolved.scheme.assistants?.length)
    err('scheme.assistants', 'a teacher-assistant chain needs at least one assistant model');
  if (resolved.scheme.kind !== 'assistant' && resolved.scheme.assistants?.length)
    err('scheme.assistants', `assistants are used by the "assistant" scheme only (this spec's scheme is "${resolved.scheme.kind}")`);
  const response = resolved.knowledge.find((k) => k.type === 'response');
  if (resolved.cache.topK !== null) {
    if (response?.type === 'response' && response.target === 'logits')
      err('cache.topK', 'top-k storage keeps only the k largest logits; the "logits" target (MSE) needs all of them: remove topK or use target "soft"');
    if (classes && resolved.cache.topK >= classes[classes.length - 1])
      warn('cache.topK', `topK ${resolved.cache.topK} keeps every one of the ${classes[classes.length - 1]} logits; it saves nothing`);
  }
  for (const k of resolved.knowledge) {
    if (k.type === 'relation' && k.angle > 0 && resolved.batchSize > 256)
      warn(`knowledge`, `the RKD angle term costs B^2 x D per batch; batchSize ${resolved.batchSize} makes it slow (try <= 128)`);
  }

  // Data and labels. The student reads the teacher's data: same number of inputs.
  if (student) {
    const [tIn, sIn] = [graphInputs(teacher), graphInputs(student)];
    if (sIn.length !== tIn.length)
      err(
        'student.model',
        `the student has ${sIn.length} inputs (${sIn.join(', ')}) and the teacher ${tIn.length} (${tIn.join(', ')}); both must read the same data`,
      );
    else if (sIn.some((n, i) => n !== tIn[i]))
      warn(
        'student.model',
        `input names differ (teacher ${tIn.join(', ')}; student ${sIn.join(', ')}): the student is fed by position (its trainable graph takes the teacher's names)`,
      );
  }
  const needLabels = response?.type === 'response' && response.alpha > 0;
  for (const split of ['train', 'eval'] as const) {
    const s = resolved.data[split];
    if (!s) continue;
    const at = `data.${split}`;
    let source: DataSource | undefined;
    try {
      source = await openDataSource(s.source, teacher, { imagePreprocess: s.imagePreprocess as never });
    } catch (e) {
      err(`${at}.source`, `${errorMessage(e)}`);
    }
    const total = source?.samples ?? 0;
    const used = s.samples === null ? total : Math.min(total, s.samples);
    if (source && s.samples !== null && s.samples > total)
      warn(`${at}.samples`, `asks for ${s.samples} samples but the data holds ${total}; all ${total} are used`);
    let labelCount: number | null = null;
    let maxClass: number | null = null;
    if (s.labels) {
      try {
        const labels = await readLabels(s.labels);
        labelCount = labels.values.length;
        maxClass = maxLabel(labels);
        if (source && labelCount !== total)
          err(`${at}.labels`, `holds ${labelCount} labels but the data holds ${total} samples; labels must be one per sample, in the data's order`);
        const nClasses = classes?.[classes.length - 1];
        if (nClasses && maxClass >= nClasses)
          err(`${at}.labels`, `has class ${maxClass} but the teacher's output '${resolved.teacher.output}' has ${nClasses} classes`);
      } catch (e) {
        err(`${at}.labels`, errorMessage(e));
      }
    } else if (split === 'train' && resolved.baseline) {
      err(
        `${at}.labels`,
        'the labels-only baseline (baseline: true, or --baseline) trains on labels, and there are none: give data.train.labels, or drop the baseline',
      );
    } else if (split === 'train' && needLabels) {
      err(
        `${at}.labels`,
        `the response term's CE part (alpha ${response!.type === 'response' ? response!.alpha : ''} > 0) trains on labels, and there are none: give data.train.labels, or set alpha to 0 (pure distillation)`,
      );
    } else if (split === 'eval') {
      warn(`${at}.labels`, "no labels: the student's accuracy cannot be measured (agreement with the teacher still is)");
    }
    if (source) result.data.push({ split, describe: source.describe(), samples: used, labels: s.labels, classes: maxClass === null ? null : maxClass + 1 });
    if (s.augmentation === 'random') {
      if (resolved.scheme.kind === 'offline' || resolved.scheme.kind === 'assistant') {
        err(
          `${at}.augmentation`,
          `random augmentation makes the cached teacher knowledge wrong for every augmented sample; the offline scheme caches it. Use augmentation "none", or a scheme that runs the teacher live ("online")`,
        );
      } else {
        err(`${at}.augmentation`, 'the trainer applies no augmentation yet; set augmentation to "none"');
      }
    }
  }
  if (!resolved.data.eval)
    warn('data.eval', 'no evaluation data: the student is verified on a slice of the training data (accuracy there says little about generalization)');
  return finish(result);
}

const SOFTMAX_OPS = new Set(['Softmax', 'LogSoftmax']);

/**
 * The logits of a model when the spec names none: its first output, or, when a Softmax makes that
 * output, the Softmax's input (said in a warning).
 */
function defaultLogits(m: OnnxModel | null, side: string, warn: (at: string, message: string) => void): string {
  const graph = m?.proto.graph;
  const first = graph?.output[0]?.name ?? 'logits';
  const producer = graph?.node.find((n) => n.output.includes(first));
  if (producer && SOFTMAX_OPS.has(producer.op_type ?? '') && producer.input[0]) {
    warn(`${side}.output`, `not set: the first output '${first}' comes from ${producer.op_type}, so its input '${producer.input[0]}' (the logits) is used`);
    return producer.input[0];
  }
  return first;
}

function finish(result: SpecValidation): SpecValidation {
  result.ok = !hasErrors(result.problems);
  return result;
}

export function splitFactory(factory: string): [string, string] {
  const k = factory.lastIndexOf(':');
  return [factory.slice(0, k), factory.slice(k + 1)];
}

function shapeText(shape: readonly unknown[] | null): string {
  return shape ? `[${shape.map((d) => (d === null ? '?' : String(d))).join(',')}]` : '[?]';
}

/** A validation's problems as lines `path: message` (errors first). */
export function problemLines(v: SpecValidation): string[] {
  return [...v.problems]
    .sort((a, b) => (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1))
    .map((p) => `${p.severity}: ${p.path ? `${p.path}: ` : ''}${p.message}`);
}

/** Throws a SpecError listing the errors when the validation failed. */
export function assertValid(v: SpecValidation): ResolvedDistillSpec {
  if (v.ok && v.spec) return v.spec;
  const errors = v.problems.filter((p) => p.severity === 'error');
  throw new SpecError(
    `the spec has ${errors.length} problem${errors.length === 1 ? '' : 's'}:\n  ${problemLines(v)
      .filter((l) => l.startsWith('error'))
      .join('\n  ')}`,
    v.file,
  );
}

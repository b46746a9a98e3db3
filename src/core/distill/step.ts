// One step of a distillation run: the trainable graphs, the job, the trainer's check, the teacher
// cache, training, the student back to ONNX and its verification in onnxruntime-node. A
// teacher-assistant chain is several such steps, each a plain offline run.
import * as fs from 'fs';
import * as path from 'path';
import { RUN_LAYOUT, type CacheReport, type DistillRunReport, type StudentVerification } from '../../shared/distillRun';
import type { ResolvedDistillSpec } from '../../shared/distillSpec';
import { readModel } from '../onnx/model';
import { buildTeacherCache, estimateCacheBytes, MANIFEST, type CacheResult } from './cache';
import type { PythonProbe } from './python';
import { lastCheckpoint, type RunFolder } from './runFolder';
import { graphInputs } from './tensors';
import { checkJob, RunFailure, train, type TrainOptions } from './trainer';
import { exportTrainableGraph, writeTrainedWeights } from './trainableGraph';
import type { SpecValidation } from './validate';
import { verifyStudent } from './verify';

export interface StepOptions extends TrainOptions {
  /** Resume from the step folder's last checkpoint. */
  resume?: string;
}

export interface ChainStep {
  spec: ResolvedDistillSpec;
  studentLabel: string;
}

/** One step, or for the assistant scheme teacher -> assistant(s) -> student, each step a plain offline run. */
export function chainSteps(settings: ResolvedDistillSpec): ChainStep[] {
  if (settings.scheme.kind !== 'assistant')
    return [{ spec: settings, studentLabel: settings.student.kind === 'onnx' ? settings.student.model : settings.student.factory }];
  const assistants = settings.scheme.assistants ?? [];
  // Pair knowledge names tensors of the teacher and the final student only: chain steps keep the
  // terms that compare logits.
  const logitTerms = settings.knowledge.filter((k) => k.type === 'response');
  const steps: ChainStep[] = assistants.map((a, i) => ({
    studentLabel: a.model,
    spec: {
      ...settings,
      knowledge: logitTerms,
      scheme: { kind: 'offline' },
      student: { kind: 'onnx', model: a.model, output: a.output ?? 'logits' },
      epochs: a.epochs ?? settings.epochs,
      cache: { ...settings.cache, dir: path.join(settings.cache.dir, `chain-${i + 1}`) },
      teacher: { ...settings.teacher },
    },
  }));
  steps.push({
    studentLabel: settings.student.kind === 'onnx' ? settings.student.model : settings.student.factory,
    spec: {
      ...settings,
      knowledge: logitTerms,
      scheme: { kind: 'offline' },
      cache: { ...settings.cache, dir: path.join(settings.cache.dir, `chain-${assistants.length + 1}`) },
      teacher: { ...settings.teacher },
    },
  });
  return steps;
}

export interface StepResult {
  student: string;
  verification: StudentVerification | null;
}

export async function runStep(
  run: RunFolder,
  spec: ResolvedDistillSpec,
  dir: string,
  validation: SpecValidation,
  probe: PythonProbe,
  report: DistillRunReport,
  options: StepOptions,
  chain: { index: number; count: number } | undefined,
  verifyTeacher: ResolvedDistillSpec['teacher'],
): Promise<StepResult> {
  const chainInfo = chain ? { chainStep: chain.index, chainSteps: chain.count } : {};
  await fs.promises.mkdir(path.join(dir, RUN_LAYOUT.checkpoints), { recursive: true });
  // The student (and an online teacher) as trainable graphs.
  run.emit({
    event: 'phase',
    phase: 'export-graph',
    ...chainInfo,
    message: spec.student.kind === 'onnx' ? `writing the trainable graph of ${spec.student.model}` : `the PyTorch student ${spec.student.factory}`,
  });
  let studentJob: Record<string, unknown>;
  if (spec.student.kind === 'onnx') {
    // The cache holds inputs under the teacher's names; a student whose inputs are named otherwise
    // gets them renamed (by position) in its trainable graph only.
    const [teacherInputs, studentInputs] = [graphInputs(await readModel(spec.teacher.model)), graphInputs(await readModel(spec.student.model))];
    const renameInputs = Object.fromEntries(studentInputs.map((n, i) => [n, teacherInputs[i]]).filter(([a, b]) => b !== undefined && a !== b));
    const g = await exportTrainableGraph(spec.student.model, path.join(dir, RUN_LAYOUT.studentGraph), { renameInputs });
    if (g.unsupported.length)
      throw new RunFailure(`the student has nodes the trainer cannot run: ${g.unsupported.map((u) => `${u.node} (${u.opType}): ${u.reason}`).join('; ')}`);
    studentJob = { kind: 'onnx', graph: g.graphFile, output: spec.student.output };
  } else {
    studentJob = {
      kind: 'factory',
      factory: spec.student.factory,
      inputNames: spec.student.inputNames.length ? spec.student.inputNames : validation.teacherTensors.filter((t) => t.kind === 'input').map((t) => t.name),
      output: spec.student.output,
    };
  }
  let teacherJob: Record<string, unknown> | null = null;
  if (spec.scheme.kind === 'online') {
    const g = await exportTrainableGraph(spec.teacher.model, path.join(dir, RUN_LAYOUT.teacherGraph));
    teacherJob = { kind: 'onnx', graph: g.graphFile, output: spec.teacher.output };
  }
  const weightsDir = path.join(dir, RUN_LAYOUT.studentWeights);
  const studentFile = path.join(dir, RUN_LAYOUT.student);
  const resume = options.resume ? lastCheckpoint(dir) : null;
  if (options.resume && !resume) run.log(`no checkpoint in ${path.join(dir, RUN_LAYOUT.checkpoints)}: starting from the beginning`);
  report.resumedFrom = resume;
  const job = {
    format: 'onnx-compress/distill-job',
    version: 1,
    runDir: dir,
    train: { manifest: path.join(spec.cache.dir, 'train', MANIFEST) },
    eval: spec.data.eval ? { manifest: path.join(spec.cache.dir, 'eval', MANIFEST) } : null,
    student: studentJob,
    teacher: teacherJob,
    teacherOutput: spec.teacher.output,
    assistants: [],
    knowledge: spec.knowledge,
    scheme: spec.scheme,
    optimizer: spec.optimizer,
    schedule: spec.schedule,
    epochs: spec.epochs,
    batchSize: spec.batchSize,
    seed: spec.seed,
    device: spec.device,
    threads: spec.threads,
    resume,
    export: { weightsDir, onnx: studentFile, opset: spec.export.opset, dynamicBatch: spec.export.dynamicBatch },
  };
  const jobFile = path.join(dir, RUN_LAYOUT.job);
  await fs.promises.writeFile(jobFile, JSON.stringify(job, null, 2));

  // Before the (possibly long) cache: the trainer builds the student and lists what it cannot run
  // or which tensor names it does not know (a PyTorch student's names are checked only here).
  await checkJob(run, probe.python, jobFile, dir);

  // The cache: its size first, then written (or reused).
  run.emit({ event: 'phase', phase: 'cache', ...chainInfo, message: `teacher knowledge cache in ${spec.cache.dir}` });
  if (!chain || chain.index === 1) {
    for (const e of estimateCacheBytes(
      spec,
      validation.teacherTensors,
      validation.data.map((d) => ({ split: d.split, samples: d.samples, labels: d.labels !== null })),
    )) {
      // Unknown shapes (symbolic image sizes): the cache announces its size after the teacher's first batch.
      if (e.bytes !== null)
        run.emit({ event: 'cache', split: e.split, state: 'estimate', bytes: e.bytes, samples: e.samples, dir: path.join(spec.cache.dir, e.split) });
      run.log(
        `cache ${e.split}: ${e.samples} samples, about ${e.bytes === null ? '? (a shape is unknown)' : `${(e.bytes / 2 ** 20).toFixed(1)} MiB`} (${e.parts.map((p) => `${p.what} ${p.bytes === null ? '?' : p.bytes}`).join(', ')})`,
      );
    }
  }
  const caches: Partial<Record<'train' | 'eval', CacheResult>> = {};
  for (const split of ['train', 'eval'] as const) {
    if (!spec.data[split]) continue;
    const c = await buildTeacherCache(spec, split, { signal: options.signal, onEvent: (e) => (e.state === 'progress' ? run.emitQuiet(e) : run.emit(e)) });
    caches[split] = c;
    const state = c.state === 'rebuilt' ? `rebuilt: ${c.reason}` : c.state;
    report.caches.push({ split, dir: c.dir, bytes: c.manifest.bytes, samples: c.manifest.samples, state } as CacheReport);
    run.log(`cache ${split}: ${state} (${c.manifest.samples} samples, ${c.manifest.bytes} bytes) in ${c.dir}`);
  }

  // Training.
  run.emit({ event: 'phase', phase: 'train', ...chainInfo, message: `training with ${probe.python} (torch ${probe.torch})` });
  const exported = await train(run, probe.python, jobFile, dir, report, options);

  // The student back to ONNX.
  run.emit({ event: 'phase', phase: 'write-student', ...chainInfo, message: `writing ${studentFile}` });
  if (spec.student.kind === 'onnx') {
    const w = await writeTrainedWeights(spec.student.model, weightsDir, studentFile);
    run.log(
      `student: ${w.replaced.length} trained initializers written into the graph of ${spec.student.model}${w.unchanged.length ? `; unchanged: ${w.unchanged.join(', ')}` : ''}`,
    );
  } else if (!exported.onnx || !fs.existsSync(exported.onnx)) {
    throw new RunFailure('the trainer exported no ONNX student (no "exported" event of kind onnx)');
  } else if (path.resolve(exported.onnx) !== studentFile) {
    await fs.promises.copyFile(exported.onnx, studentFile);
  }

  // Verification.
  run.emit({ event: 'phase', phase: 'verify', ...chainInfo, message: 'verifying the student in onnxruntime-node' });
  const verifySplit = spec.data.eval ?? { ...spec.data.train, samples: Math.min(spec.data.train.samples ?? 2000, 2000) };
  const verifyCache = caches.eval ?? null;
  const verification = await verifyStudent(studentFile, {
    teacherFile: verifyTeacher.model,
    teacherOutput: verifyTeacher.output,
    studentOutput: spec.student.output,
    split: verifySplit,
    labelsFile: verifyCache?.manifest.labels
      ? path.join(verifyCache.dir, verifyCache.manifest.labels.file)
      : spec.data.eval
        ? null
        : trainLabelsFile(caches.train!),
    executionProvider: spec.teacher.executionProvider,
    latencyRuns: spec.evaluation.latencyRuns,
    signal: options.signal,
  });
  run.emit({ event: 'verify', verification });
  return { student: studentFile, verification };
}

function trainLabelsFile(c: CacheResult): string | null {
  return c.manifest.labels ? path.join(c.dir, c.manifest.labels.file) : null;
}

// Distill, then verify: a distillation run start to end. The run folder (spec copy, job, log,
// metrics.jsonl, checkpoints, student, report), validation, the Python probe, then each step
// (teacher cache, trainer, student back to ONNX, verified in onnxruntime-node; a teacher-assistant
// chain runs its steps in `steps/`), and report.json. Whatever happens, the folder keeps what was
// done and the report says how it ended.
import * as fs from 'fs';
import * as path from 'path';
import { RUN_LAYOUT, type DistillRunReport } from '../../shared/distillRun';
import { KNOWLEDGE_FORMULAS } from '../../shared/distillSpec';
import { errorMessage } from '../errors';
import { probePython, PYTHON_ENV } from '../distill/python';
import { newRunDir, RunFolder, type RunListeners } from '../distill/runFolder';
import { readSpecFile, runCopyOfSpec } from '../distill/spec';
import { chainSteps, runStep, type StepOptions, type StepResult } from '../distill/step';
import { runBaseline } from '../distill/baseline';
import { CancelledRun, RunFailure } from '../distill/trainer';
import { problemLines, validateSpec } from '../distill/validate';

export interface DistillOptions extends RunListeners, StepOptions {
  /** The run folder (default `<spec folder>/distill-runs/<spec name>-<time>`). */
  runDir?: string;
  /** Resume the run in this folder from its last checkpoint. */
  resume?: string;
  /** Also train the labels-only baseline (as the spec's `baseline: true`). */
  baseline?: boolean;
}

/** Runs (or resumes) the distillation described by `specFile`; resolves with the report (status completed, cancelled or failed). */
export async function distillAndVerify(specFile: string, options: DistillOptions = {}): Promise<DistillRunReport> {
  const spec = path.resolve(specFile);
  const runDir = path.resolve(options.resume ?? options.runDir ?? newRunDir(spec));
  if (options.resume && !fs.existsSync(path.join(runDir, RUN_LAYOUT.job))) {
    throw new Error(`${runDir}: not a run folder that can be resumed (no ${RUN_LAYOUT.job}); give the folder of an earlier run`);
  }
  await fs.promises.mkdir(path.join(runDir, RUN_LAYOUT.checkpoints), { recursive: true });
  const run = new RunFolder(runDir, options);
  // The copy reads the same files from the run folder (paths made absolute); on resume the copy made first stays.
  const copyFile = path.join(runDir, RUN_LAYOUT.spec);
  if (!options.resume || !fs.existsSync(copyFile)) {
    const raw = await readSpecFile(spec).catch(() => undefined);
    if (raw === undefined) await fs.promises.copyFile(spec, copyFile).catch(() => undefined);
    else {
      const copy = runCopyOfSpec(raw, path.dirname(spec));
      // The copy says what ran: a baseline asked for on the command line is written into it.
      await fs.promises.writeFile(copyFile, `${JSON.stringify(options.baseline ? { ...(copy as object), baseline: true } : copy, null, 2)}\n`);
    }
  }
  const report = run.report(spec);
  try {
    run.emit({ event: 'phase', phase: 'validate', message: `validating ${spec}` });
    const validation = await validateSpec(spec, { baseline: options.baseline });
    for (const line of problemLines(validation)) run.log(line);
    if (!validation.ok || !validation.spec)
      throw new RunFailure(
        `the spec has problems:\n  ${problemLines(validation)
          .filter((l) => l.startsWith('error'))
          .join('\n  ')}`,
      );
    const settings = validation.spec;
    report.settings = settings;
    report.knowledgeTypes = settings.knowledge.map((k) => k.type);
    report.losses = Object.fromEntries(settings.knowledge.map((k) => [k.type, KNOWLEDGE_FORMULAS[k.type]]));
    report.warnings.push(...validation.problems.filter((p) => p.severity === 'warning').map((p) => `${p.path}: ${p.message}`));

    const probe = await probePython(options.python, { needCuda: settings.device === 'cuda', signal: options.signal });
    run.log(probe.message);
    // Naming both: the user may expect python3 on PATH (a venv, pyenv) to run the trainer.
    if (probe.fallbackFrom)
      run.warn(report, {
        event: 'warning',
        message: `${probe.fallbackFrom}; the trainer runs with ${probe.python} (torch ${probe.torch})`,
        hint: `to choose the interpreter, set onnxCompress.distill.pythonPath, --python or ${PYTHON_ENV}`,
      });
    report.trainer.python = probe.python;
    report.trainer.torch = probe.torch;
    if (!probe.ok) throw new RunFailure(probe.message);

    const steps = chainSteps(settings);
    let result: StepResult | undefined;
    for (const [i, step] of steps.entries()) {
      // The last step (the student) runs in the run folder itself; assistants in steps/.
      const last = i === steps.length - 1;
      const stepDir = last ? runDir : path.join(runDir, RUN_LAYOUT.steps, `${i + 1}-${path.basename(step.studentLabel).replace(/\.onnx$/, '')}`);
      const done = path.join(stepDir, RUN_LAYOUT.student);
      if (options.resume && !last && fs.existsSync(done)) {
        run.log(`step ${i + 1}: ${done} exists from the earlier run; kept`);
        result = { student: done, verification: null };
      } else {
        // Every step's student is verified against the spec's teacher: that is the comparison that matters.
        result = await runStep(
          run,
          step.spec,
          stepDir,
          validation,
          probe,
          report,
          options,
          steps.length > 1 ? { index: i + 1, count: steps.length } : undefined,
          settings.teacher,
        );
      }
      if (steps.length > 1 && i < steps.length - 1) {
        report.chain.push({ step: i + 1, model: step.studentLabel, student: result.student, status: 'completed' });
        // The trained assistant teaches the next step.
        steps[i + 1].spec.teacher = { ...steps[i + 1].spec.teacher, model: result.student, output: step.spec.student.output };
      }
    }
    report.paths.student = result!.student;
    report.verification = result!.verification;
    if (settings.baseline) report.baseline = await runBaseline(run, report, settings, validation, probe, options);
    report.status = 'completed';
    run.emit({ event: 'phase', phase: 'done', message: `done: ${result!.student}` });
  } catch (e) {
    const cancelled = options.signal?.aborted || (e as Error).name === 'AbortError' || e instanceof CancelledRun;
    report.status = cancelled ? 'cancelled' : 'failed';
    report.message = cancelled ? `cancelled${report.checkpoint ? `; resume from ${report.checkpoint} with --resume ${runDir}` : ''}` : errorMessage(e);
    run.log(`${report.status}: ${report.message}`);
  } finally {
    report.finished = new Date().toISOString();
    await run.writeReport(report);
    await run.close();
  }
  return report;
}

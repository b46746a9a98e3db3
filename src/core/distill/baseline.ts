// Did distillation pay off? The same student trained on the labels alone (cross-entropy, the
// response term with a = 1), with the run's data, schedule, epochs and seed, in the run's
// `baseline/` folder. Its evaluation accuracy per epoch and its verified accuracy are set next to
// the distilled student's: a KD run that loses to labels-only training says so.
import * as fs from 'fs';
import * as path from 'path';
import { RUN_LAYOUT, type BaselineReport, type DistillRunReport, type EpochMetrics } from '../../shared/distillRun';
import type { ResolvedDistillSpec } from '../../shared/distillSpec';
import { errorMessage } from '../errors';
import type { PythonProbe } from './python';
import { RunFolder, type RunListeners } from './runFolder';
import { runStep, type StepOptions } from './step';
import { CancelledRun } from './trainer';
import type { SpecValidation } from './validate';

/** The baseline's folder inside the run folder. */
export const BASELINE_FOLDER = 'baseline';

/** The spec of the baseline: the student, data and schedule of `spec`, trained on labels alone. */
export function labelsOnlySpec(spec: ResolvedDistillSpec): ResolvedDistillSpec {
  return {
    ...spec,
    knowledge: [{ type: 'response', weight: 1, temperature: 1, alpha: 1, target: 'soft' }],
    // Labels-only training needs no teacher at training time: offline reads only the cached inputs and labels.
    scheme: { kind: 'offline' },
    baseline: false,
  };
}

const difference = (a: number | null | undefined, b: number | null | undefined) =>
  a === null || a === undefined || b === null || b === undefined ? null : a - b;

/** Per-epoch accuracies of the distilled student and the baseline, side by side. */
export function compareEpochs(kd: EpochMetrics[], baseline: EpochMetrics[]): BaselineReport['perEpoch'] {
  const epochs = [...new Set([...kd, ...baseline].map((e) => e.epoch))].sort((a, b) => a - b);
  return epochs.map((epoch) => {
    const k = kd.find((e) => e.epoch === epoch)?.accuracy ?? null;
    const b = baseline.find((e) => e.epoch === epoch)?.accuracy ?? null;
    return { epoch, kd: k, baseline: b, gain: difference(k, b) };
  });
}

/**
 * Trains and verifies the baseline after the distilled student is done. It never changes how the
 * distillation itself ended: a baseline that fails or is cancelled is reported as such, with a
 * warning in the main report.
 */
export async function runBaseline(
  main: RunFolder,
  mainReport: DistillRunReport,
  settings: ResolvedDistillSpec,
  validation: SpecValidation,
  probe: PythonProbe,
  options: StepOptions & RunListeners,
): Promise<BaselineReport> {
  const dir = path.join(main.dir, BASELINE_FOLDER);
  await fs.promises.mkdir(path.join(dir, RUN_LAYOUT.checkpoints), { recursive: true });
  main.emit({ event: 'phase', phase: 'baseline', message: `training the labels-only baseline in ${dir}` });
  // The baseline keeps its own log and metrics; the main run hears one line per epoch.
  const folder = new RunFolder(dir, {
    python: options.python,
    onLog: (line) => options.onLog?.(`baseline: ${line}`),
    onEvent: (e) => {
      if (e.event !== 'eval') return;
      const kd = mainReport.epochs.find((m) => m.epoch === e.epoch)?.accuracy ?? null;
      main.emit({ event: 'baseline', epoch: e.epoch, accuracy: e.accuracy, kdAccuracy: kd, gain: difference(kd, e.accuracy) });
    },
  });
  const own = folder.report(mainReport.specFile);
  own.settings = labelsOnlySpec(settings);
  const result: BaselineReport = { status: 'failed', message: null, runDir: dir, student: null, epochs: [], verification: null, perEpoch: [], gain: null };
  try {
    const step = await runStep(folder, own.settings, dir, validation, probe, own, options, undefined, settings.teacher);
    own.status = 'completed';
    Object.assign(result, { status: 'completed', student: step.student, verification: step.verification });
    result.gain = difference(mainReport.verification?.accuracy, step.verification?.accuracy);
  } catch (e) {
    const cancelled = options.signal?.aborted || (e as Error).name === 'AbortError' || e instanceof CancelledRun;
    own.status = result.status = cancelled ? 'cancelled' : 'failed';
    own.message = result.message = cancelled ? 'cancelled' : errorMessage(e);
    main.warn(mainReport, {
      event: 'warning',
      message: `the labels-only baseline ${result.status}${cancelled ? '' : `: ${result.message}`}; the distilled student is complete`,
      hint: `its log is ${path.join(dir, RUN_LAYOUT.log)}`,
    });
  } finally {
    own.finished = new Date().toISOString();
    await folder.writeReport(own);
    await folder.close();
  }
  result.epochs = own.epochs;
  result.perEpoch = compareEpochs(mainReport.epochs, own.epochs);
  return result;
}

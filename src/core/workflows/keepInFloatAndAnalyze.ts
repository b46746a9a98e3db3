// Keep layers in float, then analyze: what `onnx-compress analyze --keep-in-float/--target` and
// the report panel's buttons do. The model the request starts from is scored once (or not at all
// when its report is given), the new model is written (with its QuantResult) and analyzed once,
// and the report, its keep-in-float section complete, is written once.
import * as fs from 'fs';
import * as path from 'path';
import type { KeepInFloatReport, ModelSummary, QuantReport } from '../../shared/quantReport';
import type { QuantResult } from '../../shared/quantResult';
import { analyzeQuantization, type AnalysisOptions } from '../analysis/analyze';
import { KeepInFloatError } from '../analysis/errors';
import { KeepScoring } from '../analysis/keepScoring';
import { defaultKeepOutput, keepReport, modelSummary, nothingChanged, valueOf, type KeepTarget } from '../analysis/keepReport';
import { writeKeptInFloat } from '../analysis/keptInFloatModel';
import { defaultQuantResultFile, defaultReportFile } from '../analysis/quantResultFile';
import { progressTo, type OnWorkflowEvent } from './events';

export type Evaluation = Pick<
  AnalysisOptions,
  'data' | 'labels' | 'samples' | 'batchSize' | 'ep' | 'latencyRuns' | 'histogramBins' | 'sensitivity' | 'sensitivitySamples'
>;

export interface KeepInFloatAndAnalyzeOptions {
  floatFile: string;
  /** The quantization the request starts from (its NAME.quant.json) and that file. */
  previous: QuantResult;
  previousFile: string;
  /** Node names to keep in float, or a target for the automatic search. */
  what: string[] | KeepTarget;
  evaluation: Evaluation;
  /** The report of the model the request starts from: its numbers are the before side and its
   *  sensitivity orders the search (nothing is scored again). A request that then keeps nothing
   *  is refused, as that report already describes the model. */
  shown?: QuantReport;
  /** The model written (default: the earlier output with `.keep-float` before `.onnx`). */
  output?: string;
  /** The report written (default: NAME.report.json beside the analyzed model). */
  reportFile?: string;
  signal?: AbortSignal;
  onEvent?: OnWorkflowEvent;
}

export interface KeepInFloatAndAnalyzeResult {
  report: QuantReport;
  reportFile: string;
  keep: KeepInFloatReport;
}

interface Choice {
  kept: string[];
  target: KeepTarget | null;
  before: ModelSummary;
  steps: KeepInFloatReport['steps'];
  warnings: string[];
  /** The model analyzed: the new one, or the earlier one when the search kept nothing. */
  analyzed: string;
  resultFile: string;
}

export async function keepInFloatAndAnalyze(o: KeepInFloatAndAnalyzeOptions): Promise<KeepInFloatAndAnalyzeResult> {
  const { previous, signal } = o;
  if (previous.settings.mode !== 'static')
    throw new KeepInFloatError(
      'keep-in-float re-quantizes with saved calibration ranges: it needs a static quantization (dynamic mode is already quick to re-run with --exclude)',
      previous.output,
    );
  const output = path.resolve(o.output ?? defaultKeepOutput(previous));
  // Files this run creates; a cancelled run takes them away again.
  const created = [output, `${output}.data`, defaultQuantResultFile(output)].filter((f) => !fs.existsSync(f));
  try {
    const choice = await choose(o, output);
    const reportFile = o.reportFile ?? defaultReportFile(choice.analyzed);
    const report = await analyzeQuantization(o.floatFile, choice.analyzed, {
      ...o.evaluation,
      quantResult: choice.resultFile,
      keepInFloat: (after) => keepReport(choice.kept, choice.target, choice.before, after, choice.steps),
      warnings: choice.warnings,
      reportFile,
      signal,
      onProgress: progressTo(o.onEvent),
    });
    return { report, reportFile, keep: report.keepInFloat! };
  } catch (e) {
    if (signal?.aborted) {
      for (const f of created) fs.rmSync(f, { force: true });
      throw new KeepInFloatError('cancelled; nothing was written', output);
    }
    throw e;
  }
}

/** Writes the kept-in-float model: the nodes asked, or those the search chose. */
async function choose(o: KeepInFloatAndAnalyzeOptions, output: string): Promise<Choice> {
  const { previous, signal, what } = o;
  const progress = progressTo(o.onEvent);
  const target = Array.isArray(what) ? null : what;
  if (target?.kind === 'accuracy' && !o.evaluation.labels) throw new KeepInFloatError('an accuracy target needs labels (--labels FILE)');
  const scoring = !o.shown || target ? await KeepScoring.open(o.floatFile, previous, o.evaluation, signal) : undefined;
  const scoreBefore = async (): Promise<ModelSummary> => {
    if (o.shown) return modelSummary(o.shown);
    progress({ stage: 'scoring the quantized model' });
    return scoring!.summary(previous.output);
  };
  try {
    let kept = Array.isArray(what) ? what : [];
    let steps: KeepInFloatReport['steps'] = [];
    // A search starts from the model's numbers; a request by name is refused before any scoring when it changes nothing.
    let before = target ? await scoreBefore() : undefined;
    if (target) {
      if (target.kind === 'agreement' && before!.top1Agreement === null)
        throw new KeepInFloatError('an agreement target needs a classifier (first output shaped [N, classes])');
      const start = valueOf(before!, target.kind);
      if (start === null || start < target.value)
        ({ kept, steps } = await scoring!.search(target, o.shown?.sensitivity ?? (await scoring!.sensitivity(progress)), output, progress));
      if (!kept.length) {
        if (o.shown) throw nothingChanged([`${target.kind} is already ${start} (target ${target.value}) in ${path.basename(previous.output)}`]);
        return { kept, target, before: before!, steps, warnings: [], analyzed: previous.output, resultFile: o.previousFile };
      }
    }
    progress({ stage: `re-quantizing with ${kept.length} node(s) in float` });
    const written = await writeKeptInFloat(o.floatFile, previous, kept, output, { signal, feeds: scoring?.firstFeeds });
    const warnings = written.unchanged.map((u) => `not kept in float: ${u}`);
    for (const message of warnings) o.onEvent?.({ type: 'warning', message });
    before ??= await scoreBefore();
    return { kept: written.kept, target, before, steps, warnings, analyzed: output, resultFile: defaultQuantResultFile(output) };
  } finally {
    await scoring?.close();
  }
}

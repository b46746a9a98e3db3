// A small sweep over the response term's temperature and alpha (and the feature terms' weight):
// one complete run per setting, each an ordinary run folder (listed in the Runs view), plus one
// labels-only run of the same student as the reference. The setting whose student verifies best on
// the evaluation split is written back into the spec, and the summary says whether any setting
// beat labels-only training.
import * as fs from 'fs';
import * as path from 'path';
import type { DistillRunReport } from '../../shared/distillRun';
import { jsonText, writeFileAtomic } from '../files';
import { newRunDir } from '../distill/runFolder';
import { readSpecFile, runCopyOfSpec, SpecError } from '../distill/spec';
import { validateSpec, problemLines } from '../distill/validate';
import { distillAndVerify, type DistillOptions } from './distillAndVerify';

export interface SweepGrid {
  temperatures: number[];
  alphas: number[];
  /** Weights tried for every feature-like term (null: the spec's own weight only). */
  featureWeights: number[] | null;
}

export const DEFAULT_SWEEP: SweepGrid = { temperatures: [2, 4, 8], alphas: [0.1, 0.5, 0.9], featureWeights: null };

export interface SweepTrial {
  /** 'labels-only' for the reference run; else the setting tried. */
  setting: 'labels-only' | { temperature: number; alpha: number; featureWeight: number | null };
  runDir: string;
  status: DistillRunReport['status'];
  message: string | null;
  /** Verified accuracy on the evaluation split (null when the run did not complete). */
  accuracy: number | null;
  agreement: number | null;
}

export interface SweepResult {
  format: 'onnx-compress/distill-sweep';
  version: 1;
  specFile: string;
  grid: SweepGrid;
  status: 'completed' | 'cancelled' | 'failed';
  trials: SweepTrial[];
  /** The best distilled setting (by verified accuracy), or null when no KD trial completed. */
  best: SweepTrial | null;
  labelsOnly: SweepTrial | null;
  /** best - labels-only, in accuracy (null when either is missing). */
  gain: number | null;
  /** Whether the best setting was written into the spec file. */
  writtenBack: boolean;
  summaryFile: string;
}

export interface SweepEvent {
  trial: number;
  trials: number;
  setting: SweepTrial['setting'];
  state: 'start' | 'done';
  result?: SweepTrial;
}

export interface SweepOptions extends Omit<DistillOptions, 'runDir' | 'resume' | 'baseline'> {
  grid?: Partial<SweepGrid>;
  onTrial?: (e: SweepEvent) => void;
}

type Json = Record<string, unknown>;
const FEATURE_LIKE = new Set(['feature', 'attention', 'relation', 'similarity']);

/** Which settings a spec is swept over: every (T, a) pair, times the feature weights when the spec has feature-like terms. */
export function sweepSettings(knowledge: Json[], grid: SweepGrid): Exclude<SweepTrial['setting'], 'labels-only'>[] {
  const hasFeature = knowledge.some((k) => FEATURE_LIKE.has(String(k.type)));
  const weights = hasFeature && grid.featureWeights ? grid.featureWeights : [null];
  return grid.temperatures.flatMap((temperature) => grid.alphas.flatMap((alpha) => weights.map((featureWeight) => ({ temperature, alpha, featureWeight }))));
}

/** The spec's knowledge with the setting applied: the response term's T and a, and feature-like weights. */
export function applySetting(knowledge: Json[], setting: SweepTrial['setting']): Json[] {
  if (setting === 'labels-only') return [{ type: 'response', temperature: 1, alpha: 1, target: 'soft' }];
  return knowledge.map((k) => {
    if (k.type === 'response') return { ...k, temperature: setting.temperature, alpha: setting.alpha };
    if (FEATURE_LIKE.has(String(k.type)) && setting.featureWeight !== null) return { ...k, weight: setting.featureWeight };
    return k;
  });
}

const label = (s: SweepTrial['setting']) =>
  s === 'labels-only' ? 'labels-only' : `T${s.temperature}-a${s.alpha}${s.featureWeight === null ? '' : `-f${s.featureWeight}`}`;

/** Runs the sweep of `specFile`; resolves with the summary (also written beside the trials' run folders). */
export async function sweepDistill(specFile: string, options: SweepOptions = {}): Promise<SweepResult> {
  const spec = path.resolve(specFile);
  const grid: SweepGrid = { ...DEFAULT_SWEEP, ...options.grid };
  const validation = await validateSpec(spec);
  if (!validation.ok || !validation.spec) throw new SpecError(`the spec has problems:\n  ${problemLines(validation).join('\n  ')}`, spec);
  if (!validation.spec.knowledge.some((k) => k.type === 'response'))
    throw new SpecError('a sweep varies the response term (temperature, alpha), and the spec has none: add {"type": "response"} to knowledge', spec);
  if (!validation.spec.data.eval?.labels)
    throw new SpecError('the sweep picks the setting that verifies best on labelled evaluation data: give data.eval with labels', spec);
  const raw = (await readSpecFile(spec)) as Json;
  const knowledge = (Array.isArray(raw.knowledge) ? raw.knowledge : [{ type: 'response' }]) as Json[];
  const settings: SweepTrial['setting'][] = ['labels-only', ...sweepSettings(knowledge, grid)];
  // Trials are run folders beside the spec's other runs, named by the sweep and the setting.
  const sweepDir = newRunDir(spec, 'sweep');
  const [runsDir, sweepName] = [path.dirname(sweepDir), path.basename(sweepDir)];
  const summaryFile = path.join(runsDir, `${sweepName}.sweep.json`);
  const result: SweepResult = {
    format: 'onnx-compress/distill-sweep',
    version: 1,
    specFile: spec,
    grid,
    status: 'completed',
    trials: [],
    best: null,
    labelsOnly: null,
    gain: null,
    writtenBack: false,
    summaryFile,
  };
  const copy = runCopyOfSpec(raw, path.dirname(spec)) as Json;
  for (const [i, setting] of settings.entries()) {
    if (options.signal?.aborted) {
      result.status = 'cancelled';
      break;
    }
    const runDir = path.join(runsDir, `${sweepName}-${label(setting)}`);
    await fs.promises.mkdir(runDir, { recursive: true });
    const trialSpec = path.join(runDir, 'trial.distill.json');
    await writeFileAtomic(
      trialSpec,
      jsonText({ ...copy, description: `sweep of ${path.basename(spec)}: ${label(setting)}`, knowledge: applySetting(knowledge, setting) }),
    );
    options.onTrial?.({ trial: i + 1, trials: settings.length, setting, state: 'start' });
    const report = await distillAndVerify(trialSpec, { ...options, runDir });
    const trial: SweepTrial = {
      setting,
      runDir,
      status: report.status,
      message: report.message,
      accuracy: report.verification?.accuracy ?? null,
      agreement: report.verification?.agreement ?? null,
    };
    result.trials.push(trial);
    options.onTrial?.({ trial: i + 1, trials: settings.length, setting, state: 'done', result: trial });
    if (report.status === 'cancelled') {
      result.status = 'cancelled';
      break;
    }
  }
  result.labelsOnly = result.trials.find((t) => t.setting === 'labels-only' && t.accuracy !== null) ?? null;
  const kd = result.trials.filter((t) => t.setting !== 'labels-only' && t.accuracy !== null);
  result.best = kd.reduce<SweepTrial | null>((a, t) => (a === null || t.accuracy! > a.accuracy! ? t : a), null);
  if (!result.best) result.status = result.status === 'cancelled' ? 'cancelled' : 'failed';
  result.gain = result.best && result.labelsOnly ? result.best.accuracy! - result.labelsOnly.accuracy! : null;
  // Only a finished sweep changes the spec: a cancelled one has not seen every setting.
  if (result.status === 'completed' && result.best && result.best.setting !== 'labels-only') {
    const reread = (await readSpecFile(spec)) as Json;
    const current = (Array.isArray(reread.knowledge) ? reread.knowledge : [{ type: 'response' }]) as Json[];
    await writeFileAtomic(spec, jsonText({ ...reread, knowledge: applySetting(current, result.best.setting) }));
    result.writtenBack = true;
  }
  await writeFileAtomic(summaryFile, jsonText(result));
  return result;
}

// What keep-in-float reports: the target it was asked to reach, the model before and after as
// the comparison sees them, and what keeping layers in float gained and cost.
import type { KeepInFloatReport, KeepInFloatTargetKind, ModelSummary, QuantReport } from '../../shared/quantReport';
import type { QuantResult } from '../../shared/quantResult';
import { KeepInFloatError } from './errors';
import type { Score } from './requantize';

export interface KeepTarget {
  kind: KeepInFloatTargetKind;
  value: number;
}

export function defaultKeepOutput(previous: QuantResult): string {
  return previous.output.replace(/(\.onnx)?$/i, '.keep-float.onnx');
}

/** Reads `sqnr:30`, `agreement:0.99` or `accuracy:0.87`. */
export function parseTarget(text: string): KeepTarget {
  const m = /^(sqnr|agreement|accuracy):(-?\d+(?:\.\d+)?)$/.exec(text.trim());
  if (!m) throw new KeepInFloatError(`target '${text}' is not KIND:VALUE with KIND sqnr (dB), agreement (0-1) or accuracy (0-1), e.g. sqnr:30`);
  const value = Number(m[2]);
  if (m[1] !== 'sqnr' && (value < 0 || value > 1)) throw new KeepInFloatError(`target ${m[1]} must be between 0 and 1 (got ${value})`);
  return { kind: m[1] as KeepInFloatTargetKind, value };
}

export function valueOf(score: Pick<Score, 'outputSqnr' | 'top1Agreement' | 'accuracy'>, kind: KeepInFloatTargetKind | 'sqnr'): number | null {
  return kind === 'sqnr' ? score.outputSqnr : kind === 'agreement' ? score.top1Agreement : score.accuracy;
}

/** The report of a keep-in-float request; `achieved` is the target's value after (the output SQNR without a target). */
export function keepReport(
  nodes: string[],
  target: KeepTarget | null,
  before: ModelSummary,
  after: ModelSummary,
  steps: KeepInFloatReport['steps'],
): KeepInFloatReport {
  const achieved = valueOf(after, target?.kind ?? 'sqnr');
  return {
    nodes,
    target,
    achieved,
    met: target ? achieved !== null && achieved >= target.value : null,
    output: after.file,
    cost: {
      sizeBytes: after.bytes - before.bytes,
      latencyMs: after.medianMs !== null && before.medianMs !== null ? after.medianMs - before.medianMs : null,
    },
    steps,
    before,
    after,
  };
}

/** A report's model as keep-in-float compares it (the first output's SQNR, as scoring measures it). */
export function modelSummary(r: QuantReport): ModelSummary {
  const m = r.model;
  return {
    file: r.quantizedModel,
    outputSqnr: m.outputs[0]?.error.sqnr ?? null,
    top1Agreement: m.top1Agreement,
    accuracy: m.accuracy?.quantized ?? null,
    bytes: m.sizes.quantizedBytes,
    medianMs: m.latency?.quantized.medianMs ?? null,
  };
}

/** A keep-in-float request that would leave the model as it is: nothing is written. */
export function nothingChanged(reasons: string[]): KeepInFloatError {
  return new KeepInFloatError(`nothing changed: ${reasons.join('; ')}; no model was written`);
}

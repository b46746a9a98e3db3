// What a workflow tells its face while it runs: the stage it is in and how far (the same shape
// for every step), calibration batches, and warnings that do not stop it.
import type { AnalysisProgress } from '../analysis/analyze';
import type { CalibrationProgress } from '../quant/calibrate';
import type { QuantResult } from '../../shared/quantResult';

export type WorkflowEvent =
  /** A step of the analysis or the keep-in-float search, with a batch count where it has one. */
  | ({ type: 'progress' } & AnalysisProgress)
  /** A stage of the quantization, with the calibration's batch while it calibrates. */
  | { type: 'quantize'; stage: string; calibration?: CalibrationProgress }
  /** The quantized model and its QuantResult are written (the analysis comes next). */
  | { type: 'quantized'; result: QuantResult; resultFile: string }
  | { type: 'warning'; message: string };

export type OnWorkflowEvent = (e: WorkflowEvent) => void;

/** The progress callback the engine's steps take, reporting as workflow events. */
export function progressTo(onEvent?: OnWorkflowEvent): (p: AnalysisProgress) => void {
  return (p) => onEvent?.({ type: 'progress', ...p });
}

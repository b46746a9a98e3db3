// The analysis' errors: one class for measuring a quantized model, one for keeping layers in float.
import { OnnxCompressError } from '../errors';

export class AnalysisError extends OnnxCompressError {}

export class KeepInFloatError extends OnnxCompressError {}

export function cancelled(subject: string): AnalysisError {
  return new AnalysisError('cancelled; no report was written', subject);
}

// Errors of the calibration/evaluation data layer.
import { OnnxCompressError } from '../errors';

/** Calibration data that cannot be read, or does not fit the model; the message says how to fix it. */
export class DataSourceError extends OnnxCompressError {}

/** The error a cancelled iteration throws (name 'AbortError', as fetch and AbortSignal use). */
export function abortError(): Error {
  const e = new Error('cancelled');
  e.name = 'AbortError';
  return e;
}

export function isAbortError(e: unknown): boolean {
  return e instanceof Error && e.name === 'AbortError';
}

/** Prefixes a DataSourceError's message with where it happened (a file), keeping its class. */
export function withSubject(e: unknown, subject: string): Error {
  if (e instanceof DataSourceError && e.subject === undefined) return new DataSourceError(e.message, subject);
  return e instanceof Error ? e : new Error(String(e));
}

// Number formatting of the report app (sizes and counts come from src/shared/format).
import type { ErrorMetrics } from '../../src/shared/quantReport';

/** Short, exact-enough numbers for tables, axes and tooltips. */
export function fmt(x: number | null | undefined, digits = 4): string {
  if (x === null || x === undefined) return '–';
  if (x === 0) return '0';
  const a = Math.abs(x);
  return a >= 1e5 || a < 1e-3 ? x.toExponential(2) : Number(x.toPrecision(digits)).toString();
}

export const fmtDb = (x: number | null | undefined) => (x === null || x === undefined ? '–' : `${x.toFixed(1)} dB`);
export const fmtPct = (x: number | null | undefined, digits = 2) => (x === null || x === undefined ? '–' : `${(x * 100).toFixed(digits)}%`);
export const fmtRange = (r: [number, number] | null | undefined) => (r ? `${fmt(r[0])} … ${fmt(r[1])}` : '–');
export const fmtMs = (x: number | null | undefined) => (x === null || x === undefined ? '–' : `${x.toFixed(x < 10 ? 2 : 1)} ms`);

export function fmtMetrics(m: ErrorMetrics): string {
  return `SQNR ${fmtDb(m.sqnr)} · MSE ${fmt(m.mse)} · cos ${fmt(m.cosine, 6)} · max |e| ${fmt(m.maxAbs)}`;
}

/** A value of any JSON type as plain text (settings echoed from a report). */
export function fmtValue(v: unknown): string {
  if (v === null || v === undefined) return '–';
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

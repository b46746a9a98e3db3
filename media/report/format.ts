// Number formatting of the report app (sizes and counts come from src/shared/format).
import type { ErrorMetrics, LatencyReport } from '../../src/shared/quantReport';

/** Short, exact-enough numbers for tables, axes and tooltips. */
export function fmt(x: number | null | undefined, digits = 4): string {
  if (x === null || x === undefined) return '–';
  if (x === 0) return '0';
  const a = Math.abs(x);
  return a >= 1e5 || a < 1e-3 ? x.toExponential(2) : Number(x.toPrecision(digits)).toString();
}

export const fmtDb = (x: number | null | undefined) => (x === null || x === undefined ? '–' : `${x.toFixed(1)} dB`);
export const fmtPct = (x: number | null | undefined, digits = 2) => (x === null || x === undefined ? '–' : `${(x * 100).toFixed(digits)}%`);
/** A share where nonzero never reads as zero (nor almost-all as all): 0%, <0.01%, 3.21%, >99.99%, 100%. */
export function fmtShare(x: number | null | undefined, digits = 2): string {
  if (x === null || x === undefined) return '–';
  if (x <= 0) return '0%';
  if (x >= 1) return '100%';
  const least = 10 ** -digits;
  if (x * 100 < least) return `<${least.toFixed(digits)}%`;
  if (100 - x * 100 < least) return `>${(100 - least).toFixed(digits)}%`;
  return fmtPct(x, digits);
}

export { fmtSizeChange } from '../../src/shared/format';

export const fmtRange = (r: [number, number] | null | undefined) => (r ? `${fmt(r[0])} … ${fmt(r[1])}` : '–');
export const fmtMs = (x: number | null | undefined) => (x === null || x === undefined ? '–' : `${x.toFixed(x < 10 ? 2 : 1)} ms`);

/** The run-to-run spread of a latency: p95 − median (how far a busy machine moves single runs). */
export const latencySpread = (l: LatencyReport) => Math.max(0, l.p95Ms - l.medianMs);

/** "1.80 ms ± 0.30": the median with its spread, in the median's digits. */
export const fmtLatency = (l: LatencyReport) => `${fmtMs(l.medianMs)} ± ${latencySpread(l).toFixed(l.medianMs < 10 ? 2 : 1)}`;

/**
 * Float vs quantized latency in words. A difference is only called one when the medians differ by
 * more than the wider of the two spreads: less than that is what the machine's other work alone
 * moves a measurement by, so it cannot be told from noise.
 */
export function latencyVerdict(float: LatencyReport, quantized: LatencyReport): string {
  const noise = Math.max(latencySpread(float), latencySpread(quantized));
  const diff = float.medianMs - quantized.medianMs;
  if (Math.abs(diff) <= noise || float.medianMs <= 0 || quantized.medianMs <= 0) return 'no measurable difference (within the run-to-run spread)';
  return diff > 0 ? `${(float.medianMs / quantized.medianMs).toFixed(1)}× faster` : `${(quantized.medianMs / float.medianMs).toFixed(1)}× slower`;
}

export function fmtMetrics(m: ErrorMetrics): string {
  return `SQNR ${fmtDb(m.sqnr)} · MSE ${fmt(m.mse)} · cos ${fmt(m.cosine, 6)} · max |e| ${fmt(m.maxAbs)}`;
}

/** A value of any JSON type as plain text (settings echoed from a report). */
export function fmtValue(v: unknown): string {
  if (v === null || v === undefined) return '–';
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

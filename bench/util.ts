// Helpers shared by the benchmarks (bench/run.ts, bench/quant.ts): statistics, formatting,
// Markdown tables, and running a measurement child that prints one JSON line.
import { spawnSync } from 'child_process';
import { performance } from 'perf_hooks';

export const MB = 1e6;

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The p-th percentile (nearest rank) of xs. */
export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.max(0, Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1))];
}

/** Median of per-repetition ratios a[i] / b[i] (each pair measured side by side). */
export function pairedRatio(a: number[], b: number[]): number {
  return median(a.map((x, i) => x / b[i]));
}

export const fmtMB = (bytes: number) => (bytes / MB).toFixed(1);
export const fmtMs = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms >= 1 ? ms.toFixed(1) : ms.toFixed(3));
export const fmtX = (r: number) => `${r.toFixed(2)}x`;
export const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');

export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

/**
 * Runs `run` once more when it fails: out/ is shared with other builds in this tree, and a child
 * that starts while `tsc` rewrites out/src can load half a module. A second failure is reported.
 */
export function retried<T>(what: string, run: () => T): T {
  try {
    return run();
  } catch (e) {
    const lines = (e as Error).message
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    process.stderr.write(`  ${what} failed, retrying once: ${lines.find((l) => /Error/.test(l)) ?? lines[0]}\n`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2000); // let a concurrent build finish writing
    return run();
  }
}

export type Sample = Record<string, unknown> & { wallMs: number; maxRssBytes: number };

/** Runs `node [nodeArgs] script args` and returns its last stdout line (JSON) plus its wall time. */
export function jsonChild(script: string, args: string[], nodeArgs: string[] = []): Sample {
  return retried(`child ${args[0]}`, () => {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [...nodeArgs, script, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
    const wallMs = performance.now() - t0;
    if (r.status !== 0) throw new Error(`child ${args.join(' ')} failed (${r.status ?? r.signal}):\n${r.stderr}`);
    const lines = r.stdout.trim().split('\n');
    return { ...JSON.parse(lines[lines.length - 1]), wallMs } as Sample;
  });
}

// Latency of one batch: a few warm-up runs, then `runs` timed runs; median and 95th percentile.
import type { LatencyReport } from '../../shared/quantReport';
import type { ort } from '../runtime/session';
import { batchSampleCount } from '../data';

const WARMUP = 3;

function percentile(sorted: number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[i];
}

export async function measureLatency(
  session: ort.InferenceSession,
  feeds: Record<string, ort.Tensor>,
  runs: number,
  ep: string,
  signal?: AbortSignal,
): Promise<LatencyReport> {
  const times: number[] = [];
  for (let i = 0; i < WARMUP + runs; i++) {
    if (signal?.aborted) break;
    const t0 = process.hrtime.bigint();
    const out = await session.run(feeds);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    for (const t of Object.values(out)) t.dispose();
    if (i >= WARMUP) times.push(ms);
  }
  times.sort((a, b) => a - b);
  return {
    medianMs: times.length ? percentile(times, 0.5) : 0,
    p95Ms: times.length ? percentile(times, 0.95) : 0,
    runs: times.length,
    batchSize: batchSampleCount(feeds),
    executionProvider: ep,
  };
}

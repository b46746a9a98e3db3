// ONNX_COMPRESS_MEMLOG=1: one line on stderr per stage of a write with the process's resident
// memory now and its peak so far (Linux /proc), to see which stage sets a run's peak.
import * as fs from 'fs';

export function memoryMark(stage: string): void {
  if (!process.env.ONNX_COMPRESS_MEMLOG || process.env.ONNX_COMPRESS_MEMLOG === '0') return;
  let status = '';
  try {
    status = fs.readFileSync('/proc/self/status', 'utf8');
  } catch {
    return; // not Linux
  }
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  const mb = (v: number) => (v / 1024).toFixed(1);
  process.stderr.write(`[memory] ${stage}: rss ${mb(kb('VmRSS'))} MB, peak ${mb(kb('VmHWM'))} MB\n`);
}

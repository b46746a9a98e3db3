// What a run folder recorded, read back to resume a run or to draw a past one.
import * as fs from 'fs';
import * as path from 'path';
import { RUN_LAYOUT, type DistillEvent, type DistillRunReport } from '../../shared/distillRun';

/** The run's report, or null for a run killed before it wrote one. */
export function readRunReport(runDir: string): DistillRunReport | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(runDir, RUN_LAYOUT.report), 'utf8')) as DistillRunReport;
  } catch {
    return null;
  }
}

/** The spec a run was started from (its report says; relative paths resolve from there), else the run's copy. */
export function specOfRun(runDir: string): string {
  const specFile = readRunReport(runDir)?.specFile;
  return specFile && fs.existsSync(specFile) ? specFile : path.join(runDir, RUN_LAYOUT.spec);
}

/** The events a run folder recorded (metrics.jsonl), skipping lines that are not events. */
export function readMetrics(runDir: string): DistillEvent[] {
  let text = '';
  try {
    text = fs.readFileSync(path.join(runDir, RUN_LAYOUT.metrics), 'utf8');
  } catch {
    return [];
  }
  const out: DistillEvent[] = [];
  for (const line of text.split('\n')) {
    try {
      const e = JSON.parse(line);
      if (e && typeof e.event === 'string') out.push(e);
    } catch {
      // A line cut short by a killed run.
    }
  }
  return out;
}

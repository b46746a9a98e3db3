// Past runs for the Runs tree and `onnx-compress distill --list`: each sub-folder of a runs folder
// holding a job or a report, newest first, with its status and results from report.json.
import * as fs from 'fs';
import * as path from 'path';
import { RUN_LAYOUT, type DistillRunReport, type RunSummary } from '../../shared/distillRun';

export async function listRuns(dir: string): Promise<RunSummary[]> {
  let entries: fs.Dirent[];
  try {
    entries = await fs.promises.readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: RunSummary[] = [];
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const runDir = path.join(dir, e.name);
    const reportFile = path.join(runDir, RUN_LAYOUT.report);
    const hasJob = fs.existsSync(path.join(runDir, RUN_LAYOUT.job)) || fs.existsSync(path.join(runDir, RUN_LAYOUT.metrics));
    let report: DistillRunReport | null = null;
    try {
      report = JSON.parse(await fs.promises.readFile(reportFile, 'utf8'));
    } catch {
      if (!hasJob) continue;
    }
    const started = report?.started ?? (await fs.promises.stat(runDir)).birthtime.toISOString();
    out.push({
      runDir,
      name: e.name,
      // A folder with a job but no report is running now, or was killed before it could write one.
      status: report?.status ?? (hasJob ? 'running' : 'unknown'),
      started,
      accuracy: report?.verification?.accuracy ?? null,
      agreement: report?.verification?.agreement ?? null,
      student: report?.paths.student ?? null,
      report: report ? reportFile : null,
    });
  }
  return out.sort((a, b) => (b.started ?? '').localeCompare(a.started ?? ''));
}

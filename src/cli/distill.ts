// `onnx-compress distill SPEC`: validation (problems, adapters, proposed pairs, cache size), then
// the run with one line per phase and epoch, and the report's summary. Ctrl-C cancels: the
// trainer writes a checkpoint and `--resume RUNDIR` continues from it.
import type { ParseArgsConfig } from 'util';
import type { DistillEvent, DistillRunReport } from '../shared/distillRun';
import { formatBytes } from '../shared/format';
import { estimateCacheBytes } from '../core/distill/cache';
import { distillAndVerify } from '../core/workflows/distillAndVerify';
import { sweepDistill, type SweepGrid, type SweepResult, type SweepTrial } from '../core/workflows/sweepDistill';
import { problemLines, validateSpec, type SpecValidation } from '../core/distill/validate';
import { table } from './format';

export const DISTILL_OPTIONS: ParseArgsConfig['options'] = {
  resume: { type: 'string' },
  'run-dir': { type: 'string' },
  python: { type: 'string' },
  'validate-only': { type: 'boolean' },
  baseline: { type: 'boolean' },
  sweep: { type: 'boolean' },
  'sweep-temperatures': { type: 'string' },
  'sweep-alphas': { type: 'string' },
  'sweep-feature-weights': { type: 'string' },
  json: { type: 'boolean' },
};

type Values = Record<string, string | boolean | string[] | undefined>;
type Out = { log: (s: string) => void; error: (s: string) => void };

const pct = (x: number | null | undefined) => (x === null || x === undefined ? '-' : `${(100 * x).toFixed(2)}%`);
/** KD's gain in accuracy points, signed, said in words. */
const points = (g: number | null) =>
  g === null ? 'no accuracy to compare (no labels)' : `KD ${g >= 0 ? 'gains' : 'loses'} ${Math.abs(100 * g).toFixed(2)} points`;

export function formatValidation(v: SpecValidation): string {
  const lines = [`Spec       ${v.file}: ${v.ok ? 'valid' : 'has errors'}`];
  const problems = problemLines(v);
  if (problems.length) lines.push('', 'Problems', ...problems.map((p) => `  ${p}`));
  if (v.spec) {
    const s = v.spec;
    lines.push('', `Teacher    ${s.teacher.model} (output ${s.teacher.output}, ${s.teacher.executionProvider})`);
    lines.push(
      `Student    ${s.student.kind === 'onnx' ? `${s.student.model} (output ${s.student.output})` : `${s.student.factory} (PyTorch, output ${s.student.output})`}`,
    );
    lines.push(
      `Scheme     ${s.scheme.kind}; ${s.epochs} epoch(s), batch ${s.batchSize}, ${s.optimizer.name} lr ${s.optimizer.lr}, ${s.schedule.name} schedule, device ${s.device}`,
    );
    lines.push('Knowledge', ...s.knowledge.map((k) => `  ${JSON.stringify(k)}`));
  }
  if (v.adapters.length)
    lines.push(
      '',
      'Adapters',
      table(
        v.adapters.map((a) => [
          a.path,
          `${a.teacher} ${JSON.stringify(a.teacherShape)}`,
          `${a.student} ${JSON.stringify(a.studentShape)}`,
          a.adapter,
          a.reason,
        ]),
      ),
    );
  if (v.pairsProposed.length)
    lines.push('', 'Proposed pairs (feature knowledge)', table(v.pairsProposed.map((p) => [p.teacher, p.student, p.adapter, p.reason])));
  for (const d of v.data)
    lines.push(
      '',
      `Data (${d.split}): ${d.samples} samples used${d.labels ? `, labels ${d.labels}` : ', no labels'}`,
      ...d.describe.split('\n').map((l) => `  ${l}`),
    );
  if (v.spec && v.ok) {
    for (const e of estimateCacheBytes(
      v.spec,
      v.teacherTensors,
      v.data.map((d) => ({ split: d.split, samples: d.samples, labels: d.labels !== null })),
    )) {
      lines.push(
        `Cache (${e.split}): ${e.bytes === null ? 'size unknown until the teacher runs' : formatBytes(e.bytes)} in ${v.spec.cache.dir}/${e.split} (${e.parts.map((p) => `${p.what} ${p.bytes === null ? '?' : formatBytes(p.bytes)}`).join(', ')})`,
      );
    }
  }
  return lines.join('\n');
}

function eventLine(e: DistillEvent): string | null {
  switch (e.event) {
    case 'phase':
      return `[${e.phase}]${e.chainStep ? ` step ${e.chainStep}/${e.chainSteps}` : ''} ${e.message}`;
    case 'cache':
      if (e.state === 'progress') return null;
      return `cache ${e.split}: ${e.state}${e.state === 'estimate' ? ' ' : ', '}${formatBytes(e.bytes)} for ${e.samples} samples${e.reason ? ` (${e.reason})` : ''}`;
    case 'start':
      return `trainer: ${e.samples} samples, ${e.epochs} epoch(s) x ${e.stepsPerEpoch} steps on ${e.device} (${e.threads} threads, torch ${e.torch}${typeof e.blasGflops === 'number' ? `, BLAS ${e.blasGflops.toFixed(1)} GFLOP/s` : ''}), ${e.parameters} parameters${e.resumedFrom ? `, resumed from ${e.resumedFrom}` : ''}\n${Object.entries(
        e.losses,
      )
        .map(([k, f]) => `  ${k}: ${f}`)
        .join('\n')}`;
    case 'epoch':
      return `epoch ${e.epoch}: loss ${e.loss.toFixed(4)} (${Object.entries(e.terms)
        .map(([k, x]) => `${k} ${x.toFixed(4)}`)
        .join(', ')}) in ${e.seconds.toFixed(1)} s`;
    case 'eval':
      return `eval ${e.epoch}: accuracy ${pct(e.accuracy)}, agreement with the teacher ${pct(e.agreement)}`;
    case 'baseline':
      return `baseline ${e.epoch}: labels only ${pct(e.accuracy)}, distilled ${pct(e.kdAccuracy)}: ${points(e.gain)}`;
    case 'checkpoint':
      return `checkpoint (${e.reason}): ${e.path}`;
    case 'exported':
      return `exported ${e.kind}: ${e.path}`;
    case 'error':
      return `trainer error: ${e.message}${e.where ? ` (at ${e.where})` : ''}${e.hint ? `\n  ${e.hint}` : ''}`;
    case 'warning':
      return `warning: ${e.message}${e.hint ? `\n  ${e.hint}` : ''}`;
    case 'check':
      return e.unsupported.length ? `unsupported: ${e.unsupported.map((u) => `${u.node} (${u.opType}): ${u.reason}`).join('; ')}` : null;
    default:
      return null;
  }
}

export function formatReport(r: DistillRunReport): string {
  const lines = [`Run        ${r.paths.runDir}: ${r.status}${r.message ? ` — ${r.message}` : ''}`];
  const v = r.verification;
  if (v) {
    lines.push(`Student    ${r.paths.student} (${formatBytes(v.studentBytes)}; teacher ${formatBytes(v.teacherBytes)})`);
    lines.push(
      `Verified   in onnxruntime-node on ${v.samples} samples of ${v.data}: accuracy ${pct(v.accuracy)} (teacher ${pct(v.teacherAccuracy)}), agreement ${pct(v.agreement)}`,
    );
    lines.push(
      `Latency    ${v.latencyMs?.toFixed(3) ?? '-'} ms per sample (teacher ${v.teacherLatencyMs?.toFixed(3) ?? '-'} ms), median of single-sample runs, ${v.executionProvider}`,
    );
  }
  const b = r.baseline;
  if (b)
    lines.push(
      b.status === 'completed'
        ? `Baseline   labels only, same student, data and schedule: accuracy ${pct(b.verification?.accuracy)} against ${pct(v?.accuracy)} distilled: ${points(b.gain)} (${b.runDir})`
        : `Baseline   ${b.status}${b.message ? ` — ${b.message}` : ''} (${b.runDir})`,
    );
  if (r.checkpoint) lines.push(`Checkpoint ${r.checkpoint}`);
  lines.push(`Report     ${r.paths.report}`);
  return lines.join('\n');
}

/** Validates, or runs, the spec; returns the exit code (0 completed or valid, 1 otherwise, 130 cancelled). */
export async function distillCommand(spec: string, v: Values, usage: (m: string) => Error, out: Out): Promise<number> {
  if (v['validate-only'] && (v.resume || v['run-dir'])) throw usage('--validate-only runs nothing: drop --resume and --run-dir');
  if (v.resume && v['run-dir']) throw usage('--resume continues in the given run folder; --run-dir cannot be combined with it');
  const sweepFlags = ['sweep-temperatures', 'sweep-alphas', 'sweep-feature-weights'].filter((k) => v[k] !== undefined);
  if (!v.sweep && sweepFlags.length) throw usage(`--${sweepFlags[0]} sets the grid of --sweep: add --sweep`);
  if (v.sweep) {
    const clash = ['validate-only', 'resume', 'run-dir', 'baseline'].find((k) => v[k] !== undefined);
    if (clash) throw usage(`--sweep runs its own trials (one of them labels-only) in new run folders: drop --${clash}`);
    return sweepCommand(spec, v, usage, out);
  }
  if (v['validate-only']) {
    const validation = await validateSpec(spec);
    out.log(v.json ? JSON.stringify(validation, null, 2) : formatValidation(validation));
    return validation.ok ? 0 : 1;
  }
  const controller = new AbortController();
  const onSigint = () => {
    out.error('cancelling: the trainer writes a checkpoint (Ctrl-C again to stop at once)');
    process.off('SIGINT', onSigint);
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  const estimated = new Set<string>();
  try {
    const report = await distillAndVerify(spec, {
      runDir: v['run-dir'] as string | undefined,
      resume: v.resume as string | undefined,
      python: v.python as string | undefined,
      baseline: v.baseline === true,
      signal: controller.signal,
      onEvent: (e) => {
        if (v.json) return;
        // The size is announced before and again when the first batch fixes it: one line is enough.
        if (e.event === 'cache' && e.state === 'estimate') {
          if (estimated.has(e.split)) return;
          estimated.add(e.split);
        }
        const line = eventLine(e);
        if (line) out.log(line);
      },
    });
    out.log(v.json ? JSON.stringify(report, null, 2) : formatReport(report));
    return report.status === 'completed' ? 0 : report.status === 'cancelled' ? 130 : 1;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/** A comma-separated list of numbers in [lo, hi], for a sweep's grid. */
function numbers(v: Values, key: string, lo: number, hi: number, usage: (m: string) => Error): number[] | undefined {
  const text = v[key];
  if (typeof text !== 'string') return undefined;
  const list = text.split(',').map((t) => Number(t.trim()));
  if (!list.length || list.some((x) => !Number.isFinite(x) || x < lo || x > hi))
    throw usage(`--${key} takes numbers in [${lo}, ${hi}] separated by commas, e.g. --${key} ${lo === 0 ? '0.1,0.5,0.9' : '2,4,8'}`);
  return list;
}

const settingText = (s: SweepTrial['setting']) =>
  s === 'labels-only'
    ? 'labels only (reference)'
    : `T ${s.temperature}, alpha ${s.alpha}${s.featureWeight === null ? '' : `, feature weight ${s.featureWeight}`}`;

export function formatSweep(r: SweepResult): string {
  const lines = [
    `Sweep      ${r.specFile}: ${r.status}, ${r.trials.length} trial(s)`,
    table([
      ['setting', 'status', 'accuracy', 'agreement', 'run'],
      ...r.trials.map((t) => [settingText(t.setting), t.status, pct(t.accuracy), pct(t.agreement), t.runDir]),
    ]),
  ];
  if (r.best)
    lines.push(
      `Best       ${settingText(r.best.setting)}: ${pct(r.best.accuracy)}${r.labelsOnly ? ` against ${pct(r.labelsOnly.accuracy)} labels only: ${points(r.gain)}` : ''}`,
    );
  if (r.gain !== null && r.gain <= 0) lines.push('           no setting of the grid beat training on the labels alone');
  lines.push(
    r.writtenBack
      ? `Spec       the best setting was written into ${r.specFile}`
      : `Spec       unchanged (${r.status === 'completed' ? 'no distilled trial completed' : `the sweep ${r.status}`})`,
  );
  lines.push(`Summary    ${r.summaryFile}`);
  return lines.join('\n');
}

async function sweepCommand(spec: string, v: Values, usage: (m: string) => Error, out: Out): Promise<number> {
  const grid: Partial<SweepGrid> = {};
  const t = numbers(v, 'sweep-temperatures', 0.05, 100, usage);
  const a = numbers(v, 'sweep-alphas', 0, 1, usage);
  const f = numbers(v, 'sweep-feature-weights', 0, 1000, usage);
  if (t) grid.temperatures = t;
  if (a) grid.alphas = a;
  if (f) grid.featureWeights = f;
  const controller = new AbortController();
  const onSigint = () => {
    out.error('cancelling the sweep: the running trial writes a checkpoint');
    process.off('SIGINT', onSigint);
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    const result = await sweepDistill(spec, {
      grid,
      python: v.python as string | undefined,
      signal: controller.signal,
      onTrial: (e) => {
        if (v.json) return;
        out.log(
          e.state === 'start'
            ? `trial ${e.trial}/${e.trials}: ${settingText(e.setting)}`
            : `trial ${e.trial}/${e.trials}: ${e.result!.status}, accuracy ${pct(e.result!.accuracy)} (${e.result!.runDir})`,
        );
      },
    });
    out.log(v.json ? JSON.stringify(result, null, 2) : formatSweep(result));
    return result.status === 'completed' ? 0 : result.status === 'cancelled' ? 130 : 1;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

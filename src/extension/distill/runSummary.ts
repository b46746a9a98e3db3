// A run's settings and its student's verification in words, for the run view's header, the
// completion message and the log.
import type { StudentVerification } from '../../shared/distillRun';
import type { ResolvedDistillSpec } from '../../shared/distillSpec';
import { formatBytes } from '../../shared/format';

const pct = (v: number | null) => (v === null ? 'n/a' : `${(v * 100).toFixed(2)}%`);

/** One line saying how the student did, for the completion message and the log. */
export function verificationLine(v: StudentVerification): string {
  const parts = [
    v.accuracy !== null ? `accuracy ${pct(v.accuracy)} (teacher ${pct(v.teacherAccuracy)})` : null,
    v.agreement !== null ? `agreement with the teacher ${pct(v.agreement)}` : null,
    `${formatBytes(v.studentBytes)} vs ${formatBytes(v.teacherBytes)}`,
    v.latencyMs !== null ? `${v.latencyMs.toFixed(3)} ms vs ${v.teacherLatencyMs?.toFixed(3) ?? '?'} ms per sample` : null,
  ];
  return `${parts.filter(Boolean).join(', ')} on ${v.samples} samples of ${v.data}`;
}

/** The run's effective settings, echoed in the run view's header. */
export function settingsRows(spec: ResolvedDistillSpec, cache: string, python: string): Array<[string, string]> {
  const student = spec.student.kind === 'onnx' ? spec.student.model : spec.student.factory;
  const knowledge = spec.knowledge.map((k) => {
    const params = Object.entries(k)
      .filter(([key]) => key !== 'type' && key !== 'pairs' && key !== 'pair')
      .map(([key, v]) => `${key} ${v}`)
      .join(', ');
    const pairs = 'pairs' in k ? `; ${k.pairs.map((p) => `${p.teacher} <- ${p.student} (${p.adapter})`).join('; ')}` : '';
    return `${k.type}: ${params}${pairs}`;
  });
  return [
    ['teacher', spec.teacher.model],
    ['student', student],
    [
      'train data',
      `${spec.data.train.source}${spec.data.train.labels ? ` + ${spec.data.train.labels}` : ''}${spec.data.train.samples ? ` (${spec.data.train.samples} samples)` : ''}`,
    ],
    ['eval data', spec.data.eval ? spec.data.eval.source : 'none'],
    ['knowledge', knowledge.join(' | ')],
    ['scheme', spec.scheme.kind + (spec.scheme.mode ? ` (${spec.scheme.mode})` : '')],
    ['optimizer', `${spec.optimizer.name}, lr ${spec.optimizer.lr}, weight decay ${spec.optimizer.weightDecay}; ${spec.schedule.name} schedule`],
    ['epochs / batch', `${spec.epochs} / ${spec.batchSize}`],
    ['device', `${spec.device}${spec.threads ? `, ${spec.threads} threads` : ''}`],
    ['cache', cache],
    ['python', python],
  ];
}

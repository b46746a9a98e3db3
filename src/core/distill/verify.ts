// The returned student checked in onnxruntime-node before a run is called done: it loads, its
// accuracy on the evaluation data (with labels), how often it agrees with the teacher, its size,
// and the median latency of one-sample runs beside the teacher's.
import * as fs from 'fs';
import type { StudentVerification } from '../../shared/distillRun';
import type { ResolvedDataSplit } from '../../shared/distillSpec';
import { firstAxisSampleCount, openDataSource } from '../data';
import { readModel } from '../onnx/model';
import { ort } from '../runtime/session';
import { sessionWithOutputs } from '../runtime/session';
import { readLabels } from './labels';

export interface VerifyOptions {
  teacherFile: string;
  teacherOutput: string;
  studentOutput: string;
  /** The data to verify on (its limit and order are the cache's). */
  split: ResolvedDataSplit;
  /** Labels in the same order as the samples read (the cache's labels.npy), or null. */
  labelsFile: string | null;
  executionProvider: string;
  latencyRuns: number;
  batchSize?: number;
  signal?: AbortSignal;
}

function argmaxRows(v: Float32Array, rows: number): Int32Array {
  const classes = v.length / rows;
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (v[r * classes + c] > v[r * classes + best]) best = c;
    out[r] = best;
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function latency(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>, runs: number): Promise<number> {
  await session.run(feeds); // warm-up
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const out = await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    for (const t of Object.values(out)) t.dispose();
  }
  return median(times);
}

/** One sample of each feed, as a batch of 1. */
function firstSample(feeds: Record<string, ort.Tensor>): Record<string, ort.Tensor> {
  const out: Record<string, ort.Tensor> = {};
  for (const [k, t] of Object.entries(feeds)) {
    const per = t.dims.slice(1).reduce((a, b) => a * b, 1);
    out[k] = new ort.Tensor(t.type as 'float32', (t.data as Float32Array).slice(0, per), [1, ...t.dims.slice(1)]);
  }
  return out;
}

export async function verifyStudent(studentFile: string, o: VerifyOptions): Promise<StudentVerification> {
  const teacher = await readModel(o.teacherFile);
  const student = await readModel(studentFile);
  // The logits may be an inner tensor (before a Softmax): exposed as an extra output.
  const sSession = await sessionWithOutputs(student, [o.studentOutput], o.executionProvider);
  const tSession = await sessionWithOutputs(teacher, [o.teacherOutput], o.executionProvider);
  try {
    const source = await openDataSource(o.split.source, teacher, { imagePreprocess: o.split.imagePreprocess as never });
    const labels = o.labelsFile ? (await readLabels(o.labelsFile)).values : null;
    // The student is fed by position when its input names differ from the teacher's.
    const rename = (feeds: Record<string, ort.Tensor>) => Object.fromEntries(Object.values(feeds).map((t, i) => [sSession.inputNames[i], t]));
    let n = 0;
    let correct = 0;
    let teacherCorrect = 0;
    let agree = 0;
    let sample: Record<string, ort.Tensor> | undefined;
    for await (const feeds of source.batches({
      batchSize: o.batchSize ?? 256,
      limit: o.split.samples ?? undefined,
      shuffleSeed: o.split.shuffleSeed ?? undefined,
      signal: o.signal,
    })) {
      sample ??= firstSample(feeds);
      const rows = firstAxisSampleCount(feeds, "the student's verification");
      const s = await sSession.run(rename(feeds), [o.studentOutput]);
      const t = await tSession.run(feeds, [o.teacherOutput]);
      const sp = argmaxRows(s[o.studentOutput].data as Float32Array, rows);
      const tp = argmaxRows(t[o.teacherOutput].data as Float32Array, rows);
      for (let i = 0; i < rows; i++) {
        if (sp[i] === tp[i]) agree++;
        if (labels) {
          if (sp[i] === labels[n + i]) correct++;
          if (tp[i] === labels[n + i]) teacherCorrect++;
        }
      }
      s[o.studentOutput].dispose();
      t[o.teacherOutput].dispose();
      n += rows;
    }
    const runs = Math.max(1, o.latencyRuns);
    return {
      loads: true,
      samples: n,
      accuracy: labels && n ? correct / n : null,
      teacherAccuracy: labels && n ? teacherCorrect / n : null,
      agreement: n ? agree / n : null,
      studentBytes: fs.statSync(studentFile).size,
      teacherBytes: fs.statSync(o.teacherFile).size,
      latencyMs: sample ? await latency(sSession, rename(sample), runs) : null,
      teacherLatencyMs: sample ? await latency(tSession, sample, runs) : null,
      executionProvider: o.executionProvider,
      data: `${o.split.source}${o.split.samples ? ` (${n} samples${o.split.shuffleSeed !== null ? `, shuffled with seed ${o.split.shuffleSeed}` : ''})` : ''}`,
    };
  } finally {
    await sSession.release();
    await tSession.release();
  }
}

// Re-quantizing a float model with the ranges of an earlier run (no new calibration) and scoring
// a quantized model against the float one: the two steps sensitivity and keep-in-float repeat.
import type { QuantResult, QuantSettings } from '../../shared/quantResult';
import type { ModelSummary } from '../../shared/quantReport';
import { batchSampleCount, type DataSource } from '../data';
import { readModel } from '../onnx/model';
import { quantizeModel } from '../quant/pipeline';
import { createSessionFromFile, type ort } from '../runtime/session';
import { measureLatency } from './latency';
import type { Labels } from './labels';
import { OutputComparison } from './outputs';
import { modelBytes } from '../onnx/write';

/** A pattern the quantization plan reads as exactly this node name (names may hold / * ?). */
export function exactNode(name: string): string {
  return `/^${name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$/`;
}

/** The nodes an earlier run quantized. */
export function quantizedNodes(previous: QuantResult): string[] {
  return previous.nodes.filter((n) => n.quantized).map((n) => n.node);
}

/** Quantizes `floatFile` again with the earlier run's settings and ranges, changing which nodes are
 *  quantized; the QuantResult goes beside the output unless `resultFile` says otherwise. */
export async function requantize(
  floatFile: string,
  previous: QuantResult,
  change: Pick<Partial<QuantSettings>, 'include' | 'exclude'>,
  output: string,
  signal?: AbortSignal,
  resultFile?: string | false,
): Promise<QuantResult> {
  const settings: QuantSettings = { ...previous.settings, ...change };
  return quantizeModel(floatFile, settings, { output, resultFile, signal, rangesFrom: previous });
}

export interface Score {
  outputSqnr: number | null;
  top1Agreement: number | null;
  accuracy: number | null;
  samples: number;
}

export interface ScoreOptions {
  samples?: number | null;
  batchSize: number;
  ep: string;
  labels?: Labels;
  signal?: AbortSignal;
}

/** Output SQNR, agreement and accuracy of a quantized model against the float session, streamed. */
export async function scoreModel(
  floatSession: ort.InferenceSession,
  quantFile: string,
  outputNames: string[],
  data: DataSource,
  o: ScoreOptions,
): Promise<Score> {
  const session = await createSessionFromFile(await readModel(quantFile), { executionProviders: [o.ep] });
  const cmp = new OutputComparison(outputNames, o.labels);
  let used = 0;
  try {
    for await (const feeds of data.batches({ batchSize: o.batchSize, limit: o.samples ?? undefined, signal: o.signal })) {
      const f = await floatSession.run(feeds);
      const q = await session.run(feeds);
      cmp.add(f, q, used);
      for (const r of [f, q]) for (const t of Object.values(r)) t.dispose();
      used += batchSampleCount(feeds);
    }
  } finally {
    await session.release();
  }
  return { outputSqnr: cmp.sqnr(), top1Agreement: cmp.top1Agreement(), accuracy: cmp.accuracy()?.quantized ?? null, samples: used };
}

/** A model's summary: its score, size and (with runs > 0) median latency on one batch. */
export async function summarize(file: string, score: Score, feeds: Record<string, ort.Tensor> | undefined, runs: number, ep: string): Promise<ModelSummary> {
  let medianMs: number | null = null;
  if (feeds && runs > 0) {
    const s = await createSessionFromFile(await readModel(file), { executionProviders: [ep] });
    try {
      medianMs = (await measureLatency(s, feeds, runs, ep)).medianMs;
    } finally {
      await s.release();
    }
  }
  return { file, outputSqnr: score.outputSqnr, top1Agreement: score.top1Agreement, accuracy: score.accuracy, bytes: modelBytes(file), medianMs };
}

/** The first batch of the data (for latency). */
export async function firstBatch(data: DataSource, batchSize: number): Promise<Record<string, ort.Tensor> | undefined> {
  for await (const b of data.batches({ batchSize, limit: batchSize })) return b;
  return undefined;
}

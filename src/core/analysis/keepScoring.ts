// Scoring for keep-in-float: the float model's session and the evaluation data, opened once, to
// score the model a request starts from and each candidate of the automatic search, which adds
// the nodes whose exclusion helps most (sensitivity, all-but-one) one at a time until the target is met.
import * as fs from 'fs';
import type { KeepInFloatReport, ModelSummary, SensitivityReport } from '../../shared/quantReport';
import type { QuantResult } from '../../shared/quantResult';
import { openDataSource, type DataSource } from '../data';
import { errorMessage } from '../errors';
import { temporaryName } from '../files';
import { readModel } from '../onnx/model';
import { chooseProvider } from '../runtime/providers';
import { createSessionFromFile, type ort } from '../runtime/session';
import { ANALYSIS_DEFAULTS, type AnalysisOptions, type AnalysisProgress } from './analyze';
import { KeepInFloatError } from './errors';
import { valueOf, type KeepTarget } from './keepReport';
import { writeKeptInFloat } from './keptInFloatModel';
import { readLabels, type Labels } from './labels';
import { firstBatch, scoreModel, summarize, type Score } from './requantize';
import { floatNameOf } from './match';
import { measureSensitivity } from './sensitivity';

/** The evaluation scoring uses: the analysis' own options. */
export type ScoringOptions = Pick<AnalysisOptions, 'data' | 'labels' | 'samples' | 'batchSize' | 'ep' | 'latencyRuns' | 'sensitivitySamples'>;

interface Opened {
  floatFile: string;
  previous: QuantResult;
  data: DataSource;
  floatSession: ort.InferenceSession;
  outputs: string[];
  labels?: Labels;
  ep: string;
  batchSize: number;
  samples: number | null;
  runs: number;
  /** The first batch: latency is measured on it, and the written model verified with it. */
  feeds?: Record<string, ort.Tensor>;
  sensitivitySamples: number;
  signal?: AbortSignal;
}

/** The float model and the data, open for scoring; close() releases the session. */
export class KeepScoring {
  private constructor(private readonly c: Opened) {}

  static async open(floatFile: string, previous: QuantResult, o: ScoringOptions, signal?: AbortSignal): Promise<KeepScoring> {
    const float = await readModel(floatFile);
    const ep = (await chooseProvider(o.ep ?? previous.settings.executionProvider)).provider;
    let data: DataSource;
    try {
      data = await openDataSource(o.data, float);
    } catch (e) {
      throw new KeepInFloatError(`the evaluation data does not fit the float model: ${errorMessage(e)}`, o.data);
    }
    const samples = o.samples === undefined ? ANALYSIS_DEFAULTS.samples : o.samples;
    const labels = o.labels ? await readLabels(o.labels, samples ?? undefined) : undefined;
    const batchSize = o.batchSize ?? ANALYSIS_DEFAULTS.batchSize;
    const floatSession = await createSessionFromFile(float, { executionProviders: [ep] });
    return new KeepScoring({
      floatFile,
      previous,
      data,
      floatSession,
      outputs: float.proto.graph!.output.map((x) => x.name!),
      labels,
      ep,
      batchSize,
      samples,
      runs: o.latencyRuns ?? ANALYSIS_DEFAULTS.latencyRuns,
      feeds: await firstBatch(data, batchSize),
      sensitivitySamples: o.sensitivitySamples ?? ANALYSIS_DEFAULTS.sensitivitySamples,
      signal,
    });
  }

  async close(): Promise<void> {
    await this.c.floatSession.release();
  }

  get firstFeeds(): Record<string, ort.Tensor> | undefined {
    return this.c.feeds;
  }

  score(file: string): Promise<Score> {
    const c = this.c;
    return scoreModel(c.floatSession, file, c.outputs, c.data, { samples: c.samples, batchSize: c.batchSize, ep: c.ep, labels: c.labels, signal: c.signal });
  }

  /** A model's score, size and median latency. */
  async summary(file: string): Promise<ModelSummary> {
    return summarize(file, await this.score(file), this.c.feeds, this.c.runs, this.c.ep);
  }

  /** All-but-one sensitivity of the earlier quantization's nodes. */
  async sensitivity(onProgress?: (p: AnalysisProgress) => void): Promise<SensitivityReport> {
    const c = this.c;
    return measureSensitivity(await readModel(c.floatFile), await readModel(c.previous.output), c.data, {
      floatName: floatNameOf(c.previous.quantizedNames),
      samples: Math.min(c.sensitivitySamples, c.samples ?? Infinity),
      batchSize: c.batchSize,
      ep: c.ep,
      signal: c.signal,
      onProgress,
    });
  }

  /**
   * Keeps the nodes whose exclusion raises the output SQNR most (all-but-one sensitivity) in float,
   * one more at a time, until `target` is met or only one quantized node would be left. Each
   * candidate is a scratch model; the choice is returned, not written.
   */
  async search(
    target: KeepTarget,
    sensitivity: SensitivityReport,
    scratchBeside: string,
    onProgress?: (p: AnalysisProgress) => void,
  ): Promise<{ kept: string[]; steps: KeepInFloatReport['steps'] }> {
    const order = [...sensitivity.entries].sort((a, b) => (b.allButThisSqnr ?? -Infinity) - (a.allButThisSqnr ?? -Infinity)).map((e) => e.node);
    const kept: string[] = [];
    const steps: KeepInFloatReport['steps'] = [];
    const scratch = `${temporaryName(scratchBeside)}.onnx`;
    try {
      for (const node of order.slice(0, Math.max(0, order.length - 1))) {
        if (this.c.signal?.aborted) throw new KeepInFloatError('cancelled', scratchBeside);
        kept.push(node);
        onProgress?.({ stage: `keeping ${kept.length} node(s) in float`, batch: kept.length, total: order.length - 1 });
        await writeKeptInFloat(this.c.floatFile, this.c.previous, kept, scratch, { signal: this.c.signal, scratch: true });
        const achieved = valueOf(await this.score(scratch), target.kind);
        steps.push({ node, achieved });
        if (achieved !== null && achieved >= target.value) break;
      }
    } finally {
      for (const f of [scratch, `${scratch}.data`]) fs.rmSync(f, { force: true });
    }
    return { kept, steps };
  }
}

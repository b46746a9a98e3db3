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
import { createSession, type ort } from '../runtime/session';
import { ANALYSIS_DEFAULTS, type AnalysisOptions, type AnalysisProgress } from './analyze';
import { KeepInFloatError } from './errors';
import { valueOf, type KeepTarget } from './keepReport';
import { writeKeptInFloat } from './keptInFloatModel';
import { readLabels } from './labels';
import { firstBatch, scoreModel, summarize, type Score } from './requantize';
import { floatNameOf } from './match';
import { measureSensitivity } from './sensitivity';

/** The evaluation scoring uses: the analysis' own options. */
export type ScoringOptions = Pick<AnalysisOptions, 'data' | 'labels' | 'samples' | 'batchSize' | 'ep' | 'latencyRuns' | 'sensitivitySamples'>;

/** The float model and the data, open for scoring; close() releases the session. */
export class KeepScoring {
  private constructor(
    readonly floatFile: string, readonly previous: QuantResult, private readonly data: DataSource, private readonly floatSession: ort.InferenceSession,
    private readonly outputs: string[], private readonly labels: Int32Array | undefined, private readonly ep: string, private readonly batchSize: number,
    private readonly samples: number | null, private readonly runs: number, private readonly feeds: Record<string, ort.Tensor> | undefined,
    private readonly sensitivitySamples: number, private readonly signal?: AbortSignal,
  ) {}

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
    const floatSession = await createSession(float, { executionProviders: [ep] });
    return new KeepScoring(
      floatFile, previous, data, floatSession, float.proto.graph!.output.map((x) => x.name!), labels, ep, batchSize, samples,
      o.latencyRuns ?? ANALYSIS_DEFAULTS.latencyRuns, await firstBatch(data, batchSize), o.sensitivitySamples ?? ANALYSIS_DEFAULTS.sensitivitySamples, signal,
    );
  }

  async close(): Promise<void> {
    await this.floatSession.release();
  }

  score(file: string): Promise<Score> {
    return scoreModel(this.floatSession, file, this.outputs, this.data, { samples: this.samples, batchSize: this.batchSize, ep: this.ep, labels: this.labels, signal: this.signal });
  }

  /** A model's score, size and median latency. */
  async summary(file: string): Promise<ModelSummary> {
    return summarize(file, await this.score(file), this.feeds, this.runs, this.ep);
  }

  /** All-but-one sensitivity of the earlier quantization's nodes. */
  sensitivity(onProgress?: (p: AnalysisProgress) => void): Promise<SensitivityReport> {
    return readModel(this.floatFile).then(async (float) => measureSensitivity(float, await readModel(this.previous.output), this.data, {
      floatName: floatNameOf(this.previous.quantizedNames), samples: Math.min(this.sensitivitySamples, this.samples ?? Infinity), batchSize: this.batchSize, ep: this.ep, signal: this.signal, onProgress,
    }));
  }

  /**
   * Keeps the nodes whose exclusion raises the output SQNR most (all-but-one sensitivity) in float,
   * one more at a time, until `target` is met or only one quantized node would be left. Each
   * candidate is a scratch model; the choice is returned, not written.
   */
  async search(target: KeepTarget, sensitivity: SensitivityReport, scratchBeside: string, onProgress?: (p: AnalysisProgress) => void): Promise<{ kept: string[]; steps: KeepInFloatReport['steps'] }> {
    const order = [...sensitivity.entries].sort((a, b) => (b.allButThisSqnr ?? -Infinity) - (a.allButThisSqnr ?? -Infinity)).map((e) => e.node);
    const kept: string[] = [];
    const steps: KeepInFloatReport['steps'] = [];
    const scratch = `${temporaryName(scratchBeside)}.onnx`;
    try {
      for (const node of order.slice(0, Math.max(0, order.length - 1))) {
        if (this.signal?.aborted) throw new KeepInFloatError('cancelled', scratchBeside);
        kept.push(node);
        onProgress?.({ stage: `keeping ${kept.length} node(s) in float`, batch: kept.length, total: order.length - 1 });
        await writeKeptInFloat(this.floatFile, this.previous, kept, scratch, { signal: this.signal, scratch: true });
        const achieved = valueOf(await this.score(scratch), target.kind);
        steps.push({ node, achieved });
        if (achieved !== null && achieved >= target.value) break;
      }
    } finally {
      for (const f of [scratch, `${scratch}.data`]) fs.rmSync(f, { force: true });
    }
    return { kept, steps };
  }

  /** The feeds of the first batch, for verifying the written model. */
  get firstFeeds(): Record<string, ort.Tensor> | undefined {
    return this.feeds;
  }
}

// A language model's output [batch, seq, vocabulary] compared position by position: does the
// quantized model pick the same most likely next token as the float model (next-token agreement),
// and, with next-token labels [samples, seq], how much probability each model gives the true next
// token (cross-entropy in nats/token, perplexity = exp of it). Only running sums are kept.
import type { LanguageModelReport } from '../../shared/quantReport';
import { AnalysisError } from './errors';
import type { Labels } from './labels';

function argmax(values: Float32Array, base: number, vocabulary: number): number {
  let best = 0;
  for (let c = 1; c < vocabulary; c++) if (values[base + c] > values[base + best]) best = c;
  return best;
}

/** −log softmax(values[base .. base + vocabulary))[label], in float64 (log-sum-exp around the max). */
export function tokenCrossEntropy(values: ArrayLike<number>, base: number, vocabulary: number, label: number): number {
  let max = -Infinity;
  for (let c = 0; c < vocabulary; c++) if (values[base + c] > max) max = values[base + c];
  let sum = 0;
  for (let c = 0; c < vocabulary; c++) sum += Math.exp(values[base + c] - max);
  return max + Math.log(sum) - values[base + label];
}

export class NextTokenComparison {
  private agree = 0;
  private tokens = 0;
  private labelled = 0;
  private samplesLabelled = 0;
  private ceFloat = 0;
  private ceQuant = 0;
  private vocabulary = 0;

  constructor(
    readonly output: string,
    private readonly labels?: Labels,
    /** Names the labels file in errors. */
    private readonly labelsFile?: string,
  ) {}

  /** Labels for sequences: one per position, as many positions as the output has. */
  get usesLabels(): boolean {
    return !!this.labels && this.labels.perSample > 1;
  }

  /** One batch of [batch, seq, vocabulary] scores from each model; `first` is the batch's first sample index. */
  add(dims: readonly number[], f: Float32Array, q: Float32Array, first: number): void {
    const [batch, seq, vocabulary] = dims;
    this.vocabulary = vocabulary;
    const labels = this.usesLabels ? this.labels : undefined;
    if (labels && labels.perSample !== seq)
      throw new AnalysisError(
        `the labels hold ${labels.perSample} next-token labels per sample but output '${this.output}' has ${seq} positions; give labels of the same sequence length as the data`,
        this.labelsFile,
      );
    for (let b = 0; b < batch; b++) {
      const sample = first + b;
      const row = labels && (sample + 1) * seq <= labels.values.length ? sample * seq : -1;
      if (row >= 0) this.samplesLabelled++;
      for (let t = 0; t < seq; t++) {
        const base = (b * seq + t) * vocabulary;
        if (argmax(f, base, vocabulary) === argmax(q, base, vocabulary)) this.agree++;
        if (row < 0) continue;
        const label = labels!.values[row + t];
        if (label < 0) continue;
        if (label >= vocabulary)
          throw new AnalysisError(
            `next-token label ${label} (sample ${sample}, position ${t}) is outside the vocabulary of output '${this.output}' (${vocabulary} tokens)`,
            this.labelsFile,
          );
        this.ceFloat += tokenCrossEntropy(f, base, vocabulary, label);
        this.ceQuant += tokenCrossEntropy(q, base, vocabulary, label);
        this.labelled++;
      }
    }
    this.tokens += batch * seq;
  }

  /** Positions whose label was used. */
  get labelledTokens(): number {
    return this.labelled;
  }

  /** Samples that had a row of labels (fewer than the samples compared: the labels ran out). */
  get labelledSamples(): number {
    return this.samplesLabelled;
  }

  /** Labels were used but a model's cross-entropy is not a finite number (NaN or infinite scores). */
  get nonFinite(): boolean {
    return this.labelled > 0 && !this.crossEntropy();
  }

  private crossEntropy(): { float: number; quantized: number } | null {
    if (!this.labelled) return null;
    const ce = { float: this.ceFloat / this.labelled, quantized: this.ceQuant / this.labelled };
    // Every number in a report is finite; perplexity must be too.
    return Number.isFinite(Math.exp(ce.float)) && Number.isFinite(Math.exp(ce.quantized)) ? ce : null;
  }

  report(): LanguageModelReport | null {
    if (!this.tokens) return null;
    const ce = this.crossEntropy();
    return {
      output: this.output,
      vocabulary: this.vocabulary,
      tokens: this.tokens,
      nextTokenAgreement: this.agree / this.tokens,
      labelledTokens: this.labelled,
      crossEntropy: ce,
      perplexity: ce && { float: Math.exp(ce.float), quantized: Math.exp(ce.quantized) },
      crossEntropyIncrease: ce && ce.quantized - ce.float,
      perplexityIncrease: ce && Math.expm1(ce.quantized - ce.float),
    };
  }
}

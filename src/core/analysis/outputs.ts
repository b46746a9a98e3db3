// Whole-model comparison of a float model's outputs with a quantized model's, streamed batch by
// batch: per output the error metrics; when the first output is class scores, top-1 agreement and,
// with labels, the accuracy of both; when it is a language model's next-token scores, the same per
// position (nextToken.ts).
//
// When is an output class scores? Its shape alone cannot say: an embedding [1, 512] has the shape
// of 512 class logits, and the argmax of an embedding means nothing. The rule:
//   - rank 2, [N, C] with C >= 2, float32;
//   - and not an embedding: its name does not call it one (embedding, features, hidden state,
//     pooled output, latent, descriptor, encoding, vector), and its rows are not all of unit
//     length (embeddings are normalised for cosine similarity; logits and probabilities are not);
//   - and not a regression output: its name does not call it boxes, coordinates, landmarks,
//     keypoints, depth, disparity, optical flow or audio (a spectrogram, a waveform).
// Next-token scores follow the same rule at rank 3, [N, seq, vocabulary], and also need a sign
// that the model reads tokens: an integer first input (token ids), or a name saying logits, scores
// or probabilities; a sequence of float features in and out ([N, frames, 80]) is not a vocabulary.
// Labels do not override this: accuracy needs class scores too. What is neither is compared by
// SQNR and cosine only. An unnormalised output with a neutral name ('output', [1, 128]) cannot be
// told apart from logits and is taken as class scores.
import type { LanguageModelReport, OutputReport } from '../../shared/quantReport';
import type { ort } from '../runtime/session';
import type { Labels } from './labels';
import { ErrorAccumulator } from './metrics';
import { NextTokenComparison } from './nextToken';

const EMBEDDING_NAME = /embed|feature|feat\b|hidden|pool|latent|descriptor|encod|vector/i;
const REGRESSION_NAME = /box|coord|landmark|keypoint|depth|dispar|flow|spectr|(?:^|[^a-z])mel(?:[^a-z]|$)|wave|audio|regress/i;
const SCORES_NAME = /logit|score|prob/i;

export interface OutputComparisonOptions {
  /** The model's first input is integer (token ids): a rank-3 output may be next-token scores. */
  tokenInput?: boolean;
  /** The labels file, named in errors about the labels. */
  labelsFile?: string;
}

/** Every row has unit L2 norm (to float32 precision) and is not a probability vector (a confident
 *  softmax row is nearly one-hot, also of length 1). */
function unitRows(values: ArrayLike<number>, rows: number, classes: number): boolean {
  for (let r = 0; r < rows; r++) {
    let squares = 0;
    let sum = 0;
    let negative = false;
    for (let c = 0; c < classes; c++) {
      const v = values[r * classes + c];
      squares += v * v;
      sum += v;
      negative ||= v < 0;
    }
    if (Math.abs(Math.sqrt(squares) - 1) > 1e-3) return false;
    if (!negative && Math.abs(sum - 1) < 1e-3) return false;
  }
  return true;
}

function argmaxRows(values: ArrayLike<number>, rows: number, classes: number, row: number): number {
  let best = 0;
  const base = row * classes;
  for (let c = 1; c < classes; c++) if (values[base + c] > values[base + best]) best = c;
  return best;
}

export class OutputComparison {
  private readonly errors: Map<string, ErrorAccumulator>;
  private agree = 0;
  private rows = 0;
  /** What the first output's name and the model's input allow it to be (shapes decide the rest). */
  private kind: 'classes' | 'next-token' | 'other';
  /** Every row seen so far has unit length (an embedding normalised for cosine similarity). */
  private unitLength = true;
  private floatRight = 0;
  private quantRight = 0;
  private labelled = 0;
  private readonly nextToken: NextTokenComparison | undefined;

  constructor(
    readonly names: string[],
    private readonly labels?: Labels,
    options: OutputComparisonOptions = {},
  ) {
    this.errors = new Map(names.map((n) => [n, new ErrorAccumulator()]));
    const first = names[0];
    const scoresLike = first !== undefined && !EMBEDDING_NAME.test(first) && !REGRESSION_NAME.test(first);
    // Rank decides between the two on the first batch.
    this.kind = scoresLike ? 'classes' : 'other';
    if (scoresLike && (options.tokenInput || SCORES_NAME.test(first))) this.nextToken = new NextTokenComparison(first, labels, options.labelsFile);
  }

  /** One batch: the outputs of both models for the same feeds; `first` is the batch's first sample index. */
  add(float: Record<string, ort.Tensor>, quant: Record<string, ort.Tensor>, first: number): void {
    for (const [name, acc] of this.errors) acc.add(float[name].data as Float32Array, quant[name].data as Float32Array);
    const f = float[this.names[0]];
    const q = quant[this.names[0]];
    if (this.kind === 'other') return;
    if (f.type !== 'float32' || f.dims.length < 2 || f.dims[f.dims.length - 1] < 2) {
      this.kind = 'other';
      return;
    }
    const fv = f.data as Float32Array;
    const qv = q.data as Float32Array;
    if (f.dims.length === 3 && this.nextToken && this.rows === 0) {
      this.kind = 'next-token';
      const positions = f.dims[0] * f.dims[1];
      if (this.unitLength) this.unitLength = unitRows(fv, positions, f.dims[2]);
      this.nextToken.add(f.dims, fv, qv, first);
      return;
    }
    if (f.dims.length !== 2 || this.kind !== 'classes') {
      this.kind = 'other';
      return;
    }
    const [rows, classes] = [f.dims[0], f.dims[1]];
    if (this.unitLength) this.unitLength = unitRows(fv, rows, classes);
    for (let r = 0; r < rows; r++) {
      const a = argmaxRows(fv, rows, classes, r);
      const b = argmaxRows(qv, rows, classes, r);
      if (a === b) this.agree++;
      const label = this.labels?.perSample === 1 && first + r < this.labels.values.length ? this.labels.values[first + r] : undefined;
      if (label !== undefined) {
        this.labelled++;
        if (a === label) this.floatRight++;
        if (b === label) this.quantRight++;
      }
    }
    this.rows += rows;
  }

  outputs(): OutputReport[] {
    return this.names.map((name) => ({ name, error: this.errors.get(name)!.result() }));
  }

  /** Output SQNR of the first output (dB). */
  sqnr(): number | null {
    return this.errors.get(this.names[0])!.result().sqnr;
  }

  /** The first output is class scores (see the rule above); decided over every batch seen. */
  get classScores(): boolean {
    return this.kind === 'classes' && this.rows > 0 && !this.unitLength;
  }

  /** The first output is a language model's next-token scores (see the rule above). */
  get nextTokenScores(): boolean {
    return this.kind === 'next-token' && !this.unitLength;
  }

  /** Next-token agreement and, with labels, cross-entropy and perplexity; null unless next-token scores. */
  languageModel(): LanguageModelReport | null {
    return this.nextTokenScores ? this.nextToken!.report() : null;
  }

  /** Next-token labels were given and read, but a cross-entropy came out NaN or infinite. */
  get nonFiniteCrossEntropy(): boolean {
    return this.nextTokenScores && this.nextToken!.nonFinite;
  }

  top1Agreement(): number | null {
    return this.classScores ? this.agree / this.rows : null;
  }

  accuracy(): { float: number; quantized: number } | null {
    return this.classScores && this.labelled ? { float: this.floatRight / this.labelled, quantized: this.quantRight / this.labelled } : null;
  }

  /** Samples with a label (fewer than the samples compared means the labels ran out); for
   *  next-token scores, the samples whose positions had labels. */
  get labelledSamples(): number {
    return this.kind === 'next-token' ? this.nextToken!.labelledSamples : this.labelled;
  }
}

// Whole-model comparison of a float model's outputs with a quantized model's, streamed batch by
// batch: per output the error metrics, top-1 agreement when the first output is class scores and,
// with labels, the accuracy of both.
//
// When is an output class scores? Its shape alone cannot say: an embedding [1, 512] has the shape
// of 512 class logits, and the argmax of an embedding means nothing. The rule:
//   - rank 2, [N, C] with C >= 2, float32;
//   - and not an embedding: its name does not call it one (embedding, features, hidden state,
//     pooled output, latent, descriptor, encoding, vector), and its rows are not all of unit
//     length (embeddings are normalised for cosine similarity; logits and probabilities are not).
// Labels do not override this: accuracy needs class scores too. What is not class scores is
// compared by SQNR and cosine only. An unnormalised output with a neutral name ('output', [1, 128])
// cannot be told apart from logits and is taken as class scores.
import type { OutputReport } from '../../shared/quantReport';
import type { ort } from '../runtime/session';
import { ErrorAccumulator } from './metrics';

const EMBEDDING_NAME = /embed|feature|feat\b|hidden|pool|latent|descriptor|encod|vector/i;

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
  /** Shaped like class scores in every batch so far. */
  private classifier: boolean;
  /** Every row seen so far has unit length (an embedding normalised for cosine similarity). */
  private unitLength = true;
  private floatRight = 0;
  private quantRight = 0;
  private labelled = 0;

  constructor(
    readonly names: string[],
    private readonly labels?: Int32Array,
  ) {
    this.errors = new Map(names.map((n) => [n, new ErrorAccumulator()]));
    this.classifier = names.length > 0 && !EMBEDDING_NAME.test(names[0]);
  }

  /** One batch: the outputs of both models for the same feeds; `first` is the batch's first sample index. */
  add(float: Record<string, ort.Tensor>, quant: Record<string, ort.Tensor>, first: number): void {
    for (const [name, acc] of this.errors) acc.add(float[name].data as Float32Array, quant[name].data as Float32Array);
    const f = float[this.names[0]];
    const q = quant[this.names[0]];
    if (!this.classifier || f.dims.length !== 2 || f.dims[1] < 2 || f.type !== 'float32') {
      this.classifier = false;
      return;
    }
    const [rows, classes] = [f.dims[0], f.dims[1]];
    const fv = f.data as Float32Array;
    const qv = q.data as Float32Array;
    if (this.unitLength) this.unitLength = unitRows(fv, rows, classes);
    for (let r = 0; r < rows; r++) {
      const a = argmaxRows(fv, rows, classes, r);
      const b = argmaxRows(qv, rows, classes, r);
      if (a === b) this.agree++;
      const label = this.labels && first + r < this.labels.length ? this.labels[first + r] : undefined;
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
    return this.classifier && this.rows > 0 && !this.unitLength;
  }

  top1Agreement(): number | null {
    return this.classScores ? this.agree / this.rows : null;
  }

  accuracy(): { float: number; quantized: number } | null {
    return this.classScores && this.labelled ? { float: this.floatRight / this.labelled, quantized: this.quantRight / this.labelled } : null;
  }

  /** Samples with a label (fewer than the samples compared means the labels ran out). */
  get labelledSamples(): number {
    return this.labelled;
  }
}

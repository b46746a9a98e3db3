// Whole-model comparison of a float model's outputs with a quantized model's, streamed batch by
// batch: per output the error metrics, top-1 agreement for a classifier-shaped first output
// ([N, classes]) and, with labels, the accuracy of both.
import type { OutputReport } from '../../shared/quantReport';
import type { ort } from '../runtime/session';
import { ErrorAccumulator } from './metrics';

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
  private classifier = true;
  private floatRight = 0;
  private quantRight = 0;
  private labelled = 0;

  constructor(readonly names: string[], private readonly labels?: Int32Array) {
    this.errors = new Map(names.map((n) => [n, new ErrorAccumulator()]));
  }

  /** One batch: the outputs of both models for the same feeds; `first` is the batch's first sample index. */
  add(float: Record<string, ort.Tensor>, quant: Record<string, ort.Tensor>, first: number): void {
    for (const [name, acc] of this.errors) acc.add(float[name].data as Float32Array, quant[name].data as Float32Array);
    const f = float[this.names[0]];
    const q = quant[this.names[0]];
    if (f.dims.length !== 2 || f.dims[1] < 2 || f.type !== 'float32') {
      this.classifier = false;
      return;
    }
    const [rows, classes] = [f.dims[0], f.dims[1]];
    const fv = f.data as Float32Array;
    const qv = q.data as Float32Array;
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

  top1Agreement(): number | null {
    return this.classifier && this.rows ? this.agree / this.rows : null;
  }

  accuracy(): { float: number; quantized: number } | null {
    return this.classifier && this.labelled ? { float: this.floatRight / this.labelled, quantized: this.quantRight / this.labelled } : null;
  }

  /** Samples with a label (fewer than the samples compared means the labels ran out). */
  get labelledSamples(): number {
    return this.labelled;
  }
}

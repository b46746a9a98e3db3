// The collector contract shared by every calibration method (docs/quantization.md, section 4).
// A collector sees one tensor's values one batch at a time and keeps only running statistics,
// so calibration memory does not grow with the number of batches.

export type CalibrationMethod = 'minmax' | 'percentile' | 'entropy' | 'mse';

export interface CalibrationOptions {
  method: CalibrationMethod;
  /**
   * MinMax only: constant c in (0, 1]. After the first batch, running = running + c * (batch -
   * running) (= (1 - c) * running + c * batch) for the min and the max. Undefined: plain running
   * min/max.
   */
  movingAverage?: number;
  /** Percentile: the percentile kept, in [0, 100]. Default 99.999. */
  percentile?: number;
  /** Percentile, entropy, MSE: search on |x| instead of x. */
  symmetric?: boolean;
  /** Histogram bins. Default 2048; 128 for entropy in parity mode. */
  bins?: number;
  /** Entropy: quantized levels the candidate windows are re-binned to. Default 128. */
  quantizedBins?: number;
  /** Entropy: reproduce ONNX Runtime's Python tool (128/128 defaults, its histogram widening rule). */
  parity?: boolean;
  /** MSE: bits of the target integer type. Default 8. */
  targetBits?: number;
}

export interface CollectedRange {
  rmin: number;
  rmax: number;
  /** Warnings and what was ignored, for the report. */
  note?: string;
}

/** One batch's extremes over its values, computed inside the graph (NaN/±Inf-free batches only). */
export interface BatchExtremes {
  min: number;
  max: number;
  /** Smallest |x|: only when the collector asked for it. */
  absMin?: number;
}

export interface Collector {
  /** Passes over the calibration data: 2 for histogram methods (ranges first, then bins). */
  readonly passes: 1 | 2;
  /** The method and its settings as the report names them. */
  readonly label: string;
  /** One batch of one tensor; the collector keeps nothing that refers to `values`. */
  add(values: Float32Array, pass: number): void;
  /**
   * Whether `pass` needs no more than each batch's extremes (then calibration computes them in the
   * graph and calls addExtremes instead of copying the tensor out), and whether that includes |x|'s
   * minimum. Null: the pass needs the values.
   */
  extremesFor(pass: number): { absMin: boolean } | null;
  addExtremes(e: BatchExtremes, pass: number): void;
  /** The float range to derive the scale and zero point from. */
  range(): CollectedRange;
  /** Numbers held as state: constant whatever the number of batches (tests check it). */
  stateSize(): number;
}

// What a quantization run did, as JSON: every effective setting, the parameters of every
// quantized tensor, what was quantized and what was skipped and why, sizes, fusion. Written beside
// the quantized model; the settings part alone is a recipe that can be replayed.

export const QUANT_RESULT_FORMAT = 'onnx-compress/quant-result';
export const QUANT_RESULT_VERSION = 1;
export const QUANT_RECIPE_FORMAT = 'onnx-compress/quant-recipe';

export type QuantMode = 'static' | 'dynamic';
export type CalibrationMethodName = 'minmax' | 'percentile' | 'entropy' | 'mse';
export type ActivationTypeName = 'uint8' | 'int8' | 'uint16' | 'int16';
export type WeightTypeName = 'int8' | 'uint8';
/** How the quantized model is written: Q/DQ pairs around float ops, or QLinearConv/QLinearMatMul nodes. */
export type QuantFormatName = 'qdq' | 'qoperator';

/** The settings of a run, all of them, with defaults filled in. */
export interface QuantSettings {
  mode: QuantMode;
  /** Calibration data: a path, or `synthetic[:N]`. Not used by dynamic mode. */
  calibration: string;
  method: CalibrationMethodName;
  /** Percentile method: the percentile kept. */
  percentile: number;
  /** MinMax: moving-average constant, or null for plain running min/max. */
  movingAverage: number | null;
  /** Entropy: reproduce the reference tool's 128/128 histogram. */
  entropyParity: boolean;
  perChannel: boolean;
  /** Per channel for these op types only (when perChannel is off). */
  perChannelOpTypes: string[];
  /** Per-tensor choices that replace the calibrated ones (activations; `symmetric` for weights too). */
  tensorOverrides: Record<string, TensorOverride>;
  activationType: ActivationTypeName;
  weightType: WeightTypeName;
  symmetricActivations: boolean;
  symmetricWeights: boolean;
  reduceRange: boolean;
  /** Op types to quantize. */
  opTypes: string[];
  /** Node names or patterns (exact, glob with * and ?, or /regex/) to keep in float. */
  exclude: string[];
  /** Only these nodes, when given. */
  include: string[];
  samples: number | null;
  batchSize: number;
  shuffleSeed: number | null;
  executionProvider: string;
  /** A Q/DQ pair per consumer instead of one per tensor. */
  dedicatedQdqPerConsumer: boolean;
  /** Static mode: 'qdq' (Q/DQ pairs, fused by the runtime) or 'qoperator' (QLinearConv/QLinearMatMul written out). */
  format: QuantFormatName;
}

export interface TensorOverride {
  type?: ActivationTypeName;
  symmetric?: boolean;
  /** A float range used instead of the calibrated one. */
  range?: [number, number];
  /** Fixed parameters (both together). */
  scale?: number;
  zeroPoint?: number;
}

export interface QuantRecipe {
  format: typeof QUANT_RECIPE_FORMAT;
  version: 1;
  settings: Partial<QuantSettings>;
}

export interface TensorQuantization {
  tensor: string;
  kind: 'activation' | 'weight' | 'bias' | 'constant';
  type: string;
  /** The float range the parameters come from (activations: after calibration and adjustments). */
  range: [number, number] | null;
  /** How the range was chosen: the method, or why it was adjusted (Relu fusion, Softmax...). */
  rangeSource: string;
  scale: number[];
  zeroPoint: number[];
  axis: number | null;
}

export interface NodeDecision {
  node: string;
  opType: string;
  quantized: boolean;
  /** Why it was skipped, or how it was quantized. */
  reason: string;
}

export interface FusionReport {
  /** Quantized Conv/MatMul/Gemm nodes. */
  candidates: number;
  /** Of them, how many onnxruntime turned into integer kernels. */
  fused: number;
  integerOps: Record<string, number>;
  /** Quantized nodes left in float after optimization, with the likely reason. */
  unfused: Array<{ node: string; opType: string; reason: string }>;
}

export interface QuantResult {
  format: typeof QUANT_RESULT_FORMAT;
  version: typeof QUANT_RESULT_VERSION;
  input: string;
  output: string;
  settings: QuantSettings;
  calibration: { samples: number; batches: number; seconds: number; source: string } | null;
  tensors: TensorQuantization[];
  nodes: NodeDecision[];
  /** Patterns of include/exclude that matched no node. */
  unmatchedPatterns: string[];
  sizes: { inputBytes: number; outputBytes: number; ratio: number };
  fusion: FusionReport | null;
  verification: { loads: boolean; ran: boolean; note: string };
  warnings: string[];
}

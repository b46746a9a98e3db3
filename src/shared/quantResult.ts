// What a quantization run did, as JSON: every effective setting, the parameters of every
// quantized tensor, what was quantized and what was skipped and why, sizes, fusion. Written beside
// the quantized model; the settings part alone is a recipe that can be replayed.
import { Fields, fail, list, num, obj, oneOf, pair, parseWith, str } from './jsonFields';
import { fusion } from './quantReportFields';

export const QUANT_RESULT_FORMAT = 'onnx-compress/quant-result';
export const QUANT_RESULT_VERSION = 1;
export const QUANT_RECIPE_FORMAT = 'onnx-compress/quant-recipe';

/**
 * static/dynamic: 8- or 16-bit integer activations and weights. weight-only: 4- or 8-bit block-wise
 * weights with float activations (MatMulNBits). fp16/bf16: weights and compute in half precision.
 */
export type QuantMode = 'static' | 'dynamic' | 'weight-only' | 'fp16' | 'bf16';
/** Weight-only: how each block's scale and zero point are found. rtn and hqq need no data. */
export type WeightOnlyAlgorithm = 'rtn' | 'hqq' | 'gptq' | 'awq';
/** Weight-only: com.microsoft MatMulNBits/GatherBlockQuantized, or opset-21 blocked DequantizeLinear + MatMul. */
export type WeightOnlyFormat = 'matmulnbits' | 'dequantize-linear';
/** Weight-only, per node: its own bits and block size (keeping a node in float is `exclude`). */
export interface LayerOverride {
  bits?: 4 | 8;
  blockSize?: number;
}
export type CalibrationMethodName = 'minmax' | 'percentile' | 'entropy' | 'mse';
export type ActivationTypeName = 'uint8' | 'int8' | 'uint16' | 'int16';
export type WeightTypeName = 'int8' | 'uint8' | 'int16' | 'uint16';
/** How the quantized model is written: Q/DQ pairs around float ops, or QLinearConv/QLinearMatMul nodes. */
export type QuantFormatName = 'qdq' | 'qoperator';

/** What the user says about one model input, for calibration data (`--input NAME=KIND:ARGS`;
 *  docs/file-formats.md, "Model inputs and calibration data"). */
export interface InputSpec {
  /** Sizes; 'batch' marks the batch axis. */
  shape?: Array<number | 'batch'>;
  /** The batch axis, or null: none (fed whole, the same for every batch). */
  batchAxis?: number | null;
  /** Synthetic values drawn uniformly from [lo, hi) (whole numbers for integer inputs). */
  range?: [number, number];
  /** Synthetic values from a normal distribution: [mean, std]. */
  normal?: [number, number];
  /** Every element of every sample. */
  value?: number;
}

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
  /** Per model input: sizes, batch axis, synthetic values (empty: the rules decide). */
  inputs: Record<string, InputSpec>;
  batchSize: number;
  shuffleSeed: number | null;
  executionProvider: string;
  /** A Q/DQ pair per consumer instead of one per tensor. */
  dedicatedQdqPerConsumer: boolean;
  /** Static mode: 'qdq' (Q/DQ pairs, fused by the runtime) or 'qoperator' (QLinearConv/QLinearMatMul written out). */
  format: QuantFormatName;
  /** Weight-only: bits per weight. */
  bits: 4 | 8;
  /** Weight-only: weights per block along the reduced axis (a power of two, 16 to 256). */
  blockSize: number;
  algorithm: WeightOnlyAlgorithm;
  /** GPTQ: damping added to the Hessian's diagonal, as a fraction of its mean (0.01). */
  gptqDamp: number;
  /** GPTQ: quantize the input channels in order of falling activation energy (act-order). */
  gptqActOrder: boolean;
  /** AWQ: steps of the search over the scaling exponent alpha in [0, 1] (20). */
  awqGrid: number;
  /** Weight-only: MatMulNBits' accuracy_level, the least precision its kernel may compute in
   *  (0 unset, 1 fp32, 2 fp16, 3 bf16, 4 int8 activations). */
  accuracyLevel: 0 | 1 | 2 | 3 | 4;
  weightOnlyFormat: WeightOnlyFormat;
  /** Weight-only: per-node bits and block size. */
  layerOverrides: Record<string, LayerOverride>;
  /** fp16/bf16: graph inputs and outputs keep their float32 type (a Cast at the boundary). */
  keepIoTypes: boolean;
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

/** Weight-only: how far one quantized weight is from its float values, block by block. */
export interface WeightBlockError {
  /** The float weight (initializer) name. */
  tensor: string;
  node: string;
  blocks: number;
  /** Over blocks, ||w - w~|| / ||w|| of each block (0 for an all-zero block): the mean and the worst. */
  meanRelative: number;
  maxRelative: number;
  /** 10 log10(sum w^2 / sum (w - w~)^2) over the whole weight (999 when exact). */
  sqnrDb: number;
}

export interface QuantResult {
  format: typeof QUANT_RESULT_FORMAT;
  version: typeof QUANT_RESULT_VERSION;
  input: string;
  output: string;
  settings: QuantSettings;
  /** `passes`: how many times the data was read (the method's passes, each split when the observed
   *  outputs of a batch passed the calibration output budget); absent in results before it was recorded. */
  calibration: { samples: number; batches: number; seconds: number; source: string; passes?: number } | null;
  tensors: TensorQuantization[];
  nodes: NodeDecision[];
  /** Patterns of include/exclude that matched no node. */
  unmatchedPatterns: string[];
  sizes: { inputBytes: number; outputBytes: number; ratio: number };
  fusion: FusionReport | null;
  /** fp16/bf16 also record each float output's SQNR (dB) against the float model. */
  verification: { loads: boolean; ran: boolean; note: string; outputSqnrDb?: Record<string, number> };
  warnings: string[];
  /**
   * Which float tensor each integer initializer of the output was made from (`W_quantized` ->
   * `W`), as the rewrite named them. Absent in results written before it was recorded.
   */
  quantizedNames?: Record<string, string>;
  /** Weight-only: the reconstruction error of each quantized weight. Absent in other modes. */
  weightErrors?: WeightBlockError[];
}

/** "4-bit asymmetric weights in blocks of 32, rtn, matmulnbits, accuracy level 0": what a weight-only run did. */
export function describeWeightOnly(s: QuantSettings): string {
  return `${s.bits}-bit ${s.symmetricWeights ? 'symmetric' : 'asymmetric'} weights in blocks of ${s.blockSize}, ${describeAlgorithm(s)}, ${s.weightOnlyFormat}, accuracy level ${s.accuracyLevel}`;
}

/** GPTQ's and AWQ's own options when not given (also for results written before they existed). */
export const ALGORITHM_DEFAULTS = { gptqDamp: 0.01, gptqActOrder: false, awqGrid: 20 } as const;

/** "gptq (damp 0.01, act-order)": the algorithm with the options it ran with. */
export function describeAlgorithm(s: QuantSettings): string {
  if (s.algorithm === 'gptq') return `gptq (damp ${s.gptqDamp}${s.gptqActOrder ? ', act-order' : ''})`;
  if (s.algorithm === 'awq') return `awq (alpha grid of ${s.awqGrid} steps)`;
  return s.algorithm;
}

// ---- validation ---------------------------------------------------------------------------------

export class QuantResultError extends Error {}

const MODES = ['static', 'dynamic', 'weight-only', 'fp16', 'bf16'] as const;
const METHODS = ['minmax', 'percentile', 'entropy', 'mse'] as const;
const ACTIVATION_TYPES = ['uint8', 'int8', 'uint16', 'int16'] as const;
const WEIGHT_TYPES = ['int8', 'uint8', 'int16', 'uint16'] as const;
const KINDS = ['activation', 'weight', 'bias', 'constant'] as const;
const strings = (v: unknown, where: string) => list(v, where, str);

function override(v: unknown, where: string): TensorOverride {
  const f = new Fields(v, where);
  const o: TensorOverride = {};
  if (f.o.type !== undefined) o.type = f.get('type', oneOf(ACTIVATION_TYPES));
  if (f.o.symmetric !== undefined) o.symmetric = f.bool('symmetric');
  if (f.o.range !== undefined) o.range = f.get('range', pair);
  if (f.o.scale !== undefined) o.scale = f.num('scale');
  if (f.o.zeroPoint !== undefined) o.zeroPoint = f.num('zeroPoint');
  return o;
}

function inputSpecs(o: Record<string, unknown>, where: string): Record<string, InputSpec> {
  return Object.fromEntries(
    Object.entries(o).map(([name, x]) => {
      const f = new Fields(x, `${where}.${name}`);
      const s: InputSpec = {};
      if (f.o.shape !== undefined) s.shape = f.list('shape', (v, w) => (v === 'batch' ? 'batch' : num(v, w)));
      if (f.o.batchAxis !== undefined) s.batchAxis = f.opt('batchAxis', num);
      if (f.o.range !== undefined) s.range = f.get('range', pair);
      if (f.o.normal !== undefined) s.normal = f.get('normal', pair);
      if (f.o.value !== undefined) s.value = f.num('value');
      return [name, s];
    }),
  );
}

function layerOverrides(o: Record<string, unknown>, where: string): Record<string, LayerOverride> {
  return Object.fromEntries(
    Object.entries(o).map(([node, x]) => {
      const f = new Fields(x, `${where}.${node}`);
      const lo: LayerOverride = {};
      if (f.o.bits !== undefined) lo.bits = f.get('bits', oneOf([4, 8] as const));
      if (f.o.blockSize !== undefined) lo.blockSize = f.num('blockSize');
      return [node, lo];
    }),
  );
}

function settings(v: unknown, where: string): QuantSettings {
  const f = new Fields(v, where);
  const overrides = f.o.tensorOverrides === undefined ? {} : f.get('tensorOverrides', obj);
  return {
    mode: f.get('mode', oneOf(MODES)),
    calibration: f.str('calibration'),
    method: f.get('method', oneOf(METHODS)),
    percentile: f.num('percentile'),
    movingAverage: f.opt('movingAverage', num),
    entropyParity: f.bool('entropyParity'),
    perChannel: f.bool('perChannel'),
    // Results written before per-op per-channel, overrides and the qoperator format lack these.
    perChannelOpTypes: f.o.perChannelOpTypes === undefined ? [] : f.get('perChannelOpTypes', strings),
    tensorOverrides: Object.fromEntries(Object.entries(overrides).map(([k, x]) => [k, override(x, `${f.at('tensorOverrides')}.${k}`)])),
    activationType: f.get('activationType', oneOf(ACTIVATION_TYPES)),
    weightType: f.get('weightType', oneOf(WEIGHT_TYPES)),
    symmetricActivations: f.bool('symmetricActivations'),
    symmetricWeights: f.bool('symmetricWeights'),
    reduceRange: f.bool('reduceRange'),
    opTypes: f.get('opTypes', strings),
    exclude: f.get('exclude', strings),
    include: f.get('include', strings),
    samples: f.opt('samples', num),
    // Results written before per-input specs lack them.
    inputs: f.o.inputs === undefined ? {} : inputSpecs(f.get('inputs', obj), f.at('inputs')),
    batchSize: f.num('batchSize'),
    shuffleSeed: f.opt('shuffleSeed', num),
    executionProvider: f.str('executionProvider'),
    dedicatedQdqPerConsumer: f.bool('dedicatedQdqPerConsumer'),
    format: f.o.format === undefined ? 'qdq' : f.get('format', oneOf(['qdq', 'qoperator'] as const)),
    // Results written before weight-only and half-precision modes lack these: their defaults.
    bits: f.o.bits === undefined ? 4 : f.get('bits', oneOf([4, 8] as const)),
    blockSize: f.o.blockSize === undefined ? 32 : f.num('blockSize'),
    algorithm: f.o.algorithm === undefined ? 'rtn' : f.get('algorithm', oneOf(['rtn', 'hqq', 'gptq', 'awq'] as const)),
    gptqDamp: f.o.gptqDamp === undefined ? ALGORITHM_DEFAULTS.gptqDamp : f.num('gptqDamp'),
    gptqActOrder: f.o.gptqActOrder === undefined ? ALGORITHM_DEFAULTS.gptqActOrder : f.bool('gptqActOrder'),
    awqGrid: f.o.awqGrid === undefined ? ALGORITHM_DEFAULTS.awqGrid : f.num('awqGrid'),
    accuracyLevel: f.o.accuracyLevel === undefined ? 0 : f.get('accuracyLevel', oneOf([0, 1, 2, 3, 4] as const)),
    weightOnlyFormat: f.o.weightOnlyFormat === undefined ? 'matmulnbits' : f.get('weightOnlyFormat', oneOf(['matmulnbits', 'dequantize-linear'] as const)),
    layerOverrides: f.o.layerOverrides === undefined ? {} : layerOverrides(f.get('layerOverrides', obj), f.at('layerOverrides')),
    keepIoTypes: f.o.keepIoTypes === undefined ? true : f.bool('keepIoTypes'),
  };
}

function tensor(v: unknown, where: string): TensorQuantization {
  const f = new Fields(v, where);
  return {
    tensor: f.str('tensor'),
    kind: f.get('kind', oneOf(KINDS)),
    type: f.str('type'),
    range: f.opt('range', pair),
    rangeSource: f.str('rangeSource'),
    scale: f.list('scale', num),
    zeroPoint: f.list('zeroPoint', num),
    axis: f.opt('axis', num),
  };
}

function decision(v: unknown, where: string): NodeDecision {
  const f = new Fields(v, where);
  return { node: f.str('node'), opType: f.str('opType'), quantized: f.bool('quantized'), reason: f.str('reason') };
}

function quantResult(v: unknown): QuantResult {
  const f = new Fields(v, '', 'the result');
  if (f.o.format !== QUANT_RESULT_FORMAT) fail('format', `must be '${QUANT_RESULT_FORMAT}' (got ${JSON.stringify(f.o.format)})`);
  if (f.o.version !== QUANT_RESULT_VERSION) fail('version', `must be ${QUANT_RESULT_VERSION} (got ${JSON.stringify(f.o.version)})`);
  const sizes = new Fields(f.o.sizes, 'sizes');
  const verification = new Fields(f.o.verification, 'verification');
  const result: QuantResult = {
    format: QUANT_RESULT_FORMAT,
    version: QUANT_RESULT_VERSION,
    input: f.str('input'),
    output: f.str('output'),
    settings: f.get('settings', settings),
    calibration: f.opt('calibration', (x, w) => {
      const c = new Fields(x, w);
      const passes = c.opt('passes', num);
      return {
        samples: c.num('samples'),
        batches: c.num('batches'),
        seconds: c.num('seconds'),
        source: c.str('source'),
        ...(passes === null ? {} : { passes }),
      };
    }),
    tensors: f.list('tensors', tensor),
    nodes: f.list('nodes', decision),
    unmatchedPatterns: f.get('unmatchedPatterns', strings),
    sizes: { inputBytes: sizes.num('inputBytes'), outputBytes: sizes.num('outputBytes'), ratio: sizes.num('ratio') },
    fusion: f.opt('fusion', fusion),
    verification: { loads: verification.bool('loads'), ran: verification.bool('ran'), note: verification.str('note') },
    warnings: f.get('warnings', strings),
  };
  if (verification.o.outputSqnrDb !== undefined) {
    const db = verification.get('outputSqnrDb', obj);
    result.verification.outputSqnrDb = Object.fromEntries(Object.entries(db).map(([k, x]) => [k, num(x, `verification.outputSqnrDb.${k}`)]));
  }
  if (f.o.quantizedNames !== undefined) {
    const names = f.get('quantizedNames', obj);
    result.quantizedNames = Object.fromEntries(Object.entries(names).map(([k, x]) => [k, str(x, `quantizedNames.${k}`)]));
  }
  if (f.o.weightErrors !== undefined) result.weightErrors = f.list('weightErrors', weightError);
  return result;
}

function weightError(v: unknown, where: string): WeightBlockError {
  const f = new Fields(v, where);
  return {
    tensor: f.str('tensor'),
    node: f.str('node'),
    blocks: f.num('blocks'),
    meanRelative: f.num('meanRelative'),
    maxRelative: f.num('maxRelative'),
    sqnrDb: f.num('sqnrDb'),
  };
}

/**
 * Checks a QuantResult read from disk (NAME.quant.json, possibly edited or from another version)
 * and returns a clean copy; throws QuantResultError naming `file` and the first bad field.
 */
export function parseQuantResult(json: unknown, file = 'the quantization result'): QuantResult {
  return parseWith(json, quantResult, (m) => new QuantResultError(`${file}: invalid quant result: ${m}`));
}

// Quantization settings: defaults that match the reference tool, validation with a next step,
// and recipes (the settings of a run, saved and replayed).
import * as fs from 'fs';
import { OnnxCompressError } from '../errors';
import {
  ALGORITHM_DEFAULTS,
  QUANT_RECIPE_FORMAT,
  QUANT_RESULT_FORMAT,
  type QuantRecipe,
  type QuantResult,
  type QuantSettings,
  type TensorOverride,
} from '../../shared/quantResult';
import { quantTypeInfo } from './scheme';

export class QuantSettingsError extends OnnxCompressError {}

/** Ops quantized by default in static mode (docs/quantization.md, section 5). */
export const STATIC_OP_TYPES = [
  'Conv',
  'ConvTranspose',
  'Gemm',
  'MatMul',
  'Add',
  'Mul',
  'Concat',
  'Relu',
  'Clip',
  'MaxPool',
  'AveragePool',
  'GlobalAveragePool',
  'Reshape',
  'Transpose',
  'Squeeze',
  'Unsqueeze',
  'Flatten',
  'Slice',
  'Resize',
  'Sigmoid',
  'Softmax',
  'Gather',
  'Pad',
  'Split',
  'Where',
];
export const DYNAMIC_OP_TYPES = ['MatMul', 'Gemm'];
/** Weight-only: MatMul/Gemm with a constant B, and embedding Gathers. */
export const WEIGHT_ONLY_OP_TYPES = ['MatMul', 'Gemm', 'Gather'];

function defaultOpTypes(mode: QuantSettings['mode']): string[] {
  switch (mode) {
    case 'static':
      return STATIC_OP_TYPES;
    case 'dynamic':
      return DYNAMIC_OP_TYPES;
    case 'weight-only':
      return WEIGHT_ONLY_OP_TYPES;
    default:
      // fp16/bf16 convert every node they can; exclude keeps one in float32.
      return [];
  }
}

function defaultSettings(mode: QuantSettings['mode'] = 'static'): QuantSettings {
  return {
    mode,
    calibration: 'synthetic:64',
    method: 'minmax',
    percentile: 99.999,
    movingAverage: null,
    entropyParity: false,
    perChannel: false,
    perChannelOpTypes: [],
    tensorOverrides: {},
    activationType: 'uint8',
    weightType: 'int8',
    symmetricActivations: false,
    symmetricWeights: true,
    reduceRange: false,
    opTypes: defaultOpTypes(mode),
    exclude: [],
    include: [],
    samples: null,
    inputs: {},
    batchSize: 8,
    shuffleSeed: null,
    executionProvider: 'cpu',
    dedicatedQdqPerConsumer: false,
    format: 'qdq',
    bits: 4,
    blockSize: 32,
    algorithm: 'rtn',
    ...ALGORITHM_DEFAULTS,
    accuracyLevel: 0,
    weightOnlyFormat: 'matmulnbits',
    layerOverrides: {},
    keepIoTypes: true,
  };
}

const KEYS = Object.keys(defaultSettings()) as Array<keyof QuantSettings>;

/** Defaults, then a recipe, then explicit choices; refused combinations say why. */
export function resolveSettings(...layers: Array<Partial<QuantSettings> | undefined>): QuantSettings {
  const mode = layers.reduce<QuantSettings['mode']>((m, l) => l?.mode ?? m, 'static');
  const s = defaultSettings(mode);
  for (const layer of layers) {
    for (const [k, v] of Object.entries(layer ?? {})) {
      if (!KEYS.includes(k as keyof QuantSettings)) throw new QuantSettingsError(`unknown setting '${k}'`);
      if (v !== undefined) (s as unknown as Record<string, unknown>)[k] = v;
    }
  }
  // Signed weights are symmetric unless asked otherwise (the reference's default); block-wise
  // weights are asymmetric by default, as the reference's MatMulNBits quantizer writes them.
  if (!layers.some((l) => l?.symmetricWeights !== undefined)) s.symmetricWeights = s.mode !== 'weight-only' && s.weightType.startsWith('int');
  if (s.activationType === 'int8' && s.weightType === 'uint8') {
    throw new QuantSettingsError('int8 activations with uint8 weights have no integer kernel in onnxruntime; use --weight-type int8');
  }
  if (s.weightType.endsWith('16') && s.mode === 'dynamic') {
    throw new QuantSettingsError(
      'dynamic mode writes MatMulInteger/ConvInteger, which take 8-bit weights only; use --weight-type int8|uint8, or static mode for 16-bit weights',
    );
  }
  if (s.format !== 'qdq' && s.format !== 'qoperator') throw new QuantSettingsError(`format '${s.format}' must be qdq or qoperator`);
  if (s.format === 'qoperator' && s.mode === 'static' && (s.activationType.endsWith('16') || s.weightType.endsWith('16'))) {
    throw new QuantSettingsError(
      'the qoperator format writes QLinearConv/QLinearMatMul, which take 8-bit tensors only; use 8-bit --activation-type and --weight-type, or --format qdq',
    );
  }
  for (const [tensor, o] of Object.entries(s.tensorOverrides)) checkOverride(tensor, o, s);
  checkBlockSize(s.blockSize, '');
  for (const [node, o] of Object.entries(s.layerOverrides)) {
    if (o.bits !== undefined && o.bits !== 4 && o.bits !== 8) throw new QuantSettingsError(`override of node '${node}': bits must be 4 or 8 (got ${o.bits})`);
    if (o.blockSize !== undefined) checkBlockSize(o.blockSize, ` of node '${node}'`);
  }
  checkAlgorithmOptions(s);
  if (!(s.percentile > 0 && s.percentile <= 100)) throw new QuantSettingsError(`percentile ${s.percentile} must be in (0, 100]`);
  if (s.movingAverage !== null && !(s.movingAverage > 0 && s.movingAverage < 1)) throw new QuantSettingsError('the moving-average constant must be in (0, 1)');
  if (!(Number.isInteger(s.batchSize) && s.batchSize >= 1)) throw new QuantSettingsError('the batch size must be a positive integer');
  if (s.samples !== null && !(Number.isInteger(s.samples) && s.samples >= 1)) throw new QuantSettingsError('the sample count must be a positive integer');
  return s;
}

/** GPTQ's and AWQ's own options: valid, and changed from their defaults only for their algorithm. */
function checkAlgorithmOptions(s: QuantSettings): void {
  const d = ALGORITHM_DEFAULTS;
  if (!(Number.isFinite(s.gptqDamp) && s.gptqDamp >= 0 && s.gptqDamp <= 1))
    throw new QuantSettingsError(`the GPTQ damping must be in [0, 1], not ${s.gptqDamp}`);
  if (!(Number.isInteger(s.awqGrid) && s.awqGrid >= 1 && s.awqGrid <= 1000))
    throw new QuantSettingsError(`the AWQ grid must be a whole number of steps from 1 to 1000, not ${s.awqGrid}`);
  const gptq = s.mode === 'weight-only' && s.algorithm === 'gptq';
  const awq = s.mode === 'weight-only' && s.algorithm === 'awq';
  if (!gptq && (s.gptqDamp !== d.gptqDamp || s.gptqActOrder !== d.gptqActOrder))
    throw new QuantSettingsError('the GPTQ damping and act-order apply to weight-only GPTQ only: add --mode weight-only --algorithm gptq, or leave them out');
  if (!awq && s.awqGrid !== d.awqGrid)
    throw new QuantSettingsError('the AWQ grid applies to weight-only AWQ only: add --mode weight-only --algorithm awq, or leave it out');
}

function checkBlockSize(b: number, of: string): void {
  if (!(Number.isInteger(b) && b >= 16 && b <= 256 && (b & (b - 1)) === 0)) {
    throw new QuantSettingsError(`the block size${of} must be a power of two from 16 to 256 (16, 32, 64, 128 or 256), not ${b}`);
  }
}

function checkOverride(tensor: string, o: TensorOverride, s: QuantSettings): void {
  const bad = (why: string) => new QuantSettingsError(`override of '${tensor}': ${why}`);
  if (o.type !== undefined && !['uint8', 'int8', 'uint16', 'int16'].includes(o.type)) throw bad(`unknown type '${o.type}'`);
  if (o.range && !(o.range.length === 2 && o.range.every(Number.isFinite) && o.range[0] <= o.range[1])) throw bad('range must be [min, max] with min <= max');
  if ((o.scale === undefined) !== (o.zeroPoint === undefined)) throw bad('give scale and zeroPoint together');
  if (o.scale !== undefined) {
    if (!(Number.isFinite(o.scale) && o.scale > 0)) throw bad('scale must be a positive number');
    const info = quantTypeInfo(o.type ?? s.activationType);
    if (!Number.isInteger(o.zeroPoint) || o.zeroPoint! < info.fullMin || o.zeroPoint! > info.fullMax)
      throw bad(`zeroPoint must be an integer in [${info.fullMin}, ${info.fullMax}]`);
    if (o.range) throw bad('a range and fixed parameters cannot both be given');
  }
}

export function readRecipe(file: string): Partial<QuantSettings> {
  let recipe: QuantRecipe | QuantResult;
  try {
    recipe = JSON.parse(fs.readFileSync(file, 'utf8')) as QuantRecipe | QuantResult;
  } catch (e) {
    throw new QuantSettingsError(`cannot read the recipe: ${(e as Error).message}`, file);
  }
  // A run's result file holds its settings too, so any run can be replayed from it.
  const known = recipe?.format === QUANT_RECIPE_FORMAT || recipe?.format === QUANT_RESULT_FORMAT;
  if (!known || typeof recipe.settings !== 'object' || recipe.settings === null) {
    throw new QuantSettingsError(`not a quantization recipe or result (expected format '${QUANT_RECIPE_FORMAT}')`, file);
  }
  return recipe.settings;
}

export function recipeOf(settings: QuantSettings): QuantRecipe {
  return { format: QUANT_RECIPE_FORMAT, version: 1, settings };
}

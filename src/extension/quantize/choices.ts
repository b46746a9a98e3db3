// What the quantize wizard asks, as one plain record: remembered per model, turned into the
// engine's settings (defaults, then the preset, then the choices), and read back from a recipe.
import * as path from 'path';
import { defaultOutput } from '../../core/quant/pipeline';
import { resolveSettings } from '../../core/quant/settings';
import { cpuHasVnni } from '../../core/runtime/cpu';
import type { ActivationTypeName, CalibrationMethodName, InputSpec, QuantSettings, WeightOnlyAlgorithm, WeightTypeName } from '../../shared/quantResult';

export type PresetId = 'static' | 'dynamic' | 'int4' | 'fp16' | 'custom';

/** Activation and weight types offered for Custom (the combinations onnxruntime has kernels for). */
export const TYPE_CHOICES = {
  u8s8: {
    label: 'uint8 activations, int8 weights',
    detail: 'The usual choice; fused into integer kernels on CPU.',
    activationType: 'uint8',
    weightType: 'int8',
    reduceRange: false,
  },
  'u8s8-reduce': {
    label: 'uint8 activations, 7-bit int8 weights (reduce range)',
    detail: 'For CPUs without VNNI, where full-range int8 weights can saturate.',
    activationType: 'uint8',
    weightType: 'int8',
    reduceRange: true,
  },
  s8s8: {
    label: 'int8 activations, int8 weights',
    detail: 'Symmetric-friendly; what many GPU and NPU runtimes expect.',
    activationType: 'int8',
    weightType: 'int8',
    reduceRange: false,
  },
  u16s8: {
    label: 'uint16 activations, int8 weights',
    detail: 'More accurate activations; runs as Q/DQ in float (no 16-bit integer kernels).',
    activationType: 'uint16',
    weightType: 'int8',
    reduceRange: false,
  },
} as const satisfies Record<string, { label: string; detail: string; activationType: ActivationTypeName; weightType: WeightTypeName; reduceRange: boolean }>;
export type TypeChoice = keyof typeof TYPE_CHOICES;

/**
 * The recommended preset's types: 7-bit weights on a CPU without VNNI, whose u8 x s8 kernels
 * saturate full-range weights (the accuracy loss the engine warns about), full range elsewhere.
 */
export function staticPresetTypes(): TypeChoice {
  return cpuHasVnni() === false ? 'u8s8-reduce' : 'u8s8';
}

export const METHOD_CHOICES: ReadonlyArray<{ id: CalibrationMethodName; label: string; detail: string }> = [
  { id: 'minmax', label: 'MinMax', detail: 'The observed minimum and maximum: fast, keeps outliers.' },
  { id: 'percentile', label: 'Percentile (99.999)', detail: 'Clips the rarest extremes: better resolution for most values.' },
  { id: 'entropy', label: 'Entropy (KL divergence)', detail: 'Chooses the clip range that best preserves the distribution; two passes.' },
  { id: 'mse', label: 'MSE', detail: 'Balances rounding against clipping error; two passes.' },
];

/** Weight-only INT4: how block parameters are chosen. GPTQ and AWQ read the data; RTN and HQQ do not. */
export const ALGORITHM_CHOICES: ReadonlyArray<{ id: WeightOnlyAlgorithm; label: string; description: string; detail: string }> = [
  { id: 'rtn', label: 'RTN', description: 'no data needed', detail: 'Rounds each block to its nearest levels: fast, the reference for every other method.' },
  {
    id: 'hqq',
    label: 'HQQ',
    description: 'no data needed',
    detail: "Optimises each block's zero point and scale against its rounding error; slower, more accurate.",
  },
  {
    id: 'gptq',
    label: 'GPTQ',
    description: 'reads your data',
    detail: 'Corrects rounding errors column by column using the layer inputs of your data: the most accurate.',
  },
  {
    id: 'awq',
    label: 'AWQ',
    description: 'reads your data',
    detail: 'Scales the weights that meet large activations in your data before rounding, and clips each block.',
  },
];

/** Whether a choice of algorithm needs real data (synthetic inputs would steer it wrongly). */
export function needsRealData(c: Pick<QuantizeChoices, 'preset' | 'algorithm'>): boolean {
  return c.preset === 'int4' && (c.algorithm === 'gptq' || c.algorithm === 'awq');
}

/** Whether the data is only evaluated on (the report), not calibrated on. */
export function dataForEvaluationOnly(c: Pick<QuantizeChoices, 'preset' | 'algorithm'>): boolean {
  return c.preset === 'dynamic' || (c.preset === 'int4' && !needsRealData(c));
}

export interface QuantizeChoices {
  preset: PresetId;
  /** Weight-only INT4: the algorithm. */
  algorithm: WeightOnlyAlgorithm;
  /** Calibration (static) or evaluation (dynamic) data: a path, or `synthetic:N`; '' until chosen. */
  data: string;
  /** How many samples of the data to use; null: all of them. */
  samples: number | null;
  /** Class labels of the data (IDX or .npy) for the report's accuracy; null: none. */
  labels: string | null;
  method: CalibrationMethodName;
  perChannel: boolean;
  types: TypeChoice;
  /** Node names kept in float. */
  exclude: string[];
  /** Per-input specs the user gave (the --input syntax); inputs not named here follow the engine's rules. */
  inputs: Record<string, InputSpec>;
  /** The quantized model's path. */
  output: string;
}

export const SYNTHETIC_DATA = 'synthetic:64';

export const PRESETS: ReadonlyArray<{ id: PresetId; label: string; description?: string; detail: string }> = [
  {
    id: 'static',
    label: 'Static INT8 for CNNs',
    description: 'recommended',
    detail: 'Calibrates activation ranges on your data; int8 weights per channel (7-bit on CPUs without VNNI), uint8 activations, fused Q/DQ.',
  },
  {
    id: 'dynamic',
    label: 'Dynamic INT8 for CPU',
    description: 'transformers, RNNs',
    detail: 'int8 MatMul/Gemm weights; activation ranges computed at run time, no calibration.',
  },
  {
    id: 'int4',
    label: 'Weight-only INT4 for LLMs and transformers',
    detail: '4-bit MatMul and embedding weights in blocks of 32 (MatMulNBits); activations stay float. About 7x smaller weights.',
  },
  {
    id: 'fp16',
    label: 'Float16 (GPU)',
    detail: 'Weights and compute in half precision, inputs and outputs kept float32; layers whose values leave the fp16 range stay float32.',
  },
  { id: 'custom', label: 'Custom', detail: 'Static quantization with your choice of calibration method, per-channel weights and types.' },
];

/** The engine settings the choices stand for; resolveSettings refuses impossible combinations. */
export function settingsOf(c: QuantizeChoices): QuantSettings {
  if (c.preset === 'dynamic') return resolveSettings({ mode: 'dynamic', calibration: c.data, samples: c.samples, exclude: c.exclude, inputs: c.inputs });
  if (c.preset === 'int4') {
    return resolveSettings({
      mode: 'weight-only',
      bits: 4,
      blockSize: 32,
      algorithm: c.algorithm,
      calibration: c.data,
      samples: c.samples,
      exclude: c.exclude,
      inputs: c.inputs,
    });
  }
  if (c.preset === 'fp16')
    return resolveSettings({ mode: 'fp16', keepIoTypes: true, calibration: c.data, samples: c.samples, exclude: c.exclude, inputs: c.inputs });
  const t = TYPE_CHOICES[c.preset === 'custom' ? c.types : staticPresetTypes()];
  return resolveSettings({
    mode: 'static',
    calibration: c.data,
    samples: c.samples,
    method: c.preset === 'custom' ? c.method : 'minmax',
    perChannel: c.preset === 'custom' ? c.perChannel : true,
    activationType: t.activationType,
    weightType: t.weightType,
    reduceRange: t.reduceRange,
    exclude: c.exclude,
    inputs: c.inputs,
  });
}

function typeChoiceOf(s: Partial<QuantSettings>): TypeChoice {
  const found = (Object.keys(TYPE_CHOICES) as TypeChoice[]).find((k) => {
    const t = TYPE_CHOICES[k];
    return t.activationType === (s.activationType ?? 'uint8') && t.weightType === (s.weightType ?? 'int8') && t.reduceRange === (s.reduceRange ?? false);
  });
  return found ?? 'u8s8';
}

/** Choices that reproduce a recipe's settings as closely as the wizard can express them. */
export function choicesFromSettings(s: Partial<QuantSettings>, output: string): QuantizeChoices {
  const types = typeChoiceOf(s);
  const isPresetStatic = (s.mode ?? 'static') === 'static' && (s.method ?? 'minmax') === 'minmax' && s.perChannel === true && types === staticPresetTypes();
  const preset: PresetId =
    s.mode === 'dynamic'
      ? 'dynamic'
      : s.mode === 'weight-only'
        ? 'int4'
        : s.mode === 'fp16' || s.mode === 'bf16'
          ? 'fp16'
          : isPresetStatic
            ? 'static'
            : 'custom';
  return {
    preset,
    algorithm: s.algorithm ?? 'rtn',
    data: s.calibration ?? '',
    samples: s.samples ?? null,
    labels: null,
    method: s.method ?? 'minmax',
    perChannel: s.perChannel ?? true,
    types,
    exclude: s.exclude ?? [],
    inputs: s.inputs ?? {},
    output,
  };
}

/**
 * Defaults for a model never quantized here: the recommended preset, output beside the model, and
 * no data: the user picks it (synthetic data is offered, never chosen for them).
 */
export function defaultChoices(model: string, preset: PresetId = 'static'): QuantizeChoices {
  const c: QuantizeChoices = {
    preset,
    algorithm: 'rtn',
    data: '',
    samples: null,
    labels: null,
    method: 'minmax',
    perChannel: true,
    types: 'u8s8',
    exclude: [],
    inputs: {},
    output: '',
  };
  c.output = defaultOutput(model, settingsOf(c));
  return c;
}

/** The recipe written beside a quantized model: NAME.int8.onnx -> NAME.int8.recipe.json. */
export function recipeFileOf(output: string): string {
  return path.join(path.dirname(output), `${path.basename(output).replace(/\.onnx$/i, '')}.recipe.json`);
}

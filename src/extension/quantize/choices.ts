// What the quantize wizard asks, as one plain record: remembered per model, turned into the
// engine's settings (defaults, then the preset, then the choices), and read back from a recipe.
import * as path from 'path';
import { defaultOutput } from '../../core/quant/pipeline';
import { resolveSettings } from '../../core/quant/settings';
import { cpuHasVnni } from '../../core/runtime/cpu';
import type { ActivationTypeName, CalibrationMethodName, QuantSettings, WeightTypeName } from '../../shared/quantResult';

export type PresetId = 'static' | 'dynamic' | 'custom';

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

export interface QuantizeChoices {
  preset: PresetId;
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
    label: 'Dynamic INT8 for transformers and RNNs',
    detail: 'int8 MatMul/Gemm weights; activation ranges computed at run time, no calibration.',
  },
  { id: 'custom', label: 'Custom', detail: 'Static quantization with your choice of calibration method, per-channel weights and types.' },
];

/** The engine settings the choices stand for; resolveSettings refuses impossible combinations. */
export function settingsOf(c: QuantizeChoices): QuantSettings {
  if (c.preset === 'dynamic') return resolveSettings({ mode: 'dynamic', calibration: c.data, samples: c.samples, exclude: c.exclude });
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
  const isPresetStatic = s.mode !== 'dynamic' && (s.method ?? 'minmax') === 'minmax' && s.perChannel === true && types === staticPresetTypes();
  return {
    preset: s.mode === 'dynamic' ? 'dynamic' : isPresetStatic ? 'static' : 'custom',
    data: s.calibration ?? '',
    samples: s.samples ?? null,
    labels: null,
    method: s.method ?? 'minmax',
    perChannel: s.perChannel ?? true,
    types,
    exclude: s.exclude ?? [],
    output,
  };
}

/**
 * Defaults for a model never quantized here: the recommended preset, output beside the model, and
 * no data: the user picks it (synthetic data is offered, never chosen for them).
 */
export function defaultChoices(model: string, preset: PresetId = 'static'): QuantizeChoices {
  const c: QuantizeChoices = { preset, data: '', samples: null, labels: null, method: 'minmax', perChannel: true, types: 'u8s8', exclude: [], output: '' };
  c.output = defaultOutput(model, settingsOf(c));
  return c;
}

/** The recipe written beside a quantized model: NAME.int8.onnx -> NAME.int8.recipe.json. */
export function recipeFileOf(output: string): string {
  return path.join(path.dirname(output), `${path.basename(output).replace(/\.onnx$/i, '')}.recipe.json`);
}

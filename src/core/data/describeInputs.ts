// What synthetic data feeds each model input, one row per input: its sizes, batch axis and values,
// as the engine will generate them, and the same in the --input syntax. It runs the rules
// openDataSource runs (assignLayouts, then the synthetic plan), so what the wizard shows is what
// calibration gets.
import type { OnnxModel } from '../onnx/model';
import { DataSourceError } from './errors';
import { formatDims, isFloatElem, modelInputs, type ModelInput } from './inputs';
import { formatInputSpecs, type InputSpec, type InputSpecs } from './inputSpecs';
import { assignLayouts } from './layout';
import { DEFAULT_SYNTHETIC_SAMPLES, parseSyntheticSpec, syntheticUnit, syntheticValuesText, type SyntheticPlan } from './synthetic';

export interface InputDescription {
  name: string;
  /** Element type as onnxruntime names it (float32, int64). */
  type: string;
  /** The declared dims as text ("[batch,seq]", "?" for an unnamed unknown size). */
  declared: string;
  /** The batch axis, or null: none (fed whole, the same for every batch). */
  batchAxis: number | null;
  /** One sample's sizes with the batch axis marked 'batch'; null when they cannot be worked out (see `problem`). */
  shape: Array<number | 'batch'> | null;
  /** What the values are and why ("whole numbers in [0, 95) (ids of an embedding table of 95 rows)"). */
  values: string;
  /** Symbolic dims that no rule sizes, taken as 1 (a size the user should give). */
  guessed: string[];
  /** These sizes, batch axis and values as an --input spec (values only where the engine does not use the synthetic distribution). */
  spec: InputSpec;
  /** `spec` in the --input syntax ("ids=shape:batch,16; ids=range:0,95"). */
  specText: string;
  /** The user gave a spec for it. */
  given: boolean;
  /** Nothing inferred: float, batch on axis 0, every other size declared, values from the synthetic distribution. */
  plain: boolean;
}

export interface InputsDescription {
  inputs: InputDescription[];
  /** Why the specs (or the model's declared shapes) do not make synthetic data; the rows then show what is known. */
  problem?: string;
}

function effectiveSpec(input: ModelInput, shape: Array<number | 'batch'> | null): InputSpec {
  const spec: InputSpec = {};
  // A scalar has no shape to write (shape: takes at least one size); batch:none says it all.
  if (shape && shape.length) spec.shape = shape;
  if (input.batchAxis === null) spec.batchAxis = null;
  else if (!shape) spec.batchAxis = input.batchAxis;
  const fill = input.fill;
  if (fill?.kind === 'value') spec.value = fill.value;
  else if (fill?.kind === 'uniform') spec.range = [fill.lo, fill.hi];
  else if (fill?.kind === 'normal') spec.normal = [fill.mean, fill.std];
  return spec;
}

function isPlain(input: ModelInput): boolean {
  const dims = input.dims;
  return isFloatElem(input.elemType) && !input.fill && input.batchAxis === 0 && dims !== null && dims.every((d, k) => k === 0 || typeof d === 'number');
}

/**
 * Per model input, what `synthetic` data with these specs feeds it. A spec or a declared shape
 * that synthetic data cannot be made from is said in `problem` (the rows are then described
 * without the specs, or without sizes), never thrown: the wizard shows it where the user fixes it.
 */
export function describeSyntheticInputs(model: OnnxModel, specs: InputSpecs = {}, syntheticSpec = `synthetic:${DEFAULT_SYNTHETIC_SAMPLES}`): InputsDescription {
  const parsed = parseSyntheticSpec(syntheticSpec);
  let inputs = modelInputs(model);
  let problem: string | undefined;
  let plan: SyntheticPlan | undefined;
  try {
    assignLayouts(model, inputs, specs);
    plan = syntheticUnit(parsed, inputs, {}, specs);
  } catch (e) {
    if (!(e instanceof DataSourceError)) throw e;
    problem = e.message;
    // Described by the rules alone, so the rows still say what the model declares.
    inputs = modelInputs(model);
    assignLayouts(model, inputs, {});
    try {
      plan = syntheticUnit(parsed, inputs);
    } catch (again) {
      if (!(again instanceof DataSourceError)) throw again;
    }
  }
  const rows = inputs.map((input): InputDescription => {
    const sample = plan?.sampleDims[input.name];
    const axis = input.batchAxis;
    const shape = sample ? (axis === null ? [...sample] : [...sample.slice(0, axis), 'batch' as const, ...sample.slice(axis)]) : null;
    const spec = effectiveSpec(input, shape);
    return {
      name: input.name,
      type: input.ortType,
      declared: formatDims(input.dims),
      batchAxis: axis,
      shape,
      values: syntheticValuesText(input, parsed.distribution),
      guessed: plan?.guessed[input.name] ?? [],
      spec,
      specText: formatInputSpecs({ [input.name]: spec }),
      given: !problem && specs[input.name] !== undefined,
      plain: isPlain(input),
    };
  });
  return { inputs: rows, problem };
}

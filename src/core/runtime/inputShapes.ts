// Input sizes for a probe run: the user's (`NAME=D1,D2,...`, the CLI's --input-shape and the
// model view's Set Input Shapes take the same text) and, for symbolic dims nobody gave, a guess.
//
// The guess: the first axis is the batch (1); the two spatial axes of an image-like input (4-D
// with 1, 3 or 4 channels first or last, or dims named like height/width) are 224, the usual
// size of image classifiers and detectors, since 1x1 images collapse pooling and strides into
// shapes nobody would see; a symbolic name used by several inputs gets one size; anything else
// is 1. What was guessed is kept so that a failed run can say which size it needs.
import type { Dim } from '../../shared/summary';
import { OnnxCompressError } from '../errors';
import type { OnnxModel } from '../onnx/model';
import { shapeDims } from '../onnx/summary';

export class InputShapeError extends OnnxCompressError {}

/** The size given to a spatial symbolic dim of an image-like input. */
export const DEFAULT_IMAGE_SIZE = 224;

const SPEC = /^(.+)=(\d+(?:,\d+)*)$/;

/** One `NAME=D1,D2,...` (for example `x=1,3,224,224`). */
export function parseInputShape(spec: string): [string, number[]] {
  const m = SPEC.exec(spec.trim());
  if (!m || !m[1].trim()) throw new InputShapeError(`'${spec}': expected NAME=D1,D2,... (for example x=1,3,224,224)`);
  return [m[1].trim(), m[2].split(',').map(Number)];
}

/** Several specs, as a list or one text separated by semicolons (`x=1,3,224,224; mask=1,128`). */
export function parseInputShapes(specs: string | string[]): Record<string, number[]> {
  const list = typeof specs === 'string' ? specs.split(';') : specs;
  const out: Record<string, number[]> = {};
  for (const spec of list) {
    if (typeof specs === 'string' && !spec.trim()) continue;
    const [name, dims] = parseInputShape(spec);
    out[name] = dims;
  }
  return out;
}

/** The text parseInputShapes reads back: `x=1,3,224,224; mask=1,128`. */
export function formatInputShapes(shapes: Record<string, readonly number[]>): string {
  return Object.entries(shapes)
    .map(([name, dims]) => `${name}=${dims.join(',')}`)
    .join('; ');
}

/** A dim that was not declared as a size, and what the probe used for it. */
export interface GuessedDim {
  axis: number;
  /** The symbolic name, or null for an unnamed dim. */
  name: string | null;
  size: number;
}

const SPATIAL_NAME = /height|width|^(h|w|img_?h|img_?w)$/i;
const CHANNELS = new Set([1, 3, 4]);

/** Axes holding the image of a 4-D input (NCHW or NHWC), or none. */
function spatialAxes(dims: Dim[]): number[] {
  if (dims.length !== 4) return [];
  const fixed = (d: Dim) => typeof d === 'number' && CHANNELS.has(d);
  if (fixed(dims[1])) return [2, 3];
  if (fixed(dims[3])) return [1, 2];
  return [];
}

/**
 * Sizes for the declared dims of one input: declared sizes kept, symbolic ones guessed (see the
 * top of this file). `named` holds the sizes already chosen for symbolic names and is updated.
 */
export function guessInputDims(declared: Dim[], named: Map<string, number> = new Map()): { dims: number[]; guessed: GuessedDim[] } {
  const spatial = spatialAxes(declared);
  const guessed: GuessedDim[] = [];
  const dims = declared.map((d, axis) => {
    if (typeof d === 'number' && d > 0) return d;
    const name = typeof d === 'string' && d ? d : null;
    let size = name !== null ? named.get(name) : undefined;
    if (size === undefined) {
      size = axis > 0 && (spatial.includes(axis) || (name !== null && SPATIAL_NAME.test(name))) ? DEFAULT_IMAGE_SIZE : 1;
      if (name !== null) named.set(name, size);
    }
    guessed.push({ axis, name, size });
    return size;
  });
  return { dims, guessed };
}

const quote = (names: string[]) => names.map((n) => `'${n}'`).join(names.length === 2 ? ' and ' : ', ');

/**
 * One sentence on a failed probe run: the node that failed (from onnxruntime's words), and the
 * input whose guessed sizes are the likely cause, or the sizes that were given.
 */
export function probeFailureSentence(cause: string, inputs: Record<string, number[]>, guessed: Record<string, GuessedDim[]>): string {
  const node = /running (\w+) node\. Name:'([^']*)'/.exec(cause);
  const sizes = (names: string[]) => names.map((k) => `${k}=[${inputs[k].join(',')}]`).join(' ');
  // A guessed batch of 1 is rarely the problem: name the other guesses when there are some.
  const suspects = Object.entries(guessed)
    .map(([input, dims]) => [input, dims.some((d) => d.axis > 0) ? dims.filter((d) => d.axis > 0) : dims] as const)
    .filter(([, dims]) => dims.length);
  if (!suspects.length) {
    const given = sizes(Object.keys(inputs)) || '(none)';
    return `Shapes could not be probed with the input sizes ${given}${node ? `: the ${node[1]} node '${node[2]}' refused them` : ''}.`;
  }
  const needs = suspects.map(([input, dims]) => {
    const names = dims.map((d) => d.name ?? `axis ${d.axis}`);
    return `input '${input}' needs ${names.length > 1 ? 'concrete sizes' : 'a concrete size'} for ${quote(names)}`;
  });
  const refused = node ? `, which the ${node[1]} node '${node[2]}' refused` : '';
  return `Shapes could not be probed: ${needs.join(' and ')} (tried ${sizes(suspects.map(([k]) => k))}${refused}).`;
}

/** A model input the probe feeds: its name and declared dims (null: no declared shape). */
export interface FedInput {
  name: string;
  dims: Dim[] | null;
}

/** The inputs a probe run feeds (graph inputs that are not initializers), with their declared dims. */
export function fedInputs(model: Pick<OnnxModel, 'proto'>): FedInput[] {
  const graph = model.proto.graph;
  const initializers = new Set(graph?.initializer.map((t) => t.name));
  return (graph?.input ?? []).filter((v) => v.name && !initializers.has(v.name)).map((v) => ({ name: v.name!, dims: shapeDims(v.type?.tensor_type?.shape) }));
}

/** Why `shapes` do not fit the model's inputs (an unknown name, a wrong rank or size), or undefined. */
export function inputShapesProblem(inputs: FedInput[], shapes: Record<string, number[]>): string | undefined {
  for (const [name, dims] of Object.entries(shapes)) {
    const input = inputs.find((i) => i.name === name);
    if (!input) return `the model has no input '${name}'; its inputs are ${inputs.map((i) => `'${i.name}'`).join(', ') || 'none'}`;
    if (!input.dims) continue;
    if (input.dims.length !== dims.length) return `input '${name}' has ${input.dims.length} dims, not ${dims.length}`;
    const fixed = input.dims.findIndex((d, axis) => typeof d === 'number' && d > 0 && d !== dims[axis]);
    if (fixed >= 0) return `input '${name}' is declared with size ${input.dims[fixed]} on axis ${fixed}, not ${dims[fixed]}`;
  }
  return undefined;
}

/**
 * The sizes that apply to a model: general ones (by input name, for any model) where they fit
 * its inputs, then the ones given for this model. Those that do not fit are listed apart.
 */
export function inputShapesFor(
  inputs: FedInput[],
  general: Record<string, number[]>,
  given: Record<string, number[]> = {},
): { shapes: Record<string, number[]>; unfit: string[] } {
  const shapes: Record<string, number[]> = {};
  const unfit: string[] = [];
  for (const [name, dims] of Object.entries(general)) {
    if (!inputs.some((i) => i.name === name)) continue;
    const problem = inputShapesProblem(inputs, { [name]: dims });
    if (problem) unfit.push(problem);
    else shapes[name] = dims;
  }
  return { shapes: { ...shapes, ...given }, unfit };
}

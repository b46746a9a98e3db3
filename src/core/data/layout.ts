// Where each model input keeps its batch, and what synthetic data feeds it. The rules (documented
// in docs/file-formats.md, "Model inputs and calibration data"):
//
// Batch axis, first rule that applies: a per-input spec (shape with `batch`, or batch:K/none); a
// scalar has none (fed as it is, the same for every batch); an input without a declared shape has
// it first; the axis named like the model's batch dim (a symbolic name containing "batch", or N/B,
// else the name on axis 0 of the first input that has one there), wherever it sits ([2,batch,128]
// has it on axis 1); a first axis of unknown size; a fixed first axis above 1 beside an axis of
// unknown size (an unnamed state [2,?,128]): that unknown axis; otherwise the first axis.
//
// Synthetic values, first rule that applies: the spec's value/range/normal; an integer named sr
// or sample_rate: 16000; a name holding "mask": ones; integer position ids: 0..seq-1 along the
// last axis; token type ids: zeros; an integer that indexes a constant table through Gather (an
// embedding): ids in [0, rows); a float past_key_values.* / past.* / *cache* input: zeros with a
// past axis of length 0; a float recurrent state (a name holding "state", h0, c0, hidden): zeros;
// a float raw waveform (audioInput.ts): speech-like audio at the rate of the sample-rate input
// (16 kHz without one); anything else: the synthetic spec's distribution.
import { DataType } from '../onnx/dataTypes';
import { GraphIndex } from '../onnx/graph';
import type { OnnxModel } from '../onnx/model';
import { tensorDims } from '../onnx/tensor';
import { int64ToNumber } from '../onnx/types';
import { waveformReason } from './audioInput';
import { DataSourceError } from './errors';
import { formatDims, isFloatElem, type ModelInput } from './inputs';
import type { InputSpecs } from './inputSpecs';

/** What synthetic data puts in an input when the synthetic spec's distribution does not apply. */
export type Fill =
  | { kind: 'value'; value: number; why: string }
  | { kind: 'uniform'; lo: number; hi: number; why: string }
  | { kind: 'normal'; mean: number; std: number; why: string }
  | { kind: 'positions'; why: string }
  | { kind: 'audio'; rate: number; taps?: number; why: string };

const INTEGER = new Set<number>([DataType.INT8, DataType.UINT8, DataType.INT16, DataType.UINT16, DataType.INT32, DataType.UINT32, DataType.INT64, DataType.UINT64]);

function batchNameOf(inputs: readonly ModelInput[]): string | undefined {
  const names = inputs.flatMap((i) => (i.dims ?? []).filter((d): d is string => typeof d === 'string'));
  return names.find((n) => /batch/i.test(n) || n === 'N' || n === 'B') ?? inputs.map((i) => i.dims?.[0]).find((d): d is string => typeof d === 'string');
}

/** The batch axis of `input` (null: none), and how it was found (for the data's description). */
function batchAxisOf(input: ModelInput, batchName: string | undefined, specs: InputSpecs): { axis: number | null; how?: string } {
  const spec = specs[input.name];
  const rank = input.dims?.length;
  const marked = spec?.shape?.indexOf('batch') ?? -1;
  if (marked >= 0) return { axis: marked, how: 'marked in its shape spec' };
  if (spec?.batchAxis !== undefined) {
    if (spec.batchAxis !== null && rank !== undefined && spec.batchAxis >= rank) {
      throw new DataSourceError(`input '${input.name}' ${formatDims(input.dims)} has ${rank} axes; batch:${spec.batchAxis} names none of them`);
    }
    return { axis: spec.batchAxis, how: spec.batchAxis === null ? 'batch:none given' : 'given' };
  }
  const dims = input.dims;
  if (dims === null) return { axis: 0 };
  if (dims.length === 0) return { axis: null, how: 'a scalar' };
  if (batchName !== undefined) {
    const k = dims.indexOf(batchName);
    if (k >= 0) return { axis: k, how: k > 0 ? `the axis named ${batchName}` : undefined };
  }
  if (typeof dims[0] !== 'number') return { axis: 0 };
  const unknown = dims.findIndex((d) => typeof d !== 'number');
  if (dims[0] > 1 && unknown > 0) return { axis: unknown, how: `axis 0 is fixed at ${dims[0]}, axis ${unknown} is the first of unknown size` };
  return { axis: 0 };
}

/** Rows of the constant table an integer input indexes through Gather (an embedding), if any. */
function embeddingRows(index: GraphIndex, name: string, seen = new Set<string>()): number | undefined {
  if (seen.has(name)) return undefined;
  seen.add(name);
  const constants = index.constantTensors();
  for (const c of index.consumers.get(name) ?? []) {
    const n = index.nodes[c];
    const op = n.op_type ?? '';
    if (op === 'Gather' && n.input[1] === name) {
      const table = constants.get(n.input[0]);
      const axis = n.attribute.find((a) => a.name === 'axis')?.i;
      if (table && (axis === undefined || int64ToNumber(axis) === 0) && tensorDims(table).length >= 1) return tensorDims(table)[0];
    }
    if (['Cast', 'Reshape', 'Unsqueeze', 'Squeeze', 'Flatten', 'Identity'].includes(op) && n.input[0] === name && n.output[0]) {
      const rows = embeddingRows(index, n.output[0], seen);
      if (rows !== undefined) return rows;
    }
  }
  return undefined;
}

const SAMPLE_RATE = /^(sr|sample_?rate|sampling_?rate)$/i;

const isPast = (name: string) => /^past|[._/]past|past_key|past_value|cache/i.test(name);

/** The axis of a past key/value input that holds the past sequence (length 0 in synthetic data). */
function pastAxisOf(input: ModelInput): number | undefined {
  const dims = input.dims;
  if (!dims) return undefined;
  const named = dims.findIndex((d) => typeof d === 'string' && /past|cache|total/i.test(d));
  if (named >= 0) return named;
  if (dims.length === 4 && typeof dims[2] !== 'number') return 2;
  return undefined;
}

function fillOf(input: ModelInput, specs: InputSpecs, index: GraphIndex): Fill | undefined {
  const spec = specs[input.name];
  if (spec?.value !== undefined) return { kind: 'value', value: spec.value, why: 'given' };
  if (spec?.range) return { kind: 'uniform', lo: spec.range[0], hi: spec.range[1], why: 'given' };
  if (spec?.normal) return { kind: 'normal', mean: spec.normal[0], std: spec.normal[1], why: 'given' };
  const name = input.name;
  const integer = INTEGER.has(input.elemType);
  if (integer && SAMPLE_RATE.test(name)) return { kind: 'value', value: 16000, why: 'a sample rate' };
  if (/mask/i.test(name)) return { kind: 'value', value: 1, why: 'an attention mask: ones' };
  if (integer && /position_?ids|^positions?$|pos_ids/i.test(name)) return { kind: 'positions', why: 'position ids: 0..seq-1' };
  if (integer && /token_?type_?ids|segment_?ids/i.test(name)) return { kind: 'value', value: 0, why: 'token type ids: zeros' };
  if (integer) {
    const rows = embeddingRows(index, name);
    if (rows !== undefined) return { kind: 'uniform', lo: 0, hi: rows, why: `ids of an embedding table of ${rows} rows` };
  }
  if (isFloatElem(input.elemType) && isPast(name)) return { kind: 'value', value: 0, why: 'past keys/values: empty' };
  if (isFloatElem(input.elemType) && /state|^h0$|^c0$|hidden/i.test(name)) return { kind: 'value', value: 0, why: 'a recurrent state: zeros, as a stream starts' };
  const waveform = isFloatElem(input.elemType) ? waveformReason(index.graph, name) : undefined;
  if (waveform) return { kind: 'audio', rate: 16000, taps: waveform.taps, why: waveform.why };
  return undefined;
}

/**
 * Sets each input's batch axis, synthetic fill and past axis from the model and the specs;
 * returns notes for the data's description. Refuses specs for names that are not inputs.
 */
export function assignLayouts(model: OnnxModel, inputs: ModelInput[], specs: InputSpecs = {}): string[] {
  for (const name of Object.keys(specs)) {
    if (!inputs.some((i) => i.name === name)) throw new DataSourceError(`--input names '${name}', which is not a model input (inputs: ${inputs.map((i) => `'${i.name}'`).join(', ')})`);
  }
  const index = new GraphIndex(model.proto.graph!);
  const batchName = batchNameOf(inputs);
  const notes: string[] = [];
  for (const input of inputs) {
    const spec = specs[input.name];
    if (spec?.shape && input.dims !== null && spec.shape.length !== input.dims.length) {
      throw new DataSourceError(`input '${input.name}' ${formatDims(input.dims)} has ${input.dims.length} axes but its shape spec ${spec.shape.join(',')} has ${spec.shape.length}`);
    }
    const { axis, how } = batchAxisOf(input, batchName, specs);
    input.batchAxis = axis;
    if (how && axis !== 0) notes.push(`input '${input.name}' ${formatDims(input.dims)}: ${axis === null ? `no batch axis (${how}): fed whole, the same for every batch` : `batch on axis ${axis} (${how})`}`);
    input.fill = fillOf(input, specs, index);
    if (input.fill?.why === 'past keys/values: empty') input.pastAxis = pastAxisOf(input);
  }
  // Synthetic audio at the rate the model is told (an integer sample-rate input's value).
  const rate = inputs.map((i) => (SAMPLE_RATE.test(i.name) && i.fill?.kind === 'value' ? i.fill.value : 0)).find((v) => v > 0);
  for (const input of inputs) if (input.fill?.kind === 'audio' && rate) input.fill.rate = rate;
  return notes;
}

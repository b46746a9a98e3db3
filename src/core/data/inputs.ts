// The model's side of calibration data: which inputs it takes (graph inputs that are not
// initializers), their element types and declared shapes, and the checks every reader runs
// against them: element type, shape (a symbolic dim matches any size; the first axis is the
// batch axis), dims that two inputs share by name, and NaN/Inf in float samples.
import { DataType, dataTypeName } from '../onnx/dataTypes';
import { tensorElemType } from '../onnx/elementTypes';
import type { OnnxModel } from '../onnx/model';
import { int64ToNumber, type TypeProto } from '../onnx/types';
import { DataSourceError } from './errors';

/** A declared dimension: a size, a symbolic name, or null (unnamed and unknown). */
export type Dim = number | string | null;

/** The element types onnxruntime-node can be fed, by their onnxruntime names. */
export type OrtType =
  | 'float32' | 'float64' | 'float16' | 'int8' | 'uint8' | 'int16' | 'uint16'
  | 'int32' | 'uint32' | 'int64' | 'uint64' | 'bool';

/** Values as onnxruntime-node takes them (float16 as bits, bool as 0/1 bytes). */
export type Values =
  | Float32Array | Float64Array | Uint16Array | Int8Array | Uint8Array | Int16Array
  | Int32Array | Uint32Array | BigInt64Array | BigUint64Array;

export interface ModelInput {
  name: string;
  /** Position among the graph inputs that are not initializers. */
  index: number;
  elemType: DataType;
  ortType: OrtType;
  /** Declared dims (batch axis first); null when the model declares no shape. */
  dims: Dim[] | null;
}

interface TypeInfo {
  ort: OrtType;
  bytes: number;
  ctor: { new (n: number): Values; new (buf: ArrayBuffer, off: number, len: number): Values };
  /** Float storage to scan for NaN/Inf. */
  float?: 'f16' | 'f32' | 'f64';
}

const TYPES: Partial<Record<number, TypeInfo>> = {
  [DataType.FLOAT]: { ort: 'float32', bytes: 4, ctor: Float32Array, float: 'f32' },
  [DataType.DOUBLE]: { ort: 'float64', bytes: 8, ctor: Float64Array, float: 'f64' },
  [DataType.FLOAT16]: { ort: 'float16', bytes: 2, ctor: Uint16Array, float: 'f16' },
  [DataType.INT8]: { ort: 'int8', bytes: 1, ctor: Int8Array },
  [DataType.UINT8]: { ort: 'uint8', bytes: 1, ctor: Uint8Array },
  [DataType.INT16]: { ort: 'int16', bytes: 2, ctor: Int16Array },
  [DataType.UINT16]: { ort: 'uint16', bytes: 2, ctor: Uint16Array },
  [DataType.INT32]: { ort: 'int32', bytes: 4, ctor: Int32Array },
  [DataType.UINT32]: { ort: 'uint32', bytes: 4, ctor: Uint32Array },
  [DataType.INT64]: { ort: 'int64', bytes: 8, ctor: BigInt64Array },
  [DataType.UINT64]: { ort: 'uint64', bytes: 8, ctor: BigUint64Array },
  [DataType.BOOL]: { ort: 'bool', bytes: 1, ctor: Uint8Array },
};

function typeInfo(t: DataType): TypeInfo {
  const info = TYPES[t];
  if (!info) throw new DataSourceError(`element type ${dataTypeName(t)} cannot be fed to onnxruntime-node`);
  return info;
}

export function isFeedable(t: number): boolean {
  return TYPES[t] !== undefined;
}

export function elementBytes(t: DataType): number {
  return typeInfo(t).bytes;
}

export function isFloatElem(t: DataType): boolean {
  return TYPES[t]?.float !== undefined;
}

export function allocValues(t: DataType, n: number): Values {
  return new (typeInfo(t).ctor)(n);
}

/** Values over `bytes` (little-endian): a view when aligned, else one copy. */
export function valuesFromBytes(t: DataType, bytes: Uint8Array): Values {
  const info = typeInfo(t);
  if (bytes.byteLength % info.bytes !== 0) throw new DataSourceError(`${bytes.byteLength} bytes are not a whole number of ${dataTypeName(t)} values`);
  if (bytes.byteOffset % info.bytes === 0) return new info.ctor(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength / info.bytes);
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new info.ctor(copy.buffer, 0, bytes.byteLength / info.bytes);
}

/** One array holding `parts` one after the other. */
export function concatValues(t: DataType, parts: Values[]): Values {
  if (parts.length === 1) return parts[0];
  const total = parts.reduce((s, p) => s + p.length, 0);
  const out = allocValues(t, total);
  let at = 0;
  for (const p of parts) {
    (out as unknown as { set(a: ArrayLike<unknown>, o: number): void }).set(p as ArrayLike<unknown>, at);
    at += p.length;
  }
  return out;
}

function dimsOf(t: TypeProto | undefined): Dim[] | null {
  const shape = t?.tensor_type?.shape;
  if (!shape) return null;
  return shape.dim.map((d) => {
    if (d.dim_value !== undefined && d.dim_value !== null) {
      const n = int64ToNumber(d.dim_value, 'dimension');
      return n >= 0 ? n : d.dim_param ?? null;
    }
    return d.dim_param !== undefined && d.dim_param !== '' ? d.dim_param : null;
  });
}

/** The inputs calibration data feeds: graph inputs that are not initializers, in order. */
export function modelInputs(model: OnnxModel): ModelInput[] {
  const graph = model.proto.graph;
  if (!graph) throw new DataSourceError('the model has no graph');
  const initializers = new Set(graph.initializer.map((t) => t.name));
  const out: ModelInput[] = [];
  for (const v of graph.input) {
    if (!v.name || initializers.has(v.name)) continue;
    if (!v.type?.tensor_type) {
      const kind = v.type?.sequence_type ? 'a sequence' : v.type?.map_type ? 'a map' : v.type?.optional_type ? 'an optional' : v.type?.sparse_tensor_type ? 'a sparse tensor' : 'of no declared type';
      throw new DataSourceError(`input '${v.name}' is ${kind}; calibration data can only feed dense tensors`);
    }
    const elemType = tensorElemType(v.type) as DataType | undefined;
    if (elemType === undefined) throw new DataSourceError(`input '${v.name}' declares no element type; calibration data cannot be checked against it`);
    const info = TYPES[elemType];
    if (!info) throw new DataSourceError(`input '${v.name}' is ${dataTypeName(elemType)}, which onnxruntime-node cannot be fed; calibration data cannot drive this model`);
    out.push({ name: v.name, index: out.length, elemType, ortType: info.ort, dims: dimsOf(v.type) });
  }
  if (out.length === 0) throw new DataSourceError('the model has no inputs to feed (every graph input is an initializer)');
  return out;
}

export function formatDims(dims: readonly Dim[] | null): string {
  if (dims === null) return '(no declared shape)';
  return `[${dims.map((d) => (d === null ? '?' : String(d))).join(',')}]`;
}

/** The declared dims with named symbolic dims as their names (for messages). */
export function inputShapeText(input: ModelInput): string {
  return formatDims(input.dims);
}

/** Whether the input has a batch axis (a declared rank-0 input has none). */
export function hasBatchAxis(input: ModelInput): boolean {
  return input.dims === null || input.dims.length > 0;
}

/** The fixed batch size an input demands, if it declares one. */
export function fixedBatch(input: ModelInput): number | undefined {
  if (input.dims === null) return undefined;
  if (input.dims.length === 0) return 1;
  const d = input.dims[0];
  return typeof d === 'number' ? d : undefined;
}

export interface SampleLayout {
  /** Samples the array holds (its first axis, or 1 when it holds one sample without that axis). */
  count: number;
  /** One sample's dims (the model's dims after the batch axis). */
  sampleDims: number[];
}

/**
 * Where `dataDims` (an array read from calibration data) fits input `input`: the first axis
 * counts samples; an array one axis short holds one sample when `allowSingle`. Throws a message
 * that names both shapes and says what to change.
 */
export function layoutFor(input: ModelInput, dataDims: readonly number[], allowSingle: boolean, hint?: string): SampleLayout {
  const dataText = `[${dataDims.join(',')}]`;
  const fail = (why: string): never => {
    throw new DataSourceError(`calibration data shape ${dataText} does not match input '${input.name}' ${inputShapeText(input)}: ${why}${hint ? `; ${hint}` : ''}`);
  };
  if (input.dims === null) {
    if (dataDims.length === 0) fail('a scalar has no sample axis; save an array whose first axis counts samples');
    return checkSampleCount({ count: dataDims[0], sampleDims: dataDims.slice(1) });
  }
  const rank = input.dims.length;
  let layout: SampleLayout;
  if (rank === 0) {
    if (dataDims.length === 0) layout = { count: 1, sampleDims: [] };
    else if (dataDims.length === 1) layout = { count: dataDims[0], sampleDims: [] };
    else return fail(`the input is a scalar, so the data must be one value per sample (shape [samples])`);
  } else if (dataDims.length === rank) {
    layout = { count: dataDims[0], sampleDims: dataDims.slice(1) };
  } else if (allowSingle && dataDims.length === rank - 1) {
    layout = { count: 1, sampleDims: [...dataDims] };
  } else {
    return fail(`the data has ${dataDims.length} axes, the input ${rank} (the first axis counts samples); save arrays shaped ${samplesShape(input)}`);
  }
  checkSampleDims(input, layout.sampleDims, dataText, hint);
  return checkSampleCount(layout);
}

/** Most samples of no values (a 0 among their dims) one array may declare. */
const MAX_EMPTY_SAMPLES = 1 << 20;

/**
 * Samples of no values take no bytes, so a few header bytes can declare billions of them; the
 * batching engine would then walk them all, or keep 4 bytes each for a shuffled order. Refused
 * beyond MAX_EMPTY_SAMPLES; samples that hold values are bounded by the data's size.
 */
export function checkSampleCount(layout: SampleLayout): SampleLayout {
  if (layout.count > MAX_EMPTY_SAMPLES && layout.sampleDims.includes(0)) {
    throw new DataSourceError(`the data declares ${layout.count} samples of shape [${layout.sampleDims.join(',')}], which hold no values; the file is corrupt`);
  }
  return layout;
}

function samplesShape(input: ModelInput): string {
  return formatDims(['samples', ...(input.dims ?? []).slice(1)]);
}

/** One sample's dims against the model's dims after the batch axis. */
export function checkSampleDims(input: ModelInput, sampleDims: readonly number[], dataText?: string, hint?: string): void {
  if (input.dims === null) return;
  const want = input.dims.length === 0 ? [] : input.dims.slice(1);
  const shown = dataText ?? `[samples,${sampleDims.join(',')}]`;
  const head = `calibration data shape ${shown} does not match input '${input.name}' ${inputShapeText(input)}`;
  if (want.length !== sampleDims.length) {
    throw new DataSourceError(`${head}: a sample has ${sampleDims.length} axes, the input ${want.length} after its batch axis${hint ? `; ${hint}` : `; save arrays shaped ${samplesShape(input)}`}`);
  }
  for (let k = 0; k < want.length; k++) {
    const w = want[k];
    if (typeof w === 'number' && w !== sampleDims[k]) {
      throw new DataSourceError(`${head}: axis ${k + 1} is ${sampleDims[k]} where the model needs ${w}${hint ? `; ${hint}` : `; save arrays shaped ${samplesShape(input)}`}`);
    }
  }
}

/** Symbolic dims that several inputs share by name (sequence length, image size) must agree. */
export function checkSharedDims(inputs: readonly ModelInput[], sampleDims: Record<string, readonly number[]>, where: string): void {
  const seen = new Map<string, { input: string; axis: number; size: number }>();
  for (const input of inputs) {
    const dims = input.dims;
    const got = sampleDims[input.name];
    if (!dims || !got) continue;
    for (let k = 1; k < dims.length; k++) {
      const d = dims[k];
      if (typeof d !== 'string') continue;
      const size = got[k - 1];
      const before = seen.get(d);
      if (before && before.size !== size) {
        throw new DataSourceError(`${where}: input '${before.input}' axis ${before.axis} (${d}) is ${before.size} but input '${input.name}' axis ${k} (${d}) is ${size}; inputs that share a dimension name must agree`);
      }
      if (!before) seen.set(d, { input: input.name, axis: k, size });
    }
  }
}

/** Refuses an element type that differs from the input's, saying how to convert. */
export function checkElemType(input: ModelInput, got: DataType, what: string): void {
  if (got === input.elemType) return;
  const want = dataTypeName(input.elemType);
  const numpy: Record<string, string> = { float32: 'float32', float64: 'float64', float16: 'float16', bool: 'bool_' };
  throw new DataSourceError(`${what} is ${dataTypeName(got)} but input '${input.name}' is ${want}; convert it (numpy: arr.astype(numpy.${numpy[want] ?? want}))`);
}

const F16_EXP = 0x7c00;

/** Throws when a float sample holds NaN or ±Inf, naming the sample's index in the data set. */
export function checkFinite(input: ModelInput, values: Values, samples: number, firstSample: number, where?: string): void {
  const info = TYPES[input.elemType];
  if (!info?.float || samples === 0) return;
  const per = values.length / samples;
  let bad = -1;
  let nan = false;
  if (info.float === 'f16') {
    const v = values as Uint16Array;
    for (let i = 0; i < v.length; i++) {
      if ((v[i] & F16_EXP) === F16_EXP) { bad = i; nan = (v[i] & 0x3ff) !== 0; break; }
    }
  } else {
    const v = values as Float32Array | Float64Array;
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      if (x - x !== 0) { bad = i; nan = Number.isNaN(x); break; }
    }
  }
  if (bad < 0) return;
  const sample = firstSample + Math.floor(bad / Math.max(per, 1));
  throw new DataSourceError(`input '${input.name}' sample ${sample} contains ${nan ? 'NaN' : 'Inf'}${where ? ` (${where})` : ''}; clean or drop that sample`);
}

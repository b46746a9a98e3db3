// The model's side of calibration data: which inputs it takes (graph inputs that are not
// initializers), their element types and declared shapes, and the checks every reader runs
// against them: element type, shape (a symbolic dim matches any size; the first axis is the
// batch axis), dims that two inputs share by name, and NaN/Inf in float samples.
import { DataType, dataTypeName } from '../onnx/dataTypes';
import { tensorElemType } from '../onnx/elementTypes';
import type { OnnxModel } from '../onnx/model';
import { int64ToNumber, type TypeProto } from '../onnx/types';
import { DataSourceError } from './errors';
import type { Fill } from './layout';

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
  /** Declared dims; null when the model declares no shape. */
  dims: Dim[] | null;
  /** The axis samples are stacked on; null: none (fed whole, the same for every batch). See layout.ts. */
  batchAxis: number | null;
  /** What synthetic data feeds it when not the synthetic spec's distribution (layout.ts). */
  fill?: Fill;
  /** Past keys/values: the past-sequence axis, empty in synthetic data. */
  pastAxis?: number;
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
    const dims = dimsOf(v.type);
    out.push({ name: v.name, index: out.length, elemType, ortType: info.ort, dims, batchAxis: dims?.length === 0 ? null : 0 });
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

/** Whether the input has a batch axis (a scalar, or an input declared batchless, has none). */
export function hasBatchAxis(input: ModelInput): boolean {
  return input.batchAxis !== null;
}

/** The fixed batch size an input demands, if it declares one. */
export function fixedBatch(input: ModelInput): number | undefined {
  if (input.dims === null || input.batchAxis === null) return undefined;
  const d = input.dims[input.batchAxis];
  return typeof d === 'number' ? d : undefined;
}

/** The declared dims of one sample: the dims without the batch axis (all of them when batchless). */
export function sampleDeclared(input: ModelInput): Dim[] | null {
  if (input.dims === null) return null;
  return input.batchAxis === null ? [...input.dims] : input.dims.filter((_, k) => k !== input.batchAxis);
}

/** Model axis of a sample's axis `k`. */
function modelAxis(input: ModelInput, k: number): number {
  return input.batchAxis !== null && k >= input.batchAxis ? k + 1 : k;
}

export interface SampleLayout {
  /** Samples the array holds (1 when it holds one sample without the batch axis). */
  count: number;
  /** One sample's dims (the model's dims without the batch axis). */
  sampleDims: number[];
  /** The array's axis that counts samples: 0 for a plain stack, the input's batch axis when it is
   *  elsewhere, null when the array holds one sample (or a batchless input's whole value). */
  axis: number | null;
  /** A batchless input given once for all samples (its count does not bind the others'). */
  whole?: boolean;
}

/**
 * Where `dataDims` (an array read from calibration data) fits input `input`: its batch axis
 * counts samples; an array one axis short holds one sample when `allowSingle`. A batchless input
 * takes its whole value, or a stack of equal values along a first, extra axis. Throws a message
 * that names both shapes and says what to change.
 */
export function layoutFor(input: ModelInput, dataDims: readonly number[], allowSingle: boolean, hint?: string): SampleLayout {
  const dataText = `[${dataDims.join(',')}]`;
  const fail = (why: string): never => {
    throw new DataSourceError(`calibration data shape ${dataText} does not match input '${input.name}' ${inputShapeText(input)}: ${why}${hint ? `; ${hint}` : ''}`);
  };
  if (input.dims === null) {
    if (dataDims.length === 0) fail('a scalar has no sample axis; save an array whose first axis counts samples');
    return checkSampleCount({ count: dataDims[0], sampleDims: dataDims.slice(1), axis: 0 });
  }
  const rank = input.dims.length;
  let layout: SampleLayout;
  const k = input.batchAxis;
  if (k === null) {
    if (dataDims.length === rank) layout = { count: 1, sampleDims: [...dataDims], axis: null, whole: true };
    else if (dataDims.length === rank + 1) layout = { count: dataDims[0], sampleDims: dataDims.slice(1), axis: 0 };
    else return fail(`the input has no batch axis, so the data is its whole value ${inputShapeText(input)} (or one such value per sample, stacked on a first axis)`);
  } else if (dataDims.length === rank) {
    layout = { count: dataDims[k], sampleDims: dataDims.filter((_, j) => j !== k), axis: k === 0 || dataDims[k] === 1 ? (k === 0 ? 0 : null) : k };
  } else if (allowSingle && dataDims.length === rank - 1) {
    layout = { count: 1, sampleDims: [...dataDims], axis: null };
  } else {
    return fail(`the data has ${dataDims.length} axes, the input ${rank} (axis ${k} counts samples); save arrays shaped ${samplesShape(input)}`);
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
  const dims = input.dims ?? [];
  if (input.batchAxis === null) return formatDims(dims);
  return formatDims(dims.map((d, k) => (k === input.batchAxis ? 'samples' : d)));
}

/** One sample's dims against the model's dims without the batch axis. */
export function checkSampleDims(input: ModelInput, sampleDims: readonly number[], dataText?: string, hint?: string): void {
  const want = sampleDeclared(input);
  if (want === null) return;
  const shown = dataText ?? `[samples,${sampleDims.join(',')}]`;
  const head = `calibration data shape ${shown} does not match input '${input.name}' ${inputShapeText(input)}`;
  const after = input.batchAxis === null ? 'in all' : 'besides its batch axis';
  if (want.length !== sampleDims.length) {
    throw new DataSourceError(`${head}: a sample has ${sampleDims.length} axes, the input ${want.length} ${after}${hint ? `; ${hint}` : `; save arrays shaped ${samplesShape(input)}`}`);
  }
  for (let k = 0; k < want.length; k++) {
    const w = want[k];
    if (typeof w === 'number' && w !== sampleDims[k]) {
      throw new DataSourceError(`${head}: axis ${modelAxis(input, k)} is ${sampleDims[k]} where the model needs ${w}${hint ? `; ${hint}` : `; save arrays shaped ${samplesShape(input)}`}`);
    }
  }
}

/** Symbolic dims that several inputs share by name (sequence length, image size) must agree. */
export function checkSharedDims(inputs: readonly ModelInput[], sampleDims: Record<string, readonly number[]>, where: string): void {
  const seen = new Map<string, { input: string; axis: number; size: number }>();
  for (const input of inputs) {
    const dims = sampleDeclared(input);
    const got = sampleDims[input.name];
    if (!dims || !got) continue;
    for (let k = 0; k < dims.length; k++) {
      const d = dims[k];
      if (typeof d !== 'string') continue;
      const size = got[k];
      const axis = modelAxis(input, k);
      const before = seen.get(d);
      if (before && before.size !== size) {
        throw new DataSourceError(`${where}: input '${before.input}' axis ${before.axis} (${d}) is ${before.size} but input '${input.name}' axis ${axis} (${d}) is ${size}; inputs that share a dimension name must agree`);
      }
      if (!before) seen.set(d, { input: input.name, axis, size });
    }
  }
}

/** Moves the samples of `values` between sample-major order and axis `k` of `[...before, n, ...after]`. */
function moveSamples(values: Values, n: number, sampleDims: readonly number[], k: number, toAxis: boolean): Values {
  if (k === 0 || n === 1) return values;
  const outer = sampleDims.slice(0, k).reduce((a, b) => a * b, 1);
  const inner = sampleDims.slice(k).reduce((a, b) => a * b, 1);
  const out = new (values.constructor as new (n: number) => Values)(values.length);
  const o = out as unknown as { [i: number]: unknown };
  const v = values as unknown as { [i: number]: unknown };
  for (let s = 0; s < n; s++) {
    for (let a = 0; a < outer; a++) {
      for (let i = 0; i < inner; i++) {
        const major = (s * outer + a) * inner + i;
        const onAxis = (a * n + s) * inner + i;
        if (toAxis) o[onAxis] = v[major];
        else o[major] = v[onAxis];
      }
    }
  }
  return out;
}

/** Values of `n` samples laid out sample after sample -> the same values with the samples on
 *  axis `k` of dims `[...before, n, ...after]` (and back with `toSampleMajor`). */
export function placeBatchAxis(values: Values, n: number, sampleDims: readonly number[], k: number): Values {
  return moveSamples(values, n, sampleDims, k, true);
}

/** The inverse of placeBatchAxis: values of dims with `n` samples on axis `k` -> sample after sample. */
export function toSampleMajor(values: Values, n: number, sampleDims: readonly number[], k: number): Values {
  return moveSamples(values, n, sampleDims, k, false);
}

/** The dims of a batch of `n` samples. */
export function batchDims(input: ModelInput, n: number, sampleDims: readonly number[]): number[] {
  if (input.batchAxis === null) return [...sampleDims];
  const k = input.dims === null ? 0 : input.batchAxis;
  return [...sampleDims.slice(0, k), n, ...sampleDims.slice(k)];
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

// Helpers for the round-trip suite over the ONNX backend test data (Debian's libonnx-testdata):
// finding the cases, reading their inputs and expected outputs, feeding them to onnxruntime-node
// and comparing what comes back the way the ONNX backend test runner does.
//
// Each case is a folder with model.onnx and test_data_set_N/{input_K.pb,output_K.pb}. input_K
// belongs to the K-th graph input that is not an initializer, output_K to the K-th graph output;
// the file is a serialized TensorProto when that value's type is a tensor, and a SequenceProto,
// OptionalProto or MapProto otherwise (message types our schema does not describe, so such cases
// cannot be fed here).
import * as fs from 'fs';
import * as path from 'path';
import { decodeMessage } from '../../src/core/onnx/codec';
import { DataType, dataTypeName } from '../../src/core/onnx/dataTypes';
import { float16BitsToFloat32 } from '../../src/core/onnx/floatFormats';
import { readTensor, tensorRawBytes, type TensorData } from '../../src/core/onnx/tensor';
import type { GraphProto, ModelProto, TensorProto, TypeProto } from '../../src/core/onnx/types';
import { ort } from '../../src/core/runtime/session';
import { ORT_TYPES as PROBE_ORT_TYPES } from '../../src/core/runtime/probe';
import { errorMessage } from '../../src/core/errors';

/** Where libonnx-testdata puts the backend test data (ONNX_TESTDATA_DIR names another copy). */
export const TESTDATA_DIR = process.env.ONNX_TESTDATA_DIR || '/usr/lib/python3/dist-packages/onnx/backend/test/data';

/** The folders that hold one model per case (`real` only holds download links). */
export const TESTDATA_GROUPS = ['node', 'simple', 'pytorch-converted', 'pytorch-operator'] as const;

/** The tolerances of the ONNX backend test runner (onnx/backend/test/runner). */
export const RTOL = 1e-3;
export const ATOL = 1e-7;

export interface TestCase {
  /** `node/test_abs` */
  id: string;
  group: string;
  dir: string;
  modelFile: string;
}

/** Every case of every group, sorted; throws when the data is not installed. */
export function listCases(root = TESTDATA_DIR): TestCase[] {
  const missing = TESTDATA_GROUPS.filter((g) => !fs.existsSync(path.join(root, g)));
  if (missing.length) {
    throw new Error(
      `the ONNX backend test data is not installed (${missing.map((g) => path.join(root, g)).join(', ')} missing). ` +
        'Install it with `sudo apt-get install libonnx-testdata` (CI installs it); this suite does not skip without it.',
    );
  }
  const cases: TestCase[] = [];
  for (const group of TESTDATA_GROUPS) {
    for (const name of fs.readdirSync(path.join(root, group)).sort()) {
      const dir = path.join(root, group, name);
      const modelFile = path.join(dir, 'model.onnx');
      if (fs.existsSync(modelFile)) cases.push({ id: `${group}/${name}`, group, dir, modelFile });
    }
  }
  return cases;
}

// ---------------------------------------------------------------------------------------------
// Values of a test data set

/** The message a .pb file of this value holds, by the value's declared type. */
function protoKindOf(type: TypeProto | undefined): string {
  if (!type || type.tensor_type) return 'TensorProto';
  if (type.sequence_type) return 'SequenceProto';
  if (type.optional_type) return 'OptionalProto';
  if (type.map_type) return 'MapProto';
  if (type.sparse_tensor_type) return 'SparseTensorProto';
  return 'an unknown value type';
}

/** onnxruntime-node's name of each element type it has a tensor for: the probe's, and the packed
 *  4-bit types, which the data sets feed but a probe run cannot return. */
const ORT_TYPES: Partial<Record<number, ort.Tensor.Type>> = {
  ...PROBE_ORT_TYPES,
  [DataType.INT4]: 'int4',
  [DataType.UINT4]: 'uint4',
};

export function ortTypeOf(dataType: number): ort.Tensor.Type | undefined {
  return ORT_TYPES[dataType];
}

export interface TestValue {
  name: string;
  proto: TensorProto;
  data: TensorData;
  ortType: ort.Tensor.Type;
}

export interface DataSet {
  inputs: TestValue[];
  outputs: TestValue[];
}

/** Thrown when a data set holds something this suite cannot feed or compare. */
export class UnsupportedValueError extends Error {}

function readValue(file: string, name: string, type: TypeProto | undefined, what: string): TestValue {
  const kind = protoKindOf(type);
  if (kind !== 'TensorProto') throw new UnsupportedValueError(`${what} '${name}' is ${/^[AEIOU]/.test(kind) ? 'an' : 'a'} ${kind}, not a TensorProto`);
  const proto = decodeMessage<TensorProto>('TensorProto', fs.readFileSync(file));
  const dataType = proto.data_type ?? 0;
  const ortType = ortTypeOf(dataType);
  if (!ortType) throw new UnsupportedValueError(`${what} '${name}' is ${dataTypeName(dataType)}, which onnxruntime-node has no tensor type for`);
  return { name, proto, data: readTensor(proto), ortType };
}

/** The graph inputs that the data sets feed: those that are not initializers. */
export function fedInputs(graph: GraphProto): GraphProto['input'] {
  const inits = new Set(graph.initializer.map((t) => t.name));
  return graph.input.filter((v) => !inits.has(v.name));
}

/** test_data_set_N of a case, with each value typed by the graph input or output it belongs to. */
export function readDataSet(tc: TestCase, model: ModelProto, n = 0): DataSet {
  const dir = path.join(tc.dir, `test_data_set_${n}`);
  if (!fs.existsSync(dir)) throw new UnsupportedValueError(`the case has no test_data_set_${n}`);
  const graph = model.graph!;
  const ins = fedInputs(graph);
  const count = (prefix: string) => fs.readdirSync(dir).filter((f) => new RegExp(`^${prefix}_\\d+\\.pb$`).test(f)).length;
  const nIn = count('input');
  const nOut = count('output');
  if (nIn > ins.length) throw new UnsupportedValueError(`${nIn} input files for ${ins.length} graph inputs`);
  if (nOut !== graph.output.length) throw new UnsupportedValueError(`${nOut} output files for ${graph.output.length} graph outputs`);
  const inputs: TestValue[] = [];
  for (let k = 0; k < nIn; k++) inputs.push(readValue(path.join(dir, `input_${k}.pb`), ins[k].name ?? '', ins[k].type, 'input'));
  const outputs: TestValue[] = [];
  for (let k = 0; k < nOut; k++) {
    const o = graph.output[k];
    outputs.push(readValue(path.join(dir, `output_${k}.pb`), o.name ?? '', o.type, 'output'));
  }
  return { inputs, outputs };
}

/** A fresh onnxruntime tensor for a test value (4-bit types go packed, two per byte). */
export function toOrtTensor(v: TestValue): ort.Tensor {
  const { data, ortType } = v;
  if (ortType === 'int4' || ortType === 'uint4') return new ort.Tensor(ortType, tensorRawBytes(v.proto).slice(), data.dims);
  const values = data.values;
  if (Array.isArray(values)) return new ort.Tensor('string', values.slice(), data.dims);
  // A copy: the values may be a view into the .pb file's buffer.
  return new ort.Tensor(ortType, values.slice() as never, data.dims);
}

// ---------------------------------------------------------------------------------------------
// Outputs

/** An output of a run, copied out of onnxruntime so that the tensor can be disposed. */
export interface OutputSnapshot {
  name: string;
  type: string;
  dims: number[];
  /** The element bytes as onnxruntime returned them (4-bit types packed). */
  bytes?: Uint8Array;
  strings?: string[];
}

export function snapshot(name: string, t: ort.Tensor): OutputSnapshot {
  const data = t.data as unknown;
  const dims = t.dims.slice();
  if (Array.isArray(data)) return { name, type: t.type, dims, strings: data.slice() };
  const a = data as ArrayBufferView;
  return { name, type: t.type, dims, bytes: new Uint8Array(a.buffer, a.byteOffset, a.byteLength).slice() };
}

/** Why two snapshots of the same output differ bit for bit, or undefined when they don't. */
export function bitDifference(a: OutputSnapshot, b: OutputSnapshot): string | undefined {
  if (a.type !== b.type) return `type ${a.type} vs ${b.type}`;
  if (a.dims.join(',') !== b.dims.join(',')) return `shape [${a.dims}] vs [${b.dims}]`;
  if (a.strings || b.strings) {
    const sa = a.strings ?? [];
    const sb = b.strings ?? [];
    const i = sa.findIndex((s, k) => s !== sb[k]);
    return sa.length !== sb.length
      ? `${sa.length} vs ${sb.length} strings`
      : i >= 0
        ? `string ${i}: ${JSON.stringify(sa[i])} vs ${JSON.stringify(sb[i])}`
        : undefined;
  }
  const ba = a.bytes!;
  const bb = b.bytes!;
  if (ba.length !== bb.length) return `${ba.length} vs ${bb.length} bytes`;
  for (let i = 0; i < ba.length; i++) if (ba[i] !== bb[i]) return `byte ${i}: ${ba[i]} vs ${bb[i]}`;
  return undefined;
}

function unpack4(bytes: Uint8Array, count: number, signed: boolean): number[] {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const nib = (bytes[i >> 1] >> ((i & 1) * 4)) & 0xf;
    out.push(signed && nib > 7 ? nib - 16 : nib);
  }
  return out;
}

/** The values of a snapshot as numbers, bigints or strings, for comparison with expected values. */
function snapshotValues(s: OutputSnapshot, count: number): ArrayLike<number | bigint | string> {
  if (s.strings) return s.strings;
  const b = s.bytes!;
  const buf = b.buffer;
  switch (s.type) {
    case 'float32':
      return new Float32Array(buf, 0, b.length / 4);
    case 'float64':
      return new Float64Array(buf, 0, b.length / 8);
    case 'float16':
      return float16BitsToFloat32(new Uint16Array(buf, 0, b.length / 2));
    case 'int8':
      return new Int8Array(buf, 0, b.length);
    case 'int16':
      return new Int16Array(buf, 0, b.length / 2);
    case 'uint16':
      return new Uint16Array(buf, 0, b.length / 2);
    case 'int32':
      return new Int32Array(buf, 0, b.length / 4);
    case 'uint32':
      return new Uint32Array(buf, 0, b.length / 4);
    case 'int64':
      return new BigInt64Array(buf, 0, b.length / 8);
    case 'uint64':
      return new BigUint64Array(buf, 0, b.length / 8);
    case 'int4':
      return unpack4(b, count, true);
    case 'uint4':
      return unpack4(b, count, false);
    default:
      return b; // uint8, bool
  }
}

function expectedValues(v: TestValue): ArrayLike<number | bigint | string> {
  const values = v.data.values;
  if (v.ortType === 'float16') return float16BitsToFloat32(values as Uint16Array);
  return values as ArrayLike<number | bigint | string>;
}

/** numpy.testing.assert_allclose, element by element (equal_nan: NaN equals NaN). */
function close(actual: number | bigint | string, expected: number | bigint | string, rtol: number, atol: number): boolean {
  if (actual === expected) return true;
  if (typeof actual === 'string' || typeof expected === 'string') return false;
  const a = Number(actual);
  const e = Number(expected);
  if (Number.isNaN(a) || Number.isNaN(e)) return Number.isNaN(a) && Number.isNaN(e);
  if (!Number.isFinite(a) || !Number.isFinite(e)) return a === e;
  return Math.abs(a - e) <= atol + rtol * Math.abs(e);
}

/**
 * Why an output differs from the expected value the way the backend test runner judges it
 * (same element type, same shape, allclose with NaN equal to NaN; strings and bools exactly),
 * or undefined when it matches.
 */
export function expectedDifference(actual: OutputSnapshot, expected: TestValue, rtol = RTOL, atol = ATOL): string | undefined {
  if (actual.type !== expected.ortType) return `output '${expected.name}' is ${actual.type}, expected ${expected.ortType}`;
  if (actual.dims.join(',') !== expected.data.dims.join(',')) {
    return `output '${expected.name}' has shape [${actual.dims.join(', ')}], expected [${expected.data.dims.join(', ')}]`;
  }
  const count = expected.data.dims.reduce((n, d) => n * d, 1);
  const a = snapshotValues(actual, count);
  const e = expectedValues(expected);
  if (a.length !== e.length) return `output '${expected.name}' has ${a.length} values, expected ${e.length}`;
  const exact = expected.ortType === 'bool' || expected.ortType === 'string';
  let bad = 0;
  let first = -1;
  for (let i = 0; i < e.length; i++) {
    const ok = exact ? a[i] === e[i] : close(a[i], e[i], rtol, atol);
    if (!ok) {
      bad++;
      if (first < 0) first = i;
    }
  }
  if (!bad) return undefined;
  return `output '${expected.name}': ${bad} of ${e.length} values differ (first at ${first}: ${String(a[first])}, expected ${String(e[first])})`;
}

// ---------------------------------------------------------------------------------------------
// Running a model

export type RunKind = 'match' | 'mismatch' | 'load-error' | 'run-error' | 'unsupported-io';

export interface RunOutcome {
  kind: RunKind;
  /** Why it is not a match (the error or the first difference). */
  detail?: string;
  outputs?: OutputSnapshot[];
}

/**
 * Loads `bytes` in onnxruntime and, when the data set could be read, runs it on the inputs and
 * compares with the expected outputs. The session is released and the outputs disposed.
 */
export async function runModel(bytes: Uint8Array, options: ort.InferenceSession.SessionOptions, data: DataSet | UnsupportedValueError): Promise<RunOutcome> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, options);
  } catch (e) {
    return { kind: 'load-error', detail: errorMessage(e) };
  }
  try {
    if (data instanceof UnsupportedValueError) return { kind: 'unsupported-io', detail: data.message };
    const feeds: Record<string, ort.Tensor> = {};
    for (const v of data.inputs) feeds[v.name] = toOrtTensor(v);
    let results: ort.InferenceSession.ReturnType;
    try {
      results = await session.run(feeds);
    } catch (e) {
      return { kind: 'run-error', detail: errorMessage(e) };
    } finally {
      for (const t of Object.values(feeds)) t.dispose();
    }
    const outputs: OutputSnapshot[] = [];
    let detail: string | undefined;
    try {
      for (const v of data.outputs) {
        const t = results[v.name];
        if (!t) {
          detail ??= `no output '${v.name}' came back`;
          continue;
        }
        const s = snapshot(v.name, t as ort.Tensor);
        outputs.push(s);
        detail ??= expectedDifference(s, v);
      }
    } finally {
      for (const t of Object.values(results)) (t as ort.Tensor).dispose?.();
    }
    return detail ? { kind: 'mismatch', detail, outputs } : { kind: 'match', outputs };
  } finally {
    await session.release();
  }
}

/** A short category of why a case is not runnable, for the summary (the detail is listed apart). */
export function reasonCategory(o: RunOutcome): string {
  const d = o.detail ?? '';
  switch (o.kind) {
    case 'unsupported-io': {
      const proto = /is an? (\w+), not a TensorProto/.exec(d);
      if (proto) return `test data: an input or output is ${/^[AEIOU]/.test(proto[1]) ? 'an' : 'a'} ${proto[1]}, not a TensorProto`;
      const type = /is (\w+), which onnxruntime-node/.exec(d);
      if (type) return `test data: an input or output is ${type[1]}, which onnxruntime-node has no tensor type for`;
      return `test data not usable: ${d}`;
    }
    case 'load-error': {
      const unregistered = /([\w.]*):\w+\(-?\d+\) is not a registered function\/op/.exec(d);
      if (unregistered) return `onnxruntime cannot load: ops of domain ${unregistered[1] || 'ai.onnx'} are not registered`;
      if (/Could not find an implementation for/.test(d)) return 'onnxruntime cannot load: no CPU kernel for an op at this opset version and element type';
      const type = /Unsupported data type: (\d+)/.exec(d);
      if (type) return `onnxruntime-node cannot load: a graph input or output is ${dataTypeName(Number(type[1]))}`;
      if (/layout_ == 0/.test(d)) return 'onnxruntime cannot load: batchwise RNN/GRU/LSTM layout (layout=1) is not implemented on CPU';
      if (/StringNormalizer::Locale/.test(d)) return 'onnxruntime cannot load: StringNormalizer cannot construct its locale on this system';
      return 'onnxruntime cannot load: other';
    }
    case 'run-error':
      return 'onnxruntime fails to run it';
    case 'mismatch':
      return 'outputs differ from the expected outputs';
    default:
      return o.kind;
  }
}

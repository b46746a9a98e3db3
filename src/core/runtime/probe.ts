// A probe run: one synthetic input through onnxruntime-node with chosen intermediate values
// exposed as graph outputs, to learn shapes (and element types) the model does not declare.
// The model in memory is restored afterwards; nothing is written.
import { createMessage } from '../onnx/codec';
import { DataType, dataTypeName } from '../onnx/dataTypes';
import { tensorElemType } from '../onnx/elementTypes';
import type { OnnxModel } from '../onnx/model';
import type { ValueInfoProto } from '../onnx/types';
import type { Dim } from '../../shared/summary';
import { shapeDims } from '../onnx/summary';
import { createSession, ort, RuntimeError, type SessionSettings } from './session';
import { errorMessage } from '../errors';
import { seededRandom } from '../random';
import { guessInputDims, probeFailureSentence, type GuessedDim } from './inputShapes';

export interface ProbeOptions extends SessionSettings {
  /** Sizes for inputs, overriding declared and symbolic dims. */
  inputShapes?: Record<string, number[]>;
  /** Element types known for the values (values without one are exposed untyped). */
  elemTypes?: Map<string, number>;
}

export interface ProbeResult {
  shapes: Map<string, number[]>;
  types: Map<string, number>;
  /** The input feeds used, by name: their shapes. */
  inputShapes: Record<string, number[]>;
  /** Wanted values left unexposed, with the reason (an element type onnxruntime-node cannot return). */
  notExposed: Map<string, string>;
}

/** The element types a probe run can feed and return, by onnxruntime-node's name (dataTypeName's). */
export const ORT_TYPES: Partial<Record<number, ort.Tensor.Type>> = Object.fromEntries(
  [
    DataType.FLOAT,
    DataType.DOUBLE,
    DataType.FLOAT16,
    DataType.INT8,
    DataType.UINT8,
    DataType.INT16,
    DataType.UINT16,
    DataType.INT32,
    DataType.UINT32,
    DataType.INT64,
    DataType.UINT64,
    DataType.BOOL,
    DataType.STRING,
  ].map((t) => [t, dataTypeName(t) as ort.Tensor.Type]),
);

/**
 * A probe run that could not be made: `sentence` says what failed in one line, without
 * onnxruntime's words (the message has them); `sizes` says whether other input sizes may help.
 */
export class ProbeError extends RuntimeError {
  constructor(
    message: string,
    subject: string | undefined,
    readonly sentence: string,
    readonly sizes: boolean,
  ) {
    super(message, subject);
  }
}

const FROM_ORT = new Map(Object.entries(ORT_TYPES).map(([k, v]) => [v as string, Number(k)]));

/**
 * A synthetic tensor for an input: values in [0, 1) for floats, zeros otherwise. Symbolic dims
 * are guessed (guessInputDims) unless `override` gives the sizes.
 */
export function syntheticInput(v: ValueInfoProto, override?: number[], seed = 1, named?: Map<string, number>): ort.Tensor {
  return syntheticFeed(v, override, seed, named).tensor;
}

function syntheticFeed(
  v: ValueInfoProto,
  override: number[] | undefined,
  seed: number,
  named?: Map<string, number>,
): { tensor: ort.Tensor; guessed: GuessedDim[] } {
  const name = v.name ?? '';
  const elemType = tensorElemType(v.type);
  const type = elemType === undefined ? undefined : ORT_TYPES[elemType];
  if (!type) {
    const why = `input '${name}' has element type ${dataTypeName(elemType)}, which a probe run cannot feed`;
    throw new ProbeError(why, undefined, `Shapes could not be probed: ${why}.`, false);
  }
  const declared: Dim[] = shapeDims(v.type?.tensor_type?.shape) ?? [];
  const guess = override ? { dims: override, guessed: [] } : guessInputDims(declared, named);
  return { tensor: tensorOf(type, guess.dims, seed), guessed: guess.guessed };
}

function tensorOf(type: ort.Tensor.Type, dims: number[], seed: number): ort.Tensor {
  const count = dims.reduce((a, b) => a * b, 1);
  const random = seededRandom(seed);
  switch (type) {
    case 'float32':
      return new ort.Tensor(type, Float32Array.from({ length: count }, random), dims);
    case 'float64':
      return new ort.Tensor(type, Float64Array.from({ length: count }, random), dims);
    case 'string':
      return new ort.Tensor(type, new Array<string>(count).fill(''), dims);
    case 'bool':
      return new ort.Tensor(type, new Uint8Array(count), dims);
    case 'int64':
      return new ort.Tensor(type, new BigInt64Array(count), dims);
    case 'uint64':
      return new ort.Tensor(type, new BigUint64Array(count), dims);
    case 'float16':
      return new ort.Tensor(type, new Uint16Array(count), dims);
    default: {
      const ctors: Record<string, new (n: number) => Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array> = {
        int8: Int8Array,
        uint8: Uint8Array,
        int16: Int16Array,
        uint16: Uint16Array,
        int32: Int32Array,
        uint32: Uint32Array,
      };
      return new ort.Tensor(type as 'int8', new ctors[type](count) as Int8Array, dims);
    }
  }
}

/** Runs the model once with `wanted` values exposed; returns their shapes and element types. */
export async function probeRun(model: OnnxModel, wanted: string[], options: ProbeOptions = {}): Promise<ProbeResult> {
  const graph = model.proto.graph!;
  const initializers = new Set(graph.initializer.map((t) => t.name));
  const existing = new Set(graph.output.map((o) => o.name));
  const added: ValueInfoProto[] = [];
  const notExposed = new Map<string, string>();
  for (const name of wanted) {
    if (existing.has(name) || initializers.has(name)) continue;
    existing.add(name);
    const t = options.elemTypes?.get(name);
    // One output onnxruntime-node cannot return (bfloat16, float8, int4...) fails the whole session.
    if (t && !ORT_TYPES[t]) {
      notExposed.set(name, `onnxruntime-node cannot return ${dataTypeName(t)} values`);
      continue;
    }
    added.push(createMessage<ValueInfoProto>('ValueInfoProto', t ? { name, type: { tensor_type: { elem_type: t } } } : { name }));
  }
  const outputCount = graph.output.length;
  graph.output.push(...added);
  let session: ort.InferenceSession;
  try {
    session = await createSession(model, options);
  } catch (e) {
    throw new ProbeError(errorMessage(e), undefined, 'Shapes could not be probed: onnxruntime cannot load this model.', false);
  } finally {
    graph.output.length = outputCount;
  }
  try {
    const feeds: Record<string, ort.Tensor> = {};
    const inputShapes: Record<string, number[]> = {};
    const guessed: Record<string, GuessedDim[]> = {};
    // One size per symbolic name across inputs: 'batch' of one input is 'batch' of the next.
    const named = new Map<string, number>();
    for (const v of graph.input) {
      if (!v.name || initializers.has(v.name)) continue;
      const feed = syntheticFeed(v, options.inputShapes?.[v.name], 1, named);
      feeds[v.name] = feed.tensor;
      inputShapes[v.name] = [...feed.tensor.dims];
      if (feed.guessed.length) guessed[v.name] = feed.guessed;
    }
    let results: ort.InferenceSession.ReturnType;
    try {
      results = await session.run(feeds);
    } catch (e) {
      const given = Object.entries(inputShapes)
        .map(([k, d]) => `${k}=[${d.join(',')}]`)
        .join(' ');
      const cause = errorMessage(e);
      throw new ProbeError(
        `the probe run failed with inputs ${given}: ${cause}; give real input sizes (--input-shape NAME=D1,D2,...)`,
        model.file ?? 'model',
        probeFailureSentence(cause, inputShapes, guessed),
        true,
      );
    }
    const shapes = new Map<string, number[]>();
    const types = new Map<string, number>();
    for (const [name, tensor] of Object.entries(results)) {
      shapes.set(name, [...tensor.dims]);
      const t = FROM_ORT.get(tensor.type);
      if (t !== undefined) types.set(name, t);
      if ('dispose' in tensor && typeof tensor.dispose === 'function') tensor.dispose();
    }
    return { shapes, types, inputShapes, notExposed };
  } finally {
    await session.release();
  }
}

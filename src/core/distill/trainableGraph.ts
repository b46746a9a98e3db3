// ONNX made trainable (docs/distill-formats.md section 2): the main graph as `graph.json` and its
// weights as `.npy` files, which the trainer runs as a torch.nn.Module; and the way back, the
// trained weights written into the *same* graph (only initializer values change).
import * as fs from 'fs';
import * as path from 'path';
import { DataType, dataTypeName, isFloatType } from '../onnx/dataTypes';
import { readModel, type OnnxModel } from '../onnx/model';
import { shapeDims } from '../onnx/summary';
import { tensorElemType } from '../onnx/elementTypes';
import { tensorDims, tensorRawBytes } from '../onnx/tensor';
import { AttributeType, int64ToNumber, type AttributeProto, type TensorProto, type ValueInfoProto } from '../onnx/types';
import { writeModel, type WriteResult } from '../onnx/write';
import { createMessage } from '../onnx/codec';
import { descrOf } from '../data/npy';
import { OnnxCompressError } from '../errors';
import { readNpyFile } from './npyStream';
import { defaultOpsetVersion } from '../onnx/opsetUpgrade';

export const TRAINABLE_GRAPH_FORMAT = 'onnx-compress/trainable-graph';
export const TRAINED_WEIGHTS_FORMAT = 'onnx-compress/trained-weights';

export class TrainableGraphError extends OnnxCompressError {}

export interface GraphValue {
  name: string;
  shape: (number | null)[] | null;
  dtype: string;
}
export interface GraphInitializer {
  name: string;
  file: string;
  shape: number[];
  dtype: string;
  trainable: boolean;
}
export type AttributeValue = number | string | number[] | string[] | { file: string } | null;
export interface GraphNode {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: Record<string, AttributeValue>;
}

export interface TrainableGraph {
  format: typeof TRAINABLE_GRAPH_FORMAT;
  version: 1;
  opsets: Record<string, number>;
  inputs: GraphValue[];
  outputs: GraphValue[];
  initializers: GraphInitializer[];
  nodes: GraphNode[];
}

export interface ExportResult {
  graphFile: string;
  graph: TrainableGraph;
  /** Nodes the JSON form cannot carry (graph-valued attributes), for the trainer's check to list. */
  unsupported: { node: string; opType: string; reason: string }[];
  trainableParameters: number;
}

const dtypeName = (t: number) => dataTypeName(t);

function valueOf(v: ValueInfoProto): GraphValue {
  const t = tensorElemType(v.type);
  // Symbolic dims (a batch name) are null in the JSON form.
  const dims = shapeDims(v.type?.tensor_type?.shape);
  return {
    name: v.name ?? '',
    shape: dims ? dims.map((d) => (typeof d === 'number' && d > 0 ? d : null)) : null,
    dtype: t === undefined ? 'unknown' : dtypeName(t),
  };
}

export interface ExportOptions {
  /** Graph inputs renamed in graph.json (a student fed with data cached under the teacher's input names). */
  renameInputs?: Record<string, string>;
}

/** Writes `dir/graph.json` and `dir/weights/NNNN.npy` for the model's main graph. */
export async function exportTrainableGraph(model: OnnxModel | string, dir: string, options: ExportOptions = {}): Promise<ExportResult> {
  const m = typeof model === 'string' ? await readModel(model) : model;
  const graph = m.proto.graph!;
  const label = m.file ?? 'model';
  const renames = options.renameInputs ?? {};
  const taken = new Set([...graph.node.flatMap((n) => n.output), ...graph.initializer.map((t) => t.name ?? '')]);
  for (const [from, to] of Object.entries(renames)) {
    if (taken.has(to)) throw new TrainableGraphError(`input '${from}' cannot be renamed '${to}': the graph already has a tensor of that name`, label);
  }
  const rename = (name: string) => renames[name] ?? name;
  await fs.promises.mkdir(path.join(dir, 'weights'), { recursive: true });
  let counter = 0;
  let trainableParameters = 0;
  const writeTensor = async (t: TensorProto, name: string): Promise<{ file: string; shape: number[]; dtype: string; type: number }> => {
    const type = t.data_type ?? 0;
    let descr: string;
    try {
      descr = descrOf(type);
    } catch {
      throw new TrainableGraphError(`tensor '${name}' is ${dataTypeName(type)}, which has no numpy form; the trainer cannot use this model`, label);
    }
    const shape = tensorDims(t);
    const bytes = tensorRawBytes(t, m.external);
    const file = `weights/${String(counter++).padStart(4, '0')}.npy`;
    await fs.promises.writeFile(path.join(dir, file), Buffer.concat([npyHeaderBytes(descr, shape), bytes]));
    return { file, shape, dtype: dtypeName(type), type };
  };

  const initializerNames = new Set(graph.initializer.map((t) => t.name ?? ''));
  const initializers: GraphInitializer[] = [];
  for (const t of graph.initializer) {
    const w = await writeTensor(t, t.name ?? '');
    const trainable = isFloatType(w.type);
    if (trainable) trainableParameters += w.shape.reduce((a, b) => a * b, 1);
    initializers.push({ name: t.name ?? '', file: w.file, shape: w.shape, dtype: w.dtype, trainable });
  }
  const nodes: GraphNode[] = [];
  const unsupported: ExportResult['unsupported'] = [];
  for (const [i, n] of graph.node.entries()) {
    const name = n.name || `${n.op_type}_${i}`;
    // Constant nodes become initializers under the same rule: some exporters (PaddlePaddle, spox)
    // keep every weight in them. Trained values go back into the Constant node.
    if (n.op_type === 'Constant' && (n.domain ?? '') === '') {
      const t = constantTensor(n.attribute, n.output[0]);
      if (t) {
        const w = await writeTensor(t, n.output[0]);
        const trainable = isFloatType(w.type);
        if (trainable) trainableParameters += w.shape.reduce((a, b) => a * b, 1);
        initializers.push({ name: n.output[0], file: w.file, shape: w.shape, dtype: w.dtype, trainable });
        continue;
      }
    }
    const attributes: Record<string, AttributeValue> = {};
    for (const a of n.attribute) {
      if (a.type === AttributeType.GRAPH || a.type === AttributeType.GRAPHS) {
        unsupported.push({ node: name, opType: n.op_type ?? '', reason: `attribute '${a.name}' is a subgraph (control flow is not supported)` });
        attributes[a.name ?? ''] = null;
        continue;
      }
      attributes[a.name ?? ''] = await attributeValue(a, (t) => writeTensor(t, `${name}.${a.name}`).then((w) => w.file));
    }
    nodes.push({ name, opType: n.op_type ?? '', domain: n.domain ?? '', inputs: n.input.map(rename), outputs: [...n.output], attributes });
  }
  const opsets = graphOpsets(m);
  const result: TrainableGraph = {
    format: TRAINABLE_GRAPH_FORMAT,
    version: 1,
    opsets,
    inputs: graph.input
      .filter((v) => !initializerNames.has(v.name ?? ''))
      .map(valueOf)
      .map((v) => ({ ...v, name: rename(v.name) })),
    outputs: graph.output.map(valueOf).map((v) => ({ ...v, name: rename(v.name) })),
    initializers,
    nodes,
  };
  const graphFile = path.join(dir, 'graph.json');
  await fs.promises.writeFile(graphFile, JSON.stringify(result, null, 1));
  return { graphFile, graph: result, unsupported, trainableParameters };
}

/**
 * The opsets graph.json records, the default domain always under '' (also when the model calls it
 * 'ai.onnx'): operators changed meaning between opsets, and the trainer refuses to guess.
 */
export function graphOpsets(m: OnnxModel): Record<string, number> {
  const opsets: Record<string, number> = {};
  for (const o of m.proto.opset_import) {
    if (o.domain && o.domain !== 'ai.onnx') opsets[o.domain] = int64ToNumber(o.version);
  }
  let version = defaultOpsetVersion(m.proto);
  if (version === undefined) {
    const ir = int64ToNumber(m.proto.ir_version ?? 0);
    // ONNX: before IR 3 a model without opset imports means opset 1; from IR 3 the import is required.
    if (ir >= 3)
      throw new TrainableGraphError(
        `the model imports no opset for the default ONNX domain (IR ${ir}), so which version of its operators it uses is unknown; re-export it with its opset recorded`,
        m.file ?? 'model',
      );
    version = 1;
  }
  opsets[''] = version;
  return opsets;
}

async function attributeValue(a: AttributeProto, tensorFile: (t: TensorProto) => Promise<string>): Promise<AttributeValue> {
  const dec = new TextDecoder();
  switch (a.type) {
    case AttributeType.FLOAT:
      return a.f ?? 0;
    case AttributeType.INT:
      return int64ToNumber(a.i);
    case AttributeType.STRING:
      return dec.decode(a.s ?? new Uint8Array());
    case AttributeType.TENSOR:
      return { file: await tensorFile(a.t!) };
    case AttributeType.FLOATS:
      return [...a.floats];
    case AttributeType.INTS:
      return a.ints.map((v) => int64ToNumber(v));
    case AttributeType.STRINGS:
      return a.strings.map((s) => dec.decode(s));
    default:
      return null;
  }
}

/** The tensor a Constant node holds (value, or one of the value_* shorthands), as a TensorProto. */
function constantTensor(attrs: AttributeProto[], name: string): TensorProto | undefined {
  const a = attrs[0];
  if (!a) return undefined;
  const raw = (type: number, dims: number[], values: ArrayBufferView): TensorProto =>
    ({ name, data_type: type, dims, raw_data: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) }) as TensorProto;
  switch (a.name) {
    case 'value':
      return a.t ? { ...a.t, name } : undefined;
    case 'value_float':
      return raw(DataType.FLOAT, [], Float32Array.of(a.f ?? 0));
    case 'value_floats':
      return raw(DataType.FLOAT, [a.floats.length], Float32Array.from(a.floats));
    case 'value_int':
      return raw(DataType.INT64, [], BigInt64Array.of(BigInt(int64ToNumber(a.i))));
    case 'value_ints':
      return raw(
        DataType.INT64,
        [a.ints.length],
        BigInt64Array.from(a.ints, (v) => BigInt(int64ToNumber(v))),
      );
    default:
      return undefined;
  }
}

function npyHeaderBytes(descr: string, shape: readonly number[]): Buffer {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const total = Math.ceil((10 + dict.length + 1) / 64) * 64;
  const out = Buffer.alloc(total, 0x20);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, (total - 10) & 0xff, (total - 10) >> 8]).copy(out);
  out.write(dict, 10, 'latin1');
  out[total - 1] = 0x0a;
  return out;
}

export interface TrainedWeightsResult extends WriteResult {
  /** Initializers whose values were replaced. */
  replaced: string[];
  /** Trainable initializers the trainer returned no value for (kept as they were). */
  unchanged: string[];
}

/**
 * Writes `outFile`: the model of `onnxFile` with the initializers named in
 * `weightsDir/weights.json` replaced by the trained values (same names, types and shapes;
 * nothing else changes). The write is atomic; the original is never touched.
 */
export async function writeTrainedWeights(onnxFile: string, weightsDir: string, outFile: string): Promise<TrainedWeightsResult> {
  const model = await readModel(onnxFile);
  const listFile = path.join(weightsDir, 'weights.json');
  let list: { format?: string; version?: number; weights?: Record<string, string> };
  try {
    list = JSON.parse(await fs.promises.readFile(listFile, 'utf8'));
  } catch (e) {
    throw new TrainableGraphError(`cannot read the trained weights list (${(e as Error).message}); the trainer did not finish exporting`, listFile);
  }
  if (list.format !== TRAINED_WEIGHTS_FORMAT || !list.weights) throw new TrainableGraphError(`is not a ${TRAINED_WEIGHTS_FORMAT} file`, listFile);
  const graph = model.proto.graph!;
  const byName = new Map(graph.initializer.map((t) => [t.name ?? '', t]));
  const constants = new Map(graph.node.filter((n) => n.op_type === 'Constant' && (n.domain ?? '') === '').map((n) => [n.output[0], n]));
  const replaced: string[] = [];
  for (const [name, file] of Object.entries(list.weights)) {
    const node = byName.has(name) ? undefined : constants.get(name);
    const t = byName.get(name) ?? (node && constantTensor(node.attribute, name));
    if (!t) throw new TrainableGraphError(`names '${name}', which is no initializer or Constant of ${onnxFile}; the weights belong to another model`, listFile);
    const { header, bytes } = await readNpyFile(path.join(weightsDir, file));
    const dims = tensorDims(t);
    if (header.dtype !== t.data_type || header.shape.join() !== dims.join()) {
      throw new TrainableGraphError(
        `'${name}' comes back as ${dataTypeName(header.dtype)} [${header.shape.join(',')}] but the model holds ${dataTypeName(t.data_type ?? 0)} [${dims.join(',')}]`,
        path.join(weightsDir, file),
      );
    }
    if (node) {
      // The Constant keeps its name and output; its value becomes a tensor attribute with the new values.
      node.attribute = [
        createMessage<AttributeProto>('AttributeProto', {
          name: 'value',
          type: AttributeType.TENSOR,
          t: createMessage<TensorProto>('TensorProto', { name: '', data_type: t.data_type, dims: dims, raw_data: bytes }),
        }),
      ];
    } else {
      // Only the values change: the bytes go to raw_data; typed fields and external references are cleared.
      t.raw_data = bytes;
      t.float_data = [];
      t.int32_data = [];
      t.int64_data = [];
      t.double_data = [];
      t.uint64_data = [];
      t.external_data = [];
      t.data_location = undefined;
    }
    replaced.push(name);
  }
  const unchanged = graph.initializer.filter((t) => isFloatType(t.data_type ?? 0) && !(t.name! in list.weights!)).map((t) => t.name ?? '');
  const written = await writeModel(model, outFile);
  return { ...written, replaced, unchanged };
}

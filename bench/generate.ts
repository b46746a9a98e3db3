// Writes the benchmark model straight to disk, one tensor at a time.
//
// The layout is a realistic one: an embedding table (Gather) followed by a stack of
// MatMul + Add (+ Relu) layers whose widths vary, each with a float32 weight matrix and a bias.
// Only the graph skeleton (nodes, inputs, outputs) goes through protobufjs; each initializer is
// a TensorProto header encoded by protobufjs followed by its raw_data field, whose bytes are
// generated (seeded) and written without ever holding more than one tensor in memory.
//
// The .onnx file's fields come in the order: node*, name, input, output, initializer*. Fields of
// different numbers may come in any order in protobuf, so this is the same model a writer that
// sorts by field number would produce.
import { seededRandom } from '../src/core/random';
import { varint } from '../test/support/varint';
import * as fs from 'fs';
import { createMessage, encodeMessage } from '../src/core/onnx/codec';
import { DataType } from '../src/core/onnx/dataTypes';
import type { GraphProto, ModelProto, NodeProto, TensorProto, ValueInfoProto } from '../src/core/onnx/types';

export interface GeneratedModel {
  file: string;
  fileBytes: number;
  /** Bytes of float32 initializer data. */
  weightBytes: number;
  tensors: number;
  nodes: number;
  layers: number;
  largestTensor: { name: string; elements: number; dims: number[] };
}

const tag = (field: number, wire: number) => varint(field * 8 + wire);

interface Weight {
  name: string;
  dims: number[];
  /** Uniform values in [-scale, scale]. */
  scale: number;
  seed: number;
}

function valueInfo(name: string, elemType: number, shape: Array<number | string>): ValueInfoProto {
  const dim = shape.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d }));
  return createMessage<ValueInfoProto>('ValueInfoProto', { name, type: { tensor_type: { elem_type: elemType, shape: { dim } } } });
}

/** The layer widths: a seeded walk over typical hidden sizes, until the weights reach `targetBytes`. */
function plan(targetBytes: number, seed: number): { vocab: number; widths: number[] } {
  const sizes = [384, 512, 640, 768, 1024, 1280, 1536];
  const rnd = seededRandom(seed);
  const vocab = 8192;
  const widths = [768];
  let bytes = vocab * widths[0] * 4;
  while (bytes < targetBytes) {
    const next = sizes[Math.floor(rnd() * sizes.length)];
    bytes += (widths[widths.length - 1] * next + next) * 4;
    widths.push(next);
  }
  return { vocab, widths };
}

/** Writes the model to `file`; about `targetBytes` of float32 weights. */
export function generateModel(file: string, targetBytes = 300e6, seed = 20240611): GeneratedModel {
  const { vocab, widths } = plan(targetBytes, seed);
  const nodes: NodeProto[] = [];
  const weights: Weight[] = [];
  const node = (op_type: string, input: string[], output: string[]) => {
    nodes.push(createMessage<NodeProto>('NodeProto', { op_type, input, output, name: `${op_type}_${nodes.length}` }));
  };
  weights.push({ name: 'embedding.weight', dims: [vocab, widths[0]], scale: 0.02, seed: seed + 1 });
  node('Gather', ['embedding.weight', 'input_ids'], ['h0']);
  let h = 'h0';
  for (let i = 1; i < widths.length; i++) {
    const [din, dout] = [widths[i - 1], widths[i]];
    const w = `layers.${i - 1}.weight`;
    const b = `layers.${i - 1}.bias`;
    weights.push({ name: w, dims: [din, dout], scale: 1 / Math.sqrt(din), seed: seed + 2 * i });
    weights.push({ name: b, dims: [dout], scale: 0.01, seed: seed + 2 * i + 1 });
    const last = i === widths.length - 1;
    node('MatMul', [h, w], [`mm${i}`]);
    node('Add', [`mm${i}`, b], [last ? 'logits' : `add${i}`]);
    if (!last) node('Relu', [`add${i}`], [`h${i}`]);
    h = `h${i}`;
  }

  const graph = createMessage<GraphProto>('GraphProto', {
    name: 'bench_mlp_stack',
    node: nodes,
    input: [valueInfo('input_ids', DataType.INT64, ['batch', 'seq'])],
    output: [valueInfo('logits', DataType.FLOAT, ['batch', 'seq', widths[widths.length - 1]])],
  });
  const skeleton = encodeMessage('GraphProto', graph);

  // Every initializer as: tag(5) len TensorProto{ header, tag(9) len raw bytes }.
  const headers = weights.map((w) => {
    const header = encodeMessage('TensorProto', createMessage<TensorProto>('TensorProto', { name: w.name, dims: w.dims, data_type: DataType.FLOAT }));
    const raw = w.dims.reduce((a, b) => a * b, 1) * 4;
    const tensorHead = [...header, ...tag(9, 2), ...varint(raw)];
    const tensorLen = tensorHead.length + raw;
    return { w, raw, prefix: Uint8Array.from([...tag(5, 2), ...varint(tensorLen), ...tensorHead]) };
  });
  const graphLen = skeleton.length + headers.reduce((s, x) => s + x.prefix.length + x.raw, 0);
  const modelHead = encodeMessage(
    'ModelProto',
    createMessage<ModelProto>('ModelProto', {
      ir_version: 8,
      opset_import: [{ domain: '', version: 17 }],
      producer_name: 'onnx-compress-bench',
    }),
  );

  const fd = fs.openSync(file, 'w');
  let fileBytes = 0;
  const write = (b: Uint8Array) => {
    let done = 0;
    while (done < b.length) done += fs.writeSync(fd, b, done, b.length - done);
    fileBytes += b.length;
  };
  try {
    write(modelHead);
    write(Uint8Array.from([...tag(7, 2), ...varint(graphLen)]));
    write(skeleton);
    let largest = weights[0];
    let largestCount = 0;
    for (const { w, raw, prefix } of headers) {
      write(prefix);
      const values = new Float32Array(raw / 4);
      const rnd = seededRandom(w.seed);
      for (let i = 0; i < values.length; i++) values[i] = (rnd() * 2 - 1) * w.scale;
      write(new Uint8Array(values.buffer));
      if (values.length > largestCount) [largest, largestCount] = [w, values.length];
    }
    const weightBytes = headers.reduce((s, x) => s + x.raw, 0);
    return {
      file,
      fileBytes,
      weightBytes,
      tensors: weights.length,
      nodes: nodes.length,
      layers: widths.length - 1,
      largestTensor: { name: largest.name, elements: largestCount, dims: largest.dims },
    };
  } finally {
    fs.closeSync(fd);
  }
}

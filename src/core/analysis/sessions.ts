// Sessions for the analysis: a model with some of its intermediate values exposed as outputs
// (the model in memory is restored afterwards), and a model's file size with its external data.
import * as fs from 'fs';
import { createMessage } from '../onnx/codec';
import { DataType } from '../onnx/dataTypes';
import type { OnnxModel } from '../onnx/model';
import type { ValueInfoProto } from '../onnx/types';
import { createSession, type ort } from '../runtime/session';

/** A session returning `tensors` (float values) besides the model's outputs. */
export async function sessionWithOutputs(model: OnnxModel, tensors: string[], ep: string): Promise<ort.InferenceSession> {
  const graph = model.proto.graph!;
  const count = graph.output.length;
  const existing = new Set(graph.output.map((o) => o.name));
  for (const name of tensors) {
    if (existing.has(name)) continue;
    existing.add(name);
    graph.output.push(createMessage<ValueInfoProto>('ValueInfoProto', { name, type: { tensor_type: { elem_type: DataType.FLOAT } } }));
  }
  try {
    return await createSession(model, { executionProviders: [ep] });
  } finally {
    graph.output.length = count;
  }
}

/** Bytes of a model file plus its external data file (NAME.onnx.data), when there is one. */
export function modelBytes(file: string): number {
  let total = fs.statSync(file).size;
  if (fs.existsSync(`${file}.data`)) total += fs.statSync(`${file}.data`).size;
  return total;
}

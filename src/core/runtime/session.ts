// onnxruntime-node sessions for the engine: built from a model in memory (so the engine can run
// a modified copy, for instance with intermediate values exposed as outputs), with external data
// resolved in the original model's folder, and quiet logs.
import * as ort from 'onnxruntime-node';
import { OnnxCompressError, errorMessage } from '../errors';
import { createMessage, encodeMessage } from '../onnx/codec';
import type { OnnxModel } from '../onnx/model';
import type { NodeProto, ValueInfoProto } from '../onnx/types';

export interface SessionSettings {
  /** Execution providers in order of preference; default ['cpu']. */
  executionProviders?: string[];
  intraOpThreads?: number;
  /** Write the model as onnxruntime optimized it (for fusion checks). */
  optimizedModelFilePath?: string;
}

export class RuntimeError extends OnnxCompressError {}

ort.env.logLevel = 'error';

export function sessionOptions(model: OnnxModel, settings: SessionSettings = {}): ort.InferenceSession.SessionOptions {
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: settings.executionProviders ?? ['cpu'],
    logSeverityLevel: 3,
    graphOptimizationLevel: 'all',
  };
  if (settings.intraOpThreads) options.intraOpNumThreads = settings.intraOpThreads;
  if (settings.optimizedModelFilePath) options.optimizedModelFilePath = settings.optimizedModelFilePath;
  // A model loaded from memory finds its external data through this folder.
  if (model.external.baseDir) {
    options.extra = { session: { model_external_initializers_file_folder_path: model.external.baseDir } };
  }
  return options;
}

/** A session over the model as it is in memory now. */
export async function createSession(model: OnnxModel, settings: SessionSettings = {}): Promise<ort.InferenceSession> {
  const bytes = encodeMessage('ModelProto', model.proto);
  try {
    return await ort.InferenceSession.create(bytes, sessionOptions(model, settings));
  } catch (e) {
    throw new RuntimeError(`onnxruntime cannot load the model: ${errorMessage(e)}`, model.file ?? 'model');
  }
}

export { ort };

/**
 * A session that also returns `names` (graph outputs, after any `nodes` that compute them), added
 * to the model in memory and taken back off once the session exists: the model is left as it was.
 * `elemType` declares the outputs' element type; left out, onnxruntime infers it.
 */
export async function sessionWithOutputs(
  model: OnnxModel,
  names: string[],
  executionProvider: string,
  extra: { nodes?: NodeProto[]; elemType?: number } = {},
): Promise<ort.InferenceSession> {
  const graph = model.proto.graph!;
  const [outputs, nodes] = [graph.output.length, graph.node.length];
  const existing = new Set(graph.output.map((o) => o.name));
  graph.node.push(...(extra.nodes ?? []));
  for (const name of names) {
    if (existing.has(name)) continue;
    existing.add(name);
    graph.output.push(
      createMessage<ValueInfoProto>('ValueInfoProto', extra.elemType === undefined ? { name } : { name, type: { tensor_type: { elem_type: extra.elemType } } }),
    );
  }
  try {
    return await createSession(model, { executionProviders: [executionProvider] });
  } finally {
    graph.output.length = outputs;
    graph.node.length = nodes;
  }
}

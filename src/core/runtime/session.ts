// onnxruntime-node sessions for the engine: built from a model in memory (so the engine can run
// a modified copy, for instance with intermediate values exposed as outputs), with external data
// resolved in the original model's folder, and quiet logs.
import * as ort from 'onnxruntime-node';
import * as path from 'path';
import { OnnxCompressError, errorMessage } from '../errors';
import { createMessage, encodeMessage } from '../onnx/codec';
import type { OnnxModel } from '../onnx/model';
import { inlineTensorBytes, PROTOBUF_LIMIT } from '../onnx/write';
import type { NodeProto, ValueInfoProto } from '../onnx/types';

export interface SessionSettings {
  /** Execution providers in order of preference; default ['cpu']. */
  executionProviders?: string[];
  intraOpThreads?: number;
  /** Write the model as onnxruntime optimized it (for fusion checks). */
  optimizedModelFilePath?: string;
  /** With optimizedModelFilePath: the dump's tensors of 1 KiB or more go to a data file beside it
   *  (NAME.data), so that writing it does not hold a serialized copy of the whole model. */
  optimizedExternalData?: boolean;
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
  const session: Record<string, string> = {};
  // A model loaded from memory finds its external data through this folder.
  if (model.external.baseDir) session.model_external_initializers_file_folder_path = model.external.baseDir;
  if (settings.optimizedModelFilePath && settings.optimizedExternalData) {
    session.optimized_model_external_initializers_file_name = `${path.basename(settings.optimizedModelFilePath)}.data`;
    session.optimized_model_external_initializers_min_size_in_bytes = '1024';
  }
  if (Object.keys(session).length) options.extra = { session };
  return options;
}

/** A session over the model as it is in memory now. Its protobuf (tensors in external data stay
 *  out of it) must fit the 2 GiB limit: past it, onnxruntime could not parse it anyway, and the
 *  encoding alone would double the memory. */
export async function createSession(model: OnnxModel, settings: SessionSettings = {}): Promise<ort.InferenceSession> {
  const inline = inlineTensorBytes(model);
  if (inline > PROTOBUF_LIMIT) {
    throw new RuntimeError(
      `the model in memory holds ${Math.round(inline / 2 ** 20)} MiB of tensors inline, past the 2 GiB protobuf limit onnxruntime can load; save it with external data first (onnx-compress save --external-data)`,
      model.file ?? 'model',
    );
  }
  const bytes = encodeMessage('ModelProto', model.proto);
  try {
    return await ort.InferenceSession.create(bytes, sessionOptions(model, settings));
  } catch (e) {
    throw new RuntimeError(`onnxruntime cannot load the model: ${errorMessage(e)}`, model.file ?? 'model');
  }
}

/**
 * A session over a model as read from its file: onnxruntime reads the file and its external data
 * itself, so no copy of the model's bytes is made in JavaScript (for a model that holds its weights
 * inline, the file's buffer and an encoded copy would otherwise sit beside onnxruntime's own). The
 * model must be unchanged since it was read (readModel checked its external references), or be a
 * file this engine wrote (a path).
 */
export async function createSessionFromFile(model: OnnxModel | string, settings: SessionSettings = {}): Promise<ort.InferenceSession> {
  if (typeof model !== 'string' && !model.file) return createSession(model, settings);
  const file = typeof model === 'string' ? model : model.file!;
  const options = sessionOptions({ external: { baseDir: undefined } } as OnnxModel, settings);
  try {
    return await ort.InferenceSession.create(file, options);
  } catch (e) {
    throw new RuntimeError(`onnxruntime cannot load the model: ${errorMessage(e)}`, file);
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

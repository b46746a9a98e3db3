// Reading and writing whole models.
//
// Reading decodes the file once; tensor bytes stay views into the file's buffer and external
// data stays on disk until asked for. Every problem is reported with the file's name: corrupt
// or truncated bytes, a protobuf that is not a model, an IR version newer than the schema, and
// external data that is missing or lies outside the model's folder.
import * as fs from 'fs';
import * as path from 'path';
import { ModelReadError, OnnxCompressError, TensorDataError, errorMessage } from '../errors';
import { decodeMessage } from './codec';
import { ExternalDataStore, isExternal } from './externalData';
import { MAX_IR_VERSION } from './schema';
import { elementCount, is4Bit, tensorDims } from './tensor';
import { int64ToNumber, type ModelProto, type TensorProto, type TypeProto } from './types';
import { allGraphs, allTensors } from './walk';

export interface OnnxModel {
  proto: ModelProto;
  /** The file it was read from (absolute), when it came from a file. */
  file?: string;
  /** Reads the tensors kept in external files. */
  external: ExternalDataStore;
  /** Size of the .onnx file (or buffer) in bytes. */
  byteLength: number;
}

export interface DecodeOptions {
  /** Name used in messages (the file's path when there is one). */
  label?: string;
  /** Folder external data is resolved against; default: the file's folder. */
  baseDir?: string;
  /** The file the bytes came from. */
  file?: string;
}

function describeDecodeFailure(e: unknown, size: number): string {
  const msg = errorMessage(e);
  const m = /index out of range: (\d+) \+ (\d+) > (\d+)/.exec(msg);
  if (m) {
    return `the protobuf data is truncated or corrupt: a field at byte ${m[1]} declares ${m[2]} bytes but only ${Number(m[3]) - Number(m[1])} remain (file size ${size})`;
  }
  // protobufjs' generated decoders say only this when a sub-message runs past the buffer.
  if (msg === 'index out of range') {
    return `the protobuf data is truncated or corrupt: a field declares more bytes than the file holds (file size ${size})`;
  }
  if (/invalid wire type|illegal tag|index out of range/i.test(msg))
    return `the bytes are not valid protobuf (${msg}); the file is corrupt or not an ONNX model`;
  if (/nesting depth/i.test(msg)) return `the protobuf nests messages too deeply (${msg}); the file is corrupt or hostile`;
  return `the protobuf data cannot be decoded (${msg})`;
}

function checkIsModel(proto: ModelProto, size: number): void {
  if (proto.ir_version === undefined) {
    throw new Error(`no IR version: this is a protobuf file (${size} bytes) but not an ONNX model`);
  }
  const ir = int64ToNumber(proto.ir_version, 'IR version');
  if (ir < 1) throw new Error(`IR version ${ir} is not valid: this is not an ONNX model`);
  if (ir > MAX_IR_VERSION) {
    throw new Error(
      `IR version ${ir} is newer than this reader knows (up to ${MAX_IR_VERSION}); fields added since could be lost. Update ONNX Compress, or re-export the model with IR version ${MAX_IR_VERSION} or lower`,
    );
  }
  if (!proto.graph) throw new Error('the model has no graph: this is not an ONNX model, or the file is truncated');
  // Required since IR 3, and written after the graph: a model cut after its graph lacks it.
  if (ir >= 3 && proto.opset_import.length === 0) throw new Error('no opset import: the file is truncated or not a complete model');
  for (const { graph, path: where } of allGraphs(proto)) {
    graph.node.forEach((n, i) => {
      if (!n.op_type) throw new Error(`node ${i} of graph ${where} has no op_type; the file is corrupt`);
    });
    for (const v of [...graph.input, ...graph.output, ...graph.value_info]) checkDeclaredDims(v.type, `value '${v.name ?? ''}' of graph ${where}`);
  }
  // Read as numbers everywhere (summary, data layer): beyond 2^53 they are corrupt, not big.
  for (const o of [...proto.opset_import, ...proto.functions.flatMap((f) => f.opset_import)]) int64ToNumber(o.version, `opset version of '${o.domain ?? ''}'`);
  int64ToNumber(proto.model_version, 'model version');
}

/** Declared dims beyond 2^53 (no tensor has that many elements on an axis) are corruption. */
function checkDeclaredDims(t: TypeProto | undefined, where: string): void {
  if (!t) return;
  const shape = t.tensor_type?.shape ?? t.sparse_tensor_type?.shape;
  for (const d of shape?.dim ?? []) if (d.dim_value !== undefined) int64ToNumber(d.dim_value, `a dimension of ${where}`);
  for (const inner of [t.sequence_type?.elem_type, t.optional_type?.elem_type, t.map_type?.value_type]) checkDeclaredDims(inner, where);
}

/** Decodes a model from bytes, checking that it is a model this reader can represent. */
export function decodeModel(bytes: Uint8Array, options: DecodeOptions = {}): OnnxModel {
  const label = options.label ?? options.file ?? 'model';
  if (bytes.length === 0) throw new ModelReadError('the file is empty', label);
  let proto: ModelProto;
  try {
    proto = decodeMessage<ModelProto>('ModelProto', bytes);
  } catch (e) {
    throw new ModelReadError(describeDecodeFailure(e, bytes.length), label);
  }
  try {
    checkIsModel(proto, bytes.length);
  } catch (e) {
    throw new ModelReadError(errorMessage(e), label);
  }
  const baseDir = options.baseDir ?? (options.file ? path.dirname(options.file) : undefined);
  const model: OnnxModel = { proto, file: options.file, external: new ExternalDataStore(baseDir), byteLength: bytes.length };
  checkTensors(model, label);
  return model;
}

/** Every tensor's shape must be one its data could fill, and every external reference must
 *  name bytes that exist inside the model's folder; so a hostile shape fails here, not later. */
function checkTensors(model: OnnxModel, label: string): void {
  for (const { tensor } of allTensors(model.proto)) {
    try {
      const dims = tensorDims(tensor);
      if (isExternal(tensor)) checkFits(tensor, dims, model.external.check(tensor), 'its external data');
      else checkFits(tensor, dims, model.byteLength, 'the file');
    } catch (e) {
      throw new ModelReadError(errorMessage(e), label);
    }
  }
}

function checkFits(t: TensorProto, dims: number[], available: number, where: string): void {
  const count = elementCount(dims);
  const declares = `declares ${countText(count)} elements [${dims.join(', ')}]`;
  // Byte sizes are count * up to 16 bytes (complex128): they must stay exact integers.
  if (count > Number.MAX_SAFE_INTEGER / 16) throw new TensorDataError(`${declares}, more than any model can hold`, `tensor '${t.name ?? ''}'`);
  // However they are stored, elements take a byte each at least (4-bit ones, half a byte).
  const least = is4Bit(t.data_type ?? 0) ? Math.ceil(count / 2) : count;
  if (least > available) {
    throw new TensorDataError(`${declares}, at least ${least} bytes, but ${where} has only ${available}; the file is corrupt`, `tensor '${t.name ?? ''}'`);
  }
}

/** 2^60 reads better than 1152921504606847000. */
function countText(n: number): string {
  if (Number.isSafeInteger(n)) return String(n);
  const p = Math.log2(n);
  return Number.isInteger(p) ? `2^${p}` : `about 2^${Math.round(p)}`;
}

/** Reads a model from a file. */
export async function readModel(file: string, options: Omit<DecodeOptions, 'file'> = {}): Promise<OnnxModel> {
  const abs = path.resolve(file);
  let bytes: Buffer;
  try {
    const stat = await fs.promises.stat(abs);
    if (stat.isDirectory()) throw new OnnxCompressError('is a folder, not a model file');
    bytes = await fs.promises.readFile(abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : errorMessage(e);
    throw new ModelReadError(reason, file);
  }
  return decodeModel(bytes, { ...options, file: abs, label: options.label ?? file });
}

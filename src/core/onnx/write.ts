// Writing models (the output's folder is made when missing): always into a private staging folder
// beside the target (the model and its data
// file under their final names, so the staged model can be checked as it will be), renamed into
// place when complete, so that a failure or a cancel never leaves a half-written model. The model
// being written from is never the target.
//
// Tensor placement follows the 2 GB protobuf limit: `keep` writes tensors where they were (the
// external ones into a data file beside the output), `external` moves every tensor of at least
// `threshold` bytes to the data file (except the ones onnxruntime must find inline, see
// keepInline), `inline` pulls every tensor back into the .onnx file.
import * as fs from 'fs';
import * as path from 'path';
import { ModelWriteError, errorMessage } from '../errors';
import { makeFolderFor } from '../files';
import { encodeMessage } from './codec';
import { externalDataRef, isExternal } from './externalData';
import type { OnnxModel } from './model';
import { tensorRawBytes } from './tensor';
import { DATA_LOCATION_EXTERNAL, type TensorProto } from './types';
import { allTensors, type TensorVisit } from './walk';
import { DataType } from './dataTypes';

export type TensorPlacement = 'keep' | 'external' | 'inline';

export interface WriteOptions {
  placement?: TensorPlacement;
  /** With `external`: tensors of at least this many bytes move out (default 1024). */
  threshold?: number;
  /** Name of the data file, relative to the output's folder (default: `<output name>.data`). */
  location?: string;
  signal?: AbortSignal;
  /** Called with the staged model file once it is complete, before anything takes the output's
   *  name; throwing leaves nothing written (the error is passed on as it is). */
  check?: (staged: string) => Promise<void>;
}

export interface WriteResult {
  file: string;
  bytes: number;
  /** The external data file, when any tensor went to one. */
  dataFile?: string;
  dataBytes: number;
  externalTensors: number;
}

/** The protobuf limit: a single serialized message cannot exceed 2 GiB. */
export const PROTOBUF_LIMIT = 2 ** 31 - 1;

/** Offsets in the data file are aligned so that large tensors can be memory-mapped. */
function alignment(bytes: number): number {
  return bytes >= 64 * 1024 ? 4096 : 64;
}

const SAVED_FIELDS = ['raw_data', 'external_data', 'data_location', 'float_data', 'int32_data', 'int64_data', 'double_data', 'uint64_data'] as const;
type SavedFields = Map<string, { own: boolean; value: unknown }>;

function saveFields(t: TensorProto): SavedFields {
  const rec = t as unknown as Record<string, unknown>;
  return new Map(SAVED_FIELDS.map((k) => [k, { own: Object.prototype.hasOwnProperty.call(t, k), value: rec[k] }]));
}

function restoreFields(t: TensorProto, saved: SavedFields): void {
  const rec = t as unknown as Record<string, unknown>;
  for (const [k, { own, value }] of saved) {
    if (own) rec[k] = value;
    else delete rec[k];
  }
}

function clearData(t: TensorProto): void {
  const rec = t as unknown as Record<string, unknown>;
  for (const k of SAVED_FIELDS) delete rec[k];
}

function sameFile(a: string, b: string): boolean {
  if (path.resolve(a) === path.resolve(b)) return true;
  try {
    const sa = fs.statSync(a);
    const sb = fs.statSync(b);
    return sa.ino === sb.ino && sa.dev === sb.dev;
  } catch {
    return false;
  }
}

function checkAborted(signal: AbortSignal | undefined, out: string): void {
  if (signal?.aborted) throw new ModelWriteError('cancelled; nothing was written', out);
}

/** Tensors `external` placement leaves inline whatever the threshold: onnxruntime cannot read
 *  attribute tensors or shape operands (a Reshape shape, a ConstantOfShape input) from external
 *  data ("Cannot parse data from external tensors"); shape operands are small int32/int64 tensors. */
function keepInline({ tensor, role }: TensorVisit, bytes: number): boolean {
  const type = tensor.data_type;
  return role === 'attribute' || ((type === DataType.INT32 || type === DataType.INT64) && bytes < 1024);
}

/** Whether any of the source's external tensors reads from `file`. */
function readsExternalFile(model: OnnxModel, file: string): boolean {
  for (const { tensor, name } of allTensors(model.proto)) {
    if (isExternal(tensor) && sameFile(model.external.resolve(externalDataRef(tensor).location, name), file)) return true;
  }
  return false;
}

/** Bytes of a model file plus the data file writeModel puts beside it by default (NAME.onnx.data). */
export function modelBytes(file: string): number {
  let total = fs.statSync(file).size;
  if (fs.existsSync(`${file}.data`)) total += fs.statSync(`${file}.data`).size;
  return total;
}

export async function writeModel(model: OnnxModel, out: string, options: WriteOptions = {}): Promise<WriteResult> {
  const target = path.resolve(out);
  const placement = options.placement ?? 'keep';
  const threshold = options.threshold ?? 1024;
  const location = options.location ?? `${path.basename(target)}.data`;
  const dataFile = path.resolve(path.dirname(target), location);
  if (model.file && sameFile(model.file, target)) {
    throw new ModelWriteError('refusing to write over the model being read; choose another output path', out);
  }
  if (model.file && sameFile(model.file, dataFile)) {
    throw new ModelWriteError(`the data file ${location} would overwrite the source model`, out);
  }
  if (path.dirname(dataFile) !== path.dirname(target) && placement !== 'inline') {
    throw new ModelWriteError(`the data file location '${location}' must be a plain file name beside the output`, out);
  }
  // Replacing that file would change the bytes under the source model, which still reads them.
  if (placement !== 'inline' && readsExternalFile(model, dataFile)) {
    throw new ModelWriteError(
      `the data file ${location} is the source model's own external data file, which it still reads; choose another data file name or output folder`,
      out,
    );
  }

  const changed: Array<[TensorProto, SavedFields]> = [];
  let stage: string | undefined;
  let undoFolder = () => undefined as void;
  let fd: number | undefined;
  let dataBytes = 0;
  let externalTensors = 0;
  let inlineGrowth = 0;
  try {
    undoFolder = makeFolderFor(target);
    // Unique per call (two writers of one target never share it), in the target's folder so that
    // the final renames stay on one file system.
    stage = fs.mkdtempSync(path.join(path.dirname(target), `.${path.basename(target)}.`));
    const tempModel = path.join(stage, path.basename(target));
    const tempData = path.join(stage, path.basename(dataFile));
    for (const visit of allTensors(model.proto)) {
      const { tensor } = visit;
      checkAborted(options.signal, out);
      if (tensor.data_type === DataType.STRING) continue; // strings have no raw form
      const wasExternal = isExternal(tensor);
      if (placement === 'keep' && !wasExternal) continue;
      const bytes = tensorRawBytes(tensor, model.external);
      const toExternal = placement === 'keep' || (placement === 'external' && bytes.length >= threshold && !keepInline(visit, bytes.length));
      if (!toExternal && !wasExternal) continue;
      changed.push([tensor, saveFields(tensor)]);
      clearData(tensor);
      if (!toExternal) {
        tensor.raw_data = bytes;
        inlineGrowth += bytes.length;
        continue;
      }
      fd ??= fs.openSync(tempData, 'w');
      const offset = Math.ceil(dataBytes / alignment(bytes.length)) * alignment(bytes.length);
      fs.writeSync(fd, bytes, 0, bytes.length, offset);
      dataBytes = offset + bytes.length;
      externalTensors++;
      tensor.data_location = DATA_LOCATION_EXTERNAL;
      tensor.external_data = [
        { key: 'location', value: location },
        { key: 'offset', value: String(offset) },
        { key: 'length', value: String(bytes.length) },
      ];
    }
    if (model.byteLength + inlineGrowth > PROTOBUF_LIMIT) {
      throw new ModelWriteError(
        `the model would be about ${Math.round((model.byteLength + inlineGrowth) / 2 ** 20)} MiB, over the 2 GiB protobuf limit; keep large tensors in external data (--external-data)`,
        out,
      );
    }
    checkAborted(options.signal, out);
    const encoded = encodeMessage('ModelProto', model.proto);
    if (encoded.length > PROTOBUF_LIMIT) {
      throw new ModelWriteError('the model is over the 2 GiB protobuf limit; keep large tensors in external data (--external-data)', out);
    }
    await fs.promises.writeFile(tempModel, encoded, { signal: options.signal });
    // The caller may have cancelled while the model was being written.
    checkAborted(options.signal, out);
    if (fd !== undefined) {
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      fd = undefined;
    }
    if (options.check) {
      try {
        await options.check(tempModel);
      } catch (e) {
        throw new CheckFailed(e);
      }
      checkAborted(options.signal, out);
    }
    if (externalTensors) fs.renameSync(tempData, dataFile);
    try {
      fs.renameSync(tempModel, target);
    } catch (e) {
      // A data file without its model is half a model.
      if (externalTensors) fs.rmSync(dataFile, { force: true });
      throw e;
    }
    return { file: target, bytes: encoded.length, dataFile: externalTensors ? dataFile : undefined, dataBytes, externalTensors };
  } catch (e) {
    if (fd !== undefined) fs.closeSync(fd);
    // The staging folder goes before the folders made for it.
    if (stage) fs.rmSync(stage, { recursive: true, force: true });
    stage = undefined;
    undoFolder();
    if (e instanceof CheckFailed) throw e.error;
    if (e instanceof ModelWriteError) throw e;
    checkAborted(options.signal, out); // writeFile's AbortError
    throw new ModelWriteError(errorMessage(e), out);
  } finally {
    if (stage) fs.rmSync(stage, { recursive: true, force: true });
    for (const [tensor, saved] of changed) restoreFields(tensor, saved);
  }
}

/** The caller's check refused the staged model: its error goes out unchanged. */
class CheckFailed {
  constructor(readonly error: unknown) {}
}

// Writing models (the output's folder is made when missing): always into a private staging folder
// beside the target (the model and its data
// file under their final names, so the staged model can be checked as it will be), renamed into
// place when complete, so that a failure or a cancel never leaves a half-written model. The model
// being written from is never the target. The staged files are a TensorSink (tensorSink.ts), which
// a conversion may have opened earlier to put its new tensors in as it made them.
//
// Tensor placement follows the 2 GB protobuf limit: `keep` writes tensors where they were (the
// external ones into a data file beside the output), `external` moves every tensor of at least
// `threshold` bytes to the data file (except the ones onnxruntime must find inline, see
// keepInline), `inline` pulls every tensor back into the .onnx file. Whatever the placement, a
// model whose .onnx would pass the limit is written with external data instead (the result's
// `note` says so): the tensors are counted before anything is encoded, so no protobuf buffer past
// 2 GiB is ever built.
import * as fs from 'fs';
import * as path from 'path';
import { ModelWriteError, errorMessage } from '../errors';
import { formatBytes } from '../../shared/format';
import { encodeMessage } from './codec';
import { externalDataRef, isExternal } from './externalData';
import type { OnnxModel } from './model';
import { tensorRawBytes } from './tensor';
import { checkAborted, keepInline, TensorSink } from './tensorSink';
import type { TensorProto } from './types';
import { allTensors } from './walk';
import { DataType } from './dataTypes';

export type TensorPlacement = 'keep' | 'external' | 'inline';

export interface WriteOptions {
  placement?: TensorPlacement;
  /** With `external`: tensors of at least this many bytes move out (default 1024). */
  threshold?: number;
  /** With `external`: tensors already in external data stay there whatever their size (the
   *  placement of a model derived from one that keeps its weights outside). */
  keepExternal?: boolean;
  /** The caller is done with the model's tensor bytes: those written to the data file are not put
   *  back into it afterwards (the model in memory then refers to the written file), so they can be
   *  freed before `check` loads the staged model. */
  release?: boolean;
  /** Name of the data file, relative to the output's folder (default: `<output name>.data`). */
  location?: string;
  signal?: AbortSignal;
  /** Called with the staged model file once it is complete, before anything takes the output's
   *  name; throwing leaves nothing written (the error is passed on as it is). */
  check?: (staged: string) => Promise<void>;
  /** The staged output a conversion has been putting its new tensors into (`external` placement
   *  only; its target and data file must be this call's). Tensors it holds are already written;
   *  the rest go to its data file after them. On failure it is discarded like a staging of our own. */
  sink?: TensorSink;
  /** The size past which the .onnx file cannot be written and external data is used instead
   *  (default PROTOBUF_LIMIT; lower only in tests, to exercise the switch without 2 GiB files). */
  protobufLimit?: number;
}

export interface WriteResult {
  file: string;
  bytes: number;
  /** The external data file, when any tensor went to one. */
  dataFile?: string;
  dataBytes: number;
  externalTensors: number;
  /** Set when the placement asked could not be used: the model would have passed the protobuf
   *  limit, so its large tensors went to external data. Callers pass it on as a warning. */
  note?: string;
}

/** Whether any tensor of the model lies in external data: a model derived from it is written the
 *  same way, so that onnxruntime loads it tensor by tensor, at about its size in memory (an inline
 *  .onnx file costs two to three times that while it is parsed). */
export function keepsWeightsOutside(model: OnnxModel): boolean {
  for (const { tensor } of allTensors(model.proto)) if (isExternal(tensor)) return true;
  return false;
}

/** The protobuf limit: a single serialized message cannot exceed 2 GiB. */
export const PROTOBUF_LIMIT = 2 ** 31 - 1;

/** The limit writeModel applies when its caller gives none. Tests lower it to exercise the switch
 *  to external data through the whole pipeline without writing 2 GiB; nothing else changes it. */
export const writeLimits = { protobuf: PROTOBUF_LIMIT };

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

/** Whether any of the source's external tensors reads from `file` (those a sink staged do not). */
function readsExternalFile(model: OnnxModel, file: string, sink: TensorSink | undefined): boolean {
  for (const { tensor, name } of allTensors(model.proto)) {
    if (isExternal(tensor) && !sink?.holds(tensor) && sameFile(model.external.resolve(externalDataRef(tensor).location, name), file)) return true;
  }
  return false;
}

/** Bytes a tensor's values take in the .onnx file when stored inline, without reading external
 *  data (varint fields counted at their largest, so the estimate errs on the large side). */
function inlineBytes(t: TensorProto, model: OnnxModel): number {
  if (isExternal(t)) return model.external.check(t);
  if (t.raw_data !== undefined) return t.raw_data.length;
  return (
    t.float_data.length * 4 +
    t.int32_data.length * 5 +
    t.int64_data.length * 10 +
    t.double_data.length * 8 +
    t.uint64_data.length * 10 +
    t.string_data.reduce((s, b) => s + b.length + 5, 0)
  );
}

/** What the .onnx file's tensor data would weigh with `placement`, counted before any byte is
 *  read or encoded (external sizes come from their references). */
function inlineEstimate(model: OnnxModel, placement: TensorPlacement, threshold: number): number {
  let total = 0;
  for (const visit of allTensors(model.proto)) {
    const { tensor } = visit;
    if (placement === 'keep' && isExternal(tensor)) continue;
    const bytes = inlineBytes(tensor, model);
    if (placement === 'external' && tensor.data_type !== DataType.STRING && bytes >= threshold && !keepInline(visit, bytes)) continue;
    total += bytes;
  }
  return total;
}

/** Bytes of tensor data a model holds inline (in its protobuf) as it is now. */
export function inlineTensorBytes(model: OnnxModel): number {
  return inlineEstimate(model, 'keep', 0);
}

const SWITCH_NOTE = "the model's tensors would make the .onnx file";

/** Whether a warning is the note of writeModel's switch to external data (a model written again
 *  replaces its earlier one). */
export function isExternalSwitchNote(warning: string): boolean {
  return warning.startsWith(SWITCH_NOTE);
}

/** Bytes of a model file plus the data file writeModel puts beside it by default (NAME.onnx.data). */
export function modelBytes(file: string): number {
  let total = fs.statSync(file).size;
  if (fs.existsSync(`${file}.data`)) total += fs.statSync(`${file}.data`).size;
  return total;
}

export async function writeModel(model: OnnxModel, out: string, options: WriteOptions = {}): Promise<WriteResult> {
  const target = path.resolve(out);
  const asked = options.placement ?? 'keep';
  const limit = options.protobufLimit ?? writeLimits.protobuf;
  let threshold = options.threshold ?? 1024;
  let placement = asked;
  let note: string | undefined;
  const given = options.sink;
  const location = options.location ?? `${path.basename(target)}.data`;
  const dataFile = path.resolve(path.dirname(target), location);
  if (given && (given.target !== target || given.dataFile !== dataFile || asked !== 'external')) {
    given.discard();
    throw new RangeError(`the staged output ${given.target} (${given.location}) is not ${target} (${location}) with external placement`);
  }
  const refuse = (message: string) => {
    given?.discard();
    return new ModelWriteError(message, out);
  };
  if (model.file && sameFile(model.file, target)) {
    throw refuse('refusing to write over the model being read; choose another output path');
  }
  if (model.file && sameFile(model.file, dataFile)) {
    throw refuse(`the data file ${location} would overwrite the source model`);
  }
  if (asked !== 'external') {
    const estimate = inlineEstimate(model, asked, threshold);
    if (estimate > limit) {
      placement = 'external';
      threshold = Math.min(threshold, 1024);
      note = `${SWITCH_NOTE} about ${formatBytes(estimate)}, past the ${formatBytes(limit)} protobuf limit, so tensors of ${threshold} bytes or more were written to the external data file ${location} beside it${asked === 'inline' ? ' instead of inline as asked' : ''}`;
    }
  }
  if (path.dirname(dataFile) !== path.dirname(target) && placement !== 'inline') {
    throw refuse(`the data file location '${location}' must be a plain file name beside the output`);
  }
  // Replacing that file would change the bytes under the source model, which still reads them.
  if (placement !== 'inline' && readsExternalFile(model, dataFile, given)) {
    throw refuse(
      `the data file ${location} is the source model's own external data file, which it still reads; choose another data file name or output folder`,
    );
  }

  const changed: Array<[TensorProto, SavedFields]> = [];
  let sink: TensorSink | undefined = given;
  try {
    sink ??= new TensorSink(target, { location, signal: options.signal });
    for (const visit of allTensors(model.proto)) {
      const { tensor } = visit;
      checkAborted(options.signal, out);
      if (tensor.data_type === DataType.STRING || sink.holds(tensor)) continue; // strings have no raw form; a held one is written
      const wasExternal = isExternal(tensor);
      if (placement === 'keep' && !wasExternal) continue;
      const bytes = tensorRawBytes(tensor, model.external);
      const toExternal =
        placement === 'keep' ||
        (placement === 'external' && ((options.keepExternal && wasExternal) || (bytes.length >= threshold && !keepInline(visit, bytes.length))));
      if (!toExternal && !wasExternal) continue;
      if (!(toExternal && options.release)) changed.push([tensor, saveFields(tensor)]);
      clearData(tensor);
      if (!toExternal) {
        tensor.raw_data = bytes;
        continue;
      }
      sink.place(tensor, bytes);
    }
    // Tensors of other models' kinds (strings, a multitude of small ones) can still pass the limit.
    const left = inlineEstimate(model, 'keep', threshold);
    if (left > limit) {
      throw new ModelWriteError(
        `even with its tensors of ${threshold} bytes or more in external data, the model's tensors would make the .onnx file about ${formatBytes(left)}, past the ${formatBytes(limit)} protobuf limit; it cannot be saved as ONNX`,
        out,
      );
    }
    checkAborted(options.signal, out);
    let encoded: Uint8Array | undefined = encodeMessage('ModelProto', model.proto);
    const encodedBytes = encoded.length;
    if (encoded.length > limit) {
      throw new ModelWriteError(
        `the model is ${formatBytes(encoded.length)}, past the ${formatBytes(limit)} protobuf limit; keep large tensors in external data (--external-data)`,
        out,
      );
    }
    await fs.promises.writeFile(sink.stagedModel, encoded, { signal: options.signal });
    // Not held while the caller's check loads the staged model: it is as large as the .onnx file.
    encoded = undefined;
    // The caller may have cancelled while the model was being written.
    checkAborted(options.signal, out);
    sink.closeData();
    if (options.check) {
      try {
        await options.check(sink.stagedModel);
      } catch (e) {
        throw new CheckFailed(e);
      }
      checkAborted(options.signal, out);
    }
    sink.commit();
    const { dataBytes, externalTensors } = sink;
    return { file: target, bytes: encodedBytes, dataFile: externalTensors ? dataFile : undefined, dataBytes, externalTensors, ...(note ? { note } : {}) };
  } catch (e) {
    sink?.discard();
    if (e instanceof CheckFailed) throw e.error;
    if (e instanceof ModelWriteError) throw e;
    checkAborted(options.signal, out); // writeFile's AbortError
    throw new ModelWriteError(errorMessage(e), out);
  } finally {
    sink?.discard();
    for (const [tensor, saved] of changed) restoreFields(tensor, saved);
  }
}

/** The caller's check refused the staged model: its error goes out unchanged. */
class CheckFailed {
  constructor(readonly error: unknown) {}
}

// The staged files of one model being written: a private folder beside the target holding the
// .onnx and its external data file under their final names, renamed into place when complete.
// writeModel writes through one; a conversion that makes a large model tensor by tensor (half
// precision, weight-only) opens it early and `put`s each new tensor as soon as it is made, so that
// the converted bytes go to disk at once instead of all being held until the whole model is
// written: memory then stays bounded by the largest tensor. The staged folder is removed on
// failure or cancel (`discard`, safe to call at any time, a no-op once committed).
import * as fs from 'fs';
import * as path from 'path';
import { ModelWriteError } from '../errors';
import { makeFolderFor } from '../files';
import { DataType } from './dataTypes';
import { isExternal, type ExternalDataStore } from './externalData';
import { DATA_LOCATION_EXTERNAL, type TensorProto } from './types';
import type { TensorVisit } from './walk';

/** Tensors of at least this many bytes go to external data (writeModel's default threshold). */
export const EXTERNAL_THRESHOLD = 1024;

/** Offsets in the data file are aligned so that large tensors can be memory-mapped. */
function alignment(bytes: number): number {
  return bytes >= 64 * 1024 ? 4096 : 64;
}

/** Tensors `external` placement leaves inline whatever the threshold: onnxruntime cannot read
 *  attribute tensors or shape operands (a Reshape shape, a ConstantOfShape input) from external
 *  data ("Cannot parse data from external tensors"); shape operands are small int32/int64 tensors. */
export function keepInline({ tensor, role }: Pick<TensorVisit, 'tensor' | 'role'>, bytes: number): boolean {
  const type = tensor.data_type;
  return role === 'attribute' || ((type === DataType.INT32 || type === DataType.INT64) && bytes < 1024);
}

export function checkAborted(signal: AbortSignal | undefined, out: string): void {
  if (signal?.aborted) throw new ModelWriteError('cancelled; nothing was written', out);
}

export interface SinkOptions {
  /** Name of the data file, relative to the output's folder (default: `<output name>.data`). */
  location?: string;
  signal?: AbortSignal;
  /** The store of the model whose tensors are put: it reads them from the staged data file (then
   *  from the written one) rather than by location, which names another file in the source's folder. */
  store?: ExternalDataStore;
}

export class TensorSink {
  readonly target: string;
  readonly location: string;
  readonly dataFile: string;
  /** The staging folder, and the model and data file in it under their final names. */
  readonly stage: string;
  readonly stagedModel: string;
  readonly stagedData: string;
  dataBytes = 0;
  externalTensors = 0;
  private fd: number | undefined;
  private readonly streamed = new Set<TensorProto>();
  private readonly undoFolder: () => void;
  private state: 'open' | 'committed' | 'discarded' = 'open';

  /** Makes the output's folder when missing and the staging folder in it. */
  constructor(
    out: string,
    private readonly options: SinkOptions = {},
  ) {
    this.target = path.resolve(out);
    this.location = options.location ?? `${path.basename(this.target)}.data`;
    this.dataFile = path.resolve(path.dirname(this.target), this.location);
    this.undoFolder = makeFolderFor(this.target);
    try {
      // Unique per call (two writers of one target never share it), in the target's folder so
      // that the final renames stay on one file system.
      this.stage = fs.mkdtempSync(path.join(path.dirname(this.target), `.${path.basename(this.target)}.`));
    } catch (e) {
      this.undoFolder();
      throw e;
    }
    this.stagedModel = path.join(this.stage, path.basename(this.target));
    this.stagedData = path.join(this.stage, path.basename(this.dataFile));
  }

  /** Whether `put` moved this tensor's bytes to the data file. */
  holds(tensor: TensorProto): boolean {
    return this.streamed.has(tensor);
  }

  /**
   * A tensor just made (an initializer, inline bytes): large enough for external data, its bytes
   * go to the staged data file now and the tensor points at them; its in-memory bytes are dropped.
   * Small tensors stay inline, as writeModel's `external` placement would leave them.
   */
  put(tensor: TensorProto): void {
    checkAborted(this.options.signal, this.target);
    if (this.state !== 'open') throw new RangeError(`the staged output ${this.target} is ${this.state}`);
    if (this.streamed.has(tensor) || isExternal(tensor) || tensor.data_type === DataType.STRING || tensor.raw_data === undefined) return;
    const bytes = tensor.raw_data;
    if (bytes.length < EXTERNAL_THRESHOLD || keepInline({ tensor, role: 'initializer' }, bytes.length)) return;
    for (const k of ['raw_data', 'float_data', 'int32_data', 'int64_data', 'double_data', 'uint64_data'] as const)
      delete (tensor as unknown as Record<string, unknown>)[k];
    this.place(tensor, bytes);
    this.streamed.add(tensor);
    this.options.store?.place(tensor, this.stagedData);
  }

  /** Appends bytes to the staged data file (aligned) and points the tensor at them. */
  place(tensor: TensorProto, bytes: Uint8Array): void {
    this.fd ??= fs.openSync(this.stagedData, 'w');
    const offset = Math.ceil(this.dataBytes / alignment(bytes.length)) * alignment(bytes.length);
    let done = 0;
    while (done < bytes.length) done += fs.writeSync(this.fd, bytes, done, bytes.length - done, offset + done);
    this.dataBytes = offset + bytes.length;
    this.externalTensors++;
    tensor.data_location = DATA_LOCATION_EXTERNAL;
    tensor.external_data = [
      { key: 'location', value: this.location },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(bytes.length) },
    ];
  }

  /** Flushes and closes the data file (before the staged model is loaded). */
  closeData(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Renames the staged files into place (the data file first: a model never names a missing one). */
  commit(): void {
    this.closeData();
    if (this.externalTensors) fs.renameSync(this.stagedData, this.dataFile);
    try {
      fs.renameSync(this.stagedModel, this.target);
    } catch (e) {
      // A data file without its model is half a model.
      if (this.externalTensors) fs.rmSync(this.dataFile, { force: true });
      throw e;
    }
    this.state = 'committed';
    fs.rmSync(this.stage, { recursive: true, force: true });
    for (const t of this.streamed) this.options.store?.place(t, this.dataFile);
  }

  /** Removes everything staged (and the folders made for it); a no-op once committed or discarded. */
  discard(): void {
    if (this.state !== 'open') return;
    this.state = 'discarded';
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
    // The staging folder goes before the folders made for it.
    fs.rmSync(this.stage, { recursive: true, force: true });
    this.undoFolder();
    for (const t of this.streamed) this.options.store?.unplace(t);
  }
}

// External data: tensor bytes kept in files beside the model (TensorProto.external_data).
// Locations are resolved against the model's folder only: an absolute path, `..`, or a symbolic
// link that leads outside that folder is refused, since a hostile model could otherwise make us
// read any file on the machine.
import * as fs from 'fs';
import * as path from 'path';
import { TensorDataError } from '../errors';
import { DATA_LOCATION_EXTERNAL, type TensorProto } from './types';

export interface ExternalDataRef {
  location: string;
  offset: number;
  /** Undefined: to the end of the file. */
  length?: number;
}

export function isExternal(t: TensorProto): boolean {
  return t.data_location === DATA_LOCATION_EXTERNAL;
}

function parseCount(value: string | undefined, what: string, tensorName: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^\d+$/.test(value)) throw new TensorDataError(`external data ${what} '${value}' is not a non-negative integer`, `tensor '${tensorName}'`);
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new TensorDataError(`external data ${what} ${value} is too large`, `tensor '${tensorName}'`);
  return n;
}

export function externalDataRef(t: TensorProto): ExternalDataRef {
  const name = t.name ?? '';
  const kv = new Map(t.external_data.map((e) => [e.key ?? '', e.value ?? '']));
  const location = kv.get('location');
  if (!location) throw new TensorDataError('external data without a location', `tensor '${name}'`);
  return {
    location,
    offset: parseCount(kv.get('offset'), 'offset', name) ?? 0,
    length: parseCount(kv.get('length'), 'length', name),
  };
}

/** Reads external tensor bytes lazily, by location, offset and length, inside one folder. */
export class ExternalDataStore {
  private readonly realBase: string | undefined;
  /** Checked locations: their file and size (a model names one data file for many tensors). */
  private readonly files = new Map<string, { file: string; size: number }>();
  /** Tensors written by this engine to a file other than the one their location names in this
   *  folder (a converted model's tensors staged beside its output): read from that file. */
  private readonly placed = new WeakMap<TensorProto, string>();

  /** `baseDir` undefined: the model came from memory, and external data cannot be located. */
  constructor(readonly baseDir: string | undefined) {
    this.realBase = baseDir && fs.existsSync(baseDir) ? fs.realpathSync(baseDir) : baseDir;
  }

  /** The file a location names, after checking it stays inside the model's folder. */
  resolve(location: string, tensorName: string): string {
    const subject = `tensor '${tensorName}'`;
    if (!this.baseDir || !this.realBase) {
      throw new TensorDataError(
        `its data is in external file '${location}', but the model was read from memory; read it from its file or give its folder`,
        subject,
      );
    }
    if (path.isAbsolute(location) || location.includes('\0')) {
      throw new TensorDataError(`external data location '${location}' must be a path relative to the model's folder`, subject);
    }
    const file = path.resolve(this.baseDir, location);
    const escapes = (root: string, p: string) => p !== root && !p.startsWith(root + path.sep);
    if (escapes(path.resolve(this.baseDir), file)) {
      throw new TensorDataError(`external data location '${location}' leads outside the model's folder ${this.baseDir}; refused`, subject);
    }
    if (!fs.existsSync(file)) {
      throw new TensorDataError(`external data file '${location}' is missing (looked for ${file})`, subject);
    }
    if (escapes(this.realBase, fs.realpathSync(file))) {
      throw new TensorDataError(`external data location '${location}' is a link that leads outside the model's folder; refused`, subject);
    }
    return file;
  }

  private located(location: string, tensorName: string): { file: string; size: number } {
    let found = this.files.get(location);
    if (!found) {
      const file = this.resolve(location, tensorName);
      const stat = fs.statSync(file);
      // A folder has a size on Linux but no bytes: refuse it here rather than by EISDIR on read.
      if (!stat.isFile()) throw new TensorDataError(`external data location '${location}' is not a regular file`, `tensor '${tensorName}'`);
      found = { file, size: stat.size };
      this.files.set(location, found);
    }
    return found;
  }

  /** Reads `t` from `file` (one this engine wrote) whatever its location says. */
  place(t: TensorProto, file: string): void {
    this.placed.set(t, file);
  }

  unplace(t: TensorProto): void {
    this.placed.delete(t);
  }

  /** The file a tensor's bytes are in; a placed one is stat'ed each time (it may still grow). */
  private fileOf(t: TensorProto, location: string): { file: string; size: number } {
    const file = this.placed.get(t);
    return file ? { file, size: fs.statSync(file).size } : this.located(location, t.name ?? '');
  }

  /** Checks that the bytes a tensor names exist, without reading them; returns their count. */
  check(t: TensorProto): number {
    const ref = externalDataRef(t);
    const { size } = this.fileOf(t, ref.location);
    const length = ref.length ?? size - ref.offset;
    if (ref.offset + length > size || length < 0) {
      throw new TensorDataError(
        `external data asks for bytes ${ref.offset}..${ref.offset + length} of '${ref.location}', which has ${size} bytes (truncated file?)`,
        `tensor '${t.name ?? ''}'`,
      );
    }
    return length;
  }

  read(t: TensorProto): Buffer {
    const ref = externalDataRef(t);
    const length = this.check(t);
    const { file } = this.fileOf(t, ref.location);
    const out = Buffer.allocUnsafe(length);
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch (e) {
      throw new TensorDataError(`cannot open external data file '${ref.location}': ${(e as Error).message}`, `tensor '${t.name ?? ''}'`);
    }
    try {
      let done = 0;
      while (done < length) {
        const n = fs.readSync(fd, out, done, length - done, ref.offset + done);
        if (n === 0) throw new TensorDataError(`external file '${ref.location}' ended early`, `tensor '${t.name ?? ''}'`);
        done += n;
      }
    } finally {
      fs.closeSync(fd);
    }
    return out;
  }
}

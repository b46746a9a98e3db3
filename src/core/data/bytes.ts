// Byte sources the readers pull slices from, so that no data set is ever read whole:
//  - a file range, read with positioned reads (fs.read at an offset);
//  - bytes already in memory;
//  - a forward-only stream (a deflated .npz entry through fflate, a .gz file through zlib) that
//    decompresses only as far as asked, restarting when asked to go back;
//  - `randomAccess`: a forward-only source made seekable for shuffled reads, by decompressing it
//    once into memory (small) or into a temporary file (large), deleted on close.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as stream from 'stream';
import * as zlib from 'zlib';
import { Inflate } from 'fflate';
import { errorMessage } from '../errors';
import { DataSourceError } from './errors';

export interface ByteSource {
  /** Bytes the source holds. */
  readonly size: number;
  /** True when reading backwards is costly (a decompressing stream). */
  readonly sequential: boolean;
  /** Exactly `length` bytes from `offset`; a fresh array (offset 0 in its own buffer). */
  read(offset: number, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

function truncated(label: string, offset: number, length: number, size: number): DataSourceError {
  return new DataSourceError(`needs bytes ${offset}..${offset + length} but holds only ${size}; the file is truncated or corrupt`, label);
}

/** Bytes [base, base + size) of a file, read with positioned reads. */
export class FileRange implements ByteSource {
  readonly sequential = false;
  private handle: Promise<fs.promises.FileHandle> | undefined;

  constructor(readonly file: string, readonly base: number, readonly size: number, private readonly label = file, private readonly onClose?: () => Promise<void>) {}

  async read(offset: number, length: number): Promise<Uint8Array> {
    if (offset < 0 || length < 0 || offset + length > this.size) throw truncated(this.label, offset, length, this.size);
    this.handle ??= fs.promises.open(this.file, 'r');
    const fd = await this.handle;
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await fd.read(out, done, length - done, this.base + offset + done);
      if (bytesRead === 0) throw truncated(this.label, offset, length, done + offset);
      done += bytesRead;
    }
    return out;
  }

  async close(): Promise<void> {
    const h = this.handle;
    this.handle = undefined;
    if (h) await (await h.catch(() => undefined))?.close();
    await this.onClose?.();
  }
}

export class MemoryBytes implements ByteSource {
  readonly sequential = false;
  constructor(private readonly bytes: Uint8Array, private readonly label = 'data') {}
  get size(): number { return this.bytes.length; }
  async read(offset: number, length: number): Promise<Uint8Array> {
    if (offset < 0 || length < 0 || offset + length > this.bytes.length) throw truncated(this.label, offset, length, this.bytes.length);
    return this.bytes.slice(offset, offset + length);
  }
  async close(): Promise<void> {}
}

/** A window [base, base + size) of another source (the data after a .npy header). */
export class SubRange implements ByteSource {
  constructor(private readonly parent: ByteSource, private readonly base: number, readonly size: number) {}
  get sequential(): boolean { return this.parent.sequential; }
  read(offset: number, length: number): Promise<Uint8Array> {
    if (offset + length > this.size) throw truncated('data', offset, length, this.size);
    return this.parent.read(this.base + offset, length);
  }
  close(): Promise<void> { return this.parent.close(); }
}

/** A stream of decompressed chunks, started afresh on each call. */
export type ChunkStream = () => AsyncIterator<Uint8Array>;

/** A forward-only source over a decompressing stream: reads going back restart the stream. */
export class ForwardBytes implements ByteSource {
  readonly sequential = true;
  private it: AsyncIterator<Uint8Array> | undefined;
  private pos = 0;
  private pending: Uint8Array | undefined;

  constructor(private readonly open: ChunkStream, readonly size: number, private readonly label: string) {}

  private async next(): Promise<Uint8Array> {
    for (;;) {
      let r: IteratorResult<Uint8Array>;
      try {
        r = await this.it!.next();
      } catch (e) {
        throw new DataSourceError(`cannot be decompressed (${errorMessage(e)}); the file is corrupt`, this.label);
      }
      if (r.done) throw new DataSourceError(`ends after ${this.pos} decompressed bytes where ${this.size} were declared; the file is truncated or corrupt`, this.label);
      if (r.value.length) return r.value;
    }
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    if (offset < 0 || length < 0 || offset + length > this.size) throw truncated(this.label, offset, length, this.size);
    if (!this.it || offset < this.pos) {
      await this.stop();
      this.it = this.open();
      this.pos = 0;
    }
    while (this.pos < offset) {
      const chunk = this.pending ?? (await this.next());
      const skip = offset - this.pos;
      if (chunk.length <= skip) {
        this.pos += chunk.length;
        this.pending = undefined;
      } else {
        this.pending = chunk.subarray(skip);
        this.pos = offset;
      }
    }
    const out = new Uint8Array(length);
    let filled = 0;
    while (filled < length) {
      const chunk = this.pending ?? (await this.next());
      const take = Math.min(chunk.length, length - filled);
      out.set(chunk.subarray(0, take), filled);
      filled += take;
      this.pos += take;
      this.pending = take < chunk.length ? chunk.subarray(take) : undefined;
    }
    return out;
  }

  private async stop(): Promise<void> {
    const it = this.it;
    this.it = undefined;
    this.pending = undefined;
    this.pos = 0;
    if (it?.return) await it.return(undefined).catch(() => undefined);
  }

  close(): Promise<void> { return this.stop(); }
}

const INFLATE_CHUNK = 16 * 1024;

/** Raw DEFLATE data at [offset, offset + compressedSize) of a file, inflated with fflate. */
export function inflateStream(file: string, offset: number, compressedSize: number): ChunkStream {
  return async function* () {
    const fd = await fs.promises.open(file, 'r');
    try {
      const out: Uint8Array[] = [];
      const inflater = new Inflate((chunk) => { if (chunk.length) out.push(chunk); });
      let done = 0;
      if (compressedSize === 0) inflater.push(new Uint8Array(0), true);
      while (done < compressedSize) {
        const n = Math.min(INFLATE_CHUNK, compressedSize - done);
        const buf = new Uint8Array(n);
        const { bytesRead } = await fd.read(buf, 0, n, offset + done);
        if (bytesRead === 0) throw new Error('unexpected end of file');
        done += bytesRead;
        inflater.push(bytesRead === n ? buf : buf.subarray(0, bytesRead), done === compressedSize);
        while (out.length) yield out.shift()!;
      }
    } finally {
      await fd.close();
    }
  };
}

/** A gzip file, decompressed with zlib. */
export function gunzipStream(file: string): ChunkStream {
  return async function* () {
    const gz = zlib.createGunzip();
    const src = fs.createReadStream(file, { highWaterMark: 64 * 1024 });
    stream.pipeline(src, gz, () => undefined);
    try {
      for await (const chunk of gz as AsyncIterable<Buffer>) yield new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length);
    } finally {
      src.destroy();
      gz.destroy();
    }
  };
}

/** Largest stream kept in memory by `randomAccess`; larger ones go to a temporary file. */
export const IN_MEMORY_LIMIT = 32 * 1024 * 1024;
const SPILL_CHUNK = 4 * 1024 * 1024;

/** A seekable copy of a forward-only source (the source itself when it is seekable already). */
export async function randomAccess(src: ByteSource, label: string): Promise<ByteSource> {
  if (!src.sequential) return src;
  try {
    if (src.size <= IN_MEMORY_LIMIT) return new MemoryBytes(await src.read(0, src.size), label);
    const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'onnx-compress-data-'));
    const file = path.join(dir, 'spill.bin');
    const remove = () => fs.promises.rm(dir, { recursive: true, force: true });
    try {
      const fd = await fs.promises.open(file, 'w');
      try {
        for (let at = 0; at < src.size; at += SPILL_CHUNK) {
          const bytes = await src.read(at, Math.min(SPILL_CHUNK, src.size - at));
          await fd.write(bytes, 0, bytes.length);
        }
      } finally {
        await fd.close();
      }
    } catch (e) {
      await remove();
      throw e;
    }
    return new FileRange(file, 0, src.size, label, remove);
  } finally {
    await src.close();
  }
}

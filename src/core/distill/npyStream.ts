// A .npy written row block by row block: the header states the final shape up front (padded so
// a smaller final count can be rewritten in place), rows are appended as they come, so memory
// never grows with the number of samples.
import * as fs from 'fs';
import { FileRange } from '../data/bytes';
import { withSubject } from '../data/errors';
import { readNpyHeader, type NpyHeader } from '../data/npy';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
/** Room in the header for the shape text to change length when the count is corrected. */
const HEADER_BYTES = 128;

function header(descr: string, shape: readonly number[]): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const total = Math.max(HEADER_BYTES, Math.ceil((10 + dict.length + 1) / 64) * 64);
  const out = new Uint8Array(total);
  out.set(MAGIC);
  out[6] = 1;
  out[8] = (total - 10) & 0xff;
  out[9] = (total - 10) >> 8;
  const text = dict + ' '.repeat(total - 10 - dict.length - 1) + '\n';
  for (let i = 0; i < text.length; i++) out[10 + i] = text.charCodeAt(i);
  return out;
}

export class NpyStreamWriter {
  private fd: fs.promises.FileHandle | undefined;
  private offset = 0;
  rows = 0;

  private constructor(
    readonly file: string,
    readonly descr: string,
    readonly rowShape: readonly number[],
    readonly expectedRows: number,
    private readonly headerLength: number,
  ) {}

  static async create(file: string, descr: string, rowShape: readonly number[], expectedRows: number): Promise<NpyStreamWriter> {
    const head = header(descr, [expectedRows, ...rowShape]);
    const w = new NpyStreamWriter(file, descr, rowShape, expectedRows, head.length);
    w.fd = await fs.promises.open(file, 'w');
    await w.fd.write(head, 0, head.length, 0);
    w.offset = head.length;
    return w;
  }

  /** Appends `rows` rows held in `data` (C order). */
  async append(data: ArrayBufferView, rows: number): Promise<void> {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    await this.fd!.write(bytes, 0, bytes.length, this.offset);
    this.offset += bytes.length;
    this.rows += rows;
  }

  /** Closes the file; a row count other than announced rewrites the header's shape. */
  async close(): Promise<void> {
    if (!this.fd) return;
    if (this.rows !== this.expectedRows) {
      const head = header(this.descr, [this.rows, ...this.rowShape]);
      if (head.length !== this.headerLength) throw new Error(`${this.file}: the .npy header cannot be rewritten in place`);
      await this.fd.write(head, 0, head.length, 0);
    }
    await this.fd.close();
    this.fd = undefined;
  }
}

/** A whole .npy file: its element type, shape and little-endian data bytes. */
export async function readNpyFile(file: string): Promise<{ header: NpyHeader; bytes: Uint8Array }> {
  const size = (await fs.promises.stat(file)).size;
  const src = new FileRange(file, 0, size, file);
  try {
    const header = await readNpyHeader(src);
    return { header, bytes: await src.read(header.dataOffset, header.dataBytes) };
  } catch (e) {
    throw withSubject(e, file);
  } finally {
    await src.close();
  }
}

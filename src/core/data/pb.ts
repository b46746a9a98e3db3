// ONNX TensorProto files (input_K.pb of an ONNX test_data_set_N folder). `peekTensor` reads only
// a tensor's name, element type and dims, skipping its data with positioned reads, so a folder
// of them can be checked without reading the data; `readTensorFile` decodes one whole file.
import * as fs from 'fs';
import { errorMessage } from '../errors';
import { decodeMessage } from '../onnx/codec';
import { readTensor, type TensorData } from '../onnx/tensor';
import type { TensorProto } from '../onnx/types';
import { DataSourceError } from './errors';

export interface TensorHead {
  name?: string;
  dataType?: number;
  dims: number[];
  external: boolean;
  segment: boolean;
}

const WINDOW = 64 * 1024;

class Walker {
  private buf = new Uint8Array(0);
  private bufStart = 0;
  pos = 0;

  constructor(private readonly fd: fs.promises.FileHandle, readonly size: number) {}

  private async fill(at: number, need: number): Promise<void> {
    if (at >= this.bufStart && at + need <= this.bufStart + this.buf.length) return;
    const len = Math.min(Math.max(WINDOW, need), this.size - at);
    if (len < need) throw new DataSourceError('the TensorProto is truncated');
    const b = new Uint8Array(len);
    let done = 0;
    while (done < len) {
      const { bytesRead } = await this.fd.read(b, done, len - done, at + done);
      if (bytesRead === 0) throw new DataSourceError('the TensorProto is truncated');
      done += bytesRead;
    }
    this.buf = b;
    this.bufStart = at;
  }

  async byte(): Promise<number> {
    await this.fill(this.pos, 1);
    return this.buf[this.pos++ - this.bufStart];
  }

  async varint(): Promise<bigint> {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      const b = await this.byte();
      result |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return result;
    }
    throw new DataSourceError('the TensorProto holds a bad varint; the file is corrupt');
  }

  async bytes(n: number): Promise<Uint8Array> {
    await this.fill(this.pos, n);
    const out = this.buf.slice(this.pos - this.bufStart, this.pos - this.bufStart + n);
    this.pos += n;
    return out;
  }
}

function toInt64(v: bigint): number {
  return Number(BigInt.asIntN(64, v));
}

/** Name, element type and dims of the TensorProto in `file`, without reading its data. */
export async function peekTensor(file: string): Promise<TensorHead> {
  const fd = await fs.promises.open(file, 'r');
  try {
    const size = (await fd.stat()).size;
    const w = new Walker(fd, size);
    const head: TensorHead = { dims: [], external: false, segment: false };
    while (w.pos < size) {
      const tag = Number(await w.varint());
      const field = tag >>> 3;
      const wire = tag & 7;
      if (field === 0) throw new DataSourceError('is not a TensorProto (field number 0); the file is corrupt');
      if (wire === 0) {
        const v = await w.varint();
        if (field === 1) head.dims.push(toInt64(v));
        else if (field === 2) head.dataType = Number(v);
        else if (field === 14) head.external ||= v === 1n;
      } else if (wire === 2) {
        const len = Number(await w.varint());
        if (w.pos + len > size) throw new DataSourceError('the TensorProto is truncated');
        if (field === 1) {
          const end = w.pos + len;
          while (w.pos < end) head.dims.push(toInt64(await w.varint()));
        } else if (field === 8) {
          head.name = new TextDecoder().decode(await w.bytes(len));
        } else {
          if (field === 3) head.segment = true;
          if (field === 13) head.external = true;
          w.pos += len;
        }
      } else if (wire === 1) w.pos += 8;
      else if (wire === 5) w.pos += 4;
      else throw new DataSourceError(`is not a TensorProto (wire type ${wire}); the file is corrupt or holds another message (a SequenceProto, MapProto...)`);
    }
    if (w.pos !== size) throw new DataSourceError('the TensorProto is truncated');
    if (head.dims.some((d) => d < 0 || !Number.isSafeInteger(d))) throw new DataSourceError(`the TensorProto has a bad dimension (${head.dims.join(',')})`);
    return head;
  } finally {
    await fd.close();
  }
}

/** The TensorProto in `file`, decoded with its values. */
export async function readTensorFile(file: string): Promise<TensorData> {
  const bytes = await fs.promises.readFile(file);
  let proto: TensorProto;
  try {
    proto = decodeMessage<TensorProto>('TensorProto', bytes);
  } catch (e) {
    throw new DataSourceError(`is not a TensorProto (${errorMessage(e)})`);
  }
  if (proto.external_data.length || proto.data_location === 1) throw new DataSourceError('keeps its data in an external file; test data must hold its values');
  return readTensor(proto);
}

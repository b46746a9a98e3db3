// Class labels for accuracy: an IDX label vector (MNIST-style, plain or gzipped) or a .npy of
// integers, one per sample in the order the evaluation data yields them. Only the first `limit`
// labels are kept (4 bytes each).
import * as fs from 'fs';
import * as zlib from 'zlib';
import { DataSourceError } from '../data';
import { MemoryBytes } from '../data/bytes';
import { parseIdxHeader } from '../data/idx';
import { readNpyHeader } from '../data/npy';
import { valuesFromBytes } from '../data/inputs';

export async function readLabels(file: string, limit?: number): Promise<Int32Array> {
  if (!fs.existsSync(file)) throw new DataSourceError(`labels file not found; give an IDX label file or a .npy of class indices`, file);
  let raw = new Uint8Array(fs.readFileSync(file));
  if (raw[0] === 0x1f && raw[1] === 0x8b) raw = new Uint8Array(zlib.gunzipSync(raw));
  let values: ArrayLike<number | bigint>;
  try {
    if (raw[0] === 0x93) {
      const h = await readNpyHeader(new MemoryBytes(raw));
      if (h.shape.length > 2 || (h.shape.length === 2 && h.shape[1] !== 1))
        throw new DataSourceError(`labels must be a vector of class indices (got shape [${h.shape.join(',')}])`);
      values = valuesFromBytes(h.dtype, raw.subarray(h.dataOffset, h.dataOffset + h.dataBytes)) as ArrayLike<number | bigint>;
    } else {
      const h = parseIdxHeader(raw);
      if (h.dims.length !== 1 || h.code !== 0x08)
        throw new DataSourceError(`labels must be an IDX vector of ubyte (idx1-ubyte); this one holds [${h.dims.join(',')}]`);
      values = raw.subarray(h.dataOffset, h.dataOffset + h.dims[0]);
    }
  } catch (e) {
    if (e instanceof DataSourceError) throw new DataSourceError(e.message, `labels ${file}`);
    throw e;
  }
  const n = Math.min(values.length, limit ?? values.length);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = Number(values[i]);
    if (!Number.isInteger(v)) throw new DataSourceError(`label ${i} is ${v}, not a class index`, `labels ${file}`);
    out[i] = v;
  }
  return out;
}

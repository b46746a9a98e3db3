// Labels for accuracy: an IDX label vector (MNIST-style, plain or gzipped) or a .npy of integers,
// in the order the evaluation data yields the samples. A .npy may also hold one row per sample,
// [samples, seq]: the next-token labels of a language model, one per position (a negative label,
// such as the -100 of padding, marks a position to skip). Only the first `limit` samples' labels are
// kept (4 bytes each).
import * as fs from 'fs';
import * as zlib from 'zlib';
import { DataSourceError } from '../data';
import { MemoryBytes } from '../data/bytes';
import { parseIdxHeader } from '../data/idx';
import { readNpyHeader } from '../data/npy';
import { valuesFromBytes } from '../data/inputs';

export interface Labels {
  /** Row-major: sample i's labels are values[i * perSample .. (i + 1) * perSample). */
  values: Int32Array;
  /** 1 for class labels; the sequence length for next-token labels [samples, seq]. */
  perSample: number;
}

/** Samples the labels cover. */
export const labelledSamples = (l: Labels) => l.values.length / l.perSample;

export async function readLabels(file: string, limit?: number): Promise<Labels> {
  if (!fs.existsSync(file))
    throw new DataSourceError(`labels file not found; give an IDX label file, a .npy of class indices, or a .npy [samples, seq] of next-token ids`, file);
  let raw = new Uint8Array(fs.readFileSync(file));
  if (raw[0] === 0x1f && raw[1] === 0x8b) raw = new Uint8Array(zlib.gunzipSync(raw));
  let values: ArrayLike<number | bigint>;
  let perSample = 1;
  try {
    if (raw[0] === 0x93) {
      const h = await readNpyHeader(new MemoryBytes(raw));
      if (h.shape.length > 2 || (h.shape.length === 2 && h.shape[1] < 1))
        throw new DataSourceError(`labels must be a vector of class indices or a [samples, seq] table of next-token ids (got shape [${h.shape.join(',')}])`);
      if (h.shape.length === 2) perSample = h.shape[1];
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
  const n = Math.min(values.length, (limit ?? Infinity) * perSample);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = Number(values[i]);
    if (!Number.isInteger(v)) throw new DataSourceError(`label ${i} is ${v}, not a class index`, `labels ${file}`);
    out[i] = v;
  }
  return { values: out, perSample };
}

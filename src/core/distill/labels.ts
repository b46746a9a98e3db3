// Class labels beside the training or evaluation data: a .npy of integers ([N] or [N,1]) or an
// IDX label vector (…-idx1-ubyte[.gz]). Labels are small (one integer per sample) and read whole.
import * as fs from 'fs';
import * as zlib from 'zlib';
import { DataType, dataTypeName, isFloatType } from '../onnx/dataTypes';
import { FileRange } from '../data/bytes';
import { DataSourceError } from '../data/errors';
import { looksLikeIdx, parseIdxHeader, idxTypeName, convertIdx } from '../data/idx';
import { readNpyHeader } from '../data/npy';
import { valuesFromBytes } from '../data/inputs';
import { errorMessage } from '../errors';

export interface Labels {
  values: Int32Array;
  /** What was read, for reports. */
  describe: string;
}

export async function readLabels(file: string): Promise<Labels> {
  let bytes: Buffer;
  try {
    bytes = await fs.promises.readFile(file);
  } catch (e) {
    throw new DataSourceError(
      `cannot read the labels (${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : errorMessage(e)}); give a .npy of class indices or an IDX labels file`,
      file,
    );
  }
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = zlib.gunzipSync(bytes);
  if (looksLikeIdx(bytes)) {
    const h = parseIdxHeader(bytes);
    if (h.dims.length !== 1 && !(h.dims.length === 2 && h.dims[1] === 1))
      throw new DataSourceError(`IDX labels must be a vector; this file holds [${h.dims.join(',')}] (an image file?)`, file);
    if (h.code === 0x0d || h.code === 0x0e) throw new DataSourceError(`IDX labels must be integers, not ${idxTypeName(h.code)}`, file);
    const n = h.dims[0];
    const raw = bytes.subarray(h.dataOffset, h.dataOffset + n * h.elemBytes);
    if (raw.length < n * h.elemBytes) throw new DataSourceError(`declares ${n} labels but holds fewer; the file is truncated`, file);
    const values = convertIdx(raw, h.code, DataType.INT32, { scale: 1, mean: 0, std: 1 }) as Int32Array;
    return checked(values, `IDX ${idxTypeName(h.code)} labels [${n}]`, file);
  }
  const src = new FileRange(file, 0, bytes.length, file);
  try {
    const h = await readNpyHeader(src);
    if (isFloatType(h.dtype) || h.dtype === DataType.BOOL)
      throw new DataSourceError(`labels must be integer class indices, not ${dataTypeName(h.dtype)}; save labels.astype(numpy.int64)`, file);
    if (h.shape.length !== 1 && !(h.shape.length === 2 && h.shape[1] === 1))
      throw new DataSourceError(`labels must be a vector [N] (got [${h.shape.join(',')}]); one-hot labels: save labels.argmax(1)`, file);
    const data = valuesFromBytes(h.dtype, new Uint8Array(bytes.buffer, bytes.byteOffset + h.dataOffset, h.dataBytes).slice());
    const values = Int32Array.from(data as ArrayLike<number | bigint>, (v) => Number(v));
    return checked(values, `numpy ${h.descr} labels [${h.shape[0]}]`, file);
  } catch (e) {
    if (e instanceof DataSourceError) throw e.subject ? e : new DataSourceError(e.message, file);
    throw e;
  } finally {
    await src.close();
  }
}

function checked(values: Int32Array, describe: string, file: string): Labels {
  for (let i = 0; i < values.length; i++) {
    if (values[i] < 0) throw new DataSourceError(`label ${i} is ${values[i]}; class indices start at 0`, file);
  }
  return { values, describe: `${describe} from ${file}` };
}

/** The largest label, for checking against the number of classes. */
export function maxLabel(labels: Labels): number {
  let m = -1;
  for (const v of labels.values) if (v > m) m = v;
  return m;
}

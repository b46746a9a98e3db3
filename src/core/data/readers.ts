// The readers: each turns one kind of calibration data into units for the batching engine,
// reading only headers up front (the .npy header, the zip directory, a TensorProto's dims) and
// the data itself one file or one slice at a time.
import * as fs from 'fs';
import * as path from 'path';
import { dataTypeName } from '../onnx/dataTypes';
import { FileRange, ForwardBytes, gunzipStream, randomAccess, SubRange, type ByteSource } from './bytes';
import { DataSourceError, withSubject } from './errors';
import { checkIdxType, convertIdx, idxSampleDims, idxTypeName, looksLikeIdx, parseIdxHeader, type IdxConversion, type IdxHeader } from './idx';
import { decodeImage, imageSampleDims, planText, preprocessImage, type ImagePlan } from './images';
import {
  checkElemType, checkSampleCount, checkSharedDims, elementBytes, formatDims, layoutFor, toSampleMajor, valuesFromBytes, type ModelInput, type SampleLayout, type Values,
} from './inputs';
import { readNpyHeader, type NpyHeader } from './npy';
import { peekTensor, readTensorFile } from './pb';
import { memoryUnit, type OpenUnit, type Unit } from './source';
import { entrySource, readNpzDirectory, type ZipEntry } from './zip';

async function fileSize(file: string): Promise<number> {
  return (await fs.promises.stat(file)).size;
}


// ---- .npy -------------------------------------------------------------------------------

export interface NpyUnitInfo { unit: Unit; header: NpyHeader }

/** One .npy file feeding `input` (first axis = samples; one axis short = one sample). */
export async function npyUnit(file: string, input: ModelInput, label = file): Promise<NpyUnitInfo> {
  let header: NpyHeader;
  const size = await fileSize(file);
  const probe = new FileRange(file, 0, size, label);
  try {
    header = await readNpyHeader(probe);
    checkElemType(input, header.dtype, `the array (${header.descr})`);
  } catch (e) {
    throw withSubject(e, label);
  } finally {
    await probe.close();
  }
  const layout = wrap(() => layoutFor(input, header.shape, true), label);
  const { count, sampleDims } = layout;
  const per = sampleDims.reduce((a, b) => a * b, 1) * elementBytes(header.dtype);
  const unit: Unit = {
    count,
    label,
    async open(): Promise<OpenUnit> {
      const data = new FileRange(file, header.dataOffset, header.dataBytes, label);
      // Samples on another axis than the first are not contiguous: the array is read whole.
      let all: Values | undefined;
      return {
        sampleDims: { [input.name]: sampleDims },
        async read(start, n) {
          if (layout.whole) return { [input.name]: valuesFromBytes(input.elemType, await data.read(0, header.dataBytes)) };
          if (layout.axis !== null && layout.axis > 0) {
            all ??= toSampleMajor(valuesFromBytes(input.elemType, await data.read(0, header.dataBytes)), count, sampleDims, layout.axis);
            const e = per / elementBytes(header.dtype);
            return { [input.name]: all.subarray(start * e, (start + n) * e) as Values };
          }
          return { [input.name]: valuesFromBytes(input.elemType, await data.read(start * per, n * per)) };
        },
        close: () => data.close(),
      };
    },
  };
  return { unit, header };
}

function wrap<T>(f: () => T, label: string): T {
  try {
    return f();
  } catch (e) {
    throw withSubject(e, label);
  }
}

// ---- .npz -------------------------------------------------------------------------------

export interface NpzUnitInfo {
  unit: Unit;
  /** Per input: the array it reads. */
  arrays: Record<string, { entry: ZipEntry; header: NpyHeader }>;
  /** Arrays that are not model inputs. */
  extra: string[];
  positional: boolean;
}

function arrayName(entry: string): string | undefined {
  return entry.endsWith('.npy') ? entry.slice(0, -4) : undefined;
}

/** One .npz holding one array per model input, keyed by the input's name. */
export async function npzUnit(file: string, inputs: ModelInput[], label = file): Promise<NpzUnitInfo> {
  const { entries, byName } = await readNpzDirectory(file, label);
  // numpy.savez(file, a, b) names positional arrays arr_0, arr_1...: taken in input order when
  // no array is named after an input.
  const positional = inputs.every((i) => !byName.has(i.name)) && byName.size > 0 && [...byName.keys()].every((k) => /^arr_\d+$/.test(k));
  const chosen = new Map<string, ZipEntry>();
  for (const input of inputs) {
    const entry = byName.get(positional ? `arr_${input.index}` : input.name);
    if (!entry) {
      const held = [...byName.keys()];
      throw new DataSourceError(`has no array for input '${input.name}' (it holds ${held.length ? held.map((h) => `'${h}'`).join(', ') : 'no arrays'}); save one per model input: numpy.savez(file, ${inputs.map((i) => `${/^[A-Za-z_]\w*$/.test(i.name) ? i.name : `**{'${i.name}': ...}`}=...`).join(', ')})`, label);
    }
    chosen.set(input.name, entry);
  }
  const used = new Set([...chosen.values()].map((e) => e.name));
  const extra = entries.filter((e) => !used.has(e.name) && !e.name.endsWith('/')).map((e) => arrayName(e.name) ?? e.name);
  const arrays: NpzUnitInfo['arrays'] = {};
  const layouts: Record<string, SampleLayout> = {};
  let count: number | undefined;
  let countFrom = '';
  for (const input of inputs) {
    const entry = chosen.get(input.name)!;
    const key = arrayName(entry.name)!;
    let header: NpyHeader;
    const src = await entrySource(file, entry).catch((e) => { throw withSubject(e, label); });
    try {
      header = await readNpyHeader(src);
      checkElemType(input, header.dtype, `array '${key}' (${header.descr})`);
    } catch (e) {
      throw withSubject(e, `${label} array '${key}'`);
    } finally {
      await src.close();
    }
    const layout = wrap(() => layoutFor(input, header.shape, true), `${label} array '${key}'`);
    arrays[input.name] = { entry, header };
    layouts[input.name] = layout;
    if (layout.whole) continue; // a batchless input's one value binds no sample count
    if (count !== undefined && layout.count !== count) {
      throw new DataSourceError(`array '${key}' holds ${layout.count} samples but array '${countFrom}' holds ${count}; every input needs the same number of samples`, label);
    }
    count = layout.count;
    countFrom = key;
  }
  const sampleDims = Object.fromEntries(inputs.map((i) => [i.name, layouts[i.name].sampleDims]));
  wrap(() => checkSharedDims(inputs, sampleDims, 'calibration data'), label);
  const unit: Unit = {
    count: count ?? 1,
    label,
    async open(random: boolean): Promise<OpenUnit> {
      const sources: Record<string, ByteSource> = {};
      // Arrays whose samples are not contiguous (a batch on another axis) and batchless values are
      // read whole, once: such inputs (recurrent states, scalars) are small.
      const held: Record<string, Values> = {};
      try {
        for (const input of inputs) {
          const { entry, header } = arrays[input.name];
          const layout = layouts[input.name];
          if (layout.whole || (layout.axis !== null && layout.axis > 0)) {
            const src = await entrySource(file, entry);
            try {
              const all = valuesFromBytes(input.elemType, await src.read(header.dataOffset, header.dataBytes));
              held[input.name] = layout.whole ? all : toSampleMajor(all, layout.count, layout.sampleDims, layout.axis!);
            } finally {
              await src.close();
            }
            continue;
          }
          let src = await entrySource(file, entry);
          if (random) src = await randomAccess(src, `${label} entry '${entry.name}'`);
          sources[input.name] = new SubRange(src, header.dataOffset, header.dataBytes);
        }
      } catch (e) {
        await Promise.all(Object.values(sources).map((s) => s.close()));
        throw e;
      }
      return {
        sampleDims,
        async read(start, n) {
          const out: Record<string, Values> = {};
          for (const input of inputs) {
            const per = sampleDims[input.name].reduce((a, b) => a * b, 1);
            const h = held[input.name];
            if (h) out[input.name] = layouts[input.name].whole ? h : (h.subarray(start * per, (start + n) * per) as Values);
            else out[input.name] = valuesFromBytes(input.elemType, await sources[input.name].read(start * per * elementBytes(input.elemType), n * per * elementBytes(input.elemType)));
          }
          return out;
        },
        async close() {
          await Promise.all(Object.values(sources).map((s) => s.close()));
        },
      };
    },
  };
  return { unit, arrays, extra, positional };
}

export function npzFeed(info: NpzUnitInfo, input: ModelInput): string {
  const { entry, header } = info.arrays[input.name];
  return `${dataTypeName(header.dtype)} array '${arrayName(entry.name)}' [${header.shape.join(',')}] (${entry.method === 0 ? 'stored' : 'deflated'})`;
}

// ---- ONNX TensorProto files -------------------------------------------------------------

/** A set of TensorProto files, one per input (a test_data_set_N folder, or one .pb). */
export async function pbUnit(files: Record<string, string>, inputs: ModelInput[], label: string): Promise<{ unit: Unit; dims: Record<string, number[]> }> {
  let count: number | undefined;
  const layouts: Record<string, SampleLayout> = {};
  const dims: Record<string, number[]> = {};
  for (const input of inputs) {
    const file = files[input.name];
    const head = await peekTensor(file).catch((e) => { throw withSubject(e, file); });
    if (head.dataType === undefined) throw new DataSourceError('declares no element type; it is not a TensorProto', file);
    if (head.external) throw new DataSourceError('keeps its data in an external file; test data must hold its values', file);
    if (head.segment) throw new DataSourceError('is a segment of a tensor; segmented tensors are not supported', file);
    wrap(() => checkElemType(input, head.dataType!, `the tensor`), file);
    const layout = wrap(() => layoutFor(input, head.dims, true), file);
    layouts[input.name] = layout;
    dims[input.name] = head.dims;
    if (layout.whole) continue;
    if (count !== undefined && layout.count !== count) throw new DataSourceError(`holds ${layout.count} samples but the other inputs' files hold ${count}; every input needs the same number of samples`, file);
    count = layout.count;
  }
  const sampleDims = Object.fromEntries(inputs.map((i) => [i.name, layouts[i.name].sampleDims]));
  wrap(() => checkSharedDims(inputs, sampleDims, 'calibration data'), label);
  const unit: Unit = {
    count: count ?? 1,
    label,
    async open(): Promise<OpenUnit> {
      const values: Record<string, Values> = {};
      for (const input of inputs) {
        const data = await readTensorFile(files[input.name]).catch((e) => { throw withSubject(e, files[input.name]); });
        if (data.dataType !== input.elemType || Array.isArray(data.values)) throw new DataSourceError(`changed since it was opened (now ${dataTypeName(data.dataType)})`, files[input.name]);
        const layout = layouts[input.name];
        values[input.name] = layout.axis !== null && layout.axis > 0 ? toSampleMajor(data.values as Values, layout.count, layout.sampleDims, layout.axis) : (data.values as Values);
      }
      return memoryUnit(inputs, sampleDims, (input, start, n, per) =>
        layouts[input.name].whole ? values[input.name] : (values[input.name].subarray(start * per, (start + n) * per) as Values),
      );
    },
  };
  return { unit, dims };
}

// ---- images -----------------------------------------------------------------------------

export function imageUnit(file: string, input: ModelInput, plan: ImagePlan): Unit {
  return {
    count: 1,
    label: file,
    async open(): Promise<OpenUnit> {
      const bytes = await fs.promises.readFile(file);
      const img = decodeImage(bytes, file);
      const values = preprocessImage(img, plan);
      return {
        sampleDims: { [input.name]: imageSampleDims(plan, img.width, img.height) },
        async read() { return { [input.name]: values }; },
        async close() {},
      };
    },
  };
}

export function imageFeed(plan: ImagePlan, files: number): string {
  return `${files} image${files === 1 ? '' : 's'} as ${dataTypeName(plan.elemType)}, ${planText(plan)}`;
}

// ---- IDX --------------------------------------------------------------------------------

const IDX_HEADER_MAX = 4 + 4 * 8;

/** An IDX file (optionally gzipped) feeding `input`. */
export async function idxUnit(file: string, input: ModelInput, conv: IdxConversion): Promise<{ unit: Unit; header: IdxHeader; gz: boolean; sampleDims: number[] }> {
  const gz = await isGzip(file);
  const size = await fileSize(file);
  // The uncompressed size is not known before the header is read: the stream is opened with
  // room for any header, then bounded by what the header declares.
  const openRaw = (total: number): ByteSource => (gz ? new ForwardBytes(gunzipStream(file), total, file) : new FileRange(file, 0, total, file));
  let header: IdxHeader;
  {
    const probe = openRaw(gz ? IDX_HEADER_MAX : Math.min(size, IDX_HEADER_MAX));
    try {
      const first = await probe.read(0, 4).catch(() => { throw new DataSourceError('is too short for an IDX file', file); });
      if (!looksLikeIdx(first)) throw new DataSourceError('is not an IDX file (bad magic number)', file);
      const headLen = 4 + 4 * first[3];
      const head = new Uint8Array(headLen);
      head.set(first);
      if (headLen > 4) head.set(await probe.read(4, headLen - 4), 4);
      header = wrap(() => parseIdxHeader(head), file);
    } finally {
      await probe.close();
    }
  }
  if (header.dims.length < 1) throw new DataSourceError('has no axes', file);
  const total = header.dataOffset + header.dims.reduce((a, b) => a * b, 1) * header.elemBytes;
  if (!gz && size < total) throw new DataSourceError(`holds ${size} bytes but its header [${header.dims.join(',')}] of ${idxTypeName(header.code)} needs ${total}; the file is truncated`, file);
  wrap(() => checkIdxType(input, header.code), file);
  const sampleDims = wrap(() => checkSampleCount({ count: header.dims[0], sampleDims: idxSampleDims(input, header), axis: 0 }).sampleDims, file);
  const per = header.dims.slice(1).reduce((a, b) => a * b, 1) * header.elemBytes;
  const unit: Unit = {
    count: header.dims[0],
    label: file,
    async open(random: boolean): Promise<OpenUnit> {
      let src = openRaw(total);
      if (random) src = await randomAccess(src, file);
      const data = new SubRange(src, header.dataOffset, total - header.dataOffset);
      return {
        sampleDims: { [input.name]: sampleDims },
        async read(start, n) {
          return { [input.name]: convertIdx(await data.read(start * per, n * per), header.code, input.elemType, conv) };
        },
        close: () => data.close(),
      };
    },
  };
  return { unit, header, gz, sampleDims };
}

export async function isGzip(file: string): Promise<boolean> {
  const fd = await fs.promises.open(file, 'r');
  try {
    const b = new Uint8Array(2);
    const { bytesRead } = await fd.read(b, 0, 2, 0);
    return bytesRead === 2 && b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    await fd.close();
  }
}

export function idxFeed(header: IdxHeader, input: ModelInput, sampleDims: number[], gz: boolean, conv: IdxConversion, file: string): string {
  const scaled = header.code === 0x08 && ['float32', 'float64', 'float16'].includes(input.ortType);
  const how = scaled ? `, x*${+conv.scale.toPrecision(6)}${conv.mean !== 0 || conv.std !== 1 ? ` then (x-${conv.mean})/${conv.std}` : ''}` : '';
  return `IDX ${idxTypeName(header.code)} [${header.dims.join(',')}]${gz ? ' (gzip)' : ''} from ${path.basename(file)} as ${input.ortType} ${formatDims(['N', ...sampleDims])}${how}`;
}

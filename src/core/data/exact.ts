// Exact feeds: .npz files whose arrays are whole model feeds, not stacks of samples. Recurrent
// models (a state input [2,batch,128]) and models with scalar inputs (a sample rate []) have no
// axis that every input shares as a batch axis, so their data cannot be read as samples along
// axis 0. When that reading fails and every array matches its input's full declared shape
// (fixed dims equal, symbolic dims bound to the file's sizes and agreeing across inputs that
// share a name, 0-d scalars for rank-0 inputs), each file is one feed, fed as it is: files are
// never concatenated and batchSize does not apply.
import { dataTypeName } from '../onnx/dataTypes';
import { ort } from '../runtime/session';
import { seededRandom } from '../random';
import { abortError, DataSourceError, withSubject } from './errors';
import { checkElemType, checkFinite, formatDims, valuesFromBytes, type ModelInput, type Values } from './inputs';
import { readNpyHeader, type NpyHeader } from './npy';
import { checkBatchOptions, type BatchOptions, type DataSource } from './source';
import { entrySource, readNpzDirectory, type ZipEntry } from './zip';

/** An array of the wrong element type: wrong however the file is read. */
export class ElementTypeError extends DataSourceError {}

export interface ExactFeedFile {
  file: string;
  label: string;
  /** Per input: the array that feeds it, whole. */
  arrays: Record<string, { entry: ZipEntry; header: NpyHeader; key: string }>;
  extra: string[];
}

/** Why `shape` is not a full feed of `input`, or undefined when it is (binding symbolic dims). */
function fullShapeMismatch(input: ModelInput, shape: readonly number[], bound: Map<string, { size: number; input: string; axis: number }>): string | undefined {
  const dims = input.dims;
  if (dims === null) return undefined;
  if (shape.length !== dims.length) return `array [${shape.join(',')}] has ${shape.length} axes, input '${input.name}' ${formatDims(dims)} ${dims.length}`;
  for (let k = 0; k < dims.length; k++) {
    const d = dims[k];
    if (typeof d === 'number' && d !== shape[k]) return `axis ${k} of input '${input.name}' ${formatDims(dims)} is ${d}, the array's ${shape[k]}`;
    if (typeof d === 'string') {
      const before = bound.get(d);
      if (before && before.size !== shape[k]) return `input '${before.input}' axis ${before.axis} (${d}) is ${before.size} but input '${input.name}' axis ${k} (${d}) is ${shape[k]}`;
      if (!before) bound.set(d, { size: shape[k], input: input.name, axis: k });
    }
  }
  return undefined;
}

/** Reads `file`'s headers as one exact feed; throws a DataSourceError saying why it is not one. */
export async function exactFeedFile(file: string, inputs: ModelInput[], label = file): Promise<ExactFeedFile> {
  const { entries, byName } = await readNpzDirectory(file, label);
  const positional = inputs.every((i) => !byName.has(i.name)) && byName.size > 0 && [...byName.keys()].every((k) => /^arr_\d+$/.test(k));
  const arrays: ExactFeedFile['arrays'] = {};
  const bound = new Map<string, { size: number; input: string; axis: number }>();
  for (const input of inputs) {
    const key = positional ? `arr_${input.index}` : input.name;
    const entry = byName.get(key);
    if (!entry) throw new DataSourceError(`has no array for input '${input.name}'`, label);
    const src = await entrySource(file, entry).catch((e) => { throw withSubject(e, label); });
    let header: NpyHeader;
    try {
      header = await readNpyHeader(src);
    } catch (e) {
      throw withSubject(e, `${label} array '${key}'`);
    } finally {
      await src.close();
    }
    try {
      checkElemType(input, header.dtype, `array '${key}' (${header.descr})`);
    } catch (e) {
      throw new ElementTypeError((e as Error).message, `${label} array '${key}'`);
    }
    const why = fullShapeMismatch(input, header.shape, bound);
    if (why) throw new DataSourceError(`is not an exact feed: ${why}`, label);
    arrays[input.name] = { entry, header, key };
  }
  const used = new Set(Object.values(arrays).map((a) => a.entry.name));
  const extra = entries.filter((e) => !used.has(e.name) && !e.name.endsWith('/')).map((e) => e.name.replace(/\.npy$/, ''));
  return { file, label, arrays, extra };
}

/** Each file one feed, its arrays fed as they are (no batch axis assumed, no concatenation). */
export class ExactFeedSource implements DataSource {
  readonly samples: number;

  constructor(readonly inputs: ModelInput[], readonly files: ExactFeedFile[], readonly title: string, readonly notes: string[], readonly reason: string) {
    this.samples = files.length;
  }

  describe(): string {
    const n = this.files.length;
    const lines = [`${this.title}: ${n} exact feed${n === 1 ? '' : 's'}`];
    const first = this.files[0];
    for (const input of this.inputs) {
      const a = first.arrays[input.name];
      const what = `${dataTypeName(a.header.dtype)} array '${a.key}' [${a.header.shape.join(',')}]`;
      lines.push(`  ${input.name} ${formatDims(input.dims)}: ${n === 1 ? what : `array '${a.key}' of ${n} .npz files (first: ${what})`}`);
    }
    lines.push(`  note: each file is one feed, used as it is: its arrays match the inputs' full shapes (${this.reason}), so files are not concatenated into batches and batchSize does not apply`);
    const extra = new Set(this.files.flatMap((f) => f.extra));
    if (extra.size) lines.push(`  note: ${[...extra].map((e) => `'${e}'`).join(', ')} ${extra.size === 1 ? 'is not a model input and is' : 'are not model inputs and are'} ignored`);
    for (const note of this.notes) lines.push(`  note: ${note}`);
    return lines.join('\n');
  }

  batches(options: BatchOptions): AsyncIterable<Record<string, ort.Tensor>> {
    checkBatchOptions(options);
    return { [Symbol.asyncIterator]: () => this.iterate(options) };
  }

  private async *iterate(options: BatchOptions): AsyncGenerator<Record<string, ort.Tensor>> {
    const n = Math.min(this.files.length, options.limit ?? this.files.length);
    const order = Array.from({ length: this.files.length }, (_, i) => i);
    if (options.shuffleSeed !== undefined) {
      const random = seededRandom(options.shuffleSeed);
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [order[i], order[j]] = [order[j], order[i]];
      }
    }
    for (let k = 0; k < n; k++) {
      if (options.signal?.aborted) throw abortError();
      const f = this.files[order[k]];
      const feed: Record<string, ort.Tensor> = {};
      for (const input of this.inputs) {
        const { entry, header } = f.arrays[input.name];
        let values: Values;
        const src = await entrySource(f.file, entry).catch((e) => { throw withSubject(e, f.label); });
        try {
          values = valuesFromBytes(input.elemType, await src.read(header.dataOffset, header.dataBytes));
        } catch (e) {
          throw withSubject(e, f.label);
        } finally {
          await src.close();
        }
        checkFinite(input, values, 1, order[k], this.files.length > 1 ? f.label : undefined);
        feed[input.name] = new ort.Tensor(input.ortType as 'float32', values as Float32Array, [...header.shape]);
      }
      yield feed;
    }
  }
}

// Calibration and evaluation data: `openDataSource(spec, model)` reads the spec's kind (a file,
// a folder, or `synthetic...`), checks it against the model's inputs from headers alone, and
// returns a source that streams batches of onnxruntime tensors, one file or slice at a time.
//
// Spec forms:
//   data.npz              one array per model input, keyed by the input's name; first axis = samples
//   folder of .npz        one sample or batch per file, in name order
//   data.npy / folder     (single-input models) first axis = samples
//   input_0.pb / test_data_set_0 / folder of test_data_set_N   ONNX TensorProto test data
//   folder of images      PNG/JPEG, preprocessed per `imagePreprocess` (single-input models)
//   train-images-idx3-ubyte[.gz]   IDX (MNIST-style), reshaped to the input's shape
//   synthetic[:N[:normal(m,s)|:uniform(lo,hi)]]   seeded generated data (data-free calibration)
import * as fs from 'fs';
import * as path from 'path';
import type { OnnxModel } from '../onnx/model';
import { DataSourceError } from './errors';
import { IMAGE_EXTENSIONS, imageSampleDims, planImages, type ImagePreprocess } from './images';
import { looksLikeIdx } from './idx';
import { formatDims, modelInputs, type ModelInput } from './inputs';
import { peekTensor } from './pb';
import {
  idxFeed, idxUnit, imageFeed, imageUnit, isGzip, npyUnit, npzFeed, npzUnit, pbUnit, type NpzUnitInfo,
} from './readers';
import { ElementTypeError, exactFeedFile, ExactFeedSource, type ExactFeedFile } from './exact';
import { UnitSource, type DataSource, type Unit } from './source';
import { isSyntheticSpec, parseSyntheticSpec, syntheticUnit } from './synthetic';
import { assignLayouts } from './layout';
import type { InputSpecs } from './inputSpecs';
import * as zlib from 'zlib';

export type { DataSource, BatchOptions } from './source';
export { batchSampleCount, firstAxisSampleCount } from './source';
export { parseInputSpecs, formatInputSpecs, type InputSpec, type InputSpecs } from './inputSpecs';
export { describeSyntheticInputs, type InputDescription, type InputsDescription } from './describeInputs';
export type { ImagePreprocess } from './images';
export { DataSourceError, isAbortError } from './errors';
export { modelInputs, type ModelInput } from './inputs';

export interface OpenDataOptions {
  /** How images become inputs; unset fields come from the model's input shape (size, layout,
   *  channels) or default to RGB, mean 0, std 1, scale 1/255, bilinear. */
  imagePreprocess?: Partial<ImagePreprocess>;
  /** Samples of `synthetic` when the spec does not say (default 16). */
  syntheticSamples?: number;
  /** Sizes for synthetic inputs (the batch axis first), overriding symbolic dims (which are 1). */
  inputShapes?: Record<string, number[]>;
  /** Per-input specs (--input NAME=shape:...|batch:...|range:...|normal:...|value:...), inputSpecs.ts. */
  inputs?: InputSpecs;
}

const collator = new Intl.Collator('en', { numeric: true });
const byName = (a: string, b: string) => collator.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0);

const IDX_NAME = /(?:idx\d(?:-ubyte)?|-ubyte|\.idx\d?)(?:\.gz)?$/i;

type Kind = 'npz' | 'npy' | 'pb' | 'image' | 'idx';

function kindOfName(name: string): Kind | undefined {
  const lower = name.toLowerCase();
  const ext = path.extname(lower);
  if (ext === '.npz') return 'npz';
  if (ext === '.npy') return 'npy';
  if (ext === '.pb') return 'pb';
  if (IMAGE_EXTENSIONS.includes(ext)) return 'image';
  if (IDX_NAME.test(lower)) return 'idx';
  return undefined;
}

/** Whether `file` (of an unknown name) holds IDX data, plain or gzipped. */
async function sniffIdx(file: string): Promise<boolean> {
  const fd = await fs.promises.open(file, 'r');
  try {
    const b = new Uint8Array(512);
    const { bytesRead } = await fd.read(b, 0, b.length, 0);
    let head = b.subarray(0, bytesRead);
    if (await isGzip(file)) {
      try {
        head = zlib.gunzipSync(head, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
      } catch {
        return false;
      }
    }
    return looksLikeIdx(head);
  } finally {
    await fd.close();
  }
}

function onlyInput(inputs: ModelInput[], what: string): ModelInput {
  if (inputs.length === 1) return inputs[0];
  throw new DataSourceError(`${what} can only feed a model with one input; this model has ${inputs.length} (${inputs.map((i) => `'${i.name}'`).join(', ')}): save a .npz with one array per input name, e.g. numpy.savez(file, ${inputs.map((i) => `${i.name}=...`).join(', ')})`);
}

/** The sources openDataSource builds (notes can be added to both). */
type Opened = UnitSource | ExactFeedSource;

const KNOWN = '.npz, .npy, .pb, .png, .jpg, .jpeg, IDX (…-idx3-ubyte[.gz]) or synthetic[:N]';

/** Opens calibration/evaluation data for `model` (see the spec forms above). */
export async function openDataSource(spec: string, model: OnnxModel, options: OpenDataOptions = {}): Promise<DataSource> {
  const inputs = modelInputs(model);
  const layoutNotes = assignLayouts(model, inputs, options.inputs);
  if (isSyntheticSpec(spec)) {
    const parsed = parseSyntheticSpec(spec, options.syntheticSamples);
    const plan = syntheticUnit(parsed, inputs, options.inputShapes, options.inputs);
    return new UnitSource(inputs, [plan.unit], { title: `synthetic data (${spec})`, feeds: plan.feeds, notes: [...layoutNotes, ...plan.notes], checkFinite: false });
  }
  const source = await openPath(spec, inputs, options);
  source.notes.unshift(...layoutNotes);
  return source;
}

async function openPath(spec: string, inputs: ModelInput[], options: OpenDataOptions): Promise<Opened> {
  const target = path.resolve(spec);
  let stat: fs.Stats;
  try {
    stat = await fs.promises.stat(target);
  } catch {
    throw new DataSourceError(`no such file or folder; give a data file or folder (${KNOWN})`, spec);
  }
  return stat.isDirectory() ? openFolder(target, inputs, options) : openFile(target, inputs, options);
}

async function openFile(file: string, inputs: ModelInput[], options: OpenDataOptions): Promise<Opened> {
  let kind = kindOfName(path.basename(file));
  if (kind === undefined && (await sniffIdx(file))) kind = 'idx';
  switch (kind) {
    case 'npz':
      return npzOrExact([file], inputs, `numpy archive ${file}`, [], async () => npzSource(inputs, [await npzUnit(file, inputs)], `numpy archive ${file}`, []));
    case 'npy': {
      const input = onlyInput(inputs, 'a .npy file');
      const { unit, header } = await npyUnit(file, input);
      return new UnitSource(inputs, [unit], { title: `numpy array ${file}`, feeds: { [input.name]: `${header.descr} array [${header.shape.join(',')}]` }, notes: [] });
    }
    case 'pb': {
      const input = onlyInput(inputs, 'one .pb file');
      const { unit, dims } = await pbUnit({ [input.name]: file }, inputs, file);
      return new UnitSource(inputs, [unit], { title: `ONNX tensor ${file}`, feeds: { [input.name]: `TensorProto [${dims[input.name].join(',')}]` }, notes: [] });
    }
    case 'image':
      return imageSource([file], inputs, options, `image ${file}`, []);
    case 'idx': {
      const input = onlyInput(inputs, 'an IDX file');
      const pre = options.imagePreprocess ?? {};
      const conv = { scale: pre.scale ?? 1 / 255, mean: pre.mean?.[0] ?? 0, std: pre.std?.[0] ?? 1 };
      if ((pre.mean?.length ?? 1) !== 1 || (pre.std?.length ?? 1) !== 1) throw new DataSourceError('IDX images have one channel: give one mean and one std value');
      const { unit, header, gz, sampleDims } = await idxUnit(file, input, conv);
      return new UnitSource(inputs, [unit], { title: `IDX file ${file}`, feeds: { [input.name]: idxFeed(header, input, sampleDims, gz, conv, file) }, notes: [] });
    }
    default:
      throw new DataSourceError(`unknown extension '${path.extname(file) || '(none)'}'; calibration data is ${KNOWN}`, file);
  }
}

function npzSource(inputs: ModelInput[], infos: NpzUnitInfo[], title: string, folderNotes: string[]): UnitSource {
  const notes: string[] = [...folderNotes];
  const extra = new Map<string, number>();
  for (const info of infos) for (const e of info.extra) extra.set(e, (extra.get(e) ?? 0) + 1);
  if (extra.size) {
    const names = [...extra.keys()].map((e) => `'${e}'`).join(', ');
    notes.push(`${extra.size === 1 ? 'array' : 'arrays'} ${names} ${extra.size === 1 ? 'is not a model input' : 'are not model inputs'} and ${extra.size === 1 ? 'is' : 'are'} ignored${infos.length > 1 ? ` (in ${Math.max(...extra.values())} of ${infos.length} files)` : ''}`);
  }
  if (infos.some((i) => i.positional)) notes.push(`arrays are unnamed (arr_0, arr_1...): arr_K feeds the K-th input`);
  const feeds: Record<string, string> = {};
  for (const input of inputs) {
    feeds[input.name] = infos.length === 1 ? npzFeed(infos[0], input) : `array '${npzArrayName(infos[0], input)}' of ${infos.length} .npz files (first: ${npzFeed(infos[0], input)})`;
  }
  return new UnitSource(inputs, infos.map((i) => i.unit), { title, feeds, notes });
}

/**
 * .npz data read as samples along axis 0 (`asSamples`); when that reading fails (no batch axis
 * every input shares, as with a recurrent state [2,batch,128] beside a scalar []), and every
 * file's arrays match the inputs' full shapes, each file is one exact feed. Otherwise the
 * samples reading's error stands.
 */
async function npzOrExact(files: string[], inputs: ModelInput[], title: string, notes: string[], asSamples: () => Promise<Opened>): Promise<Opened> {
  try {
    return await asSamples();
  } catch (e) {
    if (!(e instanceof DataSourceError)) throw e;
    const exact: ExactFeedFile[] = [];
    for (const f of files) {
      try {
        exact.push(await exactFeedFile(f, inputs));
      } catch (x) {
        // A wrong element type is wrong whichever way the file is read: say that; otherwise the
        // samples reading's error stands.
        throw x instanceof ElementTypeError ? x : e;
      }
    }
    const raw = e.subject && e.message.startsWith(`${e.subject}: `) ? e.message.slice(e.subject.length + 2) : e.message;
    const why = raw.replace(/;.*$/s, '');
    return new ExactFeedSource(inputs, exact, title, notes, `they cannot be read as samples along axis 0: ${e.subject && files.length > 1 ? `${path.basename(e.subject)}: ` : ''}${why}`);
  }
}

function npzArrayName(info: NpzUnitInfo, input: ModelInput): string {
  return info.arrays[input.name].entry.name.replace(/\.npy$/, '');
}

async function imageSource(files: string[], inputs: ModelInput[], options: OpenDataOptions, title: string, notes: string[]): Promise<Opened> {
  const input = onlyInput(inputs, 'images');
  const { plan, notes: planNotes } = planImages(input, options.imagePreprocess);
  const units: Unit[] = files.map((f) => imageUnit(f, input, plan));
  const source = new UnitSource(inputs, units, { title, feeds: { [input.name]: `${imageFeed(plan, files.length)} → ${formatDims(['N', ...imageSampleDims(plan, NaN, NaN).map((d) => (Number.isNaN(d) ? null : d))])}` }, notes: [...planNotes, ...notes] });
  return source;
}

async function openFolder(dir: string, inputs: ModelInput[], options: OpenDataOptions): Promise<Opened> {
  const entries = (await fs.promises.readdir(dir, { withFileTypes: true })).filter((e) => !e.name.startsWith('.'));
  const notes: string[] = [];
  // ONNX test data: test_data_set_N folders, or the input_K.pb files of one set.
  const sets = entries.filter((e) => e.isDirectory() && /^test_data_set_\d+$/.test(e.name)).map((e) => e.name).sort(byName);
  if (sets.length) return pbSetsSource(sets.map((s) => path.join(dir, s)), inputs, dir, notes);
  const files = entries.filter((e) => e.isFile() || e.isSymbolicLink()).map((e) => e.name).sort(byName);
  const otherDirs = entries.filter((e) => e.isDirectory()).map((e) => e.name);
  const byKind = new Map<Kind, string[]>();
  const unknown: string[] = [];
  for (const f of files) {
    const k = kindOfName(f);
    if (k) byKind.set(k, [...(byKind.get(k) ?? []), f]);
    else unknown.push(f);
  }
  const pbFiles = byKind.get('pb') ?? [];
  if (pbFiles.length && pbFiles.some((f) => /^input_\d+\.pb$/.test(f))) {
    byKind.delete('pb');
    const ignored = pbFiles.filter((f) => !/^input_\d+\.pb$/.test(f));
    if (ignored.length) notes.push(`${ignored.length} other .pb file${ignored.length === 1 ? '' : 's'} (${preview(ignored)}) ignored`);
    if (byKind.size === 0) {
      if (unknown.length) notes.push(`${unknown.length} file${unknown.length === 1 ? '' : 's'} of other kinds (${preview(unknown)}) ignored`);
      return pbSetsSource([dir], inputs, dir, notes);
    }
  }
  if (byKind.size === 0) {
    const what = files.length || otherDirs.length ? `holds no calibration data (only ${preview([...files, ...otherDirs.map((d) => `${d}/`)])})` : 'is empty';
    throw new DataSourceError(`${what}; put ${KNOWN.replace(' or synthetic[:N]', '')} files or test_data_set_N folders in it`, dir);
  }
  if (byKind.size > 1) {
    throw new DataSourceError(`mixes kinds of data (${[...byKind.entries()].map(([k, v]) => `${v.length} ${k}`).join(', ')}); keep one kind per folder`, dir);
  }
  if (unknown.length) notes.push(`${unknown.length} file${unknown.length === 1 ? '' : 's'} with other extensions (${preview(unknown)}) ignored`);
  if (otherDirs.length) notes.push(`subfolder${otherDirs.length === 1 ? '' : 's'} ${preview(otherDirs)} ignored`);
  const [kind, names] = [...byKind.entries()][0];
  const paths = names.map((n) => path.join(dir, n));
  switch (kind) {
    case 'npz': {
      const title = `folder of ${paths.length} .npz file${paths.length === 1 ? '' : 's'} ${dir}`;
      return npzOrExact(paths, inputs, title, notes, async () => {
        const infos: NpzUnitInfo[] = [];
        for (const p of paths) infos.push(await npzUnit(p, inputs));
        return npzSource(inputs, infos, title, notes);
      });
    }
    case 'npy': {
      const input = onlyInput(inputs, 'a folder of .npy files');
      const units: Unit[] = [];
      let first = '';
      for (const p of paths) {
        const { unit, header } = await npyUnit(p, input);
        first ||= `${header.descr} [${header.shape.join(',')}]`;
        units.push(unit);
      }
      return new UnitSource(inputs, units, { title: `folder of ${units.length} .npy file${units.length === 1 ? '' : 's'} ${dir}`, feeds: { [input.name]: `${units.length} .npy arrays (first: ${first})` }, notes });
    }
    case 'pb': {
      const input = onlyInput(inputs, 'a folder of .pb files');
      const units: Unit[] = [];
      for (const p of paths) units.push((await pbUnit({ [input.name]: p }, inputs, p)).unit);
      return new UnitSource(inputs, units, { title: `folder of ${units.length} TensorProto file${units.length === 1 ? '' : 's'} ${dir}`, feeds: { [input.name]: `${units.length} TensorProto files` }, notes });
    }
    case 'image':
      return imageSource(paths, inputs, options, `folder of ${paths.length} image${paths.length === 1 ? '' : 's'} ${dir}`, notes);
    case 'idx':
      if (paths.length > 1) throw new DataSourceError(`holds ${paths.length} IDX files (${preview(names)}); give the one with the model's input`, dir);
      return openFile(paths[0], inputs, options);
  }
}

async function pbSetsSource(setDirs: string[], inputs: ModelInput[], dir: string, notes: string[]): Promise<Opened> {
  const units: Unit[] = [];
  let firstDims: Record<string, number[]> | undefined;
  for (const setDir of setDirs) {
    const names = (await fs.promises.readdir(setDir)).filter((n) => /^input_\d+\.pb$/.test(n)).sort(byName);
    if (!names.length) throw new DataSourceError('holds no input_K.pb files', setDir);
    // input_K belongs to the K-th graph input that is not an initializer, unless the tensor is
    // named after an input.
    const files: Record<string, string> = {};
    for (const n of names) {
      const k = Number(/^input_(\d+)\.pb$/.exec(n)![1]);
      const file = path.join(setDir, n);
      const head = await peekTensor(file).catch(() => undefined);
      const named = head?.name ? inputs.find((i) => i.name === head.name) : undefined;
      const input = named ?? inputs[k];
      if (!input) {
        throw new DataSourceError(`is input ${k} but the model has ${inputs.length} input${inputs.length === 1 ? '' : 's'} (${inputs.map((i) => `'${i.name}'`).join(', ')})`, file);
      }
      if (files[input.name]) throw new DataSourceError(`both ${path.basename(files[input.name])} and ${n} feed input '${input.name}'`, setDir);
      files[input.name] = file;
    }
    const missing = inputs.filter((i) => !files[i.name]);
    if (missing.length) {
      throw new DataSourceError(`has no file for input${missing.length === 1 ? '' : 's'} ${missing.map((i) => `'${i.name}' (input_${i.index}.pb)`).join(', ')}`, setDir);
    }
    const { unit, dims } = await pbUnit(files, inputs, setDir);
    firstDims ??= dims;
    units.push(unit);
  }
  const feeds = Object.fromEntries(inputs.map((i) => [i.name, `TensorProto input_${i.index}.pb of ${units.length} test data set${units.length === 1 ? '' : 's'} (first: [${firstDims![i.name].join(',')}])`]));
  return new UnitSource(inputs, units, { title: `ONNX test data ${dir}`, feeds, notes });
}

function preview(names: string[], max = 3): string {
  return names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')}, …`;
}

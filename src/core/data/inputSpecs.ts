// Per-input specs: what the user says about one model input, for calibration and evaluation data
// (its sizes, where its batch axis is, the values synthetic data gives it). One text form, read by
// the CLI's --input and by the extension alike:
//
//   NAME=shape:2,batch,128     sizes; the word `batch` marks the batch axis (its size is the batch's)
//   NAME=batch:1 | batch:none  the batch axis, or none: the input is fed whole, the same for every batch
//   NAME=range:0,50257         synthetic values drawn uniformly from [lo, hi) (whole numbers for integer inputs)
//   NAME=normal:0,0.5          synthetic values from a normal distribution (mean, standard deviation)
//   NAME=value:16000           every element of every sample is this number
//
// Several specs for one input are given one after the other (`ids=shape:batch,16; ids=range:0,100`).
import type { InputSpec } from '../../shared/quantResult';
import { DataSourceError } from './errors';

// The formatter lives in shared/ so the report webview writes specs the same way.
export { formatInputSpecs } from '../../shared/inputSpecText';

export type { InputSpec };

export type InputSpecs = Record<string, InputSpec>;

const KINDS = ['shape', 'batch', 'range', 'normal', 'value'] as const;
const ITEM = new RegExp(`^(.+?)=(${KINDS.join('|')}):(.*)$`);
const USAGE = 'write NAME=shape:2,batch,128, NAME=batch:1 (or batch:none), NAME=range:LO,HI, NAME=normal:MEAN,STD or NAME=value:V';

function numbers(text: string, what: string, count?: number): number[] {
  const parts = text.split(',').map((s) => s.trim());
  const out = parts.map(Number);
  if (parts.some((p) => p === '') || out.some((v) => !Number.isFinite(v))) throw new DataSourceError(`${what}: '${text}' is not a list of numbers`);
  if (count !== undefined && out.length !== count) throw new DataSourceError(`${what}: give ${count} number${count === 1 ? '' : 's'} (got '${text}')`);
  return out;
}

/** Adds one `NAME=KIND:ARGS` to `specs`; throws a DataSourceError that shows the accepted forms. */
export function addInputSpec(specs: InputSpecs, item: string): void {
  const m = ITEM.exec(item.trim());
  if (!m || !m[1].trim()) throw new DataSourceError(`input spec '${item.trim()}' is not understood; ${USAGE}`);
  const name = m[1].trim();
  const kind = m[2] as (typeof KINDS)[number];
  const args = m[3].trim();
  const what = `input spec '${item.trim()}'`;
  const spec = (specs[name] ??= {});
  switch (kind) {
    case 'shape': {
      const dims = args.split(',').map((s) => s.trim());
      const shape = dims.map((d) => (d === 'batch' ? 'batch' : Number(d)));
      if (dims.some((d) => d === '') || shape.some((d) => d !== 'batch' && !(Number.isInteger(d) && d >= 0))) {
        throw new DataSourceError(`${what}: each size is a whole number or the word batch (got '${args}')`);
      }
      if (shape.filter((d) => d === 'batch').length > 1) throw new DataSourceError(`${what}: at most one axis is the batch`);
      spec.shape = shape as Array<number | 'batch'>;
      return;
    }
    case 'batch':
      if (args === 'none') spec.batchAxis = null;
      else if (/^\d+$/.test(args)) spec.batchAxis = Number(args);
      else throw new DataSourceError(`${what}: give the batch axis as a whole number, or none`);
      return;
    case 'range': {
      const [lo, hi] = numbers(args, what, 2);
      if (!(lo < hi)) throw new DataSourceError(`${what}: the low end must be below the high end`);
      spec.range = [lo, hi];
      return;
    }
    case 'normal': {
      const [mean, std] = numbers(args, what, 2);
      if (std < 0) throw new DataSourceError(`${what}: the standard deviation must not be negative`);
      spec.normal = [mean, std];
      return;
    }
    case 'value':
      spec.value = numbers(args, what, 1)[0];
      return;
  }
}

/** Specs as a list (`--input` repeated) or one text separated by semicolons. */
export function parseInputSpecs(specs: string | readonly string[]): InputSpecs {
  const list = typeof specs === 'string' ? specs.split(';') : specs;
  const out: InputSpecs = {};
  for (const item of list) if (item.trim()) addInputSpec(out, item);
  for (const [name, s] of Object.entries(out)) {
    const given = [s.range && 'range', s.normal && 'normal', s.value !== undefined && 'value'].filter(Boolean);
    if (given.length > 1) throw new DataSourceError(`input '${name}': give one of range, normal and value (got ${given.join(' and ')})`);
    const marked = s.shape?.indexOf('batch') ?? -1;
    if (marked >= 0 && s.batchAxis !== undefined && s.batchAxis !== marked) {
      throw new DataSourceError(`input '${name}': shape marks axis ${marked} as the batch but batch says ${s.batchAxis ?? 'none'}`);
    }
  }
  return out;
}

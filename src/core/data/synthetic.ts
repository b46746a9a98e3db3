// Generated data for data-free (zero-shot) calibration: `synthetic`, `synthetic:N`,
// `synthetic:N:normal(mean,std)`, `synthetic:N:uniform(lo,hi)`, with optional parts `seed=K` and
// input sizes `name=d0,d1,...;other=...` (the batch axis first, as --input-shape takes them).
// Every sample of every input comes from its own seeded stream, so sample i is the same whatever
// the batch size or shuffle.
import { DataType } from '../onnx/dataTypes';
import { float32ToFloat16Bits } from '../onnx/floatFormats';
import { seededRandom } from '../random';
import { audioWindow, speechLike } from './audioInput';
import { DataSourceError } from './errors';
import { allocValues, batchDims, checkSampleDims, formatDims, isFloatElem, layoutFor, type ModelInput, type Values } from './inputs';
import type { InputSpecs } from './inputSpecs';
import type { Fill } from './layout';
import { memoryUnit, type OpenUnit, type Unit } from './source';

export interface Distribution { kind: 'normal' | 'uniform'; a: number; b: number }

export interface SyntheticSpec {
  samples: number;
  distribution: Distribution;
  seed: number;
  /** Sizes by input name (the batch axis first). */
  shapes: Record<string, number[]>;
}

export const DEFAULT_SYNTHETIC_SAMPLES = 16;
export const DEFAULT_SYNTHETIC_SEED = 1;

export function isSyntheticSpec(spec: string): boolean {
  return spec === 'synthetic' || spec.startsWith('synthetic:');
}

const NUM = '\\s*([-+]?(?:\\d+\\.?\\d*|\\.\\d+)(?:[eE][-+]?\\d+)?)\\s*';
const DIST = new RegExp(`^(normal|uniform)\\(${NUM},${NUM}\\)$`);

export function parseSyntheticSpec(spec: string, defaultSamples = DEFAULT_SYNTHETIC_SAMPLES): SyntheticSpec {
  const out: SyntheticSpec = { samples: defaultSamples, distribution: { kind: 'normal', a: 0, b: 1 }, seed: DEFAULT_SYNTHETIC_SEED, shapes: {} };
  const parts = spec.split(':').slice(1).map((p) => p.trim()).filter((p) => p !== '');
  const usage = "write synthetic, synthetic:N, synthetic:N:normal(mean,std) or synthetic:N:uniform(lo,hi) (optionally :seed=K and :name=d0,d1,...)";
  parts.forEach((part, k) => {
    if (/^\d+$/.test(part) && k === 0) {
      out.samples = Number(part);
      if (!Number.isSafeInteger(out.samples) || out.samples < 1) throw new DataSourceError(`synthetic sample count '${part}' must be at least 1`);
      return;
    }
    const d = DIST.exec(part);
    if (d) {
      const a = Number(d[2]);
      const b = Number(d[3]);
      if (d[1] === 'normal' && b < 0) throw new DataSourceError(`normal(${a},${b}): the standard deviation must not be negative`);
      if (d[1] === 'uniform' && !(a < b)) throw new DataSourceError(`uniform(${a},${b}): the low end must be below the high end`);
      out.distribution = { kind: d[1] as Distribution['kind'], a, b };
      return;
    }
    const s = /^seed=(\d+)$/.exec(part);
    if (s) {
      out.seed = Number(s[1]);
      return;
    }
    if (part.includes('=')) {
      for (const item of part.split(';').filter((x) => x.trim() !== '')) {
        const m = /^\s*(.+?)\s*=\s*(\d+(?:\s*[,x]\s*\d+)*)\s*$/.exec(item);
        if (!m) throw new DataSourceError(`synthetic input size '${item}' is not understood; write name=d0,d1,... (the batch axis first)`);
        out.shapes[m[1]] = m[2].split(/[,x]/).map((v) => Number(v.trim()));
      }
      return;
    }
    throw new DataSourceError(`synthetic spec part '${part}' is not understood; ${usage}`);
  });
  return out;
}

export function distributionText(d: Distribution): string {
  return `${d.kind}(${d.a},${d.b})`;
}

/** Seed of one input's sample (a 32-bit mix of the three numbers). */
function sampleSeed(seed: number, input: number, sample: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (input + 0x632be59b), 0xc2b2ae35) >>> 0;
  h = Math.imul(h ^ (sample + 0x7f4a7c15), 0x27d4eb2f) >>> 0;
  return (h ^ (h >>> 15)) >>> 0;
}

const INT_RANGE: Partial<Record<number, [number, number]>> = {
  [DataType.INT8]: [-128, 127], [DataType.UINT8]: [0, 255], [DataType.INT16]: [-32768, 32767],
  [DataType.UINT16]: [0, 65535], [DataType.INT32]: [-2147483648, 2147483647], [DataType.UINT32]: [0, 4294967295],
  [DataType.INT64]: [-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER], [DataType.UINT64]: [0, Number.MAX_SAFE_INTEGER],
  [DataType.BOOL]: [0, 1],
};

function fillSample(input: ModelInput, out: Values, at: number, count: number, d: Distribution, random: () => number, f32: Float32Array): void {
  if (isFloatElem(input.elemType)) {
    const tmp = input.elemType === DataType.DOUBLE ? (out as Float64Array).subarray(at, at + count) : f32;
    if (d.kind === 'uniform') {
      for (let i = 0; i < count; i++) tmp[i] = d.a + (d.b - d.a) * random();
    } else {
      for (let i = 0; i < count; i += 2) {
        const u1 = 1 - random();
        const u2 = random();
        const r = Math.sqrt(-2 * Math.log(u1));
        tmp[i] = d.a + d.b * r * Math.cos(2 * Math.PI * u2);
        if (i + 1 < count) tmp[i + 1] = d.a + d.b * r * Math.sin(2 * Math.PI * u2);
      }
    }
    if (input.elemType === DataType.FLOAT) (out as Float32Array).set(f32.subarray(0, count), at);
    else if (input.elemType === DataType.FLOAT16) (out as Uint16Array).set(float32ToFloat16Bits(f32.subarray(0, count)), at);
    return;
  }
  // Integers and bools: uniform whole numbers in [lo, hi] (clamped to the type), zeros for normal.
  if (d.kind !== 'uniform') return;
  const [tmin, tmax] = INT_RANGE[input.elemType] ?? [0, 0];
  const lo = Math.max(tmin, Math.ceil(d.a));
  const hi = Math.min(tmax, Math.floor(d.b));
  if (hi < lo) {
    const v = Math.min(tmax, Math.max(tmin, Math.round(d.a)));
    for (let i = 0; i < count; i++) setInt(out, at + i, v);
    return;
  }
  for (let i = 0; i < count; i++) setInt(out, at + i, lo + Math.floor(random() * (hi - lo + 1)));
}

function setInt(out: Values, i: number, v: number): void {
  if (out instanceof BigInt64Array || out instanceof BigUint64Array) out[i] = BigInt(v);
  else out[i] = v;
}

export interface SyntheticPlan {
  unit: Unit;
  feeds: Record<string, string>;
  notes: string[];
  /** Per input: one sample's sizes (without the batch axis), and the symbolic dims guessed as 1. */
  sampleDims: Record<string, number[]>;
  guessed: Record<string, string[]>;
}

/** Per input, one sample's sizes: given shapes first, then declared sizes, then symbolic dims
 *  resolved from the given shapes (shared names), a past axis 0, a mask or position ids taking the
 *  ids' sizes, else 1 (with a note). */
function sampleSizes(
  inputs: ModelInput[],
  given: Record<string, Array<number | 'batch'>>,
  notes: string[],
  guesses: Record<string, string[]>,
): Record<string, number[]> {
  const bound = new Map<string, number>();
  for (const input of inputs) {
    const g = given[input.name];
    if (!g || !input.dims) continue;
    input.dims.forEach((d, k) => {
      if (typeof d === 'string' && typeof g[k] === 'number' && k !== input.batchAxis) bound.set(d, g[k] as number);
    });
  }
  const full: Record<string, number[]> = {};
  const ids = inputs.find((i) => i.fill?.kind === 'uniform' && i.fill.why.startsWith('ids')) ?? inputs.find((i) => /ids$/i.test(i.name) && i.fill?.kind !== 'positions');
  const order = [...inputs].sort((a, b) => Number(a === ids ? 0 : 1) - Number(b === ids ? 0 : 1));
  for (const input of order) {
    const g = given[input.name];
    if (g) {
      full[input.name] = g.map((d) => (d === 'batch' ? 1 : d));
      continue;
    }
    if (input.dims === null) throw new DataSourceError(`input '${input.name}' declares no shape; give its size (--input ${input.name}=shape:batch,...)`);
    const guessed: string[] = [];
    full[input.name] = input.dims.map((d, k) => {
      if (typeof d === 'number') return d;
      if (k === input.batchAxis) return 1;
      if (k === input.pastAxis) return 0;
      if (typeof d === 'string' && bound.has(d)) return bound.get(d)!;
      const like = ids && ids !== input && (input.fill?.kind === 'positions' || /mask/i.test(input.name)) ? full[ids.name] : undefined;
      if (like && like.length === input.dims!.length) return like[k];
      // A waveform's open length (its last axis) gets a window long enough for its filters.
      if (input.fill?.kind === 'audio' && k === input.dims!.length - 1) {
        const window = audioWindow(input.fill.rate, input.fill.taps);
        notes.push(`input '${input.name}': its length ${d ?? '?'} is open; synthetic audio windows of ${window} samples (32 ms at ${input.fill.rate} Hz); give another as --input ${input.name}=shape:${input.dims!.map((x, j) => (j === input.batchAxis ? 'batch' : j === k ? 'N' : (x ?? '?'))).join(',')}`);
        if (typeof d === 'string') bound.set(d, window);
        return window;
      }
      guessed.push(d ?? '?');
      if (typeof d === 'string') bound.set(d, 1);
      return 1;
    });
    guesses[input.name] = guessed;
    if (guessed.length) {
      const example = input.dims.map((d, k) => (k === input.batchAxis ? 'batch' : typeof d === 'number' ? d : '?')).join(',');
      notes.push(`input '${input.name}': symbolic dims ${guessed.join(', ')} are 1; give sizes as --input ${input.name}=shape:${example} (each ? a size)`);
    }
  }
  const out: Record<string, number[]> = {};
  for (const input of inputs) out[input.name] = input.batchAxis === null ? full[input.name] : full[input.name].filter((_, k) => k !== input.batchAxis);
  return out;
}

function fillText(input: ModelInput, fill: Fill): string {
  switch (fill.kind) {
    case 'value':
      return `${fill.value} (${fill.why})`;
    case 'uniform':
      return `${isFloatElem(input.elemType) ? 'uniform' : 'whole numbers'} in [${fill.lo}, ${fill.hi}) (${fill.why})`;
    case 'normal':
      return `normal(${fill.mean},${fill.std}) (${fill.why})`;
    case 'positions':
      return fill.why;
    case 'audio':
      return `speech-like audio at ${fill.rate} Hz, peaks 0.01-0.5 (${fill.why})`;
  }
}

/** What synthetic data puts in `input` (after assignLayouts): its own fill, else the spec's distribution. */
export function syntheticValuesText(input: ModelInput, d: Distribution): string {
  if (input.fill) return fillText(input, input.fill);
  if (isFloatElem(input.elemType)) return distributionText(d);
  return d.kind === 'uniform' ? `uniform whole numbers in [${Math.ceil(d.a)}, ${Math.floor(d.b)}]` : 'zeros';
}

/** One sample of an input with its own fill (layout.ts). */
function fillOwn(input: ModelInput, fill: Fill, out: Values, at: number, dims: number[], random: () => number, f32: Float32Array): void {
  const count = dims.reduce((a, b) => a * b, 1);
  if (fill.kind === 'positions') {
    const last = dims.length ? dims[dims.length - 1] : 1;
    for (let i = 0; i < count; i++) setValue(input, out, at + i, i % last);
    return;
  }
  if (fill.kind === 'value') {
    for (let i = 0; i < count; i++) setValue(input, out, at + i, fill.value);
    return;
  }
  if (fill.kind === 'audio') {
    const tmp = input.elemType === DataType.DOUBLE ? (out as Float64Array).subarray(at, at + count) : f32;
    speechLike(tmp, count, random, fill.rate);
    if (input.elemType === DataType.FLOAT) (out as Float32Array).set(f32.subarray(0, count), at);
    else if (input.elemType === DataType.FLOAT16) (out as Uint16Array).set(float32ToFloat16Bits(f32.subarray(0, count)), at);
    return;
  }
  if (fill.kind === 'uniform' && !isFloatElem(input.elemType)) {
    // Whole numbers in [lo, hi).
    const lo = Math.ceil(fill.lo);
    const span = Math.max(1, Math.ceil(fill.hi) - lo);
    for (let i = 0; i < count; i++) setValue(input, out, at + i, lo + Math.floor(random() * span));
    return;
  }
  const d: Distribution = fill.kind === 'uniform' ? { kind: 'uniform', a: fill.lo, b: fill.hi } : { kind: 'normal', a: fill.mean, b: fill.std };
  fillSample(input, out, at, count, d, random, f32);
}

function setValue(input: ModelInput, out: Values, i: number, v: number): void {
  if (input.elemType === DataType.FLOAT16) (out as Uint16Array)[i] = float32ToFloat16Bits(Float32Array.of(v))[0];
  else setInt(out, i, v);
}

export function syntheticUnit(spec: SyntheticSpec, inputs: ModelInput[], overrides: Record<string, number[]> = {}, specs: InputSpecs = {}): SyntheticPlan {
  const legacy = { ...overrides, ...spec.shapes };
  for (const name of Object.keys(legacy)) {
    if (!inputs.some((i) => i.name === name)) throw new DataSourceError(`synthetic size given for '${name}', which is not a model input (inputs: ${inputs.map((i) => `'${i.name}'`).join(', ')})`);
  }
  const given: Record<string, Array<number | 'batch'>> = {};
  for (const input of inputs) {
    const s = specs[input.name]?.shape;
    if (s) given[input.name] = s;
    else if (legacy[input.name]) {
      // The legacy form lists the batch axis first: checked against the declared dims like data.
      const dims = legacy[input.name];
      const layout = layoutFor(input, dims, true);
      given[input.name] = input.batchAxis === null ? layout.sampleDims : [...layout.sampleDims.slice(0, input.batchAxis), 'batch', ...layout.sampleDims.slice(input.batchAxis)];
    }
  }
  const notes: string[] = [];
  const guessed: Record<string, string[]> = {};
  const sampleDims = sampleSizes(inputs, given, notes, guessed);
  const feeds: Record<string, string> = {};
  for (const input of inputs) {
    const dims = sampleDims[input.name];
    checkSampleDims(input, dims);
    const isFloat = isFloatElem(input.elemType);
    const what = syntheticValuesText(input, spec.distribution);
    const shown = input.batchAxis === null ? formatDims(dims) : formatDims(batchDims(input, NaN, dims).map((d) => (Number.isNaN(d) ? 'N' : d)));
    feeds[input.name] = `synthetic ${input.ortType} ${shown}${input.batchAxis === null ? ' (no batch axis: the same every batch)' : ''}, ${what}, seed ${spec.seed}`;
    if (!input.fill && !isFloat && spec.distribution.kind !== 'uniform') notes.push(`${input.ortType} input '${input.name}' is fed zeros; give --input ${input.name}=range:LO,HI for random whole numbers`);
  }
  const unit: Unit = {
    count: spec.samples,
    label: 'synthetic data',
    async open(): Promise<OpenUnit> {
      return memoryUnit(inputs, sampleDims, (input, start, n, per) => {
        // A batchless input is one value for all samples, drawn from its own stream.
        const samples = input.batchAxis === null ? 1 : n;
        const values = allocValues(input.elemType, per * samples);
        const f32 = new Float32Array(per);
        for (let s = 0; s < samples; s++) {
          const random = seededRandom(sampleSeed(spec.seed, input.index, input.batchAxis === null ? 0 : start + s));
          if (input.fill) fillOwn(input, input.fill, values, s * per, sampleDims[input.name], random, f32);
          else fillSample(input, values, s * per, per, spec.distribution, random, f32);
        }
        return values;
      });
    },
  };
  return { unit, feeds, notes, sampleDims, guessed };
}

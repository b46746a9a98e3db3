// The batching engine every reader shares. A reader describes its data as units (a file, an
// archive, a stack of samples in one array), each holding `count` samples; the engine walks the
// samples in order (or in a seeded Fisher-Yates order), opens one unit at a time, reads runs of
// consecutive samples as one slice, checks them, and concatenates them along axis 0 into batches.
import { ort } from '../runtime/session';
import { seededRandom } from '../random';
import { abortError, DataSourceError, withSubject } from './errors';
import {
  batchDims, checkFinite, checkSampleDims, checkSharedDims, concatValues, fixedBatch, formatDims, placeBatchAxis,
  type ModelInput, type Values,
} from './inputs';

export interface BatchOptions {
  /** Samples per batch (clamped where the model fixes its batch size). */
  batchSize: number;
  /** Use at most this many samples. */
  limit?: number;
  /** Shuffle the sample order with this seed (the same seed gives the same order). */
  shuffleSeed?: number;
  /** Checked between batches; an aborted signal ends the iteration with an AbortError. */
  signal?: AbortSignal;
}

export interface DataSource {
  /** One line per model input saying what it is fed, then notes. */
  describe(): string;
  /** Total samples, when known without reading the data. */
  readonly samples?: number;
  batches(options: BatchOptions): AsyncIterable<Record<string, ort.Tensor>>;
}

/** A unit opened for reading; closed before the next one is opened. */
export interface OpenUnit {
  /** One sample's dims per input (without the batch axis). */
  sampleDims: Record<string, number[]>;
  /** Samples [start, start + count) of every input, as the inputs' element types. */
  read(start: number, count: number): Promise<Record<string, Values>>;
  close(): Promise<void>;
}

/** Throws a DataSourceError for a batchSize or limit that is not a usable whole number. */
export function checkBatchOptions(options: BatchOptions): void {
  const { batchSize } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new DataSourceError(`batchSize must be a positive whole number (got ${batchSize})`);
  if (options.limit !== undefined && (!Number.isInteger(options.limit) || options.limit < 0)) throw new DataSourceError(`limit must be a whole number of samples (got ${options.limit})`);
}

/** An open unit whose samples are at hand: `slice` gives one input's samples [start, start + n), `per` values each. */
export function memoryUnit(inputs: readonly ModelInput[], sampleDims: Record<string, number[]>, slice: (input: ModelInput, start: number, n: number, per: number) => Values): OpenUnit {
  return {
    sampleDims,
    async read(start, n) {
      const out: Record<string, Values> = {};
      for (const input of inputs) out[input.name] = slice(input, start, n, sampleDims[input.name].reduce((a, b) => a * b, 1));
      return out;
    },
    async close() {},
  };
}

export interface Unit {
  /** Samples it holds. */
  count: number;
  /** Its file (or name) for messages. */
  label: string;
  /** `random`: samples will be read out of order (compressed streams are made seekable). */
  open(random: boolean): Promise<OpenUnit>;
}

export interface SourceInfo {
  /** First line of describe(). */
  title: string;
  /** Per input: what it is fed. */
  feeds: Record<string, string>;
  notes: string[];
  /** Check float samples for NaN/Inf (not needed for generated data). */
  checkFinite?: boolean;
}

/** What a DataSource knows of each batch it yielded: its samples, and each input's batch axis (null: none). */
const batchFacts = new WeakMap<object, { samples: number; axes: Record<string, number | null> }>();

/** Samples in a batch a DataSource yielded (its inputs' batch axes need not be the first). */
export function batchSampleCount(batch: Record<string, ort.Tensor>): number {
  return batchFacts.get(batch)?.samples ?? Object.values(batch)[0]?.dims[0] ?? 1;
}

/** Samples in a batch whose every input holds them on its first axis; refuses a batch that does not. */
export function firstAxisSampleCount(batch: Record<string, ort.Tensor>, reader: string): number {
  const facts = batchFacts.get(batch);
  const n = batchSampleCount(batch);
  for (const [name, t] of Object.entries(batch)) {
    const axis = facts ? facts.axes[name] : 0;
    if (axis !== 0 || t.dims[0] !== n) {
      const where = axis === null || axis === undefined ? 'has no batch axis' : `holds its samples on axis ${axis}`;
      throw new DataSourceError(`input '${name}' [${t.dims.join(', ')}] ${where}; ${reader} reads the samples of every input along the first axis`);
    }
  }
  return n;
}

/** Records how many samples `batch` holds and where, for batchSampleCount and firstAxisSampleCount. */
export function markBatch<T extends object>(batch: T, samples: number, axes: Record<string, number | null>): T {
  batchFacts.set(batch, { samples, axes });
  return batch;
}

/** The one value of a batchless input over the parts of a batch: they must all agree. */
function batchlessValue(input: ModelInput, parts: Values[], where: Array<{ sample: number; label: string; count: number; whole: boolean }>): Values {
  const first = parts[0];
  const per = first.length / (where[0].whole ? 1 : where[0].count);
  const ref = first.subarray(0, per) as Values;
  parts.forEach((p, j) => {
    const n = p.length / per;
    for (let s = 0; s < n; s++) {
      for (let i = 0; i < per; i++) {
        if (p[s * per + i] === ref[i] || (Number.isNaN(p[s * per + i] as number) && Number.isNaN(ref[i] as number))) continue;
        const at = (w: { sample: number; label: string }, o: number) => `sample ${w.sample + o}${w.label ? ` (${w.label})` : ''}`;
        throw new DataSourceError(
          `input '${input.name}' has no batch axis, so every sample of a batch must give it the same value, but ${at(where[j], where[j].whole ? 0 : s)} differs from ${at(where[0], 0)} at element ${i} (${p[s * per + i]} vs ${ref[i]}); give one value for all samples, or use --batch 1`,
        );
      }
    }
  });
  return ref;
}

function ortTensor(input: ModelInput, values: Values, dims: number[]): ort.Tensor {
  return new ort.Tensor(input.ortType as 'float32', values as Float32Array, dims);
}

/** The batch size the model demands, if any, and notes saying so. */
export function modelBatchLimit(inputs: readonly ModelInput[]): { fixed?: number; notes: string[] } {
  let fixed: number | undefined;
  let from: ModelInput | undefined;
  for (const input of inputs) {
    const f = fixedBatch(input);
    if (f === undefined) continue;
    if (f < 1) throw new DataSourceError(`input '${input.name}' ${formatDims(input.dims)} declares a batch size of ${f}; no data can feed it`);
    if (fixed !== undefined && f !== fixed) {
      throw new DataSourceError(`input '${from!.name}' ${formatDims(from!.dims)} fixes the batch size to ${fixed} but input '${input.name}' ${formatDims(input.dims)} to ${f}; no batch can feed both`);
    }
    fixed = f;
    from = input;
  }
  const notes: string[] = [];
  if (fixed === 1) notes.push(`the model fixes the batch size to 1 (input '${from!.name}' ${formatDims(from!.dims)}): every batch holds 1 sample whatever batchSize asks`);
  else if (fixed !== undefined) notes.push(`the model fixes the batch size to ${fixed} (input '${from!.name}' ${formatDims(from!.dims)}): every batch holds exactly ${fixed} samples; a last, smaller batch is dropped`);
  return { fixed, notes };
}

/** The sample order a shuffled iteration uses (seeded Fisher-Yates): labels kept beside the data follow it. */
export function shuffledOrder(samples: number, seed: number): Uint32Array {
  const order = new Uint32Array(samples);
  for (let i = 0; i < order.length; i++) order[i] = i;
  const random = seededRandom(seed);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = order[i]; order[i] = order[j]; order[j] = t;
  }
  return order;
}

export class UnitSource implements DataSource {
  readonly samples: number;
  private readonly starts: number[] = [];
  private readonly fixed: number | undefined;
  readonly notes: string[];

  constructor(readonly inputs: ModelInput[], readonly units: Unit[], readonly info: SourceInfo) {
    let total = 0;
    for (const u of units) {
      this.starts.push(total);
      total += u.count;
    }
    this.samples = total;
    const limit = modelBatchLimit(inputs);
    this.fixed = limit.fixed;
    this.notes = [...limit.notes, ...info.notes];
  }

  describe(): string {
    const lines = [`${this.info.title}: ${this.samples} sample${this.samples === 1 ? '' : 's'}`];
    for (const input of this.inputs) lines.push(`  ${input.name} ${formatDims(input.dims)}: ${this.info.feeds[input.name] ?? '(not fed)'}`);
    for (const n of this.notes) lines.push(`  note: ${n}`);
    return lines.join('\n');
  }

  /** The unit holding sample `g`. */
  private unitOf(g: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= g) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  batches(options: BatchOptions): AsyncIterable<Record<string, ort.Tensor>> {
    checkBatchOptions(options);
    return { [Symbol.asyncIterator]: () => this.iterate(options) };
  }

  private async *iterate(options: BatchOptions): AsyncGenerator<Record<string, ort.Tensor>> {
    const { signal } = options;
    const n = Math.min(this.samples, options.limit ?? this.samples);
    const size = this.fixed ?? options.batchSize;
    if (this.fixed !== undefined && this.fixed > 1 && n > 0 && n < this.fixed) {
      throw new DataSourceError(`the model needs batches of exactly ${this.fixed} samples but ${options.limit !== undefined && options.limit < this.samples ? `the limit leaves` : 'the data holds'} only ${n}`);
    }
    // The order: identity, or the first n of a seeded Fisher-Yates permutation.
    const order = options.shuffleSeed !== undefined && this.samples > 1 ? shuffledOrder(this.samples, options.shuffleSeed) : undefined;
    const at = (k: number) => (order ? order[k] : k);
    const random = order !== undefined;
    let current: { index: number; unit: OpenUnit } | undefined;
    const openUnit = async (u: number): Promise<OpenUnit> => {
      if (current?.index === u) return current.unit;
      if (current) {
        const c = current;
        current = undefined;
        await c.unit.close();
      }
      const unit = this.units[u];
      let opened: OpenUnit;
      try {
        opened = await unit.open(random && unit.count > 1);
      } catch (e) {
        throw withSubject(e, unit.label);
      }
      current = { index: u, unit: opened };
      try {
        for (const input of this.inputs) {
          const dims = opened.sampleDims[input.name];
          if (!dims) throw new DataSourceError(`holds no data for input '${input.name}'`);
          checkSampleDims(input, dims, `[${unit.count},${dims.join(',')}]`.replace(',]', ']'));
        }
        checkSharedDims(this.inputs, opened.sampleDims, 'calibration data');
      } catch (e) {
        throw withSubject(e, unit.label);
      }
      return opened;
    };
    try {
      let k = 0;
      while (k < n) {
        if (signal?.aborted) throw abortError();
        const parts: Record<string, Values[]> = {};
        const where: Array<{ sample: number; label: string; count: number; whole: boolean }>[] = [];
        for (const input of this.inputs) parts[input.name] = [];
        let shapes: Record<string, number[]> | undefined; // one sample's dims per input
        let filled = 0;
        while (filled < size && k < n) {
          const g = at(k);
          const u = this.unitOf(g);
          const local = g - this.starts[u];
          const unit = await openUnit(u);
          if (shapes && !this.inputs.every((i) => sameDims(shapes![i.name], unit.sampleDims[i.name]))) break; // a sample of another shape starts a new batch
          shapes ??= unit.sampleDims;
          // A run of samples that follow each other in the same unit is read as one slice.
          let run = 1;
          const room = Math.min(size - filled, n - k);
          while (run < room && at(k + run) === g + run && local + run < this.units[u].count) run++;
          let values: Record<string, Values>;
          try {
            values = await unit.read(local, run);
          } catch (e) {
            throw withSubject(e, this.units[u].label);
          }
          const per = (i: ModelInput) => unit.sampleDims[i.name].reduce((a, b) => a * b, 1);
          where.push(this.inputs.map((i) => ({ sample: g, label: this.units.length > 1 ? this.units[u].label : '', count: run, whole: values[i.name].length === per(i) && run > 1 })));
          for (const input of this.inputs) {
            const v = values[input.name];
            const whole = v.length === per(input) && run > 1;
            if (this.info.checkFinite !== false) checkFinite(input, v, whole ? 1 : run, g, this.units.length > 1 ? this.units[u].label : undefined);
            parts[input.name].push(v);
          }
          filled += run;
          k += run;
        }
        if (this.fixed !== undefined && filled !== this.fixed) {
          if (k >= n && filled < this.fixed) break; // the last, partial batch
          throw new DataSourceError(`samples of different shapes cannot fill a batch of ${this.fixed}, which the model fixes; give samples of one shape`);
        }
        const batch: Record<string, ort.Tensor> = {};
        for (const [k, input] of this.inputs.entries()) {
          const dims = shapes![input.name];
          const values =
            input.batchAxis === null
              ? batchlessValue(input, parts[input.name], where.map((w) => w[k]))
              : placeBatchAxis(concatValues(input.elemType, parts[input.name]), filled, dims, input.dims === null ? 0 : input.batchAxis);
          batch[input.name] = ortTensor(input, values, batchDims(input, filled, dims));
        }
        yield markBatch(batch, filled, Object.fromEntries(this.inputs.map((i) => [i.name, i.dims === null ? 0 : i.batchAxis])));
      }
    } finally {
      if (current) await current.unit.close();
    }
  }
}

function sameDims(a: readonly number[] | undefined, b: readonly number[] | undefined): boolean {
  return !!a && !!b && a.length === b.length && a.every((d, i) => d === b[i]);
}

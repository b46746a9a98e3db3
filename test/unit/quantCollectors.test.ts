import * as assert from 'assert';
import { seededRandom } from '../../src/core/random';
import { createCollector, type CalibrationOptions, type Collector } from '../../src/core/quant/collectors';

/** Standard normal samples (Box-Muller on the seeded uniform generator). */
/** One options object per method and variant; minmax's moving average uses `movingAverage`. */
function everyMethod(movingAverage: number): CalibrationOptions[] {
  return [
    { method: 'minmax' },
    { method: 'minmax', movingAverage },
    { method: 'percentile' },
    { method: 'percentile', symmetric: true },
    { method: 'entropy' },
    { method: 'entropy', symmetric: true },
    { method: 'entropy', parity: true },
    { method: 'mse' },
    { method: 'mse', symmetric: true },
  ];
}

function normals(seed: number, n: number): Float32Array {
  const rand = seededRandom(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = 1 - rand(); // (0, 1]: log stays finite
    const v = rand();
    const r = Math.sqrt(-2 * Math.log(u));
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return out;
}

/** Laplace(0, b) samples by inverting the CDF. */
function laplace(seed: number, n: number, b = 1): Float32Array {
  const rand = seededRandom(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = rand() - 0.5;
    out[i] = -b * Math.sign(u) * Math.log(1 - 2 * Math.abs(u));
  }
  return out;
}

function shuffled(data: Float32Array, seed: number): Float32Array {
  const rand = seededRandom(seed);
  const out = data.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** Runs every pass of `c` over `data` cut into batches of `batch` values. */
function feed(c: Collector, data: Float32Array, batch = data.length): Collector {
  for (let pass = 0; pass < c.passes; pass++) {
    for (let i = 0; i < data.length; i += batch) c.add(data.subarray(i, i + batch), pass);
  }
  return c;
}

function collect(options: CalibrationOptions, data: Float32Array, batch?: number) {
  return feed(createCollector(options), data, batch).range();
}

/** Nearest-rank order statistic: the k-th smallest with k = ceil(fraction * n), at least 1. */
function orderStat(sorted: Float64Array, fraction: number): number {
  const k = Math.max(1, Math.ceil(fraction * sorted.length - 1e-9 * sorted.length));
  return sorted[k - 1];
}

function sortedOf(data: Float32Array, abs = false): Float64Array {
  return Float64Array.from(data, (v) => (abs ? Math.abs(v) : v)).sort();
}

function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  return d < 0.5 ? f : d > 0.5 ? f + 1 : f % 2 === 0 ? f : f + 1;
}

/**
 * Mean squared quantize-dequantize error of `data` with the range [rmin, rmax], scale and zero
 * point as docs/quantization.md derives them (section 1): uint8 asymmetric or int8 symmetric (-127..127).
 */
function qdqMse(data: Float32Array, rmin: number, rmax: number, symmetric: boolean, bits = 8): number {
  rmin = Math.min(rmin, 0);
  rmax = Math.max(rmax, 0);
  let qmin: number, qmax: number, fullMin: number, fullMax: number, scale: number, zp: number;
  if (symmetric) {
    const a = Math.max(-rmin, rmax);
    qmax = 2 ** (bits - 1) - 1;
    qmin = -qmax;
    fullMin = qmin - 1;
    fullMax = qmax;
    scale = Math.fround((2 * a) / (qmax - qmin));
    zp = 0;
  } else {
    qmin = fullMin = 0;
    qmax = fullMax = 2 ** bits - 1;
    scale = Math.fround((rmax - rmin) / (qmax - qmin));
    zp = roundHalfEven(qmin - rmin / scale);
  }
  let sum = 0;
  for (const x of data) {
    const q = Math.min(fullMax, Math.max(fullMin, roundHalfEven(Math.fround(x / scale)) + zp));
    const d = (q - zp) * scale - x;
    sum += d * d;
  }
  return sum / data.length;
}

describe('calibration collectors', () => {
  describe('minmax', () => {
    const batches = [[3, -1, 2], [5, 0], [-7, 4, 4], [1.5]].map((b) => new Float32Array(b));

    it('is the exact min and max over all batches, whatever their order and size', () => {
      const c = createCollector({ method: 'minmax' });
      assert.strictEqual(c.passes, 1);
      for (const b of batches) c.add(b, 0);
      assert.deepStrictEqual(c.range(), { rmin: -7, rmax: 5 });
      const all = new Float32Array(batches.flatMap((b) => [...b]));
      for (const seed of [1, 2, 3]) {
        for (const size of [1, 2, 5, all.length]) {
          assert.deepStrictEqual(collect({ method: 'minmax' }, shuffled(all, seed), size), { rmin: -7, rmax: 5 });
        }
      }
    });

    it('with a moving average updates running = running + c (batch - running) per batch', () => {
      // Batch extremes: (-1, 2), (-3, 4), (0, 1).
      const data = [
        [-1, 2, 0.5],
        [-3, 4],
        [0, 1],
      ].map((b) => new Float32Array(b));
      const run = (c: number) => {
        const col = createCollector({ method: 'minmax', movingAverage: c });
        for (const b of data) col.add(b, 0);
        return col.range();
      };
      // c = 0.5: min -1 -> -2 -> -1, max 2 -> 3 -> 2.
      assert.deepStrictEqual(run(0.5), { rmin: -1, rmax: 2 });
      // c = 0.1: min -1 -> -1.2 -> -1.08, max 2 -> 2.2 -> 2.08.
      const r = run(0.1);
      assert.ok(Math.abs(r.rmin - -1.08) < 1e-12 && Math.abs(r.rmax - 2.08) < 1e-12, JSON.stringify(r));
      assert.throws(() => createCollector({ method: 'minmax', movingAverage: 0 }), RangeError);
      assert.throws(() => createCollector({ method: 'minmax', movingAverage: 1.5 }), RangeError);
    });

    it('refuses a second pass', () => {
      assert.throws(() => createCollector({ method: 'minmax' }).add(new Float32Array([1]), 1), RangeError);
    });
  });

  describe('percentile', () => {
    it('symmetric: the left edge of the |x| bin where the CDF reaches p, within one bin of the exact percentile', () => {
      const data = shuffled(
        Float32Array.from({ length: 100000 }, (_, i) => i + 1),
        7,
      );
      const sorted = sortedOf(data);
      const width = (100000 - 1) / 2048;
      for (const p of [99.999, 99.9, 99, 50]) {
        const r = collect({ method: 'percentile', percentile: p, symmetric: true }, data, 4096);
        const exact = orderStat(sorted, p / 100);
        assert.ok(r.rmax <= exact && exact - r.rmax < width, `p=${p}: ${r.rmax} vs exact ${exact}`);
        // [-edge, edge] clipped to the observed [1, 100000].
        assert.strictEqual(r.rmin, 1);
      }
    });

    it('on a seeded normal: symmetric and asymmetric within one bin width of the sorted-array percentiles', () => {
      const data = normals(11, 200000);
      const abs = sortedOf(data, true);
      const raw = sortedOf(data);
      for (const p of [99.999, 99.99, 99.9, 99]) {
        const s = collect({ method: 'percentile', percentile: p, symmetric: true }, data, 10000);
        const sw = (abs[abs.length - 1] - abs[0]) / 2048;
        const e = orderStat(abs, p / 100);
        // [-edge, edge] clipped to the observed [min, max]: the edge is the larger end.
        const edge = Math.max(-s.rmin, s.rmax);
        assert.ok(edge <= e && e - edge < sw, `symmetric p=${p}: ${edge} vs ${e}`);
        assert.ok(s.rmin >= raw[0] && s.rmax <= raw[raw.length - 1]);

        const a = collect({ method: 'percentile', percentile: p }, data, 10000);
        const aw = (raw[raw.length - 1] - raw[0]) / 2048;
        const cut = (100 - p) / 200;
        const lo = orderStat(raw, cut);
        const hi = orderStat(raw, 1 - cut);
        assert.ok(a.rmin <= lo && lo - a.rmin < aw, `asymmetric p=${p} low: ${a.rmin} vs ${lo}`);
        assert.ok(a.rmax <= hi && hi - a.rmax < aw, `asymmetric p=${p} high: ${a.rmax} vs ${hi}`);
        assert.strictEqual(a.note, undefined);
      }
    });

    it('p = 100 keeps the observed extremes', () => {
      const data = normals(3, 5000);
      const mm = collect({ method: 'minmax' }, data);
      assert.deepStrictEqual(collect({ method: 'percentile', percentile: 100 }, data), mm);
      const s = collect({ method: 'percentile', percentile: 100, symmetric: true }, data);
      assert.strictEqual(Math.max(-s.rmin, s.rmax), Math.max(-mm.rmin, mm.rmax));
    });

    it('warns when the range collapses or lies far from 0', () => {
      const mostlyZero = new Float32Array(100000);
      for (let i = 0; i < 10; i++) mostlyZero[i * 9973] = i % 2 ? 5 : -5;
      const z = collect({ method: 'percentile', percentile: 99.9, symmetric: true }, mostlyZero);
      assert.strictEqual(z.rmax, 0);
      assert.match(z.note ?? '', /collapsed/);
      const far = Float32Array.from(normals(5, 10000), (v) => 10 + v * 0.1);
      const f = collect({ method: 'percentile', percentile: 99 }, far);
      assert.ok(f.rmin > 9 && f.rmax < 11, JSON.stringify(f));
      assert.match(f.note ?? '', /excludes 0/);
    });
  });

  describe('entropy', () => {
    /** A standard normal with a few huge outliers, the outliers in the first batch. */
    function withOutliers(): Float32Array {
      const data = normals(21, 100000);
      data.set([100, -100, 80, 90, -95], 0);
      return data;
    }

    it('searches a threshold far below absmax on a Gaussian with outliers', () => {
      const data = withOutliers();
      const c = createCollector({ method: 'entropy' });
      assert.strictEqual(c.passes, 2);
      const r = feed(c, data, 8192).range();
      assert.ok(-r.rmin === r.rmax, JSON.stringify(r));
      // 2048 bins over +-100: candidates from 6.25 up; the Gaussian bulk wants the smallest ones.
      assert.ok(r.rmax < 25 && r.rmax >= 6.25, JSON.stringify(r));
      const sym = collect({ method: 'entropy', symmetric: true }, data, 8192);
      assert.ok(sym.rmax < 25 && sym.rmax >= (100 * 128) / 2048, JSON.stringify(sym));
      // A finer histogram resolves the bulk: the threshold lands a few sigma out.
      const fine = collect({ method: 'entropy', bins: 8192 }, data, 8192);
      assert.ok(fine.rmax > 2.5 && fine.rmax < 8, JSON.stringify(fine));
    });

    it('finds a threshold inside the bulk on a plain Gaussian, not its absmax', () => {
      const data = normals(22, 100000);
      const mm = collect({ method: 'minmax' }, data);
      const r = collect({ method: 'entropy' }, data, 5000);
      const absmax = Math.max(-mm.rmin, mm.rmax);
      assert.ok(r.rmax > 2 && r.rmax < absmax * 0.95, `${JSON.stringify(r)} absmax ${absmax}`);
    });

    it('parity mode (128 bins, 128 quantized bins) has a single candidate: MinMax range', () => {
      const data = withOutliers();
      const mm = collect({ method: 'minmax' }, data);
      const c = createCollector({ method: 'entropy', parity: true });
      assert.strictEqual(c.passes, 1);
      const r = feed(c, data, 8192).range();
      assert.deepStrictEqual(r, mm);
      // So a symmetric scale computation sees absmax, exactly.
      assert.strictEqual(Math.max(-r.rmin, r.rmax), 100);
      assert.deepStrictEqual(collect({ method: 'entropy', parity: true }, withOutliers(), 1000), mm);
      assert.deepStrictEqual(collect({ method: 'entropy', parity: true, symmetric: true }, data), mm);
    });

    it('parity mode widens its histogram by whole bins when a later batch exceeds the range', () => {
      const c = createCollector({ method: 'entropy', parity: true });
      c.add(new Float32Array([-1, 0.5, 1]), 0);
      const before = c.stateSize();
      c.add(new Float32Array([0.25, 0.75]), 0); // inside: same bins
      assert.strictEqual(c.stateSize(), before);
      c.add(new Float32Array([3]), 0);
      // Stride 2/128; 1 + floor((3 - 1) / stride) + 1 = 129 bins on each side.
      assert.strictEqual(c.stateSize(), before + 2 * 129);
      const r = c.range();
      assert.ok(r.rmin >= -1 && r.rmax <= 3, JSON.stringify(r));
      assert.match(r.note ?? '', /grew from 128 to 386 bins/);
    });
  });

  describe('mse', () => {
    it('gives a lower quantize-dequantize error than MinMax on a Laplacian', () => {
      const data = laplace(31, 200000, 1);
      const mm = collect({ method: 'minmax' }, data);
      for (const symmetric of [false, true]) {
        for (const bits of [8, 4]) {
          const r = collect({ method: 'mse', symmetric, targetBits: bits }, data, 20000);
          assert.ok(r.rmax < mm.rmax && r.rmin > mm.rmin, JSON.stringify({ symmetric, bits, r, mm }));
          const eMse = qdqMse(data, r.rmin, r.rmax, symmetric, bits);
          const eMinMax = qdqMse(data, mm.rmin, mm.rmax, symmetric, bits);
          assert.ok(eMse < 0.95 * eMinMax, `symmetric=${symmetric} ${bits}-bit: mse ${eMse} vs minmax ${eMinMax}`);
        }
      }
    });

    it('keeps 0 in the range for one-sided data and is not fooled by exact zeros', () => {
      // A ReLU-like activation: half exact zeros, half |Laplace|.
      const data = Float32Array.from(laplace(32, 100000), (v) => Math.max(0, v));
      const mm = collect({ method: 'minmax' }, data);
      const r = collect({ method: 'mse' }, data, 10000);
      assert.strictEqual(r.rmin, 0);
      assert.ok(r.rmax < mm.rmax);
      assert.ok(qdqMse(data, r.rmin, r.rmax, false) < qdqMse(data, mm.rmin, mm.rmax, false));
    });

    it('returns the observed range of constant data', () => {
      assert.deepStrictEqual(collect({ method: 'mse' }, new Float32Array(100).fill(3)), { rmin: 3, rmax: 3 });
      assert.deepStrictEqual(collect({ method: 'mse', symmetric: true }, new Float32Array([-2, 2, 2])), { rmin: -2, rmax: 2 });
    });
  });

  describe('streaming', () => {
    const methods: CalibrationOptions[] = everyMethod(0.01);

    it('holds constant state over 1,000 batches', () => {
      const rand = seededRandom(41);
      const batch = new Float32Array(256);
      for (const options of methods) {
        const c = createCollector(options);
        for (let pass = 0; pass < c.passes; pass++) {
          let first = -1;
          for (let b = 0; b < 1000; b++) {
            // Same range in every batch (±4 pinned), new values.
            for (let i = 0; i < batch.length; i++) batch[i] = (rand() * 2 - 1) * 4;
            batch[0] = -4;
            batch[1] = 4;
            c.add(batch, pass);
            if (b === 0) first = c.stateSize();
          }
          assert.strictEqual(c.stateSize(), first, `${c.label}, pass ${pass}`);
        }
        if (c.passes === 2) assert.strictEqual(c.stateSize(), 10 + (options.bins ?? 2048), c.label);
        const r = c.range();
        assert.ok(r.rmin >= -4 && r.rmax <= 4 && r.rmin < r.rmax, `${c.label}: ${JSON.stringify(r)}`);
      }
    });

    it('histogram methods give the same range however the data is batched', () => {
      const data = normals(42, 30000);
      for (const options of methods.filter((m) => m.method !== 'minmax' && !m.parity)) {
        const whole = collect(options, data);
        for (const size of [1000, 7777]) assert.deepStrictEqual(collect(options, shuffled(data, size), size), whole, JSON.stringify(options));
      }
    });

    it('enforces the pass order', () => {
      const c = createCollector({ method: 'percentile' });
      assert.throws(() => c.add(new Float32Array([1]), 1), /before any pass-0 batch/);
      c.add(new Float32Array([1, 2]), 0);
      assert.throws(() => c.range(), /needs pass 1/);
      c.add(new Float32Array([1, 2]), 1);
      assert.throws(() => c.add(new Float32Array([1]), 0), /after pass 1/);
      assert.throws(() => c.add(new Float32Array([1]), 2), RangeError);
    });
  });

  describe('special values', () => {
    const all: CalibrationOptions[] = everyMethod(0.5);

    it('all-zero data gives [0, 0]', () => {
      for (const options of all) {
        const r = collect(options, new Float32Array(1000), 100);
        assert.ok(r.rmin === 0 && r.rmax === 0, `${JSON.stringify(options)}: ${JSON.stringify(r)}`);
      }
    });

    it('ignores NaN and ±Inf and counts them in the note', () => {
      const clean = normals(51, 4000);
      const bad = [NaN, Infinity, -Infinity, NaN, NaN, Infinity];
      // The same batches with non-finite values mixed in (the moving average depends on batching).
      const cleanBatches: Float32Array[] = [];
      const dirtyBatches: Float32Array[] = [];
      for (let b = 0; b < 8; b++) {
        const part = clean.subarray(b * 500, (b + 1) * 500);
        cleanBatches.push(part);
        dirtyBatches.push(shuffled(new Float32Array([...part, ...(b < 3 ? bad.slice(2 * b, 2 * b + 2) : [])]), b));
      }
      const run = (options: CalibrationOptions, batches: Float32Array[]) => {
        const c = createCollector(options);
        for (let pass = 0; pass < c.passes; pass++) for (const b of batches) c.add(b, pass);
        return c.range();
      };
      for (const options of all) {
        const r = run(options, dirtyBatches);
        const expected = run(options, cleanBatches);
        assert.strictEqual(r.rmin, expected.rmin, JSON.stringify(options));
        assert.strictEqual(r.rmax, expected.rmax, JSON.stringify(options));
        assert.match(r.note ?? '', /ignored 6 non-finite values \(3 NaN, 3 ±Inf\)/, JSON.stringify(options));
        assert.ok(Number.isFinite(r.rmin) && Number.isFinite(r.rmax));
      }
      const none = collect({ method: 'entropy' }, new Float32Array([NaN, Infinity]));
      assert.deepStrictEqual(none, { rmin: 0, rmax: 0, note: 'no finite value observed; ignored 2 non-finite values (1 NaN, 1 ±Inf)' });
    });
  });

  it('names each method and refuses bad options', () => {
    assert.strictEqual(createCollector({ method: 'entropy' }).label, 'entropy (KL, 2048 bins, 128 levels)');
    assert.match(createCollector({ method: 'entropy', parity: true }).label, /ORT parity: 128 bins, 128 quantized bins/);
    assert.strictEqual(createCollector({ method: 'percentile' }).label, 'percentile 99.999 (asymmetric, 2048 bins)');
    assert.strictEqual(createCollector({ method: 'mse', symmetric: true }).label, 'mse (8-bit, symmetric, 2048 bins)');
    assert.throws(() => createCollector({ method: 'percentile', percentile: 101 }), RangeError);
    assert.throws(() => createCollector({ method: 'entropy', bins: 2047 }), RangeError);
    assert.throws(() => createCollector({ method: 'entropy', quantizedBins: 4096 }), RangeError);
    assert.throws(() => createCollector({ method: 'mse', targetBits: 1 }), RangeError);
    assert.throws(() => createCollector({ method: 'kl' as never }), RangeError);
  });
});

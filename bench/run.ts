// `npm run bench`: how `inspect` scales with a large model, against the cost of reading the file,
// then the quantization benchmark (bench/quant.ts: calibration time and memory, int8 latency).
//
// Generates (in a temporary folder, removed at the end) a ~300 MB model of float32 weights and the
// same model saved with external data, then measures, each in its own child process so that peak
// RSS belongs to one measurement:
//   - the baseline: fs.readFileSync of the model's bytes;
//   - inspect: readModel + summarizeModel (+ the JSON text), in-process, and the real CLI bundle
//     (`node dist/cli.js inspect MODEL --json`) as a whole process;
//   - inspect --tensor on the largest tensor: the statistics pass, per element.
// Every measurement is repeated (BENCH_REPEATS, default 5), interleaved so that the baseline and
// the measured command see the same machine load; ratios are taken per repetition (side by side)
// and the median is printed. The page cache is warmed before measuring, so reads come from memory.
//
// Environment: BENCH_REPEATS (default 5), BENCH_MB (weights in MB, default 300), BENCH_ONLY
// (`inspect` or `quant`: run one part only; default both; `big`: only the models-past-2-GB
// benchmark, bench/big.ts, never run by default), and bench/quant.ts's BENCH_QUANT_* and
// bench/big.ts's BENCH_BIG_*.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { generateModel, type GeneratedModel } from './generate';
import { cleanupQuantBench, runQuantBench } from './quant';
import { cleanupBigBench, runBigBench } from './big';
import { fmtMB, fmtX, jsonChild, MB, median, pairedRatio, retried, table, verdict, type Sample } from './util';

const ROOT = path.resolve(__dirname, '..', '..');
const CHILD = path.join(__dirname, 'child.js');
const RSS_HOOK = path.join(__dirname, 'rss-hook.js');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const REPEATS = Math.max(1, Number(process.env.BENCH_REPEATS ?? 5) | 0);
const TARGET_MB = Number(process.env.BENCH_MB ?? 300);

const TIME_TARGET = 2;
const RSS_TARGET = 1.5;

let tmpDir: string | undefined;
let failures = 0;

function cleanup(): void {
  if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true });
  tmpDir = undefined;
}

function fail(msg: string): void {
  failures++;
  console.error(`CHECK FAILED: ${msg}`);
}

/** Runs a measurement child (bench/child.ts) and returns its JSON line plus the process's wall time. */
function child(...args: string[]): Sample {
  return jsonChild(CHILD, args);
}

/** Runs the real CLI bundle with the RSS hook preloaded; stdout is parsed as JSON. */
function cli(...args: string[]): Sample & { output: Record<string, unknown> } {
  return retried(`onnx-compress ${args[0]}`, () => cliOnce(args));
}

function cliOnce(args: string[]): Sample & { output: Record<string, unknown> } {
  const rssFile = path.join(tmpDir!, `rss-${process.pid}.json`);
  fs.rmSync(rssFile, { force: true });
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['-r', RSS_HOOK, CLI, ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
    env: { ...process.env, BENCH_RSS_FILE: rssFile },
  });
  const wallMs = performance.now() - t0;
  if (r.status !== 0) throw new Error(`onnx-compress ${args.join(' ')} failed (${r.status ?? r.signal}):\n${r.stderr}`);
  const { maxRssBytes } = JSON.parse(fs.readFileSync(rssFile, 'utf8')) as { maxRssBytes: number };
  return { wallMs, maxRssBytes, output: JSON.parse(r.stdout) as Record<string, unknown> };
}

/** Reads a file once in 1 MiB chunks, so that measurements start from a warm page cache. */
function warm(file: string): void {
  const buf = Buffer.allocUnsafe(1 << 20);
  const fd = fs.openSync(file, 'r');
  try {
    while (fs.readSync(fd, buf, 0, buf.length, null) > 0) {
      /* reading is the point */
    }
  } finally {
    fs.closeSync(fd);
  }
}

const num = (s: Sample, k: string) => s[k] as number;
const fmtSize = (bytes: number) => (bytes >= MB ? `${fmtMB(bytes)} MB` : `${(bytes / 1e3).toFixed(1)} kB`);
const fmtMs = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));

/** The newest .ts under src/ that is newer than dist/cli.js, if any (the bundle would be stale). */
function staleBundleReason(): string | undefined {
  const built = fs.statSync(CLI).mtimeMs;
  const walk = (dir: string): string | undefined => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        const found = walk(p);
        if (found) return found;
      } else if (p.endsWith('.ts') && fs.statSync(p).mtimeMs > built) return p;
    }
    return undefined;
  };
  return walk(path.join(ROOT, 'src'));
}

function machine(): string {
  const cpus = os.cpus();
  return [
    `nproc ${os.availableParallelism?.() ?? cpus.length}`,
    `${cpus[0]?.model?.trim() ?? 'unknown CPU'}`,
    `${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM`,
    `Node ${process.version}`,
    `${os.type()} ${os.release()}`,
    `load ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  ].join(', ');
}

interface Measured {
  idle: Sample[];
  read: Sample[];
  readAsync: Sample[];
  decode: Sample[];
  inspect: Sample[];
  cliInspect: Sample[];
  extRead: Sample[];
  extReadOnnx: Sample[];
  extInspect: Sample[];
  extCliInspect: Sample[];
  tensor: Sample[];
  extTensor: Sample[];
  cliTensor: Sample[];
}

function measure(inline: string, ext: string, extData: string, largest: string, withCli: boolean): Measured {
  const m: Measured = {
    idle: [],
    read: [],
    readAsync: [],
    decode: [],
    inspect: [],
    cliInspect: [],
    extRead: [],
    extReadOnnx: [],
    extInspect: [],
    extCliInspect: [],
    tensor: [],
    extTensor: [],
    cliTensor: [],
  };
  for (let rep = 0; rep < REPEATS; rep++) {
    process.stderr.write(`  repetition ${rep + 1}/${REPEATS}\n`);
    m.idle.push(child('idle'));
    // Inline model: baseline and inspect side by side.
    m.read.push(child('read', inline));
    m.inspect.push(child('inspect', inline));
    if (withCli) m.cliInspect.push(cli('inspect', inline, '--json'));
    m.readAsync.push(child('read-async', inline));
    m.decode.push(child('decode', inline));
    // External data.
    m.extRead.push(child('read', ext, extData));
    m.extReadOnnx.push(child('read', ext));
    m.extInspect.push(child('inspect', ext));
    if (withCli) m.extCliInspect.push(cli('inspect', ext, '--json'));
    // Statistics of the largest tensor.
    m.tensor.push(child('tensor', inline, largest));
    m.extTensor.push(child('tensor', ext, largest));
    if (withCli) m.cliTensor.push(cli('inspect', inline, '--tensor', largest, '--json'));
  }
  return m;
}

function check(gen: GeneratedModel, m: Measured, extData: string): void {
  for (const s of [...m.inspect, ...m.extInspect]) {
    if (num(s, 'tensors') !== gen.tensors) fail(`inspect counted ${num(s, 'tensors')} tensors, the model has ${gen.tensors}`);
    if (num(s, 'parameterBytes') !== gen.weightBytes) fail(`inspect counted ${num(s, 'parameterBytes')} parameter bytes, the model has ${gen.weightBytes}`);
  }
  for (const s of [...m.cliInspect, ...m.extCliInspect]) {
    const p = (s as unknown as { output: { parameters: { bytes: number } } }).output.parameters;
    if (p.bytes !== gen.weightBytes) fail(`the CLI counted ${p.bytes} parameter bytes, the model has ${gen.weightBytes}`);
  }
  for (const s of m.extInspect) {
    if ((s.opened as string[]).includes(path.basename(extData))) fail('inspect of the external-data model opened the data file');
  }
  for (const s of [...m.tensor, ...m.extTensor]) {
    if (num(s, 'elements') !== gen.largestTensor.elements) fail(`--tensor counted ${num(s, 'elements')} values, expected ${gen.largestTensor.elements}`);
  }
}

function report(gen: GeneratedModel, extData: string, extBytes: number, extDataBytes: number, m: Measured, withCli: boolean): void {
  const ms = (xs: Sample[], k = 'ms') => xs.map((s) => num(s, k));
  const wall = (xs: Sample[]) => xs.map((s) => s.wallMs);
  const rss = (xs: Sample[]) => median(xs.map((s) => s.maxRssBytes));
  const idleRss = rss(m.idle);

  const rows: string[][] = [];
  const row = (model: string, how: string, size: number, read: number[], insp: number[], rssBytes: number) => {
    const ratio = pairedRatio(insp, read);
    const best = Math.min(...insp) / Math.min(...read);
    const rssRatio = rssBytes / size;
    rows.push([
      model,
      how,
      fmtMB(size),
      fmtMs(median(read)),
      fmtMs(median(insp)),
      `${fmtX(ratio)} (best ${fmtX(best)})`,
      verdict(ratio <= TIME_TARGET),
      fmtMB(rssBytes),
      fmtX(rssRatio),
      verdict(rssRatio < RSS_TARGET),
    ]);
  };
  row('inline', 'engine, in-process', gen.fileBytes, ms(m.read), ms(m.inspect), rss(m.inspect));
  if (withCli) row('inline', 'CLI, whole process', gen.fileBytes, wall(m.read), wall(m.cliInspect), rss(m.cliInspect));
  const extTotal = extBytes + extDataBytes;
  row('external', 'engine, in-process', extTotal, ms(m.extRead), ms(m.extInspect), rss(m.extInspect));
  if (withCli) row('external', 'CLI, whole process', extTotal, wall(m.extRead), wall(m.extCliInspect), rss(m.extCliInspect));

  console.log(
    `\nInspect vs reading the file (times: median of ${REPEATS}; inspect/read: median of the per-repetition ratios, ` +
      'each pair run back to back, and in parentheses the ratio of the best times)',
  );
  console.log("read = fs.readFileSync of all the model's bytes (external: .onnx + .data); RSS = peak RSS of the inspect process\n");
  console.log(
    table(
      ['model', 'measured as', 'size MB', 'read ms', 'inspect ms', 'inspect/read', `<=${TIME_TARGET}x`, 'inspect RSS MB', 'RSS/size', `<${RSS_TARGET}x`],
      rows,
    ),
  );

  const extOpened = m.extInspect.some((s) => (s.opened as string[]).includes(path.basename(extData)));
  console.log(`\nExternal data: .onnx ${fmtSize(extBytes)} + .data ${fmtSize(extDataBytes)}; reading the .onnx alone: ${fmtMs(median(ms(m.extReadOnnx)))} ms.`);
  console.log(
    `  inspect opened the data file: ${extOpened ? 'YES' : 'no'}; inspect RSS above an idle Node process with the engine loaded (${fmtMB(idleRss)} MB): ` +
      `${fmtMB(rss(m.extInspect) - idleRss)} MB in-process${withCli ? `, ${fmtMB(rss(m.extCliInspect) - idleRss)} MB for the CLI` : ''} ` +
      `(${verdict(rss(m.extInspect) - idleRss < 0.05 * extDataBytes)}: target < 5% of the data, weights not read).`,
  );

  console.log('\nWhere the inline inspect time goes (in-process, median ms)\n');
  console.log(
    table(
      ['readFileSync', 'fs.promises.readFile', 'readModel (async read + decode + checks)', 'decodeModel', 'summarizeModel + JSON', 'inspect total'],
      [
        [
          fmtMs(median(ms(m.read))),
          fmtMs(median(ms(m.readAsync))),
          fmtMs(median(ms(m.inspect, 'readModelMs'))),
          fmtMs(median(ms(m.decode, 'decodeMs'))),
          fmtMs(median(ms(m.inspect, 'summarizeMs'))),
          fmtMs(median(ms(m.inspect))),
        ],
      ],
    ),
  );
  console.log(
    `  fs.promises.readFile / readFileSync: ${fmtX(pairedRatio(ms(m.readAsync), ms(m.read)))}; ` +
      `readModel / readFileSync: ${fmtX(pairedRatio(ms(m.inspect, 'readModelMs'), ms(m.read)))}; idle Node process with the engine loaded: ${fmtMB(idleRss)} MB RSS.`,
  );

  const el = gen.largestTensor.elements;
  const tRows = [
    ['inline', ...tensorCells(m.tensor, el)],
    ['external', ...tensorCells(m.extTensor, el)],
  ];
  console.log(`\ninspect --tensor ${gen.largestTensor.name} [${gen.largestTensor.dims.join(', ')}] (${el} float32 values; median)\n`);
  console.log(table(['model', 'stats ms', 'ns/element', 'plain loop ns/element', 'stats/loop', 'peak RSS MB', 'raw_data'], tRows));
  console.log('  plain loop: min, max, sum and sum of squares over the same Float32Array (a lower bound for one pass);');
  console.log('  peak RSS: of the process, up to the end of tensorStatistics; raw_data: a 4-byte aligned tensor is read as a view, else copied.');
  if (withCli) {
    console.log(
      `  CLI \`inspect --tensor ${gen.largestTensor.name} --json\` (whole process, inline): ${fmtMs(median(wall(m.cliTensor)))} ms, ` +
        `${fmtMB(rss(m.cliTensor))} MB RSS; \`inspect --json\`: ${fmtMs(median(wall(m.cliInspect)))} ms.`,
    );
  }
}

function tensorCells(xs: Sample[], elements: number): string[] {
  const stats = xs.map((s) => num(s, 'statsMs'));
  const loop = xs.map((s) => num(s, 'loopMs'));
  return [
    fmtMs(median(stats)),
    ((median(stats) * 1e6) / elements).toFixed(1),
    ((median(loop) * 1e6) / elements).toFixed(1),
    fmtX(pairedRatio(stats, loop)),
    fmtMB(median(xs.map((s) => num(s, 'statsPeakRssBytes')))),
    xs[0].rawDataAligned === null ? 'external' : xs[0].rawDataAligned ? 'aligned (view)' : 'unaligned (copied)',
  ];
}

function inspectBench(): void {
  console.log(`\n## inspect on a ~${TARGET_MB} MB model\n`);
  const withCli = fs.existsSync(CLI);
  if (!withCli) console.log('dist/cli.js not found: CLI rows skipped (run `npm run build` first)');
  else {
    const stale = staleBundleReason();
    if (stale) console.log(`note: ${path.relative(ROOT, stale)} is newer than dist/cli.js; the CLI rows measure the last build (\`npm run build\` to refresh)`);
  }

  tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-compress-bench-'));
  const inline = path.join(tmpDir, 'bench.onnx');
  const ext = path.join(tmpDir, 'bench-external.onnx');
  const extData = `${ext}.data`;

  let t = performance.now();
  const gen = generateModel(inline, TARGET_MB * MB);
  console.log(
    `generated ${path.basename(inline)}: ${fmtMB(gen.fileBytes)} MB, ${gen.layers} MatMul+Add layers, ${gen.nodes} nodes, ` +
      `${gen.tensors} initializers (${fmtMB(gen.weightBytes)} MB float32), largest ${gen.largestTensor.name} ` +
      `[${gen.largestTensor.dims.join(', ')}] in ${fmtMs(performance.now() - t)} ms`,
  );
  t = performance.now();
  const saved = child('save-external', inline, ext);
  console.log(
    `saved with external data (writeModel placement 'external'): ${fmtSize(num(saved, 'bytes'))} .onnx + ` +
      `${fmtSize(num(saved, 'dataBytes'))} .data, ${num(saved, 'externalTensors')} tensors, in ${fmtMs(performance.now() - t)} ms`,
  );
  for (const f of [inline, ext, extData]) warm(f);

  console.log(`measuring (${REPEATS} repetitions, each measurement in its own process)...`);
  const m = measure(inline, ext, extData, gen.largestTensor.name, withCli);
  check(gen, m, extData);
  report(gen, extData, fs.statSync(ext).size, fs.statSync(extData).size, m, withCli);
  cleanup();
}

function main(): void {
  const started = performance.now();
  const only = process.env.BENCH_ONLY;
  if (only !== undefined && only !== 'inspect' && only !== 'quant' && only !== 'big')
    throw new Error(`BENCH_ONLY must be 'inspect', 'quant' or 'big' (got '${only}')`);
  console.log(`ONNX Compress benchmark${only ? ` (${only} only)` : ''}`);
  console.log(`machine: ${machine()}`);
  // The big-model benchmark writes ~3 GB and takes minutes: only when asked.
  if (only === 'big') failures += runBigBench();
  else {
    if (only !== 'quant') inspectBench();
    if (only !== 'inspect') failures += runQuantBench();
  }
  console.log(
    `\nload at the end: ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}; total bench time ${((performance.now() - started) / 1000).toFixed(0)} s`,
  );
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    cleanup();
    cleanupQuantBench();
    cleanupBigBench();
    process.exit(130);
  });
}

try {
  main();
} catch (e) {
  console.error((e as Error).stack ?? String(e));
  failures++;
} finally {
  cleanup();
  cleanupQuantBench();
  cleanupBigBench();
}
if (failures) process.exitCode = 1;

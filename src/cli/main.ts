// onnx-compress: the terminal face of the engine.
// Exit codes: 0 done, 1 the model could not be read or written (the reason is printed), 2 bad arguments.
import { parseArgs, type ParseArgsConfig } from 'util';
import { errorMessage, OnnxCompressError } from '../core/errors';
import { nodeList } from '../core/onnx/inspect';
import { parseInputShapes } from '../core/runtime/inputShapes';
import { readModel } from '../core/onnx/model';
import { summarizeModel, tensorStatistics } from '../core/onnx/summary';
import { writeModel, type TensorPlacement } from '../core/onnx/write';
import { formatBytes, formatNodes, formatSummary, formatTensorStats } from './format';
import { QUANTIZE_OPTIONS, quantizeCommand } from './quantize';
import { ANALYZE_OPTIONS, analyzeCommand } from './analyze';
import { DISTILL_OPTIONS, distillCommand } from './distill';

class UsageError extends Error {}

const USAGE = `usage:
  onnx-compress inspect MODEL [--json] [--tensor NAME] [--nodes [--no-probe] [--input-shape NAME=D1,D2,...]]
      a summary of the model; --tensor: statistics of one stored tensor; --nodes: the node list
      with output types and shapes (declared, or learnt from one run with synthetic inputs)
  onnx-compress save MODEL OUT [--external-data [--threshold BYTES] [--location FILE]] [--inline]
      write the model again: --external-data moves tensors of at least BYTES (default 1024) to a
      data file beside OUT; --inline pulls external tensors back into OUT
  onnx-compress quantize MODEL --calib DATA|synthetic[:N] [--mode static|dynamic|weight-only|fp16|bf16]
      [--method minmax|percentile|entropy|mse] [--percentile P] [--entropy-parity] [--moving-average C]
      [--per-channel | --per-channel-ops T,...] [--activation-type uint8|int8|uint16|int16] [--weight-type int8|uint8|int16|uint16]
      [--symmetric-activations] [--reduce-range] [--exclude PATTERN ...] [--include PATTERN ...]
      [--op-types T,...] [--samples N] [--batch N] [--seed N] [--ep cpu|cuda|webgpu] [--dedicated-qdq]
      [--format qdq|qoperator] [--recipe FILE] [-o OUT] [--result FILE] [--calib-budget MiB]
      [--input NAME=shape:2,batch,128|batch:K|batch:none|range:LO,HI|normal:MEAN,STD|value:V ...]
      weight-only: [--bits 4|8] [--block-size 16|32|64|128|256] [--algorithm rtn|hqq|gptq|awq]
      [--symmetric-weights] [--accuracy-level 0-4] [--weight-only-format matmulnbits|dequantize-linear]
      [--gptq-damp F] [--gptq-act-order] [--awq-grid N]
      fp16|bf16: [--keep-io-types | --no-keep-io-types] [--calib DATA]
      quantize with calibration streamed through onnxruntime; writes OUT (default NAME.int8.onnx)
      and a result JSON with every setting and parameter (a recipe to replay with --recipe)
  onnx-compress analyze FLOAT QUANT --data DATA [--labels FILE] [--samples N|all] [--batch N] [--ep EP]
      [--sensitivity] [--keep-in-float NODE,... | --target sqnr:DB|agreement:X|accuracy:X]
      [--latency-runs N] [--bins N] [--sort local|accumulated] [--top N] [--quant-result FILE]
      [--json] [--html FILE] [-o REPORT]
      per-layer errors (local and accumulated SQNR, clipping, ranges), weight errors, output error,
      agreement, accuracy, size and latency of both models; --sensitivity ranks the quantized
      nodes; --keep-in-float / --target re-quantize with layers in float from the saved ranges.
      Writes REPORT (default QUANT.report.json); --html writes a self-contained offline page
  onnx-compress distill SPEC [--validate-only] [--baseline] [--resume RUNDIR] [--run-dir DIR] [--python PATH] [--json]
      [--sweep [--sweep-temperatures 2,4,8] [--sweep-alphas 0.1,0.5,0.9] [--sweep-feature-weights W,...]]
      distill a teacher into a student as SPEC (*.distill.json) says: validates it against the models
      and data (--validate-only stops there), caches the teacher's knowledge, trains with the Python
      trainer, writes the student ONNX, verifies it and writes report.json in the run folder;
      Ctrl-C leaves a checkpoint that --resume RUNDIR continues from; --baseline also trains the
      student on labels alone (same data, schedule, seed) and reports what KD gained against it;
      --sweep runs one trial per setting of the grid plus a labels-only one, and writes the setting
      that verifies best on data.eval into SPEC
  onnx-compress --help | --version`;

type Out = { log: (s: string) => void; error: (s: string) => void };

type Values = Record<string, string | boolean | string[] | undefined>;

/** What the running command's failure concerns when its error does not say: its first path. */
let subject: string | undefined;

function parse(args: string[], options: ParseArgsConfig['options'], positionals: number, what: string): { values: Values; positionals: string[] } {
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(errorMessage(e));
  }
  subject = parsed.positionals[0];
  if (parsed.positionals.length !== positionals) {
    throw new UsageError(`${what} takes ${positionals} path${positionals > 1 ? 's' : ''}, got ${parsed.positionals.length}`);
  }
  return { values: parsed.values as Values, positionals: parsed.positionals };
}

function cliInputShapes(specs: string[] | undefined): Record<string, number[]> | undefined {
  if (!specs?.length) return undefined;
  try {
    return parseInputShapes(specs);
  } catch (e) {
    throw new UsageError(`--input-shape ${errorMessage(e)}`);
  }
}

async function inspect(args: string[], out: Out): Promise<void> {
  const { values: v, positionals } = parse(
    args,
    {
      json: { type: 'boolean' },
      tensor: { type: 'string' },
      nodes: { type: 'boolean' },
      'no-probe': { type: 'boolean' },
      'input-shape': { type: 'string', multiple: true },
      bins: { type: 'string' },
    },
    1,
    'inspect',
  );
  if (v.tensor !== undefined && v.nodes) throw new UsageError('--tensor and --nodes cannot be combined');
  const bins = v.bins === undefined ? 64 : Number(v.bins);
  if (!Number.isInteger(bins) || bins < 2 || bins % 2) throw new UsageError('--bins must be an even integer >= 2');
  const inputShapes = cliInputShapes(v['input-shape'] as string[] | undefined);
  const model = await readModel(positionals[0]);
  const show = <T>(result: T, text: (r: T) => string) => out.log(v.json ? JSON.stringify(result, null, 2) : text(result));
  if (v.tensor !== undefined) show(tensorStatistics(model, v.tensor as string, bins), formatTensorStats);
  else if (v.nodes) show(await nodeList(model, { probe: !v['no-probe'], inputShapes }), formatNodes);
  else show(summarizeModel(model), formatSummary);
}

async function save(args: string[], out: Out): Promise<void> {
  const { values: v, positionals } = parse(
    args,
    {
      'external-data': { type: 'boolean' },
      threshold: { type: 'string' },
      location: { type: 'string' },
      inline: { type: 'boolean' },
    },
    2,
    'save',
  );
  if (v['external-data'] && v.inline) throw new UsageError('--external-data and --inline cannot be combined');
  if ((v.threshold !== undefined || v.location !== undefined) && !v['external-data']) {
    throw new UsageError('--threshold and --location go with --external-data');
  }
  const threshold = v.threshold === undefined ? undefined : Number(v.threshold);
  if (threshold !== undefined && !(Number.isInteger(threshold) && threshold >= 0)) throw new UsageError('--threshold must be a number of bytes');
  const placement: TensorPlacement = v['external-data'] ? 'external' : v.inline ? 'inline' : 'keep';
  const model = await readModel(positionals[0]);
  const r = await writeModel(model, positionals[1], { placement, threshold, location: v.location as string | undefined });
  out.log(`wrote ${r.file} (${formatBytes(r.bytes)})`);
  if (r.dataFile) out.log(`wrote ${r.dataFile} (${formatBytes(r.dataBytes)}, ${r.externalTensors} tensors)`);
  if (r.note) out.error(`note: ${r.note}`);
}

/** Runs one command line; returns the exit code. */
export async function run(argv: string[], out: Out = { log: console.log, error: console.error }): Promise<number> {
  const [command, ...rest] = argv;
  subject = undefined;
  try {
    switch (command) {
      case 'inspect':
        await inspect(rest, out);
        return 0;
      case 'save':
        await save(rest, out);
        return 0;
      case 'quantize': {
        const { values, positionals } = parse(rest, QUANTIZE_OPTIONS, 1, 'quantize');
        await quantizeCommand(positionals[0], values, (m) => new UsageError(m), out);
        return 0;
      }
      case 'distill': {
        const { values, positionals } = parse(rest, DISTILL_OPTIONS, 1, 'distill');
        return await distillCommand(positionals[0], values, (m) => new UsageError(m), out);
      }
      case 'analyze': {
        const { values, positionals } = parse(rest, ANALYZE_OPTIONS, 2, 'analyze');
        await analyzeCommand(positionals[0], positionals[1], values, (m) => new UsageError(m), out);
        return 0;
      }
      case '--version':
        out.log(VERSION);
        return 0;
      case '--help':
      case '-h':
      case 'help':
        out.log(USAGE);
        return 0;
      case undefined:
        throw new UsageError('no command given');
      default:
        throw new UsageError(`unknown command '${command}'`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      out.error(`onnx-compress: ${e.message}\n${USAGE}`);
      return 2;
    }
    out.error(`onnx-compress: ${failureLine(e, subject)}`);
    if (debugging() && e instanceof Error && e.stack) out.error(e.stack);
    return 1;
  }
}

/** ONNX_COMPRESS_DEBUG=1 adds the stack trace to an error (for bug reports). */
export function debugging(): boolean {
  return !!process.env.ONNX_COMPRESS_DEBUG && process.env.ONNX_COMPRESS_DEBUG !== '0';
}

/** Where in the code an error was raised: the first frame of its stack, as 'function (file:line)'. */
function origin(e: Error): string | undefined {
  const frame = /\n\s+at (?:async )?(?:(\S+) \()?(?:.*[\\/])?([^\\/():]+:\d+):\d+\)?/.exec(e.stack ?? '');
  return frame ? (frame[1] ? `${frame[1]} (${frame[2]})` : frame[2]) : undefined;
}

/**
 * Any failure as one line: the engine's errors name their subject already; others get the model
 * (or command) they concern, and errors that can only be a defect (TypeError and the like) where
 * they were raised, to report.
 */
export function failureLine(e: unknown, subject?: string): string {
  const message =
    errorMessage(e)
      .replace(/\s*\n\s*/g, ' ')
      .trim() || 'failed with no message';
  if (e instanceof OnnxCompressError) return message;
  const where = subject && !message.includes(subject) ? `${subject}: ` : '';
  const defect = e instanceof TypeError || e instanceof ReferenceError || e instanceof SyntaxError;
  const at = e instanceof Error && defect ? origin(e) : undefined;
  const report = defect ? ` (an internal error${at ? ` in ${at}` : ''}; please report it with the output of ONNX_COMPRESS_DEBUG=1)` : '';
  return `${where}${message}${report}`;
}

declare const __VERSION__: string | undefined;
const VERSION = typeof __VERSION__ === 'string' ? __VERSION__ : 'development';

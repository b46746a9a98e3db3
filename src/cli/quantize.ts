// `onnx-compress quantize`: options -> settings (recipe, then flags), a progress bar on a terminal
// (plain lines otherwise), and a summary of the QuantResult.
import type { ParseArgsConfig } from 'util';
import type { QuantSettings } from '../shared/quantResult';
import { fmtSizeChange, formatBytes } from '../shared/format';
import { quantizeModel } from '../core/quant/pipeline';
import { readRecipe, resolveSettings } from '../core/quant/settings';
import type { CalibrationProgress } from '../core/quant/calibrate';
import { table } from './format';

export const QUANTIZE_OPTIONS: ParseArgsConfig['options'] = {
  calib: { type: 'string' },
  mode: { type: 'string' },
  method: { type: 'string' },
  percentile: { type: 'string' },
  'moving-average': { type: 'string' },
  'entropy-parity': { type: 'boolean' },
  'per-channel': { type: 'boolean' },
  'per-channel-ops': { type: 'string' },
  'activation-type': { type: 'string' },
  'weight-type': { type: 'string' },
  'symmetric-activations': { type: 'boolean' },
  'reduce-range': { type: 'boolean' },
  exclude: { type: 'string', multiple: true },
  include: { type: 'string', multiple: true },
  'op-types': { type: 'string' },
  samples: { type: 'string' },
  batch: { type: 'string' },
  seed: { type: 'string' },
  ep: { type: 'string' },
  'dedicated-qdq': { type: 'boolean' },
  format: { type: 'string' },
  recipe: { type: 'string' },
  output: { type: 'string', short: 'o' },
  result: { type: 'string' },
};

type Values = Record<string, string | boolean | string[] | undefined>;

function oneOf<T extends string>(flag: string, value: unknown, allowed: readonly T[], usage: (m: string) => Error): T | undefined {
  if (value === undefined) return undefined;
  if (!allowed.includes(value as T)) throw usage(`--${flag} must be one of ${allowed.join(', ')} (got '${value}')`);
  return value as T;
}

function num(flag: string, value: unknown, usage: (m: string) => Error, integer = false): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n))) throw usage(`--${flag} must be ${integer ? 'an integer' : 'a number'} (got '${value}')`);
  return n;
}

/** The settings the flags ask for (undefined where a flag was not given). */
export function settingsFromFlags(v: Values, usage: (m: string) => Error): Partial<QuantSettings> {
  const list = (x: unknown) => (x as string[] | undefined) ?? undefined;
  return {
    mode: oneOf('mode', v.mode, ['static', 'dynamic'] as const, usage),
    calibration: v.calib as string | undefined,
    method: oneOf('method', v.method, ['minmax', 'percentile', 'entropy', 'mse'] as const, usage),
    percentile: num('percentile', v.percentile, usage),
    movingAverage: num('moving-average', v['moving-average'], usage),
    entropyParity: v['entropy-parity'] as boolean | undefined,
    perChannel: v['per-channel'] as boolean | undefined,
    perChannelOpTypes: typeof v['per-channel-ops'] === 'string' ? v['per-channel-ops'].split(',').map((s) => s.trim()).filter(Boolean) : undefined,
    activationType: oneOf('activation-type', v['activation-type'], ['uint8', 'int8', 'uint16', 'int16'] as const, usage),
    weightType: oneOf('weight-type', v['weight-type'], ['int8', 'uint8'] as const, usage),
    symmetricActivations: v['symmetric-activations'] as boolean | undefined,
    reduceRange: v['reduce-range'] as boolean | undefined,
    exclude: list(v.exclude),
    include: list(v.include),
    opTypes: typeof v['op-types'] === 'string' ? v['op-types'].split(',').map((s) => s.trim()).filter(Boolean) : undefined,
    samples: num('samples', v.samples, usage, true),
    batchSize: num('batch', v.batch, usage, true),
    shuffleSeed: num('seed', v.seed, usage, true),
    executionProvider: v.ep as string | undefined,
    dedicatedQdqPerConsumer: v['dedicated-qdq'] as boolean | undefined,
    format: oneOf('format', v.format, ['qdq', 'qoperator'] as const, usage),
  };
}

function progressPrinter(write: (s: string) => void, tty: boolean): (stage: string, p?: CalibrationProgress) => void {
  let last = '';
  return (stage, p) => {
    if (!p) {
      if (tty && last) write('\n');
      write(`${stage}...\n`);
      last = '';
      return;
    }
    const line = `calibrating: pass ${p.pass + 1}/${p.passes}, batch ${p.batch}, ${p.samples} samples`;
    if (tty) {
      write(`\r${line}`);
      last = line;
    } else if (p.batch % 10 === 1) write(`${line}\n`);
  };
}

export async function quantizeCommand(model: string, v: Values, usage: (m: string) => Error, out: { log: (s: string) => void; error: (s: string) => void }): Promise<void> {
  const flags = settingsFromFlags(v, usage);
  if (!v.recipe && flags.mode !== 'dynamic' && flags.calibration === undefined) {
    throw usage('--calib DATA is required for static quantization (a .npz/.npy file or folder, images, .pb files, IDX, or synthetic[:N] for data-free calibration)');
  }
  const settings = resolveSettings(v.recipe ? readRecipe(v.recipe as string) : undefined, flags);
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  try {
    const r = await quantizeModel(model, settings, {
      output: v.output as string | undefined,
      resultFile: v.result as string | undefined,
      signal: controller.signal,
      onProgress: progressPrinter((s) => process.stderr.write(s), !!process.stderr.isTTY),
    });
    const quantized = r.nodes.filter((n) => n.quantized).length;
    out.log(`\nwrote ${r.output} (${formatBytes(r.sizes.inputBytes)} -> ${formatBytes(r.sizes.outputBytes)}, ${fmtSizeChange(r.sizes.inputBytes, r.sizes.outputBytes)})`);
    out.log(`mode ${r.settings.mode}, method ${r.settings.method}, activations ${r.settings.activationType}, weights ${r.settings.weightType}${r.settings.perChannel ? ' per channel' : ''}${r.settings.mode === 'static' ? `, format ${r.settings.format}` : ''}, provider ${r.settings.executionProvider}`);
    if (r.calibration) out.log(`calibration: ${r.calibration.samples} samples in ${r.calibration.batches} batches, ${r.calibration.seconds.toFixed(1)} s (${r.calibration.source})`);
    out.log(`quantized ${quantized} nodes, kept ${r.nodes.length - quantized} in float; ${r.tensors.length} tensors with parameters`);
    if (r.fusion) out.log(`fusion: ${r.fusion.fused} of ${r.fusion.candidates} Conv/MatMul/Gemm run as integer kernels (${Object.entries(r.fusion.integerOps).map(([k, n]) => `${k} ${n}`).join(', ') || 'none'})`);
    out.log(`verification: ${r.verification.note}`);
    const kept = r.nodes.filter((n) => !n.quantized);
    if (kept.length) out.log(`kept in float:\n${table(kept.slice(0, 20).map((n) => [n.node, n.opType, n.reason]))}${kept.length > 20 ? `\n  ... and ${kept.length - 20} more (see the result file)` : ''}`);
    for (const w of r.warnings) out.error(`warning: ${w}`);
  } finally {
    process.removeListener('SIGINT', stop);
  }
}

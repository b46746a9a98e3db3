// `onnx-compress quantize`: options -> settings (recipe, then flags), a progress bar on a terminal
// (plain lines otherwise), and a summary of the QuantResult.
import type { ParseArgsConfig } from 'util';
import { describeWeightOnly, type QuantSettings } from '../shared/quantResult';
import { fmtSizeChange, formatBytes } from '../shared/format';
import { quantizeModel } from '../core/quant/pipeline';
import { readRecipe, resolveSettings } from '../core/quant/settings';
import { parseInputSpecs } from '../core/data/inputSpecs';
import type { CalibrationProgress } from '../core/quant/calibrate';
import { table } from './format';
import { booleanOptions, num, numberOf, oneOf, stringOptions, untilSigint, whole, type Out, type Usage, type Values } from './options';

export const QUANTIZE_OPTIONS: ParseArgsConfig['options'] = {
  ...stringOptions(
    'calib',
    'mode',
    'method',
    'percentile',
    'moving-average',
    'per-channel-ops',
    'activation-type',
    'weight-type',
    'op-types',
    'samples',
    'batch',
    'seed',
    'ep',
    'format',
    'recipe',
    'result',
    'bits',
    'block-size',
    'algorithm',
    'accuracy-level',
    'weight-only-format',
    'calib-budget',
    'gptq-damp',
    'awq-grid',
  ),
  ...booleanOptions(
    'entropy-parity',
    'per-channel',
    'symmetric-activations',
    'symmetric-weights',
    'reduce-range',
    'dedicated-qdq',
    'keep-io-types',
    'no-keep-io-types',
    'gptq-act-order',
  ),
  exclude: { type: 'string', multiple: true },
  include: { type: 'string', multiple: true },
  input: { type: 'string', multiple: true },
  output: { type: 'string', short: 'o' },
};

/** The settings the flags ask for (undefined where a flag was not given). */
function settingsFromFlags(v: Values, usage: Usage): Partial<QuantSettings> {
  const list = (x: unknown) => (x as string[] | undefined) ?? undefined;
  // `--op-types Conv, MatMul`: the names, trimmed, empty ones dropped.
  const commaList = (x: unknown) =>
    typeof x === 'string'
      ? x
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : undefined;
  return {
    mode: oneOf('mode', v.mode, ['static', 'dynamic', 'weight-only', 'fp16', 'bf16'] as const, usage),
    calibration: v.calib as string | undefined,
    method: oneOf('method', v.method, ['minmax', 'percentile', 'entropy', 'mse'] as const, usage),
    percentile: num('percentile', v.percentile, usage),
    movingAverage: num('moving-average', v['moving-average'], usage),
    entropyParity: v['entropy-parity'] as boolean | undefined,
    perChannel: v['per-channel'] as boolean | undefined,
    perChannelOpTypes: commaList(v['per-channel-ops']),
    activationType: oneOf('activation-type', v['activation-type'], ['uint8', 'int8', 'uint16', 'int16'] as const, usage),
    weightType: oneOf('weight-type', v['weight-type'], ['int8', 'uint8', 'int16', 'uint16'] as const, usage),
    symmetricActivations: v['symmetric-activations'] as boolean | undefined,
    reduceRange: v['reduce-range'] as boolean | undefined,
    exclude: list(v.exclude),
    include: list(v.include),
    opTypes: commaList(v['op-types']),
    samples: num('samples', v.samples, usage, true),
    inputs: inputSpecsFlag(v.input as string[] | undefined, usage),
    batchSize: num('batch', v.batch, usage, true),
    shuffleSeed: num('seed', v.seed, usage, true),
    executionProvider: v.ep as string | undefined,
    dedicatedQdqPerConsumer: v['dedicated-qdq'] as boolean | undefined,
    format: oneOf('format', v.format, ['qdq', 'qoperator'] as const, usage),
    symmetricWeights: v['symmetric-weights'] as boolean | undefined,
    bits: numberOf('bits', v.bits, [4, 8] as const, usage),
    blockSize: num('block-size', v['block-size'], usage, true),
    algorithm: oneOf('algorithm', v.algorithm, ['rtn', 'hqq', 'gptq', 'awq'] as const, usage),
    gptqDamp: num('gptq-damp', v['gptq-damp'], usage),
    gptqActOrder: v['gptq-act-order'] as boolean | undefined,
    awqGrid: num('awq-grid', v['awq-grid'], usage, true),
    accuracyLevel: numberOf('accuracy-level', v['accuracy-level'], [0, 1, 2, 3, 4] as const, usage),
    weightOnlyFormat: oneOf('weight-only-format', v['weight-only-format'], ['matmulnbits', 'dequantize-linear'] as const, usage),
    keepIoTypes: keepIoTypes(v, usage),
  };
}

/** `--input NAME=shape:2,batch,128` and the other per-input specs (docs/file-formats.md). */
function inputSpecsFlag(items: string[] | undefined, usage: Usage): QuantSettings['inputs'] | undefined {
  if (!items?.length) return undefined;
  try {
    return parseInputSpecs(items);
  } catch (e) {
    throw usage(`--input ${(e as Error).message}`);
  }
}

/** `--keep-io-types` (the default) or `--no-keep-io-types`, not both. */
function keepIoTypes(v: Values, usage: Usage): boolean | undefined {
  if (v['keep-io-types'] && v['no-keep-io-types']) throw usage('give --keep-io-types or --no-keep-io-types, not both');
  return v['no-keep-io-types'] ? false : v['keep-io-types'] ? true : undefined;
}

/** What the data-aware weight-only algorithms need that the others do not. */
function needsData(flags: Partial<QuantSettings>): string | undefined {
  const mode = flags.mode ?? 'static';
  if (mode === 'static') {
    return '--calib DATA is required for static quantization (a .npz/.npy file or folder, images, .pb files, IDX, or synthetic[:N] for data-free calibration)';
  }
  if (mode === 'weight-only' && (flags.algorithm === 'gptq' || flags.algorithm === 'awq')) {
    return `--algorithm ${flags.algorithm} needs calibration data: give --calib DATA (the inputs the model sees in use), or use --algorithm rtn or hqq, which need none`;
  }
  return undefined;
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

export async function quantizeCommand(model: string, v: Values, usage: Usage, out: Out): Promise<void> {
  const flags = settingsFromFlags(v, usage);
  const missing = needsData(flags);
  if (!v.recipe && missing && flags.calibration === undefined) throw usage(missing);
  const settings = resolveSettings(v.recipe ? readRecipe(v.recipe as string) : undefined, flags);
  const budgetMiB = whole('calib-budget', v['calib-budget'], 1, usage);
  await untilSigint(async (signal) => {
    const r = await quantizeModel(model, settings, {
      output: v.output as string | undefined,
      resultFile: v.result as string | undefined,
      signal,
      calibrationBudget: budgetMiB === undefined ? undefined : budgetMiB * 2 ** 20,
      onProgress: progressPrinter((s) => process.stderr.write(s), !!process.stderr.isTTY),
    });
    const quantized = r.nodes.filter((n) => n.quantized).length;
    out.log(
      `\nwrote ${r.output} (${formatBytes(r.sizes.inputBytes)} -> ${formatBytes(r.sizes.outputBytes)}, ${fmtSizeChange(r.sizes.inputBytes, r.sizes.outputBytes)})`,
    );
    const half = r.settings.mode === 'fp16' || r.settings.mode === 'bf16';
    out.log(
      half
        ? `mode ${r.settings.mode}, IO types ${r.settings.keepIoTypes ? 'kept float32' : r.settings.mode}, provider ${r.settings.executionProvider}`
        : r.settings.mode === 'weight-only'
          ? `mode weight-only, ${describeWeightOnly(r.settings)}, provider ${r.settings.executionProvider}`
          : `mode ${r.settings.mode}, method ${r.settings.method}, activations ${r.settings.activationType}, weights ${r.settings.weightType}${r.settings.perChannel ? ' per channel' : ''}${r.settings.mode === 'static' ? `, format ${r.settings.format}` : ''}, provider ${r.settings.executionProvider}`,
    );
    if (r.calibration)
      out.log(
        `calibration: ${r.calibration.samples} samples in ${r.calibration.batches} batches${r.calibration.passes ? `, ${r.calibration.passes} pass${r.calibration.passes > 1 ? 'es' : ''} over the data` : ''}, ${r.calibration.seconds.toFixed(1)} s (${r.calibration.source})`,
      );
    if (half) out.log(`converted ${quantized} nodes to ${r.settings.mode}, kept ${r.nodes.length - quantized} in float32`);
    else out.log(`quantized ${quantized} nodes, kept ${r.nodes.length - quantized} in float; ${r.tensors.length} tensors with parameters`);
    if (r.fusion)
      out.log(
        `fusion: ${r.fusion.fused} of ${r.fusion.candidates} Conv/MatMul/Gemm run as integer kernels (${
          Object.entries(r.fusion.integerOps)
            .map(([k, n]) => `${k} ${n}`)
            .join(', ') || 'none'
        })`,
      );
    out.log(`verification: ${r.verification.note}`);
    const kept = r.nodes.filter((n) => !n.quantized);
    if (kept.length)
      out.log(
        `kept in float:\n${table(kept.slice(0, 20).map((n) => [n.node, n.opType, n.reason]))}${kept.length > 20 ? `\n  ... and ${kept.length - 20} more (see the result file)` : ''}`,
      );
    for (const w of r.warnings) out.error(`warning: ${w}`);
  });
}

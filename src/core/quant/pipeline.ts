// One quantization run, end to end: read (a quantized model is refused) -> plan -> calibrate
// (streaming) -> rewrite -> save beside the original, staged -> verify the staged file (loads,
// runs, fuses) -> renamed into place -> QuantResult. The original model is never modified: the
// rewrite works on a copy.
import * as fs from 'fs';
import * as path from 'path';
import {
  QUANT_RESULT_FORMAT,
  QUANT_RESULT_VERSION,
  parseQuantResult,
  type QuantResult,
  type QuantSettings,
  type TensorQuantization,
} from '../../shared/quantResult';
import { openDataSource, type DataSource } from '../data';
import { OnnxCompressError } from '../errors';
import { encodeMessage } from '../onnx/codec';
import { decodeModel, readModel, type OnnxModel } from '../onnx/model';
import { upgradeOpsetTo10 } from '../onnx/opsetUpgrade';
import { int64ToNumber } from '../onnx/types';
import { modelBytes } from '../onnx/write';
import { openOutputSink, writeResultBeside, writeVerified } from './writeVerified';
import type { TensorSink } from '../onnx/tensorSink';
import { cpuHasVnni, integerPathNote } from '../runtime/cpu';
import { chooseProvider } from '../runtime/providers';
import type { ort } from '../runtime/session';
import type { CalibratedRange, CalibrationProgress } from './calibrate';
import { calibrateWithSubgraphs, keepUnobservedInFloat } from './subgraphCalibration';
import { quantizeDynamic } from './dynamic';
import { calibrationTargets, planQuantization } from './plan';
import { QdqRewriter } from './qdq';
import { describeQuantizedOps, quantizedOpsIn } from './detect';
import { convertToQOperator, describeQOperator, restrictPlanToQOperator } from './qoperator';
import { verifyQuantized } from './verify';
import { convertToHalf } from './halfPrecision';
import { runWeightOnly } from './weightOnly/pipelineStep';
import { outputSqnrNote } from './weightOnly/outputCheck';

export class QuantizeError extends OnnxCompressError {}

export interface QuantizeOptions {
  /** Output path (default: beside the input, NAME.int8.onnx). */
  output?: string;
  /** Where to write the QuantResult JSON (default: beside the output, NAME.int8.quant.json); false: not written. */
  resultFile?: string | false;
  signal?: AbortSignal;
  onProgress?: (stage: string, detail?: CalibrationProgress) => void;
  /** Static mode: take the activation ranges from this earlier result (its 'activation' tensors,
   *  as adjusted) instead of calibrating, so that re-quantizing with other layers kept in float
   *  takes seconds. Tensors it lacks are left in float, with a warning. */
  rangesFrom?: QuantResult;
  /** Bytes of observed outputs a calibration batch may bring out of onnxruntime before the observed
   *  tensors are split over several passes (default: 1 GiB, or an eighth of the machine's memory). */
  calibrationBudget?: number;
}

/** The ranges an earlier run used, keyed by tensor, for the rewrite to reuse. */
export function savedRanges(previous: QuantResult): Map<string, CalibratedRange> {
  const ranges = new Map<string, CalibratedRange>();
  for (const t of previous.tensors) if (t.kind === 'activation' && t.range) ranges.set(t.tensor, { rmin: t.range[0], rmax: t.range[1] });
  return ranges;
}

export function defaultOutput(input: string, settings: QuantSettings): string {
  if (settings.mode === 'fp16' || settings.mode === 'bf16') return input.replace(/(\.onnx)?$/i, `.${settings.mode}.onnx`);
  const weightOnly = settings.bits === 4 ? 'int4' : 'int8w';
  const bits =
    settings.mode === 'weight-only' ? weightOnly : settings.mode === 'dynamic' ? 'dynamic.int8' : settings.activationType.endsWith('16') ? 'int16' : 'int8';
  return input.replace(/(\.onnx)?$/i, `.${bits}.onnx`);
}

/** The float model a quantized file came from, when it can be told: its result file's input, or
 *  the name without the suffix that quantize adds (.int8, .dynamic.int8, .int16, .int4, .int8w, .fp16, .bf16), if that file exists. */
export function floatOrigin(file: string): string | undefined {
  try {
    const result = parseQuantResult(JSON.parse(fs.readFileSync(file.replace(/\.onnx$/i, '.quant.json'), 'utf8')));
    if (fs.existsSync(result.input)) return result.input;
  } catch {
    // no result file beside it, or not one: try the name
  }
  const named = file.replace(/\.(dynamic\.int8|int8w|int8|int16|int4|fp16|bf16)(\.onnx)$/i, '$2');
  return named !== file && fs.existsSync(named) ? named : undefined;
}

/** Throws, naming the float model to quantize instead, when `model` is quantized already. */
export function refuseQuantized(model: Pick<OnnxModel, 'proto'>, input: string): void {
  const ops = quantizedOpsIn(model);
  if (!Object.keys(ops).length) return;
  const origin = floatOrigin(path.resolve(input));
  const from = origin ? ` (${path.dirname(origin) === path.dirname(path.resolve(input)) ? path.basename(origin) : origin})` : '';
  throw new QuantizeError(`already quantized (${describeQuantizedOps(ops)}): quantize the float model it came from${from}`, input);
}

function calibrationPassesNote(passes: number, methodPasses: number, budget: number): string {
  return `calibration read the data ${passes} times instead of ${methodPasses}: the observed tensors' outputs for one batch passed the ${Math.round(budget / 2 ** 20)} MiB calibration output budget, so they were observed in groups (a larger --calib-budget, or a smaller --batch, takes fewer passes)`;
}

function copyOf(model: OnnxModel): OnnxModel {
  return decodeModel(encodeMessage('ModelProto', model.proto), { file: model.file, baseDir: model.external.baseDir });
}

/**
 * Exporters before ONNX IR 4 (PyTorch up to 1.2, among others) list every initializer as a graph
 * input too, which makes each weight an input a caller may override, so nothing would count as a
 * constant weight. Calibration never feeds them (their stored values are used), and the quantized
 * model replaces them, so they become plain initializers: the inputs are dropped (IR 4 allows it).
 * Returns the names dropped.
 */
function weightsAsConstants(model: OnnxModel): string[] {
  const graph = model.proto.graph!;
  const stored = new Set(graph.initializer.map((t) => t.name ?? ''));
  const dropped = graph.input.filter((v) => stored.has(v.name ?? '')).map((v) => v.name ?? '');
  if (!dropped.length) return dropped;
  graph.input = graph.input.filter((v) => !stored.has(v.name ?? ''));
  if (int64ToNumber(model.proto.ir_version) < 4) model.proto.ir_version = 4;
  return dropped;
}

async function firstBatch(data: DataSource | undefined, settings: QuantSettings): Promise<Record<string, ort.Tensor> | undefined> {
  if (!data) return undefined;
  for await (const b of data.batches({ batchSize: Math.min(settings.batchSize, 8), limit: Math.min(settings.batchSize, 8) })) return b;
  return undefined;
}

export async function quantizeModel(input: string, asked: QuantSettings, options: QuantizeOptions = {}): Promise<QuantResult> {
  if (asked.mode === 'fp16' || asked.mode === 'bf16') return convertToHalf(input, asked, options, { defaultOutput, refuseQuantized, floatOrigin });
  // The staged output a mode opened to write its tensors as it makes them goes if the run fails.
  const staged: { sink?: TensorSink } = {};
  try {
    return await quantizeStaged(input, asked, options, staged);
  } finally {
    staged.sink?.discard();
  }
}

async function quantizeStaged(input: string, asked: QuantSettings, options: QuantizeOptions, staged: { sink?: TensorSink }): Promise<QuantResult> {
  const progress = options.onProgress ?? (() => undefined);
  const ep = await chooseProvider(asked.executionProvider);
  // The result echoes the provider that ran; the warning says why it differs from the one asked.
  const settings: QuantSettings = { ...asked, executionProvider: ep.provider };
  const output = path.resolve(options.output ?? defaultOutput(input, settings));
  if (path.resolve(input) === output) throw new QuantizeError('the output path is the input model; choose another (-o)', input);
  progress('reading the model');
  const source = await readModel(input);
  refuseQuantized(source, input);
  const opset = int64ToNumber(source.proto.opset_import.find((o) => !o.domain || o.domain === 'ai.onnx')?.version);
  const model = copyOf(source);
  const warnings: string[] = ep.note ? [ep.note] : [];
  const asConstants = weightsAsConstants(model);
  if (asConstants.length) {
    warnings.push(
      `${asConstants.length} initializers were also listed as graph inputs (as exporters before ONNX IR 4 wrote them); the quantized model holds them as constants and no longer takes them as inputs`,
    );
  }
  let tensors: TensorQuantization[];
  let quantizedNames: Record<string, string>;
  let decisions: QuantResult['nodes'];
  let unmatchedPatterns: string[];
  let calibration: QuantResult['calibration'] = null;
  let data: DataSource | undefined;
  let candidates: Array<{ name: string; opType: string }>;
  let weightErrors: QuantResult['weightErrors'];

  if (settings.mode === 'weight-only') {
    // rtn and hqq are data-free: the samples only feed the verification run. gptq and awq need them.
    const dataAware = settings.algorithm === 'gptq' || settings.algorithm === 'awq';
    data = dataAware
      ? await openDataSource(settings.calibration, source)
      : await openDataSource(settings.calibration, source).catch((e: Error) => {
          warnings.push(`no sample to run the quantized model on (${e.message})`);
          return undefined;
        });
    progress('quantizing weights');
    staged.sink = openOutputSink(model, source, output, (m, where) => new QuantizeError(m, where), options.signal);
    const r = await runWeightOnly(
      model,
      settings,
      source,
      (m) => new QuantizeError(m, input),
      data,
      options.signal,
      (s) => progress(s),
      staged.sink,
    );
    ({ tensors, decisions, unmatchedPatterns, quantizedNames, weightErrors } = r);
    warnings.push(...r.warnings);
    candidates = [];
  } else if (settings.mode === 'dynamic') {
    if (opset < 11) throw new QuantizeError(`dynamic quantization needs opset 11 or newer (DynamicQuantizeLinear); this model uses opset ${opset}`, input);
    staged.sink = openOutputSink(model, source, output, (m, where) => new QuantizeError(m, where), options.signal);
    const r = quantizeDynamic(model, settings, staged.sink);
    ({ tensors, decisions, unmatchedPatterns, quantizedNames } = r);
    warnings.push(...r.warnings);
    candidates = decisions.filter((d) => d.quantized).map((d) => ({ name: d.node, opType: d.opType }));
    // Dynamic needs no calibration; a sample still proves the result runs.
    data = await openDataSource(settings.calibration, source, { inputs: settings.inputs }).catch((e: Error) => {
      warnings.push(`no sample to run the quantized model on (${e.message})`);
      return undefined;
    });
  } else {
    if (opset < 10) {
      // onnxruntime fuses Q/DQ into QLinearConv & co. of the default domain, which start at opset 10.
      const up = upgradeOpsetTo10(model);
      warnings.push(
        `the model's opset ${up.from} was upgraded to 10 (${up.converted.length} nodes rewritten exactly) so that onnxruntime can fuse the quantized ops`,
      );
    }
    const plan = planQuantization(model, settings);
    ({ decisions, unmatchedPatterns } = plan);
    warnings.push(...plan.warnings);
    // QOperator: only the ops with a QLinear form are quantized; the calibration also measures the
    // Relu/Clip outputs whose ranges those ops take.
    const qoperator = settings.format === 'qoperator';
    const calibrated = qoperator ? restrictPlanToQOperator(plan) : calibrationTargets(plan);
    if (!plan.nodes.length) {
      throw new QuantizeError(
        `no node to quantize: none of the op types ${settings.opTypes.join(', ')} has float32 data here${settings.exclude.length ? ' (or all were excluded)' : ''}${qoperator ? ' that the qoperator format can write (Conv, MatMul)' : ''}`,
        input,
      );
    }
    if (settings.calibration.startsWith('synthetic'))
      warnings.push('calibrated on synthetic data (zero-shot): ranges reflect random inputs, not your data; give real samples with --calib for accuracy');
    let ranges: Map<string, CalibratedRange>;
    if (options.rangesFrom) {
      ranges = savedRanges(options.rangesFrom);
      const before = options.rangesFrom.calibration;
      calibration = before && { ...before, seconds: 0, source: `ranges reused from ${options.rangesFrom.output} (${before.source})` };
      // The data only feeds the verification run here.
      data = await openDataSource(settings.calibration, source, { inputs: settings.inputs }).catch((e: Error) => {
        warnings.push(`no sample to run the quantized model on (${e.message})`);
        return undefined;
      });
    } else {
      data = await openDataSource(settings.calibration, source, { inputs: settings.inputs });
      progress('calibrating');
      const cal = await calibrateWithSubgraphs(source, calibrated, data, settings, {
        signal: options.signal,
        onProgress: (p) => progress('calibrating', p),
        outputBudget: options.calibrationBudget,
      });
      calibration = { samples: cal.samples, batches: cal.batches, seconds: cal.seconds, source: data.describe(), passes: cal.passes };
      if (cal.passes > cal.methodPasses) warnings.push(calibrationPassesNote(cal.passes, cal.methodPasses, cal.outputBudget));
      ranges = cal.ranges;
      const unobserved = keepUnobservedInFloat(plan, cal.unobserved);
      if (unobserved.length)
        warnings.push(
          `${unobserved.length} node(s) inside If branches kept in float: no calibration batch reached them (${unobserved.slice(0, 5).join(', ')}${unobserved.length > 5 ? ', …' : ''})`,
        );
    }
    if (options.signal?.aborted) throw new QuantizeError('cancelled; nothing was written', input);
    // Which integer path the fused model takes on this CPU, and whether it computes the Q/DQ exactly.
    const cpuNote = integerPathNote(cpuHasVnni(), settings);
    if (cpuNote) warnings.push(cpuNote);
    progress('rewriting');
    const planned = new Map(plan.nodes.map((p) => [p.graph.nodes[p.index], p]));
    const r = new QdqRewriter(model, plan, settings).apply(ranges);
    ({ tensors, quantizedNames } = r);
    warnings.push(...r.warnings);
    if (qoperator) {
      const q = convertToQOperator(model, planned);
      warnings.push(...q.warnings);
      describeQOperator(decisions, q.converted, plan.nodes);
    }
    candidates = plan.nodes.filter((p) => ['Conv', 'ConvTranspose', 'MatMul', 'Gemm'].includes(p.opType)).map((p) => ({ name: p.name, opType: p.opType }));
  }
  for (const p of unmatchedPatterns) warnings.push(`the pattern '${p}' matches no node`);
  for (const t of Object.keys(settings.tensorOverrides)) {
    if (!tensors.some((x) => x.tensor === t)) warnings.push(`the override of '${t}' applies to no quantized tensor`);
  }

  progress('writing');
  const sixteenBit = settings.mode === 'static' && (settings.activationType.endsWith('16') || settings.weightType.endsWith('16'));
  const feeds = await firstBatch(data, settings);
  let sqnrNote: string | undefined;
  const { written, verification: v } = await writeVerified(
    model,
    source,
    output,
    (staged) => verifyQuantized(staged, candidates, feeds, settings.executionProvider, sixteenBit),
    {
      what: 'quantized',
      signal: options.signal,
      progress,
      fail: (m, where) => new QuantizeError(m, where),
      inspect: async (checked, file) => {
        if (settings.mode === 'weight-only' && feeds && checked.ran) sqnrNote = await outputSqnrNote(source, file, feeds, settings.executionProvider);
      },
      sink: staged.sink,
    },
  );
  if (sqnrNote) v.note = `${v.note}; ${sqnrNote}`;
  if (written.note) warnings.push(written.note);
  for (const u of v.fusion.unfused) warnings.push(`${u.opType} '${u.node}' was not fused into an integer kernel: ${u.reason}`);
  const inputBytes = modelBytes(source.file!);
  const outputBytes = modelBytes(written.file);
  const result: QuantResult = {
    format: QUANT_RESULT_FORMAT,
    version: QUANT_RESULT_VERSION,
    input: source.file!,
    output: written.file,
    settings,
    calibration,
    tensors,
    nodes: decisions,
    unmatchedPatterns,
    sizes: { inputBytes, outputBytes, ratio: outputBytes / inputBytes },
    fusion: settings.mode === 'weight-only' ? null : v.fusion,
    verification: { loads: v.loads, ran: v.ran, note: v.note },
    warnings,
    quantizedNames,
    ...(weightErrors ? { weightErrors } : {}),
  };
  writeResultBeside(result, written, options.resultFile, { what: 'quantized', fail: (m, where) => new QuantizeError(m, where) });
  return result;
}

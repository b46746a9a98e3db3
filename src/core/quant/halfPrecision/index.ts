// `--mode fp16|bf16`, end to end: read (a quantized or already-half model is refused) -> observe
// the float activations on the data, when given (fp16) -> rewrite a copy -> write staged ->
// verify (loads, runs, output SQNR vs the float model) -> renamed into place -> QuantResult.
import * as path from 'path';
import { QUANT_RESULT_FORMAT, QUANT_RESULT_VERSION, type QuantResult, type QuantSettings } from '../../../shared/quantResult';
import { openDataSource, type DataSource } from '../../data';
import { OnnxCompressError } from '../../errors';
import { encodeMessage } from '../../onnx/codec';
import { DataType } from '../../onnx/dataTypes';
import { inferElementTypes } from '../../onnx/elementTypes';
import { GraphIndex } from '../../onnx/graph';
import { decodeModel, readModel, type OnnxModel } from '../../onnx/model';
import { elementCount, tensorDims } from '../../onnx/tensor';
import { int64ToNumber } from '../../onnx/types';
import { allTensors } from '../../onnx/walk';
import { modelBytes } from '../../onnx/write';
import type { TensorSink } from '../../onnx/tensorSink';
import { openOutputSink, writeResultBeside, writeVerified } from '../writeVerified';
import { chooseProvider } from '../../runtime/providers';
import type { ort } from '../../runtime/session';
import { calibrate, type CalibrationProgress } from '../calibrate';
import { convertGraphToHalf } from './convert';
import { overflowReason, type HalfMode } from './ranges';
import { verifyHalf } from './verifyHalf';

export class HalfPrecisionError extends OnnxCompressError {}

/** What the pipeline lends this flow, so that both name outputs and refuse inputs alike. */
export interface PipelineHooks {
  defaultOutput: (input: string, settings: QuantSettings) => string;
  refuseQuantized: (model: OnnxModel, input: string) => void;
  floatOrigin: (file: string) => string | undefined;
}

export interface HalfOptions {
  output?: string;
  resultFile?: string | false;
  signal?: AbortSignal;
  onProgress?: (stage: string, detail?: CalibrationProgress) => void;
}

/** Float weight values stored as float32 and as half, over every graph. */
export function storedFloatElements(model: OnnxModel): { float32: number; half: number } {
  let float32 = 0;
  let half = 0;
  for (const { tensor } of allTensors(model.proto)) {
    const type = tensor.data_type;
    if (type !== DataType.FLOAT && type !== DataType.FLOAT16 && type !== DataType.BFLOAT16) continue;
    const n = elementCount(tensorDims(tensor));
    if (type === DataType.FLOAT) float32 += n;
    else half += n;
  }
  return { float32, half };
}

/** Throws when most of the model's float weights are half already, naming its float model. */
export function refuseHalf(model: OnnxModel, input: string, floatOrigin: PipelineHooks['floatOrigin']): void {
  const { float32, half } = storedFloatElements(model);
  if (half === 0 || half <= float32) return;
  const origin = floatOrigin(path.resolve(input));
  const from = origin ? ` (${path.dirname(origin) === path.dirname(path.resolve(input)) ? path.basename(origin) : origin})` : '';
  throw new HalfPrecisionError(
    `already in half precision (${half} of ${half + float32} stored float values are float16/bfloat16): convert the float32 model it came from${from}`,
    input,
  );
}

/** Initializers listed as graph inputs too (IR < 4) become plain initializers, as the static mode
 *  does: a weight the caller could override cannot be stored in half. Returns their names. */
function weightsAsConstants(model: OnnxModel): string[] {
  const graph = model.proto.graph!;
  const stored = new Set(graph.initializer.map((t) => t.name ?? ''));
  const dropped = graph.input.filter((v) => stored.has(v.name ?? '')).map((v) => v.name ?? '');
  if (!dropped.length) return dropped;
  graph.input = graph.input.filter((v) => !stored.has(v.name ?? ''));
  if (int64ToNumber(model.proto.ir_version) < 4) model.proto.ir_version = 4;
  return dropped;
}

/** The main graph's float activations (graph inputs and node outputs) the data check observes. */
function floatActivations(model: OnnxModel): { observed: string[]; nested: number } {
  const index = new GraphIndex(model.proto.graph!);
  const { types } = inferElementTypes(index);
  const stored = new Set(index.initializers.keys());
  const observed = new Set<string>();
  for (const v of index.graph.input) if (v.name && !stored.has(v.name) && types.get(v.name) === DataType.FLOAT) observed.add(v.name);
  for (const n of index.nodes) {
    if (n.op_type === 'Constant') continue;
    for (const o of n.output) if (o && types.get(o) === DataType.FLOAT) observed.add(o);
  }
  let nested = 0;
  for (const s of index.subgraphs) for (const g of s.index.allIndexes()) nested += g.nodes.length;
  return { observed: [...observed], nested };
}

async function firstBatch(data: DataSource | undefined, settings: QuantSettings): Promise<Record<string, ort.Tensor> | undefined> {
  if (!data) return undefined;
  const n = Math.min(settings.batchSize, 8);
  for await (const b of data.batches({ batchSize: n, limit: n })) return b;
  return undefined;
}

export async function convertToHalf(input: string, asked: QuantSettings, options: HalfOptions, hooks: PipelineHooks): Promise<QuantResult> {
  const progress = options.onProgress ?? (() => undefined);
  const mode = asked.mode as HalfMode;
  const ep = await chooseProvider(asked.executionProvider);
  const settings: QuantSettings = { ...asked, executionProvider: ep.provider };
  const output = path.resolve(options.output ?? hooks.defaultOutput(input, settings));
  if (path.resolve(input) === output) throw new HalfPrecisionError('the output path is the input model; choose another (-o)', input);
  progress('reading the model');
  const source = await readModel(input);
  hooks.refuseQuantized(source, input);
  refuseHalf(source, input, hooks.floatOrigin);
  const model = decodeModel(encodeMessage('ModelProto', source.proto), { file: source.file, baseDir: source.external.baseDir });
  const warnings: string[] = ep.note ? [ep.note] : [];
  const asConstants = weightsAsConstants(model);
  if (asConstants.length) {
    warnings.push(
      `${asConstants.length} initializers were also listed as graph inputs (as exporters before ONNX IR 4 wrote them); the converted model holds them as constants and no longer takes them as inputs`,
    );
  }
  const opset = int64ToNumber(source.proto.opset_import.find((o) => !o.domain || o.domain === 'ai.onnx')?.version);

  // The data check: only float16 has a range to leave; bfloat16 has float32's.
  const synthetic = settings.calibration.startsWith('synthetic');
  let calibration: QuantResult['calibration'] = null;
  const overflowing = new Map<string, string>();
  let data: DataSource | undefined;
  if (mode === 'bf16') {
    warnings.push(
      "bfloat16 keeps float32's exponent range (largest 3.4e38, smallest normal 1.2e-38): no activation or weight can overflow or underflow it, so the range checks keep nothing in float32; the data, if given, only feeds the verification",
    );
  } else if (synthetic) {
    warnings.push(
      'activations were not observed (no --calib data): only the weights were checked against float16’s range; an activation past ±65504 would become Inf. Give --calib DATA to keep such nodes in float32',
    );
  } else {
    data = await openDataSource(settings.calibration, source);
    const { observed, nested } = floatActivations(source);
    progress('observing activations');
    const cal = await calibrate(
      source,
      observed,
      data,
      { ...settings, method: 'minmax', movingAverage: null },
      {
        signal: options.signal,
        onProgress: (p) => progress('observing activations', p),
      },
    );
    calibration = { samples: cal.samples, batches: cal.batches, seconds: cal.seconds, source: data.describe() };
    for (const [tensor, r] of cal.ranges) {
      const why = overflowReason(tensor, Math.max(Math.abs(r.rmin), Math.abs(r.rmax)));
      if (why) overflowing.set(tensor, why);
    }
    if (nested) {
      warnings.push(
        `the ${nested} nodes inside If/Loop/Scan bodies were not observed (onnxruntime returns main-graph values only): their weights were checked, not their activations`,
      );
    }
  }
  if (options.signal?.aborted) throw new HalfPrecisionError('cancelled; nothing was written', input);

  progress('converting');
  const fail = (m: string, where?: string) => new HalfPrecisionError(m, where);
  const sink = openOutputSink(model, source, output, fail, options.signal);
  try {
    return await convertAndWrite(source, model, output, { input, settings, opset, overflowing, warnings, calibration, data }, options, sink);
  } finally {
    sink?.discard();
  }
}

interface Converting {
  input: string;
  settings: QuantSettings;
  opset: number;
  overflowing: Map<string, string>;
  warnings: string[];
  calibration: QuantResult['calibration'];
  data: DataSource | undefined;
}

/** The rewrite, the staged write with its verification, and the result, into `sink` when given. */
async function convertAndWrite(
  source: OnnxModel,
  model: OnnxModel,
  output: string,
  { input, settings, opset, overflowing, warnings, calibration, data }: Converting,
  options: HalfOptions,
  sink: TensorSink | undefined,
): Promise<QuantResult> {
  const progress = options.onProgress ?? (() => undefined);
  const mode = settings.mode as HalfMode;
  const conversion = convertGraphToHalf(model, settings, overflowing, sink);
  warnings.push(...conversion.warnings);
  for (const p of conversion.unmatchedPatterns) warnings.push(`the pattern '${p}' matches no node`);
  const kept = conversion.decisions.filter((d) => !d.quantized).length;
  if (kept)
    warnings.push(
      `${kept} of ${conversion.decisions.length} float nodes stay float32 (see the node decisions), with ${conversion.casts} Casts at the boundaries`,
    );

  data ??= await openDataSource(settings.calibration, source).catch((e: Error) => {
    warnings.push(`no sample to run the converted model on (${e.message})`);
    return undefined;
  });
  const feeds = await firstBatch(data, settings);
  progress('writing');
  const { written, verification } = await writeVerified(
    model,
    source,
    output,
    (staged) => verifyHalf(staged, source, feeds, settings.executionProvider, mode),
    {
      what: 'converted',
      signal: options.signal,
      progress,
      fail: (m, where) => new HalfPrecisionError(m, where),
      inspect: (v) => {
        const refused = /Type Error: Type 'tensor\(bfloat16\)' of input parameter \(.*?\) of operator \((\w+)\) in node \((.*?)\)/.exec(v.note);
        if (refused) {
          throw new HalfPrecisionError(
            `ONNX opset ${opset} does not allow bfloat16 for ${refused[1]} '${refused[2]}', so no provider can load the converted model; nothing was written. Use --mode fp16, or re-export the model at an opset whose ${refused[1]} takes bfloat16`,
            input,
          );
        }
      },
      writtenUnloaded: (v) => v.unsupported,
      sink,
    },
  );
  if (verification.unsupported) warnings.push(verification.note);
  if (written.note) warnings.push(written.note);
  const inputBytes = modelBytes(source.file!);
  const outputBytes = modelBytes(written.file);
  const result: QuantResult = {
    format: QUANT_RESULT_FORMAT,
    version: QUANT_RESULT_VERSION,
    input: source.file!,
    output: written.file,
    settings,
    calibration,
    tensors: [],
    nodes: conversion.decisions,
    unmatchedPatterns: conversion.unmatchedPatterns,
    sizes: { inputBytes, outputBytes, ratio: outputBytes / inputBytes },
    fusion: null,
    verification: { loads: verification.loads, ran: verification.ran, note: verification.note, outputSqnrDb: verification.outputSqnrDb },
    warnings,
  };
  writeResultBeside(result, written, options.resultFile, { what: 'converted', fail: (m, where) => new HalfPrecisionError(m, where) });
  return result;
}

// Streaming calibration: the tensors to observe become extra graph outputs (typed by element-type
// propagation), the data runs through onnxruntime batch by batch, each collector updates its
// running statistics and the batch is dropped. Memory depends on the batch size and the number of
// observed tensors, never on the number of samples. Histogram methods take a second pass.
import type { QuantSettings } from '../../shared/quantResult';
import { createMessage } from '../onnx/codec';
import { DataType } from '../onnx/dataTypes';
import type { OnnxModel } from '../onnx/model';
import { AttributeType, type AttributeProto, type NodeProto, type ValueInfoProto } from '../onnx/types';
import { createSession, ort } from '../runtime/session';
import type { DataSource } from '../data';
import { createCollector, type Collector } from './collectors';
import { quantTypeInfo } from './scheme';

export interface CalibrationProgress {
  pass: number;
  passes: number;
  batch: number;
  samples: number;
}

export interface CalibratedRange {
  rmin: number;
  rmax: number;
  note?: string;
}

export interface CalibrationResult {
  ranges: Map<string, CalibratedRange>;
  samples: number;
  batches: number;
  seconds: number;
}

export interface CalibrationRun {
  signal?: AbortSignal;
  onProgress?: (p: CalibrationProgress) => void;
}

export class CalibrationCancelled extends Error {
  constructor() {
    super('cancelled');
    this.name = 'AbortError';
  }
}

export function collectorFor(settings: QuantSettings): Collector {
  return createCollector({
    method: settings.method,
    percentile: settings.percentile,
    movingAverage: settings.movingAverage ?? undefined,
    symmetric: settings.symmetricActivations,
    parity: settings.entropyParity,
    // MSE weighs rounding error against clipping for the levels the activations will have.
    targetBits: quantTypeInfo(settings.activationType).bits,
  });
}

/** What the session returns for a tensor: the values, or only their minimum and maximum. */
const MIN = '__onnx_compress_min';
const MAX = '__onnx_compress_max';

/**
 * A session that returns `tensors` besides the model's outputs; the model is left as it was.
 * With `reduce`, each tensor's minimum and maximum are computed in the graph (ReduceMin/ReduceMax
 * over all axes) and only those two scalars cross into JavaScript: MinMax needs nothing else, and
 * copying every intermediate tensor out of onnxruntime is what calibration spends most time on.
 */
async function observingSession(model: OnnxModel, tensors: string[], settings: QuantSettings, reduce: boolean): Promise<ort.InferenceSession> {
  const graph = model.proto.graph!;
  const outputs = graph.output.length;
  const nodes = graph.node.length;
  const existing = new Set(graph.output.map((o) => o.name));
  const output = (name: string) => graph.output.push(createMessage<ValueInfoProto>('ValueInfoProto', { name, type: { tensor_type: { elem_type: DataType.FLOAT } } }));
  for (const name of tensors) {
    if (!reduce) {
      if (!existing.has(name)) output(name);
      continue;
    }
    for (const [op, suffix] of [['ReduceMin', MIN], ['ReduceMax', MAX]]) {
      graph.node.push(createMessage<NodeProto>('NodeProto', {
        op_type: op, input: [name], output: [name + suffix], name: name + suffix,
        attribute: [createMessage<AttributeProto>('AttributeProto', { name: 'keepdims', type: AttributeType.INT, i: 0 })],
      }));
      output(name + suffix);
    }
  }
  try {
    return await createSession(model, { executionProviders: [settings.executionProvider] });
  } finally {
    graph.output.length = outputs;
    graph.node.length = nodes;
  }
}

export async function calibrate(model: OnnxModel, tensors: string[], data: DataSource, settings: QuantSettings, run: CalibrationRun = {}): Promise<CalibrationResult> {
  const started = Date.now();
  const inputs = new Set(model.proto.graph!.input.map((v) => v.name ?? ''));
  const fetched = tensors.filter((t) => !inputs.has(t));
  const collectors = new Map(tensors.map((t) => [t, collectorFor(settings)]));
  const passes = collectors.size ? Math.max(...[...collectors.values()].map((c) => c.passes)) : 1;
  const reduce = settings.method === 'minmax';
  const session = await observingSession(model, fetched, settings, reduce);
  const names = reduce ? fetched.flatMap((t) => [t + MIN, t + MAX]) : fetched;
  let samples = 0;
  let batches = 0;
  try {
    for (let pass = 0; pass < passes; pass++) {
      let passSamples = 0;
      let batch = 0;
      for await (const feeds of data.batches({ batchSize: settings.batchSize, limit: settings.samples ?? undefined, shuffleSeed: settings.shuffleSeed ?? undefined, signal: run.signal })) {
        if (run.signal?.aborted) throw new CalibrationCancelled();
        const outputs = names.length ? await session.run(feeds, names) : {};
        for (const [name, collector] of collectors) {
          if (collector.passes <= pass) continue;
          const values = reduce && outputs[name + MIN]
            ? Float32Array.of((outputs[name + MIN].data as Float32Array)[0], (outputs[name + MAX].data as Float32Array)[0])
            : ((outputs[name] ?? feeds[name]).data as Float32Array);
          collector.add(values, pass);
        }
        for (const t of Object.values(outputs)) t.dispose();
        passSamples += Object.values(feeds)[0]?.dims[0] ?? 1;
        batch++;
        run.onProgress?.({ pass, passes, batch, samples: passSamples });
      }
      if (pass === 0) {
        samples = passSamples;
        batches = batch;
      }
    }
  } finally {
    await session.release();
  }
  if (samples === 0) throw new Error('the calibration data holds no sample');
  const ranges = new Map<string, CalibratedRange>();
  for (const [name, c] of collectors) ranges.set(name, c.range());
  return { ranges, samples, batches, seconds: (Date.now() - started) / 1000 };
}

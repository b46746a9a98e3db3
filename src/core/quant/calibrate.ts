// Streaming calibration: the tensors to observe become extra graph outputs (typed by element-type
// propagation), the data runs through onnxruntime batch by batch, each collector updates its
// running statistics and the batch is dropped. Memory depends on the batch size and the number of
// observed tensors, never on the number of samples. Histogram methods take a second pass.
import type { QuantSettings } from '../../shared/quantResult';
import { createMessage } from '../onnx/codec';
import { DataType } from '../onnx/dataTypes';
import type { OnnxModel } from '../onnx/model';
import type { ValueInfoProto } from '../onnx/types';
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

/** A session that returns `tensors` besides the model's outputs; the model is left as it was. */
async function observingSession(model: OnnxModel, tensors: string[], settings: QuantSettings): Promise<ort.InferenceSession> {
  const graph = model.proto.graph!;
  const count = graph.output.length;
  const existing = new Set(graph.output.map((o) => o.name));
  for (const name of tensors) {
    if (existing.has(name)) continue;
    graph.output.push(createMessage<ValueInfoProto>('ValueInfoProto', { name, type: { tensor_type: { elem_type: DataType.FLOAT } } }));
  }
  try {
    return await createSession(model, { executionProviders: [settings.executionProvider] });
  } finally {
    graph.output.length = count;
  }
}

export async function calibrate(model: OnnxModel, tensors: string[], data: DataSource, settings: QuantSettings, run: CalibrationRun = {}): Promise<CalibrationResult> {
  const started = Date.now();
  const inputs = new Set(model.proto.graph!.input.map((v) => v.name ?? ''));
  const fetched = tensors.filter((t) => !inputs.has(t));
  const collectors = new Map(tensors.map((t) => [t, collectorFor(settings)]));
  const passes = collectors.size ? Math.max(...[...collectors.values()].map((c) => c.passes)) : 1;
  const session = await observingSession(model, fetched, settings);
  let samples = 0;
  let batches = 0;
  try {
    for (let pass = 0; pass < passes; pass++) {
      let passSamples = 0;
      let batch = 0;
      for await (const feeds of data.batches({ batchSize: settings.batchSize, limit: settings.samples ?? undefined, shuffleSeed: settings.shuffleSeed ?? undefined, signal: run.signal })) {
        if (run.signal?.aborted) throw new CalibrationCancelled();
        const outputs = fetched.length ? await session.run(feeds, fetched) : {};
        for (const [name, collector] of collectors) {
          if (collector.passes <= pass) continue;
          const t = outputs[name] ?? feeds[name];
          collector.add(t.data as Float32Array, pass);
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

// Verification of a half-precision model: it loads in onnxruntime, runs on a batch, and its float
// outputs are compared with the float model's on the same batch (SQNR in dB), computed first. Inputs the
// converted model takes in half are fed the same values encoded. A bfloat16 model the provider
// has no kernels for is reported as such: that is the provider's limit, not a broken model.
import { sqnr } from '../../analysis/metrics';
import { errorMessage } from '../../errors';
import { bfloat16BitsToFloat32, float16BitsToFloat32 } from '../../onnx/floatFormats';
import type { OnnxModel } from '../../onnx/model';
import { floatComparisonSkipped } from '../weightOnly/outputCheck';
import { createSessionFromFile, ort } from '../../runtime/session';
import { float32ToFloat16Bits } from '../../onnx/floatFormats';
import type { HalfMode } from './ranges';

export interface HalfVerification {
  loads: boolean;
  ran: boolean;
  note: string;
  /** Output name -> SQNR in dB of the half model's output against the float model's. */
  outputSqnrDb: Record<string, number>;
  /** The provider lacks kernels for this element type (bfloat16 on the CPU): not a failure. */
  unsupported: boolean;
}

function asFloat32(t: ort.Tensor): Float32Array | undefined {
  const data = t.data as unknown as ArrayLike<number> & { buffer: ArrayBufferLike; byteOffset: number; length: number };
  if (t.type === 'float32') return Float32Array.from(t.data as Float32Array);
  if (t.type === 'float16') return float16BitsToFloat32(new Uint16Array(data.buffer, data.byteOffset, data.length));
  if ((t.type as string) === 'bfloat16') return bfloat16BitsToFloat32(new Uint16Array(data.buffer, data.byteOffset, data.length));
  return undefined;
}

/** The feeds as the half model declares its inputs (half inputs get encoded values). */
function feedsFor(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>): Record<string, ort.Tensor> {
  const out: Record<string, ort.Tensor> = {};
  const meta = session.inputMetadata as unknown as Array<{ name: string; type?: string; isTensor?: boolean }>;
  for (const [name, t] of Object.entries(feeds)) {
    const want = meta.find((m) => m.name === name)?.type;
    if (t.type === 'float32' && want === 'bfloat16')
      throw new Error(`the bfloat16 input '${name}' cannot be fed from JavaScript (onnxruntime-node has no bfloat16 tensors)`);
    out[name] = t.type === 'float32' && want === 'float16' ? new ort.Tensor('float16', float32ToFloat16Bits(t.data as Float32Array), t.dims) : t;
  }
  return out;
}

// A valid model the provider has no kernel for; a type the op's ONNX schema refuses is a different matter (the model is invalid).
const MISSING_KERNEL = /Could not find an implementation|NOT_IMPLEMENTED|no bfloat16 tensors/;

/** The float model's float outputs on the batch, its session released before returning. */
async function floatOutputs(float: OnnxModel, feeds: Record<string, ort.Tensor>, ep: string): Promise<Map<string, Float32Array>> {
  const reference = await createSessionFromFile(float, { executionProviders: [ep] });
  try {
    const out = await reference.run(feeds);
    const values = new Map<string, Float32Array>();
    for (const [name, t] of Object.entries(out)) {
      const x = asFloat32(t);
      if (x) values.set(name, x);
      t.dispose();
    }
    return values;
  } finally {
    await reference.release();
  }
}

export async function verifyHalf(
  file: string,
  float: OnnxModel,
  feeds: Record<string, ort.Tensor> | undefined,
  ep: string,
  mode: HalfMode,
): Promise<HalfVerification> {
  const outputSqnrDb: Record<string, number> = {};
  // The float model runs first and its session is gone before the half one is made: the two are
  // never held at once (the run's peak would be their sum).
  const skipped = feeds ? floatComparisonSkipped(float) : undefined;
  let expected: Map<string, Float32Array> | undefined;
  let floatFailure: string | undefined;
  if (feeds && !skipped) {
    try {
      expected = await floatOutputs(float, feeds, ep);
    } catch (e) {
      floatFailure = errorMessage(e).split('\n')[0];
    }
  }
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(file, { executionProviders: [ep], graphOptimizationLevel: 'all', logSeverityLevel: 3 });
  } catch (e) {
    const why = errorMessage(e).replace(`${file}: `, '');
    if (mode === 'bf16' && MISSING_KERNEL.test(why)) {
      return {
        loads: false,
        ran: false,
        unsupported: true,
        outputSqnrDb,
        note: `not run: onnxruntime's ${ep.toUpperCase()} provider has no bfloat16 kernels for this model (${why.split('\n')[0]}); run it on a provider with bfloat16 kernels (CUDA), or use --mode fp16 on the CPU`,
      };
    }
    return { loads: false, ran: false, unsupported: false, outputSqnrDb, note: why };
  }
  if (!feeds) {
    await session.release();
    return { loads: true, ran: false, unsupported: false, outputSqnrDb, note: 'loads in onnxruntime (no sample to run it on)' };
  }
  if (floatFailure !== undefined) {
    await session.release();
    return {
      loads: true,
      ran: false,
      unsupported: false,
      outputSqnrDb,
      note: `loads; not run: the float model itself fails on the sample batch (${floatFailure})`,
    };
  }
  if (skipped) {
    try {
      const half = await session.run(feedsFor(session, feeds));
      for (const t of Object.values(half)) t.dispose();
    } finally {
      await session.release();
    }
    return { loads: true, ran: true, unsupported: false, outputSqnrDb, note: `loads and runs on a batch; ${skipped}` };
  }
  try {
    const half = await session.run(feedsFor(session, feeds));
    const zero: string[] = [];
    for (const [name, x] of expected!) {
      const y = half[name] && asFloat32(half[name]);
      if (!y || x.length !== y.length) continue;
      // An all-zero float output has no signal to measure against.
      if (x.every((v) => v === 0)) zero.push(name);
      else if (Number.isFinite(sqnr(x, y))) outputSqnrDb[name] = Math.round(sqnr(x, y) * 100) / 100;
    }
    for (const t of Object.values(half)) t.dispose();
    const listed = Object.entries(outputSqnrDb)
      .map(([k, v]) => `${k} ${v.toFixed(1)} dB`)
      .join(', ');
    return {
      loads: true,
      ran: true,
      unsupported: false,
      outputSqnrDb,
      note: `loads and runs on a batch; output SQNR vs the float model: ${listed || 'no float output to compare'}${zero.length ? `; not compared (all zero in the float model on this batch): ${zero.join(', ')}` : ''}`,
    };
  } catch (e) {
    const why = errorMessage(e);
    if (mode === 'bf16' && MISSING_KERNEL.test(why)) {
      return {
        loads: true,
        ran: false,
        unsupported: true,
        outputSqnrDb,
        note: `loads, but onnxruntime's ${ep.toUpperCase()} provider cannot run it in bfloat16 (${why.split('\n')[0]}); run it on a provider with bfloat16 kernels (CUDA)`,
      };
    }
    return { loads: true, ran: false, unsupported: false, outputSqnrDb, note: `loads, but fails to run: ${why}` };
  } finally {
    await session.release();
  }
}

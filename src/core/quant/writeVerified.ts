// How every mode writes its model: staged beside the output, verified there, renamed into place
// only when onnxruntime loads it. A model derived from one with external data keeps its weights
// outside too (onnxruntime then loads it tensor by tensor, at about its size in memory, where an
// inline .onnx file costs two to three times that while it is parsed), and the model in memory lets
// go of the written bytes before the staged file is loaded, since it is not used afterwards. Such
// a conversion puts each tensor it makes straight into the staged data file (openOutputSink), so
// that its memory is bounded by the largest tensor rather than the converted model.
import * as fs from 'fs';
import type { QuantResult } from '../../shared/quantResult';
import { errorMessage } from '../errors';
import { memoryMark } from '../memoryLog';
import { jsonText, writeFileAtomicSync } from '../files';
import type { OnnxModel } from '../onnx/model';
import { TensorSink } from '../onnx/tensorSink';
import { keepsWeightsOutside, writeModel, type WriteResult } from '../onnx/write';

export interface Checked {
  loads: boolean;
  note: string;
}

export interface WriteVerifiedOptions<V extends Checked> {
  /** 'quantized', 'converted': how the messages name the model. */
  what: string;
  signal?: AbortSignal;
  progress: (stage: string) => void;
  /** The error of this mode, with what went wrong and where. */
  fail: (message: string, where?: string) => Error;
  /** Looks further at a verified staged model (it may throw to keep the output from being written). */
  inspect?: (v: V, staged: string) => Promise<void> | void;
  /** A model that does not load which is still written (a provider without kernels for it). */
  writtenUnloaded?: (v: V) => boolean;
  /** The staged output the conversion put its tensors in (openOutputSink). */
  sink?: TensorSink;
}

/**
 * The staged output a conversion of `source` puts its new tensors into as it makes them, when the
 * output keeps its weights outside like its source (writeVerified then finishes it); undefined
 * for a model written inline, whose tensors are encoded into the .onnx at the end. The caller
 * discards it when it fails before writeVerified (discard is a no-op after it).
 */
export function openOutputSink(
  model: OnnxModel,
  source: OnnxModel,
  output: string,
  fail: (message: string, where?: string) => Error,
  signal?: AbortSignal,
): TensorSink | undefined {
  if (!keepsWeightsOutside(source)) return undefined;
  try {
    return new TensorSink(output, { signal, store: model.external });
  } catch (e) {
    throw fail(`cannot stage the output beside it: ${errorMessage(e)}`, output);
  }
}

export async function writeVerified<V extends Checked>(
  model: OnnxModel,
  source: OnnxModel,
  output: string,
  verify: (staged: string) => Promise<V>,
  o: WriteVerifiedOptions<V>,
): Promise<{ written: WriteResult; verification: V }> {
  let verification: V | undefined;
  memoryMark(`${o.what}, before the write`);
  const written = await writeModel(model, output, {
    placement: keepsWeightsOutside(source) ? 'external' : 'keep',
    keepExternal: true,
    release: true,
    signal: o.signal,
    sink: o.sink,
    check: async (staged) => {
      memoryMark(`${o.what}, staged`);
      o.progress('verifying');
      const named = (s: string) => s.split(staged).join(output);
      let v: V;
      try {
        v = await verify(staged);
      } catch (e) {
        throw o.fail(`the ${o.what} model could not be verified, so nothing was written: ${named(errorMessage(e))}`, output);
      }
      memoryMark(`${o.what}, verified`);
      v.note = named(v.note);
      await o.inspect?.(v, staged);
      if (!v.loads && !o.writtenUnloaded?.(v)) {
        throw o.fail(
          `the ${o.what} model does not load in onnxruntime, so nothing was written: ${v.note.replace(/^onnxruntime cannot load the model: /, '')}`,
          output,
        );
      }
      verification = v;
    },
  });
  if (!verification) throw o.fail(`the ${o.what} model was not verified`, output);
  return { written, verification };
}

/**
 * Writes the run's result JSON beside the model (NAME.quant.json, or `resultFile`; false: none).
 * A run whose result cannot be written leaves nothing, rather than a model without its record.
 */
export function writeResultBeside(
  result: QuantResult,
  written: WriteResult,
  resultFile: string | false | undefined,
  o: Pick<WriteVerifiedOptions<Checked>, 'what' | 'fail'>,
): void {
  if (resultFile === false) return;
  const file = resultFile ?? written.file.replace(/\.onnx$/i, '.quant.json');
  try {
    writeFileAtomicSync(file, jsonText(result));
  } catch (e) {
    for (const f of [written.file, written.dataFile]) if (f) fs.rmSync(f, { force: true });
    throw o.fail(`${errorMessage(e)}; the ${o.what} model was not kept either (choose another result path)`);
  }
}

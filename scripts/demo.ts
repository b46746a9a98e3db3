// `npm run demo`: from a fresh clone to a quantized model and its report, with the bundled CLI.
//   1. inspect a small generated sample model (samples/sample-cnn.onnx);
//   2. quantize the committed Fashion-MNIST classifier (static int8, per channel), calibrated on the
//      512 real training images that ship in data/fashion-mnist/;
//   3. analyze it layer by layer on the 1000 shipped test images, with their labels (real
//      accuracy), and write an offline HTML report to open in a browser.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { cpuHasVnni } from '../src/core/runtime/cpu';
import { makeSample } from './make-sample';

const ROOT = path.resolve(__dirname, '..', '..');
const SAMPLES = path.join(ROOT, 'samples');
const FASHION = path.join(ROOT, 'data', 'fashion-mnist');

function cli(...args: string[]): void {
  console.log(`\n$ onnx-compress ${args.map((a) => (a.startsWith(ROOT + path.sep) ? path.relative(ROOT, a) : a)).join(' ')}\n`);
  execFileSync(process.execPath, [path.join(ROOT, 'dist', 'cli.js'), ...args], { stdio: 'inherit', cwd: ROOT });
}

async function main(): Promise<void> {
  fs.mkdirSync(SAMPLES, { recursive: true });
  const sample = path.join(SAMPLES, 'sample-cnn.onnx');
  await makeSample(sample);
  cli('inspect', sample);

  const model = path.join(SAMPLES, 'fashion_cnn.onnx');
  fs.copyFileSync(path.join(ROOT, 'test', 'fixtures', 'models', 'fashion_cnn.onnx'), model);
  // 7-bit weights only where the CPU's integer kernels would saturate full-range ones (no VNNI).
  const reduceRange = cpuHasVnni() === false ? ['--reduce-range'] : [];
  cli('quantize', model, '--calib', path.join(FASHION, 'train-512-images-idx3-ubyte.gz'), '--samples', '512', '--per-channel', ...reduceRange);
  const quantized = path.join(SAMPLES, 'fashion_cnn.int8.onnx');
  const html = path.join(SAMPLES, 'fashion_cnn.int8.report.html');
  const data = ['--data', path.join(FASHION, 't10k-1000-images-idx3-ubyte.gz'), '--labels', path.join(FASHION, 't10k-1000-labels-idx1-ubyte.gz')];
  cli('analyze', model, quantized, ...data, '--samples', '1000', '--top', '5', '--html', html);
  console.log(`\nOpen ${path.relative(ROOT, html)} in a browser for the charts, or samples/fashion_cnn.onnx in VS Code.`);
}

main().catch((e: Error) => {
  console.error(e.message);
  process.exitCode = 1;
});

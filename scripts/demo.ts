// `npm run demo`: from a fresh clone to a quantized model and its report, with the bundled CLI.
//   1. inspect a small generated sample model (samples/sample-cnn.onnx);
//   2. quantize the committed Fashion-MNIST classifier (static int8, per channel), calibrated on
//      Fashion-MNIST training images when Debian's dataset-fashion-mnist is installed, else on
//      synthetic data (zero-shot, with its warning);
//   3. analyze it layer by layer and write an offline HTML report to open in a browser.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { makeSample } from './make-sample';

const ROOT = path.resolve(__dirname, '..', '..');
const SAMPLES = path.join(ROOT, 'samples');
const FASHION = '/usr/share/datasets/fashion-mnist';

function cli(...args: string[]): void {
  console.log(`\n$ onnx-compress ${args.map((a) => a.startsWith(ROOT + path.sep) ? path.relative(ROOT, a) : a).join(' ')}\n`);
  execFileSync(process.execPath, [path.join(ROOT, 'dist', 'cli.js'), ...args], { stdio: 'inherit', cwd: ROOT });
}

async function main(): Promise<void> {
  fs.mkdirSync(SAMPLES, { recursive: true });
  const sample = path.join(SAMPLES, 'sample-cnn.onnx');
  await makeSample(sample);
  cli('inspect', sample);

  const model = path.join(SAMPLES, 'fashion_cnn.onnx');
  fs.copyFileSync(path.join(ROOT, 'test', 'fixtures', 'models', 'fashion_cnn.onnx'), model);
  const real = fs.existsSync(path.join(FASHION, 'train-images-idx3-ubyte.gz'));
  const calib = real ? path.join(FASHION, 'train-images-idx3-ubyte.gz') : 'synthetic:64';
  cli('quantize', model, '--calib', calib, '--samples', '512', '--per-channel', '--reduce-range');
  const quantized = path.join(SAMPLES, 'fashion_cnn.int8.onnx');
  const html = path.join(SAMPLES, 'fashion_cnn.int8.report.html');
  const data = real
    ? ['--data', path.join(FASHION, 't10k-images-idx3-ubyte.gz'), '--labels', path.join(FASHION, 't10k-labels-idx1-ubyte.gz')]
    : ['--data', 'synthetic:64'];
  cli('analyze', model, quantized, ...data, '--samples', '1000', '--top', '5', '--html', html);
  console.log(`\nOpen ${path.relative(ROOT, html)} in a browser for the charts, or samples/fashion_cnn.onnx in VS Code.`);
}

main().catch((e: Error) => {
  console.error(e.message);
  process.exitCode = 1;
});

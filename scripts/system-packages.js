#!/usr/bin/env node
// The Debian packages `npm test` needs, installed before anything else runs: as root it installs
// the missing ones itself (apt-get, Debian's registry only); otherwise it stops at once with the
// one command to run. `.ci/run` and a developer's fresh machine go through the same list.
'use strict';
const { execFileSync, spawnSync } = require('child_process');

/** package -> why the tests need it. */
const PACKAGES = {
  chromium: 'the webview suites and the VS Code workbench (driven by playwright-core)',
  ripgrep: "code-server's search (linked instead of its download)",
  'libkrb5-dev': "code-server's native modules, built from source",
  'libonnx-testdata': "ONNX's backend test models (round-trip suite)",
  'python3-onnx': 'the independent reader the summary is checked against',
  'python3-numpy': 'the Python trainer and the independent reader',
  'python3-torch': 'the distillation trainer and its tests',
  // Debian's torch links the reference BLAS otherwise: about 20x slower matrix products.
  'libopenblas0-pthread': 'a fast BLAS for python3-torch',
  'dataset-fashion-mnist': 'the full Fashion-MNIST sets the accuracy tests use',
};

function missing(names) {
  return names.filter((name) => {
    const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' });
    return r.status !== 0 || !r.stdout.includes('install ok installed');
  });
}

function main() {
  const need = missing(Object.keys(PACKAGES));
  if (need.length === 0) return;
  const command = `apt-get update && apt-get install -y --no-install-recommends ${need.join(' ')}`;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) {
    console.error(`npm test needs Debian packages that are not installed; run:\n  sudo sh -c '${command}'`);
    process.exit(1);
  }
  console.log(`installing ${need.join(', ')} (${need.map((n) => PACKAGES[n]).join('; ')})`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...need], { stdio: ['ignore', 'ignore', 'inherit'], env });
  } catch {
    console.error(`installing the test packages failed; run it by hand to see why:\n  ${command}`);
    process.exit(1);
  }
  const still = missing(need);
  if (still.length) {
    console.error(`still missing after apt-get: ${still.join(', ')}`);
    process.exit(1);
  }
}

module.exports = { PACKAGES };
if (require.main === module) main();

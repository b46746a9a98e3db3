#!/usr/bin/env node
// Packages a platform-specific VSIX: onnxruntime-node ships native binaries for every platform
// (about 290 MB together); each VSIX keeps only its own platform's.
//   node scripts/package.js [TARGET]   TARGET: linux-x64 (default: this machine), linux-arm64,
//                                      darwin-arm64, win32-x64, win32-arm64
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
const TARGETS = ['linux-x64', 'linux-arm64', 'darwin-arm64', 'win32-x64', 'win32-arm64'];
const target = process.argv[2] ?? `${process.platform}-${process.arch}`;
if (!TARGETS.includes(target)) {
  console.error(`unknown target '${target}'; one of ${TARGETS.join(', ')}`);
  process.exit(2);
}
// vsce lets an included (!) pattern win over any excluded one, so the target's binaries replace
// the include of all of them rather than excluding the others.
const [platform, arch] = target.split('-');
const ignore = fs
  .readFileSync(path.join(ROOT, '.vscodeignore'), 'utf8')
  .replace('!node_modules/onnxruntime-node/bin/**', `!node_modules/onnxruntime-node/bin/napi-v*/${platform}/${arch}/**`);
const ignoreFile = path.join(os.tmpdir(), `vscodeignore-${target}-${process.pid}`);
fs.writeFileSync(ignoreFile, ignore);
try {
  const { version, name } = require(path.join(ROOT, 'package.json'));
  const out = path.join(ROOT, `${name}-${target}-${version}.vsix`);
  execFileSync(
    'npx',
    ['vsce', 'package', '--target', target, '--ignoreFile', ignoreFile, '--no-rewrite-relative-links', '--allow-missing-repository', '-o', out],
    { cwd: ROOT, stdio: 'inherit' },
  );
} finally {
  fs.rmSync(ignoreFile, { force: true });
}

#!/usr/bin/env node
// `npm test`: the mocha suites (unit, webview), the Python trainer's, the VS Code integration suite
// and the VS Code UI suite, one after the
// other, each printing its own `N passed, N failed`; this adds the closing line with the totals.
// Exit code 0 only when every suite ran tests and none failed.
'use strict';
const { spawn } = require('child_process');

// The Python trainer's unit tests need torch and numpy: Debian's python3-torch (see .ci/run) or the
// interpreter named by ONNX_COMPRESS_PYTHON.
const PYTHON = process.env.ONNX_COMPRESS_PYTHON || '/usr/bin/python3';

const SUITES = [
  ['unit and webview', ['npx', 'mocha']],
  ['Python trainer', [PYTHON, 'python/tests/run.py']],
  ['VS Code integration', ['node', 'out/test/integration/runner.js']],
  // The workbench driven by clicks and keystrokes (test/ui); failures keep screenshots and logs in .test-output/ui/.
  ['VS Code UI', ['npx', 'mocha', '--config', '.mocharc.ui.json']],
];

function run([name, [cmd, ...args]]) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let last;
    child.stdout.on('data', (d) => {
      process.stdout.write(d);
      for (const m of d.toString().matchAll(/^(\d+) passed, (\d+) failed/gm)) last = { passed: +m[1], failed: +m[2] };
    });
    child.on('close', (code) => resolve({ name, code, ...(last ?? { passed: 0, failed: 0 }) }));
  });
}

(async () => {
  const results = [];
  for (const suite of SUITES) results.push(await run(suite));
  const passed = results.reduce((s, r) => s + r.passed, 0);
  const failed = results.reduce((s, r) => s + r.failed, 0);
  console.log('');
  for (const r of results) console.log(`  ${r.name}: ${r.passed} passed, ${r.failed} failed (exit ${r.code})`);
  console.log(`\n${passed} passed, ${failed} failed`);
  process.exitCode = results.every((r) => r.code === 0 && r.passed > 0) && failed === 0 ? 0 : 1;
})();

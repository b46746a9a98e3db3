#!/usr/bin/env node
// `npm test`: the lint, the mocha suites (fast unit; engine and webview), the Python trainer's, the
// VS Code integration suite and the VS Code UI suite, one after the other, each printing its own
// `N passed, N failed` (the lint counts as one check, passed when it exits 0); this adds the
// closing line with the totals. Exit code 0 only when every suite ran tests and none failed.
'use strict';
const { spawn } = require('child_process');

// The Python trainer's unit tests need torch and numpy: Debian's python3-torch (see .ci/run) or the
// interpreter named by ONNX_COMPRESS_PYTHON.
const PYTHON = process.env.ONNX_COMPRESS_PYTHON || '/usr/bin/python3';

const SUITES = [
  // ESLint (import/no-cycle included) and Prettier's check: one pass/fail, by exit code.
  ['lint', ['npm', 'run', '--silent', 'lint'], { byExitCode: true }],
  // Pure unit tests, seconds (test/unit, .mocharc.json).
  ['unit', ['npx', 'mocha']],
  // The engine against onnxruntime-node, models, Python and the CLI; the webview apps in Chromium.
  ['engine and webview', ['npx', 'mocha', '--config', '.mocharc.engine.json']],
  ['Python trainer', [PYTHON, 'python/tests/run.py']],
  ['VS Code integration', ['node', 'out/test/integration/runner.js']],
  // The workbench driven by clicks and keystrokes (test/ui); failures keep screenshots and logs in .test-output/ui/.
  ['VS Code UI', ['npx', 'mocha', '--config', '.mocharc.ui.json']],
];

function run([name, [cmd, ...args], { byExitCode = false } = {}]) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let last;
    child.stdout.on('data', (d) => {
      process.stdout.write(d);
      for (const m of d.toString().matchAll(/^(\d+) passed, (\d+) failed/gm)) last = { passed: +m[1], failed: +m[2] };
    });
    child.on('close', (code) => {
      if (byExitCode) last = { passed: code === 0 ? 1 : 0, failed: code === 0 ? 0 : 1 };
      resolve({ name, code, ...(last ?? { passed: 0, failed: 0 }) });
    });
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

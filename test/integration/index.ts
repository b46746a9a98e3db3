// Entry point the extension host loads (extensionTestsPath): runs the integration suite with
// mocha inside the real VS Code extension host and reports the counts to the runner.
import * as fs from 'fs';
import * as path from 'path';
import Mocha from 'mocha';

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', color: false, timeout: 60000, reporter: 'spec' });
  // ONNX_IT_FILES=quantize,distill runs only those suites (while working on one of them).
  const only = process.env.ONNX_IT_FILES?.split(',').map((f) => `${f.trim()}.test.js`);
  for (const file of fs
    .readdirSync(__dirname)
    .filter((f) => f.endsWith('.test.js'))
    .sort()) {
    if (!only || only.includes(file)) mocha.addFile(path.join(__dirname, file));
  }
  return new Promise((resolve, reject) => {
    const runner = mocha.run((failures) => {
      const s = runner.stats ?? { passes: 0, pending: 0 };
      // The runner outside reads this line and prints the closing `N passed, N failed`.
      console.log(`__TEST_SUMMARY__${JSON.stringify({ passed: s.passes, failed: failures, skipped: s.pending })}`);
      if (failures > 0) reject(new Error(`${failures} integration tests failed`));
      else resolve();
    });
  });
}

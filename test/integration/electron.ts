// The same integration suite on a desktop with internet: @vscode/test-electron downloads a VS Code
// build and runs the suite in its extension host. (These offline machines use runner.ts instead.)
//   node out/test/integration/electron.js
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runTests } from '@vscode/test-electron';
import { ROOT } from '../support/browser';
import { prepareWorkspace } from './workspace';

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-compress-it-'));
  try {
    const workspace = await prepareWorkspace(path.join(tmp, 'workspace'));
    await runTests({
      version: '1.100.3',
      extensionDevelopmentPath: ROOT,
      extensionTestsPath: path.join(__dirname, 'index.js'),
      launchArgs: [workspace, '--disable-extensions', '--disable-workspace-trust'],
    });
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

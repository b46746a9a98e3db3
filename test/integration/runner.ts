// Runs the integration suite inside a real VS Code extension host, offline: code-server 4.100.3
// (VS Code 1.100.3, installed by scripts/install-code-server.sh) serves the workbench, Debian's
// Chromium opens it through playwright-core, and the test paths travel in the workbench URL (code-
// server refuses --extensionDevelopmentPath). The extension host reports its console and exit code
// through the two functions the workbench calls for automation.
//
//   node out/test/integration/runner.js        (prints `N passed, N failed`; exit 0 only if all passed)
//
// On a desktop with internet, `node out/test/integration/electron.js` runs the same suite through
// @vscode/test-electron instead.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { format } from 'util';
import { chromium, type Browser } from 'playwright-core';
import { stopGroup } from '../support/processGroup';
import { ARTIFACTS, CHROMIUM_ARGS, chromiumPath, ROOT } from '../support/browser';
import { CODE_SERVER, codeServerEnv, spawnCodeServer } from '../support/codeServer';
import { prepareWorkspace } from './workspace';

const TIMEOUT_MS = Number(process.env.INTEGRATION_TIMEOUT_MS ?? 15 * 60 * 1000);

interface Summary {
  passed: number;
  failed: number;
  skipped: number;
}

const started = Date.now();
const log = (...a: unknown[]) => console.log(`[runner +${((Date.now() - started) / 1000).toFixed(1)}s]`, ...a);

async function main(): Promise<number> {
  if (!fs.existsSync(CODE_SERVER)) {
    console.error(`code-server is not installed at ${CODE_SERVER}: run scripts/install-code-server.sh`);
    return 2;
  }
  if (!fs.existsSync(path.join(ROOT, 'dist', 'extension.js'))) {
    console.error('dist/extension.js is missing: run `npm run build`');
    return 2;
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-compress-it-'));
  const workspace = await prepareWorkspace(path.join(tmp, 'workspace'));
  const env = codeServerEnv(tmp);
  const { server, port } = spawnCodeServer(tmp, path.join(tmp, 'user-data'), env);
  let browser: Browser | undefined;
  let summary: Summary | undefined;
  try {
    const exitCode = await new Promise<number>((resolve) => {
      const timer = setTimeout(() => {
        log(`timed out after ${TIMEOUT_MS / 1000} s`);
        resolve(3);
      }, TIMEOUT_MS);
      server.on('exit', (code) => resolve(code ?? 4));
      server.stderr!.on('data', (d) => process.stderr.write(`[code-server] ${d}`));
      server.stdout!.on('data', async (d: Buffer) => {
        if (!/HTTP server listening on/.test(d.toString())) return;
        try {
          const base = `http://127.0.0.1:${port}/`;
          browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS, env });
          const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
          page.on('pageerror', (e) => log('page error:', e.message));
          await page.exposeFunction('codeAutomationLog', async (_type: string, args: unknown[]) => {
            const line = format(...(args ?? []));
            const m = /__TEST_SUMMARY__(\{.*\})/.exec(line);
            const shot = /__SCREENSHOT__ (\S+)/.exec(line);
            if (m) summary = JSON.parse(m[1]) as Summary;
            else if (shot) await screenshot(shot[1]);
            else console.log(line);
          });
          const screenshot = async (name: string) => {
            fs.mkdirSync(ARTIFACTS, { recursive: true });
            await page.screenshot({ path: path.join(ARTIFACTS, `${path.basename(name)}.png`) }).catch((e) => log('screenshot failed:', e.message));
          };
          await page.exposeFunction('codeAutomationExit', async (code: number) => {
            await screenshot('vscode-at-exit');
            clearTimeout(timer);
            resolve(code);
          });
          const html = await (await fetch(base)).text();
          const authority = /remoteAuthority&quot;:&quot;([^&]+)&quot;/.exec(html)?.[1] ?? `127.0.0.1:${port}`;
          const remote = (p: string) => `vscode-remote://${authority}${p}`;
          const payload = JSON.stringify([
            ['extensionDevelopmentPath', remote(ROOT)],
            ['extensionTestsPath', remote(path.join(__dirname, 'index.js'))],
            ['skipWelcome', 'true'],
          ]);
          log('opening the workbench');
          await page.goto(`${base}?folder=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(payload)}`);
        } catch (e) {
          log('runner error:', e);
          resolve(3);
        }
      });
    });
    if (!summary) {
      console.log('the extension host reported no test');
      return exitCode === 0 ? 5 : exitCode;
    }
    console.log(`\n${summary.passed} passed, ${summary.failed} failed${summary.skipped ? `, ${summary.skipped} skipped` : ''}`);
    return summary.passed === 0 ? 5 : exitCode;
  } finally {
    await browser?.close().catch(() => undefined);
    await stopGroup(server);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

void main().then((code) => process.exit(code));

// code-server for the suites that drive a real VS Code (integration, UI): one place for where it is
// installed, the private home it runs in (offline: no extension gallery) and how it is started.
import { spawn, type ChildProcess } from 'child_process';
import * as path from 'path';
import { ROOT } from './browser';

export const CODE_SERVER = path.join(ROOT, '.vscode-test', 'code-server', 'node_modules', '.bin', 'code-server');

/** The environment of a code-server (and its browser) that keeps everything under `tmp`. */
export function codeServerEnv(tmp: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    HOME: tmp,
    XDG_CONFIG_HOME: path.join(tmp, 'config'),
    XDG_DATA_HOME: path.join(tmp, 'data'),
    XDG_CACHE_HOME: path.join(tmp, 'cache'),
    // No extension marketplace: these machines are offline.
    EXTENSIONS_GALLERY: '{}',
  };
}

/** Starts code-server on a random local port, in its own process group (stopGroup ends it). */
export function spawnCodeServer(tmp: string, userData: string, env: NodeJS.ProcessEnv): { server: ChildProcess; port: number } {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const server = spawn(
    CODE_SERVER,
    [
      '--auth',
      'none',
      '--bind-addr',
      `127.0.0.1:${port}`,
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      '--user-data-dir',
      userData,
      '--extensions-dir',
      path.join(tmp, 'extensions'),
    ],
    { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  return { server, port };
}

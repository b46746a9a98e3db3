// Shared by the integration suites: the workspace the host opened, and polling for a condition
// that the extension reaches asynchronously (a view drawn, a file written, an event received).
import * as vscode from 'vscode';

export const workspace = (): string => vscode.workspace.workspaceFolders![0].uri.fsPath;

export async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, ms = 60000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

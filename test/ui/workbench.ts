// A real VS Code workbench driven as a person drives it: code-server 4.100.3 (VS Code 1.100.3) with
// the extension loaded for development, opened in Debian's Chromium through playwright-core. The
// tests click the Explorer's context menu, the editor title, the palette, QuickPick rows and
// buttons inside webviews, and read what is on screen; no command is called with arguments of the
// test's choosing.
import type { ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { chromium, type Browser, type Frame, type Locator, type Page } from 'playwright-core';
import { stopGroup } from '../support/processGroup';
import { CHROMIUM_ARGS, chromiumPath, ROOT } from '../support/browser';
import { CODE_SERVER, codeServerEnv, spawnCodeServer } from '../support/codeServer';

/** Screenshots and workbench logs of failed UI tests (README: "Tests"). */
export const UI_ARTIFACTS = path.join(ROOT, '.test-output', 'ui');

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns something truthy; fails naming `what` and the last error. */
export async function until<T>(what: string, probe: () => Promise<T | undefined | false | null> | T | undefined | false | null, timeoutMs = 30000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${last instanceof Error ? last.message : last})` : ''}`);
    await sleep(150);
  }
}

export class Workbench {
  private constructor(
    readonly page: Page,
    readonly workspace: string,
    private readonly tmp: string,
    private readonly server: ChildProcess,
    private readonly browser: Browser,
    private readonly serverLog: string[],
  ) {}

  /** Starts code-server on `workspace` and opens the workbench with the extension under development. */
  static async start(workspace: string): Promise<Workbench> {
    if (!fs.existsSync(CODE_SERVER)) throw new Error(`code-server is not installed at ${CODE_SERVER}: run scripts/install-code-server.sh`);
    if (!fs.existsSync(path.join(ROOT, 'dist', 'extension.js'))) throw new Error('dist/extension.js is missing: run `npm run build`');
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-compress-ui-'));
    const env = codeServerEnv(tmp);
    const userData = path.join(tmp, 'user-data');
    // Settings a person would have after dismissing the first-run prompts.
    fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
    fs.writeFileSync(
      path.join(userData, 'User', 'settings.json'),
      JSON.stringify({
        'workbench.startupEditor': 'none',
        'workbench.tips.enabled': false,
        'security.workspace.trust.enabled': false,
        'extensions.ignoreRecommendations': true,
        'telemetry.telemetryLevel': 'off',
        'files.simpleDialog.enable': true,
        'window.dialogStyle': 'custom',
        'workbench.enableExperiments': false,
      }),
    );
    const { server, port } = spawnCodeServer(tmp, userData, env);
    const serverLog: string[] = [];
    server.stderr!.on('data', (d) => serverLog.push(String(d)));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`code-server did not start: ${serverLog.join('')}`)), 60000);
      server.on('exit', (code) => reject(new Error(`code-server exited (${code}): ${serverLog.join('')}`)));
      server.stdout!.on('data', (d: Buffer) => {
        serverLog.push(String(d));
        if (/HTTP server listening on/.test(String(d))) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS, env });
    // Copy Name writes the clipboard; the test reads it back.
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 }, permissions: ['clipboard-read', 'clipboard-write'] });
    const base = `http://127.0.0.1:${port}/`;
    const html = await (await fetch(base)).text();
    const authority = /remoteAuthority&quot;:&quot;([^&]+)&quot;/.exec(html)?.[1] ?? `127.0.0.1:${port}`;
    const payload = JSON.stringify([
      ['extensionDevelopmentPath', `vscode-remote://${authority}${ROOT}`],
      ['skipWelcome', 'true'],
    ]);
    await page.goto(`${base}?folder=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(payload)}`);
    // The workbench's own console (errors and warnings) goes into the artifacts of a failed test.
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') serverLog.push(`[workbench ${m.type()}] ${m.text()}\n`);
    });
    page.on('pageerror', (e) => serverLog.push(`[workbench error] ${e.message}\n`));
    const bench = new Workbench(page, workspace, tmp, server, browser, serverLog);
    await until('the Explorer to list the workspace', () => page.locator('.explorer-folders-view .monaco-list-row').first().isVisible(), 90000);
    // The extension's view container in the activity bar means it is loaded.
    await until('the ONNX view container', () => page.locator('.activitybar [aria-label^="ONNX"]').first().isVisible(), 90000);
    return bench;
  }

  async stop(): Promise<void> {
    await this.browser.close().catch(() => undefined);
    await stopGroup(this.server);
    fs.rmSync(this.tmp, { recursive: true, force: true });
  }

  /** Keeps a screenshot and the workbench's logs (the extension's output channel included). */
  async keepArtifacts(name: string): Promise<string> {
    const dir = path.join(UI_ARTIFACTS, name.replace(/[^\w.-]+/g, '_').slice(0, 120));
    fs.mkdirSync(dir, { recursive: true });
    await this.page.screenshot({ path: path.join(dir, 'screen.png') }).catch(() => undefined);
    fs.writeFileSync(path.join(dir, 'workbench.log'), this.serverLog.join(''));
    const logs = path.join(this.tmp, 'user-data', 'logs');
    if (fs.existsSync(logs)) fs.cpSync(logs, path.join(dir, 'logs'), { recursive: true });
    return dir;
  }

  /** A screenshot of the current screen, kept under .test-output/ui/steps/ to look at. */
  async shot(name: string): Promise<void> {
    const dir = path.join(UI_ARTIFACTS, 'steps');
    fs.mkdirSync(dir, { recursive: true });
    await this.page.screenshot({ path: path.join(dir, `${name}.png`) });
  }

  // ---- the Explorer ----------------------------------------------------------------------------

  explorerRow(file: string): Locator {
    return this.page
      .locator('.explorer-folders-view .monaco-list-row')
      .filter({ has: this.page.locator('.label-name', { hasText: new RegExp(`^${escapeRe(file)}$`) }) });
  }

  async showExplorer(): Promise<void> {
    if (!(await this.page.locator('.explorer-folders-view').isVisible())) await this.page.keyboard.press('Control+Shift+E');
    await until('the Explorer', () => this.page.locator('.explorer-folders-view').isVisible());
  }

  /**
   * Scrolls the Explorer until the row of `file` is drawn. The list draws only the rows in view: in a
   * workspace the earlier flows filled, a file can sit below the fold.
   */
  async revealInExplorer(file: string): Promise<Locator> {
    await this.showExplorer();
    const row = this.explorerRow(file);
    const list = this.page.locator('.explorer-folders-view .monaco-list');
    let step = 0;
    await until(
      `${file} in the Explorer`,
      async () => {
        if (await row.isVisible()) return true;
        await list.hover();
        // Down a few rows at a time; from the top again after a full sweep.
        await this.page.mouse.wheel(0, step++ % 30 === 29 ? -100000 : 120);
        await sleep(100);
        return row.isVisible();
      },
      60000,
    );
    return row;
  }

  /** Left-clicks a file in the Explorer (opens it in its default editor). */
  async openFromExplorer(file: string): Promise<void> {
    await this.showExplorer();
    // The list can move under the pointer while files appear or go: click until that file's tab is the active one.
    await until(
      `${file} opened from the Explorer`,
      async () => {
        if ((await this.activeTab()) === file) return true;
        await (await this.revealInExplorer(file)).click();
        await sleep(1000);
        return (await this.activeTab()) === file;
      },
      60000,
    );
  }

  /** Right-clicks a file in the Explorer and clicks `entry` in the context menu. */
  async explorerMenu(file: string, entry: string): Promise<void> {
    const row = await this.revealInExplorer(file);
    await this.contextMenu(() => row.click({ button: 'right' }), entry);
  }

  /** Opens a context menu with `open` and clicks `entry` (retried: the first menu can come before the extension's entries). */
  async contextMenu(open: () => Promise<void>, entry: string): Promise<void> {
    const menu = this.page.locator('.monaco-menu');
    const item = menu.locator('.action-item .action-label', { hasText: new RegExp(`^${escapeRe(entry)}$`) });
    await until(`"${entry}" in the context menu`, async () => {
      if (!(await menu.first().isVisible())) await open();
      if (await item.first().isVisible()) return true;
      await this.page.keyboard.press('Escape');
      return false;
    });
    // The menu ignores clicks for a moment after it is drawn.
    await sleep(200);
    await until(`"${entry}" clicked`, async () => {
      if (!(await item.first().isVisible())) return true;
      await item.first().click();
      await sleep(200);
      return !(await item.first().isVisible());
    });
  }

  // ---- the palette and quick input -------------------------------------------------------------

  quickInput(): Locator {
    return this.page.locator('.quick-input-widget');
  }

  /** Runs a command from the Command Palette by typing its title, as a person does. */
  async palette(title: string): Promise<void> {
    await this.closeQuickInput();
    const input = this.quickInput().locator('.quick-input-box input');
    // A command that moves the focus as it ends (Open Model Inspector focuses its view) closes a
    // palette opened meanwhile: open it again until the title is typed.
    await until('the Command Palette', async () => {
      if (!(await input.isVisible())) await this.page.keyboard.press('F1');
      await input.fill(`>${title}`, { timeout: 2000 });
      return (await input.inputValue()) === `>${title}`;
    });
    // The row whose label is the title exactly ("Close All Editors", not "... in Group").
    // Contributed commands show their category ("ONNX: ..."), view commands their view's.
    const rows = this.quickInput().locator('.quick-input-list .monaco-list-row');
    const label = await until(`"${title}" in the palette`, async () => {
      for (const text of await rows.locator('.label-name').allInnerTexts()) {
        const t = text.trim();
        if (t === title || t.endsWith(`: ${title}`)) return t;
      }
      return undefined;
    });
    // The row is found again by its label when it is clicked: the list re-renders as it filters, so
    // a row held by position could be another command by then. A click the list drops leaves the
    // palette open on the title, and is repeated.
    const row = rows.filter({ has: this.page.locator('.label-name', { hasText: new RegExp(`^\\s*${escapeRegExp(label)}\\s*$`) }) }).first();
    await until(`"${title}" run from the palette`, async () => {
      if (!(await input.isVisible()) || (await input.inputValue().catch(() => '')) !== `>${title}`) return true;
      await row.click({ timeout: 2000 }).catch(() => undefined);
      await sleep(300);
      return !(await input.isVisible()) || (await input.inputValue().catch(() => '')) !== `>${title}`;
    });
  }

  async closeQuickInput(): Promise<void> {
    for (let i = 0; i < 3 && (await this.quickInput().isVisible()); i++) {
      await this.page.keyboard.press('Escape');
      await sleep(150);
    }
  }

  /** Waits for the QuickPick/InputBox whose title matches; returns its title text. */
  async quickTitle(title: RegExp, timeoutMs = 30000): Promise<string> {
    return until(
      `a quick input titled ${title}`,
      async () => {
        if (!(await this.quickInput().isVisible())) return undefined;
        const text = (await this.quickInput().locator('.quick-input-title').textContent()) ?? '';
        return title.test(text) ? text : undefined;
      },
      timeoutMs,
    );
  }

  async quickRows(): Promise<string[]> {
    return this.quickInput().locator('.quick-input-list .monaco-list-row').allInnerTexts();
  }

  /** The row the quick input has active (what Enter would accept). */
  async quickActive(): Promise<string> {
    return (
      (await this.quickInput()
        .locator('.quick-input-list .monaco-list-row.focused')
        .first()
        .innerText()
        .catch(() => '')) ?? ''
    );
  }

  /** The quick input's placeholder or validation message (what it asks or refuses). */
  async quickMessage(): Promise<string> {
    const box = this.quickInput().locator('.quick-input-box input');
    const placeholder = (await box.getAttribute('placeholder')) ?? '';
    const message = await this.quickInput()
      .locator('.quick-input-message')
      .textContent()
      .catch(() => '');
    return [placeholder, message ?? ''].filter(Boolean).join(' | ');
  }

  /** Types into the quick input's box (replacing what is there). */
  async quickType(text: string): Promise<void> {
    const box = this.quickInput().locator('.quick-input-box input');
    await box.fill(text);
  }

  /** Clicks the row whose text matches (single-select: accepts it; multi-select: toggles it). */
  async quickPick(row: RegExp): Promise<void> {
    const target = this.quickInput().locator('.quick-input-list .monaco-list-row').filter({ hasText: row }).first();
    await until(`a row ${row} among: ${(await this.quickRows()).join(' | ')}`, () => target.isVisible(), 15000);
    await target.click();
  }

  /** Accepts a file dialog (VS Code's simple dialog, a quick input with an OK button). */
  async dialogOk(): Promise<void> {
    const ok = this.dialogOkButton();
    await until("the dialog's OK button", () => ok.isVisible());
    await ok.click();
  }

  /** Presses the dialog's OK button if it is on screen now; never waits for it. */
  async dialogOkIfShown(): Promise<void> {
    const ok = this.dialogOkButton();
    if (await ok.isVisible()) await ok.click({ timeout: 2000 }).catch(() => undefined);
  }

  private dialogOkButton(): Locator {
    return this.quickInput().locator('.monaco-button', { hasText: /^OK$/ }).first();
  }

  async quickEnter(): Promise<void> {
    await this.quickInput().locator('.quick-input-box input').press('Enter');
  }

  async quickBack(): Promise<void> {
    await this.quickInput().locator('.quick-input-titlebar .action-label[aria-label="Back"], .quick-input-titlebar .codicon-quick-input-back').first().click();
  }

  // ---- editors, notifications, dialogs --------------------------------------------------------

  /** Clicks an action of the active editor's title bar by its label. */
  async editorTitleAction(label: string): Promise<void> {
    const action = this.page.locator(`.editor-group-container.active .editor-actions .action-label[aria-label^="${label}"]`);
    await until(`the editor title action "${label}"`, () => action.first().isVisible());
    await action.first().click();
  }

  /** The header of a side-bar view (its title actions show on hover). */
  viewPane(title: string): Locator {
    return this.page
      .locator('.pane')
      .filter({ has: this.page.locator('.pane-header', { hasText: title }) })
      .first();
  }

  /** Clicks an action in a view's title bar by its label. */
  async viewTitleAction(view: string, label: string): Promise<void> {
    const pane = this.viewPane(view);
    await pane.locator('.pane-header').hover();
    const action = pane.locator(`.pane-header .actions .action-label[aria-label^="${label}"]`);
    await until(`the "${label}" action of ${view}`, () => action.first().isVisible());
    await action.first().click();
  }

  /** A row of a side-bar view's tree, by its label. */
  treeRow(view: string, label: RegExp): Locator {
    return this.viewPane(view)
      .locator('.monaco-list-row')
      .filter({ has: this.page.locator('.label-name', { hasText: label }) })
      .first();
  }

  /** Clicks an inline action of a tree row (shown on hover). */
  async treeInlineAction(view: string, row: RegExp, label: string): Promise<void> {
    const r = this.treeRow(view, row);
    await until(`the row ${row} in ${view}`, () => r.isVisible());
    await r.hover();
    const action = r.locator(`.actions .action-label[aria-label^="${label}"]`);
    await until(`the inline "${label}" of ${row}`, () => action.first().isVisible());
    await action.first().click();
  }

  /** Runs the palette's "Focus on VIEW View" command: how a person brings a side-bar view up. */
  async focusView(view: string): Promise<void> {
    await this.palette(`Focus on ${view} View`);
    await until(`the ${view} view`, () => this.viewPane(view).isVisible());
  }

  /** The titles of the open editor tabs. */
  async tabs(): Promise<string[]> {
    return this.page.locator('.tabs-container .tab .label-name').allInnerTexts();
  }

  async activeTab(): Promise<string> {
    // allInnerTexts does not wait: '' when no editor is open.
    return (await this.page.locator('.editor-group-container.active .tab.active .label-name').allInnerTexts())[0]?.trim() ?? '';
  }

  /** The text of every notification on screen. */
  async notifications(): Promise<string[]> {
    return this.page.locator('.notifications-toasts .notification-toast .notification-list-item-message').allInnerTexts();
  }

  async notification(text: RegExp, timeoutMs = 60000): Promise<string> {
    return until(`a notification ${text}`, async () => (await this.notifications()).find((n) => text.test(n)), timeoutMs);
  }

  /** Clicks a button of the notification whose text matches. */
  async notificationButton(text: RegExp, button: string): Promise<void> {
    const toast = this.page.locator('.notifications-toasts .notification-toast').filter({ hasText: text }).first();
    await toast.locator('.monaco-button', { hasText: button }).first().click();
  }

  async clearNotifications(): Promise<void> {
    await this.palette('Notifications: Clear All Notifications').catch(() => undefined);
  }

  /** A modal dialog's message, once one is up. */
  async dialog(text: RegExp): Promise<string> {
    const box = this.page.locator('.monaco-dialog-box');
    return until(`a dialog ${text}`, async () => {
      if (!(await box.isVisible())) return undefined;
      const t = (await box.innerText()) ?? '';
      return text.test(t) ? t : undefined;
    });
  }

  async dialogButton(label: string): Promise<void> {
    await this.page
      .locator('.monaco-dialog-box .monaco-button', { hasText: new RegExp(`^${escapeRe(label)}$`) })
      .first()
      .click();
  }

  /** The webview frame (of any open webview) that holds `selector`. */
  /** Right-click `folder/file` in the Explorer -> Quantize Model..., and pick the preset. */
  async quantizeFromExplorer(folder: string, file: string, preset: RegExp): Promise<void> {
    await this.closeAllEditors();
    await this.showExplorer();
    const folderRow = await this.revealInExplorer(folder);
    if ((await folderRow.getAttribute('aria-expanded')) !== 'true') await folderRow.click();
    await this.explorerMenu(file, 'Quantize Model...');
    await this.quickTitle(new RegExp(`^Quantize ${escapeRe(file)}: preset`));
    await this.quickPick(preset);
  }

  /** The text of the quantization report in the panel, once `shows` matches it. */
  async reportText(shows: RegExp): Promise<string> {
    const frame = await this.webview('#export-html', 180000);
    let text = '';
    await until(
      `the report showing ${shows}`,
      async () => {
        text = await frame.locator('body').innerText();
        return shows.test(text);
      },
      60000,
    );
    return text;
  }

  async webview(selector: string, timeoutMs = 60000): Promise<Frame> {
    return until(
      `a webview showing ${selector}`,
      async () => {
        for (const f of this.page.frames()) {
          if (f === this.page.mainFrame()) continue;
          const el = await f.$(selector).catch(() => null);
          if (el && (await el.isVisible().catch(() => false))) return f;
        }
        return undefined;
      },
      timeoutMs,
    );
  }

  /** Runs the palette's "View: Close All Editors" and waits until no tab is left. */
  async closeAllEditors(): Promise<void> {
    await this.palette('View: Close All Editors');
    await until('every editor closed', async () => (await this.page.locator('.tabs-container .tab').count()) === 0);
  }
}

export function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// The quantization report app in real headless Chromium: the bundled dist/report.js with a fixture
// report of 2,000 layers, (1) on the page the VS Code panel serves (same CSP), with acquireVsCodeApi
// recording what the app posts and answering the way ReportPanel does, and (2) standalone, in the
// offline HTML page the engine writes (reportHtml), with no host at all.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { chromium, type Browser, type Page } from 'playwright-core';
import * as os from 'os';
import { analyzeQuantization } from '../../src/core/analysis/analyze';
import { writeReportHtml } from '../../src/core/analysis/htmlReport';
import { quantizeModel } from '../../src/core/quant/pipeline';
import { resolveSettings } from '../../src/core/quant/settings';
import { formatBytes, formatRelativeError } from '../../src/shared/format';
import { parseQuantReport, type QuantReport } from '../../src/shared/quantReport';
import {
  nodesToKeepInFloat,
  REPORT_SCRIPT,
  REPORT_STYLESHEETS,
  REPORT_VIEW_PROTOCOL,
  type FromReportViewMessages,
  type ToReportViewMessages,
} from '../../src/shared/reportViewProtocol';
import { webviewPageHtml } from '../../src/shared/webviewHtml';
import { ARTIFACTS, CHROMIUM_ARGS, chromiumPath, ROOT } from '../support/browser';
import { FASHION_DIR, FIXTURES } from '../support/evaluate';
import { LM_CALIB, LM_HELDOUT, LM_MODEL } from '../support/languageModel';
import { keptInFloatFixture, reportFixture } from '../support/reportFixture';
import { fromView, toView, type Flat } from '../support/viewMessages';
import { inkOf, setVsCodeTheme } from '../support/vscodeTheme';

type FromReportView = { type: 'ready' } | Flat<FromReportViewMessages>;
type ToReportView = Flat<ToReportViewMessages>;
const parseReportViewMessage = (raw: unknown): FromReportView | string => {
  try {
    return fromView(REPORT_VIEW_PROTOCOL, raw);
  } catch (e) {
    return (e as Error).message;
  }
};

const ORIGIN = 'https://webview.test';
const MARKUP = ['<img src=x onerror="window.__pwned=1">', '<script>window.__pwned=2</script>', '"><svg onload="window.__pwned=3">'];

interface Session {
  page: Page;
  /** Every message the app posted, validated as the host validates them. */
  posted: FromReportView[];
  problems: string[];
  send(msg: ToReportView): Promise<void>;
}

function pageErrors(page: Page, problems: string[]): void {
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(e.message));
}

/** The panel's page with a host that posts `report` after `ready`, like ReportPanel. */
async function openPanel(
  browser: Browser,
  report: unknown,
  theme: 'dark' | 'light' = 'dark',
  savedState?: unknown,
  viewport = { width: 1400, height: 900 },
): Promise<Session> {
  const page = await browser.newPage({ viewport });
  const s: Session = {
    page,
    posted: [],
    problems: [],
    send: (msg) => page.evaluate((json) => window.postMessage(JSON.parse(json), '*'), JSON.stringify(toView(msg))),
  };
  pageErrors(page, s.problems);
  const files: Record<string, string> = { [`/${REPORT_SCRIPT}`]: path.join(ROOT, REPORT_SCRIPT) };
  for (const css of REPORT_STYLESHEETS) files[`/${css}`] = path.join(ROOT, css);
  await page.route(`${ORIGIN}/**`, (route) => {
    const url = new URL(route.request().url());
    if (url.pathname === '/') {
      return route.fulfill({
        contentType: 'text/html',
        body: webviewPageHtml({
          nonce: 'test-nonce',
          cspSource: ORIGIN,
          scriptUri: `${ORIGIN}/${REPORT_SCRIPT}`,
          styleUri: REPORT_STYLESHEETS.map((c) => `${ORIGIN}/${c}`),
          title: 'report',
        }),
      });
    }
    const file = files[url.pathname];
    return file ? route.fulfill({ path: file }) : route.fulfill({ status: 404 });
  });
  await page.exposeFunction('hostReceive', async (raw: unknown) => {
    const msg = parseReportViewMessage(raw);
    if (typeof msg === 'string') {
      s.problems.push(`the view sent an invalid message: ${msg}`);
      return;
    }
    s.posted.push(msg);
    if (msg.type === 'ready') await s.send({ type: 'report', report: report as QuantReport, previous: null });
  });
  // VS Code keeps a webview's state while it is hidden or reloaded; `savedState` plays that part.
  await page.addInitScript(
    (saved) => {
      let state: unknown = saved === null ? undefined : JSON.parse(saved);
      const w = window as unknown as { acquireVsCodeApi: () => unknown; savedState: () => string; hostReceive: (m: unknown) => void };
      w.acquireVsCodeApi = () => ({
        postMessage: (m: unknown) => w.hostReceive(m),
        getState: () => state,
        setState: (v: unknown) => {
          state = v;
        },
      });
      w.savedState = () => JSON.stringify(state);
    },
    savedState === undefined ? null : JSON.stringify(savedState),
  );
  await page.addInitScript(setVsCodeTheme, theme);
  await page.goto(`${ORIGIN}/`);
  return s;
}

/** The offline HTML report, as `onnx-compress analyze --html` writes it, opened with no network. */
async function openStandalone(browser: Browser, report: unknown): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const problems: string[] = [];
  pageErrors(page, problems);
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-compress-report-')), 'report.html');
  writeReportHtml(report as QuantReport, file, ROOT);
  const html = fs.readFileSync(file, 'utf8');
  fs.rmSync(path.dirname(file), { recursive: true, force: true });
  await page.route('**/*', (route) =>
    route.request().url() === `${ORIGIN}/report.html` ? route.fulfill({ contentType: 'text/html', body: html }) : route.abort(),
  );
  await page.goto(`${ORIGIN}/report.html`);
  return { page, problems };
}

async function clickTab(page: Page, name: string): Promise<void> {
  await page.click(`vscode-tab-header[data-tab="${name}"]`);
  await page.waitForFunction((n) => document.body.dataset.tab === n, name);
  // A tab draws on the animation frame after it is shown; one more frame here runs after that draw.
  await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => done(null))));
}

async function waitForInk(page: Page, selector: string): Promise<number> {
  await page.waitForSelector(selector);
  await page.waitForFunction((sel) => {
    const c = document.querySelector(sel) as HTMLCanvasElement | null;
    return !!c && c.width > 0 && c.dataset.chart !== undefined;
  }, selector);
  // Drawn on the next animation frame after the tab is shown.
  for (let i = 0; i < 20; i++) {
    const ink = await inkOf(page, selector);
    if (ink > 0.005) return ink;
    await page.waitForTimeout(50);
  }
  return inkOf(page, selector);
}

async function columnTexts(page: Page, key: string): Promise<string[]> {
  const col = await page.$$eval('#layers .vt-head', (hs, k) => hs.findIndex((x) => (x as HTMLElement).dataset.key === k), key);
  assert.ok(col >= 0, `column ${key}`);
  return page.$$eval('#layers .vt-row', (rows, c) => rows.map((r) => (r.children[c] as HTMLElement).textContent ?? ''), col);
}

const dbValue = (t: string) => (t === '–' ? Infinity : parseFloat(t));

describe('quantization report in Chromium', function () {
  let browser: Browser;
  let report: QuantReport;

  before(async () => {
    assert.ok(fs.existsSync(path.join(ROOT, REPORT_SCRIPT)), `${REPORT_SCRIPT} is missing: run \`npx webpack --mode production --config-name report\``);
    browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS });
    report = reportFixture();
    assert.strictEqual(report.layers.length, 2000);
    assert.strictEqual(parseQuantReport(JSON.parse(JSON.stringify(report))).layers.length, 2000, 'the fixture is a valid report');
    fs.mkdirSync(ARTIFACTS, { recursive: true });
  });

  after(async () => {
    await browser?.close();
  });

  it('says ready, gets the report and draws the summary and 2,000 layers in a virtual table', async () => {
    const { page, posted, problems } = await openPanel(browser, report);
    await page.waitForSelector('body[data-state="ready"]');
    assert.deepStrictEqual(posted[0], { type: 'ready' });
    const sizes = report.model.sizes;
    assert.strictEqual(
      await page.$eval('#card-size .card-value', (e) => e.textContent ?? ''),
      `${formatBytes(sizes.floatBytes)} → ${formatBytes(sizes.quantizedBytes)}`,
    );
    assert.match(await page.$eval('#card-fusion .card-value', (e) => e.textContent ?? ''), /^409 \/ 412$/);
    const unfused = await page.$$eval('#unfused tbody tr', (rows) => rows.map((r) => r.textContent ?? ''));
    assert.strictEqual(unfused.length, 3);
    assert.ok(
      unfused.some((r) => r.includes('fuses 8-bit Q/DQ only')),
      'the reason of each unfused op is shown',
    );
    // Every effective setting is echoed.
    const quantKeys = await page.$$eval('#quant-settings tbody tr td:first-child', (tds) => tds.map((t) => t.textContent));
    assert.deepStrictEqual(quantKeys, Object.keys(report.quantSettings!));
    const analysisKeys = await page.$$eval('#analysis-settings tbody tr td:first-child', (tds) => tds.map((t) => t.textContent));
    assert.deepStrictEqual(analysisKeys, Object.keys(report.settings));
    assert.strictEqual(await page.$$eval('#warnings .warning', (w) => w.length), report.warnings.length);
    assert.strictEqual(await page.$$eval('#unmatched tbody tr', (r) => r.length), report.unmatched.length);

    assert.strictEqual(await page.$eval('#layer-info', (e) => e.textContent), '2000 of 2000 layers');
    const rendered = await page.$$eval('#layers .vt-row', (r) => r.length);
    assert.ok(rendered > 5 && rendered < 120, `only the visible rows are in the DOM (${rendered})`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'quant-report-summary.png') });
    assert.deepStrictEqual(problems, [], 'no console errors, no CSP violations, no invalid messages');
    await page.close();
  });

  it('draws the activation ranges of 2,000 layers as a window of layers, and all of them in at most 300 bars', async () => {
    const { page, problems } = await openPanel(browser, report);
    await page.waitForSelector('body[data-state="ready"]');
    await clickTab(page, 'activations');
    const chart = 'canvas[data-chart="activation-ranges"]';
    assert.ok((await waitForInk(page, chart)) > 0.01, 'the range chart has bars');
    assert.strictEqual(await page.$eval(chart, (c) => (c as HTMLElement).dataset.bars), '100');
    assert.match(await page.$eval('#activations-info', (e) => e.textContent ?? ''), /^layers 0–99 of 2000$/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'quant-report-activations.png') });
    await page.selectOption('#activations-size', '0');
    await page.waitForFunction(
      (sel) =>
        (document.querySelector(sel) as HTMLElement).dataset.bars === '300' &&
        /a bar per 7 layers/.test(document.getElementById('activations-info')!.textContent ?? ''),
      chart,
    );
    assert.ok((await waitForInk(page, chart)) > 0.01);
    // A bar standing for several layers zooms in on them when clicked.
    const box = (await page.locator(chart).boundingBox())!;
    await page.mouse.click(box.x + box.width * 0.5, box.y + box.height * 0.4);
    await page.waitForFunction((sel) => (document.querySelector(sel) as HTMLElement).dataset.bars === '100', chart);
    const [first, last] = (await page.$eval('#activations-info', (e) => e.textContent ?? ''))
      .match(/^layers (\d+)–(\d+) of 2000$/)!
      .slice(1)
      .map(Number);
    assert.strictEqual(last - first, 99);
    assert.ok(first > 700 && last < 1300, `zoomed in around the middle (${first}–${last})`);
    // The slider moves the window.
    await page.$eval('#activations-start', (el) => {
      (el as HTMLInputElement).value = '1900';
      el.dispatchEvent(new Event('input'));
    });
    assert.strictEqual(await page.$eval('#activations-info', (e) => e.textContent), 'layers 1900–1999 of 2000');
    assert.deepStrictEqual(problems, []);
    await page.close();
  });

  it('draws local and accumulated error with a threshold line that moves and selects the layers under it', async () => {
    const { page } = await openPanel(browser, report);
    await page.waitForSelector('body[data-state="ready"]');
    await clickTab(page, 'error');
    const chart = 'canvas[data-chart="layer-error"]';
    assert.ok((await waitForInk(page, chart)) > 0.01);
    const expectedUnder = (t: number) => report.layers.filter((l) => l.accumulated.sqnr !== null && l.accumulated.sqnr < t).length;
    assert.match(await page.$eval('#below-threshold', (e) => e.textContent ?? ''), new RegExp(`^${expectedUnder(20)} layer`));
    await page.$eval('#threshold', (el) => {
      (el as HTMLInputElement).value = '35';
      el.dispatchEvent(new Event('input'));
    });
    assert.strictEqual(await page.$eval(chart, (c) => (c as HTMLElement).dataset.threshold), '35');
    const under = expectedUnder(35);
    assert.ok(under > 0 && under < 2000, `some layers are under 35 dB (${under})`);
    assert.match(await page.$eval('#below-threshold', (e) => e.textContent ?? ''), new RegExp(`^${under} layer`));
    await page.click('#layers .vt-head[data-key="local"]');
    await page.screenshot({ path: path.join(ARTIFACTS, 'quant-report-error.png') });
    await page.click('#select-below');
    await page.waitForFunction((n) => (document.getElementById('layer-info')?.textContent ?? '').endsWith(`${n} selected`), under);
    await page.close();
  });

  it('the threshold line can be dragged', async () => {
    const { page } = await openPanel(browser, report);
    await page.waitForSelector('body[data-state="ready"]');
    await clickTab(page, 'error');
    const chart = 'canvas[data-chart="layer-error"]';
    await waitForInk(page, chart);
    const lineY = Number(await page.$eval(chart, (c) => (c as HTMLElement).dataset.thresholdY));
    const box = (await page.locator(chart).boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.3, box.y + lineY);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.3, box.y + lineY - 60, { steps: 5 });
    await page.mouse.up();
    const moved = Number(await page.$eval(chart, (c) => (c as HTMLElement).dataset.threshold));
    assert.ok(moved > 20, `dragging up raised the threshold (${moved} dB)`);
    assert.strictEqual(Number(await page.$eval('#threshold', (e) => (e as HTMLInputElement).value)), moved, 'the slider follows');
    assert.strictEqual(await page.$$eval('#layers .vt-row.selected', (r) => r.length), 0, 'a drag is not a click on a layer');
    await page.close();
  });

  it('comes back as it was left: tab, filter, sort and selection (getState/setState)', async () => {
    const first = await openPanel(browser, report);
    await first.page.waitForSelector('body[data-state="ready"]');
    await first.page.locator('#layer-filter').pressSequentially('stage2');
    await first.page.click('#layers .vt-head[data-key="local"]');
    await first.page.click('#layers .vt-row:nth-child(2)');
    const selected = await first.page.$eval('#layers .vt-row.selected .vt-cell:nth-child(2)', (e) => e.textContent);
    await clickTab(first.page, 'histogram');
    const saved = JSON.parse(await first.page.evaluate(() => (window as unknown as { savedState: () => string }).savedState()));
    await first.page.close();

    const { page } = await openPanel(browser, report, 'dark', saved);
    await page.waitForSelector('body[data-state="ready"]');
    await page.waitForFunction(() => document.body.dataset.tab === 'histogram');
    assert.strictEqual(await page.$eval('#histogram-head h3', (e) => (e.textContent ?? '').replace(/^#\d+ /, '')), selected);
    assert.strictEqual(await page.$eval('#layers .vt-row.selected .vt-cell:nth-child(2)', (e) => e.textContent), selected);
    assert.strictEqual(await page.$eval('#layers .vt-head[data-key="local"]', (e) => e.getAttribute('aria-sort')), 'ascending');
    assert.match(await page.$eval('#layer-info', (e) => e.textContent ?? ''), /^\d+ of 2000 layers · 1 selected$/);
    await page.close();
  });

  it('sorts by any column and filters as you type', async () => {
    const { page } = await openPanel(browser, report);
    await page.waitForSelector('body[data-state="ready"]');
    await page.click('#layers .vt-head[data-key="accumulated"]');
    const ascending = (await columnTexts(page, 'accumulated')).map(dbValue);
    assert.deepStrictEqual(
      ascending,
      [...ascending].sort((a, b) => a - b),
      'sorted by accumulated SQNR, worst first',
    );
    const worst = Math.min(...report.layers.map((l) => l.accumulated.sqnr ?? Infinity));
    assert.strictEqual(ascending[0], Number(worst.toFixed(1)), 'the worst layer of the report is on top');
    await page.click('#layers .vt-head[data-key="accumulated"]');
    const descending = (await columnTexts(page, 'accumulated')).map(dbValue);
    assert.ok(descending[0] > ascending[0], 'a second click sorts descending');
    await page.click('#layers .vt-head[data-key="op"]');
    const ops = await columnTexts(page, 'op');
    assert.deepStrictEqual(
      ops,
      [...ops].sort((a, b) => a.localeCompare(b)),
      'sorted by op',
    );

    await page.locator('#layer-filter').pressSequentially('stage3/block7');
    const expected = report.layers.filter((l) => `${l.tensor} ${l.node}`.toLowerCase().includes('stage3/block7')).length;
    assert.ok(expected > 0 && expected < 50);
    await page.waitForFunction((n) => document.getElementById('layer-info')?.textContent === `${n} of 2000 layers`, expected);
    const rows = await columnTexts(page, 'tensor');
    assert.strictEqual(rows.length, expected);
    assert.ok(
      rows.every((t) => t.includes('stage3/block7')),
      'every row matches the filter',
    );
    await page.close();
  });

  it('clicking a layer posts reveal, selects it in the charts and shows its histogram with clip range and grid', async () => {
    const { page, posted } = await openPanel(browser, report);
    await page.waitForSelector('body[data-state="ready"]');
    await page.click('#layers .vt-row:nth-child(4)');
    const reveal = posted.find((m) => m.type === 'reveal');
    const layer = report.layers[3];
    assert.deepStrictEqual(reveal, { type: 'reveal', layer: { tensor: layer.tensor, node: layer.node } });
    await clickTab(page, 'activations');
    await page.waitForFunction(() => (document.querySelector('canvas[data-chart="activation-ranges"]') as HTMLElement)?.dataset.selected === '1');
    await clickTab(page, 'histogram');
    assert.ok((await waitForInk(page, 'canvas[data-chart="layer-histogram"]')) > 0.01);
    assert.strictEqual(await page.$eval('#histogram-head h3', (e) => e.textContent), `#${layer.order} ${layer.tensor}`);
    const notes = await page.$eval('#histogram-notes', (e) => e.textContent ?? '');
    assert.match(notes, /^Grid: \d+ quantization levels in view/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'quant-report-histogram.png') });
    await page.close();
  });

  it('a click in a chart selects the layer in the table (and reveals it)', async () => {
    const { page, posted } = await openPanel(browser, report);
    await page.waitForSelector('body[data-state="ready"]');
    await clickTab(page, 'error');
    await page.selectOption('#error-size', '100');
    const chart = 'canvas[data-chart="layer-error"]';
    await page.waitForFunction((sel) => (document.querySelector(sel) as HTMLElement).dataset.points === '100', chart);
    await waitForInk(page, chart);
    const box = (await page.locator(chart).boundingBox())!;
    await page.mouse.click(box.x + box.width * 0.5, box.y + box.height * 0.5);
    await page.waitForSelector('#layers .vt-row.selected');
    const reveal = posted.filter((m) => m.type === 'reveal').pop() as Extract<FromReportView, { type: 'reveal' }>;
    assert.ok(reveal, 'the click posted reveal');
    const index = report.layers.findIndex((l) => l.tensor === reveal.layer.tensor);
    assert.ok(index >= 30 && index <= 70, `the middle of the first 100 layers was clicked (${index})`);
    assert.strictEqual(await page.$eval('#layers .vt-row.selected .vt-cell:nth-child(2)', (e) => e.textContent), reveal.layer.tensor);
    assert.strictEqual(await page.$eval(chart, (c) => (c as HTMLElement).dataset.selected), '1');
    await page.close();
  });

  it('keep in float posts the selected layers, shows progress, then before and after side by side', async () => {
    const { page, posted, send, problems } = await openPanel(browser, report);
    await page.waitForSelector('body[data-state="ready"]');
    await page.click('#layers .vt-head[data-key="accumulated"]');
    await page.click('#layers .vt-row:nth-child(1)');
    await page.click('#layers .vt-row:nth-child(2)', { modifiers: ['Control'] });
    await page.click('#layers .vt-row:nth-child(3)', { modifiers: ['Control'] });
    assert.strictEqual(await page.$$eval('#layers .vt-row.selected', (r) => r.length), 3);
    // Each selected row's node is kept in float.
    const tensors = (await columnTexts(page, 'tensor')).slice(0, 3);
    const expected = [...new Set(tensors.flatMap((t) => nodesToKeepInFloat(report.layers.find((l) => l.tensor === t)!)))];
    assert.ok(expected.length > 0);
    await page.click('#keep-in-float');
    const keep = posted.find((m) => m.type === 'keepInFloat') as Extract<FromReportView, { type: 'keepInFloat' }>;
    assert.ok(keep, 'keepInFloat was posted');
    assert.deepStrictEqual([...keep.nodes].sort(), [...expected].sort());

    await send({ type: 'busy', action: 'keepInFloat', message: 'Re-quantizing without 3 layers', fraction: 0.4 });
    await page.waitForSelector('#status[data-kind="busy"]');
    assert.ok(await page.$eval('#keep-in-float', (b) => (b as HTMLButtonElement).disabled), 'actions wait while one runs');
    await page.click('#cancel');
    assert.ok(
      posted.some((m) => m.type === 'cancel'),
      'Cancel is posted',
    );

    const after = keptInFloatFixture(report, keep.nodes);
    await send({ type: 'done', action: 'keepInFloat', message: 'done' });
    await send({ type: 'report', report: after, previous: report });
    await page.waitForSelector('vscode-tab-header[data-tab="compare"]');
    await clickTab(page, 'compare');
    const rows = await page.$$eval('#compare-table tbody tr', (trs) => trs.map((tr) => Array.from(tr.children, (td) => td.textContent ?? '')));
    const agreement = rows.find((r) => r[0] === 'top-1 agreement')!;
    assert.deepStrictEqual(agreement.slice(1), ['97.65%', '99.21%', '+1.56%']);
    const layersRow = rows.find((r) => r[0] === 'quantized layers')!;
    // Gone: the tensors read only by the kept nodes (the selected rows' own tensors stay quantized for their readers).
    const left = after.layers.length;
    const still = tensors.filter((t) => after.layers.some((l) => l.tensor === t)).length;
    assert.ok(left < report.layers.length);
    assert.deepStrictEqual(layersRow.slice(1, 3), ['2000', String(left)]);
    assert.strictEqual(await page.$$eval('#now-float li', (li) => li.length), report.layers.length - left);
    assert.ok((await waitForInk(page, 'canvas[data-chart="before-after"]')) > 0.01);
    assert.strictEqual(await page.$eval('#layer-info', (e) => e.textContent), `${left} of ${left} layers${still ? ` · ${still} selected` : ''}`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'quant-report-before-after.png') });
    assert.deepStrictEqual(problems, []);
    await page.close();
  });

  it("auto keep-in-float posts its target (a target out of range is refused without posting); the host's error is shown", async () => {
    const session = await openPanel(browser, report);
    const { page, posted } = session;
    await page.waitForSelector('body[data-state="ready"]');
    await page.selectOption('#auto-kind', 'agreement');
    await page.fill('#auto-value', '3');
    await page.click('#auto-keep');
    await page.waitForSelector('#status[data-kind="error"]');
    assert.match(await page.$eval('#status', (e) => e.textContent ?? ''), /share between 0 and 1/);
    assert.ok(!posted.some((m) => m.type === 'autoKeepInFloat'));
    await page.fill('#auto-value', '0.99');
    await page.click('#auto-keep');
    assert.deepStrictEqual(
      posted.filter((m) => m.type === 'autoKeepInFloat'),
      [{ type: 'autoKeepInFloat', target: { kind: 'agreement', value: 0.99 } }],
    );
    // The host's failure is shown where the user clicked, and the actions are usable again.
    await session.send({ type: 'busy', action: 'autoKeepInFloat', message: 'sensitivity of /conv1/Conv (1/12)', fraction: 1 / 12 });
    await page.waitForFunction(() => (document.getElementById('auto-keep') as HTMLButtonElement).disabled);
    await session.send({ type: 'error', action: 'autoKeepInFloat', message: 'calibration ranges missing beside the model: quantize it again' });
    await page.waitForSelector('#status[data-kind="error"]');
    assert.match(await page.$eval('#status', (e) => e.textContent ?? ''), /calibration ranges missing beside the model/);
    assert.strictEqual(await page.$eval('#auto-keep', (b) => (b as HTMLButtonElement).disabled), false);
    await page.click('#export-html');
    assert.ok(posted.some((m) => m.type === 'exportHtml'));
    await page.close();
  });

  it('shows weights with per-channel ranges and scales, and the sensitivity ranking', async () => {
    const { page, posted } = await openPanel(browser, report);
    await page.waitForSelector('body[data-state="ready"]');
    await clickTab(page, 'weights');
    await page.waitForSelector('#weights .vt-row');
    await page.click('#weights .vt-row:nth-child(1)');
    assert.ok((await waitForInk(page, 'canvas[data-chart="weight-channels"]')) > 0.01);
    const name = await page.$eval('#weight-detail h3', (e) => e.textContent ?? '');
    assert.ok(
      report.weights.some((w) => w.tensor === name),
      name,
    );

    await clickTab(page, 'sensitivity');
    const chart = 'canvas[data-chart="sensitivity"]';
    assert.ok((await waitForInk(page, chart)) > 0.01);
    await page.screenshot({ path: path.join(ARTIFACTS, 'quant-report-sensitivity.png') });
    const box = (await page.locator(chart).boundingBox())!;
    // The top bar is the most sensitive layer: one of the damaged ones.
    await page.mouse.click(box.x + box.width * 0.5, box.y + 40);
    await page.waitForFunction(() => document.querySelector('#layers .vt-row.selected') !== null);
    const reveal = posted.filter((m) => m.type === 'reveal').pop() as Extract<FromReportView, { type: 'reveal' }>;
    const rank = report.sensitivity!.entries.find((e) => e.tensor === reveal.layer.tensor)!.rank;
    assert.ok(rank <= 3, `a top-ranked layer was picked (rank ${rank})`);
    await page.close();
  });

  it('redraws the charts with the other theme colours', async () => {
    const { page } = await openPanel(browser, report, 'dark');
    await page.waitForSelector('body[data-state="ready"]');
    await clickTab(page, 'activations');
    const chart = 'canvas[data-chart="activation-ranges"]';
    await waitForInk(page, chart);
    assert.strictEqual(await page.$eval(chart, (c) => (c as HTMLElement).dataset.colors), '#3794ff');
    await page.evaluate(setVsCodeTheme, 'light' as const);
    await page.waitForFunction((sel) => Number((document.querySelector(sel) as HTMLElement).dataset.redraws) >= 1, chart);
    assert.strictEqual(await page.$eval(chart, (c) => (c as HTMLElement).dataset.colors), '#1a85ff');
    await page.screenshot({ path: path.join(ARTIFACTS, 'quant-report-light.png') });
    await page.close();
  });

  it("a report with bad values shows the validator's error, draws nothing and executes nothing", async () => {
    const bad = JSON.parse(JSON.stringify(reportFixture({ layers: 40, names: { 1: MARKUP[0], 2: MARKUP[1] } })));
    bad.layers[5].clippingRate = 7;
    const { page, problems } = await openPanel(browser, bad);
    await page.waitForSelector('body[data-state="error"]');
    const text = await page.$eval('#report-error', (e) => e.textContent ?? '');
    assert.match(text, /cannot be shown\. invalid quant report: layers\[5\]\.clippingRate must be between 0 and 1 \(got 7\)/);
    assert.strictEqual(await page.$$eval('canvas', (c) => c.length), 0, 'no chart is drawn');
    assert.strictEqual(await page.$$eval('.vt-row', (c) => c.length), 0, 'no table is drawn');
    assert.strictEqual(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
    assert.deepStrictEqual(problems, []);
    await page.close();
  });

  it('markup in layer names is shown as text, in the panel and in the offline page', async () => {
    const marked = reportFixture({ layers: 60, names: { 0: MARKUP[0], 1: MARKUP[1], 2: MARKUP[2] } });
    marked.warnings.push(MARKUP[1]);
    const panel = await openPanel(browser, marked);
    const offline = await openStandalone(browser, marked);
    for (const { page, problems } of [panel, offline]) {
      await page.waitForSelector('body[data-state="ready"]');
      const tensors = await page.$$eval('#layers .vt-row .vt-cell:nth-child(2)', (cells) => cells.slice(0, 3).map((c) => c.textContent));
      assert.deepStrictEqual(tensors, MARKUP);
      assert.strictEqual(await page.$$eval('#app img, #app svg, #app script', (e) => e.length), 0, 'no element was made from a name');
      assert.ok((await page.$eval('#warnings', (e) => e.textContent ?? '')).includes(MARKUP[1]));
      await page.click('#layers .vt-row:nth-child(1)');
      await clickTab(page, 'histogram');
      assert.strictEqual(await page.$eval('#histogram-head h3', (e) => e.textContent), `#1 ${MARKUP[0]}`);
      assert.strictEqual(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
      assert.deepStrictEqual(problems, []);
      await page.close();
    }
  });

  it('standalone (offline HTML): reads the embedded report, hides host actions, draws every chart', async () => {
    const { page, problems } = await openStandalone(browser, report);
    await page.waitForSelector('body[data-state="ready"]');
    assert.ok(await page.$eval('body', (b) => b.classList.contains('standalone')));
    assert.strictEqual(await page.$$eval('#keep-in-float, #auto-keep, #export-html', (e) => e.length), 0, 'host-only actions are hidden');
    assert.strictEqual(await page.$eval('#layer-info', (e) => e.textContent), '2000 of 2000 layers');
    await clickTab(page, 'activations');
    assert.ok((await waitForInk(page, 'canvas[data-chart="activation-ranges"]')) > 0.01);
    await page.click('#layers .vt-row:nth-child(2)');
    await clickTab(page, 'error');
    assert.ok((await waitForInk(page, 'canvas[data-chart="layer-error"]')) > 0.01);
    await page.screenshot({ path: path.join(ARTIFACTS, 'quant-report.png') });
    assert.deepStrictEqual(problems, [], 'no console errors and no CSP violations offline');
    await page.close();
  });

  it('a report with weights only (dynamic quantization) says so instead of drawing empty charts', async () => {
    const dynamic = { ...reportFixture({ layers: 30 }), layers: [], sensitivity: null };
    const { page, problems } = await openPanel(browser, dynamic);
    await page.waitForSelector('body[data-state="ready"]');
    assert.match(await page.$eval('#layer-info', (e) => e.textContent ?? ''), /No layer rows: no activation of this model is quantized/);
    // The empty table gives its room to the tabs; the pane keeps its toolbar (Export HTML).
    const box = await page.evaluate(() => {
      const rect = (s: string) => document.querySelector(s)!.getBoundingClientRect();
      return { layers: rect('#layers').height, tabs: rect('.report-tabs').height, window: window.innerHeight, exportButton: rect('#export-html').height };
    });
    assert.ok(box.layers < 120 && box.exportButton > 0, `the layers pane keeps only its toolbar: ${JSON.stringify(box)}`);
    assert.ok(box.tabs > box.window - 160, `the tabs take the rest of the window: ${JSON.stringify(box)}`);
    await clickTab(page, 'activations');
    assert.match(await page.$eval('#activations .no-layers', (e) => e.textContent ?? ''), /dynamic quantization/);
    await clickTab(page, 'error');
    assert.strictEqual(await page.$$eval('#error canvas', (c) => c.length), 0);
    await clickTab(page, 'weights');
    await page.click('#weights .vt-row:nth-child(1)');
    assert.ok((await waitForInk(page, 'canvas[data-chart="weight-channels"]')) > 0.01);
    assert.deepStrictEqual(problems, []);
    await page.close();
  });

  it('standalone: a hand-edited report with a bad value shows the error', async () => {
    const bad = JSON.parse(JSON.stringify(reportFixture({ layers: 20 })));
    bad.model.sizes.ratio = 'large';
    const { page } = await openStandalone(browser, bad);
    await page.waitForSelector('body[data-state="error"]');
    assert.match(await page.$eval('#report-error', (e) => e.textContent ?? ''), /model\.sizes\.ratio must be a finite number \(got "large"\)/);
    await page.close();
  });

  it('says how many times smaller or larger the quantized model is', async () => {
    const text = async (floatBytes: number, quantizedBytes: number) => {
      const r = reportFixture({ layers: 20, sensitivity: false });
      r.model.sizes = { floatBytes, quantizedBytes, ratio: quantizedBytes / floatBytes };
      const { page } = await openPanel(browser, r);
      await page.waitForSelector('body[data-state="ready"]');
      const detail = await page.$eval('#card-size .card-detail', (e) => e.textContent ?? '');
      await page.close();
      return detail;
    };
    assert.strictEqual(await text(1_000_000, 295_000), '3.4× smaller');
    assert.strictEqual(await text(1_000_000, 1_200_000), '1.2× larger');
  });

  it('shows latency as median ± spread and calls a difference only when it exceeds the spread', async () => {
    const latencyText = async (float: [number, number], quantized: [number, number]) => {
      const r = reportFixture({ layers: 20, sensitivity: false });
      const lat = (m: [number, number]) => ({ medianMs: m[0], p95Ms: m[1], runs: 20, batchSize: 1, executionProvider: 'cpu' });
      r.model.latency = { float: lat(float), quantized: lat(quantized) };
      const { page } = await openPanel(browser, r);
      await page.waitForSelector('body[data-state="ready"]');
      const t = await page.$eval('#card-latency', (e) => Array.from(e.children, (c) => c.textContent ?? ''));
      await page.close();
      return t;
    };
    // Noisy: 1.8 vs 1.7 ms with 0.3 ms between median and p95 is no measurable difference.
    const [, noisyValue, noisyDetail] = await latencyText([1.8, 2.1], [1.7, 2.0]);
    assert.strictEqual(noisyValue, '1.80 ms ± 0.30 → 1.70 ms ± 0.30');
    assert.match(noisyDetail, /no measurable difference/);
    assert.doesNotMatch(noisyDetail, /faster|slower|×/);
    const [, , fastDetail] = await latencyText([41.3, 44.9], [17.8, 19.6]);
    assert.match(fastDetail, /2\.3× faster/);
    const [, , slowDetail] = await latencyText([10, 10.5], [14, 14.4]);
    assert.match(slowDetail, /1\.4× slower/);
  });

  it('shows a tiny nonzero clip share as <0.01%, never as 0.00%', async () => {
    const r = reportFixture({ layers: 20, sensitivity: false });
    r.layers[0].clippingRate = 3e-5;
    r.layers[1].clippingRate = 0;
    const { page } = await openPanel(browser, r);
    await page.waitForSelector('body[data-state="ready"]');
    assert.deepStrictEqual((await columnTexts(page, 'clipping')).slice(0, 2), ['<0.01%', '0%']);
    await page.click('#layers .vt-row:nth-child(1)');
    await clickTab(page, 'histogram');
    assert.match(await page.$eval('#card-clipping .card-value', (e) => e.textContent ?? ''), /^<0\.01%$/);
    await page.close();
  });

  it('carries every warning into the Summary and marks synthetic calibration at the top of every tab', async () => {
    const r = reportFixture({ layers: 40, sensitivity: false });
    r.quantSettings!.calibration = 'synthetic:16';
    r.quantSettings!.inputs = { input_ids: { shape: ['batch', 16], range: [0, 95] }, sr: { batchAxis: null, value: 8000 } };
    r.warnings.push(
      "quantization: bias 'conv1.bias' would overflow int32 on 2 channel(s): the scale of weight 'conv1.weight' was enlarged there so that it fits",
    );
    const { page, problems } = await openPanel(browser, r);
    await page.waitForSelector('body[data-state="ready"]');
    const warnings = await page.$$eval('#warnings .warning', (w) => w.map((x) => x.textContent ?? ''));
    assert.deepStrictEqual(warnings, r.warnings);
    const banner = '#synthetic-data';
    assert.match(
      await page.$eval(banner, (e) => e.textContent ?? ''),
      /Calibrated on synthetic data \(random inputs\): ranges and errors do not reflect your data/,
    );
    // The per-input specs read as the wizard and --input write them.
    const inputsRow = await page.$$eval('#quant-settings tbody tr', (rows) => rows.map((x) => x.textContent ?? '').find((t) => t.startsWith('inputs')));
    assert.strictEqual(inputsRow, 'inputsinput_ids=shape:batch,16; input_ids=range:0,95; sr=batch:none; sr=value:8000');
    for (const tab of ['summary', 'error']) {
      await clickTab(page, tab);
      const b = (await page.locator(banner).boundingBox())!;
      const tabs = (await page.locator('#tabs').boundingBox())!;
      assert.ok(b && b.y >= 0 && b.y + b.height <= tabs.y + 1, `the banner is above the tabs on ${tab}`);
    }
    await page.screenshot({ path: path.join(ARTIFACTS, 'quant-report-synthetic.png') });
    // Real calibration data: no banner. A dynamic run calibrates nothing: its synthetic data is
    // evaluation data only, and the report analysed on real data says nothing of calibration.
    const dynamic = reportFixture({ layers: 20, sensitivity: false });
    dynamic.quantSettings = { ...dynamic.quantSettings!, mode: 'dynamic', calibration: 'synthetic:16' };
    for (const quiet of [reportFixture({ layers: 20, sensitivity: false }), dynamic]) {
      const real = await openPanel(browser, quiet);
      await real.page.waitForSelector('body[data-state="ready"]');
      assert.strictEqual(await real.page.$$eval(banner, (e) => e.length), 0, quiet.quantSettings!.mode);
      await real.page.close();
    }
    assert.deepStrictEqual(problems, []);
    await page.close();
  });

  it('an output that is not class scores shows cosine and SQNR, no top-1 agreement', async () => {
    const r = reportFixture({ layers: 20, sensitivity: false });
    r.model.outputs = [{ name: 'embedding', error: { sqnr: 31.2, mse: 1e-4, cosine: 0.99961, maxAbs: 0.02 } }];
    r.model.top1Agreement = null;
    r.model.accuracy = null;
    const { page } = await openPanel(browser, r);
    await page.waitForSelector('body[data-state="ready"]');
    assert.strictEqual(await page.$$eval('#card-agreement', (e) => e.length), 0, 'no top-1 card');
    assert.strictEqual(await page.$eval('#card-cosine .card-value', (e) => e.textContent), '0.99961');
    assert.deepStrictEqual(
      await page.$$eval('#auto-kind option', (o) => o.map((x) => (x as HTMLOptionElement).value)),
      ['sqnr'],
      'only the targets the report measured are offered',
    );
    await page.close();
  });

  it('a weight-only report offers no keep-in-float (it needs a static run), says why, and still exports', async () => {
    const r = reportFixture({ layers: 20, sensitivity: false });
    r.quantSettings = { ...r.quantSettings!, mode: 'weight-only' };
    const { page } = await openPanel(browser, r);
    await page.waitForSelector('body[data-state="ready"]');
    assert.strictEqual(await page.$$eval('#keep-in-float, #auto-keep', (e) => e.length), 0);
    assert.match(await page.$eval('#keep-unavailable', (e) => e.textContent ?? ''), /weight-only model, quantize again with the nodes to keep excluded/);
    assert.strictEqual(await page.$$eval('#export-html', (e) => e.length), 1);
    await page.close();
  });

  it("a language model's logits show next-token agreement and cross-entropy, no top-1 agreement", async () => {
    const r = reportFixture({ layers: 20, sensitivity: false });
    r.model.top1Agreement = null;
    r.model.accuracy = null;
    r.model.languageModel = {
      output: 'logits',
      vocabulary: 95,
      tokens: 7296,
      nextTokenAgreement: 0.9712,
      labelledTokens: 7296,
      crossEntropy: { float: 1.2, quantized: 1.21 },
      perplexity: { float: Math.exp(1.2), quantized: Math.exp(1.21) },
      crossEntropyIncrease: 0.01,
      perplexityIncrease: Math.expm1(0.01),
    };
    const { page } = await openPanel(browser, r);
    await page.waitForSelector('body[data-state="ready"]');
    assert.strictEqual(await page.$$eval('#card-agreement, #card-accuracy', (e) => e.length), 0, 'no top-1 or accuracy card');
    assert.strictEqual(await page.$eval('#card-next-token .card-value', (e) => e.textContent), '97.12%');
    assert.strictEqual(await page.$eval('#card-cross-entropy .card-value', (e) => e.textContent), '1.2000 → 1.2100 nats/token (+0.0100)');
    assert.match((await page.$eval('#card-cross-entropy .card-detail', (e) => e.textContent)) ?? '', /^perplexity 3\.320 → 3\.353 \(\+1\.01%\)/);
    await page.close();
  });

  it('before/after: both lines stay visible where they overlap', async () => {
    const r = reportFixture({ layers: 200, sensitivity: false });
    // Only the last layers change: the two lines lie on each other almost everywhere.
    const after = keptInFloatFixture(r, [r.layers[197].consumers[0]]);
    const { page, send } = await openPanel(browser, r);
    await page.waitForSelector('body[data-state="ready"]');
    await send({ type: 'report', report: after, previous: r });
    await page.waitForSelector('vscode-tab-header[data-tab="compare"]');
    await clickTab(page, 'compare');
    const chart = 'canvas[data-chart="before-after"]';
    await waitForInk(page, chart);
    // Pixels of each line's colour in the plot: the one drawn first must not vanish under the other.
    const counts = await page.$eval(chart, (c) => {
      const canvas = c as HTMLCanvasElement;
      const d = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      const css = (n: string) => getComputedStyle(document.body).getPropertyValue(n).trim();
      const rgb = (hex: string) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
      const near = (i: number, [r, g, b]: number[]) => d[i + 3] > 100 && Math.abs(d[i] - r) + Math.abs(d[i + 1] - g) + Math.abs(d[i + 2] - b) < 60;
      const red = rgb(css('--vscode-charts-red'));
      const green = rgb(css('--vscode-charts-green'));
      let nRed = 0;
      let nGreen = 0;
      for (let i = 0; i < d.length; i += 4) {
        if (near(i, red)) nRed++;
        else if (near(i, green)) nGreen++;
      }
      return { red: nRed, green: nGreen };
    });
    assert.ok(counts.red > 300 && counts.green > 300 && Math.min(counts.red, counts.green) > 0.2 * Math.max(counts.red, counts.green), JSON.stringify(counts));
    assert.deepStrictEqual(JSON.parse(await page.$eval(chart, (c) => (c as HTMLElement).dataset.legend ?? '[]')), ['before', 'after']);
    const styles = JSON.parse(await page.$eval(chart, (c) => (c as HTMLElement).dataset.styles ?? '[]')) as Array<{ dash: number[]; point: string }>;
    assert.strictEqual(styles.length, 2);
    assert.notDeepStrictEqual(styles[0], styles[1], 'the lines differ in dash or point style, not only colour');
    await page.screenshot({ path: path.join(ARTIFACTS, 'quant-report-before-after-overlap.png') });
    await page.close();
  });

  it('fits the window: charts whole and tall enough, the table at least 3 rows, no nested scrolling', async () => {
    for (const viewport of [
      { width: 1400, height: 900 },
      { width: 1200, height: 450 },
      { width: 820, height: 600 },
      { width: 1920, height: 1080 },
    ]) {
      const { page, problems } = await openPanel(browser, report, 'dark', undefined, viewport);
      await page.waitForSelector('body[data-state="ready"]');
      await page.click('#layers .vt-row:nth-child(2)');
      await clickTab(page, 'weights');
      await page.click('#weights .vt-row:nth-child(1)');
      for (const [tab, chart] of [
        ['activations', 'activation-ranges'],
        ['error', 'layer-error'],
        ['histogram', 'layer-histogram'],
        ['weights', 'weight-channels'],
        ['summary', null],
      ] as const) {
        await clickTab(page, tab);
        if (chart) await waitForInk(page, `canvas[data-chart="${chart}"]`);
        const where = `${viewport.width}x${viewport.height} ${tab}`;
        await page.screenshot({ path: path.join(ARTIFACTS, `quant-report-fit-${viewport.width}x${viewport.height}-${tab}.png`) });
        const m = await page.evaluate((name) => {
          const scrolls = (e: Element) => {
            const s = getComputedStyle(e);
            return (
              (/(auto|scroll)/.test(s.overflowY) && e.scrollHeight > e.clientHeight + 1) ||
              (/(auto|scroll)/.test(s.overflowX) && e.scrollWidth > e.clientWidth + 1)
            );
          };
          const root = document.scrollingElement!;
          const pageScrolls = root.scrollHeight > innerHeight + 1 || root.scrollWidth > innerWidth + 1;
          const scrollers = Array.from(document.querySelectorAll('*')).filter(scrolls);
          const nested = scrollers.filter((e) => scrollers.some((o) => o !== e && o.contains(e)) || pageScrolls).map((e) => `${e.tagName}.${e.className}`);
          const canvas = name ? document.querySelector(`canvas[data-chart="${name}"]`) : null;
          let box = null;
          let clippedBy: string | null = null;
          if (canvas) {
            const r = canvas.getBoundingClientRect();
            box = { top: r.top, bottom: r.bottom, left: r.left, right: r.right, height: r.height };
            for (let e = canvas.parentElement; e; e = e.parentElement) {
              if (getComputedStyle(e).overflowY === 'visible') continue;
              const c = e.getBoundingClientRect();
              if (r.top < c.top - 1 || r.bottom > c.bottom + 1 || r.left < c.left - 1 || r.right > c.right + 1) clippedBy = `${e.tagName}.${e.className}`;
            }
          }
          const vt = document.querySelector('#layers .vt-viewport')!.getBoundingClientRect();
          return { pageScrolls, nested, box, clippedBy, table: { top: vt.top, bottom: vt.bottom } };
        }, chart);
        assert.strictEqual(m.pageScrolls, false, `${where}: the page itself does not scroll`);
        assert.deepStrictEqual(m.nested, [], `${where}: no scrolling element inside another`);
        assert.ok(
          m.table.top >= 0 && m.table.bottom <= viewport.height + 1 && m.table.bottom - m.table.top >= 3 * 24,
          `${where}: table ${JSON.stringify(m.table)}`,
        );
        if (m.box) {
          assert.ok(
            m.box.top >= 0 && m.box.bottom <= viewport.height + 1 && m.box.left >= 0 && m.box.right <= viewport.width + 1,
            `${where}: chart inside the window ${JSON.stringify(m.box)}`,
          );
          assert.strictEqual(m.clippedBy, null, `${where}: chart not cut by its container`);
          assert.ok(m.box.height >= 140, `${where}: chart ${m.box.height} px tall`);
        }
      }
      assert.deepStrictEqual(problems, []);
      await page.close();
    }
  });
});

describe('quantization report in Chromium, from the engine on a real model', function () {
  // The Fashion-MNIST CNN quantized by the real pipeline with one Conv output given a range far
  // too narrow, analyzed by the real engine with sensitivity: the panel must lead to that layer.
  const DAMAGED = '/conv2/Conv_output_0';
  let browser: Browser;
  let dir: string;
  let report: QuantReport;
  let quantizedNodes: Set<string>;

  before(async () => {
    browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'report-view-'));
    const float = path.join(dir, 'fashion_cnn.onnx');
    fs.copyFileSync(path.join(FIXTURES, 'fashion_cnn.onnx'), float);
    const result = await quantizeModel(
      float,
      resolveSettings({
        calibration: path.join(FASHION_DIR, 'train-images-idx3-ubyte.gz'),
        perChannel: true,
        samples: 128,
        batchSize: 64,
        tensorOverrides: { [DAMAGED]: { range: [0, 0.3] } },
      }),
    );
    quantizedNodes = new Set(result.nodes.filter((n) => n.quantized).map((n) => n.node));
    report = await analyzeQuantization(float, result.output, {
      data: path.join(FASHION_DIR, 't10k-images-idx3-ubyte.gz'),
      samples: 128,
      batchSize: 64,
      latencyRuns: 3,
      sensitivity: true,
      sensitivitySamples: 64,
    });
  });

  after(async () => {
    await browser?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('every layer names quantized nodes to keep in float', () => {
    assert.ok(report.layers.length > 3);
    for (const l of report.layers) {
      const nodes = nodesToKeepInFloat(l);
      assert.ok(
        nodes.length > 0 && nodes.every((n) => quantizedNodes.has(n)),
        `${l.tensor}: ${nodes.join(', ')} (quantized: ${[...quantizedNodes].join(', ')})`,
      );
    }
  });

  it('sorted by local SQNR, the damaged layer is first; keeping it in float posts the node that produces it', async () => {
    const { page, posted, problems } = await openPanel(browser, JSON.parse(JSON.stringify(report)));
    await page.waitForSelector('body[data-state="ready"]');
    assert.strictEqual(await page.$eval('#layer-info', (e) => e.textContent), `${report.layers.length} of ${report.layers.length} layers`);
    await page.click('#layers .vt-head[data-key="local"]');
    assert.strictEqual((await columnTexts(page, 'tensor'))[0], DAMAGED);
    await page.click('#layers .vt-row:nth-child(1)');
    assert.deepStrictEqual(posted.filter((m) => m.type === 'reveal').pop(), { type: 'reveal', layer: { tensor: DAMAGED, node: '/conv2/Conv' } });
    await clickTab(page, 'histogram');
    assert.ok((await waitForInk(page, 'canvas[data-chart="layer-histogram"]')) > 0.01);
    assert.match(await page.$eval('#histogram-notes', (e) => e.textContent ?? ''), /^Grid: \d+ quantization levels/);
    for (const tab of ['activations', 'error', 'sensitivity']) {
      await clickTab(page, tab);
      assert.ok((await waitForInk(page, `#${tab} canvas`)) > 0.01, `${tab} drawn`);
    }
    await page.click('#keep-in-float');
    const keep = posted.find((m) => m.type === 'keepInFloat');
    assert.deepStrictEqual(keep, { type: 'keepInFloat', nodes: ['/conv2/Conv'] });
    await page.screenshot({ path: path.join(ARTIFACTS, 'quant-report-fashion-cnn.png') });
    assert.deepStrictEqual(problems, []);
    await page.close();
  });
});

describe('quantization report in Chromium, a weight-only model from the engine', function () {
  // char_lm.onnx quantized to 4 bits in blocks of 32 (MatMulNBits, GatherBlockQuantized) and
  // analyzed: the Weights tab shows each weight's bits, block size and block errors.
  let browser: Browser;
  let dir: string;
  let report: QuantReport;

  before(async () => {
    browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'report-view-wo-'));
    const file = path.join(dir, 'char_lm.int4.onnx');
    const result = await quantizeModel(LM_MODEL, resolveSettings({ calibration: LM_CALIB, mode: 'weight-only', bits: 4, blockSize: 32 }), {
      output: file,
      resultFile: false,
    });
    report = await analyzeQuantization(LM_MODEL, file, { data: LM_HELDOUT, samples: 4, batchSize: 4, latencyRuns: 0, reportFile: false, quantResult: result });
  });

  after(async () => {
    await browser?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('shows bits, block size and the mean and worst block error of a blocked weight, whole and apart', async () => {
    assert.ok(report.weights.length > 10 && report.weights.every((w) => w.blocks), 'every weight is in blocks');
    for (const viewport of [
      { width: 1400, height: 900 },
      { width: 820, height: 600 },
    ]) {
      const { page, problems } = await openPanel(browser, JSON.parse(JSON.stringify(report)), 'dark', undefined, viewport);
      await page.waitForSelector('body[data-state="ready"]');
      await clickTab(page, 'weights');
      await page.click('#weights .vt-row:nth-child(1)');
      await waitForInk(page, 'canvas[data-chart="weight-channels"]');
      const name = await page.$eval('#weight-detail h3', (e) => e.textContent ?? '');
      const w = report.weights.find((x) => x.tensor === name)!;
      const cardText = (id: string) => page.$eval(id, (e) => Array.from(e.children, (c) => c.textContent ?? ''));
      assert.deepStrictEqual(await cardText('#card-blocks'), ['Blocks', '4 bits', `blocks of 32 (${w.blocks!.count} blocks)`]);
      const [, mean, worst] = await cardText('#card-block-error');
      assert.strictEqual(mean, `${formatRelativeError(w.blocks!.meanRelative)} mean`);
      assert.match(mean, /^\d\.\d\d% mean$/);
      assert.match(worst, new RegExp(`^${formatRelativeError(w.blocks!.maxRelative).replace('.', '\\.')} worst block`));
      // No card's text is cut off or runs into another card, and each lies inside the window.
      const boxes = await page.$$eval('#weight-detail .card', (cards) =>
        cards.map((c) => {
          const r = c.getBoundingClientRect();
          const cut = Array.from(c.children).some((t) => t.scrollWidth > t.clientWidth + 1 || t.getBoundingClientRect().right > r.right + 1);
          return { id: c.id || c.firstElementChild?.textContent, left: r.left, right: r.right, top: r.top, bottom: r.bottom, cut };
        }),
      );
      const where = `${viewport.width}x${viewport.height}`;
      assert.ok(boxes.length >= 7, `${where}: ${boxes.length} cards`);
      for (const b of boxes) {
        assert.strictEqual(b.cut, false, `${where}: text of card ${b.id} cut off`);
        assert.ok(b.left >= 0 && b.right <= viewport.width + 1, `${where}: card ${b.id} inside the window ${JSON.stringify(b)}`);
      }
      for (const a of boxes)
        for (const b of boxes) {
          if (a === b) continue;
          const apart = a.right <= b.left + 0.5 || b.right <= a.left + 0.5 || a.bottom <= b.top + 0.5 || b.bottom <= a.top + 0.5;
          assert.ok(apart, `${where}: cards ${a.id} and ${b.id} overlap`);
        }
      // A weights table narrower than its columns clips its header at its edge (it scrolls with the rows).
      const spill = await page.$eval('#weights .vt-header', (e) => e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX === 'visible');
      assert.strictEqual(spill, false, `${where}: the weights table's header spills over the detail`);
      await page.locator('#card-block-error').scrollIntoViewIfNeeded();
      await page.screenshot({ path: path.join(ARTIFACTS, `quant-report-weight-blocks-${where}.png`) });
      assert.deepStrictEqual(problems, []);
      await page.close();
    }
  });
});

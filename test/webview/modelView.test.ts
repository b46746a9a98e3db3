// The model view app in real headless Chromium: the bundled dist/webview.js on the page the
// extension serves (same CSP), answered by the engine's real ModelView for a real model. Only the
// VS Code transport is replaced: acquireVsCodeApi() posts to this test, which replies the way
// the extension's WebviewHost does.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { readModelSync } from '../support/helpers';
import { ModelView } from '../../src/core/onnx/modelView';
import { parseFromView } from '../../src/shared/ipc';
import { MODEL_VIEW_PROTOCOL, type LayerErrors, type ToModelView } from '../../src/shared/modelViewProtocol';
import { webviewPageHtml } from '../../src/shared/webviewHtml';
import { DataType } from '../../src/core/onnx/dataTypes';
import { decodeModel } from '../../src/core/onnx/model';
import { GraphBuilder, modelBytes } from '../fixtures/builder';
import { CHROMIUM_ARGS, chromiumPath, ROOT, realModel, ARTIFACTS } from '../support/browser';
import { inkOf, setVsCodeTheme } from '../support/vscodeTheme';

const ORIGIN = 'https://webview.test';

interface Host {
  page: Page;
  requests: string[];
  consoleErrors: string[];
}

/** How the test's host answers beyond the model: when probes finish, what Set Input Shapes gives. */
interface HostOptions {
  /** Probe runs answer once this settles. */
  probeGate?: Promise<void>;
  /** The sizes the user "types" into Set Input Shapes (the host then tells the view, as VS Code's does). */
  typedShapes?: Record<string, number[]>;
}

async function openView(
  browser: Browser,
  view: ModelView | Error,
  theme: 'dark' | 'light' = 'dark',
  layerErrors: LayerErrors | null = null,
  options: HostOptions = {},
): Promise<Host> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  const host: Host = { page, requests: [], consoleErrors: [] };
  let inputShapes: Record<string, number[]> | undefined;
  page.on('console', (m) => {
    if (m.type() === 'error') host.consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => host.consoleErrors.push(e.message));
  await page.route(`${ORIGIN}/**`, (route) => {
    const url = new URL(route.request().url());
    const file = {
      '/webview.js': path.join(ROOT, 'dist', 'webview.js'),
      '/base.css': path.join(ROOT, 'media', 'common', 'base.css'),
      '/main.css': path.join(ROOT, 'media', 'main.css'),
    }[url.pathname];
    if (url.pathname === '/') {
      return route.fulfill({
        contentType: 'text/html',
        body: webviewPageHtml({
          nonce: 'test-nonce',
          cspSource: ORIGIN,
          scriptUri: `${ORIGIN}/webview.js`,
          styleUri: [`${ORIGIN}/base.css`, `${ORIGIN}/main.css`],
          title: 'model',
        }),
      });
    }
    return file ? route.fulfill({ path: file }) : route.fulfill({ status: 404 });
  });
  await page.exposeFunction('hostReceive', async (raw: unknown) => {
    const msg = parseFromView(MODEL_VIEW_PROTOCOL, raw);
    if (msg.type !== 'request') return;
    host.requests.push(msg.method);
    let reply: ToModelView;
    try {
      if (view instanceof Error) throw view;
      const handlers: Record<string, (p: never) => unknown> = {
        overview: () => view.overview(),
        nodes: async (p: { probe: boolean }) => {
          if (p.probe) await options.probeGate;
          return view.nodes(p.probe, p.probe ? inputShapes : undefined);
        },
        setInputShapes: () => {
          inputShapes = options.typedShapes;
          setTimeout(() => void page.evaluate(() => window.postMessage({ type: 'notify', method: 'inputShapesChanged', params: {} }, '*')));
          return inputShapes !== undefined;
        },
        tensors: () => view.tensors(),
        tensorStats: (p: { name: string }) => view.tensorStats(p.name),
        revealInInspector: () => true,
        layerErrors: () => layerErrors,
      };
      reply = { type: 'response', id: msg.id, result: await handlers[msg.method](msg.params as never) };
    } catch (e) {
      reply = { type: 'response', id: msg.id, error: (e as Error).message };
    }
    await page.evaluate((m) => window.postMessage(m, '*'), reply);
  });
  await page.addInitScript(() => {
    let state: unknown;
    (window as unknown as { acquireVsCodeApi: () => unknown }).acquireVsCodeApi = () => ({
      postMessage: (m: unknown) => (window as unknown as { hostReceive: (m: unknown) => void }).hostReceive(m),
      getState: () => state,
      setState: (s: unknown) => {
        state = s;
      },
    });
  });
  await page.addInitScript(setVsCodeTheme, theme);
  await page.goto(`${ORIGIN}/`);
  return host;
}

async function rowTexts(page: Page, column: number): Promise<string[]> {
  return page.$$eval(`#layers .vt-row`, (rows, c) => rows.map((r) => (r.children[c] as HTMLElement).textContent ?? ''), column);
}

async function clickTab(page: Page, title: string): Promise<void> {
  await page.locator('vscode-tab-header', { hasText: title }).click();
}

describe('model view in Chromium', function () {
  let browser: Browser;
  let view: ModelView;

  before(async () => {
    assert.ok(fs.existsSync(path.join(ROOT, 'dist', 'webview.js')), 'dist/webview.js is missing: run `npm run build`');
    browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS });
    view = new ModelView(readModelSync(realModel('ch_PP-OCRv4_det_infer.onnx')));
    fs.mkdirSync(ARTIFACTS, { recursive: true });
  });

  after(async () => {
    await browser?.close();
  });

  it('renders the overview: cards, inputs and outputs, the op-type chart', async () => {
    const { page, consoleErrors } = await openView(browser, view);
    await page.waitForSelector('body[data-state="ready"]');
    const cards = await page.$$eval('#overview .card-title', (els) => els.map((e) => e.textContent));
    assert.deepStrictEqual(cards, ['Opset', 'Producer', 'Parameters', 'Size', 'Nodes']);
    const nodes = await page.$eval('#overview .card:nth-child(5) .card-value', (e) => e.textContent);
    assert.strictEqual(nodes, String(view.overview().summary.nodes.total));
    assert.match(await page.$eval('#overview table.io', (e) => e.textContent ?? ''), /x\s*float32/);
    await page.waitForFunction(() => document.querySelector('canvas[data-chart="op-types"]') !== null);
    assert.ok((await inkOf(page, 'canvas[data-chart="op-types"]')) > 0.01, 'the op-type chart has bars');
    await page.screenshot({ path: path.join(ARTIFACTS, 'model-view-overview.png') });
    assert.deepStrictEqual(consoleErrors, [], 'no console errors and no CSP violations');
    await page.close();
  });

  it('lays out to the window at any size: the page never scrolls, each tab scrolls its own content', async () => {
    const { page, consoleErrors } = await openView(browser, view);
    await page.waitForSelector('body[data-state="ready"]');
    const tabs = [
      ['Overview', '#overview', '#overview'],
      ['Layers', '#layers', '#layers .vt-viewport'],
      ['Weights', '#weights', '#weights .vt-viewport'],
    ] as const;
    for (const size of [
      { width: 1280, height: 860 },
      { width: 760, height: 480 },
      { width: 1700, height: 1060 },
    ]) {
      await page.setViewportSize(size);
      for (const [title, content, scroller] of tabs) {
        await clickTab(page, title);
        if (title !== 'Overview') await page.waitForSelector(`${content} .vt-row`);
        const fit = await page.evaluate(
          ([c, s]) => {
            const box = document.querySelector(c)!.getBoundingClientRect();
            const own = document.querySelector(s) as HTMLElement;
            return {
              bottom: box.bottom,
              right: box.right,
              own: own.clientHeight,
              scrolls: own.scrollHeight > own.clientHeight,
              page: document.scrollingElement!.scrollTop,
            };
          },
          [content, scroller] as const,
        );
        const where = `${title} at ${size.width}x${size.height}`;
        assert.ok(fit.bottom <= size.height + 1 && fit.right <= size.width + 1, `${where}: the content ends inside the window (${fit.bottom}, ${fit.right})`);
        assert.ok(fit.own >= 60, `${where}: its scrolling part keeps room (${fit.own}px)`);
        if (title === 'Layers') assert.ok(fit.scrolls, `${where}: the table scrolls its rows itself`);
        assert.strictEqual(fit.page, 0, `${where}: the page does not scroll`);
        await page.screenshot({ path: path.join(ARTIFACTS, `model-view-fit-${size.width}x${size.height}-${title.toLowerCase()}.png`) });
      }
    }
    assert.deepStrictEqual(consoleErrors, []);
    await page.close();
  });

  it('lists layers, sorts them by a column and filters them by text', async () => {
    const { page } = await openView(browser, view);
    await page.waitForSelector('body[data-state="ready"]');
    await clickTab(page, 'Layers');
    await page.waitForSelector('#layers .vt-row');
    const info = await page.waitForFunction(
      () => /layers/.test(document.getElementById('layer-info')?.textContent ?? '') && document.getElementById('layer-info')!.textContent,
    );
    assert.match(String(await info.jsonValue()), new RegExp(`^${view.overview().summary.nodes.total} layers`));
    const rendered = await page.$$eval('#layers .vt-row', (r) => r.length);
    assert.ok(rendered < 200, `only the visible rows are in the DOM (${rendered})`);

    await page.click('#layers .vt-head[data-key="op"]');
    const ops = await rowTexts(page, 2);
    assert.deepStrictEqual(
      ops,
      [...ops].sort((a, b) => a.localeCompare(b, undefined, { numeric: true })),
      'sorted by op',
    );
    await page.click('#layers .vt-head[data-key="op"]');
    const descending = await rowTexts(page, 2);
    assert.ok(descending[0].localeCompare(ops[0]) > 0, 'a second click sorts descending');

    await page.locator('#layer-search').pressSequentially('Sigmoid');
    await page.waitForFunction(
      () =>
        /^\d+ layers/.test(document.getElementById('layer-info')?.textContent ?? '') && !document.getElementById('layer-info')!.textContent!.startsWith('672'),
    );
    // The filter matches node names, op types and tensor names.
    const filtered = await page.$$eval('#layers .vt-row', (rows) => rows.map((r) => r.textContent ?? ''));
    assert.ok(filtered.length > 0 && filtered.length < 200, `filtered to ${filtered.length} rows`);
    assert.ok(
      filtered.every((text) => /sigmoid/i.test(text)),
      `every row mentions Sigmoid: ${filtered.slice(0, 3)}`,
    );
    await page.screenshot({ path: path.join(ARTIFACTS, 'model-view-layers.png') });
    await page.close();
  });

  it('computes statistics and a histogram of a selected weight on request', async () => {
    const { page, requests } = await openView(browser, view);
    await page.waitForSelector('body[data-state="ready"]');
    assert.ok(!requests.includes('tensorStats'), 'no statistics before a tensor is chosen');
    await clickTab(page, 'Weights');
    await page.waitForSelector('#weights .vt-row');
    await page.click('#weights .vt-row');
    await page.waitForSelector('#tensor-stats canvas[data-chart="histogram"]');
    const first = (await rowTexts(page, 0).catch(() => [])) && (await page.$eval('#weights .vt-row .vt-cell', (e) => e.textContent ?? ''));
    const expected = view.tensorStats(first).stats;
    const range = await page.$eval('#tensor-stats .card:nth-child(2) .card-value', (e) => e.textContent ?? '');
    assert.ok(range.startsWith(Number(expected.min!.toPrecision(5)).toString()), `${range} starts with the minimum ${expected.min}`);
    assert.ok((await inkOf(page, '#tensor-stats canvas')) > 0.01, 'the histogram has bars');
    assert.ok(requests.includes('tensorStats'));
    await page.close();
  });

  it('redraws the charts with the new colours when the theme changes', async () => {
    const { page } = await openView(browser, view, 'dark');
    await page.waitForSelector('canvas[data-chart="op-types"]');
    const before = await page.$eval('canvas[data-chart="op-types"]', (c) => (c as HTMLElement).dataset.colors);
    await page.evaluate(setVsCodeTheme, 'light' as const);
    await page.waitForFunction(() => (document.querySelector('canvas[data-chart="op-types"]') as HTMLElement).dataset.redraws === '1');
    const after = await page.$eval('canvas[data-chart="op-types"]', (c) => (c as HTMLElement).dataset.colors);
    assert.strictEqual(before, '#3794ff');
    assert.strictEqual(after, '#1a85ff');
    await page.screenshot({ path: path.join(ARTIFACTS, 'model-view-light.png') });
    await page.close();
  });

  it('shows a readable error when the model cannot be read', async () => {
    const { page } = await openView(browser, new Error('broken.onnx: the protobuf data is truncated or corrupt'));
    await page.waitForSelector('body[data-state="error"]');
    const text = await page.$eval('#overview .error', (e) => e.textContent ?? '');
    assert.match(text, /cannot be shown.*truncated or corrupt/);
    await page.close();
  });

  it('colours layers by the error of the report beside the model, worst first when sorted', async () => {
    const convs = (await view.nodes(false)).rows.filter((r) => r.op === 'Conv').slice(0, 4);
    const dbs = [25, 5, 40, 15];
    const errors: LayerErrors = {
      reportFile: '/models/ocr-det.int8.report.json',
      nodes: Object.fromEntries(convs.map((r, i) => [r.name, { accumulated: dbs[i], local: dbs[i] + 3, tensor: r.outputs[0].name }])),
    };
    const { page, consoleErrors } = await openView(browser, view, 'dark', errors);
    await page.waitForSelector('body[data-state="ready"]');
    await clickTab(page, 'Layers');
    await page.waitForFunction(() => /SQNR from/.test(document.getElementById('layer-errors')?.textContent ?? ''));
    assert.match(await page.$eval('#layer-errors', (e) => e.textContent ?? ''), /SQNR from ocr-det\.int8\.report\.json \(accumulated, dB\)/);
    // PP-OCR lists hundreds of Constant nodes first: the convolutions are out of view until sorted.
    await page.click('#layers .vt-head[data-key="sqnr"]');
    await page.waitForSelector('#layers .vt-cell.sqnr-bad');
    const top = await page.$$eval('#layers .vt-row', (rows) =>
      rows.slice(0, 5).map((r) => {
        const cell = r.children[7] as HTMLElement;
        return `${r.children[1].textContent}|${cell.textContent}|${cell.className.trim().split(/\s+/).pop()}`;
      }),
    );
    const byError = convs.map((r, i) => ({ name: r.name, db: dbs[i] })).sort((a, b) => a.db - b.db);
    const band = (db: number) => (db < 10 ? 'sqnr-bad' : db < 20 ? 'sqnr-poor' : db < 30 ? 'sqnr-fair' : 'sqnr-good');
    assert.deepStrictEqual(
      top.slice(0, 4),
      byError.map((e) => `${e.name}|${e.db.toFixed(1)}|${band(e.db)}`),
      'worst first, coloured by band',
    );
    assert.match(top[4], /\|\|num$/, 'layers without a number come after, uncoloured');
    await page.screenshot({ path: path.join(ARTIFACTS, 'model-view-errors.png') });
    assert.deepStrictEqual(consoleErrors, []);
    await page.close();
  });

  it('reveals a node the host asks for', async () => {
    const { page } = await openView(browser, view);
    await page.waitForSelector('body[data-state="ready"]');
    const target = (await view.nodes(false)).rows[400].name;
    await page.evaluate((name) => window.postMessage({ type: 'notify', method: 'reveal', params: { kind: 'node', name } }, '*'), target);
    await page.waitForSelector('#layers .vt-row.selected', { timeout: 10000 }).catch(async (e) => {
      throw new Error(
        `${e.message}; tab: ${await page.$eval('#tabs', (t) => (t as unknown as { selectedIndex: number }).selectedIndex)}, rows: ${await page.$$eval('#layers .vt-row', (r) => r.length)}`,
      );
    });
    assert.strictEqual(await page.$eval('#layers .vt-row.selected .vt-cell:nth-child(2)', (e) => e.textContent), target);
    await page.close();
  });

  it('says that shapes are being probed, and stops saying it when they are', async () => {
    let finish = () => undefined as void;
    const probeGate = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const { page, consoleErrors } = await openView(browser, view, 'dark', null, { probeGate });
    await page.waitForSelector('body[data-state="ready"]');
    await clickTab(page, 'Layers');
    await page.waitForSelector('#layers .vt-row');
    await page.waitForSelector('#probe-status[data-state="probing"]');
    assert.strictEqual(await page.$eval('#probe-status', (e) => (e as HTMLElement).innerText.trim()), 'Probing shapes with onnxruntime…');
    assert.match(await page.$eval('#layer-info', (e) => e.textContent ?? ''), / · shapes: value_info(?!\+probe)/, 'the declared shapes show meanwhile');
    await page.screenshot({ path: path.join(ARTIFACTS, 'model-view-probing.png') });
    finish();
    await page.waitForSelector('#probe-status', { state: 'hidden' });
    assert.strictEqual(await page.$eval('#probe-status', (e) => e.dataset.state), undefined);
    assert.match(await page.$eval('#layer-info', (e) => e.textContent ?? ''), /shapes: value_info\+probe \(.*x=\[1,3,224,224\]/);
    assert.deepStrictEqual(consoleErrors, []);
    await page.close();
  });

  it('a model whose shapes cannot be probed: one sentence with the way to fix it, and Set Input Shapes probes again', async () => {
    // x [batch, n] is reshaped to [1, 2, 3]: only n = 6 runs, and nothing in the model says so.
    const hostile = new ModelView(
      decodeModel(
        modelBytes(
          new GraphBuilder('reshape')
            .input('x', DataType.FLOAT, ['batch', 'n'])
            .initializer('to', DataType.INT64, [3], BigInt64Array.of(1n, 2n, 3n))
            .node('Reshape', ['x', 'to'], ['r'], {}, { name: 'fold' })
            .node('Relu', ['r'], ['y'], {}, { name: 'act' })
            .output('y', DataType.FLOAT, null),
        ),
      ),
    );
    const { page, requests, consoleErrors } = await openView(browser, hostile, 'dark', null, { typedShapes: { x: [1, 6] } });
    await page.waitForSelector('body[data-state="ready"]');
    await clickTab(page, 'Layers');
    await page.waitForSelector('#probe-status[data-state="failed"]');
    assert.strictEqual(
      await page.$eval('#probe-status', (e) => (e as HTMLElement).innerText.trim()),
      "Shapes could not be probed: input 'x' needs a concrete size for 'n' (tried x=[1,1], which the Reshape node 'fold' refused)." +
        ' Give the input sizes with Set Input Shapes… or the onnxCompress.inspector.inputShapes setting.',
    );
    const shown = await page.$eval('#layers', (e) => (e as HTMLElement).innerText);
    for (const raw of ['Status Message', 'reshape_helper', '--input-shape', 'no probe run']) {
      assert.ok(!shown.includes(raw), `onnxruntime's words and the CLI's flag stay out of the view: ${raw}`);
    }
    await page.screenshot({ path: path.join(ARTIFACTS, 'model-view-probe-failed.png') });

    await page.click('#set-input-shapes');
    await page.waitForSelector('#probe-status', { state: 'hidden' });
    assert.ok(requests.includes('setInputShapes'));
    const act = await page.$$eval('#layers .vt-row', (rows) =>
      rows.map((r) => Array.from(r.children).map((c) => c.textContent)).find((cells) => cells[1] === 'act'),
    );
    assert.strictEqual(act?.[4], 'float32[1, 2, 3]');
    assert.match(await page.$eval('#layer-info', (e) => e.textContent ?? ''), /x=\[1,6\]/);
    assert.deepStrictEqual(consoleErrors, []);
    await page.close();
  });
});

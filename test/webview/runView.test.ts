// The distillation run view in real headless Chromium: the bundled dist/run.js on the page the
// extension serves (same CSP), fed the metrics stream a real trainer run recorded
// (test/fixtures/distill/run.metrics.jsonl). Only the VS Code transport is replaced: the page's
// acquireVsCodeApi() posts to this test, which posts the host's messages back.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { DistillEvent, StepEvent } from '../../src/shared/distillRun';
import { RUN_VIEW_PROTOCOL, type FromRunViewMessages, type ToRunViewMessages } from '../../src/shared/runViewProtocol';
import { fromView, toView, type Flat } from '../support/viewMessages';
import { webviewPageHtml } from '../../src/shared/webviewHtml';
import { ARTIFACTS, CHROMIUM_ARGS, chromiumPath, ROOT } from '../support/browser';
import { inkOf, setVsCodeTheme } from '../support/vscodeTheme';

const ORIGIN = 'https://webview.test';
const RECORDED = path.join(ROOT, 'test', 'fixtures', 'distill', 'run.metrics.jsonl');

type FromRunView = { type: 'ready' } | Flat<FromRunViewMessages>;
type ToRunView = Flat<ToRunViewMessages>;

interface Host {
  page: Page;
  received: FromRunView[];
  errors: string[];
  send(msg: ToRunView): Promise<void>;
  /** The last `drawn` message, once the view has drawn `events` events. */
  drawn(events: number): Promise<Extract<FromRunView, { type: 'drawn' }>>;
}

async function openRunView(browser: Browser): Promise<Host> {
  const page = await browser.newPage({ viewport: { width: 1200, height: 1100 } });
  const received: FromRunView[] = [];
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  const files: Record<string, string> = {
    '/run.js': path.join(ROOT, 'dist', 'run.js'),
    '/run/run.css': path.join(ROOT, 'media', 'run', 'run.css'),
    '/base.css': path.join(ROOT, 'media', 'common', 'base.css'),
  };
  await page.route(`${ORIGIN}/**`, (route) => {
    const { pathname } = new URL(route.request().url());
    if (pathname === '/') {
      return route.fulfill({
        contentType: 'text/html',
        body: webviewPageHtml({
          nonce: 'test-nonce',
          cspSource: ORIGIN,
          scriptUri: `${ORIGIN}/run.js`,
          styleUri: [`${ORIGIN}/base.css`, `${ORIGIN}/run/run.css`],
          title: 'run',
        }),
      });
    }
    return files[pathname] ? route.fulfill({ path: files[pathname] }) : route.fulfill({ status: 404 });
  });
  await page.exposeFunction('hostReceive', (raw: unknown) => {
    try {
      received.push(fromView(RUN_VIEW_PROTOCOL, raw));
    } catch (e) {
      errors.push(`invalid message from the view: ${(e as Error).message}`);
    }
  });
  await page.addInitScript(() => {
    (window as unknown as { acquireVsCodeApi: () => unknown }).acquireVsCodeApi = () => ({
      postMessage: (m: unknown) => (window as unknown as { hostReceive: (m: unknown) => void }).hostReceive(m),
      getState: () => undefined,
      setState: () => undefined,
    });
  });
  await page.addInitScript(setVsCodeTheme, 'dark' as const);
  await page.goto(`${ORIGIN}/`);
  const waitFor = async <T>(probe: () => T | undefined): Promise<T> => {
    for (let i = 0; i < 300; i++) {
      const v = probe();
      if (v !== undefined) return v;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`the view did not answer; it sent ${JSON.stringify(received.slice(-3))}`);
  };
  await waitFor(() => received.find((m) => m.type === 'ready'));
  return {
    page,
    received,
    errors,
    send: (msg) => page.evaluate((m) => window.postMessage(m, '*'), toView(msg)),
    drawn: (events) =>
      waitFor(() => [...received].reverse().find((m): m is Extract<FromRunView, { type: 'drawn' }> => m.type === 'drawn' && m.events === events)),
  };
}

describe('distillation run view in Chromium', function () {
  let browser: Browser;
  let events: DistillEvent[];

  before(async () => {
    assert.ok(fs.existsSync(path.join(ROOT, 'dist', 'run.js')), 'dist/run.js is missing: run `npm run build`');
    events = fs
      .readFileSync(RECORDED, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as DistillEvent);
    browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS });
    fs.mkdirSync(ARTIFACTS, { recursive: true });
  });

  after(async () => {
    await browser?.close();
  });

  it('draws the loss curve of every term and the accuracy per epoch from a recorded run, with the ETA going to zero', async () => {
    const host = await openRunView(browser);
    const start = events.find((e) => e.event === 'start');
    assert.ok(start && start.event === 'start', 'the recording has a start event');
    const steps = events.filter((e): e is StepEvent => e.event === 'step');
    const terms = Object.keys(steps[0].terms);
    assert.ok(steps.length > 4 && terms.length > 0, 'the recording has steps with loss terms');
    await host.send({
      type: 'header',
      header: {
        name: 'fashion KD',
        runDir: '/runs/fashion-kd',
        specFile: '/specs/kd.distill.json',
        settings: [['epochs', String(start.epochs)]],
        formulas: start.losses,
      },
    });
    await host.send({ type: 'state', state: 'running', message: 'Training', verification: null, actions: ['cancel'] });

    // Half the stream: the ETA is a duration, not yet zero.
    const half = events.indexOf(steps[Math.floor(steps.length / 2)]) + 1;
    await host.send({ type: 'events', events: events.slice(0, half) });
    const mid = await host.drawn(half);
    assert.notStrictEqual(mid.eta, '—', 'an ETA once steps have a throughput');
    assert.notStrictEqual(mid.eta, '0s', `half-way the ETA is not zero (${mid.eta})`);
    assert.strictEqual(await host.page.$eval('#card-eta .card-value', (e) => e.textContent), mid.eta);

    await host.send({ type: 'events', events: events.slice(half) });
    const end = await host.drawn(events.length);
    assert.strictEqual(end.eta, '0s', 'every step done: nothing left');
    assert.strictEqual(end.epochs, start.epochs);
    const series = await host.page.$eval('canvas[data-chart="loss"]', (c) => (c as HTMLElement).dataset.series);
    assert.deepStrictEqual(series?.split(','), ['total', ...terms], 'one curve for the total and one per term');
    const points = Number(await host.page.$eval('canvas[data-chart="loss"]', (c) => (c as HTMLElement).dataset.points));
    assert.strictEqual(points, steps.length * (1 + terms.length), 'every step of every term is a point');
    const evals = events.filter((e) => e.event === 'eval' && e.accuracy !== null).length;
    assert.ok(evals > 0, 'the recording has evaluations');
    assert.ok(Number(await host.page.$eval('canvas[data-chart="accuracy"]', (c) => (c as HTMLElement).dataset.points)) >= evals);
    assert.ok((await inkOf(host.page, 'canvas[data-chart="loss"]')) > 0.01, 'the loss chart has ink');
    assert.ok((await inkOf(host.page, 'canvas[data-chart="accuracy"]')) > 0.005, 'the accuracy chart has ink');
    const formulas = await host.page.$eval('#formulas', (e) => e.textContent ?? '');
    for (const f of Object.values(start.losses)) assert.ok(formulas.includes(f), `the formula is shown: ${f}`);
    await host.page.screenshot({ path: path.join(ARTIFACTS, 'run-view.png'), fullPage: true });
    assert.deepStrictEqual(host.errors, [], 'no console errors and no CSP violations');
    await host.page.close();
  });

  it('shows the verification and offers the next actions, which it sends back by name', async () => {
    const host = await openRunView(browser);
    await host.send({ type: 'events', events });
    await host.drawn(events.length);
    await host.send({
      type: 'state',
      state: 'completed',
      message: 'Completed',
      actions: ['quantize', 'openFolder'],
      verification: {
        loads: true,
        samples: 1000,
        accuracy: 0.8123,
        teacherAccuracy: 0.9,
        agreement: 0.85,
        studentBytes: 2048,
        teacherBytes: 409600,
        latencyMs: 0.05,
        teacherLatencyMs: 0.4,
        executionProvider: 'cpu',
        data: 'eval',
      },
    });
    await host.page.waitForSelector('body[data-state="completed"]');
    assert.match(await host.page.$eval('#verification', (e) => e.textContent ?? ''), /81\.23%.*90\.00%/);
    await host.page.click('button[data-action="quantize"]');
    for (let i = 0; i < 100 && !host.received.some((m) => m.type === 'action'); i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepStrictEqual(
      host.received.filter((m) => m.type === 'action'),
      [{ type: 'action', action: 'quantize' }],
    );
    await host.page.close();
  });

  it('redraws the curves with the new colours when the theme changes', async () => {
    const host = await openRunView(browser);
    await host.send({ type: 'events', events });
    await host.drawn(events.length);
    const colors = () => host.page.$eval('canvas[data-chart="loss"]', (c) => (c as HTMLElement).dataset.colors);
    assert.strictEqual(await colors(), '#3794ff');
    await host.page.evaluate(setVsCodeTheme, 'light' as const);
    await host.page.waitForFunction(() => Number((document.querySelector('canvas[data-chart="loss"]') as HTMLElement).dataset.redraws) >= 1);
    assert.strictEqual(await colors(), '#1a85ff');
    await host.page.screenshot({ path: path.join(ARTIFACTS, 'run-view-light.png'), fullPage: true });
    await host.page.close();
  });

  it('starts over on reset (a resumed run replays its folder)', async () => {
    const host = await openRunView(browser);
    await host.send({ type: 'events', events });
    await host.drawn(events.length);
    await host.send({ type: 'reset' });
    const cleared = await host.drawn(0);
    assert.strictEqual(cleared.steps, 0);
    assert.strictEqual(await host.page.$eval('canvas[data-chart="loss"]', (c) => (c as HTMLElement).dataset.points), '0');
    await host.page.close();
  });
});

// The quantization report app: in the VS Code panel it draws the report the host posts and sends
// the user's actions back; in the offline HTML report it draws the report embedded in the page.
// Either way the report is validated first and only drawn when valid; its strings are only ever
// set as text.
import { parseQuantReport, type QuantReport } from '../../src/shared/quantReport';
import type { ToReportView } from '../../src/shared/reportProtocol';
import { clear, h } from '../dom';
import { connect, embeddedReport } from './host';
import { StatusLine } from './status';
import { ReportView, viewState } from './view';

const host = connect();
const state = viewState(host.getState());
const save = () => host.setState(state);
const app = document.getElementById('app')!;
const status = new StatusLine(() => host.post({ type: 'cancel' }));
let view: ReportView | undefined;
document.body.classList.add(host.inVsCode ? 'in-vscode' : 'standalone');

function showError(message: string): void {
  view?.dispose();
  view = undefined;
  clear(app);
  app.append(h('div', { className: 'error', role: 'alert', id: 'report-error' },
    h('strong', {}, 'This report cannot be shown. '), message,
    h('div', { className: 'card-detail' }, 'Run the analysis again (ONNX: Quantize Model… or onnx-compress analyze) or correct the file.')));
  document.body.dataset.state = 'error';
}

function show(raw: unknown, previousRaw: unknown): void {
  let report: QuantReport;
  let previous: QuantReport | null;
  try {
    report = parseQuantReport(raw);
    previous = previousRaw ? parseQuantReport(previousRaw) : null;
  } catch (e) {
    showError((e as Error).message);
    return;
  }
  view?.dispose();
  clear(app);
  view = new ReportView(app, report, previous, state, save, host.inVsCode ? (m) => host.post(m) : null, status);
  document.body.dataset.state = 'ready';
}

if (host.inVsCode) {
  host.onMessage((msg: ToReportView) => {
    if (msg.type === 'report') show(msg.report, msg.previous);
    else if (msg.type === 'busy') status.progress(msg.message, msg.fraction);
    else if (msg.type === 'done') status.done(msg.message);
    else if (msg.type === 'error') status.error(msg.message);
  });
  host.post({ type: 'ready' });
} else {
  // Offline: the page's colours follow the system theme; charts redraw when it changes.
  const dark = matchMedia('(prefers-color-scheme: dark)');
  const theme = () => document.body.classList.toggle('standalone-dark', dark.matches);
  theme();
  dark.addEventListener('change', theme);
  try {
    const raw = embeddedReport();
    if (raw === undefined) showError('the page holds no report (no element with id "quant-report").');
    else show(raw, null);
  } catch (e) {
    showError((e as Error).message);
  }
}

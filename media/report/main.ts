// The quantization report app: in the VS Code panel it draws the report the host posts and sends
// the user's actions back; in the offline HTML report it draws the report embedded in the page.
// Either way the report is validated first and only drawn when valid; its strings are only ever
// set as text.
import { parseQuantReport, type QuantReport } from '../../src/shared/quantReport';
import { REPORT_DATA_ELEMENT_ID, REPORT_VIEW_PROTOCOL } from '../../src/shared/reportViewProtocol';
import { ViewClient } from '../common/client';
import { clear, h } from '../common/dom';
import { followSystemTheme } from './standaloneTheme';
import { StatusLine } from './status';
import { ReportView, viewState } from './view';

const host = new ViewClient(REPORT_VIEW_PROTOCOL);
const { inVsCode } = host.transport;
const state = viewState(host.transport.getState());
const save = () => host.transport.setState(state);
const app = document.getElementById('app')!;
const status = new StatusLine(() => host.notify('cancel', {}));
let view: ReportView | undefined;
document.body.classList.add(inVsCode ? 'in-vscode' : 'standalone');

function showError(message: string): void {
  view?.dispose();
  view = undefined;
  clear(app);
  app.append(
    h(
      'div',
      { className: 'error', role: 'alert', id: 'report-error' },
      h('strong', {}, 'This report cannot be shown. '),
      message,
      h('div', { className: 'card-detail' }, 'Run the analysis again (ONNX: Quantize Model… or onnx-compress analyze) or correct the file.'),
    ),
  );
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
  view = new ReportView(app, report, previous, state, save, inVsCode ? (method, params) => host.notify(method, params) : null, status);
  document.body.dataset.state = 'ready';
}

/** The report embedded in the offline HTML page, parsed as JSON (not yet validated); undefined when absent. */
function embeddedReport(): unknown {
  const el = document.getElementById(REPORT_DATA_ELEMENT_ID);
  if (!el) return undefined;
  try {
    return JSON.parse(el.textContent ?? '');
  } catch (e) {
    throw new Error(`the report in this page is not valid JSON (${(e as Error).message})`);
  }
}

if (inVsCode) {
  host.on('report', (msg) => show(msg.report, msg.previous));
  host.on('busy', (msg) => status.progress(msg.message, msg.fraction));
  host.on('done', (msg) => status.done(msg.message));
  host.on('error', (msg) => status.error(msg.message));
  host.ready();
} else {
  // Offline: the page's colours follow the system theme; charts redraw when it changes.
  followSystemTheme();
  try {
    const raw = embeddedReport();
    if (raw === undefined) showError('the page holds no report (no element with id "quant-report").');
    else show(raw, null);
  } catch (e) {
    showError((e as Error).message);
  }
}

// The distillation run view: the run's settings and loss formulas, live loss curves per term,
// accuracy and agreement per epoch, throughput and ETA, and at the end the student's
// verification with the next actions. It only draws what the host posts (src/shared/runViewProtocol).
import type { StudentVerification } from '../../src/shared/distillRun';
import { formatBytes } from '../../src/shared/format';
import { RUN_VIEW_PROTOCOL, type RunViewAction, type RunViewHeader } from '../../src/shared/runViewProtocol';
import { ViewClient } from '../common/client';
import { card, clear, h } from '../common/dom';
import { LineChart } from './lineChart';
import { formatDuration, RunProgress } from './progress';

const host = new ViewClient(RUN_VIEW_PROTOCOL);

const ACTION_LABELS: Record<RunViewAction, string> = {
  cancel: 'Cancel',
  resume: 'Resume',
  openFolder: 'Open Run Folder',
  openReport: 'Open Report',
  quantize: 'Quantize This Student',
};

let progress = new RunProgress();
const app = document.getElementById('app')!;
const headerBox = h('header', { id: 'run-header' });
const stateBox = h('div', { id: 'run-state', className: 'state', role: 'status' });
const actionsBox = h('div', { id: 'run-actions', className: 'actions' });
const cards = h('div', { className: 'cards', id: 'run-cards' });
const lossBox = h('div', { className: 'chart-box run-chart', id: 'loss-chart' });
const accuracyBox = h('div', { className: 'chart-box run-chart', id: 'accuracy-chart' });
const verifyBox = h('div', { id: 'verification' });
const errorsBox = h('div', { id: 'run-errors' });
const formulasBox = h('div', { id: 'formulas' });
app.append(
  headerBox,
  stateBox,
  actionsBox,
  errorsBox,
  cards,
  h('h3', {}, 'Loss per term'),
  lossBox,
  h('h3', {}, 'Accuracy per epoch'),
  accuracyBox,
  verifyBox,
  formulasBox,
);
const lossChart = new LineChart(lossBox, 'loss', 'step');
const accuracyChart = new LineChart(accuracyBox, 'accuracy', 'epoch', { min: 0, max: 1 }, 1);

const pct = (v: number | null) => (v === null ? '—' : `${(v * 100).toFixed(2)}%`);

function renderHeader(hd: RunViewHeader): void {
  clear(headerBox);
  headerBox.append(
    h('h2', {}, hd.name),
    h('div', { className: 'info' }, hd.runDir),
    h(
      'details',
      { id: 'settings' },
      h('summary', {}, `Settings (${hd.settings.length})`),
      h('table', { className: 'io settings' }, h('tbody', {}, ...hd.settings.map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', {}, v))))),
    ),
  );
  clear(formulasBox);
  const formulas = Object.entries(hd.formulas);
  if (formulas.length) {
    formulasBox.append(
      h('h3', {}, 'Loss formulas'),
      h('table', { className: 'io' }, h('tbody', {}, ...formulas.map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', { className: 'formula' }, v))))),
    );
  }
}

function renderProgress(): void {
  const p = progress;
  const epochs = p.start?.epochs ?? 0;
  const eta = formatDuration(p.etaSeconds());
  const last = p.points[p.points.length - 1];
  clear(cards);
  cards.append(
    card('Phase', p.phase, p.phase === 'cache' ? p.cache : p.phaseMessage, 'card-phase'),
    card(
      'Epoch',
      epochs ? `${Math.min(epochs, p.epochsDone + (p.stepsDone % Math.max(1, p.stepsPerEpoch) ? 1 : 0))} / ${epochs}` : '—',
      p.totalSteps ? `step ${p.stepsDone} / ${p.totalSteps}` : '',
      'card-epoch',
    ),
    card('Loss', last ? last.loss.toPrecision(4) : '—', p.lr !== null ? `lr ${p.lr.toPrecision(3)}` : '', 'card-loss'),
    card(
      'Throughput',
      p.throughput === null ? '—' : `${Math.round(p.throughput)} samples/s`,
      p.start ? `${p.start.device}, ${p.start.threads} thread${p.start.threads === 1 ? '' : 's'}` : '',
      'card-throughput',
    ),
    card('ETA', eta, p.cacheBytes !== null ? `cache ${formatBytes(p.cacheBytes)}` : '', 'card-eta'),
    card('Best accuracy', pct(p.bestAccuracy()), p.evals.length ? `agreement ${pct(p.evals[p.evals.length - 1].agreement)}` : '', 'card-accuracy'),
  );
  const gain = p.baseline.length ? p.baseline[p.baseline.length - 1] : undefined;
  if (gain)
    cards.append(
      card(
        'KD vs labels only',
        gain.gain === null ? '—' : `${gain.gain >= 0 ? '+' : '−'}${Math.abs(100 * gain.gain).toFixed(2)} points`,
        `epoch ${gain.epoch}: ${pct(gain.kdAccuracy)} distilled, ${pct(gain.accuracy)} labels only`,
        'card-baseline',
      ),
    );
  lossChart.draw([
    { label: 'total', points: p.points.map((q) => ({ x: q.x, y: q.loss })) },
    ...p.terms.map((t) => ({ label: t, points: p.points.filter((q) => q.terms[t] !== undefined).map((q) => ({ x: q.x, y: q.terms[t] })) })),
  ]);
  accuracyChart.draw([
    { label: 'accuracy', points: p.evals.filter((v) => v.accuracy !== null).map((v) => ({ x: v.epoch, y: v.accuracy! })) },
    { label: 'agreement with teacher', points: p.evals.filter((v) => v.agreement !== null).map((v) => ({ x: v.epoch, y: v.agreement! })) },
    ...(p.baseline.length
      ? [{ label: 'labels-only baseline', points: p.baseline.filter((v) => v.accuracy !== null).map((v) => ({ x: v.epoch, y: v.accuracy! })) }]
      : []),
  ]);
  clear(errorsBox);
  for (const e of p.errors) errorsBox.append(h('div', { className: 'error', role: 'alert' }, e));
  document.body.dataset.eta = eta;
  host.notify('drawn', { events: p.events, steps: p.stepsDone, epochs: p.epochsDone, eta });
}

function renderVerification(v: StudentVerification | null): void {
  clear(verifyBox);
  if (!v) return;
  const row = (k: string, student: string, teacher: string) => h('tr', {}, h('th', {}, k), h('td', {}, student), h('td', {}, teacher));
  const ms = (x: number | null) => (x === null ? '—' : `${x.toFixed(3)} ms`);
  verifyBox.append(
    h('h3', {}, 'Student verified in onnxruntime'),
    h(
      'table',
      { className: 'io' },
      h('thead', {}, h('tr', {}, h('th', {}, ''), h('th', {}, 'student'), h('th', {}, 'teacher'))),
      h(
        'tbody',
        {},
        row('loads', v.loads ? 'yes' : 'no', ''),
        row('accuracy', pct(v.accuracy), pct(v.teacherAccuracy)),
        row('agreement', pct(v.agreement), ''),
        row('size', formatBytes(v.studentBytes), formatBytes(v.teacherBytes)),
        row('latency (batch 1)', ms(v.latencyMs), ms(v.teacherLatencyMs)),
        row('data', `${v.samples} samples of ${v.data}`, v.executionProvider),
      ),
    ),
  );
}

function renderActions(actions: RunViewAction[]): void {
  clear(actionsBox);
  for (const a of actions) {
    actionsBox.append(h('button', { 'data-action': a, onclick: () => host.notify('action', { action: a }) }, ACTION_LABELS[a]));
  }
}

host.on('header', ({ header }) => renderHeader(header));
host.on('reset', () => {
  progress = new RunProgress();
  renderProgress();
});
host.on('events', ({ events }) => {
  for (const e of events) progress.ingest(e);
  renderProgress();
});
host.on('state', (msg) => {
  document.body.dataset.state = msg.state;
  stateBox.textContent = msg.message;
  stateBox.className = `state ${msg.state}`;
  renderVerification(msg.verification);
  renderActions(msg.actions);
});

renderProgress();
host.ready();

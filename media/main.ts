// The model view: an overview of one ONNX model (cards, inputs and outputs, op-type chart), its
// layers in a searchable, sortable table, and its weights with statistics and a histogram on
// request. It asks the host for each part when it is shown; the model never comes here whole.
import '@vscode-elements/elements/dist/vscode-tabs/index.js';
import '@vscode-elements/elements/dist/vscode-tab-header/index.js';
import '@vscode-elements/elements/dist/vscode-tab-panel/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import '@vscode-elements/elements/dist/vscode-progress-ring/index.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import {
  MODEL_VIEW_PROTOCOL,
  sqnrBand,
  type LayerErrors,
  type ModelOverview,
  type NodeRow,
  type NodesResult,
  type QuantParams,
  type TensorRow,
} from '../src/shared/modelViewProtocol';
import type { TensorStatsReport, ValueSummary } from '../src/shared/summary';
import { formatBytes, formatCount, formatShape } from '../src/shared/format';
import { BarChart, HistogramChart } from './charts';
import { ViewClient } from './common/client';
import { card, clear, h } from './common/dom';
import { VirtualTable, type SortState } from './virtualTable';

interface ViewState {
  tab: number;
  layerSearch: string;
  layerSort: SortState;
  tensorSearch: string;
  tensorSort: SortState;
  tensor?: string;
}

const host = new ViewClient(MODEL_VIEW_PROTOCOL);
const request = host.request.bind(host);
const saved = (host.transport.getState() ?? {}) as Partial<ViewState>;
const state: ViewState = {
  tab: saved.tab ?? 0,
  layerSearch: saved.layerSearch ?? '',
  layerSort: saved.layerSort ?? { key: 'id', descending: false },
  tensorSearch: saved.tensorSearch ?? '',
  tensorSort: saved.tensorSort ?? { key: 'bytes', descending: true },
  tensor: saved.tensor,
};
const save = () => host.transport.setState(state);

const app = document.getElementById('app')!;
document.body.classList.add('model-view');

function errorBox(message: string): HTMLElement {
  return h('div', { className: 'error', role: 'alert' }, h('strong', {}, 'This model cannot be shown. '), message);
}

function valuesTable(caption: string, values: ValueSummary[]): HTMLElement {
  return h(
    'table',
    { className: 'io' },
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, h('th', {}, 'name'), h('th', {}, 'type'), h('th', {}, 'shape'))),
    h(
      'tbody',
      {},
      ...values.map((v) => h('tr', {}, h('td', {}, v.name), h('td', {}, v.elemType), h('td', {}, v.kind === 'tensor' ? formatShape(v.shape) : v.kind))),
    ),
  );
}

function quantText(q: QuantParams | null): string {
  if (!q) return '';
  const scale = q.count > 1 ? `${q.count} scales` : `scale ${q.scale[0]?.toPrecision(4) ?? '?'}`;
  const zp = q.count > 1 ? '' : ` zp ${q.zeroPoint[0] ?? 0}`;
  return `${q.type} ${scale}${zp}${q.axis !== null ? ` axis ${q.axis}` : ''}${q.blockSize ? ` block ${q.blockSize}` : ''}`;
}

function renderOverview(panel: HTMLElement, o: ModelOverview): void {
  const s = o.summary;
  const opsets = s.opsets.map((x) => `${x.domain || 'ai.onnx'} ${x.version}`).join(', ');
  const types = s.parameters.byDataType.map((d) => `${d.dataType} ${formatBytes(d.bytes)}`).join(' · ');
  clear(panel);
  panel.append(
    h(
      'div',
      { className: 'cards' },
      card('Opset', opsets || '-', `IR ${s.irVersion}`),
      card('Producer', [s.producer.name, s.producer.version].filter(Boolean).join(' ') || 'unknown', s.graphName),
      card('Parameters', formatCount(s.parameters.elements), `${s.parameters.tensors} tensors`),
      card('Size', formatBytes(s.fileBytes), types),
      card('Nodes', String(s.nodes.total), s.nodes.subgraphs ? `${s.nodes.subgraphs} in subgraphs` : `${s.nodes.byOpType.length} op types`),
      o.quantized.length ? card('Quantized', `${o.quantized.length} tensors`, `${o.integerNodes} nodes in integer`) : null,
    ),
    s.warnings.length ? h('div', { className: 'warnings' }, ...s.warnings.map((w) => h('div', { className: 'warning' }, w))) : '',
    h('div', { className: 'io-row' }, valuesTable('Inputs', s.inputs), valuesTable('Outputs', s.outputs)),
    h('h3', {}, 'Nodes by op type'),
  );
  const canvasBox = h('div', { className: 'chart-box', id: 'op-chart' });
  const height = Math.max(120, Math.min(900, s.nodes.byOpType.length * 22 + 40));
  canvasBox.style.height = `${height}px`;
  panel.append(canvasBox);
  const opChart = new BarChart(canvasBox, 'op-types');
  opChart.draw({ labels: s.nodes.byOpType.map((x) => (x.domain ? `${x.domain}::${x.opType}` : x.opType)), values: s.nodes.byOpType.map((x) => x.count) });
  if (Object.keys(s.metadata).length) {
    panel.append(
      h('h3', {}, 'Metadata'),
      h('table', { className: 'io' }, h('tbody', {}, ...Object.entries(s.metadata).map(([k, v]) => h('tr', {}, h('td', {}, k), h('td', {}, v))))),
    );
  }
}

/** The legend of the error colours: where the numbers come from and what each colour means. */
function errorLegend(errors: LayerErrors | null, problem?: string): HTMLElement[] {
  if (problem) return [h('span', { className: 'warning' }, problem)];
  if (!errors) return [];
  const file = errors.reportFile.split(/[\\/]/).pop() ?? errors.reportFile;
  const swatch = (band: string, text: string) => h('span', { className: `error-legend-item sqnr-${band}` }, text);
  return [
    h('span', {}, `SQNR from ${file} (accumulated, dB): `),
    swatch('bad', '< 10'),
    swatch('poor', '10–20'),
    swatch('fair', '20–30'),
    swatch('good', '≥ 30'),
  ];
}

/** What the Layers header says about the probe run: under way, failed (with the way to fix it), or nothing. */
function probeStatus(box: HTMLElement, r: NodesResult | 'probing' | null): void {
  clear(box);
  box.className = 'probe-status';
  box.hidden = r === null || (r !== 'probing' && !r.probeError);
  delete box.dataset.state;
  if (r === 'probing') {
    box.dataset.state = 'probing';
    box.append(h('vscode-progress-ring', { className: 'probe-ring' }), 'Probing shapes with onnxruntime…');
  } else if (r?.probeError) {
    box.dataset.state = 'failed';
    box.classList.add('warning');
    box.append(r.probeError.sentence);
    if (r.probeError.sizes)
      box.append(
        ' Give the input sizes with ',
        h('strong', {}, 'Set Input Shapes…'),
        ' or the ',
        h('code', {}, 'onnxCompress.inspector.inputShapes'),
        ' setting.',
      );
  }
}

function layersPanel(panel: HTMLElement): { table: VirtualTable<NodeRow>; load(): Promise<void>; loadErrors(): Promise<void>; probe(): Promise<void> } {
  let errors: LayerErrors | null = null;
  const errorOf = (r: NodeRow) => errors?.nodes[r.name];
  const table = new VirtualTable<NodeRow>(
    [
      { key: 'id', title: '#', width: '56px', text: (r) => String(r.id), sort: (r) => r.id },
      { key: 'name', title: 'name', width: 'minmax(160px, 2fr)', text: (r) => r.name },
      { key: 'op', title: 'op', width: 'minmax(90px, 1fr)', text: (r) => (r.domain ? `${r.domain}::${r.op}` : r.op) + (r.integer ? ' (int)' : '') },
      { key: 'inputs', title: 'inputs', width: 'minmax(120px, 2fr)', text: (r) => r.inputs.join(', ') },
      {
        key: 'outputs',
        title: 'output shapes',
        width: 'minmax(140px, 2fr)',
        text: (r) => r.outputs.map((o) => `${o.type ?? '?'}${formatShape(o.shape)}`).join('; '),
      },
      {
        key: 'attributes',
        title: 'attributes',
        width: 'minmax(120px, 2fr)',
        text: (r) =>
          Object.entries(r.attributes)
            .map(([k, v]) => `${k}=${v}`)
            .join(' '),
      },
      {
        key: 'parameters',
        title: 'params',
        width: '80px',
        text: (r) => (r.parameters ? formatCount(r.parameters) : ''),
        sort: (r) => r.parameters,
        className: 'num',
      },
      {
        key: 'sqnr',
        title: 'SQNR dB',
        width: '100px',
        className: 'num',
        text: (r) => errorOf(r)?.accumulated?.toFixed(1) ?? '',
        // Worst first when sorted ascending; layers without a number last.
        sort: (r) => errorOf(r)?.accumulated ?? 1e9,
        cellClass: (r) => (errorOf(r) ? `sqnr-${sqnrBand(errorOf(r)!.accumulated)}` : ''),
      },
    ],
    state.layerSort,
    (r) => void request('revealInInspector', { kind: 'node', name: r.name }),
    (r) => `${r.name} ${r.op} ${r.inputs.join(' ')} ${r.outputs.map((o) => o.name).join(' ')}`,
    (r) => `${r.graph}#${r.name}`,
    (s) => {
      state.layerSort = s;
      save();
    },
  );
  const search = h('vscode-textfield', { placeholder: 'Filter layers by name, op or tensor', id: 'layer-search', value: state.layerSearch });
  const info = h('span', { className: 'info', id: 'layer-info' });
  const legend = h('span', { className: 'info error-legend', id: 'layer-errors' });
  const status = h('div', { id: 'probe-status', role: 'status' });
  status.hidden = true;
  const sizes = h(
    'vscode-button',
    { id: 'set-input-shapes', secondary: true, title: 'Give the sizes of the model inputs the shapes are probed with' },
    'Set Input Shapes…',
  );
  sizes.addEventListener('click', () => void request('setInputShapes', {}));
  let rows: NodeRow[] = [];
  search.addEventListener('input', () => {
    state.layerSearch = (search as unknown as { value: string }).value;
    save();
    table.filter(state.layerSearch);
    info.textContent = `${table.rowCount} layers`;
  });
  panel.append(h('div', { className: 'toolbar' }, search, info, legend, h('span', { className: 'spacer' }), sizes), status, table.element);
  const loadErrors = async () => {
    let problem: string | undefined;
    errors = await request('layerErrors', {}).catch((e: Error) => {
      problem = e.message;
      return null;
    });
    clear(legend);
    legend.append(...errorLegend(errors, problem));
    table.setRows(rows);
  };
  // The note of the rows without a probe ('N values have no declared shape') is left out: the probe follows.
  const show = (r: NodesResult, note = true) => {
    rows = r.rows;
    table.setRows(rows);
    table.filter(state.layerSearch);
    info.textContent = `${table.rowCount} layers · shapes: ${r.shapeSource}${note && r.probeNote ? ` (${r.probeNote})` : ''}`;
  };
  // Each probe (the first, and one per change of input sizes) supersedes the one before.
  let probes = 0;
  const probe = async () => {
    const mine = ++probes;
    probeStatus(status, 'probing');
    try {
      const r = await request('nodes', { probe: true });
      if (mine !== probes) return;
      show(r);
      probeStatus(status, r);
    } catch {
      // The rows without probed shapes stay; the host logged why.
      if (mine === probes) probeStatus(status, null);
    }
  };
  let loading: Promise<void> | undefined;
  const load = async () => {
    show(await request('nodes', { probe: false }), false);
    void loadErrors();
    // Shapes the file does not declare arrive when the probe run is done.
    void probe();
  };
  // Loaded once, when first shown; later callers wait for the same load.
  return {
    table,
    load: () => (loading ??= load()),
    loadErrors,
    probe: async () => {
      if (loading) await probe();
    },
  };
}

function statsView(box: HTMLElement, r: TensorStatsReport, row: TensorRow | undefined, chart: HistogramChart): void {
  clear(box);
  const s = r.stats;
  const num = (x: number | null) => (x === null ? '-' : Number(x.toPrecision(5)).toString());
  box.append(
    h('h3', {}, r.name),
    h(
      'div',
      { className: 'stats' },
      card('Type', r.dataType, formatShape(r.shape)),
      card('Range', `${num(s.min)} … ${num(s.max)}`, `${s.count} values`),
      card('Mean ± std', `${num(s.mean)} ± ${num(s.std)}`),
      card('Zeros', `${(s.zeroFraction * 100).toFixed(2)}%`, s.nan || s.infinite ? `NaN ${s.nan} · Inf ${s.infinite}` : undefined),
      row?.quant ? card('Quantization', row.quant.type, quantText(row.quant)) : null,
    ),
  );
  box.append(chart.element);
  chart.draw(s.histogram);
}

function weightsPanel(panel: HTMLElement): { table: VirtualTable<TensorRow>; load(): Promise<void>; select(name: string): Promise<void> } {
  const statsBox = h('div', { className: 'tensor-stats', id: 'tensor-stats' }, h('p', { className: 'info' }, 'Select a tensor to compute its statistics.'));
  const histogram = new HistogramChart(h('div', { className: 'chart-box histogram', id: 'tensor-histogram' }));
  let rows: TensorRow[] = [];
  const select = async (name: string) => {
    state.tensor = name;
    save();
    clear(statsBox);
    statsBox.append(h('vscode-progress-ring', {}));
    try {
      statsView(
        statsBox,
        await request('tensorStats', { name }),
        rows.find((r) => r.name === name),
        histogram,
      );
    } catch (e) {
      clear(statsBox);
      statsBox.append(errorBox((e as Error).message));
    }
  };
  // The minimum widths add up to less than what .weights gives the table (main.css): no column is cut off.
  const table = new VirtualTable<TensorRow>(
    [
      { key: 'name', title: 'name', width: 'minmax(120px, 3fr)', text: (r) => r.name },
      { key: 'role', title: 'stored as', width: '86px', text: (r) => r.role },
      { key: 'type', title: 'type', width: '72px', text: (r) => r.type },
      { key: 'shape', title: 'shape', width: 'minmax(80px, 1fr)', text: (r) => formatShape(r.shape) },
      { key: 'bytes', title: 'size', width: '76px', text: (r) => formatBytes(r.bytes), sort: (r) => r.bytes, className: 'num' },
      { key: 'quant', title: 'quantization', width: 'minmax(110px, 2fr)', text: (r) => quantText(r.quant) },
    ],
    state.tensorSort,
    (r) => {
      void select(r.name);
      void request('revealInInspector', { kind: 'tensor', name: r.name });
    },
    (r) => `${r.name} ${r.type} ${r.role}`,
    (r) => `${r.graph}#${r.name}`,
    (s) => {
      state.tensorSort = s;
      save();
    },
  );
  const search = h('vscode-textfield', { placeholder: 'Filter weights', id: 'tensor-search', value: state.tensorSearch });
  search.addEventListener('input', () => {
    state.tensorSearch = (search as unknown as { value: string }).value;
    save();
    table.filter(state.tensorSearch);
  });
  panel.append(h('div', { className: 'toolbar' }, search), h('div', { className: 'weights' }, table.element, statsBox));
  let loading: Promise<void> | undefined;
  const load = async () => {
    rows = await request('tensors', {});
    table.setRows(rows);
    table.filter(state.tensorSearch);
    if (state.tensor) {
      table.reveal((r) => r.name === state.tensor);
      await select(state.tensor);
    }
  };
  return { table, select, load: () => (loading ??= load()) };
}

async function main(): Promise<void> {
  const tabs = h('vscode-tabs', { 'selected-index': state.tab, id: 'tabs' });
  // The tabs element renames its panels' ids, so each panel's content has its own.
  const overviewPanel = h('div', { id: 'overview' }, h('vscode-progress-ring', {}));
  const layers = h('div', { id: 'layers' });
  const weights = h('div', { id: 'weights' });
  tabs.append(
    h('vscode-tab-header', { slot: 'header' }, 'Overview'),
    h('vscode-tab-panel', {}, overviewPanel),
    h('vscode-tab-header', { slot: 'header' }, 'Layers'),
    h('vscode-tab-panel', {}, layers),
    h('vscode-tab-header', { slot: 'header' }, 'Weights'),
    h('vscode-tab-panel', {}, weights),
  );
  app.append(tabs);
  const layerView = layersPanel(layers);
  const weightView = weightsPanel(weights);
  const loaders = [async () => undefined, layerView.load, weightView.load];
  const showTab = (i: number) => {
    state.tab = i;
    save();
    (tabs as unknown as { selectedIndex: number }).selectedIndex = i;
    void loaders[i]().catch((e: Error) => panelError(i, e.message));
  };
  const panels = [overviewPanel, layers, weights];
  const panelError = (i: number, message: string) => {
    clear(panels[i]);
    panels[i].append(errorBox(message));
  };
  tabs.addEventListener('vsc-tabs-select', (e) => showTab((e as CustomEvent<{ selectedIndex: number }>).detail.selectedIndex));

  host.on('reveal', ({ kind, name }) => {
    if (kind === 'node') {
      showTab(1);
      void layerView.load().then(() => layerView.table.reveal((r) => r.name === name));
    } else {
      showTab(2);
      void weightView.load().then(() => {
        weightView.table.reveal((r) => r.name === name);
        return weightView.select(name);
      });
    }
  });
  host.on('error', ({ message }) => panelError(0, message));
  host.on('layerErrorsChanged', () => void layerView.loadErrors());
  // New input sizes: probe again if the layers were shown (otherwise their first load will).
  host.on('inputShapesChanged', () => void layerView.probe());
  host.ready();

  try {
    renderOverview(overviewPanel, await request('overview', {}));
    document.body.dataset.state = 'ready';
  } catch (e) {
    panelError(0, (e as Error).message);
    document.body.dataset.state = 'error';
    return;
  }
  showTab(state.tab);
}

void main();

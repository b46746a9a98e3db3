// The model view's Layers tab: every node in a searchable, sortable table, with the shapes the
// file declares at once and those an onnxruntime probe finds when it is done, and the SQNR of each
// layer coloured when a quantization report is at hand.
import { sqnrBand, type LayerErrors, type NodeRow, type NodesResult } from '../../src/shared/modelViewProtocol';
import { formatCount, formatShape } from '../../src/shared/format';
import { clear, h } from '../common/dom';
import { VirtualTable } from '../virtualTable';
import { request, save, state } from './session';

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

export function layersPanel(panel: HTMLElement): { table: VirtualTable<NodeRow>; load(): Promise<void>; loadErrors(): Promise<void>; probe(): Promise<void> } {
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

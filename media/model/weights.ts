// The model view's Weights tab: every stored tensor in a searchable, sortable table, and the
// statistics and histogram of the one chosen, computed by the host on request.
import type { QuantParams, TensorRow } from '../../src/shared/modelViewProtocol';
import type { TensorStatsReport } from '../../src/shared/summary';
import { formatBytes, formatShape } from '../../src/shared/format';
import { HistogramChart } from '../charts';
import { card, clear, h } from '../common/dom';
import { VirtualTable } from '../virtualTable';
import { errorBox } from './overview';
import { request, save, state } from './session';

function quantText(q: QuantParams | null): string {
  if (!q) return '';
  const scale = q.count > 1 ? `${q.count} scales` : `scale ${q.scale[0]?.toPrecision(4) ?? '?'}`;
  const zp = q.count > 1 ? '' : ` zp ${q.zeroPoint[0] ?? 0}`;
  return `${q.type} ${scale}${zp}${q.axis !== null ? ` axis ${q.axis}` : ''}${q.blockSize ? ` block ${q.blockSize}` : ''}`;
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

export function weightsPanel(panel: HTMLElement): { table: VirtualTable<TensorRow>; load(): Promise<void>; select(name: string): Promise<void> } {
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

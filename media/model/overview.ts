// The model view's Overview tab: cards of the model's facts, its inputs and outputs, the nodes by
// op type; and the error box a panel shows in place of what it cannot show.
import type { ModelOverview } from '../../src/shared/modelViewProtocol';
import type { ValueSummary } from '../../src/shared/summary';
import { formatBytes, formatCount, formatShape } from '../../src/shared/format';
import { BarChart } from '../charts';
import { card, clear, h } from '../common/dom';

export function errorBox(message: string): HTMLElement {
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

export function renderOverview(panel: HTMLElement, o: ModelOverview): void {
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

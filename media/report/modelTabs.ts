// The report's tabs over the whole model: Weights (per-channel ranges and errors of each weight),
// Sensitivity (the output's error with one layer quantized, or all but it) and Before/after (the
// comparison with the previous report).
import { formatRelativeError, formatWeightBlocks } from '../../src/shared/format';
import type { QuantReport, WeightReport } from '../../src/shared/quantReport';
import { card, clear, h } from '../common/dom';
import { VirtualTable } from '../virtualTable';
import { nullableNumberColumn } from './columns';
import { fmt, fmtDb } from './format';
import { envelope, spanLabel, spans, worst } from './layerWindow';
import { ChannelChart, CompareChart, SensitivityChart } from './modelCharts';
import { compareTable } from './summary';
import type { TabHost } from './tabHost';

const SENSITIVITY_BARS = 40;

/** A weight quantized in blocks (weight-only): its bits and block size, and how far its blocks
 *  are from the float values, on average and at worst. */
function blockCards(w: WeightReport): HTMLElement[] {
  if (!w.blocks) return [];
  const f = formatWeightBlocks(w.type, w.blocks);
  return [
    card('Blocks', f.bits, f.layout, 'card-blocks'),
    card(
      'Block error',
      `${formatRelativeError(w.blocks.meanRelative)} mean`,
      `${formatRelativeError(w.blocks.maxRelative)} worst block, ‖w − w̃‖ / ‖w‖`,
      'card-block-error',
    ),
  ];
}

export class ModelTabs {
  constructor(private readonly v: TabHost) {}

  weightsTab(): void {
    const detail = h(
      'div',
      { className: 'weight-detail', id: 'weight-detail' },
      h('p', { className: 'info' }, 'Select a weight to see its per-channel ranges and scales.'),
    );
    const box = h('div', { className: 'chart-box grow', id: 'weight-chart' });
    const chart = this.v.own(new ChannelChart(box));
    const show = (w: WeightReport) => {
      clear(detail);
      detail.append(
        h('h3', {}, w.tensor),
        box,
        h(
          'div',
          { className: 'cards' },
          card('Type', w.type, w.axis === null ? 'per tensor' : `${w.scales.length} ${w.blocks ? 'columns' : 'channels'}, axis ${w.axis}`),
          ...blockCards(w),
          card('SQNR', fmtDb(w.error.sqnr), `MSE ${fmt(w.error.mse)}`),
          card('Max |error|', fmt(w.error.maxAbs), `cosine ${fmt(w.error.cosine, 6)}`),
          card('RMSE / step', fmt(w.rmseOverStep, 3), '≈ 0.289 is pure rounding'),
          card('Used by', w.nodes.join(', ') || '–', `${w.elements} values`),
        ),
      );
      // Thousands of channels are drawn like thousands of layers: at most 512 bars, each an envelope.
      const ranges = w.channelMin.map((lo, c): [number, number] => [lo, w.channelMax[c]]);
      const bars = spans(ranges.length, { start: 0, size: 0 }, 512).map((s) => ({
        label: spanLabel(s, String),
        range: envelope(ranges, s) ?? ([0, 0] as [number, number]),
        scale: Math.max(...w.scales.slice(s.first, s.last + 1)),
      }));
      chart.draw(bars);
    };
    const table = new VirtualTable<WeightReport>(
      [
        { key: 'tensor', title: 'weight', width: 'minmax(160px, 3fr)', text: (w) => w.tensor },
        { key: 'type', title: 'type', width: '70px', text: (w) => w.type },
        { key: 'channels', title: 'channels', width: '80px', text: (w) => String(w.scales.length), sort: (w) => w.scales.length, className: 'num' },
        nullableNumberColumn<WeightReport>('sqnr', 'SQNR', '90px', (w) => w.error.sqnr, fmtDb),
        nullableNumberColumn<WeightReport>(
          'maxAbs',
          'max |error|',
          '100px',
          (w) => w.error.maxAbs,
          (x) => fmt(x),
        ),
      ],
      { key: 'sqnr', descending: false },
      (w) => {
        this.v.state.weight = w.tensor;
        this.v.save();
        show(w);
      },
      (w) => `${w.tensor} ${w.nodes.join(' ')}`,
      (w) => w.tensor,
    );
    this.v.addTab(
      'weights',
      'Weights',
      (panel) => {
        panel.append(h('div', { className: 'weights' }, table.element, detail));
      },
      () => {
        table.setRows(this.v.report.weights);
        const chosen = this.v.report.weights.find((w) => w.tensor === this.v.state.weight);
        if (chosen) {
          table.reveal((w) => w === chosen);
          show(chosen);
        }
      },
    );
  }

  sensitivityTab(): void {
    const s = this.v.report.sensitivity!;
    const ranked = [...s.entries].sort((a, b) => a.rank - b.rank);
    let top = ranked.slice(0, SENSITIVITY_BARS);
    const box = h('div', { className: 'chart-box grow', id: 'sensitivity-chart' });
    const chart = this.v.own(
      new SensitivityChart(box, (i) => {
        const index = this.v.layerOf(top[i]);
        if (index === undefined) return;
        this.v.selection.set([index], index, 'chart');
        this.v.reveal(index);
      }),
    );
    const info = h('p', { className: 'info', id: 'sensitivity-info' });
    this.v.addTab(
      'sensitivity',
      'Sensitivity',
      (panel) => {
        panel.append(info, box);
      },
      () => {
        // As many bars as fit at a readable 16 px each, most sensitive first.
        top = ranked.slice(0, Math.max(5, Math.min(SENSITIVITY_BARS, Math.floor((box.clientHeight - 60) / 16))));
        info.textContent =
          `Output SQNR over ${s.samples} sample(s) when one layer alone is quantized, and when every layer but it is (all quantized: ${fmtDb(s.allQuantizedSqnr)}). ` +
          `Most sensitive first${ranked.length > top.length ? `; the ${top.length} of ${ranked.length} most sensitive are drawn, the table has every rank` : ''}.`;
        chart.draw(top.map((e) => ({ label: `${e.rank}. ${e.node || e.tensor}`, onlyThis: e.onlyThisSqnr, allButThis: e.allButThisSqnr })));
      },
    );
    this.v.tab('sensitivity')!.redrawOnResize = true;
  }

  compareTab(before: QuantReport): void {
    const after = this.v.report;
    const box = h('div', { className: 'chart-box grow', id: 'compare-chart' });
    const chart = this.v.own(new CompareChart(box));
    const afterByTensor = new Map(after.layers.map((l) => [l.tensor, l.accumulated.sqnr]));
    const beforeSqnr = before.layers.map((l) => l.accumulated.sqnr);
    const afterSqnr = before.layers.map((l) => afterByTensor.get(l.tensor) ?? null);
    const nowFloat = before.layers.filter((l) => !afterByTensor.has(l.tensor));
    this.v.addTab(
      'compare',
      'Before/after',
      (panel) => {
        // The numbers beside the chart, so both are whole in a short window.
        panel.append(
          h(
            'div',
            { className: 'compare-grid' },
            h(
              'div',
              { className: 'compare-numbers' },
              compareTable(before, after),
              h('h3', {}, `No longer quantized (${nowFloat.length})`),
              h('ul', { id: 'now-float' }, ...nowFloat.slice(0, 50).map((l) => h('li', {}, `${l.tensor} (${l.opType} ${l.node})`))),
              nowFloat.length > 50 ? h('p', { className: 'info' }, `and ${nowFloat.length - 50} more`) : null,
            ),
            h('div', { className: 'compare-chart' }, h('h3', {}, 'Accumulated SQNR per layer, before and after'), box),
          ),
        );
      },
      () => {
        const shown = spans(before.layers.length, { start: 0, size: 0 });
        chart.draw(
          shown.map((s) => ({
            label: spanLabel(
              s,
              (i) => `#${before.layers[i].order} ${before.layers[i].opType}`,
              (i) => before.layers[i].order,
            ),
            before: worst(beforeSqnr, s),
            after: worst(afterSqnr, s),
          })),
        );
      },
    );
  }
}

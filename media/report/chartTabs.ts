// The report's chart tabs (Activations, Error, Histogram, Weights, Sensitivity, Before/after),
// each built once and drawn when shown; the view (view.ts) owns the tabs, the selection they
// share and the layers table.
import type { QuantReport, WeightReport } from '../../src/shared/quantReport';
import { card, clear, h } from '../common/dom';
import { VirtualTable } from '../virtualTable';
import { SQNR_CEILING, type LayerMark } from './chartParts';
import { fmt, fmtDb, fmtMetrics, fmtRange, fmtShare } from './format';
import { gridLines, GridHistogramChart } from './histogramChart';
import { ErrorChart, RangeChart } from './layerCharts';
import { envelope, spanLabel, spans, worst, WindowControl, type Span } from './layerWindow';
import { ChannelChart, CompareChart, SensitivityChart } from './modelCharts';
import type { Selection } from './selection';
import { compareTable } from './summary';
import type { ViewState } from './viewState';

/** A tab: built once, drawn when shown and its data changed. */
export interface Tab {
  name: string;
  title: string;
  panel: HTMLElement;
  /** Draws the tab's charts; called when the tab is shown and its data changed. */
  draw(): void;
  dirty: boolean;
  /** The content height last fitted (px). */
  fitted?: number;
  /** Draws again when its room changes (a chart whose content depends on its height). */
  redrawOnResize?: boolean;
}

/** What the tabs use of the view. */
export interface TabHost {
  readonly report: QuantReport;
  readonly state: ViewState;
  readonly selection: Selection;
  readonly windows: { activations?: WindowControl; error?: WindowControl };
  save(): void;
  own<C extends { dispose(): void }>(chart: C): C;
  addTab(name: string, title: string, build: (panel: HTMLElement) => HTMLElement | void, draw?: () => void): void;
  redraw(tab: Tab): void;
  tab(name: string): Tab | undefined;
  /** The layer a sensitivity entry is about. */
  layerOf(e: { tensor: string; node: string }): number | undefined;
  /** Selects a layer in the Model Inspector and the model view (in VS Code). */
  reveal(index: number): void;
}

const SENSITIVITY_BARS = 40;

/** Dynamic quantization quantizes activations at run time: the report then has weights only. */
const noLayers = () =>
  h(
    'p',
    { className: 'info no-layers' },
    'No activation tensor has a Q/DQ pair in this model (dynamic quantization quantizes activations at run time): there are no per-layer activation ranges or errors. See Weights and Summary.',
  );

export const sortNumber = (x: number | null) => (x === null ? Number.MAX_VALUE : x);

export class ChartTabs {
  constructor(private readonly v: TabHost) {}

  /** Adds the chart tabs in their order, the comparison with `previous` last. */
  build(previous: QuantReport | null): void {
    this.activationsTab();
    this.errorTab();
    this.weightsTab();
    this.histogramTab();
    if (this.v.report.sensitivity) this.sensitivityTab();
    if (previous) this.compareTab(previous);
  }

  private mark(s: Span): LayerMark {
    const layers = this.v.report.layers;
    let selected = false;
    for (let i = s.first; i <= s.last && !selected; i++) selected = this.v.selection.has(i);
    const l = layers[s.first];
    const title =
      s.first === s.last
        ? [`#${l.order} ${l.tensor}`, `${l.opType} ${l.node}`]
        : [`layers #${l.order}–#${layers[s.last].order} (${s.last - s.first + 1})`, 'click to zoom in'];
    return {
      label: spanLabel(
        s,
        (i) => `#${layers[i].order} ${layers[i].opType}`,
        (i) => layers[i].order,
      ),
      title,
      selected,
    };
  }

  /** A click on a bar or point: zoom into a run of layers, or select one (Ctrl/Cmd adds). */
  private pick(s: Span, event: MouseEvent, window: WindowControl): void {
    if (s.first !== s.last) {
      window.zoom(s);
      return;
    }
    if (event.ctrlKey || event.metaKey || event.shiftKey) this.v.selection.toggle(s.first, 'chart');
    else {
      this.v.selection.set([s.first], s.first, 'chart');
      this.v.reveal(s.first);
    }
  }

  /** A chart over a window of the layers: a click on a mark selects its layer or zooms into its run. */
  private windowed<C extends { dispose(): void }>(
    name: 'activations' | 'error',
    id: string,
    make: (box: HTMLElement, pick: (i: number, e: MouseEvent) => void) => C,
  ) {
    const layers = this.v.report.layers;
    let shown: Span[] = [];
    const box = h('div', { className: 'chart-box grow', id });
    const control = new WindowControl(
      layers.length,
      this.v.state[name],
      () => {
        this.v.save();
        this.v.redraw(this.v.tab(name)!);
      },
      name,
    );
    this.v.windows[name] = control;
    const chart = this.v.own(make(box, (i, e) => this.pick(shown[i], e, control)));
    /** The spans drawn now, one per mark. */
    const layout = () => (shown = spans(layers.length, this.v.state[name]));
    return { box, chart, control, layout };
  }

  private activationsTab(): void {
    const layers = this.v.report.layers;
    const observed = layers.map((l) => l.observed);
    const clip = layers.map((l) => l.clipRange);
    const { box, chart, control, layout } = this.windowed('activations', 'range-chart', (b, pick) => new RangeChart(b, pick));
    this.v.addTab(
      'activations',
      'Activations',
      (panel) => {
        if (!layers.length) return noLayers();
        panel.append(
          h(
            'p',
            { className: 'info explain' },
            'Observed min … max of each activation tensor over the evaluation data (blue) in front of the clip range its integer grid covers (red): blue beyond red is clipped. In graph order.',
          ),
          control.element,
          box,
        );
      },
      () => {
        chart.draw(layout().map((s) => ({ ...this.mark(s), observed: envelope(observed, s), clip: envelope(clip, s) })));
      },
    );
  }

  private errorTab(): void {
    const layers = this.v.report.layers;
    const local = layers.map((l) => l.local.sqnr);
    const accumulated = layers.map((l) => l.accumulated.sqnr);
    const slider = h('input', {
      type: 'range',
      id: 'threshold',
      min: 0,
      max: 80,
      step: 0.5,
      value: this.v.state.threshold,
      'aria-label': 'SQNR threshold (dB)',
    });
    const value = h('span', { id: 'threshold-value' });
    const below = h('span', { className: 'info', id: 'below-threshold' });
    const selectBelow = h('button', { id: 'select-below', onclick: () => this.selectBelow() }, 'Select them');
    const setThreshold = (t: number, final: boolean) => {
      this.v.state.threshold = t;
      slider.value = String(t);
      value.textContent = `${t} dB`;
      const n = accumulated.filter((x) => x !== null && x < t).length;
      below.textContent = `${n} layer(s) with accumulated SQNR under the threshold`;
      selectBelow.disabled = n === 0;
      if (final) this.v.save();
    };
    const { box, chart, control, layout } = this.windowed('error', 'error-chart', (b, pick) => new ErrorChart(b, this.v.state.threshold, pick, setThreshold));
    slider.addEventListener('input', () => {
      setThreshold(Number(slider.value), true);
      chart.setThreshold(this.v.state.threshold);
    });
    setThreshold(this.v.state.threshold, false);
    this.v.addTab(
      'error',
      'Error',
      (panel) => {
        if (!layers.length) return noLayers();
        panel.append(
          h(
            'p',
            { className: 'info explain' },
            `SQNR per layer: local (the tensor before vs after its own Q/DQ) and accumulated (the float model vs the quantized model at that tensor). When a point stands for several layers it shows their worst value; values above ${SQNR_CEILING} dB (exact tensors reach about 250) are drawn at ${SQNR_CEILING}.`,
          ),
          h('div', { className: 'toolbar' }, h('label', { for: 'threshold' }, 'Threshold'), slider, value, below, selectBelow),
          control.element,
          box,
        );
      },
      () => {
        chart.draw(layout().map((s) => ({ ...this.mark(s), local: worst(local, s), accumulated: worst(accumulated, s) })));
        chart.setThreshold(this.v.state.threshold);
      },
    );
  }

  private selectBelow(): void {
    const t = this.v.state.threshold;
    const hits = this.v.report.layers.flatMap((l, i) => (l.accumulated.sqnr !== null && l.accumulated.sqnr < t ? [i] : []));
    this.v.selection.set(hits, hits[0], 'chart');
  }

  private histogramTab(): void {
    // The chart comes right after the title, so it is whole in a short window; the numbers follow.
    const head = h('div', { id: 'histogram-head' });
    const facts = h('div', { id: 'histogram-facts' });
    const notes = h('p', { className: 'info', id: 'histogram-notes' });
    const box = h('div', { className: 'chart-box grow', id: 'histogram-chart' });
    const chart = this.v.own(new GridHistogramChart(box));
    this.v.addTab(
      'histogram',
      'Histogram',
      (panel) => {
        panel.append(head, box, notes, facts);
      },
      () => {
        clear(head);
        clear(facts);
        notes.textContent = '';
        const i = this.v.selection.focus;
        const l = i === undefined ? undefined : this.v.report.layers[i];
        box.hidden = !l?.histogram;
        if (!l) {
          head.append(h('p', { className: 'info' }, 'Select a layer in the table or a chart to see its histogram.'));
          return;
        }
        head.append(h('h3', {}, `#${l.order} ${l.tensor}`));
        facts.append(
          h(
            'div',
            { className: 'cards' },
            card(
              'Producer',
              l.opType || 'graph input',
              [l.node, l.fusedActivation && `${l.fusedActivation} fused through its grid`].filter(Boolean).join(' · ') || undefined,
            ),
            card('Quantization', l.quantizedType, `scale ${fmt(l.scale)} · zero point ${l.zeroPoint}`),
            card('Clip range', fmtRange(l.clipRange), `calibrated ${fmtRange(l.calibratedRange)}`),
            card('Observed', fmtRange(l.observed), `${l.elements} values`),
            card('Clipping', fmtShare(l.clippingRate), `range use ${fmtShare(l.rangeUse, 1)}`, 'card-clipping'),
            card('Local error', fmtDb(l.local.sqnr), fmtMetrics(l.local)),
            card('Accumulated error', fmtDb(l.accumulated.sqnr), fmtMetrics(l.accumulated)),
          ),
        );
        if (!l.histogram) {
          head.append(h('p', { className: 'info' }, 'No histogram: this tensor was not matched in the float model.'));
          return;
        }
        const view = { ...l.histogram, clip: l.clipRange, observed: l.observed, step: l.step };
        chart.draw(view);
        const g = gridLines(view);
        notes.textContent =
          `Grid: ${g.visible} quantization levels in view (step ${fmt(l.step)})${g.every > 1 ? `, every ${g.every}th drawn` : ''}. ` +
          `Outside the histogram: ${l.histogram.below} below, ${l.histogram.above} above.`;
      },
    );
  }

  private weightsTab(): void {
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
          card('Type', w.type, w.axis === null ? 'per tensor' : `${w.scales.length} channels, axis ${w.axis}`),
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
        { key: 'sqnr', title: 'SQNR', width: '90px', text: (w) => fmtDb(w.error.sqnr), sort: (w) => sortNumber(w.error.sqnr), className: 'num' },
        { key: 'maxAbs', title: 'max |error|', width: '100px', text: (w) => fmt(w.error.maxAbs), sort: (w) => sortNumber(w.error.maxAbs), className: 'num' },
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

  private sensitivityTab(): void {
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

  private compareTab(before: QuantReport): void {
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

// The report's tabs over its activation layers: Activations and Error chart a window of the layers
// in graph order (a click selects a layer or zooms into a run of them), Histogram shows the
// focused layer.
import { card, clear, h } from '../common/dom';
import { SQNR_CEILING, type LayerMark } from './chartParts';
import { fmt, fmtDb, fmtMetrics, fmtRange, fmtShare } from './format';
import { gridLines, GridHistogramChart } from './histogramChart';
import { ErrorChart, RangeChart } from './layerCharts';
import { envelope, spanLabel, spans, worst, WindowControl, type Span } from './layerWindow';
import type { TabHost } from './tabHost';

/** Dynamic quantization quantizes activations at run time: the report then has weights only. */
const noLayers = () =>
  h(
    'p',
    { className: 'info no-layers' },
    'No activation tensor has a Q/DQ pair in this model (dynamic quantization quantizes activations at run time): there are no per-layer activation ranges or errors. See Weights and Summary.',
  );

export class LayerTabs {
  constructor(private readonly v: TabHost) {}

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

  activationsTab(): void {
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

  errorTab(): void {
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

  histogramTab(): void {
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
}

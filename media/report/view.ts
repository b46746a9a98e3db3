// The report, drawn: tabs with the summary and the charts above, the layers table below. The table
// and the charts share one selection; host actions (reveal, keep in float, export) are posted to
// the extension and are absent in the offline HTML report.
import '@vscode-elements/elements/dist/vscode-tabs/index.js';
import '@vscode-elements/elements/dist/vscode-tab-header/index.js';
import '@vscode-elements/elements/dist/vscode-tab-panel/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import type { KeepInFloatTargetKind, LayerReport, QuantReport, WeightReport } from '../../src/shared/quantReport';
import { nodesToKeepInFloat, targetProblem, type FromReportViewMessages } from '../../src/shared/reportViewProtocol';
import { card, clear, h } from '../common/dom';
import { VirtualTable, type SortState } from '../virtualTable';
import {
  ChannelChart, CompareChart, ErrorChart, gridLines, GridHistogramChart, RangeChart, SensitivityChart, SQNR_CEILING, type LayerMark,
} from './charts';
import { fmt, fmtDb, fmtMetrics, fmtRange, fmtShare } from './format';
import { envelope, spanLabel, spans, worst, WindowControl, type Span, type WindowState } from './layerWindow';
import { Selection, type Origin } from './selection';
import type { StatusLine } from './status';
import { compareTable, summaryPanel, syntheticBanner } from './summary';

/** Posts one of the user's actions to the extension (absent in the offline report). */
export type HostActions = <M extends keyof FromReportViewMessages>(method: M, params: FromReportViewMessages[M]) => void;

export interface ViewState {
  tab: string;
  filter: string;
  sort: SortState;
  threshold: number;
  activations: WindowState;
  error: WindowState;
  /** Selected layers and the focused one, by tensor name (indices change between reports). */
  selected: string[];
  focus: string | null;
  weight: string | null;
  autoKind: KeepInFloatTargetKind;
  autoValue: number;
  /** Height of the layers table pane (px) as the user dragged it; null: the default share. */
  layersHeight: number | null;
}

export function viewState(saved: unknown): ViewState {
  const s = (saved && typeof saved === 'object' ? saved : {}) as Partial<ViewState>;
  return {
    tab: typeof s.tab === 'string' ? s.tab : 'summary',
    filter: typeof s.filter === 'string' ? s.filter : '',
    sort: s.sort && typeof s.sort.key === 'string' ? s.sort : { key: 'order', descending: false },
    threshold: typeof s.threshold === 'number' ? s.threshold : 20,
    activations: s.activations ?? { start: 0, size: 100 },
    error: s.error ?? { start: 0, size: 0 },
    selected: Array.isArray(s.selected) ? s.selected : [],
    focus: typeof s.focus === 'string' ? s.focus : null,
    weight: typeof s.weight === 'string' ? s.weight : null,
    autoKind: s.autoKind ?? 'sqnr',
    autoValue: typeof s.autoValue === 'number' ? s.autoValue : 30,
    layersHeight: typeof s.layersHeight === 'number' ? s.layersHeight : null,
  };
}

interface Row {
  index: number;
  layer: LayerReport;
  /** Sensitivity rank (1 = most sensitive), when measured. */
  rank: number | null;
}

interface Tab {
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

const SENSITIVITY_BARS = 40;
/** The tabs pane keeps at least this much (tab headers, a toolbar and a chart at report.css's
 *  140 px minimum, below which the axes' labels crowd out the data). */
const TABS_MIN = 240;
/** The layers table pane's default share of the window. */
const LAYERS_SHARE = 0.38;
/** Rows of the layers table always in view. */
const LAYERS_MIN_ROWS = 3;
const ROW_HEIGHT = 24;

/** Dynamic quantization quantizes activations at run time: the report then has weights only. */
const noLayers = () => h('p', { className: 'info no-layers' }, 'No activation tensor has a Q/DQ pair in this model (dynamic quantization quantizes activations at run time): there are no per-layer activation ranges or errors. See Weights and Summary.');


const sortNumber = (x: number | null) => (x === null ? Number.MAX_VALUE : x);

export class ReportView {
  readonly selection = new Selection();
  private readonly rows: Row[];
  private readonly tabs: Tab[] = [];
  private tabsElement!: HTMLElement;
  private readonly root: HTMLElement;
  private tabsPane!: HTMLElement;
  private layersPane!: HTMLElement;
  private readonly resizeObserver: ResizeObserver;
  private table!: VirtualTable<Row>;
  private tableInfo!: HTMLElement;
  private readonly actionButtons: HTMLButtonElement[] = [];
  private keepButton: HTMLButtonElement | undefined;
  /** The row of a Ctrl/Shift-click, focused once the table reports the new selection. */
  private modifierClick: number | undefined;
  private readonly windows: { activations?: WindowControl; error?: WindowControl } = {};
  private readonly charts: Array<{ dispose(): void }> = [];
  private layerIndex: Map<string, number> | undefined;

  constructor(
    root: HTMLElement,
    private readonly report: QuantReport,
    private readonly previous: QuantReport | null,
    private readonly state: ViewState,
    private readonly save: () => void,
    private readonly post: HostActions | null,
    private readonly status: StatusLine,
  ) {
    this.root = root;
    this.rows = report.layers.map((layer, index) => ({ index, layer, rank: null }));
    for (const e of report.sensitivity?.entries ?? []) {
      const i = this.layerOf(e);
      if (i !== undefined && (this.rows[i].rank === null || e.rank < this.rows[i].rank!)) this.rows[i].rank = e.rank;
    }
    this.addTab('summary', 'Summary', () => summaryPanel(report));
    this.activationsTab();
    this.errorTab();
    this.weightsTab();
    this.histogramTab();
    if (report.sensitivity) this.sensitivityTab();
    if (previous) this.compareTab(previous);
    const banner = syntheticBanner(report);
    if (banner) root.append(banner);
    root.append(this.tabsView(), this.splitter(), this.layersSection());
    root.classList.add('report-root');
    this.resizeObserver = new ResizeObserver(() => this.fit());
    this.resizeObserver.observe(root);
    status.onBusyChange((busy) => this.actionButtons.forEach((b) => (b.disabled = busy)));
    this.selection.onChange((origin) => this.selectionChanged(origin));
    const byTensor = new Map(report.layers.map((l, i) => [l.tensor, i]));
    const restored = state.selected.map((t) => byTensor.get(t)).filter((i): i is number => i !== undefined);
    this.selection.set(restored, state.focus === null ? undefined : byTensor.get(state.focus), 'restore');
    this.showTab(Math.max(0, this.tabs.findIndex((t) => t.name === state.tab)));
  }

  /** Before a new report replaces this view: its charts stop following the theme. */
  dispose(): void {
    this.resizeObserver.disconnect();
    this.root.classList.remove('report-root');
    this.charts.splice(0).forEach((c) => c.dispose());
  }

  private own<C extends { dispose(): void }>(chart: C): C {
    this.charts.push(chart);
    return chart;
  }

  /** The layer a sensitivity entry is about: its tensor, else the layer its node produces or reads. */
  private layerOf(e: { tensor: string; node: string }): number | undefined {
    const layers = this.report.layers;
    this.layerIndex ??= new Map(layers.map((l, i) => [l.tensor, i]));
    const i = this.layerIndex.get(e.tensor) ?? layers.findIndex((l) => l.node === e.node);
    if (i >= 0) return i;
    const reader = layers.findIndex((l) => l.consumers.includes(e.node));
    return reader >= 0 ? reader : undefined;
  }

  // ---- tabs ------------------------------------------------------------------------------------

  private addTab(name: string, title: string, build: (panel: HTMLElement) => HTMLElement | void, draw: () => void = () => undefined): void {
    const panel = h('div', { id: name, className: 'tab-content' });
    const content = build(panel);
    if (content) panel.append(content);
    this.tabs.push({ name, title, panel, draw, dirty: true });
  }

  private tabsView(): HTMLElement {
    this.tabsElement = h('vscode-tabs', { id: 'tabs' });
    for (const t of this.tabs) this.tabsElement.append(h('vscode-tab-header', { slot: 'header', 'data-tab': t.name }, t.title), h('vscode-tab-panel', {}, t.panel));
    this.tabsElement.addEventListener('vsc-tabs-select', (e) => this.showTab((e as CustomEvent<{ selectedIndex: number }>).detail.selectedIndex));
    this.tabsPane = h('div', { className: 'report-tabs' }, this.tabsElement);
    return this.tabsPane;
  }

  // ---- layout: the window is split between the tabs and the layers table -----------------------
  // Nothing scrolls the page: the layers pane has the height the splitter gives it (within sane
  // minimums), the tabs pane the rest, and each tab's content exactly the tabs pane's room, so a
  // chart is laid out in what is visible and its axes are never cut. Only a tab's content (a long
  // summary) or a table scrolls, never one inside the other.

  private splitter(): HTMLElement {
    const bar = h('div', { className: 'splitter', role: 'separator', tabindex: 0, 'aria-orientation': 'horizontal', 'aria-label': 'Resize the layers table', title: 'Drag to resize the layers table' });
    const setHeight = (px: number) => {
      this.state.layersHeight = Math.round(px);
      this.fit();
    };
    bar.addEventListener('pointerdown', (e) => {
      bar.setPointerCapture(e.pointerId);
      const move = (m: PointerEvent) => setHeight(this.root.getBoundingClientRect().bottom - m.clientY - bar.offsetHeight / 2);
      const up = () => {
        bar.removeEventListener('pointermove', move);
        bar.removeEventListener('pointerup', up);
        this.save();
      };
      bar.addEventListener('pointermove', move);
      bar.addEventListener('pointerup', up);
    });
    bar.addEventListener('keydown', (e) => {
      const step = e.key === 'ArrowUp' ? 24 : e.key === 'ArrowDown' ? -24 : 0;
      if (!step) return;
      e.preventDefault();
      setHeight(this.layersPane.offsetHeight + step);
      this.save();
    });
    return bar;
  }

  /** Sizes the two panes and the shown tab's content to the window. */
  private fit(): void {
    const total = this.root.clientHeight;
    if (!total || !this.layersPane) return;
    const chrome = this.layersPane.offsetHeight - (this.layersPane.querySelector('.vt-viewport') as HTMLElement).offsetHeight;
    const layersMin = chrome + LAYERS_MIN_ROWS * ROW_HEIGHT + 2;
    const others = Array.from(this.root.children).filter((e) => e !== this.tabsPane && e !== this.layersPane).reduce((sum, e) => sum + (e as HTMLElement).offsetHeight, 0);
    const room = total - others;
    const wanted = this.state.layersHeight ?? Math.round(room * LAYERS_SHARE);
    // The table keeps its rows first: in a very short window the tabs pane gives way.
    const layers = Math.max(layersMin, Math.min(wanted, room - TABS_MIN));
    this.layersPane.style.height = `${layers}px`;
    const tab = this.tabs.find((t) => t.name === this.state.tab);
    if (!tab) return;
    const pane = this.tabsPane.getBoundingClientRect();
    const top = tab.panel.getBoundingClientRect().top;
    const height = Math.max(0, Math.floor(pane.bottom - top));
    if (!height) return;
    for (const t of this.tabs) t.panel.style.height = `${height}px`;
    if (tab.fitted !== height) {
      tab.fitted = height;
      if (tab.redrawOnResize) this.redraw(tab);
    }
  }


  private showTab(i: number): void {
    const tab = this.tabs[i];
    this.state.tab = tab.name;
    this.save();
    (this.tabsElement as unknown as { selectedIndex: number }).selectedIndex = i;
    document.body.dataset.tab = tab.name;
    this.fit();
    this.redraw(tab);
  }

  private redraw(tab: Tab): void {
    tab.dirty = true;
    if (this.state.tab !== tab.name) return;
    // Charts measure their box: draw once the panel is laid out.
    requestAnimationFrame(() => {
      // The tab headers render asynchronously: size the content once they are laid out.
      this.fit();
      if (!tab.dirty) return;
      tab.dirty = false;
      tab.draw();
    });
  }

  private tab(name: string): Tab | undefined {
    return this.tabs.find((t) => t.name === name);
  }

  // ---- per-layer charts ------------------------------------------------------------------------

  private mark(s: Span): LayerMark {
    const layers = this.report.layers;
    let selected = false;
    for (let i = s.first; i <= s.last && !selected; i++) selected = this.selection.has(i);
    const l = layers[s.first];
    const title = s.first === s.last
      ? [`#${l.order} ${l.tensor}`, `${l.opType} ${l.node}`]
      : [`layers #${l.order}–#${layers[s.last].order} (${s.last - s.first + 1})`, 'click to zoom in'];
    return { label: spanLabel(s, (i) => `#${layers[i].order} ${layers[i].opType}`, (i) => layers[i].order), title, selected };
  }

  /** A click on a bar or point: zoom into a run of layers, or select one (Ctrl/Cmd adds). */
  private pick(s: Span, event: MouseEvent, window: WindowControl): void {
    if (s.first !== s.last) {
      window.zoom(s);
      return;
    }
    if (event.ctrlKey || event.metaKey || event.shiftKey) this.selection.toggle(s.first, 'chart');
    else {
      this.selection.set([s.first], s.first, 'chart');
      this.reveal(s.first);
    }
  }

  private activationsTab(): void {
    const layers = this.report.layers;
    const observed = layers.map((l) => l.observed);
    const clip = layers.map((l) => l.clipRange);
    let shown: Span[] = [];
    const box = h('div', { className: 'chart-box grow', id: 'range-chart' });
    const chart = this.own(new RangeChart(box, (i, e) => this.pick(shown[i], e, control)));
    const control = new WindowControl(layers.length, this.state.activations, () => {
      this.save();
      this.redraw(this.tab('activations')!);
    }, 'activations');
    this.addTab('activations', 'Activations', (panel) => {
      if (!layers.length) return noLayers();
      panel.append(h('p', { className: 'info explain' }, 'Observed min … max of each activation tensor over the evaluation data (blue) in front of the clip range its integer grid covers (red): blue beyond red is clipped. In graph order.'), control.element, box);
    }, () => {
      shown = spans(layers.length, this.state.activations);
      chart.draw(shown.map((s) => ({ ...this.mark(s), observed: envelope(observed, s), clip: envelope(clip, s) })));
    });
    this.windows.activations = control;
  }

  private errorTab(): void {
    const layers = this.report.layers;
    const local = layers.map((l) => l.local.sqnr);
    const accumulated = layers.map((l) => l.accumulated.sqnr);
    let shown: Span[] = [];
    const slider = h('input', { type: 'range', id: 'threshold', min: 0, max: 80, step: 0.5, value: this.state.threshold, 'aria-label': 'SQNR threshold (dB)' });
    const value = h('span', { id: 'threshold-value' });
    const below = h('span', { className: 'info', id: 'below-threshold' });
    const selectBelow = h('button', { id: 'select-below', onclick: () => this.selectBelow() }, 'Select them');
    const setThreshold = (t: number, final: boolean) => {
      this.state.threshold = t;
      slider.value = String(t);
      value.textContent = `${t} dB`;
      const n = accumulated.filter((x) => x !== null && x < t).length;
      below.textContent = `${n} layer(s) with accumulated SQNR under the threshold`;
      selectBelow.disabled = n === 0;
      if (final) this.save();
    };
    const box = h('div', { className: 'chart-box grow', id: 'error-chart' });
    const chart = this.own(new ErrorChart(box, this.state.threshold, (i, e) => this.pick(shown[i], e, control), setThreshold));
    slider.addEventListener('input', () => {
      setThreshold(Number(slider.value), true);
      chart.setThreshold(this.state.threshold);
    });
    setThreshold(this.state.threshold, false);
    const control = new WindowControl(layers.length, this.state.error, () => {
      this.save();
      this.redraw(this.tab('error')!);
    }, 'error');
    this.addTab('error', 'Error', (panel) => {
      if (!layers.length) return noLayers();
      panel.append(
        h('p', { className: 'info explain' }, `SQNR per layer: local (the tensor before vs after its own Q/DQ) and accumulated (the float model vs the quantized model at that tensor). When a point stands for several layers it shows their worst value; values above ${SQNR_CEILING} dB (exact tensors reach about 250) are drawn at ${SQNR_CEILING}.`),
        h('div', { className: 'toolbar' }, h('label', { for: 'threshold' }, 'Threshold'), slider, value, below, selectBelow),
        control.element, box);
    }, () => {
      shown = spans(layers.length, this.state.error);
      chart.draw(shown.map((s) => ({ ...this.mark(s), local: worst(local, s), accumulated: worst(accumulated, s) })));
      chart.setThreshold(this.state.threshold);
    });
    this.windows.error = control;
  }

  private selectBelow(): void {
    const t = this.state.threshold;
    const hits = this.report.layers.flatMap((l, i) => (l.accumulated.sqnr !== null && l.accumulated.sqnr < t ? [i] : []));
    this.selection.set(hits, hits[0], 'chart');
  }

  private histogramTab(): void {
    // The chart comes right after the title, so it is whole in a short window; the numbers follow.
    const head = h('div', { id: 'histogram-head' });
    const facts = h('div', { id: 'histogram-facts' });
    const notes = h('p', { className: 'info', id: 'histogram-notes' });
    const box = h('div', { className: 'chart-box grow', id: 'histogram-chart' });
    const chart = this.own(new GridHistogramChart(box));
    this.addTab('histogram', 'Histogram', (panel) => {
      panel.append(head, box, notes, facts);
    }, () => {
      clear(head);
      clear(facts);
      notes.textContent = '';
      const i = this.selection.focus;
      const l = i === undefined ? undefined : this.report.layers[i];
      box.hidden = !l?.histogram;
      if (!l) {
        head.append(h('p', { className: 'info' }, 'Select a layer in the table or a chart to see its histogram.'));
        return;
      }
      head.append(h('h3', {}, `#${l.order} ${l.tensor}`));
      facts.append(h('div', { className: 'cards' },
        card('Producer', l.opType || 'graph input', [l.node, l.fusedActivation && `${l.fusedActivation} fused through its grid`].filter(Boolean).join(' · ') || undefined),
        card('Quantization', l.quantizedType, `scale ${fmt(l.scale)} · zero point ${l.zeroPoint}`),
        card('Clip range', fmtRange(l.clipRange), `calibrated ${fmtRange(l.calibratedRange)}`),
        card('Observed', fmtRange(l.observed), `${l.elements} values`),
        card('Clipping', fmtShare(l.clippingRate), `range use ${fmtShare(l.rangeUse, 1)}`, 'card-clipping'),
        card('Local error', fmtDb(l.local.sqnr), fmtMetrics(l.local)),
        card('Accumulated error', fmtDb(l.accumulated.sqnr), fmtMetrics(l.accumulated)),
      ));
      if (!l.histogram) {
        head.append(h('p', { className: 'info' }, 'No histogram: this tensor was not matched in the float model.'));
        return;
      }
      const view = { ...l.histogram, clip: l.clipRange, observed: l.observed, step: l.step };
      chart.draw(view);
      const g = gridLines(view);
      notes.textContent = `Grid: ${g.visible} quantization levels in view (step ${fmt(l.step)})${g.every > 1 ? `, every ${g.every}th drawn` : ''}. ` +
        `Outside the histogram: ${l.histogram.below} below, ${l.histogram.above} above.`;
    });
  }

  private weightsTab(): void {
    const detail = h('div', { className: 'weight-detail', id: 'weight-detail' }, h('p', { className: 'info' }, 'Select a weight to see its per-channel ranges and scales.'));
    const box = h('div', { className: 'chart-box grow', id: 'weight-chart' });
    const chart = this.own(new ChannelChart(box));
    const show = (w: WeightReport) => {
      clear(detail);
      detail.append(h('h3', {}, w.tensor), box, h('div', { className: 'cards' },
        card('Type', w.type, w.axis === null ? 'per tensor' : `${w.scales.length} channels, axis ${w.axis}`),
        card('SQNR', fmtDb(w.error.sqnr), `MSE ${fmt(w.error.mse)}`),
        card('Max |error|', fmt(w.error.maxAbs), `cosine ${fmt(w.error.cosine, 6)}`),
        card('RMSE / step', fmt(w.rmseOverStep, 3), '≈ 0.289 is pure rounding'),
        card('Used by', w.nodes.join(', ') || '–', `${w.elements} values`),
      ));
      // Thousands of channels are drawn like thousands of layers: at most 512 bars, each an envelope.
      const ranges = w.channelMin.map((lo, c): [number, number] => [lo, w.channelMax[c]]);
      const bars = spans(ranges.length, { start: 0, size: 0 }, 512).map((s) => ({
        label: spanLabel(s, String),
        range: envelope(ranges, s) ?? [0, 0] as [number, number],
        scale: Math.max(...w.scales.slice(s.first, s.last + 1)),
      }));
      chart.draw(bars);
    };
    const table = new VirtualTable<WeightReport>([
      { key: 'tensor', title: 'weight', width: 'minmax(160px, 3fr)', text: (w) => w.tensor },
      { key: 'type', title: 'type', width: '70px', text: (w) => w.type },
      { key: 'channels', title: 'channels', width: '80px', text: (w) => String(w.scales.length), sort: (w) => w.scales.length, className: 'num' },
      { key: 'sqnr', title: 'SQNR', width: '90px', text: (w) => fmtDb(w.error.sqnr), sort: (w) => sortNumber(w.error.sqnr), className: 'num' },
      { key: 'maxAbs', title: 'max |error|', width: '100px', text: (w) => fmt(w.error.maxAbs), sort: (w) => sortNumber(w.error.maxAbs), className: 'num' },
    ], { key: 'sqnr', descending: false }, (w) => {
      this.state.weight = w.tensor;
      this.save();
      show(w);
    }, (w) => `${w.tensor} ${w.nodes.join(' ')}`, (w) => w.tensor);
    this.addTab('weights', 'Weights', (panel) => {
      panel.append(h('div', { className: 'weights' }, table.element, detail));
    }, () => {
      table.setRows(this.report.weights);
      const chosen = this.report.weights.find((w) => w.tensor === this.state.weight);
      if (chosen) {
        table.reveal((w) => w === chosen);
        show(chosen);
      }
    });
  }

  private sensitivityTab(): void {
    const s = this.report.sensitivity!;
    const ranked = [...s.entries].sort((a, b) => a.rank - b.rank);
    let top = ranked.slice(0, SENSITIVITY_BARS);
    const box = h('div', { className: 'chart-box grow', id: 'sensitivity-chart' });
    const chart = this.own(new SensitivityChart(box, (i) => {
      const index = this.layerOf(top[i]);
      if (index === undefined) return;
      this.selection.set([index], index, 'chart');
      this.reveal(index);
    }));
    const info = h('p', { className: 'info', id: 'sensitivity-info' });
    this.addTab('sensitivity', 'Sensitivity', (panel) => {
      panel.append(info, box);
    }, () => {
      // As many bars as fit at a readable 16 px each, most sensitive first.
      top = ranked.slice(0, Math.max(5, Math.min(SENSITIVITY_BARS, Math.floor((box.clientHeight - 60) / 16))));
      info.textContent = `Output SQNR over ${s.samples} sample(s) when one layer alone is quantized, and when every layer but it is (all quantized: ${fmtDb(s.allQuantizedSqnr)}). ` +
        `Most sensitive first${ranked.length > top.length ? `; the ${top.length} of ${ranked.length} most sensitive are drawn, the table has every rank` : ''}.`;
      chart.draw(top.map((e) => ({ label: `${e.rank}. ${e.node || e.tensor}`, onlyThis: e.onlyThisSqnr, allButThis: e.allButThisSqnr })));
    });
    this.tab('sensitivity')!.redrawOnResize = true;
  }

  private compareTab(before: QuantReport): void {
    const after = this.report;
    const box = h('div', { className: 'chart-box grow', id: 'compare-chart' });
    const chart = this.own(new CompareChart(box));
    const afterByTensor = new Map(after.layers.map((l) => [l.tensor, l.accumulated.sqnr]));
    const beforeSqnr = before.layers.map((l) => l.accumulated.sqnr);
    const afterSqnr = before.layers.map((l) => afterByTensor.get(l.tensor) ?? null);
    const nowFloat = before.layers.filter((l) => !afterByTensor.has(l.tensor));
    this.addTab('compare', 'Before/after', (panel) => {
      // The numbers beside the chart, so both are whole in a short window.
      panel.append(h('div', { className: 'compare-grid' },
        h('div', { className: 'compare-numbers' }, compareTable(before, after),
          h('h3', {}, `No longer quantized (${nowFloat.length})`),
          h('ul', { id: 'now-float' }, ...nowFloat.slice(0, 50).map((l) => h('li', {}, `${l.tensor} (${l.opType} ${l.node})`))),
          nowFloat.length > 50 ? h('p', { className: 'info' }, `and ${nowFloat.length - 50} more`) : null),
        h('div', { className: 'compare-chart' }, h('h3', {}, 'Accumulated SQNR per layer, before and after'), box)));
    }, () => {
      const shown = spans(before.layers.length, { start: 0, size: 0 });
      chart.draw(shown.map((s) => ({ label: spanLabel(s, (i) => `#${before.layers[i].order} ${before.layers[i].opType}`, (i) => before.layers[i].order), before: worst(beforeSqnr, s), after: worst(afterSqnr, s) })));
    });
  }

  // ---- layers table and actions ----------------------------------------------------------------

  private layersSection(): HTMLElement {
    const hasRank = this.report.sensitivity !== null;
    this.table = new VirtualTable<Row>([
      { key: 'order', title: '#', width: '52px', text: (r) => String(r.layer.order), sort: (r) => r.layer.order, className: 'num' },
      { key: 'tensor', title: 'tensor', width: 'minmax(140px, 3fr)', text: (r) => r.layer.tensor },
      { key: 'node', title: 'node', width: 'minmax(120px, 2fr)', text: (r) => r.layer.node },
      { key: 'op', title: 'op', width: 'minmax(70px, 1fr)', text: (r) => r.layer.opType },
      { key: 'type', title: 'type', width: '60px', text: (r) => r.layer.quantizedType },
      { key: 'local', title: 'local SQNR', width: '92px', text: (r) => fmtDb(r.layer.local.sqnr), sort: (r) => sortNumber(r.layer.local.sqnr), className: 'num' },
      { key: 'accumulated', title: 'accum. SQNR', width: '100px', text: (r) => fmtDb(r.layer.accumulated.sqnr), sort: (r) => sortNumber(r.layer.accumulated.sqnr), className: 'num' },
      { key: 'clipping', title: 'clipped', width: '76px', text: (r) => fmtShare(r.layer.clippingRate), sort: (r) => r.layer.clippingRate ?? -1, className: 'num' },
      { key: 'rangeUse', title: 'range use', width: '80px', text: (r) => fmtShare(r.layer.rangeUse, 1), sort: (r) => r.layer.rangeUse ?? -1, className: 'num' },
      { key: 'clip', title: 'clip range', width: 'minmax(120px, 1fr)', text: (r) => fmtRange(r.layer.clipRange), sort: (r) => r.layer.clipRange[1] - r.layer.clipRange[0], className: 'num' },
      ...(hasRank ? [{ key: 'rank', title: 'sens. rank', width: '80px', text: (r: Row) => (r.rank === null ? '–' : String(r.rank)), sort: (r: Row) => sortNumber(r.rank), className: 'num' }] : []),
    ], this.state.sort, (r, event) => {
      if (event.ctrlKey || event.metaKey || event.shiftKey) {
        this.modifierClick = r.index;
      } else {
        this.selection.set([r.index], r.index, 'table');
        this.reveal(r.index);
      }
    }, (r) => `${r.layer.tensor} ${r.layer.node} ${r.layer.opType} ${r.layer.quantizedType}`, (r) => String(r.index), (s) => {
      this.state.sort = s;
      this.save();
    }, (keys) => {
      if (this.modifierClick === undefined) return;
      this.selection.set(keys.map(Number), this.modifierClick, 'table');
      this.modifierClick = undefined;
    });
    this.table.setRows(this.rows);
    this.table.filter(this.state.filter);
    const filter = h('vscode-textfield', { placeholder: 'Filter layers by tensor, node or op', id: 'layer-filter', value: this.state.filter });
    filter.addEventListener('input', () => {
      this.state.filter = (filter as unknown as { value: string }).value;
      this.save();
      this.table.filter(this.state.filter);
      this.updateInfo();
    });
    this.tableInfo = h('span', { className: 'info', id: 'layer-info' });
    const toolbar = h('div', { className: 'toolbar' }, filter, this.tableInfo);
    if (this.post) toolbar.append(...this.actions());
    this.layersPane = h('section', { className: 'layers', id: 'layers' }, toolbar, this.status.element, this.table.element);
    return this.layersPane;
  }

  private actions(): HTMLElement[] {
    const button = (id: string, label: string, title: string, onclick: () => void) => {
      const b = h('button', { id, title, onclick }, label);
      this.actionButtons.push(b);
      return b;
    };
    const kind = h('select', { id: 'auto-kind', 'aria-label': 'Target' },
      h('option', { value: 'sqnr' }, 'output SQNR (dB)'),
      h('option', { value: 'agreement', disabled: this.report.model.top1Agreement === null }, 'top-1 agreement'),
      h('option', { value: 'accuracy', disabled: this.report.model.accuracy === null }, 'accuracy'));
    kind.value = this.state.autoKind;
    if ((kind as HTMLSelectElement).selectedOptions[0]?.disabled) kind.value = 'sqnr';
    const value = h('input', { type: 'number', id: 'auto-value', step: 'any', value: this.state.autoValue, 'aria-label': 'Target value' });
    const keep = button('keep-in-float', 'Keep selected in float', 'Re-quantize without the selected layers, reusing the calibration ranges', () => {
      const nodes = [...new Set(this.selection.indices.flatMap((i) => nodesToKeepInFloat(this.report.layers[i])))];
      if (!nodes.length) return this.status.error('Select the layers to keep in float first (in the table or a chart; Ctrl/Shift-click for several).');
      this.post!('keepInFloat', { nodes });
    });
    const auto = button('auto-keep', 'Auto keep-in-float', 'Keep the most sensitive layers in float until the target is met', () => {
      const target = { kind: kind.value as KeepInFloatTargetKind, value: Number(value.value) };
      const problem = targetProblem(target);
      if (problem) return this.status.error(`Auto keep-in-float: ${problem}.`);
      this.state.autoKind = target.kind;
      this.state.autoValue = target.value;
      this.save();
      this.post!('autoKeepInFloat', { target });
    });
    const exportHtml = button('export-html', 'Export HTML…', 'Save this report as one offline HTML file', () => this.post!('exportHtml', {}));
    this.keepButton = keep;
    return [keep, h('span', { className: 'group' }, kind, value, auto), exportHtml];
  }

  private reveal(index: number): void {
    const l = this.report.layers[index];
    this.post?.('reveal', { layer: { tensor: l.tensor, node: l.node } });
  }

  private updateInfo(): void {
    const n = this.selection.size;
    this.tableInfo.textContent = `${this.table.rowCount} of ${this.rows.length} layers${n ? ` · ${n} selected` : ''}`;
    if (this.keepButton) this.keepButton.textContent = n ? `Keep ${n} selected in float` : 'Keep selected in float';
  }

  private selectionChanged(origin: Origin): void {
    const indices = this.selection.indices;
    this.state.selected = indices.map((i) => this.report.layers[i].tensor);
    this.state.focus = this.selection.focus === undefined ? null : this.report.layers[this.selection.focus].tensor;
    this.save();
    if (origin !== 'table') this.table.setSelection(indices.map(String));
    const focus = this.selection.focus;
    if (origin !== 'chart' && focus !== undefined) {
      // Bring the layer into the charts' windows (this redraws them).
      this.windows.activations?.include(focus);
      this.windows.error?.include(focus);
    }
    this.updateInfo();
    for (const name of ['activations', 'error', 'histogram']) this.redraw(this.tab(name)!);
  }
}

// The report, drawn: tabs with the summary and the charts above, the layers table below. The table
// and the charts share one selection; host actions (reveal, keep in float, export) are posted to
// the extension and are absent in the offline HTML report.
import '@vscode-elements/elements/dist/vscode-tabs/index.js';
import '@vscode-elements/elements/dist/vscode-tab-header/index.js';
import '@vscode-elements/elements/dist/vscode-tab-panel/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import type { KeepInFloatTargetKind, LayerReport, QuantReport } from '../../src/shared/quantReport';
import { nodesToKeepInFloat, targetProblem, type FromReportViewMessages } from '../../src/shared/reportViewProtocol';
import { h } from '../common/dom';
import { VirtualTable } from '../virtualTable';
import { ChartTabs } from './chartTabs';
import { nullableNumberColumn } from './columns';
import { fmtDb, fmtRange, fmtShare } from './format';
import type { WindowControl } from './layerWindow';
import { Selection, type Origin } from './selection';
import type { StatusLine } from './status';
import { summaryPanel, syntheticBanner } from './summary';
import type { Tab, TabHost } from './tabHost';
import type { ViewState } from './viewState';

export { viewState, type ViewState } from './viewState';

/** Posts one of the user's actions to the extension (absent in the offline report). */
export type HostActions = <M extends keyof FromReportViewMessages>(method: M, params: FromReportViewMessages[M]) => void;

interface Row {
  index: number;
  layer: LayerReport;
  /** Sensitivity rank (1 = most sensitive), when measured. */
  rank: number | null;
}

/** The tabs pane keeps at least this much (tab headers, a toolbar and a chart at report.css's
 *  140 px minimum, below which the axes' labels crowd out the data). */
const TABS_MIN = 240;
/** The layers table pane's default share of the window. */
const LAYERS_SHARE = 0.38;
/** Rows of the layers table always in view. */
const LAYERS_MIN_ROWS = 3;
const ROW_HEIGHT = 24;

export class ReportView implements TabHost {
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
  readonly windows: { activations?: WindowControl; error?: WindowControl } = {};
  private readonly charts: Array<{ dispose(): void }> = [];
  private layerIndex: Map<string, number> | undefined;

  constructor(
    root: HTMLElement,
    readonly report: QuantReport,
    private readonly previous: QuantReport | null,
    readonly state: ViewState,
    readonly save: () => void,
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
    new ChartTabs(this).build(previous);
    const banner = syntheticBanner(report);
    if (banner) root.append(banner);
    root.append(this.tabsView(), this.splitter(), this.layersSection());
    root.classList.add('report-root');
    // A model without quantized activations (dynamic, weight-only, half precision) has no layer rows:
    // the pane keeps its toolbar and gives the table's room to the tabs.
    root.classList.toggle('no-layers', report.layers.length === 0);
    this.resizeObserver = new ResizeObserver(() => this.fit());
    this.resizeObserver.observe(root);
    status.onBusyChange((busy) => this.actionButtons.forEach((b) => (b.disabled = busy)));
    this.selection.onChange((origin) => this.selectionChanged(origin));
    const byTensor = new Map(report.layers.map((l, i) => [l.tensor, i]));
    const restored = state.selected.map((t) => byTensor.get(t)).filter((i): i is number => i !== undefined);
    this.selection.set(restored, state.focus === null ? undefined : byTensor.get(state.focus), 'restore');
    this.showTab(
      Math.max(
        0,
        this.tabs.findIndex((t) => t.name === state.tab),
      ),
    );
  }

  /** Before a new report replaces this view: its charts stop following the theme. */
  dispose(): void {
    this.resizeObserver.disconnect();
    this.root.classList.remove('report-root');
    this.charts.splice(0).forEach((c) => c.dispose());
  }

  own<C extends { dispose(): void }>(chart: C): C {
    this.charts.push(chart);
    return chart;
  }

  /** The layer a sensitivity entry is about: its tensor, else the layer its node produces or reads. */
  layerOf(e: { tensor: string; node: string }): number | undefined {
    const layers = this.report.layers;
    this.layerIndex ??= new Map(layers.map((l, i) => [l.tensor, i]));
    const i = this.layerIndex.get(e.tensor) ?? layers.findIndex((l) => l.node === e.node);
    if (i >= 0) return i;
    const reader = layers.findIndex((l) => l.consumers.includes(e.node));
    return reader >= 0 ? reader : undefined;
  }

  // ---- tabs ------------------------------------------------------------------------------------

  addTab(name: string, title: string, build: (panel: HTMLElement) => HTMLElement | void, draw: () => void = () => undefined): void {
    const panel = h('div', { id: name, className: 'tab-content' });
    const content = build(panel);
    if (content) panel.append(content);
    this.tabs.push({ name, title, panel, draw, dirty: true });
  }

  private tabsView(): HTMLElement {
    this.tabsElement = h('vscode-tabs', { id: 'tabs' });
    for (const t of this.tabs)
      this.tabsElement.append(h('vscode-tab-header', { slot: 'header', 'data-tab': t.name }, t.title), h('vscode-tab-panel', {}, t.panel));
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
    const bar = h('div', {
      className: 'splitter',
      role: 'separator',
      tabindex: 0,
      'aria-orientation': 'horizontal',
      'aria-label': 'Resize the layers table',
      title: 'Drag to resize the layers table',
    });
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
    if (!this.rows.length) {
      this.layersPane.style.height = '';
      this.fitTab();
      return;
    }
    const chrome = this.layersPane.offsetHeight - (this.layersPane.querySelector('.vt-viewport') as HTMLElement).offsetHeight;
    const layersMin = chrome + LAYERS_MIN_ROWS * ROW_HEIGHT + 2;
    const others = Array.from(this.root.children)
      .filter((e) => e !== this.tabsPane && e !== this.layersPane)
      .reduce((sum, e) => sum + (e as HTMLElement).offsetHeight, 0);
    const room = total - others;
    const wanted = this.state.layersHeight ?? Math.round(room * LAYERS_SHARE);
    // The table keeps its rows first: in a very short window the tabs pane gives way.
    const layers = Math.max(layersMin, Math.min(wanted, room - TABS_MIN));
    this.layersPane.style.height = `${layers}px`;
    this.fitTab();
  }

  /** Gives the shown tab's content exactly the tabs pane's room. */
  private fitTab(): void {
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

  redraw(tab: Tab): void {
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

  tab(name: string): Tab | undefined {
    return this.tabs.find((t) => t.name === name);
  }

  // ---- layers table and actions ----------------------------------------------------------------

  private layersSection(): HTMLElement {
    const hasRank = this.report.sensitivity !== null;
    this.table = new VirtualTable<Row>(
      [
        { key: 'order', title: '#', width: '52px', text: (r) => String(r.layer.order), sort: (r) => r.layer.order, className: 'num' },
        { key: 'tensor', title: 'tensor', width: 'minmax(140px, 3fr)', text: (r) => r.layer.tensor },
        { key: 'node', title: 'node', width: 'minmax(120px, 2fr)', text: (r) => r.layer.node },
        { key: 'op', title: 'op', width: 'minmax(70px, 1fr)', text: (r) => r.layer.opType },
        { key: 'type', title: 'type', width: '60px', text: (r) => r.layer.quantizedType },
        nullableNumberColumn<Row>('local', 'local SQNR', '92px', (r) => r.layer.local.sqnr, fmtDb),
        nullableNumberColumn<Row>('accumulated', 'accum. SQNR', '100px', (r) => r.layer.accumulated.sqnr, fmtDb),
        {
          key: 'clipping',
          title: 'clipped',
          width: '76px',
          text: (r) => fmtShare(r.layer.clippingRate),
          sort: (r) => r.layer.clippingRate ?? -1,
          className: 'num',
        },
        {
          key: 'rangeUse',
          title: 'range use',
          width: '80px',
          text: (r) => fmtShare(r.layer.rangeUse, 1),
          sort: (r) => r.layer.rangeUse ?? -1,
          className: 'num',
        },
        {
          key: 'clip',
          title: 'clip range',
          width: 'minmax(120px, 1fr)',
          text: (r) => fmtRange(r.layer.clipRange),
          sort: (r) => r.layer.clipRange[1] - r.layer.clipRange[0],
          className: 'num',
        },
        ...(hasRank
          ? [
              nullableNumberColumn<Row>(
                'rank',
                'sens. rank',
                '80px',
                (r) => r.rank,
                (x) => (x === null ? '–' : String(x)),
              ),
            ]
          : []),
      ],
      this.state.sort,
      (r, event) => {
        if (event.ctrlKey || event.metaKey || event.shiftKey) {
          this.modifierClick = r.index;
        } else {
          this.selection.set([r.index], r.index, 'table');
          this.reveal(r.index);
        }
      },
      (r) => `${r.layer.tensor} ${r.layer.node} ${r.layer.opType} ${r.layer.quantizedType}`,
      (r) => String(r.index),
      (s) => {
        this.state.sort = s;
        this.save();
      },
      (keys) => {
        if (this.modifierClick === undefined) return;
        this.selection.set(keys.map(Number), this.modifierClick, 'table');
        this.modifierClick = undefined;
      },
    );
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
    // Only the targets this report measured: no classifier metric is offered for a model whose
    // output is not class scores (an embedding, a language model's per-token logits).
    const kind = h(
      'select',
      { id: 'auto-kind', 'aria-label': 'Target' },
      h('option', { value: 'sqnr' }, 'output SQNR (dB)'),
      ...(this.report.model.top1Agreement === null ? [] : [h('option', { value: 'agreement' }, 'top-1 agreement')]),
      ...(this.report.model.accuracy === null ? [] : [h('option', { value: 'accuracy' }, 'accuracy')]),
    );
    kind.value = this.state.autoKind;
    if (!(kind as HTMLSelectElement).selectedOptions.length) kind.value = 'sqnr';
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
    // Keeping layers in float re-quantizes with the saved calibration ranges: static mode only.
    const mode = this.report.quantSettings?.mode ?? 'static';
    if (mode !== 'static') {
      const why = `Keep in float re-uses a static run's calibration: for this ${mode} model, quantize again with the nodes to keep excluded`;
      return [h('span', { className: 'info', id: 'keep-unavailable' }, why), exportHtml];
    }
    this.keepButton = keep;
    return [keep, h('span', { className: 'group' }, kind, value, auto), exportHtml];
  }

  reveal(index: number): void {
    const l = this.report.layers[index];
    this.post?.('reveal', { layer: { tensor: l.tensor, node: l.node } });
  }

  private updateInfo(): void {
    const n = this.selection.size;
    this.tableInfo.textContent = this.rows.length
      ? `${this.table.rowCount} of ${this.rows.length} layers${n ? ` · ${n} selected` : ''}`
      : 'No layer rows: no activation of this model is quantized (the Summary compares its outputs and the Weights tab its weights)';
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

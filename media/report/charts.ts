// The report's charts (Chart.js, themed like every chart of the extension, redrawn on theme change):
// activation ranges as floating bars, per-layer error lines with a threshold the user drags, a
// histogram with its clip range and quantization grid, per-channel weight ranges, sensitivity bars
// and the before/after comparison. They draw what they are given; windowing happens in the caller.
import {
  Chart, Legend, LinearScale, LineController, LineElement, PointElement, type ActiveElement, type ChartConfiguration, type ChartEvent, type Plugin,
} from 'chart.js';
import { cssVar, ThemedChart, themeColors, type ThemeColors } from '../charts';
import { fmt } from './format';

Chart.register(LineController, LineElement, PointElement, LinearScale, Legend);

/** The palette beyond the base theme colours. */
function palette() {
  return {
    red: cssVar('--vscode-charts-red', '#f14c4c'),
    green: cssVar('--vscode-charts-green', '#89d185'),
    purple: cssVar('--vscode-charts-purple', '#b180d7'),
    yellow: cssVar('--vscode-charts-yellow', '#cca700'),
  };
}

/** A #rrggbb colour at 30% opacity (other notations are returned as they are). */
function translucent(color: string): string {
  return /^#[0-9a-f]{6}$/i.test(color) ? `${color}4d` : color;
}

function legend(c: ThemeColors) {
  return { display: true, labels: { color: c.foreground, boxWidth: 12 } };
}

function categoryAxis(c: ThemeColors) {
  return { ticks: { color: c.foreground, autoSkip: true, maxRotation: 60 }, grid: { display: false } };
}

function valueAxis(c: ThemeColors, title: string) {
  return { ticks: { color: c.foreground }, grid: { color: c.grid }, title: { display: true, text: title, color: c.foreground } };
}

/** Calls `pick` with the clicked bar or point index and the mouse event. */
function clickHandler(pick: (index: number, event: MouseEvent) => void) {
  return (e: ChartEvent, elements: ActiveElement[]) => {
    if (elements.length && e.native instanceof MouseEvent) pick(elements[0].index, e.native);
  };
}

/** One bar or point of a per-layer chart: a layer, or a run of layers (see layerWindow). */
export interface LayerMark {
  label: string;
  /** Tooltip title lines. */
  title: string[];
  selected: boolean;
}

export interface RangeBar extends LayerMark {
  observed: [number, number] | null;
  clip: [number, number] | null;
}

/** Observed min..max of each activation tensor with the chosen clip range drawn over it. */
export class RangeChart extends ThemedChart<'bar'> {
  private bars: RangeBar[] = [];

  constructor(element: HTMLElement, private readonly onPick: (index: number, event: MouseEvent) => void) {
    super(element, 'activation-ranges');
  }

  draw(bars: RangeBar[]): void {
    this.bars = bars;
    this.render();
    this.canvas.dataset.bars = String(bars.length);
    this.canvas.dataset.selected = String(bars.filter((b) => b.selected).length);
  }

  protected config(c: ThemeColors): ChartConfiguration<'bar'> {
    const p = palette();
    const bars = this.bars;
    const range = (r: [number, number] | null) => (r ? `${fmt(r[0])} … ${fmt(r[1])}` : 'not measured');
    return {
      type: 'bar',
      data: {
        labels: bars.map((b) => b.label),
        datasets: [
          // The clip range behind, wider; the observed range in front: data beyond the clip range sticks out.
          { label: 'observed min … max', data: bars.map((b) => b.observed), backgroundColor: bars.map((b) => (b.selected ? c.accent : c.bar)), grouped: false, categoryPercentage: 1, barPercentage: 0.45, order: 1 },
          { label: 'clip range', data: bars.map((b) => b.clip), backgroundColor: translucent(p.red), borderColor: p.red, borderWidth: 1, grouped: false, categoryPercentage: 1, barPercentage: 0.9, order: 2 },
        ],
      },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        // A click anywhere in a layer's column picks it: thin floating bars are hard to hit.
        interaction: { mode: 'index', intersect: false },
        onClick: clickHandler(this.onPick),
        scales: { x: categoryAxis(c), y: valueAxis(c, 'value') },
        plugins: {
          legend: legend(c),
          tooltip: {
            callbacks: {
              title: (items) => bars[items[0].dataIndex].title,
              label: (item) => `${item.dataset.label}: ${range((item.datasetIndex === 0 ? bars[item.dataIndex].observed : bars[item.dataIndex].clip))}`,
            },
          },
        },
      },
    };
  }
}

/** SQNR above this is drawn at it: exact tensors reach ~250 dB and would flatten every real error. */
export const SQNR_CEILING = 80;
const ceiled = (v: number | null) => (v === null ? null : Math.min(v, SQNR_CEILING));
const dbLabel = (name: string, v: number | null) => `${name}: ${v === null ? '–' : `${v.toFixed(1)} dB`}`;

export interface ErrorPoint extends LayerMark {
  local: number | null;
  accumulated: number | null;
}

const DRAG_SLOP = 6;

/**
 * Local and accumulated SQNR per layer, with a horizontal threshold line: points under it are
 * marked, and dragging the line moves it (the slider beside the chart does the same).
 */
export class ErrorChart extends ThemedChart<'line'> {
  private points: ErrorPoint[] = [];
  private dragging = false;
  private justDragged = false;

  constructor(
    element: HTMLElement,
    private threshold: number,
    private readonly onPick: (index: number, event: MouseEvent) => void,
    private readonly onThreshold: (value: number, final: boolean) => void,
  ) {
    super(element, 'layer-error');
    this.canvas.addEventListener('pointerdown', (e) => {
      if (!this.nearLine(e.offsetY)) return;
      this.dragging = true;
      this.canvas.setPointerCapture(e.pointerId);
    });
    this.canvas.addEventListener('pointermove', (e) => {
      if (!this.dragging) {
        this.canvas.style.cursor = this.nearLine(e.offsetY) ? 'ns-resize' : '';
        return;
      }
      const y = this.chart?.scales.y;
      if (!y) return;
      this.setThreshold(Math.round(Number(y.getValueForPixel(e.offsetY)) * 2) / 2);
      this.onThreshold(this.threshold, false);
    });
    this.canvas.addEventListener('pointerup', () => {
      if (!this.dragging) return;
      this.dragging = false;
      this.justDragged = true;
      this.onThreshold(this.threshold, true);
    });
  }

  private nearLine(offsetY: number): boolean {
    const y = this.chart?.scales.y;
    return !!y && Math.abs(y.getPixelForValue(this.threshold) - offsetY) <= DRAG_SLOP;
  }

  draw(points: ErrorPoint[]): void {
    this.points = points;
    this.render();
    this.canvas.dataset.points = String(points.length);
    this.canvas.dataset.selected = String(points.filter((p) => p.selected).length);
  }

  setThreshold(value: number): void {
    this.threshold = value;
    this.canvas.dataset.threshold = String(value);
    if (!this.chart) return;
    const ds = this.chart.data.datasets[1];
    if (ds) ds.pointBackgroundColor = ds.pointBorderColor = this.pointColors({ ...palette(), accent: themeColors().accent });
    this.chart.update('none');
  }

  /** Accumulated-error points: selected, under the threshold, or plain. */
  private pointColors(p: { accent: string; red: string; purple: string }): string[] {
    return this.points.map((x) => (x.selected ? p.accent : x.accumulated !== null && x.accumulated < this.threshold ? p.red : p.purple));
  }

  protected config(c: ThemeColors): ChartConfiguration<'line'> {
    const p = { ...palette(), accent: c.accent };
    const pts = this.points;
    const thresholdLine: Plugin<'line'> = {
      id: 'threshold',
      afterDatasetsDraw: (chart) => {
        const { ctx, chartArea, scales } = chart;
        const y = scales.y.getPixelForValue(this.threshold);
        // Where the line is, in CSS pixels of the canvas (what a pointer grabs).
        this.canvas.dataset.thresholdY = String(Math.round(y));
        if (y < chartArea.top || y > chartArea.bottom) return;
        ctx.save();
        ctx.strokeStyle = p.red;
        ctx.lineWidth = 2;
        ctx.setLineDash([6, 4]);
        ctx.beginPath();
        ctx.moveTo(chartArea.left, y);
        ctx.lineTo(chartArea.right, y);
        ctx.stroke();
        ctx.fillStyle = p.red;
        ctx.font = '11px sans-serif';
        ctx.fillText(`threshold ${this.threshold} dB (drag)`, chartArea.left + 6, y - 5);
        ctx.restore();
      },
    };
    return {
      type: 'line',
      data: {
        labels: pts.map((x) => x.label),
        datasets: [
          { label: 'local SQNR (its own Q/DQ)', data: pts.map((x) => ceiled(x.local)), borderColor: c.bar, backgroundColor: c.bar, pointRadius: 2, borderWidth: 1.5 },
          {
            label: 'accumulated SQNR (vs float model)', data: pts.map((x) => ceiled(x.accumulated)), borderColor: p.purple, pointBackgroundColor: this.pointColors(p),
            pointBorderColor: this.pointColors(p), pointRadius: pts.map((x) => (x.selected ? 5 : 2.5)), borderWidth: 1.5,
          },
        ],
      },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        interaction: { mode: 'nearest', intersect: false, axis: 'x' },
        onClick: (e, elements) => {
          if (this.justDragged) {
            this.justDragged = false;
            return;
          }
          clickHandler(this.onPick)(e, elements);
        },
        scales: { x: categoryAxis(c), y: { ...valueAxis(c, 'SQNR (dB)'), suggestedMin: 0 } },
        plugins: {
          legend: legend(c),
          tooltip: {
            callbacks: {
              title: (items) => pts[items[0].dataIndex].title,
              label: (item) => dbLabel(item.datasetIndex === 0 ? 'local' : 'accumulated', item.datasetIndex === 0 ? pts[item.dataIndex].local : pts[item.dataIndex].accumulated),
            },
          },
        },
      },
      plugins: [thresholdLine],
    };
  }
}

export interface HistogramView {
  edges: number[];
  counts: number[];
  below: number;
  above: number;
  clip: [number, number];
  observed: [number, number] | null;
  /** The quantization grid: levels at clip[0] + k * step. */
  step: number;
}

const MAX_GRID_LINES = 64;

/** Levels of the grid that fall inside the histogram, and every how many one is drawn. */
export function gridLines(v: HistogramView): { values: number[]; every: number; visible: number } {
  const lo = v.edges[0];
  const hi = v.edges[v.edges.length - 1];
  if (!(v.step > 0)) return { values: [], every: 1, visible: 0 };
  const levels = Math.round((v.clip[1] - v.clip[0]) / v.step);
  const first = Math.max(0, Math.ceil((lo - v.clip[0]) / v.step - 1e-9));
  const last = Math.min(levels, Math.floor((hi - v.clip[0]) / v.step + 1e-9));
  const visible = Math.max(0, last - first + 1);
  const every = Math.max(1, Math.ceil(visible / MAX_GRID_LINES));
  const values: number[] = [];
  for (let k = first; k <= last; k += every) values.push(v.clip[0] + k * v.step);
  return { values, every, visible };
}

/** A tensor's histogram with its clip range, observed range and the quantization grid drawn over it. */
export class GridHistogramChart extends ThemedChart<'bar'> {
  private view: HistogramView | undefined;

  constructor(element: HTMLElement) {
    super(element, 'layer-histogram');
  }

  draw(view: HistogramView): void {
    this.view = view;
    this.render();
  }

  protected config(c: ThemeColors): ChartConfiguration<'bar'> {
    const p = palette();
    const v = this.view ?? { edges: [0, 1], counts: [0], below: 0, above: 0, clip: [0, 1] as [number, number], observed: null, step: 0 };
    const lo = v.edges[0];
    const hi = v.edges[v.edges.length - 1];
    const grid = gridLines(v);
    // With bars filling their category, value -> pixel is linear between the outer bin edges.
    const overlay: Plugin<'bar'> = {
      id: 'quantGrid',
      afterDatasetsDraw: (chart) => {
        const { ctx, chartArea: a } = chart;
        const x = (value: number) => a.left + ((value - lo) / (hi - lo || 1)) * (a.right - a.left);
        const vline = (value: number, color: string, width: number, dash: number[], label?: string) => {
          if (value < lo || value > hi) return;
          ctx.strokeStyle = color;
          ctx.lineWidth = width;
          ctx.setLineDash(dash);
          ctx.beginPath();
          ctx.moveTo(x(value), a.top);
          ctx.lineTo(x(value), a.bottom);
          ctx.stroke();
          if (label) {
            ctx.fillStyle = color;
            ctx.fillText(label, Math.min(x(value) + 3, a.right - 60), a.top + 12);
          }
        };
        ctx.save();
        ctx.font = '11px sans-serif';
        ctx.globalAlpha = 0.35;
        for (const g of grid.values) vline(g, c.foreground, 1, []);
        ctx.globalAlpha = 1;
        if (v.observed) {
          vline(v.observed[0], p.yellow, 1.5, [4, 3], 'min');
          vline(v.observed[1], p.yellow, 1.5, [4, 3], 'max');
        }
        vline(v.clip[0], p.red, 2, [], 'clip');
        vline(v.clip[1], p.red, 2, [], 'clip');
        ctx.restore();
      },
    };
    return {
      type: 'bar',
      data: {
        labels: v.counts.map((_, i) => Number(v.edges[i].toPrecision(3)).toString()),
        datasets: [{ label: 'values', data: v.counts, backgroundColor: c.bar, barPercentage: 1, categoryPercentage: 1 }],
      },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        scales: { x: categoryAxis(c), y: { ...valueAxis(c, 'count'), beginAtZero: true } },
        plugins: {
          legend: { display: false },
          tooltip: { callbacks: { title: (items) => `[${fmt(v.edges[items[0].dataIndex])}, ${fmt(v.edges[items[0].dataIndex + 1])})` } },
        },
      },
      plugins: [overlay],
    };
  }
}

export interface ChannelBar {
  label: string;
  range: [number, number];
  scale: number;
}

/** Per-channel float ranges of a weight (bars) and the scale each channel got (line, right axis). */
export class ChannelChart extends ThemedChart<'bar'> {
  private bars: ChannelBar[] = [];

  constructor(element: HTMLElement) {
    super(element, 'weight-channels');
  }

  draw(bars: ChannelBar[]): void {
    this.bars = bars;
    this.render();
  }

  protected config(c: ThemeColors): ChartConfiguration<'bar'> {
    const p = palette();
    const bars = this.bars;
    const config = {
      type: 'bar',
      data: {
        labels: bars.map((b) => b.label),
        datasets: [
          { type: 'bar', label: 'min … max', data: bars.map((b) => b.range), backgroundColor: c.bar, categoryPercentage: 1, barPercentage: 0.9, yAxisID: 'y', order: 2 },
          { type: 'line', label: 'scale', data: bars.map((b) => b.scale), borderColor: p.red, backgroundColor: p.red, pointRadius: 1.5, borderWidth: 1.5, yAxisID: 'y2', order: 1 },
        ],
      },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        scales: {
          x: categoryAxis(c),
          y: valueAxis(c, 'weight value'),
          y2: { ...valueAxis(c, 'scale'), position: 'right', grid: { display: false } },
        },
        plugins: { legend: legend(c) },
      },
    };
    return config as unknown as ChartConfiguration<'bar'>;
  }
}

export interface SensitivityBar {
  label: string;
  onlyThis: number | null;
  allButThis: number | null;
}

/** Output SQNR with only this layer quantized, and with all but this one, most sensitive first. */
export class SensitivityChart extends ThemedChart<'bar'> {
  private bars: SensitivityBar[] = [];

  constructor(element: HTMLElement, private readonly onPick: (index: number, event: MouseEvent) => void) {
    super(element, 'sensitivity');
  }

  draw(bars: SensitivityBar[]): void {
    this.bars = bars;
    this.render();
  }

  protected config(c: ThemeColors): ChartConfiguration<'bar'> {
    const p = palette();
    return {
      type: 'bar',
      data: {
        labels: this.bars.map((b) => b.label),
        datasets: [
          { label: 'output SQNR, only this layer quantized', data: this.bars.map((b) => b.onlyThis), backgroundColor: c.bar },
          { label: 'output SQNR, all but this layer', data: this.bars.map((b) => b.allButThis), backgroundColor: p.purple },
        ],
      },
      options: {
        indexAxis: 'y', responsive: true, maintainAspectRatio: false, animation: false,
        interaction: { mode: 'index', intersect: false, axis: 'y' },
        onClick: clickHandler(this.onPick),
        scales: { x: valueAxis(c, 'SQNR (dB)'), y: { ticks: { color: c.foreground, autoSkip: false }, grid: { display: false } } },
        plugins: { legend: legend(c) },
      },
    };
  }
}

export interface ComparePoint {
  label: string;
  before: number | null;
  after: number | null;
}

/** Accumulated SQNR per layer before and after keep-in-float. */
export class CompareChart extends ThemedChart<'line'> {
  private points: ComparePoint[] = [];

  constructor(element: HTMLElement) {
    super(element, 'before-after');
  }

  draw(points: ComparePoint[]): void {
    this.points = points;
    this.render();
    // What the legend and the two lines look like (read by tests).
    this.canvas.dataset.legend = JSON.stringify(this.chart?.legend?.legendItems?.map((i) => i.text) ?? []);
    this.canvas.dataset.styles = JSON.stringify(this.chart?.data.datasets.map((d) => ({ dash: d.borderDash ?? [], point: d.pointStyle })) ?? []);
  }

  protected config(c: ThemeColors): ChartConfiguration<'line'> {
    const p = palette();
    // Most layers are unchanged, so the lines lie on each other: "after" is drawn wide and solid
    // underneath, "before" thin and dashed on top, so both show where they coincide; the point
    // styles differ too, for who cannot tell red from green.
    return {
      type: 'line',
      data: {
        labels: this.points.map((x) => x.label),
        datasets: [
          { label: 'before', data: this.points.map((x) => ceiled(x.before)), borderColor: p.red, backgroundColor: p.red, borderDash: [6, 4], pointStyle: 'triangle', pointRadius: 2.5, borderWidth: 1.5, order: 0 },
          { label: 'after', data: this.points.map((x) => ceiled(x.after)), borderColor: p.green, backgroundColor: p.green, borderDash: [], pointStyle: 'circle', pointRadius: 2, borderWidth: 4, order: 1 },
        ],
      },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        interaction: { mode: 'index', intersect: false },
        scales: { x: categoryAxis(c), y: { ...valueAxis(c, 'accumulated SQNR (dB)'), suggestedMin: 0 } },
        plugins: {
          legend: { display: true, labels: { color: c.foreground, boxWidth: 12, usePointStyle: true } },
          tooltip: { callbacks: { label: (item) => dbLabel(String(item.dataset.label), item.datasetIndex === 0 ? this.points[item.dataIndex].before : this.points[item.dataIndex].after) } },
        },
      },
    };
  }
}

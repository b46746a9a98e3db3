// The per-layer charts: activation ranges as floating bars, and local and accumulated error lines
// with a threshold the user drags. They draw what they are given; windowing happens in the caller.
import { Chart, Legend, LinearScale, LineController, LineElement, PointElement, type ChartConfiguration, type Plugin } from 'chart.js';
import { ThemedChart, themeColors, type ThemeColors } from '../common/themedChart';
import { categoryAxis, ceiled, clickHandler, dbLabel, labelled, legend, palette, translucent, valueAxis, type LayerMark } from './chartParts';
import { fmt } from './format';

Chart.register(LineController, LineElement, PointElement, LinearScale, Legend);

/** How many marks are drawn and selected (read by tests). */
function markCounts(canvas: HTMLCanvasElement, what: string, marks: LayerMark[]): void {
  canvas.dataset[what] = String(marks.length);
  canvas.dataset.selected = String(marks.filter((m) => m.selected).length);
}

export interface RangeBar extends LayerMark {
  observed: [number, number] | null;
  clip: [number, number] | null;
}

/** Observed min..max of each activation tensor with the chosen clip range drawn over it. */
export class RangeChart extends ThemedChart<RangeBar[], 'bar'> {
  constructor(
    element: HTMLElement,
    private readonly onPick: (index: number, event: MouseEvent) => void,
  ) {
    super(element, 'activation-ranges', []);
  }

  override draw(bars: RangeBar[]): void {
    super.draw(bars);
    markCounts(this.canvas, 'bars', bars);
  }

  protected config(c: ThemeColors): ChartConfiguration<'bar'> {
    const p = palette();
    const bars = this.data;
    const range = (r: [number, number] | null) => (r ? `${fmt(r[0])} … ${fmt(r[1])}` : 'not measured');
    return {
      type: 'bar',
      data: labelled(bars, [
        // The clip range behind, wider; the observed range in front: data beyond the clip range sticks out.
        {
          label: 'observed min … max',
          data: bars.map((b) => b.observed),
          backgroundColor: bars.map((b) => (b.selected ? c.accent : c.bar)),
          grouped: false,
          categoryPercentage: 1,
          barPercentage: 0.45,
          order: 1,
        },
        {
          label: 'clip range',
          data: bars.map((b) => b.clip),
          backgroundColor: translucent(p.red),
          borderColor: p.red,
          borderWidth: 1,
          grouped: false,
          categoryPercentage: 1,
          barPercentage: 0.9,
          order: 2,
        },
      ]),
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        // A click anywhere in a layer's column picks it: thin floating bars are hard to hit.
        interaction: { mode: 'index', intersect: false },
        onClick: clickHandler(this.onPick),
        scales: { x: categoryAxis(c), y: valueAxis(c, 'value') },
        plugins: {
          legend: legend(c),
          tooltip: {
            callbacks: {
              title: (items) => bars[items[0].dataIndex].title,
              label: (item) => `${item.dataset.label}: ${range(item.datasetIndex === 0 ? bars[item.dataIndex].observed : bars[item.dataIndex].clip)}`,
            },
          },
        },
      },
    };
  }
}

export interface ErrorPoint extends LayerMark {
  local: number | null;
  accumulated: number | null;
}

const DRAG_SLOP = 6;

/**
 * Local and accumulated SQNR per layer, with a horizontal threshold line: points under it are
 * marked, and dragging the line moves it (the slider beside the chart does the same).
 */
export class ErrorChart extends ThemedChart<ErrorPoint[], 'line'> {
  private dragging = false;
  private justDragged = false;

  constructor(
    element: HTMLElement,
    private threshold: number,
    private readonly onPick: (index: number, event: MouseEvent) => void,
    private readonly onThreshold: (value: number, final: boolean) => void,
  ) {
    super(element, 'layer-error', []);
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

  override draw(points: ErrorPoint[]): void {
    super.draw(points);
    markCounts(this.canvas, 'points', points);
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
    return this.data.map((x) => (x.selected ? p.accent : x.accumulated !== null && x.accumulated < this.threshold ? p.red : p.purple));
  }

  protected config(c: ThemeColors): ChartConfiguration<'line'> {
    const p = { ...palette(), accent: c.accent };
    const pts = this.data;
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
      data: labelled(pts, [
        {
          label: 'local SQNR (its own Q/DQ)',
          data: pts.map((x) => ceiled(x.local)),
          borderColor: c.bar,
          backgroundColor: c.bar,
          pointRadius: 2,
          borderWidth: 1.5,
        },
        {
          label: 'accumulated SQNR (vs float model)',
          data: pts.map((x) => ceiled(x.accumulated)),
          borderColor: p.purple,
          pointBackgroundColor: this.pointColors(p),
          pointBorderColor: this.pointColors(p),
          pointRadius: pts.map((x) => (x.selected ? 5 : 2.5)),
          borderWidth: 1.5,
        },
      ]),
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
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
              label: (item) =>
                dbLabel(
                  item.datasetIndex === 0 ? 'local' : 'accumulated',
                  item.datasetIndex === 0 ? pts[item.dataIndex].local : pts[item.dataIndex].accumulated,
                ),
            },
          },
        },
      },
      plugins: [thresholdLine],
    };
  }
}

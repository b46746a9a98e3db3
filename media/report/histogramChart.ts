// A tensor's histogram with its clip range, observed range and the quantization grid drawn over it.
import type { ChartConfiguration, Plugin } from 'chart.js';
import { ThemedChart, type ThemeColors } from '../common/themedChart';
import { categoryAxis, palette, valueAxis } from './chartParts';
import { fmt } from './format';

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
export class GridHistogramChart extends ThemedChart<HistogramView | undefined, 'bar'> {
  constructor(element: HTMLElement) {
    super(element, 'layer-histogram', undefined);
  }

  protected config(c: ThemeColors): ChartConfiguration<'bar'> {
    const p = palette();
    const v = this.data ?? { edges: [0, 1], counts: [0], below: 0, above: 0, clip: [0, 1] as [number, number], observed: null, step: 0 };
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
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
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

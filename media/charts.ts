// Charts of the model view, drawn with Chart.js (tree-shaken: only the bar chart parts). Colours
// are read from VS Code's theme variables at draw time, and every chart redraws when the theme
// changes (VS Code swaps the body's classes and the variables).
import {
  BarController, BarElement, CategoryScale, Chart, LinearScale, Tooltip, type ChartConfiguration, type ChartType,
} from 'chart.js';
import { h } from './common/dom';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip);

export interface ThemeColors {
  foreground: string;
  grid: string;
  bar: string;
  accent: string;
}

export function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}

export function themeColors(): ThemeColors {
  return {
    foreground: cssVar('--vscode-foreground', '#cccccc'),
    grid: cssVar('--vscode-panel-border', 'rgba(128,128,128,0.35)'),
    bar: cssVar('--vscode-charts-blue', '#3794ff'),
    accent: cssVar('--vscode-charts-orange', '#d18616'),
  };
}

const themeListeners = new Set<() => void>();

/** Calls `fn` whenever VS Code switches the colour theme; returns what stops it. */
export function onThemeChange(fn: () => void): () => void {
  themeListeners.add(fn);
  return () => themeListeners.delete(fn);
}

new MutationObserver(() => themeListeners.forEach((fn) => fn())).observe(document.body, { attributes: true, attributeFilter: ['class', 'data-vscode-theme-id'] });

/** A chart that redraws with the new colours when the theme changes (line charts extend it too). */
export abstract class ThemedChart<T extends ChartType = 'bar'> {
  protected chart?: Chart<T>;
  readonly canvas = h('canvas', { role: 'img' });
  /** Times the chart was drawn with new colours (read by tests). */
  redraws = 0;
  private readonly unsubscribe: () => void;

  constructor(readonly element: HTMLElement, name: string) {
    this.canvas.setAttribute('aria-label', name);
    this.canvas.dataset.chart = name;
    element.append(this.canvas);
    this.unsubscribe = onThemeChange(() => this.applyTheme());
  }

  /** For a view that replaces its charts: stops following the theme and frees the canvas. */
  dispose(): void {
    this.unsubscribe();
    this.chart?.destroy();
    this.chart = undefined;
  }

  protected abstract config(colors: ThemeColors): ChartConfiguration<T>;

  protected render(): void {
    this.chart?.destroy();
    this.chart = new Chart(this.canvas, this.config(themeColors()));
    this.canvas.dataset.colors = themeColors().bar;
  }

  private applyTheme(): void {
    if (!this.chart) return;
    this.render();
    this.redraws++;
    this.canvas.dataset.redraws = String(this.redraws);
  }

  protected axes(c: ThemeColors, horizontal: boolean) {
    const axis = { ticks: { color: c.foreground }, grid: { color: c.grid } };
    return horizontal ? { x: { ...axis, beginAtZero: true }, y: { ...axis, grid: { display: false } } } : { x: { ...axis, grid: { display: false } }, y: { ...axis, beginAtZero: true } };
  }
}

/** Horizontal bars with one label each (op-type counts). */
export class BarChart extends ThemedChart {
  private labels: string[] = [];
  private values: number[] = [];

  draw(labels: string[], values: number[]): void {
    this.labels = labels;
    this.values = values;
    this.render();
  }

  protected config(c: ThemeColors): ChartConfiguration<'bar'> {
    return {
      type: 'bar',
      data: { labels: this.labels, datasets: [{ data: this.values, backgroundColor: c.bar, label: 'nodes' }] },
      options: {
        indexAxis: 'y', responsive: true, maintainAspectRatio: false, animation: false,
        scales: this.axes(c, true),
        plugins: { tooltip: { enabled: true } },
      },
    };
  }
}

export interface HistogramData {
  start: number;
  binWidth: number;
  counts: number[];
}

/** A histogram drawn as adjacent bars, the bin's left edge on the axis. */
export class HistogramChart extends ThemedChart {
  private data: HistogramData = { start: 0, binWidth: 1, counts: [] };

  constructor(element: HTMLElement) {
    super(element, 'histogram');
  }

  draw(data: HistogramData): void {
    this.data = data;
    this.render();
  }

  protected config(c: ThemeColors): ChartConfiguration<'bar'> {
    const { start, binWidth, counts } = this.data;
    const labels = counts.map((_, i) => Number((start + i * binWidth).toPrecision(3)).toString());
    return {
      type: 'bar',
      data: { labels, datasets: [{ data: counts, backgroundColor: c.bar, barPercentage: 1, categoryPercentage: 1, label: 'values' }] },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        scales: this.axes(c, false),
        plugins: {
          tooltip: {
            callbacks: {
              title: (items) => {
                const i = items[0].dataIndex;
                return `[${(start + i * binWidth).toPrecision(4)}, ${(start + (i + 1) * binWidth).toPrecision(4)})`;
              },
            },
          },
        },
      },
    };
  }
}

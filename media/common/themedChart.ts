// The base of every chart of the webviews, drawn with Chart.js (tree-shaken: the bar chart parts
// here, other parts where they are used). Colours are read from VS Code's theme variables at draw
// time, and every chart redraws when the theme changes (VS Code swaps the body's classes and the
// variables).
import { BarController, BarElement, CategoryScale, Chart, LinearScale, Tooltip, type ChartConfiguration, type ChartType } from 'chart.js';
import { h } from './dom';

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

new MutationObserver(() => themeListeners.forEach((fn) => fn())).observe(document.body, {
  attributes: true,
  attributeFilter: ['class', 'data-vscode-theme-id'],
});

/** A chart that redraws with the new colours when the theme changes (line charts extend it too). */
export abstract class ThemedChart<D, T extends ChartType = 'bar'> {
  protected chart?: Chart<T>;
  readonly canvas = h('canvas', { role: 'img' });
  /** Times the chart was drawn with new colours (read by tests). */
  redraws = 0;
  private readonly unsubscribe: () => void;

  /** @param data What is drawn before the first `draw`. */
  constructor(
    readonly element: HTMLElement,
    name: string,
    protected data: D,
  ) {
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

  /** Replaces the data and draws it. */
  draw(data: D): void {
    this.data = data;
    this.render();
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
    return horizontal
      ? { x: { ...axis, beginAtZero: true }, y: { ...axis, grid: { display: false } } }
      : { x: { ...axis, grid: { display: false } }, y: { ...axis, beginAtZero: true } };
  }
}

// What the report's charts share: the palette beyond the theme's base colours, axes, legends, the
// click that picks a bar or point, and the marks of per-layer charts.
import type { ActiveElement, ChartEvent } from 'chart.js';
import { cssVar, type ThemeColors } from '../common/themedChart';

/** The palette beyond the base theme colours. */
export function palette() {
  return {
    red: cssVar('--vscode-charts-red', '#f14c4c'),
    green: cssVar('--vscode-charts-green', '#89d185'),
    purple: cssVar('--vscode-charts-purple', '#b180d7'),
    yellow: cssVar('--vscode-charts-yellow', '#cca700'),
  };
}

/** A #rrggbb colour at 30% opacity (other notations are returned as they are). */
export function translucent(color: string): string {
  return /^#[0-9a-f]{6}$/i.test(color) ? `${color}4d` : color;
}

export function legend(c: ThemeColors) {
  return { display: true, labels: { color: c.foreground, boxWidth: 12 } };
}

export function categoryAxis(c: ThemeColors) {
  return { ticks: { color: c.foreground, autoSkip: true, maxRotation: 60 }, grid: { display: false } };
}

export function valueAxis(c: ThemeColors, title: string) {
  return { ticks: { color: c.foreground }, grid: { color: c.grid }, title: { display: true, text: title, color: c.foreground } };
}

/** Calls `pick` with the clicked bar or point index and the mouse event. */
export function clickHandler(pick: (index: number, event: MouseEvent) => void) {
  return (e: ChartEvent, elements: ActiveElement[]) => {
    if (elements.length && e.native instanceof MouseEvent) pick(elements[0].index, e.native);
  };
}

/** A chart's data: one category per row, named by its label. */
export function labelled<D>(rows: Array<{ label: string }>, datasets: D[]): { labels: string[]; datasets: D[] } {
  return { labels: rows.map((r) => r.label), datasets };
}

/** One bar or point of a per-layer chart: a layer, or a run of layers (see layerWindow). */
export interface LayerMark {
  label: string;
  /** Tooltip title lines. */
  title: string[];
  selected: boolean;
}

/** SQNR above this is drawn at it: exact tensors reach ~250 dB and would flatten every real error. */
export const SQNR_CEILING = 80;
export const ceiled = (v: number | null) => (v === null ? null : Math.min(v, SQNR_CEILING));
export const dbLabel = (name: string, v: number | null) => `${name}: ${v === null ? '–' : `${v.toFixed(1)} dB`}`;

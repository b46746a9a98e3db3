// Thousands of layers in one chart stay fluent by drawing a window of them, and at most MAX_BARS
// bars: when the window holds more layers than that, each bar stands for a run of neighbours and
// shows their envelope (ranges) or their worst value (errors), so no bad layer disappears.
import { h } from '../common/dom';

export const MAX_BARS = 300;
const SIZES = [100, 300, 1000];

/** Layers first..last (inclusive, indices in graph order) drawn as one bar. */
export interface Span {
  first: number;
  last: number;
}

export interface WindowState {
  start: number;
  /** Layers in the window; 0 = all. */
  size: number;
}

/** The bars of a window: one per layer, or evenly split runs when the window is wider than maxBars. */
export function spans(total: number, w: WindowState, maxBars = MAX_BARS): Span[] {
  const size = w.size > 0 ? Math.min(w.size, total) : total;
  const start = Math.max(0, Math.min(w.start, total - size));
  const bars = Math.min(size, maxBars);
  const out: Span[] = [];
  for (let b = 0; b < bars; b++) {
    const first = start + Math.floor((b * size) / bars);
    const last = start + Math.floor(((b + 1) * size) / bars) - 1;
    out.push({ first, last });
  }
  return out;
}

/** The smallest value in a span, ignoring missing ones (the worst SQNR). */
export function worst(values: ReadonlyArray<number | null>, s: Span): number | null {
  let m: number | null = null;
  for (let i = s.first; i <= s.last; i++) {
    const v = values[i];
    if (v !== null && v !== undefined && (m === null || v < m)) m = v;
  }
  return m;
}

/** The union of the ranges in a span. */
export function envelope(ranges: ReadonlyArray<[number, number] | null>, s: Span): [number, number] | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = s.first; i <= s.last; i++) {
    const r = ranges[i];
    if (!r) continue;
    lo = Math.min(lo, r[0]);
    hi = Math.max(hi, r[1]);
  }
  return lo <= hi ? [lo, hi] : null;
}

/** A bar's label: the layer's name, or the numbers of the first and last layer it stands for. */
export function spanLabel(s: Span, name: (i: number) => string, number: (i: number) => number = (i) => i): string {
  return s.first === s.last ? name(s.first) : `#${number(s.first)}–#${number(s.last)}`;
}

/** The slider and size picker above a per-layer chart. */
export class WindowControl {
  readonly element: HTMLElement;
  private readonly slider: HTMLInputElement;
  private readonly sizePick: HTMLSelectElement;
  private readonly info: HTMLElement;

  constructor(
    private readonly total: number,
    readonly state: WindowState,
    private readonly onChange: () => void,
    id: string,
  ) {
    this.slider = h('input', { type: 'range', min: 0, step: 1, className: 'window-slider', 'aria-label': 'First layer shown', id: `${id}-start` });
    this.sizePick = h(
      'select',
      { 'aria-label': 'Layers shown', id: `${id}-size` },
      ...SIZES.filter((n) => n < total).map((n) => h('option', { value: n }, `${n} layers`)),
      h('option', { value: 0 }, `all ${total} layers`),
    );
    this.sizePick.value = String(SIZES.includes(state.size) && state.size < total ? state.size : 0);
    this.state.size = Number(this.sizePick.value);
    this.info = h('span', { className: 'info', id: `${id}-info` });
    this.slider.addEventListener('input', () => {
      this.state.start = Number(this.slider.value);
      this.changed();
    });
    this.sizePick.addEventListener('change', () => {
      this.state.size = Number(this.sizePick.value);
      this.changed();
    });
    this.element = h('div', { className: 'toolbar window' }, this.sizePick, this.slider, this.info);
    this.sync();
  }

  /** Zooms in on a run of layers (a clicked bar that stands for several): one bar per layer again. */
  zoom(s: Span): void {
    const fit = SIZES.find((n) => n >= s.last - s.first + 1 && n <= MAX_BARS && n < this.total);
    if (fit) {
      this.state.size = fit;
      this.sizePick.value = String(fit);
    }
    this.include(s.first, s.last);
  }

  /** Moves the window, keeping its size, so that layers first..last are in it. */
  include(first: number, last = first): void {
    const width = this.state.size || this.total;
    if (first < this.state.start || last >= this.state.start + width) this.state.start = Math.floor((first + last) / 2 - width / 2);
    this.changed();
  }

  private changed(): void {
    this.sync();
    this.onChange();
  }

  private sync(): void {
    const width = this.state.size || this.total;
    const maxStart = Math.max(0, this.total - width);
    this.state.start = Math.max(0, Math.min(this.state.start, maxStart));
    this.slider.max = String(maxStart);
    this.slider.value = String(this.state.start);
    this.slider.disabled = maxStart === 0;
    const perBar = Math.ceil(width / MAX_BARS);
    const last = Math.min(this.total, this.state.start + width);
    this.info.textContent =
      `layers ${this.state.start}–${last - 1} of ${this.total}` + (perBar > 1 ? ` · a bar per ${perBar} layers (click one to zoom in)` : '');
  }
}

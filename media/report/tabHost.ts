// What a chart tab is and what the tabs use of the report view (view.ts), apart from both so that
// the tabs and the view need not import each other.
import type { QuantReport } from '../../src/shared/quantReport';
import type { WindowControl } from './layerWindow';
import type { Selection } from './selection';
import type { ViewState } from './viewState';

/** A tab: built once, drawn when shown and its data changed. */
export interface Tab {
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

/** What the tabs use of the view. */
export interface TabHost {
  readonly report: QuantReport;
  readonly state: ViewState;
  readonly selection: Selection;
  readonly windows: { activations?: WindowControl; error?: WindowControl };
  save(): void;
  own<C extends { dispose(): void }>(chart: C): C;
  addTab(name: string, title: string, build: (panel: HTMLElement) => HTMLElement | void, draw?: () => void): void;
  redraw(tab: Tab): void;
  tab(name: string): Tab | undefined;
  /** The layer a sensitivity entry is about. */
  layerOf(e: { tensor: string; node: string }): number | undefined;
  /** Selects a layer in the Model Inspector and the model view (in VS Code). */
  reveal(index: number): void;
}

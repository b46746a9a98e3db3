// What the report view keeps across reloads (VS Code keeps a webview's state while it is hidden),
// read back defensively: a state saved by an older version may lack fields.
import type { KeepInFloatTargetKind } from '../../src/shared/quantReport';
import type { SortState } from '../virtualTable';
import type { WindowState } from './layerWindow';

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

// The model view's link to the extension and what it keeps across reloads (VS Code keeps a
// webview's state while it is hidden): the tab shown, each table's filter and sort, the tensor chosen.
import { MODEL_VIEW_PROTOCOL } from '../../src/shared/modelViewProtocol';
import { ViewClient } from '../common/client';
import type { SortState } from '../virtualTable';

interface ViewState {
  tab: number;
  layerSearch: string;
  layerSort: SortState;
  tensorSearch: string;
  tensorSort: SortState;
  tensor?: string;
}

export const host = new ViewClient(MODEL_VIEW_PROTOCOL);
export const request = host.request.bind(host);
const saved = (host.transport.getState() ?? {}) as Partial<ViewState>;
export const state: ViewState = {
  tab: saved.tab ?? 0,
  layerSearch: saved.layerSearch ?? '',
  layerSort: saved.layerSort ?? { key: 'id', descending: false },
  tensorSearch: saved.tensorSearch ?? '',
  tensorSort: saved.tensorSort ?? { key: 'bytes', descending: true },
  tensor: saved.tensor,
};
export const save = () => host.transport.setState(state);

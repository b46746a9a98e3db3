// The model view: an overview of one ONNX model (cards, inputs and outputs, op-type chart), its
// layers in a searchable, sortable table, and its weights with statistics and a histogram on
// request. It asks the host for each part when it is shown; the model never comes here whole.
// Each tab's panel has its module under model/.
import '@vscode-elements/elements/dist/vscode-tabs/index.js';
import '@vscode-elements/elements/dist/vscode-tab-header/index.js';
import '@vscode-elements/elements/dist/vscode-tab-panel/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import '@vscode-elements/elements/dist/vscode-progress-ring/index.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import { clear, h } from './common/dom';
import { layersPanel } from './model/layers';
import { errorBox, renderOverview } from './model/overview';
import { host, request, save, state } from './model/session';
import { weightsPanel } from './model/weights';

const app = document.getElementById('app')!;
document.body.classList.add('model-view');

async function main(): Promise<void> {
  const tabs = h('vscode-tabs', { 'selected-index': state.tab, id: 'tabs' });
  // The tabs element renames its panels' ids, so each panel's content has its own.
  const overviewPanel = h('div', { id: 'overview' }, h('vscode-progress-ring', {}));
  const layers = h('div', { id: 'layers' });
  const weights = h('div', { id: 'weights' });
  tabs.append(
    h('vscode-tab-header', { slot: 'header' }, 'Overview'),
    h('vscode-tab-panel', {}, overviewPanel),
    h('vscode-tab-header', { slot: 'header' }, 'Layers'),
    h('vscode-tab-panel', {}, layers),
    h('vscode-tab-header', { slot: 'header' }, 'Weights'),
    h('vscode-tab-panel', {}, weights),
  );
  app.append(tabs);
  const layerView = layersPanel(layers);
  const weightView = weightsPanel(weights);
  const loaders = [async () => undefined, layerView.load, weightView.load];
  const showTab = (i: number) => {
    state.tab = i;
    save();
    (tabs as unknown as { selectedIndex: number }).selectedIndex = i;
    void loaders[i]().catch((e: Error) => panelError(i, e.message));
  };
  const panels = [overviewPanel, layers, weights];
  const panelError = (i: number, message: string) => {
    clear(panels[i]);
    panels[i].append(errorBox(message));
  };
  tabs.addEventListener('vsc-tabs-select', (e) => showTab((e as CustomEvent<{ selectedIndex: number }>).detail.selectedIndex));

  host.on('reveal', ({ kind, name }) => {
    if (kind === 'node') {
      showTab(1);
      void layerView.load().then(() => layerView.table.reveal((r) => r.name === name));
    } else {
      showTab(2);
      void weightView.load().then(() => {
        weightView.table.reveal((r) => r.name === name);
        return weightView.select(name);
      });
    }
  });
  host.on('error', ({ message }) => panelError(0, message));
  host.on('layerErrorsChanged', () => void layerView.loadErrors());
  // New input sizes: probe again if the layers were shown (otherwise their first load will).
  host.on('inputShapesChanged', () => void layerView.probe());
  host.ready();

  try {
    renderOverview(overviewPanel, await request('overview', {}));
    document.body.dataset.state = 'ready';
  } catch (e) {
    panelError(0, (e as Error).message);
    document.body.dataset.state = 'error';
    return;
  }
  showTab(state.tab);
}

void main();

// The report's chart tabs (Activations, Error, Histogram, Weights, Sensitivity, Before/after),
// each built once and drawn when shown: those over the activation layers in layerTabs.ts, those
// over the whole model in modelTabs.ts. The view (view.ts) owns the tabs, the selection they
// share and the layers table.
import type { QuantReport } from '../../src/shared/quantReport';
import { LayerTabs } from './layerTabs';
import { ModelTabs } from './modelTabs';
import type { TabHost } from './tabHost';

export class ChartTabs {
  constructor(private readonly v: TabHost) {}

  /** Adds the chart tabs in their order, the comparison with `previous` last. */
  build(previous: QuantReport | null): void {
    const layers = new LayerTabs(this.v);
    const model = new ModelTabs(this.v);
    layers.activationsTab();
    layers.errorTab();
    model.weightsTab();
    layers.histogramTab();
    if (this.v.report.sensitivity) model.sensitivityTab();
    if (previous) model.compareTab(previous);
  }
}

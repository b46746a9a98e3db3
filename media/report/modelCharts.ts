// The report's charts beyond the per-layer ones: per-channel weight ranges, sensitivity bars and
// the before/after comparison.
import type { ChartConfiguration } from 'chart.js';
import { ThemedChart, type ThemeColors } from '../common/themedChart';
import { categoryAxis, ceiled, clickHandler, dbLabel, labelled, legend, palette, valueAxis } from './chartParts';

export interface ChannelBar {
  label: string;
  range: [number, number];
  scale: number;
}

/** Per-channel float ranges of a weight (bars) and the scale each channel got (line, right axis). */
export class ChannelChart extends ThemedChart<ChannelBar[], 'bar'> {
  constructor(element: HTMLElement) {
    super(element, 'weight-channels', []);
  }

  protected config(c: ThemeColors): ChartConfiguration<'bar'> {
    const p = palette();
    const bars = this.data;
    const config = {
      type: 'bar',
      data: labelled(bars, [
        {
          type: 'bar',
          label: 'min … max',
          data: bars.map((b) => b.range),
          backgroundColor: c.bar,
          categoryPercentage: 1,
          barPercentage: 0.9,
          yAxisID: 'y',
          order: 2,
        },
        {
          type: 'line',
          label: 'scale',
          data: bars.map((b) => b.scale),
          borderColor: p.red,
          backgroundColor: p.red,
          pointRadius: 1.5,
          borderWidth: 1.5,
          yAxisID: 'y2',
          order: 1,
        },
      ]),
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: {
          x: categoryAxis(c),
          y: valueAxis(c, 'weight value'),
          y2: { ...valueAxis(c, 'scale'), position: 'right', grid: { display: false } },
        },
        plugins: { legend: legend(c) },
      },
    };
    return config as unknown as ChartConfiguration<'bar'>;
  }
}

export interface SensitivityBar {
  label: string;
  onlyThis: number | null;
  allButThis: number | null;
}

/** Output SQNR with only this layer quantized, and with all but this one, most sensitive first. */
export class SensitivityChart extends ThemedChart<SensitivityBar[], 'bar'> {
  constructor(
    element: HTMLElement,
    private readonly onPick: (index: number, event: MouseEvent) => void,
  ) {
    super(element, 'sensitivity', []);
  }

  protected config(c: ThemeColors): ChartConfiguration<'bar'> {
    const p = palette();
    return {
      type: 'bar',
      data: labelled(this.data, [
        { label: 'output SQNR, only this layer quantized', data: this.data.map((b) => b.onlyThis), backgroundColor: c.bar },
        { label: 'output SQNR, all but this layer', data: this.data.map((b) => b.allButThis), backgroundColor: p.purple },
      ]),
      options: {
        indexAxis: 'y',
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: 'index', intersect: false, axis: 'y' },
        onClick: clickHandler(this.onPick),
        scales: { x: valueAxis(c, 'SQNR (dB)'), y: { ticks: { color: c.foreground, autoSkip: false }, grid: { display: false } } },
        plugins: { legend: legend(c) },
      },
    };
  }
}

export interface ComparePoint {
  label: string;
  before: number | null;
  after: number | null;
}

/** Accumulated SQNR per layer before and after keep-in-float. */
export class CompareChart extends ThemedChart<ComparePoint[], 'line'> {
  constructor(element: HTMLElement) {
    super(element, 'before-after', []);
  }

  override draw(points: ComparePoint[]): void {
    super.draw(points);
    // What the legend and the two lines look like (read by tests).
    this.canvas.dataset.legend = JSON.stringify(this.chart?.legend?.legendItems?.map((i) => i.text) ?? []);
    this.canvas.dataset.styles = JSON.stringify(this.chart?.data.datasets.map((d) => ({ dash: d.borderDash ?? [], point: d.pointStyle })) ?? []);
  }

  protected config(c: ThemeColors): ChartConfiguration<'line'> {
    const p = palette();
    // Most layers are unchanged, so the lines lie on each other: "after" is drawn wide and solid
    // underneath, "before" thin and dashed on top, so both show where they coincide; the point
    // styles differ too, for who cannot tell red from green.
    return {
      type: 'line',
      data: labelled(this.data, [
        {
          label: 'before',
          data: this.data.map((x) => ceiled(x.before)),
          borderColor: p.red,
          backgroundColor: p.red,
          borderDash: [6, 4],
          pointStyle: 'triangle',
          pointRadius: 2.5,
          borderWidth: 1.5,
          order: 0,
        },
        {
          label: 'after',
          data: this.data.map((x) => ceiled(x.after)),
          borderColor: p.green,
          backgroundColor: p.green,
          borderDash: [],
          pointStyle: 'circle',
          pointRadius: 2,
          borderWidth: 4,
          order: 1,
        },
      ]),
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: 'index', intersect: false },
        scales: { x: categoryAxis(c), y: { ...valueAxis(c, 'accumulated SQNR (dB)'), suggestedMin: 0 } },
        plugins: {
          legend: { display: true, labels: { color: c.foreground, boxWidth: 12, usePointStyle: true } },
          tooltip: {
            callbacks: {
              label: (item) =>
                dbLabel(String(item.dataset.label), item.datasetIndex === 0 ? this.data[item.dataIndex].before : this.data[item.dataIndex].after),
            },
          },
        },
      },
    };
  }
}

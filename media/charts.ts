// The model view's charts: op-type counts and a tensor's histogram.
import type { ChartConfiguration } from 'chart.js';
import { ThemedChart, type ThemeColors } from './common/themedChart';

/** Horizontal bars with one label each (op-type counts). */
export class BarChart extends ThemedChart<{ labels: string[]; values: number[] }> {
  constructor(element: HTMLElement, name: string) {
    super(element, name, { labels: [], values: [] });
  }

  protected config(c: ThemeColors): ChartConfiguration<'bar'> {
    return {
      type: 'bar',
      data: { labels: this.data.labels, datasets: [{ data: this.data.values, backgroundColor: c.bar, label: 'nodes' }] },
      options: {
        indexAxis: 'y',
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
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
export class HistogramChart extends ThemedChart<HistogramData> {
  constructor(element: HTMLElement) {
    super(element, 'histogram', { start: 0, binWidth: 1, counts: [] });
  }

  protected config(c: ThemeColors): ChartConfiguration<'bar'> {
    const { start, binWidth, counts } = this.data;
    const labels = counts.map((_, i) => Number((start + i * binWidth).toPrecision(3)).toString());
    return {
      type: 'bar',
      data: { labels, datasets: [{ data: counts, backgroundColor: c.bar, barPercentage: 1, categoryPercentage: 1, label: 'values' }] },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
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

// Line charts of the run view (Chart.js line parts, registered here only). Points are appended
// as events arrive and drawn without animation; colours follow the theme like every chart.
import { Chart, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip, type ChartConfiguration } from 'chart.js';
import { ThemedChart, type ThemeColors } from '../common/themedChart';

Chart.register(LineController, LineElement, PointElement, LinearScale, Tooltip, Legend);

export interface Series {
  label: string;
  points: Array<{ x: number; y: number }>;
}

/** Theme variables of VS Code's chart palette, in the order series take them. */
const PALETTE = [
  '--vscode-charts-blue',
  '--vscode-charts-orange',
  '--vscode-charts-green',
  '--vscode-charts-purple',
  '--vscode-charts-red',
  '--vscode-charts-yellow',
];
const FALLBACK = ['#3794ff', '#d18616', '#89d185', '#b180d7', '#f14c4c', '#cca700'];

function seriesColor(i: number, c: ThemeColors): string {
  if (i === 0) return c.bar;
  const v = getComputedStyle(document.body)
    .getPropertyValue(PALETTE[i % PALETTE.length])
    .trim();
  return v || FALLBACK[i % FALLBACK.length];
}

export class LineChart extends ThemedChart<Series[], 'line'> {
  constructor(
    element: HTMLElement,
    name: string,
    private readonly xTitle: string,
    private readonly yRange?: { min: number; max: number },
    private readonly xStep?: number,
  ) {
    super(element, name, []);
  }

  /** Replaces the data; the chart is created on first use and updated in place afterwards. */
  override draw(series: Series[]): void {
    const sameShape = this.chart && series.length === this.data.length && series.every((s, i) => s.label === this.data[i].label);
    this.data = series;
    this.canvas.dataset.points = String(series.reduce((n, s) => n + s.points.length, 0));
    this.canvas.dataset.series = series.map((s) => s.label).join(',');
    if (!sameShape) {
      this.render();
      return;
    }
    this.chart!.data.datasets.forEach((d, i) => {
      d.data = series[i].points;
    });
    this.chart!.update('none');
  }

  protected config(c: ThemeColors): ChartConfiguration<'line'> {
    const axis = { ticks: { color: c.foreground }, grid: { color: c.grid } };
    return {
      type: 'line',
      data: {
        datasets: this.data.map((s, i) => ({
          label: s.label,
          data: s.points,
          borderColor: seriesColor(i, c),
          backgroundColor: seriesColor(i, c),
          pointRadius: s.points.length > 40 ? 0 : 2,
          borderWidth: i === 0 ? 2 : 1.5,
          tension: 0,
        })),
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        parsing: false,
        normalized: true,
        scales: {
          x: { ...axis, type: 'linear', ticks: { ...axis.ticks, stepSize: this.xStep }, title: { display: true, text: this.xTitle, color: c.foreground } },
          y: { ...axis, type: 'linear', ...(this.yRange ?? {}) },
        },
        plugins: { legend: { labels: { color: c.foreground } }, tooltip: { enabled: true } },
      },
    };
  }
}

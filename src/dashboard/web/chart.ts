/**
 * One uPlot chart of a version's series (CPU in millicores or memory in bytes) over time. The
 * element carries what was drawn (`data-points`, `data-last-t`, `data-last-value`) so that a test
 * or a person with the inspector can check the numbers behind the line.
 */
import uPlot from 'uplot';
import type { PointView } from '../view.ts';

export type Series = 'cpu' | 'mem';

const LABELS: Record<Series, string> = { cpu: 'CPU (millicores)', mem: 'Memory (bytes)' };
const COLOURS: Record<Series, string> = { cpu: '#1f5fbf', mem: '#8a3ffc' };

function formatBytes(v: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : v >= 100 ? 1 : 2)} ${units[i]}`;
}

export const formatValue = (series: Series, v: number | null | undefined): string =>
  v === null || v === undefined ? '—' : series === 'cpu' ? `${v.toFixed(v >= 100 ? 0 : 1)} m` : formatBytes(v);

export class Chart {
  private readonly plot: uPlot;

  constructor(
    private readonly el: HTMLElement,
    private readonly series: Series,
  ) {
    this.plot = new uPlot(
      {
        width: this.width(),
        height: 180,
        series: [{}, { label: LABELS[series], stroke: COLOURS[series], width: 2, fill: `${COLOURS[series]}22`, value: (_u, v) => formatValue(series, v) }],
        axes: [{ stroke: '#333' }, { stroke: '#333', size: 86, values: (_u, ticks) => ticks.map((t) => formatValue(series, t)) }],
        scales: { x: { time: true } },
        legend: { show: true },
      },
      [[], []],
      el,
    );
  }

  private width(): number {
    return Math.max(240, Math.floor(this.el.clientWidth || 600));
  }

  resize(): void {
    this.plot.setSize({ width: this.width(), height: 180 });
  }

  /** Draws `points` (oldest first) in place of what was drawn. */
  draw(points: PointView[]): void {
    this.plot.setData([points.map((p) => p.t / 1000), points.map((p) => p[this.series])]);
    const last = points.at(-1);
    this.el.dataset.points = String(points.length);
    this.el.dataset.lastT = last ? String(last.t) : '';
    this.el.dataset.lastValue = last ? String(last[this.series]) : '';
  }

  destroy(): void {
    this.plot.destroy();
  }
}

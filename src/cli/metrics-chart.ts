/**
 * A version's CPU and memory in the terminal: a table of points, and a chart of each series —
 * one column per point, the newest on the right, bars drawn in eighths of a row — that
 * `kre version metrics --watch` redraws as points arrive. Pure functions of the points, so the
 * output can be checked exactly.
 */
import type { MetricsPoint } from '../client/index.ts';
import { table } from './output.ts';

const MIB = 1024 * 1024;
const EIGHTHS = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

export const formatCpu = (m: number): string => `${m.toFixed(1)}m`;
export const formatMemory = (bytes: number): string => `${(bytes / MIB).toFixed(1)} MiB`;

export function metricsTable(points: MetricsPoint[]): string {
  return table(
    ['TIME', 'CPU', 'MEMORY'],
    points.map((p) => [p.date, formatCpu(p.cpu), formatMemory(p.mem)]),
  );
}

/** A table's row for one point, aligned under `metricsTable`'s header for `--watch` without a terminal. */
export const metricsRow = (p: MetricsPoint): string => `${p.date.padEnd(20)}  ${formatCpu(p.cpu).padEnd(8)}  ${formatMemory(p.mem)}`;
export const METRICS_HEADER = `${'TIME'.padEnd(20)}  ${'CPU'.padEnd(8)}  MEMORY`;

/** A nice upper bound for an axis: 1, 2 or 5 times a power of ten, at least `max`. */
export function axisTop(max: number): number {
  if (!(max > 0)) return 1;
  const pow = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 5, 10]) if (m * pow >= max) return m * pow;
  return 10 * pow;
}

export interface ChartOptions {
  title: string;
  /** Columns of bars (points shown: the newest ones). */
  width: number;
  /** Rows of bars. */
  height: number;
  format: (v: number) => string;
}

/** One series as lines: a title with the latest value, rows of bars under a labelled axis, and the time span. */
export function renderSeries(values: number[], dates: string[], o: ChartOptions): string[] {
  const shown = values.slice(-o.width);
  const shownDates = dates.slice(-o.width);
  const top = axisTop(Math.max(0, ...shown));
  const labels = [o.format(top), o.format(top / 2), o.format(0)];
  const labelWidth = Math.max(...labels.map((l) => l.length));
  const eighths = shown.map((v) => Math.round((Math.max(0, v) / top) * o.height * 8));
  const lines = [`${o.title}${shown.length ? `  now ${o.format(shown[shown.length - 1])}` : '  (no points yet)'}`];
  for (let row = o.height - 1; row >= 0; row--) {
    const label = row === o.height - 1 ? labels[0] : row === Math.floor((o.height - 1) / 2) ? labels[1] : row === 0 ? labels[2] : '';
    const bars = eighths.map((e) => EIGHTHS[Math.min(8, Math.max(0, e - row * 8))]).join('');
    lines.push(`${label.padStart(labelWidth)} │${bars}`.trimEnd());
  }
  lines.push(`${' '.repeat(labelWidth)} └${'─'.repeat(Math.max(shown.length, 1))}`);
  if (shownDates.length) lines.push(`${' '.repeat(labelWidth + 2)}${shownDates[0]} … ${shownDates[shownDates.length - 1]}`);
  return lines;
}

/** Both series for a terminal of `columns` × `rows`, under a heading. */
export function renderChart(heading: string, points: MetricsPoint[], columns: number, rows: number): string {
  const height = Math.max(3, Math.floor((rows - 9) / 2));
  const width = Math.max(10, columns - 14);
  const dates = points.map((p) => p.date);
  return [
    heading,
    '',
    ...renderSeries(points.map((p) => p.cpu), dates, { title: 'CPU (millicores)', width, height, format: (v) => `${Number(v.toPrecision(3))}m` }),
    '',
    ...renderSeries(points.map((p) => p.mem / MIB), dates, { title: 'Memory (MiB)', width, height, format: (v) => `${Number(v.toPrecision(3))}Mi` }),
  ].join('\n');
}

/** Points by date, a later answer for the same date replacing the earlier one, at most `max` kept. */
export function mergePoints(into: MetricsPoint[], add: MetricsPoint[], max: number): MetricsPoint[] {
  const byDate = new Map(into.map((p) => [p.date, p]));
  for (const p of add) byDate.set(p.date, p);
  return [...byDate.values()].sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0)).slice(-max);
}

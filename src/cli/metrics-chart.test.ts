import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { axisTop, mergePoints, metricsRow, metricsTable, METRICS_HEADER, renderChart, renderSeries } from './metrics-chart.ts';

const MIB = 1024 * 1024;
const pt = (s: number, cpu: number, mem: number) => ({ date: `2026-12-07T03:00:${String(s).padStart(2, '0')}Z`, cpu, mem });

describe('metrics in the terminal', () => {
  test('a table of points, and rows for --watch aligned under its header', () => {
    assert.equal(metricsTable([pt(0, 101.25, 320 * MIB), pt(15, 99, 321.5 * MIB)]), ['TIME                  CPU     MEMORY', '2026-12-07T03:00:00Z  101.3m  320.0 MiB', '2026-12-07T03:00:15Z  99.0m   321.5 MiB'].join('\n'));
    assert.equal(METRICS_HEADER, 'TIME                  CPU       MEMORY');
    assert.equal(metricsRow(pt(0, 101.25, 320 * MIB)), '2026-12-07T03:00:00Z  101.3m    320.0 MiB');
  });

  test('an axis tops at 1, 2 or 5 times a power of ten', () => {
    assert.deepEqual([0, 0.3, 1, 1.5, 3, 7, 99, 101, 320].map(axisTop), [1, 0.5, 1, 2, 5, 10, 100, 200, 500]);
  });

  test('bars in eighths of a row under a labelled axis, the newest on the right', () => {
    const lines = renderSeries([0, 50, 100], ['d0', 'd1', 'd2'], { title: 'CPU', width: 10, height: 3, format: (v) => `${v}m` });
    assert.deepEqual(lines, ['CPU  now 100m', '100m │  █', ' 50m │ ▄█', '  0m │ ██', '     └───', '      d0 … d2']);
    // Only the newest `width` points are drawn.
    const narrow = renderSeries([100, 0, 0, 10], ['a', 'b', 'c', 'd'], { title: 'x', width: 2, height: 3, format: String });
    assert.deepEqual(narrow, ['x  now 10', '10 │ █', ' 5 │ █', ' 0 │ █', '   └──', '    c … d']);
    assert.deepEqual(renderSeries([], [], { title: 'CPU', width: 5, height: 3, format: String }), ['CPU  (no points yet)', '  1 │', '0.5 │', '  0 │', '    └─']);
  });

  test('the chart holds both series and fits the terminal', () => {
    const points = Array.from({ length: 100 }, (_, i) => pt(i % 60, 100 + (i % 7), (300 + i) * MIB));
    const text = renderChart('Version v (runtime demo)', points, 60, 24);
    const lines = text.split('\n');
    assert.equal(lines[0], 'Version v (runtime demo)');
    assert.ok(lines.some((l) => l.startsWith('CPU (millicores)  now 101m')));
    assert.ok(lines.some((l) => l.startsWith('Memory (MiB)  now 399Mi')));
    assert.ok(lines.length <= 24, `${lines.length} lines fit 24 rows`);
    assert.ok(lines.every((l) => [...l].length <= 60), 'no line wider than 60 columns');
  });

  test('points merge by date, later answers replacing earlier ones, oldest dropped past the limit', () => {
    const merged = mergePoints([pt(1, 1, 1), pt(2, 2, 2)], [pt(2, 20, 20), pt(3, 3, 3), pt(0, 0, 0)], 3);
    assert.deepEqual(merged.map((p) => [p.date.slice(-3), p.cpu]), [['01Z', 1], ['02Z', 20], ['03Z', 3]]);
  });
});

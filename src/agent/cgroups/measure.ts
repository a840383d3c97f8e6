/**
 * A pod's measurements from its pod-level cgroup (why pod-level: see `index.ts`). Each metric is
 * read and parsed on its own, so a missing or malformed file costs only the metrics it holds.
 */
import { join } from 'node:path';
import {
  MalformedError,
  MissingKeyError,
  parseKeyed,
  parseNumaStatV1,
  parseNumaStatV2,
  parseSingle,
  readText,
  toNumber,
  type CountOptions,
  type FileText,
} from './kernel-files.ts';
import { cgroupDir, podCgroupPath } from './paths.ts';
import type { CgroupLayout, Controller, PodRef, ReadFailure, TaskMeasurements } from './types.ts';

/** No pod holds 4 EiB; a byte gauge beyond it is a corrupt file. */
const BYTES_MOST = 1n << 62n;

type Metric = keyof TaskMeasurements;

interface Source {
  controller: Controller;
  file: string;
  parse: (text: string) => TaskMeasurements[Metric];
}

const single = (o: CountOptions = {}, scale = 1) => (text: string) => toNumber(parseSingle(text, o)) / scale;
const keyed = (key: string, o: CountOptions = {}, scale = 1) => (text: string) => toNumber(parseKeyed(text, key, o)) / scale;

/** Where each metric comes from, per cgroup version. */
const SOURCES: Record<'v1' | 'v2', Record<Metric, Source>> = {
  v1: {
    cpuUsageSeconds: { controller: 'cpuacct', file: 'cpuacct.usage', parse: single({}, 1e9) },
    cpuPeriods: { controller: 'cpu', file: 'cpu.stat', parse: keyed('nr_periods') },
    cpuThrottledPeriods: { controller: 'cpu', file: 'cpu.stat', parse: keyed('nr_throttled') },
    cpuThrottledSeconds: { controller: 'cpu', file: 'cpu.stat', parse: keyed('throttled_time', {}, 1e9) },
    memUsageBytes: { controller: 'memory', file: 'memory.usage_in_bytes', parse: single({ most: BYTES_MOST }) },
    memMaxUsageBytes: { controller: 'memory', file: 'memory.max_usage_in_bytes', parse: single({ most: BYTES_MOST }) },
    memLimitBytes: { controller: 'memory', file: 'memory.limit_in_bytes', parse: single({ v1Limit: true }) },
    memSoftLimitBytes: { controller: 'memory', file: 'memory.soft_limit_in_bytes', parse: single({ v1Limit: true }) },
    memPageFaults: { controller: 'memory', file: 'memory.stat', parse: keyed('total_pgfault') },
    memNumaPages: { controller: 'memory', file: 'memory.numa_stat', parse: parseNumaStatV1 },
  },
  v2: {
    cpuUsageSeconds: { controller: 'cpu', file: 'cpu.stat', parse: keyed('usage_usec', {}, 1e6) },
    cpuPeriods: { controller: 'cpu', file: 'cpu.stat', parse: keyed('nr_periods') },
    cpuThrottledPeriods: { controller: 'cpu', file: 'cpu.stat', parse: keyed('nr_throttled') },
    cpuThrottledSeconds: { controller: 'cpu', file: 'cpu.stat', parse: keyed('throttled_usec', {}, 1e6) },
    memUsageBytes: { controller: 'memory', file: 'memory.current', parse: single({ most: BYTES_MOST }) },
    memMaxUsageBytes: { controller: 'memory', file: 'memory.peak', parse: single({ most: BYTES_MOST }) },
    memLimitBytes: { controller: 'memory', file: 'memory.max', parse: single({ max: true, most: BYTES_MOST }) },
    memSoftLimitBytes: { controller: 'memory', file: 'memory.low', parse: single({ max: true, most: BYTES_MOST }) },
    memPageFaults: { controller: 'memory', file: 'memory.stat', parse: keyed('pgfault') },
    memNumaPages: { controller: 'memory', file: 'memory.numa_stat', parse: (t) => parseNumaStatV2(t) },
  },
};

const METRICS = Object.keys(SOURCES.v1) as Metric[];

/** The absolute path of each metric's file for a pod (throws `CgroupPathError` for an invalid pod). */
function metricPaths(layout: CgroupLayout, pod: PodRef): Array<[Metric, string, Source]> {
  const rel = podCgroupPath(layout, pod);
  const sources = SOURCES[layout.version];
  return METRICS.map((m) => {
    const s = sources[m];
    return [m, join(cgroupDir(layout, s.controller, rel), s.file), s];
  });
}

/** The files `measurePod` reads for a pod, each once (for a benchmark's baseline, or a log line). */
export function measuredFiles(layout: CgroupLayout, pod: PodRef): string[] {
  return [...new Set(metricPaths(layout, pod).map(([, path]) => path))];
}

/**
 * Reads a pod's measurements from its pod-level cgroup. Never throws: an invalid pod uid or QoS
 * class fails every metric with reason `other` (and the path `''`: no path was built), a file that
 * cannot be read or parsed fails the metrics it holds.
 */
export async function measurePod(layout: CgroupLayout, pod: PodRef): Promise<{ measurements: TaskMeasurements; failures: ReadFailure[] }> {
  const measurements: TaskMeasurements = {};
  const failures: ReadFailure[] = [];
  let paths: Array<[Metric, string, Source]>;
  try {
    paths = metricPaths(layout, pod);
  } catch (err) {
    const message = (err as Error).message;
    return { measurements, failures: METRICS.map((metric) => ({ metric, path: '', reason: 'other', message })) };
  }
  const files = new Map<string, Promise<FileText>>();
  for (const [, path] of paths) if (!files.has(path)) files.set(path, readText(path));
  for (const [metric, path, source] of paths) {
    const file = await files.get(path)!;
    if (!file.ok) {
      failures.push({ metric, path, reason: file.reason, message: file.message });
      continue;
    }
    try {
      (measurements as Record<Metric, unknown>)[metric] = source.parse(file.text);
    } catch (err) {
      const reason = err instanceof MalformedError ? 'malformed' : err instanceof MissingKeyError ? 'missing' : 'other';
      failures.push({ metric, path, reason, message: `${source.file}: ${(err as Error).message}` });
    }
  }
  return { measurements, failures };
}

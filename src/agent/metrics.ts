/**
 * The agent's metrics as pure functions from one iteration's state to Prometheus text (exposition
 * format 0.0.4), in the seed's names so that an existing dashboard works: `task_*` per task with
 * `task_id`, `task_name`, `qos_class` and the sanitized pod labels, `wca_*` for the agent itself,
 * `allocation{allocation_type,…}` and `allocations_*` in allocation mode.
 *
 * Families come in a fixed order and each is announced by HELP and TYPE even when it has no series,
 * so the text of a state is always the same (tests compare it exactly). A measurement that could
 * not be read is left out for that task only; the read error is counted by metric and reason.
 */
import type { Allocation, TaskMeasurements } from './cgroups/index.ts';
import { RESOURCE_NAMES, type TaskResources } from './resources.ts';
import type { Task } from './tasks.ts';

export interface TaskReport {
  task: Task;
  measurements: TaskMeasurements;
  /** When the task was last seen (seconds since the epoch). */
  lastSeen: number;
  /** What the kernel holds after this iteration's allocation, for the types the allocator set (allocation mode only). */
  allocation?: Allocation;
}

/** Counters of the agent's life; they only grow. Keys are bounded sets (metric × reason, reason). */
export interface AgentCounters {
  iterations: number;
  /** `<metric>|<reason>` → count. */
  readErrors: Map<string, number>;
  /** Task source failures by reason (`timeout`, `connection`, `status`, `malformed`, `too_large`, …). */
  sourceErrors: Map<string, number>;
  allocationErrors: number;
  allocationWrites: number;
}

export interface AgentState {
  tasks: TaskReport[];
  /** End of the last iteration (seconds since the epoch); undefined before the first. */
  lastIteration?: number;
  durationSeconds: number;
  memUsageBytes: number;
  counters: AgentCounters;
  /** Last time the task source answered well (seconds since the epoch). */
  sourceLastSuccess?: number;
  skipped: { namespace: number; notReady: number; malformed: number; overLimit: number };
  droppedLabels: number;
  allocation?: { count: number; ignored: number; durationSeconds: number };
}

export function emptyCounters(): AgentCounters {
  return { iterations: 0, readErrors: new Map(), sourceErrors: new Map(), allocationErrors: 0, allocationWrites: 0 };
}

/** The state before the first iteration. */
export function initialState(allocation: boolean): AgentState {
  return {
    tasks: [],
    durationSeconds: 0,
    memUsageBytes: 0,
    counters: emptyCounters(),
    skipped: { namespace: 0, notReady: 0, malformed: 0, overLimit: 0 },
    droppedLabels: 0,
    ...(allocation && { allocation: { count: 0, ignored: 0, durationSeconds: 0 } }),
  };
}

type Labels = Array<[string, string]>;
interface Sample {
  labels: Labels;
  value: number;
}
interface Family {
  name: string;
  help: string;
  type: 'gauge' | 'counter';
  samples: Sample[];
}

/** The seed's allocation types, as the `allocation_type` label names them. */
export const ALLOCATION_TYPES: Array<[keyof Allocation, string]> = [
  ['cpuQuota', 'cpu_quota'],
  ['cpuShares', 'cpu_shares'],
  ['cpusetCpus', 'cpuset_cpus'],
  ['cpusetMems', 'cpuset_mems'],
];

interface TaskMetric {
  key: Exclude<keyof TaskMeasurements, 'memNumaPages'>;
  name: string;
  help: string;
  type: 'gauge' | 'counter';
}

const MEASURED: TaskMetric[] = [
  { name: 'task_cpu_usage_seconds', type: 'counter', help: 'CPU time used by the task, seconds.', key: 'cpuUsageSeconds' },
  { name: 'task_cpu_periods', type: 'counter', help: 'CFS enforcement periods elapsed for the task.', key: 'cpuPeriods' },
  { name: 'task_cpu_throttled_periods', type: 'counter', help: 'CFS periods in which the task was throttled.', key: 'cpuThrottledPeriods' },
  { name: 'task_cpu_throttled_seconds', type: 'counter', help: 'Time the task spent throttled, seconds.', key: 'cpuThrottledSeconds' },
  { name: 'task_mem_usage_bytes', type: 'gauge', help: 'Memory used by the task, bytes.', key: 'memUsageBytes' },
  { name: 'task_mem_max_usage_bytes', type: 'gauge', help: 'Largest memory use of the task, bytes.', key: 'memMaxUsageBytes' },
  { name: 'task_mem_limit_bytes', type: 'gauge', help: 'Memory limit of the task, bytes (+Inf when unlimited).', key: 'memLimitBytes' },
  { name: 'task_mem_soft_limit_bytes', type: 'gauge', help: 'Memory soft limit of the task, bytes (v1 soft_limit_in_bytes, v2 memory.low).', key: 'memSoftLimitBytes' },
  { name: 'task_mem_page_faults', type: 'counter', help: 'Page faults of the task.', key: 'memPageFaults' },
];

const RESOURCE_UNITS: Record<keyof TaskResources, string> = {
  disk: 'disk_bytes',
  mem: 'mem_bytes',
  cpus: 'cpus',
  limits_mem: 'limits_mem_bytes',
  limits_cpus: 'limits_cpus',
  requests_mem: 'requests_mem_bytes',
  requests_cpus: 'requests_cpus',
};

/** The metric a measurement is exported as (what `wca_read_errors_total{metric}` names). */
export function metricNameOf(key: keyof TaskMeasurements): string {
  return key === 'memNumaPages' ? 'task_mem_numa_pages' : (MEASURED.find((m) => m.key === key)?.name ?? key);
}

/** Identity labels of a task's series: `task_id`, `task_name`, `qos_class`, then its pod labels. */
export function taskLabels(t: Task): Labels {
  return [['task_id', t.id], ['task_name', t.name], ['qos_class', t.qos], ...t.labels];
}

function family(name: string, type: Family['type'], help: string, samples: Sample[] = []): Family {
  return { name, type, help, samples };
}

function single(name: string, type: Family['type'], help: string, value: number | undefined): Family {
  return family(name, type, help, value === undefined ? [] : [{ labels: [], value }]);
}

/** The families of the state, in exposition order. */
export function agentFamilies(s: AgentState): Family[] {
  const out: Family[] = [];
  const perTask = (name: string, type: Family['type'], help: string, value: (r: TaskReport) => number | undefined) => {
    const samples: Sample[] = [];
    for (const r of s.tasks) {
      const v = value(r);
      if (v !== undefined) samples.push({ labels: taskLabels(r.task), value: v });
    }
    out.push(family(name, type, help, samples));
  };
  perTask('task_up', 'gauge', 'The task runs on this node and is ready (1).', () => 1);
  perTask('task_last_seen', 'gauge', 'When the task was last seen, seconds since the epoch.', (r) => r.lastSeen);
  for (const m of MEASURED) perTask(m.name, m.type, m.help, (r) => r.measurements[m.key]);
  const numa: Sample[] = [];
  for (const r of s.tasks) {
    const pages = r.measurements.memNumaPages;
    if (!pages) continue;
    for (const node of Object.keys(pages).sort(byNumaNode)) numa.push({ labels: [...taskLabels(r.task), ['numa_node', node.replace(/^N/, '')]], value: pages[node] });
  }
  out.push(family('task_mem_numa_pages', 'gauge', 'Memory pages of the task per NUMA node.', numa));
  perTask('task_requested_cpus', 'gauge', 'CPUs the task requests (effective pod request), cores.', (r) => r.task.resources.requests_cpus);
  perTask('task_requested_mem_bytes', 'gauge', 'Memory the task requests (effective pod request), bytes.', (r) => r.task.resources.requests_mem);
  for (const name of RESOURCE_NAMES) {
    perTask(`task_resources_${RESOURCE_UNITS[name]}`, 'gauge', `The task's "${name}" resource from its pod spec.`, (r) => r.task.resources[name]);
  }
  if (s.allocation) {
    const samples: Sample[] = [];
    for (const r of s.tasks) {
      if (!r.allocation) continue;
      for (const [key, type] of ALLOCATION_TYPES) {
        const v = allocationValue(r.allocation[key]);
        if (v !== undefined) samples.push({ labels: [['allocation_type', type], ...taskLabels(r.task)], value: v });
      }
    }
    out.push(family('allocation', 'gauge', 'Allocation the kernel holds for the task, normalized (cpusets: the number of CPUs or memory nodes in the list).', samples));
    out.push(single('allocations_count', 'gauge', 'Allocation values the allocator asked for in the last iteration.', s.allocation.count));
    out.push(single('allocations_ignored_count', 'gauge', 'Allocation values that could not be applied in the last iteration.', s.allocation.ignored));
    out.push(single('allocations_errors', 'counter', 'Allocation values that failed to apply since the start.', s.counters.allocationErrors));
    out.push(single('allocations_written', 'counter', 'Cgroup files written to apply allocations (differences only) since the start.', s.counters.allocationWrites));
    out.push(single('allocation_duration', 'gauge', 'Time the last allocation phase took, seconds.', s.allocation.durationSeconds));
  }
  out.push(single('wca_up', 'gauge', 'End of the last iteration, seconds since the epoch.', s.lastIteration));
  out.push(single('wca_tasks', 'gauge', 'Tasks found in the last iteration.', s.tasks.length));
  out.push(single('wca_mem_usage_bytes', 'gauge', "The agent's resident memory, bytes.", s.memUsageBytes));
  out.push(single('wca_duration_seconds', 'gauge', 'Time the last iteration took, seconds.', s.durationSeconds));
  out.push(single('wca_iterations_total', 'counter', 'Iterations since the start.', s.counters.iterations));
  out.push(
    family(
      'wca_read_errors_total',
      'counter',
      'Measurements that could not be read, by metric and reason (missing, malformed, permission, other).',
      [...s.counters.readErrors].sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, value]) => {
        const [metric, reason] = key.split('|');
        return { labels: [['metric', metric], ['reason', reason]], value };
      }),
    ),
  );
  out.push(
    family(
      'wca_task_source_errors_total',
      'counter',
      'Failed reads of the task source (kubelet /pods or API server), by reason.',
      [...s.counters.sourceErrors].sort(([a], [b]) => (a < b ? -1 : 1)).map(([reason, value]) => ({ labels: [['reason', reason]], value })),
    ),
  );
  out.push(single('wca_task_source_last_success_timestamp_seconds', 'gauge', 'Last time the task source answered with a valid pod list.', s.sourceLastSuccess));
  out.push(
    family(
      'wca_pods_skipped',
      'gauge',
      'Pods of the node that are not tasks in the last iteration, by reason.',
      [
        ['malformed', s.skipped.malformed],
        ['namespace', s.skipped.namespace],
        ['not_ready', s.skipped.notReady],
        ['over_limit', s.skipped.overLimit],
      ].map(([reason, value]) => ({ labels: [['reason', reason as string]], value: value as number })),
    ),
  );
  out.push(single('wca_pod_labels_dropped', 'gauge', 'Pod labels left out of task labels in the last iteration (limits, allow list, name collisions).', s.droppedLabels));
  return out;
}

function allocationValue(v: number | string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'number') return v;
  return cpuListSize(v);
}

/** How many entries a kernel list (`0-3,8`) holds. */
export function cpuListSize(list: string): number {
  let n = 0;
  for (const part of list.trim().split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (m) n += m[2] === undefined ? 1 : Number(m[2]) - Number(m[1]) + 1;
  }
  return n;
}

function byNumaNode(a: string, b: string): number {
  return Number(a.replace(/^N/, '')) - Number(b.replace(/^N/, '')) || (a < b ? -1 : a > b ? 1 : 0);
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

export function renderFamilies(families: Family[]): string {
  let text = '';
  for (const f of families) {
    text += `# HELP ${f.name} ${escapeHelp(f.help)}\n# TYPE ${f.name} ${f.type}\n`;
    for (const s of f.samples) {
      const labels = s.labels.length === 0 ? '' : `{${s.labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}`;
      text += `${f.name}${labels} ${formatValue(s.value)}\n`;
    }
  }
  return text;
}

/** The state as Prometheus text. */
export function renderAgentMetrics(s: AgentState): string {
  return renderFamilies(agentFamilies(s));
}

/** Adds a measurement failure to the counters. */
export function countReadError(c: AgentCounters, metric: string, reason: string): void {
  const key = `${metric}|${reason}`;
  c.readErrors.set(key, (c.readErrors.get(key) ?? 0) + 1);
}

export function countSourceError(c: AgentCounters, reason: string): void {
  c.sourceErrors.set(reason, (c.sourceErrors.get(reason) ?? 0) + 1);
}

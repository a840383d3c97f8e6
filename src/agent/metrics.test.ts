import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { agentFamilies, countReadError, countSourceError, emptyCounters, initialState, metricNameOf, renderAgentMetrics, renderFamilies, type AgentState } from './metrics.ts';
import type { Task } from './tasks.ts';

const web: Task = {
  id: '6f1d0c7e-0000-4000-8000-000000000001',
  name: 'kre-demo/web-0',
  namespace: 'kre-demo',
  podName: 'web-0',
  labels: [['app_kubernetes_io__name', 'web'], ['note', 'say "hi"\\now']],
  podLabels: {},
  qos: 'Burstable',
  containerIds: [],
  resources: { disk: 0, mem: 1048576, cpus: 0.25, requests_cpus: 0.25, requests_mem: 1048576, limits_cpus: 1 },
};
const idle: Task = { ...web, id: 'u2', name: 'default/idle', labels: [], qos: 'BestEffort', resources: { disk: 0, mem: 0, cpus: 0, requests_cpus: 0, requests_mem: 0 } };

function state(o: Partial<AgentState> = {}): AgentState {
  return { ...initialState(false), ...o };
}

const WEB = 'task_id="6f1d0c7e-0000-4000-8000-000000000001",task_name="kre-demo/web-0",qos_class="Burstable",app_kubernetes_io__name="web",note="say \\"hi\\"\\\\now"';

/** Only the named families, in exposition order. */
function only(s: AgentState, ...names: string[]): string {
  return renderFamilies(agentFamilies(s).filter((f) => names.includes(f.name)));
}

describe('agent metrics text', () => {
  test('before the first iteration: every family announced, agent gauges without samples', () => {
    const text = renderAgentMetrics(state());
    const families = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`);
    assert.deepEqual(families, [
      'task_up gauge', 'task_last_seen gauge', 'task_cpu_usage_seconds counter', 'task_cpu_periods counter', 'task_cpu_throttled_periods counter',
      'task_cpu_throttled_seconds counter', 'task_mem_usage_bytes gauge', 'task_mem_max_usage_bytes gauge', 'task_mem_limit_bytes gauge',
      'task_mem_soft_limit_bytes gauge', 'task_mem_page_faults counter', 'task_mem_numa_pages gauge', 'task_requested_cpus gauge',
      'task_requested_mem_bytes gauge', 'task_resources_disk_bytes gauge', 'task_resources_mem_bytes gauge', 'task_resources_cpus gauge',
      'task_resources_limits_mem_bytes gauge', 'task_resources_limits_cpus gauge', 'task_resources_requests_mem_bytes gauge',
      'task_resources_requests_cpus gauge', 'wca_up gauge', 'wca_tasks gauge', 'wca_mem_usage_bytes gauge', 'wca_duration_seconds gauge',
      'wca_iterations_total counter', 'wca_read_errors_total counter', 'wca_task_source_errors_total counter',
      'wca_task_source_last_success_timestamp_seconds gauge', 'wca_pods_skipped gauge', 'wca_pod_labels_dropped gauge',
    ]);
    assert.equal(only(state(), 'wca_up', 'wca_tasks'), '# HELP wca_up End of the last iteration, seconds since the epoch.\n# TYPE wca_up gauge\n# HELP wca_tasks Tasks found in the last iteration.\n# TYPE wca_tasks gauge\nwca_tasks 0\n');
  });

  const cases: Array<{ name: string; state: AgentState; families: string[]; want: string }> = [
    {
      name: 'identity labels, escaped values, one sample per task',
      state: state({ tasks: [{ task: web, measurements: {}, lastSeen: 1700000000.5 }] }),
      families: ['task_up', 'task_last_seen'],
      want:
        '# HELP task_up The task runs on this node and is ready (1).\n# TYPE task_up gauge\n' +
        `task_up{${WEB}} 1\n` +
        '# HELP task_last_seen When the task was last seen, seconds since the epoch.\n# TYPE task_last_seen gauge\n' +
        `task_last_seen{${WEB}} 1700000000.5\n`,
    },
    {
      name: 'measurements; an unread one is left out for that task only; unlimited memory is +Inf',
      state: state({
        tasks: [
          { task: web, measurements: { cpuUsageSeconds: 12.5, memUsageBytes: 4096, memLimitBytes: Infinity }, lastSeen: 1 },
          { task: idle, measurements: { memUsageBytes: 8192, memLimitBytes: 268435456 }, lastSeen: 1 },
        ],
      }),
      families: ['task_cpu_usage_seconds', 'task_mem_usage_bytes', 'task_mem_limit_bytes'],
      want:
        '# HELP task_cpu_usage_seconds CPU time used by the task, seconds.\n# TYPE task_cpu_usage_seconds counter\n' +
        `task_cpu_usage_seconds{${WEB}} 12.5\n` +
        '# HELP task_mem_usage_bytes Memory used by the task, bytes.\n# TYPE task_mem_usage_bytes gauge\n' +
        `task_mem_usage_bytes{${WEB}} 4096\n` +
        'task_mem_usage_bytes{task_id="u2",task_name="default/idle",qos_class="BestEffort"} 8192\n' +
        '# HELP task_mem_limit_bytes Memory limit of the task, bytes (+Inf when unlimited).\n# TYPE task_mem_limit_bytes gauge\n' +
        `task_mem_limit_bytes{${WEB}} +Inf\n` +
        'task_mem_limit_bytes{task_id="u2",task_name="default/idle",qos_class="BestEffort"} 268435456\n',
    },
    {
      name: 'NUMA pages per node, in node order',
      state: state({ tasks: [{ task: idle, measurements: { memNumaPages: { N10: 1, N2: 5, N0: 7 } }, lastSeen: 1 }] }),
      families: ['task_mem_numa_pages'],
      want:
        '# HELP task_mem_numa_pages Memory pages of the task per NUMA node.\n# TYPE task_mem_numa_pages gauge\n' +
        'task_mem_numa_pages{task_id="u2",task_name="default/idle",qos_class="BestEffort",numa_node="0"} 7\n' +
        'task_mem_numa_pages{task_id="u2",task_name="default/idle",qos_class="BestEffort",numa_node="2"} 5\n' +
        'task_mem_numa_pages{task_id="u2",task_name="default/idle",qos_class="BestEffort",numa_node="10"} 1\n',
    },
    {
      name: 'requests and resources; no limit, no series',
      state: state({ tasks: [{ task: web, measurements: {}, lastSeen: 1 }] }),
      families: ['task_requested_cpus', 'task_requested_mem_bytes', 'task_resources_limits_cpus', 'task_resources_limits_mem_bytes'],
      want:
        '# HELP task_requested_cpus CPUs the task requests (effective pod request), cores.\n# TYPE task_requested_cpus gauge\n' +
        `task_requested_cpus{${WEB}} 0.25\n` +
        '# HELP task_requested_mem_bytes Memory the task requests (effective pod request), bytes.\n# TYPE task_requested_mem_bytes gauge\n' +
        `task_requested_mem_bytes{${WEB}} 1048576\n` +
        '# HELP task_resources_limits_mem_bytes The task\'s "limits_mem" resource from its pod spec.\n# TYPE task_resources_limits_mem_bytes gauge\n' +
        '# HELP task_resources_limits_cpus The task\'s "limits_cpus" resource from its pod spec.\n# TYPE task_resources_limits_cpus gauge\n' +
        `task_resources_limits_cpus{${WEB}} 1\n`,
    },
    {
      name: 'allocation mode: what the kernel holds per type, counts, errors, duration',
      state: state({
        tasks: [{ task: idle, measurements: {}, lastSeen: 1, allocation: { cpuQuota: 0.25, cpuShares: 0.5, cpusetCpus: '0-1,3' } }],
        allocation: { count: 4, ignored: 1, durationSeconds: 0.002 },
        counters: { ...emptyCounters(), allocationErrors: 3, allocationWrites: 7 },
      }),
      families: ['allocation', 'allocations_count', 'allocations_ignored_count', 'allocations_errors', 'allocations_written', 'allocation_duration'],
      want:
        '# HELP allocation Allocation the kernel holds for the task, normalized (cpusets: the number of CPUs or memory nodes in the list).\n# TYPE allocation gauge\n' +
        'allocation{allocation_type="cpu_quota",task_id="u2",task_name="default/idle",qos_class="BestEffort"} 0.25\n' +
        'allocation{allocation_type="cpu_shares",task_id="u2",task_name="default/idle",qos_class="BestEffort"} 0.5\n' +
        'allocation{allocation_type="cpuset_cpus",task_id="u2",task_name="default/idle",qos_class="BestEffort"} 3\n' +
        '# HELP allocations_count Allocation values the allocator asked for in the last iteration.\n# TYPE allocations_count gauge\nallocations_count 4\n' +
        '# HELP allocations_ignored_count Allocation values that could not be applied in the last iteration.\n# TYPE allocations_ignored_count gauge\nallocations_ignored_count 1\n' +
        '# HELP allocations_errors Allocation values that failed to apply since the start.\n# TYPE allocations_errors counter\nallocations_errors 3\n' +
        '# HELP allocations_written Cgroup files written to apply allocations (differences only) since the start.\n# TYPE allocations_written counter\nallocations_written 7\n' +
        '# HELP allocation_duration Time the last allocation phase took, seconds.\n# TYPE allocation_duration gauge\nallocation_duration 0.002\n',
    },
    {
      name: 'agent health: iteration, errors by reason in order',
      state: (() => {
        const counters = emptyCounters();
        counters.iterations = 2;
        countReadError(counters, metricNameOf('memUsageBytes'), 'missing');
        countReadError(counters, metricNameOf('cpuUsageSeconds'), 'malformed');
        countReadError(counters, metricNameOf('cpuUsageSeconds'), 'malformed');
        countSourceError(counters, 'timeout');
        return state({ counters, lastIteration: 1700000010.25, durationSeconds: 0.015, memUsageBytes: 52428800, sourceLastSuccess: 1700000000 });
      })(),
      families: ['wca_up', 'wca_mem_usage_bytes', 'wca_duration_seconds', 'wca_iterations_total', 'wca_read_errors_total', 'wca_task_source_errors_total', 'wca_task_source_last_success_timestamp_seconds'],
      want:
        '# HELP wca_up End of the last iteration, seconds since the epoch.\n# TYPE wca_up gauge\nwca_up 1700000010.25\n' +
        "# HELP wca_mem_usage_bytes The agent's resident memory, bytes.\n# TYPE wca_mem_usage_bytes gauge\nwca_mem_usage_bytes 52428800\n" +
        '# HELP wca_duration_seconds Time the last iteration took, seconds.\n# TYPE wca_duration_seconds gauge\nwca_duration_seconds 0.015\n' +
        '# HELP wca_iterations_total Iterations since the start.\n# TYPE wca_iterations_total counter\nwca_iterations_total 2\n' +
        '# HELP wca_read_errors_total Measurements that could not be read, by metric and reason (missing, malformed, permission, other).\n# TYPE wca_read_errors_total counter\n' +
        'wca_read_errors_total{metric="task_cpu_usage_seconds",reason="malformed"} 2\n' +
        'wca_read_errors_total{metric="task_mem_usage_bytes",reason="missing"} 1\n' +
        '# HELP wca_task_source_errors_total Failed reads of the task source (kubelet /pods or API server), by reason.\n# TYPE wca_task_source_errors_total counter\n' +
        'wca_task_source_errors_total{reason="timeout"} 1\n' +
        '# HELP wca_task_source_last_success_timestamp_seconds Last time the task source answered with a valid pod list.\n# TYPE wca_task_source_last_success_timestamp_seconds gauge\n' +
        'wca_task_source_last_success_timestamp_seconds 1700000000\n',
    },
    {
      name: 'skipped pods and dropped labels',
      state: state({ skipped: { namespace: 3, notReady: 1, malformed: 0, overLimit: 0 }, droppedLabels: 5 }),
      families: ['wca_pods_skipped', 'wca_pod_labels_dropped'],
      want:
        '# HELP wca_pods_skipped Pods of the node that are not tasks in the last iteration, by reason.\n# TYPE wca_pods_skipped gauge\n' +
        'wca_pods_skipped{reason="malformed"} 0\nwca_pods_skipped{reason="namespace"} 3\nwca_pods_skipped{reason="not_ready"} 1\nwca_pods_skipped{reason="over_limit"} 0\n' +
        '# HELP wca_pod_labels_dropped Pod labels left out of task labels in the last iteration (limits, allow list, name collisions).\n# TYPE wca_pod_labels_dropped gauge\nwca_pod_labels_dropped 5\n',
    },
  ];
  for (const k of cases) test(k.name, () => assert.equal(only(k.state, ...k.families), k.want));

  test('monitoring mode has no allocation families', () => {
    assert.doesNotMatch(renderAgentMetrics(state()), /allocation/);
  });
});

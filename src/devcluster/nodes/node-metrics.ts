/**
 * A simulated kubelet's metrics endpoints in the Prometheus text format, from the usage model's
 * numbers: `/metrics/cadvisor` (cAdvisor's container series, one per container cgroup, plus the
 * pod-, QoS- and node-level cgroups with empty container labels, as the kubelet's embedded
 * cAdvisor gives them) and `/metrics/resource` (the kubelet's stable resource metrics).
 *
 * As Go's client writes them: families sorted by name, samples by label values, values with
 * `strconv.FormatFloat(v, 'g', -1, 64)`, a millisecond timestamp on every sample.
 */
import { QOS_CLASSES } from '../../kube/index.ts';
import { containerCgroup, podCgroup, podsRoot, qosCgroup, type CgroupDriver, type ContainerRuntime } from './cgroup-layout.ts';
import { memoryBreakdown, type CgroupStats, type NodeUsage } from './usage-model.ts';

/** A float as Go's `strconv.FormatFloat(v, 'g', -1, 64)` writes it (`1.2345678e+07`, `0.25`, `1e-05`). */
export function goFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const [mant, expStr] = v.toExponential().split('e');
  const exp = Number(expStr);
  if (exp < -4 || exp >= 6) {
    const abs = Math.abs(exp);
    return `${mant}e${exp < 0 ? '-' : '+'}${abs < 10 ? '0' : ''}${abs}`;
  }
  return String(v);
}

function escape(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

interface Sample {
  labels: Array<[string, string]>;
  value: number;
}

interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  samples: Sample[];
}

function labelKey(s: Sample): string {
  return s.labels.map(([, v]) => v).join('\u0000');
}

/** Renders families in Go's order, each sample with `timestampMs`. */
export function renderFamilies(families: Family[], timestampMs: number | undefined): string {
  const out: string[] = [];
  const ts = timestampMs === undefined ? '' : ` ${Math.floor(timestampMs)}`;
  for (const f of [...families].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    out.push(`# HELP ${f.name} ${f.help}\n# TYPE ${f.name} ${f.type}\n`);
    const samples = [...f.samples].sort((a, b) => {
      const ka = labelKey(a);
      const kb = labelKey(b);
      return ka < kb ? -1 : ka > kb ? 1 : 0;
    });
    for (const s of samples) {
      const labels = s.labels.length ? `{${s.labels.map(([k, v]) => `${k}="${escape(v)}"`).join(',')}}` : '';
      out.push(`${f.name}${labels} ${goFloat(s.value)}${ts}\n`);
    }
  }
  return out.join('');
}

export interface CadvisorContext {
  driver: CgroupDriver;
  runtime?: ContainerRuntime;
  /** The node's CPU count and memory, for `machine_*` series. */
  cpus: number;
  memoryBytes: number;
}

interface CgroupSeries {
  id: string;
  container: string;
  image: string;
  name: string;
  namespace: string;
  pod: string;
  stats: CgroupStats;
  memoryLimitBytes?: number;
  cpuQuotaMilli?: number;
  cpuShares?: number;
  startSeconds?: number;
}

/** `/metrics/cadvisor` for a node's usage. */
export function renderCadvisor(u: NodeUsage, ctx: CadvisorContext): string {
  const runtime = ctx.runtime ?? 'cri-containerd';
  const series: CgroupSeries[] = [];
  const blank = { container: '', image: '', name: '', namespace: '', pod: '' };
  series.push({ ...blank, id: '/', stats: u, memoryLimitBytes: ctx.memoryBytes });
  const root = podsRoot(ctx.driver);
  const qosTotal = QOS_CLASSES.map((q) => u.qos[q]);
  const sumOf = (k: keyof CgroupStats) => qosTotal.reduce((a, s) => a + s[k], 0);
  series.push({
    ...blank,
    id: root,
    stats: { ...u, cpuSeconds: sumOf('cpuSeconds'), userSeconds: sumOf('userSeconds'), systemSeconds: sumOf('systemSeconds'), memoryBytes: sumOf('memoryBytes'), peakBytes: sumOf('peakBytes'), pgfault: sumOf('pgfault'), pgmajfault: sumOf('pgmajfault'), nrPeriods: 0, nrThrottled: 0, throttledSeconds: 0 },
  });
  for (const q of ['Burstable', 'BestEffort'] as const) series.push({ ...blank, id: qosCgroup(ctx.driver, q), stats: u.qos[q] });
  for (const p of u.pods) {
    const podPath = podCgroup(ctx.driver, p.qos, p.uid);
    const all = p.containers.length > 0 && p.containers.every((c) => c.memoryLimitBytes !== undefined);
    series.push({ ...blank, id: podPath, namespace: p.namespace, pod: p.name, stats: p, memoryLimitBytes: all ? p.containers.reduce((a, c) => a + (c.memoryLimitBytes ?? 0), 0) : undefined });
    for (const c of p.containers) {
      series.push({
        id: containerCgroup(ctx.driver, p.qos, p.uid, c.id, runtime),
        container: c.name,
        image: c.image,
        name: c.id,
        namespace: p.namespace,
        pod: p.name,
        stats: c,
        memoryLimitBytes: c.memoryLimitBytes,
        cpuQuotaMilli: c.cpuLimitMilli,
        startSeconds: c.startedAtMs / 1000,
      });
    }
  }
  const labels = (s: CgroupSeries, extra: Array<[string, string]> = []): Array<[string, string]> => {
    const l: Array<[string, string]> = [['container', s.container], ...extra, ['id', s.id], ['image', s.image], ['name', s.name], ['namespace', s.namespace], ['pod', s.pod]];
    return l.sort((a, b) => (a[0] < b[0] ? -1 : 1));
  };
  const fam = (name: string, help: string, type: Family['type'], value: (s: CgroupSeries) => number | undefined, extra?: Array<[string, string]>): Family => ({
    name,
    help,
    type,
    samples: series.flatMap((s) => {
      const v = value(s);
      return v === undefined ? [] : [{ labels: labels(s, extra), value: v }];
    }),
  });
  const families: Family[] = [
    fam('container_cpu_usage_seconds_total', 'Cumulative cpu time consumed in seconds.', 'counter', (s) => s.stats.cpuSeconds, [['cpu', 'total']]),
    fam('container_cpu_user_seconds_total', 'Cumulative user cpu time consumed in seconds.', 'counter', (s) => s.stats.userSeconds),
    fam('container_cpu_system_seconds_total', 'Cumulative system cpu time consumed in seconds.', 'counter', (s) => s.stats.systemSeconds),
    fam('container_cpu_cfs_periods_total', 'Number of elapsed enforcement period intervals.', 'counter', (s) => (s.cpuQuotaMilli !== undefined ? Math.floor(s.stats.nrPeriods) : undefined)),
    fam('container_cpu_cfs_throttled_periods_total', 'Number of throttled period intervals.', 'counter', (s) => (s.cpuQuotaMilli !== undefined ? Math.floor(s.stats.nrThrottled) : undefined)),
    fam('container_cpu_cfs_throttled_seconds_total', 'Total time duration the container has been throttled.', 'counter', (s) => (s.cpuQuotaMilli !== undefined ? s.stats.throttledSeconds : undefined)),
    fam('container_memory_usage_bytes', 'Current memory usage in bytes, including all memory regardless of when it was accessed', 'gauge', (s) => s.stats.memoryBytes),
    fam('container_memory_working_set_bytes', 'Current working set in bytes.', 'gauge', (s) => memoryBreakdown(s.stats.memoryBytes).workingSet),
    fam('container_memory_rss', 'Size of RSS in bytes.', 'gauge', (s) => memoryBreakdown(s.stats.memoryBytes).anon),
    fam('container_memory_cache', 'Number of bytes of page cache memory.', 'gauge', (s) => memoryBreakdown(s.stats.memoryBytes).file),
    fam('container_memory_max_usage_bytes', 'Maximum memory usage recorded in bytes', 'gauge', (s) => Math.max(s.stats.peakBytes, s.stats.memoryBytes)),
    fam('container_spec_memory_limit_bytes', 'Memory limit for the container.', 'gauge', (s) => s.memoryLimitBytes ?? 0),
    fam('container_spec_cpu_period', 'CPU period of the container.', 'gauge', (s) => (s.container ? 100000 : undefined)),
    fam('container_spec_cpu_quota', 'CPU quota of the container.', 'gauge', (s) => (s.cpuQuotaMilli !== undefined ? Math.floor(s.cpuQuotaMilli * 100) : undefined)),
    fam('container_start_time_seconds', 'Start time of the container since unix epoch in seconds.', 'gauge', (s) => (s.startSeconds !== undefined ? Math.floor(s.startSeconds) : undefined)),
  ];
  // Page faults by kind, as cAdvisor's failure counters split them.
  const faults: Family = { name: 'container_memory_failures_total', help: 'Cumulative count of memory allocation failures.', type: 'counter', samples: [] };
  for (const s of series) {
    for (const [kind, v] of [['pgfault', s.stats.pgfault], ['pgmajfault', s.stats.pgmajfault]] as const) {
      for (const scope of ['container', 'hierarchy']) {
        faults.samples.push({ labels: labels(s, [['failure_type', kind], ['scope', scope]]), value: Math.floor(v) });
      }
    }
  }
  families.push(faults);
  const text = renderFamilies(families, u.timestampMs);
  const machine = renderFamilies(
    [
      { name: 'machine_cpu_cores', help: 'Number of logical CPU cores.', type: 'gauge', samples: [{ labels: [], value: ctx.cpus }] },
      { name: 'machine_memory_bytes', help: 'Amount of memory installed on the machine.', type: 'gauge', samples: [{ labels: [], value: ctx.memoryBytes }] },
    ],
    undefined,
  );
  return text + machine;
}

/** `/metrics/resource` for a node's usage. */
export function renderResource(u: NodeUsage): string {
  const families: Family[] = [];
  const add = (name: string, help: string, type: Family['type'], samples: Sample[]) => families.push({ name, help: `[STABLE] ${help}`, type, samples });
  const containerLabels = (ns: string, pod: string, container: string): Array<[string, string]> => [['container', container], ['namespace', ns], ['pod', pod]];
  const podLabels = (ns: string, pod: string): Array<[string, string]> => [['namespace', ns], ['pod', pod]];
  add('container_cpu_usage_seconds_total', 'Cumulative cpu time consumed by the container in core-seconds', 'counter', u.pods.flatMap((p) => p.containers.map((c) => ({ labels: containerLabels(p.namespace, p.name, c.name), value: c.cpuSeconds }))));
  add('container_memory_working_set_bytes', 'Current working set of the container in bytes', 'gauge', u.pods.flatMap((p) => p.containers.map((c) => ({ labels: containerLabels(p.namespace, p.name, c.name), value: memoryBreakdown(c.memoryBytes).workingSet }))));
  add('container_start_time_seconds', 'Start time of the container since unix epoch in seconds', 'gauge', u.pods.flatMap((p) => p.containers.map((c) => ({ labels: containerLabels(p.namespace, p.name, c.name), value: c.startedAtMs / 1000 }))));
  add('node_cpu_usage_seconds_total', 'Cumulative cpu time consumed by the node in core-seconds', 'counter', [{ labels: [], value: u.cpuSeconds }]);
  add('node_memory_working_set_bytes', 'Current working set of the node in bytes', 'gauge', [{ labels: [], value: memoryBreakdown(u.memoryBytes).workingSet }]);
  add('pod_cpu_usage_seconds_total', 'Cumulative cpu time consumed by the pod in core-seconds', 'counter', u.pods.map((p) => ({ labels: podLabels(p.namespace, p.name), value: p.cpuSeconds })));
  add('pod_memory_working_set_bytes', 'Current working set of the pod in bytes', 'gauge', u.pods.map((p) => ({ labels: podLabels(p.namespace, p.name), value: memoryBreakdown(p.memoryBytes).workingSet })));
  const withTs = renderFamilies(families, u.timestampMs);
  const scrape = '# HELP resource_scrape_error [STABLE] 1 if there was an error while getting container metrics, 0 otherwise\n# TYPE resource_scrape_error gauge\nresource_scrape_error 0\n';
  return withTs + scrape;
}

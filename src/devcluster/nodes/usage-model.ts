/**
 * The resource usage of a simulated node's containers: deterministic for a seed and a sequence of
 * clock readings, so tests can assert exact numbers.
 *
 * Each running container has a CPU target (millicores, with ±10 % noise drawn per step) and a memory
 * target it grows to from a few MiB along `1 - e^(-age/ramp)`. Targets come from annotations on the
 * pod, each either for every container of the pod or for one container (the `.<container>` suffix
 * wins):
 *
 * - `kre.konstellation.io/cpu-millicores[.<container>]`: millicores, `"250"` or `"250m"`;
 * - `kre.konstellation.io/memory-bytes[.<container>]`: bytes or a quantity, `"268435456"` or `"256Mi"`;
 * - `kre.konstellation.io/memory-ramp-seconds[.<container>]`: the time constant of the growth (default 30).
 *
 * Without them a container uses 60 % of its CPU request (20m without one) and 70 % of its memory
 * request (50 % of its limit without a request, 64 MiB without either).
 *
 * CPU never exceeds the cap — the container's limit, or the quota read from its cgroup when the
 * caller passes one, and the pod's quota shared among its containers — and every 100 ms period in
 * which the demand was above the cap counts as throttled. Memory above the container's limit is an
 * OOM kill: the container's state is dropped (its cgroup goes; the kubelet restarts it), reported in
 * the result of `advance` and to `onOomKill` listeners. Pod, QoS-class and node counters add up the
 * deltas of every container, so they keep growing across container restarts as a kernel's do.
 */
import type { NodeMetricsReport } from '../apiserver/metrics-api.ts';
import { containerIdOf, containerResources, derivedContainerId } from './cgroup-layout.ts';
import { parseMilli, parseQuantity, type Container, type ContainerStatus, type Pod, podQosClass, QOS_CLASSES, type QosClass } from '../../kube/index.ts';

export const CPU_ANNOTATION = 'kre.konstellation.io/cpu-millicores';
export const MEMORY_ANNOTATION = 'kre.konstellation.io/memory-bytes';
export const MEMORY_RAMP_ANNOTATION = 'kre.konstellation.io/memory-ramp-seconds';

const MiB = 1024 * 1024;
const PAGE = 4096;
const PERIOD_S = 0.1;
const START_MEMORY = 2 * MiB;

/** Cumulative counters and current values of one cgroup (container, pod, QoS class or node). */
export interface CgroupStats {
  cpuSeconds: number;
  userSeconds: number;
  systemSeconds: number;
  nrPeriods: number;
  nrThrottled: number;
  throttledSeconds: number;
  memoryBytes: number;
  peakBytes: number;
  pgfault: number;
  pgmajfault: number;
}

export interface ContainerUsage extends CgroupStats {
  name: string;
  id: string;
  image: string;
  /** The CPU used over the last step, in millicores. */
  cpuMilli: number;
  startedAtMs: number;
  cpuLimitMilli?: number;
  memoryLimitBytes?: number;
}

export interface PodUsage extends CgroupStats {
  uid: string;
  namespace: string;
  name: string;
  qos: QosClass;
  labels: Record<string, string>;
  cpuMilli: number;
  containers: ContainerUsage[];
}

export interface NodeUsage extends CgroupStats {
  nodeName: string;
  timestampMs: number;
  /** The length of the last step, in seconds (the `window` of metrics.k8s.io). */
  windowSeconds: number;
  cpuMilli: number;
  pods: PodUsage[];
  qos: Record<QosClass, CgroupStats>;
}

export interface OomKill {
  namespace: string;
  pod: string;
  uid: string;
  container: string;
  containerId: string;
  atMs: number;
  memoryBytes: number;
  limitBytes: number;
}

/** CPU caps read from the cgroup files, in millicores; they replace the spec's limits when given. */
export interface PodCaps {
  podCpuMilli?: number;
  containers?: Record<string, number | undefined>;
}

export interface UsageModelOptions {
  nodeName: string;
  seed?: number | string;
  /** What the node's own processes use beyond its pods (default 100m, 512 MiB). */
  systemCpuMilli?: number;
  systemMemoryBytes?: number;
}

export interface ContainerTarget {
  cpuMilli: number;
  memoryBytes: number;
  rampSeconds: number;
}

function emptyStats(): CgroupStats {
  return { cpuSeconds: 0, userSeconds: 0, systemSeconds: 0, nrPeriods: 0, nrThrottled: 0, throttledSeconds: 0, memoryBytes: 0, peakBytes: 0, pgfault: 0, pgmajfault: 0 };
}

function annotation(pod: Pod, key: string, container: string): string | undefined {
  const a = pod?.metadata?.annotations ?? {};
  return a[`${key}.${container}`] ?? a[key];
}

function parseCpuMilli(v: string): number | undefined {
  const s = v.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s);
  try {
    return /m$/.test(s) ? parseMilli(s) : undefined;
  } catch {
    return undefined;
  }
}

function parseBytes(v: string): number | undefined {
  try {
    const n = parseQuantity(v.trim());
    return n >= 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** A container's targets from the pod's annotations, or the defaults from its requests and limits. */
export function containerTarget(pod: Pod, container: Container): ContainerTarget {
  const r = containerResources(container);
  const cpuA = annotation(pod, CPU_ANNOTATION, container.name);
  const memA = annotation(pod, MEMORY_ANNOTATION, container.name);
  const rampA = annotation(pod, MEMORY_RAMP_ANNOTATION, container.name);
  const cpuDefault = r.cpuRequestMilli > 0 ? r.cpuRequestMilli * 0.6 : 20;
  const memDefault = r.memoryRequestBytes > 0 ? r.memoryRequestBytes * 0.7 : r.memoryLimitBytes ? r.memoryLimitBytes * 0.5 : 64 * MiB;
  const ramp = rampA !== undefined ? Number(rampA) : NaN;
  return {
    cpuMilli: (cpuA !== undefined ? parseCpuMilli(cpuA) : undefined) ?? cpuDefault,
    memoryBytes: Math.round((memA !== undefined ? parseBytes(memA) : undefined) ?? memDefault),
    rampSeconds: Number.isFinite(ramp) && ramp >= 0 ? ramp : 30,
  };
}

/** FNV-1a over a string, then a step of mulberry32: a number in [-1, 1). */
function noise(seed: string, key: string, tick: number): number {
  let h = 0x811c9dc5;
  const s = `${seed}|${key}|${tick}`;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  let t = (h + 0x6d2b79f5) | 0;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
}

interface ContainerState extends CgroupStats {
  id: string;
  startedAtMs: number;
  lastMs: number;
  tick: number;
  cpuMilli: number;
}

interface PodState extends CgroupStats {
  seen: boolean;
}

function addDeltas(into: CgroupStats, d: CgroupStats): void {
  into.cpuSeconds += d.cpuSeconds;
  into.userSeconds += d.userSeconds;
  into.systemSeconds += d.systemSeconds;
  into.nrPeriods += d.nrPeriods;
  into.nrThrottled += d.nrThrottled;
  into.throttledSeconds += d.throttledSeconds;
  into.pgfault += d.pgfault;
  into.pgmajfault += d.pgmajfault;
}

function isRunning(status: ContainerStatus | undefined): boolean {
  return !!status?.state?.running;
}

export class UsageModel {
  private readonly seed: string;
  private readonly containers = new Map<string, ContainerState>();
  private readonly pods = new Map<string, PodState>();
  private readonly qos: Record<QosClass, CgroupStats> = { Guaranteed: emptyStats(), Burstable: emptyStats(), BestEffort: emptyStats() };
  private readonly node = emptyStats();
  private readonly listeners: Array<(e: OomKill) => void> = [];
  private lastMs: number | undefined;
  private last: NodeUsage | undefined;

  constructor(private readonly o: UsageModelOptions) {
    this.seed = String(o.seed ?? o.nodeName);
  }

  /** Calls `fn` for every OOM kill, after the step that caused it. */
  onOomKill(fn: (e: OomKill) => void): () => void {
    this.listeners.push(fn);
    return () => {
      const i = this.listeners.indexOf(fn);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** The result of the last `advance`, if any. */
  get latest(): NodeUsage | undefined {
    return this.last;
  }

  /**
   * Moves the model to `nowMs` for the node's pods (their containers' statuses say which run) and
   * returns every counter. `caps` replaces the spec's CPU limits with what the cgroups hold.
   */
  advance(nowMs: number, pods: readonly Pod[], caps?: ReadonlyMap<string, PodCaps>): NodeUsage & { oomKills: OomKill[] } {
    const windowSeconds = this.lastMs === undefined ? 0 : Math.max(0, (nowMs - this.lastMs) / 1000);
    this.lastMs = nowMs;
    const oomKills: OomKill[] = [];
    const livePods = new Set<string>();
    const liveContainers = new Set<string>();
    const podsOut: PodUsage[] = [];
    let nodeMilli = this.o.systemCpuMilli ?? 100;
    let nodeMemory = this.o.systemMemoryBytes ?? 512 * MiB;

    for (const pod of pods) {
      const uid = pod?.metadata?.uid;
      if (!uid) continue;
      // A pod from the API server always has both.
      const { namespace = '', name = '' } = pod.metadata;
      const statuses = pod.status?.containerStatuses ?? [];
      const qos = podQosClass(pod);
      const podCaps = caps?.get(uid);
      const steps: Array<{ c: Container; key: string; st: ContainerState; target: ContainerTarget; demand: number; cap: number | undefined; dt: number; limits: ReturnType<typeof containerResources> }> = [];
      for (const c of pod.spec?.containers ?? []) {
        const status = statuses.find((s) => s.name === c.name);
        if (!isRunning(status)) continue;
        const key = `${uid}/${c.name}`;
        const id = containerIdOf(status) ?? derivedContainerId(uid, c.name, status?.restartCount ?? 0);
        let st = this.containers.get(key);
        if (!st || st.id !== id) {
          const started = Date.parse(status?.state?.running?.startedAt ?? '');
          st = { ...emptyStats(), id, startedAtMs: Number.isFinite(started) ? Math.min(started, nowMs) : nowMs, lastMs: nowMs, tick: 0, cpuMilli: 0 };
          this.containers.set(key, st);
        }
        liveContainers.add(key);
        const dt = Math.max(0, (nowMs - st.lastMs) / 1000);
        st.lastMs = nowMs;
        st.tick++;
        const target = containerTarget(pod, c);
        const limits = containerResources(c);
        const demand = Math.max(0, target.cpuMilli * (1 + 0.1 * noise(this.seed, key, st.tick)));
        const capFromFiles = podCaps?.containers && c.name in podCaps.containers ? podCaps.containers[c.name] : limits.cpuLimitMilli;
        steps.push({ c, key, st, target, demand, cap: capFromFiles, dt, limits });
      }
      // The pod's quota is shared by its containers in proportion to what they may use.
      const allowed = steps.map((s) => (s.cap === undefined ? s.demand : Math.min(s.demand, s.cap)));
      const podCap = podCaps ? podCaps.podCpuMilli : undefined;
      const total = allowed.reduce((a, b) => a + b, 0);
      const scale = podCap !== undefined && total > podCap ? podCap / total : 1;

      let p = this.pods.get(uid);
      if (!p) {
        p = { ...emptyStats(), seen: true };
        this.pods.set(uid, p);
      }
      livePods.add(uid);
      const out: ContainerUsage[] = [];
      let podMilli = 0;
      let podMemory = 0;
      for (let i = 0; i < steps.length; i++) {
        const { c, key, st, target, demand, dt, limits } = steps[i];
        const used = allowed[i] * scale;
        const quotaSet = steps[i].cap !== undefined || podCap !== undefined;
        const periods = quotaSet ? dt / PERIOD_S : 0;
        const throttled = used + 1e-9 < demand ? periods : 0;
        const prevMemory = st.memoryBytes;
        const age = Math.max(0, (nowMs - st.startedAtMs) / 1000);
        const grown = target.rampSeconds > 0 ? 1 - Math.exp(-age / target.rampSeconds) : 1;
        const base = Math.min(START_MEMORY, target.memoryBytes);
        const wobble = 1 + 0.005 * noise(this.seed, `${key}#m`, st.tick);
        let memory = Math.round((base + (target.memoryBytes - base) * grown) * wobble);
        memory -= memory % PAGE;
        const d: CgroupStats = {
          ...emptyStats(),
          cpuSeconds: (used / 1000) * dt,
          userSeconds: (used / 1000) * dt * 0.8,
          systemSeconds: (used / 1000) * dt * 0.2,
          nrPeriods: periods,
          nrThrottled: throttled,
          throttledSeconds: throttled > 0 ? dt * (1 - used / demand) : 0,
          pgfault: Math.max(0, memory - prevMemory) / PAGE + (used / 1000) * dt * 150,
          pgmajfault: (used / 1000) * dt * 0.5,
        };
        addDeltas(st, d);
        addDeltas(p, d);
        addDeltas(this.qos[qos], d);
        addDeltas(this.node, d);
        st.cpuMilli = dt > 0 ? used : st.cpuMilli;
        if (limits.memoryLimitBytes !== undefined && memory > limits.memoryLimitBytes) {
          const kill: OomKill = { namespace, pod: name, uid, container: c.name, containerId: st.id, atMs: nowMs, memoryBytes: memory, limitBytes: limits.memoryLimitBytes };
          oomKills.push(kill);
          this.containers.delete(key);
          liveContainers.delete(key);
          continue;
        }
        st.memoryBytes = memory;
        st.peakBytes = Math.max(st.peakBytes, memory);
        podMilli += st.cpuMilli;
        podMemory += memory;
        out.push({ ...pick(st), name: c.name, id: st.id, image: c.image ?? '', cpuMilli: st.cpuMilli, startedAtMs: st.startedAtMs, cpuLimitMilli: steps[i].cap, memoryLimitBytes: limits.memoryLimitBytes });
      }
      p.memoryBytes = podMemory;
      p.peakBytes = Math.max(p.peakBytes, podMemory);
      nodeMilli += podMilli;
      nodeMemory += podMemory;
      podsOut.push({ ...pick(p), uid, namespace, name, qos, labels: pod.metadata.labels ?? {}, cpuMilli: podMilli, containers: out });
    }
    for (const key of [...this.containers.keys()]) if (!liveContainers.has(key)) this.containers.delete(key);
    for (const uid of [...this.pods.keys()]) if (!livePods.has(uid)) this.pods.delete(uid);
    for (const q of QOS_CLASSES) {
      const m = podsOut.filter((p) => p.qos === q).reduce((a, p) => a + p.memoryBytes, 0);
      this.qos[q].memoryBytes = m;
      this.qos[q].peakBytes = Math.max(this.qos[q].peakBytes, m);
    }
    // The node's own processes: the system share of CPU accrues on the node only.
    const sys = ((this.o.systemCpuMilli ?? 100) / 1000) * windowSeconds;
    this.node.cpuSeconds += sys;
    this.node.userSeconds += sys * 0.5;
    this.node.systemSeconds += sys * 0.5;
    this.node.memoryBytes = nodeMemory;
    this.node.peakBytes = Math.max(this.node.peakBytes, nodeMemory);
    const result = {
      ...pick(this.node),
      nodeName: this.o.nodeName,
      timestampMs: nowMs,
      windowSeconds,
      cpuMilli: nodeMilli,
      pods: podsOut,
      qos: { Guaranteed: pick(this.qos.Guaranteed), Burstable: pick(this.qos.Burstable), BestEffort: pick(this.qos.BestEffort) },
      oomKills,
    };
    this.last = result;
    for (const k of oomKills) for (const fn of [...this.listeners]) fn(k);
    return result;
  }
}

function pick(s: CgroupStats): CgroupStats {
  return {
    cpuSeconds: s.cpuSeconds,
    userSeconds: s.userSeconds,
    systemSeconds: s.systemSeconds,
    nrPeriods: s.nrPeriods,
    nrThrottled: s.nrThrottled,
    throttledSeconds: s.throttledSeconds,
    memoryBytes: s.memoryBytes,
    peakBytes: s.peakBytes,
    pgfault: s.pgfault,
    pgmajfault: s.pgmajfault,
  };
}

/** How a cgroup's memory divides into the kernel's categories (page-aligned); working set = current - inactive_file. */
export interface MemoryBreakdown {
  anon: number;
  file: number;
  kernel: number;
  activeAnon: number;
  inactiveAnon: number;
  activeFile: number;
  inactiveFile: number;
  workingSet: number;
}

function pages(n: number): number {
  return Math.floor(n / PAGE) * PAGE;
}

export function memoryBreakdown(bytes: number): MemoryBreakdown {
  const kernel = pages(bytes * 0.02);
  const file = pages(bytes * 0.1);
  const anon = Math.max(0, bytes - kernel - file);
  const inactiveFile = pages(file / 2);
  const inactiveAnon = pages(anon * 0.05);
  return { anon, file, kernel, activeAnon: anon - inactiveAnon, inactiveAnon, activeFile: file - inactiveFile, inactiveFile, workingSet: bytes - inactiveFile };
}

/** What the node tells the API server's metrics.k8s.io: CPU over the last step, memory's working set. */
export function metricsReport(u: NodeUsage): NodeMetricsReport {
  return {
    nodeName: u.nodeName,
    timestampMs: u.timestampMs,
    windowSeconds: u.windowSeconds,
    cpuMilli: u.cpuMilli,
    workingSetBytes: memoryBreakdown(u.memoryBytes).workingSet,
    pods: u.pods.map((p) => ({
      namespace: p.namespace,
      name: p.name,
      labels: p.labels,
      containers: p.containers.map((c) => ({ name: c.name, cpuMilli: c.cpuMilli, workingSetBytes: memoryBreakdown(c.memoryBytes).workingSet })),
    })),
  };
}

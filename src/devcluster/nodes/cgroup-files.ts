/**
 * The cgroup files of one simulated node's pods, under a root directory standing for the cgroup
 * mount: cgroup v2 (unified, the default) or v1 (one hierarchy per controller), systemd or
 * cgroupfs driver, in the kernel's file formats.
 *
 * Two passes, as on a real node:
 * - `sync(pods)` is the kubelet's: it sets the QoS- and pod-level CPU and memory values from the
 *   specs (weight or shares from requests, quota and memory limit from limits), so a value another
 *   process wrote there is set back; container-level values are set once, when the container's
 *   cgroup is made.
 * - `writePass(pods, model, now)` is the kernel's: it reads back the CPU quotas and cpusets the
 *   files hold (so a lower limit written there lowers the modelled usage until the next sync),
 *   advances the usage model, and writes the counters and usage files.
 * Every file is written to a temporary name and renamed, so a reader never sees half a file, and
 * only when its content changes; a pod's directories go when the pod is no longer given. The
 * passes give the event loop back every few milliseconds (`yieldEveryMs`), so that a node with
 * hundreds of pods does not hold up the API clients in the same process.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Pod, QOS_CLASSES, podQosClass, type QosClass } from '../../kube/index.ts';
import {
  CPU_PERIOD_US,
  MIN_SHARES,
  V1_HIERARCHIES,
  V1_LINKS,
  V1_UNLIMITED,
  containerCgroup,
  containerIdOf,
  containerResources,
  derivedContainerId,
  milliToQuota,
  milliToShares,
  podCgroup,
  podResources,
  podsRoot,
  qosCgroup,
  quotaToMilli,
  sharesToWeight,
  type CgroupDriver,
  type CgroupVersion,
  type ContainerRuntime,
} from './cgroup-layout.ts';
import { memoryBreakdown, type CgroupStats, type NodeUsage, type PodCaps, type UsageModel } from './usage-model.ts';

export interface CgroupFilesOptions {
  /** The directory standing for the cgroup mount (`/sys/fs/cgroup`). */
  root: string;
  version?: CgroupVersion;
  driver?: CgroupDriver;
  runtime?: ContainerRuntime;
  /** The node's CPUs (cpuset `0-<cpus-1>`) and NUMA nodes. */
  cpus?: number;
  numaNodes?: number;
  /** The node's allocatable CPU (millicores) and memory, for the pods root cgroup. */
  allocatableCpuMilli?: number;
  allocatableMemoryBytes?: number;
}

interface Values {
  cpuShares: number;
  cpuQuotaUs?: number;
  memoryLimitBytes?: number;
}

interface KnownContainer {
  id: string;
  path: string;
}

interface KnownPod {
  qos: QosClass;
  path: string;
  containers: Map<string, KnownContainer>;
}


function cpuRange(n: number): string {
  return n <= 1 ? '0' : `0-${n - 1}`;
}

/** The number of CPUs in a cpuset list (`0-3,6`), or undefined when empty or unreadable. */
export function cpusetSize(list: string): number | undefined {
  const s = list.trim();
  if (!s) return undefined;
  let n = 0;
  for (const part of s.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) return undefined;
    n += m[2] === undefined ? 1 : Number(m[2]) - Number(m[1]) + 1;
  }
  return n > 0 ? n : undefined;
}

export class CgroupFiles {
  readonly version: CgroupVersion;
  readonly driver: CgroupDriver;
  private readonly runtime: ContainerRuntime;
  private readonly cpus: number;
  private readonly numaNodes: number;
  private readonly pods = new Map<string, KnownPod>();
  private rootMade = false;
  private treeMade = false;
  /** What the stats files of each cgroup last received, so that unchanged files are not rewritten. */
  private readonly stats = new Map<string, Map<string, string>>();

  constructor(private readonly o: CgroupFilesOptions) {
    this.version = o.version ?? 'v2';
    this.driver = o.driver ?? 'systemd';
    this.runtime = o.runtime ?? 'cri-containerd';
    this.cpus = o.cpus ?? 4;
    this.numaNodes = Math.max(1, o.numaNodes ?? 1);
  }

  /** The directories of a cgroup: one for v2, one per hierarchy for v1. */
  dirs(cgroup: string): { cpu: string; cpuacct: string; cpuset: string; memory: string } {
    if (this.version === 'v2') {
      const d = join(this.o.root, cgroup);
      return { cpu: d, cpuacct: d, cpuset: d, memory: d };
    }
    return {
      cpu: join(this.o.root, 'cpu,cpuacct', cgroup),
      cpuacct: join(this.o.root, 'cpu,cpuacct', cgroup),
      cpuset: join(this.o.root, 'cpuset', cgroup),
      memory: join(this.o.root, 'memory', cgroup),
    };
  }

  /** The cgroup path of a pod, as the layout gives it. */
  podPath(pod: Pod): string {
    return podCgroup(this.driver, podQosClass(pod), pod.metadata.uid!);
  }

  private ensureRoot(): void {
    if (this.rootMade) return;
    mkdirSync(this.o.root, { recursive: true });
    if (this.version === 'v1') {
      for (const h of V1_HIERARCHIES) mkdirSync(join(this.o.root, h), { recursive: true });
      for (const [link, target] of Object.entries(V1_LINKS)) {
        try {
          symlinkSync(target, join(this.o.root, link));
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        }
      }
    } else {
      writeAtomic(join(this.o.root, 'cgroup.controllers'), 'cpuset cpu io memory hugetlb pids rdma misc\n');
    }
    this.rootMade = true;
  }

  private makeDirs(cgroup: string): void {
    const d = this.dirs(cgroup);
    mkdirSync(d.cpu, { recursive: true });
    if (this.version === 'v1') {
      mkdirSync(d.cpuset, { recursive: true });
      mkdirSync(d.memory, { recursive: true });
    }
  }

  /**
   * Writes the CPU and memory values of a cgroup; with `onlyIfChanged`, a file that already holds
   * the value is not rewritten. Returns the number of files (re)written.
   */
  private writeValues(cgroup: string, v: Values, fresh = false): number {
    const d = this.dirs(cgroup);
    let n = 0;
    const set = (path: string, content: string) => {
      // A cgroup just made has nothing to compare with.
      if (fresh || readOrEmpty(path) !== content) {
        writeAtomic(path, content);
        n++;
      }
    };
    if (this.version === 'v2') {
      set(join(d.cpu, 'cpu.weight'), `${sharesToWeight(v.cpuShares)}\n`);
      set(join(d.cpu, 'cpu.max'), `${v.cpuQuotaUs === undefined ? 'max' : v.cpuQuotaUs} ${CPU_PERIOD_US}\n`);
      set(join(d.memory, 'memory.max'), `${v.memoryLimitBytes === undefined ? 'max' : v.memoryLimitBytes}\n`);
    } else {
      set(join(d.cpu, 'cpu.shares'), `${v.cpuShares}\n`);
      set(join(d.cpu, 'cpu.cfs_quota_us'), `${v.cpuQuotaUs ?? -1}\n`);
      set(join(d.cpu, 'cpu.cfs_period_us'), `${CPU_PERIOD_US}\n`);
      set(join(d.memory, 'memory.limit_in_bytes'), `${v.memoryLimitBytes ?? V1_UNLIMITED}\n`);
    }
    return n;
  }

  /** Files set once when a cgroup is made and left to whoever writes them afterwards. */
  private writeInitial(cgroup: string): void {
    const d = this.dirs(cgroup);
    if (this.version === 'v2') {
      writeAtomic(join(d.memory, 'memory.high'), 'max\n');
      writeAtomic(join(d.memory, 'memory.low'), '0\n');
      writeAtomic(join(d.memory, 'memory.min'), '0\n');
      writeAtomic(join(d.cpuset, 'cpuset.cpus'), '\n');
      writeAtomic(join(d.cpuset, 'cpuset.mems'), '\n');
      writeAtomic(join(d.cpuset, 'cpuset.cpus.effective'), `${cpuRange(this.cpus)}\n`);
      writeAtomic(join(d.cpuset, 'cpuset.mems.effective'), `${cpuRange(this.numaNodes)}\n`);
    } else {
      writeAtomic(join(d.memory, 'memory.soft_limit_in_bytes'), `${V1_UNLIMITED}\n`);
      writeAtomic(join(d.cpuset, 'cpuset.cpus'), `${cpuRange(this.cpus)}\n`);
      writeAtomic(join(d.cpuset, 'cpuset.mems'), `${cpuRange(this.numaNodes)}\n`);
    }
  }

  private ensureCgroup(cgroup: string, fresh: boolean): void {
    if (!fresh) return;
    this.makeDirs(cgroup);
    this.writeInitial(cgroup);
  }

  /** The pods root and QoS cgroups, made once. */
  private ensureTree(): void {
    this.ensureRoot();
    if (this.treeMade) return;
    this.ensureCgroup(podsRoot(this.driver), true);
    for (const q of ['Burstable', 'BestEffort'] as const) this.ensureCgroup(qosCgroup(this.driver, q), true);
    this.writeRootValues();
    this.writeValues(qosCgroup(this.driver, 'Burstable'), { cpuShares: MIN_SHARES });
    this.writeValues(qosCgroup(this.driver, 'BestEffort'), { cpuShares: MIN_SHARES });
    this.treeMade = true;
  }

  private writeRootValues(): number {
    return this.writeValues(podsRoot(this.driver), {
      cpuShares: milliToShares(this.o.allocatableCpuMilli ?? this.cpus * 1000),
      memoryLimitBytes: this.o.allocatableMemoryBytes,
    });
  }

  private podValues(pod: Pod): Values {
    const r = podResources(pod.spec);
    return {
      cpuShares: podQosClass(pod) === 'BestEffort' ? MIN_SHARES : milliToShares(r.cpuRequestMilli),
      cpuQuotaUs: milliToQuota(r.cpuLimitMilli),
      memoryLimitBytes: r.memoryLimitBytes,
    };
  }

  /**
   * The kubelet's sync: QoS- and pod-level values from the specs, cgroups made for new pods and
   * running containers. Returns the number of value files it had to set (back).
   */
  sync(pods: readonly Pod[]): number {
    return drainSync(this.syncSteps(pods));
  }

  /** `sync`, giving the event loop back every `yieldEveryMs`. */
  syncAsync(pods: readonly Pod[], yieldEveryMs = DEFAULT_YIELD_MS): Promise<number> {
    return drain(this.syncSteps(pods), yieldEveryMs);
  }

  private *syncSteps(pods: readonly Pod[]): Generator<void, number> {
    this.ensureTree();
    let written = this.writeRootValues();
    let burstableMilli = 0;
    for (const pod of pods) if (podQosClass(pod) === 'Burstable') burstableMilli += podResources(pod.spec).cpuRequestMilli;
    written += this.writeValues(qosCgroup(this.driver, 'Burstable'), { cpuShares: milliToShares(burstableMilli) });
    written += this.writeValues(qosCgroup(this.driver, 'BestEffort'), { cpuShares: MIN_SHARES });
    const live = new Set<string>();
    for (const pod of pods) {
      const uid = pod?.metadata?.uid;
      if (!uid) continue;
      live.add(uid);
      const known = this.ensurePod(pod);
      written += this.writeValues(known.path, this.podValues(pod));
      this.ensureContainers(pod, known);
      yield;
    }
    yield* this.removeGone(live);
    return written;
  }

  private ensurePod(pod: Pod): KnownPod {
    const uid = pod.metadata.uid!;
    let known = this.pods.get(uid);
    const qos = podQosClass(pod);
    if (known && known.qos !== qos) {
      this.removePod(uid);
      known = undefined;
    }
    if (!known) {
      known = { qos, path: podCgroup(this.driver, qos, uid), containers: new Map() };
      this.pods.set(uid, known);
      this.ensureCgroup(known.path, true);
      this.writeValues(known.path, this.podValues(pod), true);
    }
    return known;
  }

  /** Makes the cgroups of running containers, with their values from the spec; removes the others. */
  private ensureContainers(pod: Pod, known: KnownPod): void {
    const uid = pod.metadata.uid!;
    const statuses = pod.status?.containerStatuses ?? [];
    const running = new Set<string>();
    for (const c of pod.spec?.containers ?? []) {
      const status = statuses.find((s) => s.name === c.name);
      if (!status?.state?.running) continue;
      running.add(c.name);
      const id = containerIdOf(status) ?? derivedContainerId(uid, c.name, status.restartCount ?? 0);
      const prev = known.containers.get(c.name);
      if (prev?.id === id) continue;
      if (prev) this.removeCgroup(prev.path);
      const path = containerCgroup(this.driver, known.qos, uid, id, this.runtime);
      known.containers.set(c.name, { id, path });
      this.ensureCgroup(path, true);
      const r = containerResources(c);
      this.writeValues(path, {
        cpuShares: known.qos === 'BestEffort' ? MIN_SHARES : milliToShares(r.cpuRequestMilli),
        cpuQuotaUs: milliToQuota(r.cpuLimitMilli),
        memoryLimitBytes: r.memoryLimitBytes,
      }, true);
    }
    for (const [name, c] of [...known.containers]) {
      if (!running.has(name)) {
        this.removeCgroup(c.path);
        known.containers.delete(name);
      }
    }
  }

  private removeCgroup(cgroup: string): void {
    this.stats.delete(cgroup);
    const d = this.dirs(cgroup);
    for (const dir of new Set([d.cpu, d.cpuset, d.memory])) rmSync(dir, { recursive: true, force: true });
  }

  private removePod(uid: string): void {
    const known = this.pods.get(uid);
    if (!known) return;
    this.removeCgroup(known.path);
    this.pods.delete(uid);
  }

  private *removeGone(live: Set<string>): Generator<void, void> {
    for (const uid of [...this.pods.keys()]) {
      if (live.has(uid)) continue;
      this.removePod(uid);
      yield;
    }
  }

  /** The CPU caps the files hold now (quota at pod and container level, container cpusets), in millicores. */
  readCaps(): Map<string, PodCaps> {
    return drainSync(this.readCapsSteps());
  }

  private *readCapsSteps(): Generator<void, Map<string, PodCaps>> {
    const out = new Map<string, PodCaps>();
    for (const [uid, known] of [...this.pods]) {
      const containers: Record<string, number | undefined> = {};
      for (const [name, c] of known.containers) {
        let cap = this.readQuotaMilli(c.path);
        const set = cpusetSize(readOrEmpty(join(this.dirs(c.path).cpuset, 'cpuset.cpus')));
        if (set !== undefined && set < this.cpus) cap = Math.min(cap ?? Infinity, set * 1000);
        containers[name] = cap;
      }
      out.set(uid, { podCpuMilli: this.readQuotaMilli(known.path), containers });
      yield;
    }
    return out;
  }

  private readQuotaMilli(cgroup: string): number | undefined {
    const d = this.dirs(cgroup);
    if (this.version === 'v2') {
      const m = /^(\S+)\s+(\d+)/.exec(readOrEmpty(join(d.cpu, 'cpu.max')));
      if (!m || m[1] === 'max') return undefined;
      const quota = Number(m[1]);
      return Number.isFinite(quota) && quota > 0 ? quotaToMilli(quota, Number(m[2]) || CPU_PERIOD_US) : undefined;
    }
    const quota = Number(readOrEmpty(join(d.cpu, 'cpu.cfs_quota_us')).trim());
    if (!Number.isFinite(quota) || quota <= 0) return undefined;
    const period = Number(readOrEmpty(join(d.cpu, 'cpu.cfs_period_us')).trim());
    return quotaToMilli(quota, period > 0 ? period : CPU_PERIOD_US);
  }

  /**
   * One pass of the kernel: reads the caps back, advances the model to `nowMs` and writes every
   * counter. New pods and containers get their cgroups and values first; the others' values are
   * left as they are until the next sync. Gives the event loop back every `yieldEveryMs`
   * (`Infinity`: never).
   */
  writePass(pods: readonly Pod[], model: UsageModel, nowMs: number, yieldEveryMs = DEFAULT_YIELD_MS): Promise<NodeUsage> {
    return drain(this.writeSteps(pods, model, nowMs), yieldEveryMs);
  }

  private *writeSteps(pods: readonly Pod[], model: UsageModel, nowMs: number): Generator<void, NodeUsage> {
    this.ensureTree();
    const live = new Set<string>();
    for (const pod of pods) {
      const uid = pod?.metadata?.uid;
      if (!uid) continue;
      live.add(uid);
      this.ensureContainers(pod, this.ensurePod(pod));
      yield;
    }
    yield* this.removeGone(live);
    const caps = yield* this.readCapsSteps();
    const usage = model.advance(nowMs, pods, caps);
    for (const p of usage.pods) {
      const known = this.pods.get(p.uid);
      if (!known) continue;
      this.writeStats(known.path, p);
      for (const c of p.containers) {
        const kc = known.containers.get(c.name);
        if (kc) this.writeStats(kc.path, c);
      }
      // A container killed in this step loses its cgroup now.
      for (const k of usage.oomKills) {
        if (k.uid !== p.uid) continue;
        const kc = known.containers.get(k.container);
        if (kc) {
          this.removeCgroup(kc.path);
          known.containers.delete(k.container);
        }
      }
      yield;
    }
    for (const q of ['Burstable', 'BestEffort'] as const) this.writeStats(qosCgroup(this.driver, q), usage.qos[q]);
    const all = QOS_CLASSES.map((q) => usage.qos[q]);
    this.writeStats(podsRoot(this.driver), {
      cpuSeconds: sum(all, 'cpuSeconds'),
      userSeconds: sum(all, 'userSeconds'),
      systemSeconds: sum(all, 'systemSeconds'),
      nrPeriods: 0,
      nrThrottled: 0,
      throttledSeconds: 0,
      memoryBytes: sum(all, 'memoryBytes'),
      peakBytes: Math.max(sum(all, 'peakBytes'), sum(all, 'memoryBytes')),
      pgfault: sum(all, 'pgfault'),
      pgmajfault: sum(all, 'pgmajfault'),
    });
    return usage;
  }

  /** Writes the usage and counter files of one cgroup that changed since they were last written. */
  writeStats(cgroup: string, s: CgroupStats): void {
    const d = this.dirs(cgroup);
    const files = this.version === 'v2' ? renderV2Stats(s, this.numaNodes) : renderV1Stats(s, this.numaNodes);
    let last = this.stats.get(cgroup);
    if (!last) this.stats.set(cgroup, (last = new Map()));
    for (const [name, content] of files) {
      if (last.get(name) === content) continue;
      writeAtomic(join(name.startsWith('cpu') ? d.cpu : d.memory, name), content);
      last.set(name, content);
    }
  }
}

/** How long a pass may hold the event loop before it gives it back. */
const DEFAULT_YIELD_MS = 5;

function drainSync<T>(steps: Generator<void, T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** Runs `steps`, giving the event loop back (setImmediate) whenever `budgetMs` has passed. */
async function drain<T>(steps: Generator<void, T>, budgetMs: number): Promise<T> {
  let since = performance.now();
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    if (performance.now() - since >= budgetMs) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      since = performance.now();
    }
  }
}

function sum(xs: CgroupStats[], k: keyof CgroupStats): number {
  let n = 0;
  for (const x of xs) n += x[k];
  return n;
}

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** Writes `content` to a temporary file beside `path` and renames it over `path`. */
export function writeAtomic(path: string, content: string): void {
  const i = path.lastIndexOf('/');
  const tmp = `${path.slice(0, i)}/.${path.slice(i + 1)}.tmp`;
  writeFileSync(tmp, content);
  renameSync(tmp, path);
}

const f = Math.floor;

/** Splits `bytes` over NUMA nodes, page-aligned; the first node takes the remainder. */
function perNode(bytes: number, nodes: number, unit = 1): number[] {
  const pagesTotal = f(bytes / 4096);
  const each = f(pagesTotal / nodes);
  return Array.from({ length: nodes }, (_, i) => ((i === 0 ? pagesTotal - each * (nodes - 1) : each) * 4096) / unit);
}

function numaLine(key: string, bytes: number, nodes: number): string {
  return `${key} ${perNode(bytes, nodes).map((b, i) => `N${i}=${b}`).join(' ')}\n`;
}

/** cgroup v2 `cpu.stat`, `memory.current`, `memory.peak`, `memory.stat`, `memory.numa_stat`. */
export function renderV2Stats(s: CgroupStats, numaNodes = 1): Array<[string, string]> {
  const usec = (sec: number) => f(sec * 1e6);
  const m = memoryBreakdown(s.memoryBytes);
  const kernelStack = f(m.kernel / 4 / 4096) * 4096;
  const pagetables = f(m.kernel / 4 / 4096) * 4096;
  const slab = m.kernel - kernelStack - pagetables;
  const slabReclaimable = f(slab / 2 / 4096) * 4096;
  const cpuStat =
    `usage_usec ${usec(s.cpuSeconds)}\nuser_usec ${usec(s.userSeconds)}\nsystem_usec ${usec(s.systemSeconds)}\n` +
    `nr_periods ${f(s.nrPeriods)}\nnr_throttled ${f(s.nrThrottled)}\nthrottled_usec ${usec(s.throttledSeconds)}\nnr_bursts 0\nburst_usec 0\n`;
  const stat: Array<[string, number]> = [
    ['anon', m.anon],
    ['file', m.file],
    ['kernel', m.kernel],
    ['kernel_stack', kernelStack],
    ['pagetables', pagetables],
    ['sec_pagetables', 0],
    ['percpu', 0],
    ['sock', 0],
    ['vmalloc', 0],
    ['shmem', 0],
    ['zswap', 0],
    ['zswapped', 0],
    ['file_mapped', f(m.file / 4 / 4096) * 4096],
    ['file_dirty', 0],
    ['file_writeback', 0],
    ['swapcached', 0],
    ['anon_thp', 0],
    ['file_thp', 0],
    ['shmem_thp', 0],
    ['inactive_anon', m.inactiveAnon],
    ['active_anon', m.activeAnon],
    ['inactive_file', m.inactiveFile],
    ['active_file', m.activeFile],
    ['unevictable', 0],
    ['slab_reclaimable', slabReclaimable],
    ['slab_unreclaimable', slab - slabReclaimable],
    ['slab', slab],
    ['workingset_refault_anon', 0],
    ['workingset_refault_file', 0],
    ['workingset_activate_anon', 0],
    ['workingset_activate_file', 0],
    ['workingset_restore_anon', 0],
    ['workingset_restore_file', 0],
    ['workingset_nodereclaim', 0],
    ['pgscan', 0],
    ['pgsteal', 0],
    ['pgscan_kswapd', 0],
    ['pgscan_direct', 0],
    ['pgsteal_kswapd', 0],
    ['pgsteal_direct', 0],
    ['pgfault', f(s.pgfault)],
    ['pgmajfault', f(s.pgmajfault)],
    ['pgrefill', 0],
    ['pgactivate', 0],
    ['pgdeactivate', 0],
    ['pglazyfree', 0],
    ['pglazyfreed', 0],
    ['thp_fault_alloc', 0],
    ['thp_collapse_alloc', 0],
  ];
  const numa =
    numaLine('anon', m.anon, numaNodes) +
    numaLine('file', m.file, numaNodes) +
    numaLine('kernel_stack', kernelStack, numaNodes) +
    numaLine('pagetables', pagetables, numaNodes) +
    numaLine('shmem', 0, numaNodes) +
    numaLine('file_mapped', f(m.file / 4 / 4096) * 4096, numaNodes) +
    numaLine('file_dirty', 0, numaNodes) +
    numaLine('file_writeback', 0, numaNodes) +
    numaLine('swapcached', 0, numaNodes) +
    numaLine('anon_thp', 0, numaNodes) +
    numaLine('file_thp', 0, numaNodes) +
    numaLine('shmem_thp', 0, numaNodes) +
    numaLine('inactive_anon', m.inactiveAnon, numaNodes) +
    numaLine('active_anon', m.activeAnon, numaNodes) +
    numaLine('inactive_file', m.inactiveFile, numaNodes) +
    numaLine('active_file', m.activeFile, numaNodes) +
    numaLine('unevictable', 0, numaNodes) +
    numaLine('slab_reclaimable', slabReclaimable, numaNodes) +
    numaLine('slab_unreclaimable', slab - slabReclaimable, numaNodes);
  return [
    ['cpu.stat', cpuStat],
    ['memory.current', `${s.memoryBytes}\n`],
    ['memory.peak', `${Math.max(s.peakBytes, s.memoryBytes)}\n`],
    ['memory.stat', stat.map(([k, v]) => `${k} ${v}\n`).join('')],
    ['memory.numa_stat', numa],
  ];
}

/** cgroup v1 `cpuacct.usage`, `cpuacct.stat`, `cpu.stat`, `memory.usage_in_bytes`, `memory.max_usage_in_bytes`, `memory.stat`, `memory.numa_stat`. */
export function renderV1Stats(s: CgroupStats, numaNodes = 1): Array<[string, string]> {
  const m = memoryBreakdown(s.memoryBytes);
  const ticks = (sec: number) => f(sec * 100);
  const pgpgin = f(s.pgfault);
  const pgpgout = Math.max(0, pgpgin - f(s.memoryBytes / 4096));
  const stat: Array<[string, number | bigint]> = [
    ['cache', m.file],
    ['rss', m.anon],
    ['rss_huge', 0],
    ['shmem', 0],
    ['mapped_file', f(m.file / 4 / 4096) * 4096],
    ['dirty', 0],
    ['writeback', 0],
    ['pgpgin', pgpgin],
    ['pgpgout', pgpgout],
    ['pgfault', f(s.pgfault)],
    ['pgmajfault', f(s.pgmajfault)],
    ['inactive_anon', m.inactiveAnon],
    ['active_anon', m.activeAnon],
    ['inactive_file', m.inactiveFile],
    ['active_file', m.activeFile],
    ['unevictable', 0],
  ];
  const total = stat.map(([k, v]) => [`total_${k}`, v] as [string, number | bigint]);
  const memStat = [...stat, ['hierarchical_memory_limit', V1_UNLIMITED] as [string, bigint], ...total].map(([k, v]) => `${k} ${v}\n`).join('');
  const pagesLine = (key: string, bytes: number) => {
    const nodes = perNode(bytes, numaNodes, 4096);
    return `${key}=${nodes.reduce((a, b) => a + b, 0)} ${nodes.map((p, i) => `N${i}=${p}`).join(' ')}\n`;
  };
  const lru = m.anon + m.file;
  const numa =
    pagesLine('total', lru) + pagesLine('file', m.file) + pagesLine('anon', m.anon) + pagesLine('unevictable', 0) +
    pagesLine('hierarchical_total', lru) + pagesLine('hierarchical_file', m.file) + pagesLine('hierarchical_anon', m.anon) + pagesLine('hierarchical_unevictable', 0);
  return [
    ['cpuacct.usage', `${f(s.cpuSeconds * 1e9)}\n`],
    ['cpuacct.stat', `user ${ticks(s.userSeconds)}\nsystem ${ticks(s.systemSeconds)}\n`],
    ['cpu.stat', `nr_periods ${f(s.nrPeriods)}\nnr_throttled ${f(s.nrThrottled)}\nthrottled_time ${f(s.throttledSeconds * 1e9)}\n`],
    ['memory.usage_in_bytes', `${s.memoryBytes}\n`],
    ['memory.max_usage_in_bytes', `${Math.max(s.peakBytes, s.memoryBytes)}\n`],
    ['memory.stat', memStat],
    ['memory.numa_stat', numa],
  ];
}

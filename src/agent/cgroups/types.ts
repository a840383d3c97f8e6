/**
 * The vocabulary of the agent's cgroup module: layouts, pods, measurements and allocations.
 */
import type { QosClass } from '../../kube/index.ts';

export type { QosClass };

/** `v1` also covers hybrid hosts (v1 controllers plus an empty cgroup2 mount at `unified/`). */
export type CgroupVersion = 'v1' | 'v2';
/** How the kubelet names cgroups: plain directories, or systemd slices and scopes. */
export type CgroupDriver = 'cgroupfs' | 'systemd';
/** The container runtime, as a container id's scheme names it (`docker://`, `containerd://`, `cri-o://`). */
export type ContainerRuntime = 'docker' | 'cri-containerd' | 'crio';
/** The cgroup v1 controllers the agent reads and writes; on v2 all of them are the unified directory. */
export type Controller = 'cpu' | 'cpuacct' | 'cpuset' | 'memory';
export const CONTROLLERS: readonly Controller[] = ['cpu', 'cpuacct', 'cpuset', 'memory'];

export interface CgroupOptions {
  /** The cgroup mount; default `/sys/fs/cgroup`. */
  root?: string;
  /** Detected from the mounts (or the root's contents) when not given. */
  version?: CgroupVersion;
  /** Detected from the tree (`kubepods.slice` or `kubepods`) when not given. */
  driver?: CgroupDriver;
  /**
   * A relative sub-path, in every hierarchy, under which the kubelet's `kubepods` lives: `''` on a
   * node (the default), a unique directory in tests. No `..`, no absolute path.
   */
  parent?: string;
  /** Where the mounts are listed; default `/proc/self/mountinfo`. */
  mountinfo?: string;
}

export interface CgroupLayout {
  readonly version: CgroupVersion;
  readonly driver: CgroupDriver;
  /** The cgroup mount (absolute). */
  readonly root: string;
  /** The validated sub-path under each hierarchy where `kubepods` lives (`''` on a node). */
  readonly parent: string;
  /**
   * The absolute directory of each controller's hierarchy: on v1 its mount (`/sys/fs/cgroup/cpu`,
   * or `cpu,cpuacct` where the two are co-mounted), on v2 the unified root for every controller.
   * Every path the module reads or writes lies inside one of these.
   */
  readonly dirs: Readonly<Record<Controller, string>>;
}

export interface PodRef {
  /** The pod's uid: must be a UUID. */
  uid: string;
  qos: QosClass;
  /**
   * The kubelet's `containerStatuses[].containerID` values, e.g. `containerd://<hex>`,
   * `docker://<hex>`, `cri-o://<hex>`. Used to find container cgroups (cpuset writes reach
   * every child of the pod cgroup whatever its name, so these may be partial).
   */
  containerIds: string[];
}

/**
 * One pod's measurements, read from the pod-level cgroup (see `measurePod`). A field is absent when
 * it could not be read; the reason is then in the failures beside it.
 */
export interface TaskMeasurements {
  /** CPU time used, seconds (counter): v1 `cpuacct.usage`, v2 `cpu.stat usage_usec`. */
  cpuUsageSeconds?: number;
  /** Enforcement periods elapsed while a quota is set at the pod level (counter). */
  cpuPeriods?: number;
  /** Periods in which the pod's quota throttled it (counter). */
  cpuThrottledPeriods?: number;
  /** Time spent throttled, seconds (counter). */
  cpuThrottledSeconds?: number;
  /** v1 `memory.usage_in_bytes`, v2 `memory.current`. */
  memUsageBytes?: number;
  /** v1 `memory.max_usage_in_bytes`, v2 `memory.peak`. */
  memMaxUsageBytes?: number;
  /** v1 `memory.limit_in_bytes`, v2 `memory.max`; `Infinity` when unlimited. */
  memLimitBytes?: number;
  /**
   * v1 `memory.soft_limit_in_bytes` (`Infinity` when unset), v2 `memory.low` (what runc sets for
   * a memory reservation; `0` when unset).
   */
  memSoftLimitBytes?: number;
  /** Page faults (counter): v1 `memory.stat total_pgfault`, v2 `memory.stat pgfault`. */
  memPageFaults?: number;
  /**
   * Pages per NUMA node (`N0`, `N1`, …): v1 `memory.numa_stat hierarchical_total` (else `total`),
   * v2 `memory.numa_stat` `anon + file` bytes over the 4 KiB page.
   */
  memNumaPages?: Record<string, number>;
}

export type ReadFailureReason = 'missing' | 'malformed' | 'permission' | 'other';

/** A metric of one pod that could not be read; the pod's other metrics are measured regardless. */
export interface ReadFailure {
  metric: keyof TaskMeasurements;
  /** The absolute path of the file. */
  path: string;
  reason: ReadFailureReason;
  message: string;
}

/**
 * Desired or applied allocations, normalized as the seed's agent had them:
 * - `cpuQuota`: a fraction of the whole node; `cfs_quota_us = cpuQuota × cfs_period_us × node CPUs`;
 *   `≥ 1` means no limit (`-1`, `max` on v2); `0` means the kernel's minimum, 1 ms.
 * - `cpuShares`: multiplied by a unit (default 1000) into `cpu.shares`, `0` → 2 (the minimum);
 *   on v2 the shares become `cpu.weight` as the kubelet converts them.
 * - `cpusetCpus` / `cpusetMems`: kernel list syntax (`0-3,8`), within the node's CPUs / NUMA nodes.
 * An absent field is left as the kernel holds it.
 */
export interface Allocation {
  cpuQuota?: number;
  cpuShares?: number;
  cpusetCpus?: string;
  cpusetMems?: string;
}

export type AllocationType = keyof Allocation;

/** What the node offers, read from the cgroup tree above `kubepods`. */
export interface NodeTopology {
  /** How many CPUs `cpuList` holds. */
  cpus: number;
  /** The CPUs pods may use, kernel list syntax (`0-3`). */
  cpuList: string;
  /** The NUMA memory nodes, kernel list syntax (`0`). */
  memNodes: string;
  /** The CFS period of the pods' root cgroup, microseconds (100000 unless changed). */
  cfsPeriodUs: number;
}

export interface AllocationOptions {
  /** What one unit of `cpuShares` is in `cpu.shares`; default 1000. */
  sharesUnit?: number;
}

export interface ApplyResult {
  /** Files written, with the value written (kernel units). */
  written: Array<{ type: AllocationType; path: string; value: string }>;
  /** Allocation types that could not be applied; the other types were applied regardless. */
  failures: Array<{ type: AllocationType; path?: string; message: string }>;
}

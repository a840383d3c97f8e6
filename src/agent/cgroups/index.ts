/**
 * The agent's kernel-facing half: where a node's pods have their cgroups, what those cgroups
 * measure, and the CPU allocations written into them. Nothing else in the agent touches
 * `/sys/fs/cgroup`; everything it needs is exported here.
 *
 * Layout — `detectLayout({ root, version?, driver?, parent? })` finds cgroup v1 (per-controller
 * hierarchies; hybrid hosts count as v1) or v2 (unified) from the mounts or the root's contents,
 * and the driver from the tree (`kubepods.slice` → systemd, `kubepods` → cgroupfs) unless
 * configured. `parent` is a relative sub-path under every hierarchy where `kubepods` lives: `''` on
 * a node, a unique directory in tests. Throws `CgroupLayoutError` (or `CgroupPathError` for a bad
 * parent) with what it looked for.
 *
 * Paths — `podCgroupPath` / `containerCgroupPath` return paths relative to each hierarchy's
 * directory (`layout.dirs[controller]`), the parent included. They are built only from a pod uid
 * that is a UUID and container ids `docker://`, `containerd://` or `cri-o://` followed by 12–128
 * lowercase hex digits; anything else throws `CgroupPathError` before any file is touched, and
 * every absolute path is checked again to lie inside its hierarchy.
 *
 * Measurements — `measurePod` reads the pod-level cgroup, not the sum of container cgroups:
 * the pod cgroup's counters are hierarchical, so it is exact for CPU time and memory, it keeps
 * counting across container restarts (a restarted container's new cgroup starts at zero, so a sum
 * of containers would go backwards), and it is one read per metric. It includes the sandbox
 * ("pause") container on containerd and CRI-O — a few hundred KiB and no CPU to speak of, and
 * what the kubelet's own pod metrics count too. Throttling is the pod-level quota's, which is the
 * one the agent's allocations set. It never throws: a file that is missing, unreadable or
 * malformed (not a number, empty, `max` where a number belongs, beyond 64 bits, a truncated
 * `numa_stat`) leaves that one metric out and is reported as a `ReadFailure` with the path and
 * reason. Unlimited memory limits are `Infinity`.
 *
 * Allocations — `readNodeTopology` reads the CPUs, NUMA nodes and CFS period pods may use;
 * `readAllocation` reads the kernel's values back, normalized (so an agent restarted with no
 * state knows what is applied; applying what it returns writes nothing); `applyAllocation` reads
 * the current values and writes only those that differ, at the pod level, each type on its own:
 * one invalid or refused type is a failure in the result and the others are still applied. It
 * never throws. Normalization is the seed's (see `Allocation`). cpusets are validated against the
 * node, and on v1 are written to the pod cgroup and every child in the order the kernel accepts
 * (a parent is always a superset of its children). `readAllocation` leaves out what it cannot
 * read and throws `CgroupPathError` only for an invalid pod (which `applyAllocation` has already
 * reported as failures: do not count it twice).
 *
 * Also here: `measuredFiles` (the files `measurePod` reads, for a benchmark's baseline),
 * `parseCpuList` / `formatCpuList` (kernel list syntax, to validate configured cpusets at start),
 * `parseContainerId` / `validPodUid` (the same checks the paths use).
 */
export {
  CONTROLLERS,
  type Allocation,
  type AllocationOptions,
  type AllocationType,
  type ApplyResult,
  type CgroupDriver,
  type CgroupLayout,
  type CgroupOptions,
  type CgroupVersion,
  type ContainerRuntime,
  type Controller,
  type NodeTopology,
  type PodRef,
  type QosClass,
  type ReadFailure,
  type ReadFailureReason,
  type TaskMeasurements,
} from './types.ts';
export { detectLayout, CgroupLayoutError, DEFAULT_CGROUP_ROOT } from './layout.ts';
export { podCgroupPath, containerCgroupPath, podsRootPath, parseContainerId, validPodUid, CgroupPathError } from './paths.ts';
export { measurePod, measuredFiles } from './measure.ts';
export { readNodeTopology, readAllocation, applyAllocation } from './allocation.ts';
export { parseCpuList, formatCpuList, CpuListError } from './cpu-list.ts';

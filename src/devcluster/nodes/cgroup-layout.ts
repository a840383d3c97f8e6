/**
 * Where a kubelet puts its pods' cgroups, by driver and QoS class, and how it turns a pod spec into
 * cgroup values (`pkg/kubelet/cm`): CPU shares and quota from requests and limits, the cgroup v2
 * weight from the shares, the pod's effective requests and limits.
 *
 * Paths are absolute inside the cgroup mount (`/kubepods.slice/...`); the cgroup files module puts
 * them under a node's directory, once per controller hierarchy for cgroup v1.
 */
import { createHash } from 'node:crypto';
import { parseMilli, parseQuantity, type Container, type ContainerStatus, type PodSpec, type QosClass } from '../../kube/index.ts';

export type CgroupDriver = 'systemd' | 'cgroupfs';
export type CgroupVersion = 'v1' | 'v2';
/** The container runtime, as it names its systemd scopes. */
export type ContainerRuntime = 'cri-containerd' | 'crio' | 'docker';

/** cgroup v1 hierarchies a kubelet uses, as mounted on common distributions (`cpu` and `cpuacct` link to `cpu,cpuacct`). */
export const V1_HIERARCHIES = ['cpu,cpuacct', 'cpuset', 'memory'] as const;
export const V1_LINKS: Record<string, string> = { cpu: 'cpu,cpuacct', cpuacct: 'cpu,cpuacct' };

export const CPU_PERIOD_US = 100_000;
export const MIN_SHARES = 2;
export const MAX_SHARES = 262_144;
const MIN_QUOTA_US = 1_000;
/** What cgroup v1 reads back for "no memory limit" (PAGE_COUNTER_MAX pages of 4 KiB). */
export const V1_UNLIMITED = 9223372036854771712n;

/** `/kubepods.slice` or `/kubepods`: the parent of every pod cgroup. */
export function podsRoot(driver: CgroupDriver): string {
  return driver === 'systemd' ? '/kubepods.slice' : '/kubepods';
}

/** The QoS cgroup of a class; Guaranteed pods sit directly under the pods root. */
export function qosCgroup(driver: CgroupDriver, qos: QosClass): string {
  if (qos === 'Guaranteed') return podsRoot(driver);
  const q = qos.toLowerCase();
  return driver === 'systemd' ? `/kubepods.slice/kubepods-${q}.slice` : `/kubepods/${q}`;
}

export function podCgroup(driver: CgroupDriver, qos: QosClass, uid: string): string {
  if (driver === 'cgroupfs') return `${qosCgroup(driver, qos)}/pod${uid}`;
  const id = uid.replace(/-/g, '_');
  const prefix = qos === 'Guaranteed' ? 'kubepods' : `kubepods-${qos.toLowerCase()}`;
  return `${qosCgroup(driver, qos)}/${prefix}-pod${id}.slice`;
}

export function containerCgroup(driver: CgroupDriver, qos: QosClass, uid: string, containerId: string, runtime: ContainerRuntime = 'cri-containerd'): string {
  const pod = podCgroup(driver, qos, uid);
  return driver === 'systemd' ? `${pod}/${runtime}-${containerId}.scope` : `${pod}/${containerId}`;
}

/** `MilliCPUToShares`. */
export function milliToShares(milli: number): number {
  if (milli <= 0) return MIN_SHARES;
  const shares = Math.floor((milli * 1024) / 1000);
  return Math.min(MAX_SHARES, Math.max(MIN_SHARES, shares));
}

/** `MilliCPUToQuota`: undefined for no limit. */
export function milliToQuota(milli: number | undefined, period = CPU_PERIOD_US): number | undefined {
  if (milli === undefined || milli <= 0) return undefined;
  return Math.max(MIN_QUOTA_US, Math.floor((milli * period) / 1000));
}

/** `CpuSharesToCpuWeight` (runc's conversion for cgroup v2). */
export function sharesToWeight(shares: number): number {
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

/** A CPU quota back in millicores (what a quota lets a cgroup use). */
export function quotaToMilli(quotaUs: number, periodUs = CPU_PERIOD_US): number {
  return (quotaUs * 1000) / periodUs;
}

export interface ResourceFacts {
  cpuRequestMilli: number;
  /** Undefined when unlimited. */
  cpuLimitMilli?: number;
  memoryRequestBytes: number;
  memoryLimitBytes?: number;
}

function quantity(v: unknown, milli: boolean): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  try {
    return milli ? parseMilli(v as string) : parseQuantity(v as string);
  } catch {
    return undefined;
  }
}

/** A container's CPU and memory requests and limits. */
export function containerResources(c: Container | undefined): ResourceFacts {
  const r = c?.resources ?? {};
  const cpuLimit = quantity(r.limits?.cpu, true);
  const memLimit = quantity(r.limits?.memory, false);
  return {
    cpuRequestMilli: quantity(r.requests?.cpu, true) ?? cpuLimit ?? 0,
    cpuLimitMilli: cpuLimit,
    memoryRequestBytes: quantity(r.requests?.memory, false) ?? memLimit ?? 0,
    memoryLimitBytes: memLimit,
  };
}

/**
 * The pod's effective values, as the kubelet sizes the pod cgroup: requests are max(sum of
 * containers, largest init container) plus overhead; a limit exists only when every container has one.
 */
export function podResources(spec: PodSpec | undefined): ResourceFacts {
  const containers = spec?.containers ?? [];
  const inits = spec?.initContainers ?? [];
  const sum: ResourceFacts = { cpuRequestMilli: 0, cpuLimitMilli: 0, memoryRequestBytes: 0, memoryLimitBytes: 0 };
  for (const c of containers) {
    const f = containerResources(c);
    sum.cpuRequestMilli += f.cpuRequestMilli;
    sum.memoryRequestBytes += f.memoryRequestBytes;
    sum.cpuLimitMilli = f.cpuLimitMilli === undefined || sum.cpuLimitMilli === undefined ? undefined : sum.cpuLimitMilli + f.cpuLimitMilli;
    sum.memoryLimitBytes = f.memoryLimitBytes === undefined || sum.memoryLimitBytes === undefined ? undefined : sum.memoryLimitBytes + f.memoryLimitBytes;
  }
  for (const c of inits) {
    const f = containerResources(c);
    sum.cpuRequestMilli = Math.max(sum.cpuRequestMilli, f.cpuRequestMilli);
    sum.memoryRequestBytes = Math.max(sum.memoryRequestBytes, f.memoryRequestBytes);
    if (sum.cpuLimitMilli !== undefined) sum.cpuLimitMilli = f.cpuLimitMilli === undefined ? undefined : Math.max(sum.cpuLimitMilli, f.cpuLimitMilli);
    if (sum.memoryLimitBytes !== undefined) sum.memoryLimitBytes = f.memoryLimitBytes === undefined ? undefined : Math.max(sum.memoryLimitBytes, f.memoryLimitBytes);
  }
  const overhead = spec?.overhead ?? {};
  const oCpu = quantity(overhead.cpu, true) ?? 0;
  const oMem = quantity(overhead.memory, false) ?? 0;
  sum.cpuRequestMilli += oCpu;
  sum.memoryRequestBytes += oMem;
  if (sum.cpuLimitMilli !== undefined) sum.cpuLimitMilli += oCpu;
  if (sum.memoryLimitBytes !== undefined) sum.memoryLimitBytes += oMem;
  if (containers.length === 0) return { cpuRequestMilli: sum.cpuRequestMilli, memoryRequestBytes: sum.memoryRequestBytes };
  return sum;
}

/** A CRI container id (64 hex digits) from a status's `containerd://<id>`, or undefined. */
export function containerIdOf(status: Pick<ContainerStatus, 'containerID'> | undefined): string | undefined {
  const id: unknown = status?.containerID;
  if (typeof id !== 'string' || !id) return undefined;
  const i = id.indexOf('://');
  return i >= 0 ? id.slice(i + 3) : id;
}

/** A stable container id for a container whose status carries none yet: 64 hex digits, as containerd's. */
export function derivedContainerId(uid: string, name: string, restartCount = 0): string {
  return createHash('sha256').update(`${uid}/${name}/${restartCount}`).digest('hex');
}

/**
 * A task's resources from its pod spec, with Kubernetes' rules (`k8s.io/component-helpers`
 * `resource.PodRequests`/`PodLimits` and `qos.GetPodQOS`):
 *
 * - a container's request defaults to its limit (as the API server defaults it);
 * - the pod's effective request is max(sum of app containers and sidecars, largest init container
 *   plus the sidecars started before it) + pod overhead. Sidecars are init containers with
 *   `restartPolicy: Always`: they keep running beside the app containers, so they add to the sum;
 * - the pod has a limit for a resource only when every app container (and sidecar) has one; it is
 *   then max(sum, largest init container limit) + overhead;
 * - only `cpu`, `memory` and `ephemeral-storage` count; extended resources (`nvidia.com/gpu`, …),
 *   hugepages and values that are not quantities are ignored, never a crash.
 *
 * A pod's QoS class follows the kube core's `podQosClass`.
 *
 * Seed names (`disk, mem, cpus, limits_mem, limits_cpus, requests_mem, requests_cpus`): `cpus` and
 * `mem` are the effective requests (what the scheduler reserves for the task), `disk` the effective
 * ephemeral-storage request. CPU in cores (fractions allowed), memory and disk in bytes.
 */
import { amountOf, type Container, type PodSpec } from '../kube/index.ts';

export interface TaskResources {
  disk: number;
  mem: number;
  cpus: number;
  requests_cpus: number;
  requests_mem: number;
  /** Absent when some container has no limit (the pod is unlimited). */
  limits_cpus?: number;
  limits_mem?: number;
}

export const RESOURCE_NAMES = ['disk', 'mem', 'cpus', 'limits_mem', 'limits_cpus', 'requests_mem', 'requests_cpus'] as const;

type Counted = 'cpu' | 'memory' | 'ephemeral-storage';
const COUNTED: Counted[] = ['cpu', 'memory', 'ephemeral-storage'];

interface Amounts {
  requests: Record<Counted, number>;
  /** A resource without a limit is absent. */
  limits: Partial<Record<Counted, number>>;
}

function containerAmounts(c: Container | undefined): Amounts {
  const r = c?.resources ?? {};
  const requests = { cpu: 0, memory: 0, 'ephemeral-storage': 0 };
  const limits: Partial<Record<Counted, number>> = {};
  for (const name of COUNTED) {
    const limit = amountOf(r.limits?.[name]);
    if (limit !== undefined) limits[name] = limit;
    requests[name] = amountOf(r.requests?.[name]) ?? limit ?? 0;
  }
  return { requests, limits };
}

function isSidecar(c: Container | undefined): boolean {
  return c?.restartPolicy === 'Always';
}

/** A list of the spec, or none when the (kubelet's, unchecked) JSON has something else there. */
function list<T>(v: T[] | undefined): T[] {
  return Array.isArray(v) ? v : [];
}

/** The pod's effective requests and limits of cpu, memory and ephemeral storage. */
export function podAmounts(spec: PodSpec | undefined): Amounts {
  const containers = list(spec?.containers);
  const inits = list(spec?.initContainers);
  const requests = { cpu: 0, memory: 0, 'ephemeral-storage': 0 };
  const limits: Partial<Record<Counted, number>> = { cpu: 0, memory: 0, 'ephemeral-storage': 0 };
  const addLimits = (a: Amounts) => {
    for (const name of COUNTED) limits[name] = a.limits[name] === undefined || limits[name] === undefined ? undefined : limits[name] + a.limits[name];
  };
  for (const c of containers) {
    const a = containerAmounts(c);
    for (const name of COUNTED) requests[name] += a.requests[name];
    addLimits(a);
  }
  // Init containers run one after another, each beside the sidecars started before it.
  const sidecars = { cpu: 0, memory: 0, 'ephemeral-storage': 0 };
  const sidecarLimits: Partial<Record<Counted, number>> = { cpu: 0, memory: 0, 'ephemeral-storage': 0 };
  const initMax = { cpu: 0, memory: 0, 'ephemeral-storage': 0 };
  const initLimitMax = { cpu: 0, memory: 0, 'ephemeral-storage': 0 };
  for (const c of inits) {
    const a = containerAmounts(c);
    if (isSidecar(c)) {
      for (const name of COUNTED) {
        sidecars[name] += a.requests[name];
        initMax[name] = Math.max(initMax[name], sidecars[name]);
        sidecarLimits[name] = a.limits[name] === undefined || sidecarLimits[name] === undefined ? undefined : sidecarLimits[name] + a.limits[name];
        if (sidecarLimits[name] !== undefined) initLimitMax[name] = Math.max(initLimitMax[name], sidecarLimits[name]);
      }
      addLimits(a);
    } else {
      for (const name of COUNTED) {
        initMax[name] = Math.max(initMax[name], sidecars[name] + a.requests[name]);
        const l = a.limits[name];
        if (l !== undefined) initLimitMax[name] = Math.max(initLimitMax[name], (sidecarLimits[name] ?? 0) + l);
      }
    }
  }
  const overhead = spec?.overhead ?? {};
  for (const name of COUNTED) {
    requests[name] = Math.max(requests[name] + sidecars[name], initMax[name]) + (amountOf(overhead[name]) ?? 0);
    const l = limits[name];
    // A pod with no app container has no limit to speak of.
    limits[name] = l === undefined || containers.length === 0 ? undefined : Math.max(l, initLimitMax[name]) + (amountOf(overhead[name]) ?? 0);
  }
  return { requests, limits };
}

/** The seed's seven resources of a task. */
export function taskResources(spec: PodSpec | undefined): TaskResources {
  const { requests, limits } = podAmounts(spec);
  return {
    disk: requests['ephemeral-storage'],
    mem: requests.memory,
    cpus: requests.cpu,
    requests_cpus: requests.cpu,
    requests_mem: requests.memory,
    ...(limits.cpu !== undefined && { limits_cpus: limits.cpu }),
    ...(limits.memory !== undefined && { limits_mem: limits.memory }),
  };
}

/**
 * A pod's quality-of-service class, by Kubernetes' rule (`qos.GetPodQOS`): the API server writes it
 * into `status.qosClass`, a kubelet places the pod's cgroup under it, and the agent finds the cgroup
 * there. One rule for all three, so that the simulated kubelet and the agent can never disagree.
 *
 * - BestEffort: no container (init containers included) requests or limits cpu or memory;
 * - Guaranteed: every container has cpu and memory limits, and the pod's summed requests equal its
 *   summed limits (a request defaults to its limit, as the API server defaults it);
 * - Burstable: anything else.
 *
 * Only cpu and memory count; zero quantities count as unset, and values that are not quantities
 * are ignored, never a crash: kubelets and stored objects are read defensively.
 */
import type { Pod, PodSpec } from './kinds.ts';
import { amountOf } from './quantity.ts';

export type QosClass = 'Guaranteed' | 'Burstable' | 'BestEffort';

export const QOS_CLASSES: readonly QosClass[] = ['Guaranteed', 'Burstable', 'BestEffort'];

const COMPUTE = ['cpu', 'memory'] as const;

function list<T>(v: T[] | undefined): T[] {
  return Array.isArray(v) ? v : [];
}

/** The QoS class a pod spec makes. */
export function qosClass(spec: PodSpec | undefined): QosClass {
  const requests: Record<string, number> = {};
  const limits: Record<string, number> = {};
  let guaranteed = true;
  for (const c of [...list(spec?.initContainers), ...list(spec?.containers)]) {
    const r = c?.resources ?? {};
    let limited = 0;
    for (const name of COMPUTE) {
      const limit = amountOf(r.limits?.[name]);
      const request = amountOf(r.requests?.[name]) ?? limit;
      if (request) requests[name] = (requests[name] ?? 0) + request;
      if (limit !== undefined) {
        limited++;
        if (limit) limits[name] = (limits[name] ?? 0) + limit;
      }
    }
    if (limited < COMPUTE.length) guaranteed = false;
  }
  if (Object.keys(requests).length === 0 && Object.keys(limits).length === 0) return 'BestEffort';
  if (guaranteed && Object.keys(requests).length === Object.keys(limits).length) {
    if (Object.keys(requests).every((name) => limits[name] === requests[name])) return 'Guaranteed';
  }
  return 'Burstable';
}

/** A pod's QoS class: as the API server set it in its status, else as its spec makes it. */
export function podQosClass(pod: Pod): QosClass {
  const set = pod?.status?.qosClass;
  return QOS_CLASSES.find((q) => q === set) ?? qosClass(pod?.spec);
}

/**
 * What every workload controller asks of pods: which of them count (active, ready, available),
 * who controls them, and a new pod made from a template.
 */
import {
  BY_CONTROLLER,
  labelSelectorFromObject,
  type Condition,
  type DaemonSet,
  type Deployment,
  type Informer,
  type Job,
  type KubeObject,
  type Pod,
  type PodSpec,
  type PodTemplateSpec,
  type ReplicaSet,
  type StatefulSet,
} from '../../kube/index.ts';

/** The kinds whose controllers own pods (or ReplicaSets) through a selector. */
export type Workload = Deployment | ReplicaSet | StatefulSet | DaemonSet | Job;

export function isTerminating(pod: Pod): boolean {
  return Boolean(pod.metadata.deletionTimestamp);
}

export function isFinished(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

/** A pod that a controller counts as one of its replicas: neither finished nor being deleted. */
export function isActive(pod: Pod): boolean {
  return !isTerminating(pod) && !isFinished(pod);
}

export function readyCondition(pod: Pod): Condition | undefined {
  return (pod.status?.conditions ?? []).find((c) => c.type === 'Ready');
}

export function isReady(pod: Pod): boolean {
  return readyCondition(pod)?.status === 'True';
}

export function isRunningAndReady(pod: Pod): boolean {
  return pod.status?.phase === 'Running' && isReady(pod);
}

/**
 * Ready for at least `minReadySeconds`. When it is ready but not yet long enough, `wait` says
 * in how many ms it will be, so the controller can look again then.
 */
export function availability(pod: Pod, minReadySeconds: number, now = Date.now()): { available: boolean; waitMs?: number } {
  const ready = readyCondition(pod);
  if (ready?.status !== 'True') return { available: false };
  if (!minReadySeconds) return { available: true };
  const since = Date.parse(ready.lastTransitionTime ?? '') || now;
  const left = since + minReadySeconds * 1000 - now;
  return left <= 0 ? { available: true } : { available: false, waitMs: left + 50 };
}

export function controllerRef(obj: KubeObject): { kind: string; name: string; uid: string } | undefined {
  return obj.metadata.ownerReferences?.find((r) => r.controller === true);
}

export function isControlledBy(obj: KubeObject, owner: KubeObject): boolean {
  return controllerRef(obj)?.uid === owner.metadata.uid;
}

/**
 * The objects of `informer` that `owner` controls and its selector still selects (one whose labels
 * left the selector is no longer counted), from the index by controller.
 */
export function ownedBy(informer: Informer, owner: Workload): KubeObject[] {
  const selector = owner.spec?.selector ? labelSelectorFromObject(owner.spec.selector) : undefined;
  return informer.index('controller', BY_CONTROLLER).list(owner.metadata.uid ?? '').filter((o) => !selector || selector.matches(o.metadata.labels ?? {}));
}

export function ownerReference(owner: KubeObject) {
  return {
    apiVersion: owner.apiVersion!,
    kind: owner.kind!,
    name: owner.metadata.name!,
    uid: owner.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** A pod from a workload's template, owned by the workload (the controller owner reference). */
export function podFromTemplate(
  template: PodTemplateSpec | undefined,
  owner: KubeObject,
  name: string,
  opts: { labels?: Record<string, string>; generateName?: string; spec?: Partial<PodSpec> } = {},
): KubeObject {
  const meta = template?.metadata ?? {};
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      ...(opts.generateName ? { generateName: opts.generateName } : {}),
      namespace: owner.metadata.namespace,
      labels: { ...(meta.labels ?? {}), ...(opts.labels ?? {}) },
      ...(meta.annotations ? { annotations: { ...meta.annotations } } : {}),
      ownerReferences: [ownerReference(owner)],
    },
    spec: { ...structuredClone(template?.spec ?? {}), ...(opts.spec ?? {}) },
  };
}

/** `intstr.GetScaledValueFromIntOrPercent`: a number, or a percentage of `total` rounded up or down. */
export function scaledValue(value: number | string | undefined, total: number, roundUp: boolean, fallback: number | string): number {
  const v = value ?? fallback;
  if (typeof v === 'number') return v;
  const m = /^(\d+)%$/.exec(v);
  if (!m) return Number(v) || 0;
  const exact = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

/** Timestamps as the API prints them (seconds precision). */
export function nowTime(date = new Date()): string {
  return date.toISOString().replace(/\.\d+Z$/, 'Z');
}

/**
 * A condition list with one condition set: `lastTransitionTime` kept while the status stays,
 * `lastUpdateTime` (where the kind has it) kept while nothing about the condition changes.
 */
export function setCondition(
  conditions: Condition[] | undefined,
  next: { type: string; status: string; reason?: string; message?: string },
  opts: { withUpdateTime?: boolean } = {},
): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === next.type);
  const old = i >= 0 ? list[i] : undefined;
  const now = nowTime();
  const same = old && old.status === next.status && old.reason === next.reason && old.message === next.message;
  const cond: Condition = { type: next.type, status: next.status };
  if (opts.withUpdateTime) cond.lastUpdateTime = same ? old.lastUpdateTime : now;
  cond.lastTransitionTime = old && old.status === next.status ? old.lastTransitionTime : now;
  if (next.reason) cond.reason = next.reason;
  if (next.message) cond.message = next.message;
  if (i >= 0) list[i] = same ? old : cond;
  else list.push(cond);
  return list;
}

/**
 * The node's tasks: the pods in the monitored namespaces whose containers are all ready. A task is
 * a pod: `task_id` = pod uid, `task_name` = `namespace/name`, labels = the pod's labels sanitized
 * into Prometheus label names, plus its QoS class and resources.
 *
 * Label cardinality is bounded: at most `maxLabels` pod labels per task (the first by key order;
 * the rest counted as dropped), values cut to `maxValueLength` characters, and optionally only the
 * keys in `allow`. Tasks beyond `maxTasks` are dropped and counted (a kubelet runs at most a few
 * hundred pods; more means something is wrong, and the series must not grow with it).
 */
import { podQosClass, type Pod, type QosClass } from '../kube/index.ts';
import { taskResources, type TaskResources } from './resources.ts';

export interface Task {
  id: string;
  /** `namespace/name`. */
  name: string;
  namespace: string;
  podName: string;
  /** Sanitized pod labels, in key order. */
  labels: Array<[string, string]>;
  /** The pod's labels as Kubernetes has them, for allocation rules. */
  podLabels: Record<string, string>;
  qos: QosClass;
  /** kubelet `containerStatuses[].containerID` (`containerd://<id>`). */
  containerIds: string[];
  resources: TaskResources;
}

export interface TaskSelection {
  /** Only these namespaces; every namespace when empty. */
  namespaces: string[];
  excludeNamespaces: string[];
  maxTasks: number;
  podLabels: { maxLabels: number; maxValueLength: number; allow?: string[] };
}

export interface TaskList {
  tasks: Task[];
  /** Pods left out, by why (bounded set of reasons). */
  skipped: { namespace: number; notReady: number; malformed: number; overLimit: number };
  /** Pod labels left out by the cardinality bounds or because their name collided. */
  droppedLabels: number;
}

/** Label names the agent sets itself; a pod label that sanitizes to one of them gets `label_` in front. */
export const RESERVED_LABELS = new Set(['task_id', 'task_name', 'qos_class', 'numa_node', 'allocation_type', 'resource', 'metric', 'reason', 'source', 'instance', 'job', 'le', 'quantile']);

/**
 * A pod label key as a Prometheus label name: `.` and `-` → `_`, `/` → `__` (the seed's rule), any
 * other character outside `[a-zA-Z0-9_]` → `_`; a name that would start with a digit or `__`
 * (reserved by Prometheus), or that the agent uses itself, gets `label_` in front.
 */
export function sanitizeLabelName(key: string): string {
  let s = key.replace(/\//g, '__').replace(/[^a-zA-Z0-9_]/g, '_');
  if (s === '' || /^[0-9]/.test(s) || s.startsWith('__') || RESERVED_LABELS.has(s)) s = `label_${s}`;
  return s;
}

function isReady(pod: Pod): boolean {
  if (pod.status?.phase !== 'Running') return false;
  const containers = Array.isArray(pod.spec?.containers) ? pod.spec.containers : [];
  const statuses = Array.isArray(pod.status.containerStatuses) ? pod.status.containerStatuses : [];
  if (containers.length === 0) return false;
  return containers.every((c) => statuses.some((s) => s?.name === c?.name && s?.ready === true));
}

function sanitizedLabels(labels: Record<string, string>, o: TaskSelection['podLabels']): { labels: Array<[string, string]>; dropped: number } {
  const out: Array<[string, string]> = [];
  const taken = new Set<string>();
  let dropped = 0;
  for (const key of Object.keys(labels).sort()) {
    const value = labels[key];
    if (typeof value !== 'string' || (o.allow && !o.allow.includes(key))) {
      dropped++;
      continue;
    }
    const name = sanitizeLabelName(key);
    // `a.b` and `a-b` both become `a_b`: the first key in order keeps the name.
    if (taken.has(name) || out.length >= o.maxLabels) {
      dropped++;
      continue;
    }
    taken.add(name);
    out.push([name, value.length > o.maxValueLength ? value.slice(0, o.maxValueLength) : value]);
  }
  out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return { labels: out, dropped };
}

/**
 * A pod of the answer that has what makes it a task: a uid, a name and a namespace; undefined for
 * anything else. The rest of it is read defensively, as the kubelet's JSON is not checked.
 */
function identifiedPod(v: unknown): (Pod & { metadata: { uid: string; name: string; namespace: string } }) | undefined {
  if (typeof v !== 'object' || v === null || !('metadata' in v)) return undefined;
  const meta = v.metadata;
  if (typeof meta !== 'object' || meta === null || !('uid' in meta && 'name' in meta && 'namespace' in meta)) return undefined;
  if (typeof meta.uid !== 'string' || !meta.uid || typeof meta.name !== 'string' || typeof meta.namespace !== 'string') return undefined;
  return v as Pod & { metadata: { uid: string; name: string; namespace: string } };
}

/** The tasks among `pods` (as the kubelet's `/pods` or the API server gives them), in task id order. */
export function selectTasks(pods: readonly unknown[], o: TaskSelection): TaskList {
  const result: TaskList = { tasks: [], skipped: { namespace: 0, notReady: 0, malformed: 0, overLimit: 0 }, droppedLabels: 0 };
  for (const item of pods) {
    const pod = identifiedPod(item);
    if (!pod) {
      result.skipped.malformed++;
      continue;
    }
    const meta = pod.metadata;
    if ((o.namespaces.length > 0 && !o.namespaces.includes(meta.namespace)) || o.excludeNamespaces.includes(meta.namespace)) {
      result.skipped.namespace++;
      continue;
    }
    if (!isReady(pod)) {
      result.skipped.notReady++;
      continue;
    }
    const podLabels: Record<string, string> = {};
    if (meta.labels && typeof meta.labels === 'object') for (const [k, v] of Object.entries(meta.labels)) if (typeof v === 'string') podLabels[k] = v;
    const { labels, dropped } = sanitizedLabels(podLabels, o.podLabels);
    result.droppedLabels += dropped;
    const statuses = pod.status?.containerStatuses ?? [];
    result.tasks.push({
      id: meta.uid,
      name: `${meta.namespace}/${meta.name}`,
      namespace: meta.namespace,
      podName: meta.name,
      labels,
      podLabels,
      qos: podQosClass(pod),
      containerIds: statuses.map((s) => s?.containerID).filter((id): id is string => typeof id === 'string' && id !== ''),
      resources: taskResources(pod.spec),
    });
  }
  result.tasks.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  if (result.tasks.length > o.maxTasks) {
    result.skipped.overLimit = result.tasks.length - o.maxTasks;
    result.tasks.length = o.maxTasks;
  }
  return result;
}

/**
 * `meta.k8s.io/v1` Table output, the answer to `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`
 * that `kubectl get` asks for. The columns and cell values follow the real server's printers
 * (kubernetes/pkg/printers/internalversion) for built-in kinds, and a CRD version's
 * `additionalPrinterColumns` for custom resources. The server always prints the wide columns
 * (priority 1); kubectl hides them unless `-o wide`. The devcluster's API server and the monitor
 * both answer with it.
 */
import type { KubeObject, ObjectMeta, OwnerReference } from './client.ts';
import type {
  ConfigMap,
  ContainerStatus,
  ControllerRevision,
  DaemonSet,
  Deployment,
  Endpoints,
  EndpointSlice,
  EndpointSubset,
  Event,
  Ingress,
  Job,
  LabelSelector,
  LoadBalancerStatus,
  Namespace,
  Node,
  PersistentVolume,
  PersistentVolumeClaim,
  Pod,
  PodSpec,
  ReplicaSet,
  Role,
  RoleBinding,
  Secret,
  Service,
  ServiceAccount,
  StatefulSet,
} from './kinds.ts';
import type { Lease } from './leader-election.ts';

/**
 * What the printers need of a resource type: a custom resource's printer columns come from its CRD,
 * per version (apiextensions v1) or for the whole CRD (v1beta1, which old manifests still use).
 */
export interface TableResource {
  group: string;
  version: string;
  kind: string;
  crd?: { spec?: { versions?: { name: string; additionalPrinterColumns?: PrinterColumn[] }[]; additionalPrinterColumns?: PrinterColumn[] } };
}

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export interface ListMeta {
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
}

export interface TableOptions {
  includeObject: IncludeObject;
  listMeta?: ListMeta;
  now: Date;
}

export interface ColumnDefinition {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

type Cell = string | number | boolean | null;

interface RowCondition {
  type: string;
  status: string;
  reason: string;
  message: string;
}

export interface TableRow {
  cells: Cell[];
  conditions?: RowCondition[];
  object?: KubeObject | { kind: 'PartialObjectMetadata'; apiVersion: 'meta.k8s.io/v1'; metadata: ObjectMeta };
}

/** A `meta.k8s.io/v1` Table. */
export interface Table {
  kind: 'Table';
  apiVersion: 'meta.k8s.io/v1';
  metadata: Partial<ListMeta>;
  columnDefinitions: ColumnDefinition[];
  rows: TableRow[];
}

/**
 * How one kind is printed: its columns, and the cells (one per column) of one object. Methods, so
 * that the printer of one kind (`Printer<Pod>`) stands in the table of all kinds (`Printer`): the
 * table picks it by the object's kind.
 */
interface Printer<T extends KubeObject = KubeObject> {
  columns: ColumnDefinition[];
  cells(obj: T, now: Date): Cell[];
  conditions?(obj: T): RowCondition[] | undefined;
}

export function toTable(t: TableResource, objects: readonly KubeObject[], opts: TableOptions): Table {
  const printer = t.crd ? customResourcePrinter(t) : (BUILTIN_PRINTERS[`${t.group}/${t.kind}`] ?? DEFAULT_PRINTER);
  const rows = objects.map((obj) => {
    const row: TableRow = { cells: printer.cells(obj, opts.now) };
    const conditions = printer.conditions?.(obj);
    if (conditions) row.conditions = conditions;
    if (opts.includeObject === 'Metadata') {
      row.object = { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata ?? {} };
    } else if (opts.includeObject === 'Object') {
      row.object = obj;
    }
    return row;
  });
  const metadata: Partial<ListMeta> = {};
  if (opts.listMeta) {
    metadata.resourceVersion = opts.listMeta.resourceVersion;
    if (opts.listMeta.continue) metadata.continue = opts.listMeta.continue;
    if (opts.listMeta.remainingItemCount !== undefined) metadata.remainingItemCount = opts.listMeta.remainingItemCount;
  }
  return { kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata, columnDefinitions: printer.columns, rows };
}

/** The `includeObject` parameter of a Table request (default Metadata, as a real server's). */
export function parseIncludeObject(v: string | null): IncludeObject {
  return v === 'None' || v === 'Object' ? v : 'Metadata';
}

/**
 * Whether the Accept header asks for a v1 Table: one of its media ranges is JSON (or any type)
 * with `as=Table`, `v=v1` and `g=meta.k8s.io`. kubectl sends the v1 Table first, then v1beta1 and
 * plain JSON as fallbacks.
 */
export function parseTableAccept(accept: string | undefined): boolean {
  if (!accept) return false;
  for (const range of accept.split(',')) {
    const [type, ...rawParams] = range.split(';').map((s) => s.trim());
    if (type !== 'application/json' && type !== '*/*') continue;
    const params = new Map(rawParams.map((p) => {
      const i = p.indexOf('=');
      return i < 0 ? [p, ''] : [p.slice(0, i).trim(), p.slice(i + 1).trim()];
    }));
    if (params.get('as') === 'Table' && params.get('v') === 'v1' && params.get('g') === 'meta.k8s.io') return true;
  }
  return false;
}

/**
 * kubectl's `duration.HumanDuration`: two significant units at most, coarser as time goes by
 * ("45s", "3m20s", "15m", "5h10m", "2d5h", "30d", "2y40d").
 */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  // Up to a second in the future counts as now: clocks of client and server may differ a little.
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  const years = Math.floor(hours / 24 / 365);
  if (hours < 24 * 365 * 8) {
    const d = Math.floor(hours / 24) % 365;
    return d === 0 ? `${years}y` : `${years}y${d}d`;
  }
  return `${years}y`;
}

/** Age of a timestamp as kubectl prints it; `<unknown>` when there is none. */
export function ageSince(timestamp: string | undefined | null, now: Date): string {
  if (!timestamp) return '<unknown>';
  const at = Date.parse(timestamp);
  if (Number.isNaN(at)) return '<invalid>';
  return humanDuration(now.getTime() - at);
}

// ---------------------------------------------------------------------------------------------
// Columns

const NAME_DESCRIPTION =
  'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names';
const CREATION_DESCRIPTION =
  'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata';

function col(name: string, description: string, extra: Partial<ColumnDefinition> = {}): ColumnDefinition {
  return { name, type: 'string', format: '', description, priority: 0, ...extra };
}
const wide = (name: string, description: string): ColumnDefinition => col(name, description, { priority: 1 });
const NAME = col('Name', NAME_DESCRIPTION, { format: 'name' });
const AGE = col('Age', CREATION_DESCRIPTION);
const CREATED_AT = col('Created At', CREATION_DESCRIPTION, { type: 'date' });
const CONTAINERS = wide('Containers', 'Names of each container in the template.');
const IMAGES = wide('Images', 'Images referenced by each container in the template.');
const selectorColumn = (description: string): ColumnDefinition => wide('Selector', description);

const NONE = '<none>';
const orNone = (s: string | undefined | null): string => (s ? s : NONE);
const age = (obj: KubeObject, now: Date): string => ageSince(obj.metadata?.creationTimestamp, now);
const createdAt = (obj: KubeObject): string => {
  const ts = obj.metadata?.creationTimestamp;
  return ts ? new Date(ts).toISOString().replace(/\.\d{3}Z$/, 'Z') : '';
};

/** Names and images of a pod template's containers, comma-separated. */
function containerCells(podSpec: PodSpec | undefined): [string, string] {
  const containers = podSpec?.containers ?? [];
  return [containers.map((c) => c.name ?? '').join(','), containers.map((c) => c.image ?? '').join(',')];
}

/** `labels.FormatLabels`: sorted `k=v` pairs, `<none>` when empty. */
export function formatLabels(labels: Record<string, string> | undefined): string {
  const keys = Object.keys(labels ?? {}).sort();
  if (keys.length === 0) return NONE;
  return keys.map((k) => `${k}=${labels![k]}`).join(',');
}

/** A LabelSelector as `metav1.LabelSelectorAsSelector(...).String()` prints it. */
export function formatSelector(selector: LabelSelector | undefined): string {
  if (!selector) return NONE;
  const parts: Array<[string, string]> = [];
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) parts.push([k, `${k}=${v}`]);
  for (const e of selector.matchExpressions ?? []) {
    const values = [...(e.values ?? [])].sort().join(',');
    switch (e.operator) {
      case 'In':
        parts.push([e.key, `${e.key} in (${values})`]);
        break;
      case 'NotIn':
        parts.push([e.key, `${e.key} notin (${values})`]);
        break;
      case 'Exists':
        parts.push([e.key, e.key]);
        break;
      case 'DoesNotExist':
        parts.push([e.key, `!${e.key}`]);
        break;
    }
  }
  return parts
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map((p) => p[1])
    .join(',');
}

const int = (n: unknown): number => (typeof n === 'number' ? n : 0);

// ---------------------------------------------------------------------------------------------
// Pods

const podPrinter: Printer<Pod> = {
  columns: [
    NAME,
    col('Ready', 'The aggregate readiness state of this pod for accepting traffic.'),
    col('Status', 'The aggregate status of the containers in this pod.'),
    col('Restarts', 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.'),
    AGE,
    wide('IP', 'podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.'),
    wide(
      'Node',
      'NodeName indicates in which node this pod is scheduled. If empty, this pod is a candidate for scheduling by the scheduler defined in schedulerName. Once this field is set, the kubelet for this node becomes responsible for the lifecycle of this pod. This field should not be used to express a desire for the pod to be scheduled on a specific node. https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#nodename',
    ),
    wide(
      'Nominated Node',
      'nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods. This field does not guarantee that the pod will be scheduled on this node. Scheduler may decide to place the pod elsewhere if other nodes become available sooner. Scheduler may also decide to give the resources on this node to a higher priority pod that is created after preemption. As a result, this field may be different than PodSpec.nodeName when the pod is scheduled.',
    ),
    wide(
      'Readiness Gates',
      'If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to "True" More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates',
    ),
  ],
  cells(pod, now) {
    const s = podSummary(pod, now);
    const spec = pod.spec;
    const status = pod.status ?? {};
    const gates = spec?.readinessGates ?? [];
    let readinessGates = NONE;
    if (gates.length > 0) {
      const conditions = status.conditions ?? [];
      const trueGates = gates.filter((g) => conditions.find((c) => c.type === g.conditionType)?.status === 'True').length;
      readinessGates = `${trueGates}/${gates.length}`;
    }
    const podIP = status.podIPs?.[0]?.ip ?? status.podIP;
    return [pod.metadata?.name ?? '', s.ready, s.status, s.restarts, age(pod, now), orNone(podIP), orNone(spec?.nodeName), orNone(status.nominatedNodeName), readinessGates];
  },
  conditions(pod) {
    // The real printer marks finished pods so clients can tell them apart (kubectl get --show-all era).
    const phase = pod.status?.phase;
    if (phase === 'Succeeded') return [{ type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod has completed successfully.' }];
    if (phase === 'Failed') return [{ type: 'Completed', status: 'True', reason: 'Failed', message: 'The pod has failed.' }];
    return undefined;
  },
};

/** READY, STATUS and RESTARTS of a pod, worked out as kubectl's printPod does. */
export function podSummary(pod: Pod, now: Date): { ready: string; status: string; restarts: string } {
  const spec = pod.spec;
  const status = pod.status ?? {};
  const initSpecs = new Map((spec?.initContainers ?? []).map((c) => [c.name, c]));
  // Sidecars are init containers that keep running (restartPolicy Always) and count as containers.
  const isSidecar = (name: string): boolean => initSpecs.get(name)?.restartPolicy === 'Always';
  const total = (spec?.containers ?? []).length + [...initSpecs.values()].filter((c) => c.restartPolicy === 'Always').length;
  let ready = 0;
  let restarts = 0;
  let sidecarRestarts = 0;
  let lastRestart = 0;
  let lastSidecarRestart = 0;
  let reason: string = status.reason || status.phase || '';
  for (const c of status.conditions ?? []) {
    if (c.type === 'PodScheduled' && c.reason === 'SchedulingGated') reason = 'SchedulingGated';
  }

  let initializing = false;
  const initStatuses = status.initContainerStatuses ?? [];
  for (let i = 0; i < initStatuses.length; i++) {
    const c = initStatuses[i];
    restarts += int(c.restartCount);
    const finished = finishedAt(c);
    lastRestart = Math.max(lastRestart, finished);
    if (isSidecar(c.name)) {
      sidecarRestarts += int(c.restartCount);
      lastSidecarRestart = Math.max(lastSidecarRestart, finished);
    }
    const terminated = c.state?.terminated;
    const waiting = c.state?.waiting;
    if (terminated && int(terminated.exitCode) === 0) continue;
    if (isSidecar(c.name) && c.started === true) {
      if (c.ready) ready++;
      continue;
    }
    if (terminated) {
      if (terminated.reason) reason = `Init:${terminated.reason}`;
      else if (terminated.signal) reason = `Init:Signal:${terminated.signal}`;
      else reason = `Init:ExitCode:${int(terminated.exitCode)}`;
    } else if (waiting?.reason && waiting.reason !== 'PodInitializing') {
      reason = `Init:${waiting.reason}`;
    } else {
      reason = `Init:${i}/${initSpecs.size}`;
    }
    initializing = true;
    break;
  }

  const initialized = (status.conditions ?? []).some((c) => c.type === 'Initialized' && c.status === 'True');
  if (!initializing || initialized) {
    restarts = sidecarRestarts;
    lastRestart = lastSidecarRestart;
    let hasRunning = false;
    const statuses = status.containerStatuses ?? [];
    // Walked from the last container so the first container's state wins, as in kubectl.
    for (let i = statuses.length - 1; i >= 0; i--) {
      const c = statuses[i];
      restarts += int(c.restartCount);
      lastRestart = Math.max(lastRestart, finishedAt(c));
      const waiting = c.state?.waiting;
      const terminated = c.state?.terminated;
      if (waiting?.reason) reason = waiting.reason;
      else if (terminated?.reason) reason = terminated.reason;
      else if (terminated) reason = terminated.signal ? `Signal:${terminated.signal}` : `ExitCode:${int(terminated.exitCode)}`;
      else if (c.ready && c.state?.running) {
        hasRunning = true;
        ready++;
      }
    }
    if (reason === 'Completed' && hasRunning) {
      const podReady = (status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
      reason = podReady ? 'Running' : 'NotReady';
    }
  }

  if (pod.metadata?.deletionTimestamp) {
    if (status.reason === 'NodeLost') reason = 'Unknown';
    else if (status.phase !== 'Succeeded' && status.phase !== 'Failed') reason = 'Terminating';
  }

  let restartsText = String(restarts);
  if (restarts !== 0 && lastRestart > 0) restartsText = `${restarts} (${humanDuration(now.getTime() - lastRestart)} ago)`;
  return { ready: `${ready}/${total}`, status: reason, restarts: restartsText };
}

function finishedAt(containerStatus: ContainerStatus): number {
  const t = containerStatus.lastState?.terminated?.finishedAt;
  const ms = t ? Date.parse(t) : NaN;
  return Number.isNaN(ms) ? 0 : ms;
}

// ---------------------------------------------------------------------------------------------
// Workloads

const deploymentPrinter: Printer<Deployment> = {
  columns: [
    NAME,
    col('Ready', 'Number of the pod with ready state'),
    col('Up-to-date', 'Total number of non-terminated pods targeted by this deployment that have the desired template spec.'),
    col('Available', 'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.'),
    AGE,
    CONTAINERS,
    IMAGES,
    selectorColumn('Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.'),
  ],
  cells(d, now) {
    const [containers, images] = containerCells(d.spec?.template?.spec);
    const st = d.status ?? {};
    return [d.metadata?.name ?? '', `${int(st.readyReplicas)}/${int(d.spec?.replicas)}`, int(st.updatedReplicas), int(st.availableReplicas), age(d, now), containers, images, formatSelector(d.spec?.selector)];
  },
};

const replicaSetPrinter: Printer<ReplicaSet> = {
  columns: [
    NAME,
    col('Desired', 'Replicas is the number of desired replicas. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1.', { type: 'integer' }),
    col('Current', 'Replicas is the most recently observed number of replicas.', { type: 'integer' }),
    col('Ready', 'The number of ready replicas for this replica set.', { type: 'integer' }),
    AGE,
    CONTAINERS,
    IMAGES,
    selectorColumn('Selector is a label query over pods that should match the replica count.'),
  ],
  cells(rs, now) {
    const [containers, images] = containerCells(rs.spec?.template?.spec);
    const st = rs.status;
    return [rs.metadata?.name ?? '', int(rs.spec?.replicas), int(st?.replicas), int(st?.readyReplicas), age(rs, now), containers, images, formatSelector(rs.spec?.selector)];
  },
};

const statefulSetPrinter: Printer<StatefulSet> = {
  columns: [NAME, col('Ready', 'Number of the pod with ready state'), AGE, CONTAINERS, IMAGES],
  cells(ss, now) {
    const [containers, images] = containerCells(ss.spec?.template?.spec);
    return [ss.metadata?.name ?? '', `${int(ss.status?.readyReplicas)}/${int(ss.spec?.replicas)}`, age(ss, now), containers, images];
  },
};

const daemonSetPrinter: Printer<DaemonSet> = {
  columns: [
    NAME,
    col('Desired', 'The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod).', { type: 'integer' }),
    col('Current', 'The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.', { type: 'integer' }),
    col('Ready', 'numberReady is the number of nodes that should be running the daemon pod and have one or more of the daemon pod running with a Ready Condition.', { type: 'integer' }),
    col('Up-to-date', 'The total number of nodes that are running updated daemon pod', { type: 'integer' }),
    col('Available', 'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)', { type: 'integer' }),
    col('Node Selector', "NodeSelector is a selector which must be true for the pod to fit on a node. Selector which must match a node's labels for the pod to be scheduled on that node."),
    AGE,
    CONTAINERS,
    IMAGES,
    selectorColumn('A label query over pods that are managed by the daemon set.'),
  ],
  cells(ds, now) {
    const [containers, images] = containerCells(ds.spec?.template?.spec);
    const st = ds.status;
    return [
      ds.metadata?.name ?? '',
      int(st?.desiredNumberScheduled),
      int(st?.currentNumberScheduled),
      int(st?.numberReady),
      int(st?.updatedNumberScheduled),
      int(st?.numberAvailable),
      formatLabels(ds.spec?.template?.spec?.nodeSelector),
      age(ds, now),
      containers,
      images,
      formatSelector(ds.spec?.selector),
    ];
  },
};

const controllerRevisionPrinter: Printer<ControllerRevision> = {
  columns: [NAME, col('Controller', 'Controller of the object'), col('Revision', 'Revision indicates the revision of the state represented by Data.', { type: 'integer' }), AGE],
  cells(cr, now) {
    const owner = (cr.metadata?.ownerReferences ?? []).find((r: OwnerReference) => r.controller);
    const controller = owner ? `${owner.kind.toLowerCase()}.${(owner.apiVersion ?? '').split('/')[0]}/${owner.name}` : NONE;
    return [cr.metadata?.name ?? '', controller, int(cr.revision), age(cr, now)];
  },
};

const jobPrinter: Printer<Job> = {
  columns: [
    NAME,
    col('Status', 'Status of the job.'),
    col('Completions', 'The desired number of successfully finished pods the job should be run with.'),
    col('Duration', 'Time required to complete the job.'),
    AGE,
    CONTAINERS,
    IMAGES,
    selectorColumn('A label query over pods that should match the pod count.'),
  ],
  cells(job, now) {
    const spec = job.spec;
    const st = job.status ?? {};
    const succeeded = int(st.succeeded);
    let completions: string;
    if (spec?.completions != null) completions = `${succeeded}/${spec.completions}`;
    else if (spec?.parallelism != null && spec.parallelism > 1) completions = `${succeeded}/1 of ${spec.parallelism}`;
    else completions = `${succeeded}/1`;
    let duration = '';
    if (st.startTime) {
      const end = st.completionTime ? Date.parse(st.completionTime) : now.getTime();
      duration = humanDuration(end - Date.parse(st.startTime));
    }
    const has = (type: string): boolean => (st.conditions ?? []).some((c) => c.type === type && c.status === 'True');
    let status = 'Running';
    if (has('Complete')) status = 'Complete';
    else if (has('Failed')) status = 'Failed';
    else if (job.metadata?.deletionTimestamp) status = 'Terminating';
    else if (has('Suspended')) status = 'Suspended';
    else if (has('FailureTarget')) status = 'FailureTarget';
    const [containers, images] = containerCells(spec?.template?.spec);
    return [job.metadata?.name ?? '', status, completions, duration, age(job, now), containers, images, formatSelector(spec?.selector)];
  },
};

// ---------------------------------------------------------------------------------------------
// Core kinds

const servicePrinter: Printer<Service> = {
  columns: [
    NAME,
    col('Type', 'type determines how the Service is exposed. Defaults to ClusterIP.'),
    col('Cluster-IP', 'clusterIP is the IP address of the service and is usually assigned randomly.'),
    col('External-IP', 'externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.'),
    col('Port(s)', 'The list of ports that are exposed by this service.'),
    AGE,
    selectorColumn('Route service traffic to pods with label keys and values matching this selector.'),
  ],
  cells(svc, now) {
    const spec = svc.spec ?? {};
    const type = spec.type ?? 'ClusterIP';
    const clusterIP = spec.clusterIPs?.[0] ?? spec.clusterIP;
    const ports = (spec.ports ?? []).map((p) => (p.nodePort !== undefined && p.nodePort > 0 ? `${p.port}:${p.nodePort}/${p.protocol ?? 'TCP'}` : `${p.port}/${p.protocol ?? 'TCP'}`)).join(',');
    return [svc.metadata?.name ?? '', type, orNone(clusterIP), serviceExternalIP(svc, type), orNone(ports), age(svc, now), formatLabels(spec.selector)];
  },
};

function serviceExternalIP(svc: Service, type: string): string {
  const external = svc.spec?.externalIPs ?? [];
  switch (type) {
    case 'ClusterIP':
    case 'NodePort':
      return external.length > 0 ? external.join(',') : NONE;
    case 'LoadBalancer': {
      const lb = loadBalancerIngress(svc.status?.loadBalancer);
      const all = [...lb, ...external];
      return all.length > 0 ? all.join(',') : '<pending>';
    }
    case 'ExternalName':
      return svc.spec?.externalName ?? '';
  }
  return '<unknown>';
}

function loadBalancerIngress(lb: LoadBalancerStatus | undefined): string[] {
  return (lb?.ingress ?? []).map((i) => i.ip || i.hostname || '').filter(Boolean);
}

const endpointsPrinter: Printer<Endpoints> = {
  columns: [NAME, col('Endpoints', 'Endpoints of the service'), AGE],
  cells(ep, now) {
    return [ep.metadata?.name ?? '', formatEndpoints(ep.subsets), age(ep, now)];
  },
};

/** At most three `ip:port` pairs, then "+ N more...", as kubectl's formatEndpoints. */
function formatEndpoints(subsets: EndpointSubset[] | undefined): string {
  if (!subsets || subsets.length === 0) return NONE;
  const max = 3;
  const list: string[] = [];
  let count = 0;
  for (const ss of subsets) {
    const addresses = ss.addresses ?? [];
    const ports = ss.ports ?? [];
    if (ports.length === 0) {
      count += addresses.length;
      for (const a of addresses) if (list.length < max) list.push(a.ip);
      continue;
    }
    for (const p of ports) {
      count += addresses.length;
      for (const a of addresses) if (list.length < max) list.push(a.ip.includes(':') ? `[${a.ip}]:${p.port}` : `${a.ip}:${p.port}`);
    }
  }
  const joined = list.join(',');
  return count > max ? `${joined} + ${count - max} more...` : joined;
}

const nodePrinter: Printer<Node> = {
  columns: [
    NAME,
    col('Status', 'The status of the node'),
    col('Roles', 'The roles of the node'),
    AGE,
    col('Version', 'Kubelet Version reported by the node.'),
    wide('Internal-IP', 'List of addresses reachable to the node. Queried from cloud provider, if available.'),
    wide('External-IP', 'List of addresses reachable to the node. Queried from cloud provider, if available.'),
    wide('OS-Image', 'OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).'),
    wide('Kernel-Version', "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64)."),
    wide('Container-Runtime', 'ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).'),
  ],
  cells(node, now) {
    const ready = (node.status?.conditions ?? []).find((c) => c.type === 'Ready');
    const status = [ready ? (ready.status === 'True' ? 'Ready' : 'NotReady') : 'Unknown'];
    if (node.spec?.unschedulable) status.push('SchedulingDisabled');
    const info = node.status?.nodeInfo ?? {};
    const address = (type: string): string => orNone((node.status?.addresses ?? []).find((a) => a.type === type)?.address);
    const orUnknown = (s: string | undefined): string => s || '<unknown>';
    return [
      node.metadata?.name ?? '',
      status.join(','),
      orNone(nodeRoles(node.metadata?.labels).join(',')),
      age(node, now),
      info.kubeletVersion ?? '',
      address('InternalIP'),
      address('ExternalIP'),
      orUnknown(info.osImage),
      orUnknown(info.kernelVersion),
      orUnknown(info.containerRuntimeVersion),
    ];
  },
};

function nodeRoles(labels: Record<string, string> | undefined): string[] {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(labels ?? {})) {
    if (k.startsWith('node-role.kubernetes.io/')) {
      const role = k.slice('node-role.kubernetes.io/'.length);
      if (role) roles.add(role);
    } else if (k === 'kubernetes.io/role' && v) {
      roles.add(v);
    }
  }
  return [...roles].sort();
}

const namespacePrinter: Printer<Namespace> = {
  columns: [NAME, col('Status', 'The status of the namespace'), AGE],
  cells(ns, now) {
    return [ns.metadata?.name ?? '', ns.status?.phase ?? '', age(ns, now)];
  },
};

const eventPrinter: Printer<Event> = {
  columns: [
    col('Last Seen', 'The time at which the most recent occurrence of this event was recorded.'),
    col('Type', 'Type of this event (Normal, Warning), new types could be added in the future'),
    col('Reason', "This should be a short, machine understandable string that gives the reason for the transition into the object's current status."),
    col('Object', 'The object that this event is about.'),
    wide('Subobject', 'If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement.'),
    wide('Source', 'The component reporting this event. Should be a short machine understandable string.'),
    col('Message', 'A human-readable description of the status of this operation.'),
    wide('First Seen', 'The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)'),
    wide('Count', 'The number of times this event has occurred.'),
    col('Name', NAME_DESCRIPTION, { format: 'name', priority: 1 }),
  ],
  cells(ev, now) {
    const first = ageSince(ev.firstTimestamp || ev.eventTime, now);
    let last = ev.lastTimestamp ? ageSince(ev.lastTimestamp, now) : first;
    let count = int(ev.count);
    if (ev.series) {
      last = ageSince(ev.series.lastObservedTime, now);
      count = int(ev.series.count);
    } else if (count === 0) {
      // Events of the events.k8s.io API leave the count unset for a single occurrence.
      count = 1;
    }
    const involved = ev.involvedObject ?? {};
    const kind = String(involved.kind ?? '').toLowerCase();
    const target = involved.name ? `${kind}/${involved.name}` : kind;
    const component = ev.source?.component || ev.reportingComponent || '';
    const host = ev.source?.host || ev.reportingInstance || '';
    const source = host ? `${component}, ${host}` : component;
    return [last, ev.type ?? '', ev.reason ?? '', target, involved.fieldPath ?? '', source, String(ev.message ?? '').trim(), first, count, ev.metadata?.name ?? ''];
  },
};

const configMapPrinter: Printer<ConfigMap> = {
  columns: [NAME, col('Data', 'Data contains the configuration data.', { type: 'integer' }), AGE],
  cells(cm, now) {
    return [cm.metadata?.name ?? '', Object.keys(cm.data ?? {}).length + Object.keys(cm.binaryData ?? {}).length, age(cm, now)];
  },
};

const secretPrinter: Printer<Secret> = {
  columns: [NAME, col('Type', 'The type of the secret'), col('Data', 'The number of data items in the secret', { type: 'integer' }), AGE],
  cells(s, now) {
    return [s.metadata?.name ?? '', s.type ?? 'Opaque', Object.keys(s.data ?? {}).length, age(s, now)];
  },
};

const serviceAccountPrinter: Printer<ServiceAccount> = {
  columns: [NAME, col('Secrets', 'Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.', { type: 'integer' }), AGE],
  cells(sa, now) {
    return [sa.metadata?.name ?? '', (sa.secrets ?? []).length, age(sa, now)];
  },
};

const ACCESS_MODES: Array<[string, string]> = [
  ['ReadWriteOnce', 'RWO'],
  ['ReadOnlyMany', 'ROX'],
  ['ReadWriteMany', 'RWX'],
  ['ReadWriteOncePod', 'RWOP'],
];
const accessModes = (modes: string[] | undefined): string =>
  ACCESS_MODES.filter(([mode]) => (modes ?? []).includes(mode))
    .map(([, short]) => short)
    .join(',');

const pvcPrinter: Printer<PersistentVolumeClaim> = {
  columns: [
    NAME,
    col('Status', 'The phase of the claim'),
    col('Volume', 'volumeName is the binding reference to the PersistentVolume backing this claim.'),
    col('Capacity', 'capacity represents the actual resources of the underlying volume.'),
    col('Access Modes', 'accessModes contains the actual access modes the volume backing the PVC has.'),
    col('StorageClass', 'storageClassName is the name of the StorageClass required by the claim.'),
    col('VolumeAttributesClass', 'volumeAttributesClassName may be used to set the VolumeAttributesClass used by this claim.'),
    AGE,
    wide('VolumeMode', 'volumeMode defines what type of volume is required by the claim.'),
  ],
  cells(pvc, now) {
    const spec = pvc.spec ?? {};
    const st = pvc.status ?? {};
    const phase = pvc.metadata?.deletionTimestamp ? 'Terminating' : (st.phase ?? '');
    const bound = Boolean(spec.volumeName);
    const storageClass = spec.storageClassName ?? pvc.metadata?.annotations?.['volume.beta.kubernetes.io/storage-class'] ?? '';
    return [
      pvc.metadata?.name ?? '',
      phase,
      spec.volumeName ?? '',
      bound ? (st.capacity?.storage ?? '') : '',
      bound ? accessModes(st.accessModes) : '',
      storageClass,
      spec.volumeAttributesClassName || '<unset>',
      age(pvc, now),
      spec.volumeMode ?? '<unset>',
    ];
  },
};

const pvPrinter: Printer<PersistentVolume> = {
  columns: [
    NAME,
    col('Capacity', 'capacity is the description of the persistent volume\'s resources and capacity.'),
    col('Access Modes', 'accessModes contains all ways the volume can be mounted.'),
    col('Reclaim Policy', 'persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim.'),
    col('Status', 'phase indicates if a volume is available, bound to a claim, or released by a claim.'),
    col('Claim', 'claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim.'),
    col('StorageClass', 'storageClassName is the name of StorageClass to which this persistent volume belongs.'),
    col('VolumeAttributesClass', 'Name of VolumeAttributesClass to which this persistent volume belongs.'),
    col('Reason', 'reason is a brief CamelCase string that describes any failure.'),
    AGE,
    wide('VolumeMode', 'volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state.'),
  ],
  cells(pv, now) {
    const spec = pv.spec ?? {};
    const claim = spec.claimRef ? `${spec.claimRef.namespace}/${spec.claimRef.name}` : '';
    const phase = pv.metadata?.deletionTimestamp ? 'Terminating' : (pv.status?.phase ?? '');
    return [
      pv.metadata?.name ?? '',
      spec.capacity?.storage ?? '',
      accessModes(spec.accessModes),
      spec.persistentVolumeReclaimPolicy ?? '',
      phase,
      claim,
      spec.storageClassName ?? '',
      spec.volumeAttributesClassName || '<unset>',
      pv.status?.reason ?? '',
      age(pv, now),
      spec.volumeMode ?? '<unset>',
    ];
  },
};

// ---------------------------------------------------------------------------------------------
// Other groups

const leasePrinter: Printer<Lease> = {
  columns: [NAME, col('Holder', 'holderIdentity contains the identity of the holder of a current lease.'), AGE],
  cells(lease, now) {
    return [lease.metadata?.name ?? '', lease.spec?.holderIdentity ?? '', age(lease, now)];
  },
};

const rolePrinter: Printer<Role> = {
  columns: [NAME, CREATED_AT],
  cells(role) {
    return [role.metadata?.name ?? '', createdAt(role)];
  },
};

const roleBindingPrinter: Printer<RoleBinding> = {
  columns: [
    NAME,
    col('Role', 'RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace.'),
    AGE,
    wide('Users', 'Users in the roleBinding'),
    wide('Groups', 'Groups in the roleBinding'),
    wide('ServiceAccounts', 'ServiceAccounts in the roleBinding'),
  ],
  cells(rb, now) {
    const subjects = rb.subjects ?? [];
    const ofKind = (kind: string): string[] => subjects.filter((s) => s.kind === kind).map((s) => (kind === 'ServiceAccount' ? `${s.namespace ?? ''}:${s.name}` : s.name));
    return [rb.metadata?.name ?? '', `${rb.roleRef?.kind ?? ''}/${rb.roleRef?.name ?? ''}`, age(rb, now), ofKind('User').join(', '), ofKind('Group').join(', '), ofKind('ServiceAccount').join(', ')];
  },
};

const ingressPrinter: Printer<Ingress> = {
  columns: [
    NAME,
    col('Class', 'ingressClassName is the name of an IngressClass cluster resource.'),
    col('Hosts', 'Hosts that incoming requests are matched against before the ingress rule'),
    col('Address', 'Address is a list containing ingress points for the load-balancer'),
    col('Ports', 'Ports of TLS configurations that open'),
    AGE,
  ],
  cells(ing, now) {
    const hosts = (ing.spec?.rules ?? []).map((r) => r.host).filter(Boolean);
    const hostText = hosts.length === 0 ? '*' : hosts.length > 4 ? `${hosts.slice(0, 4).join(',')} + ${hosts.length - 4} more...` : hosts.join(',');
    const ports = (ing.spec?.tls ?? []).length > 0 ? '80, 443' : '80';
    return [ing.metadata?.name ?? '', ing.spec?.ingressClassName ?? NONE, hostText, loadBalancerIngress(ing.status?.loadBalancer).join(','), ports, age(ing, now)];
  },
};

const endpointSlicePrinter: Printer<EndpointSlice> = {
  columns: [NAME, col('AddressType', 'addressType specifies the type of address carried by this EndpointSlice.'), col('Ports', 'ports specifies the list of network ports exposed by each endpoint.'), col('Endpoints', 'endpoints is a list of unique endpoints in this slice.'), AGE],
  cells(slice, now) {
    const ports = (slice.ports ?? []).map((p) => String(p.port ?? '')).join(',');
    const addresses = (slice.endpoints ?? []).flatMap((e) => e.addresses ?? []);
    const shown = addresses.slice(0, 3).join(',');
    const endpoints = addresses.length === 0 ? '<unset>' : addresses.length > 3 ? `${shown} + ${addresses.length - 3} more...` : shown;
    return [slice.metadata?.name ?? '', slice.addressType ?? '', ports || '<unset>', endpoints, age(slice, now)];
  },
};

/** The default of the real server for kinds without a printer; CRDs are printed this way. */
const createdAtPrinter: Printer = rolePrinter;

const DEFAULT_PRINTER: Printer = {
  columns: [NAME, AGE],
  cells: (obj, now) => [obj.metadata?.name ?? '', age(obj, now)],
};

const BUILTIN_PRINTERS: Record<string, Printer> = {
  '/Pod': podPrinter,
  '/Service': servicePrinter,
  '/Endpoints': endpointsPrinter,
  '/Node': nodePrinter,
  '/Namespace': namespacePrinter,
  '/Event': eventPrinter,
  '/ConfigMap': configMapPrinter,
  '/Secret': secretPrinter,
  '/ServiceAccount': serviceAccountPrinter,
  '/PersistentVolumeClaim': pvcPrinter,
  '/PersistentVolume': pvPrinter,
  'apps/Deployment': deploymentPrinter,
  'apps/ReplicaSet': replicaSetPrinter,
  'apps/StatefulSet': statefulSetPrinter,
  'apps/DaemonSet': daemonSetPrinter,
  'apps/ControllerRevision': controllerRevisionPrinter,
  'batch/Job': jobPrinter,
  'coordination.k8s.io/Lease': leasePrinter,
  'rbac.authorization.k8s.io/Role': rolePrinter,
  'rbac.authorization.k8s.io/ClusterRole': rolePrinter,
  'rbac.authorization.k8s.io/RoleBinding': roleBindingPrinter,
  'rbac.authorization.k8s.io/ClusterRoleBinding': roleBindingPrinter,
  'networking.k8s.io/Ingress': ingressPrinter,
  'discovery.k8s.io/EndpointSlice': endpointSlicePrinter,
  'apiextensions.k8s.io/CustomResourceDefinition': createdAtPrinter,
};

// ---------------------------------------------------------------------------------------------
// Custom resources

interface PrinterColumn {
  name: string;
  type: string;
  format?: string;
  description?: string;
  priority?: number;
  jsonPath: string;
}

/** A CRD without printer columns gets Age, as the apiextensions server defaults it. */
const DEFAULT_CR_COLUMNS: PrinterColumn[] = [{ name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' }];

function customResourcePrinter(t: TableResource): Printer {
  const version = (t.crd?.spec?.versions ?? []).find((v) => v.name === t.version);
  const printerColumns: PrinterColumn[] = version?.additionalPrinterColumns ?? t.crd?.spec?.additionalPrinterColumns ?? DEFAULT_CR_COLUMNS;
  return {
    columns: [
      NAME,
      ...printerColumns.map((c) => ({
        name: c.name,
        type: c.type,
        format: c.format ?? '',
        description: c.description || `Custom resource definition column (in JSONPath format): ${c.jsonPath}`,
        priority: c.priority ?? 0,
      })),
    ],
    cells(obj, now) {
      return [obj.metadata?.name ?? '', ...printerColumns.map((c) => printerCell(c.type, evalJsonPath(obj, c.jsonPath), now))];
    },
  };
}

/** A cell of the column's type, or null when the value is missing or of another type. */
function printerCell(type: string, value: unknown, now: Date): Cell {
  if (value === undefined || value === null) return null;
  switch (type) {
    case 'string':
      if (typeof value === 'string') return value;
      return typeof value === 'object' ? JSON.stringify(value) : String(value);
    case 'integer':
      return typeof value === 'number' ? Math.trunc(value) : null;
    case 'number':
      return typeof value === 'number' ? value : null;
    case 'boolean':
      return typeof value === 'boolean' ? value : null;
    case 'date':
      return typeof value === 'string' ? ageSince(value, now) : null;
  }
  return null;
}

/**
 * The simple JSONPath CRDs allow in printer columns: `.a.b`, `.a[0].b`, `.a['x.y']`, with `\.` for a
 * dot inside a key; the surrounding `{}` are optional.
 */
export function evalJsonPath(obj: unknown, path: string): unknown {
  let p = path.trim();
  if (p.startsWith('{') && p.endsWith('}')) p = p.slice(1, -1);
  const steps: Array<string | number> = [];
  const re = /\.((?:\\\.|[^.[\\])+)|\[(\d+)\]|\['([^']*)'\]|\["([^"]*)"\]/gy;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = re.exec(p)) !== null) {
    consumed = re.lastIndex;
    if (m[1] !== undefined) steps.push(m[1].replace(/\\\./g, '.'));
    else if (m[2] !== undefined) steps.push(Number(m[2]));
    else steps.push(m[3] ?? m[4]);
  }
  if (consumed !== p.length) return undefined;
  let cur = obj;
  for (const step of steps) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[step];
  }
  return cur;
}

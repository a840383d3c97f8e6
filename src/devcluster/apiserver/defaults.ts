/**
 * The defaults a real kube-apiserver (v1.32) fills into a built-in object before it stores it:
 * the scheme's defaulting functions (`SetDefaults_*`), the parts of the registry strategies that
 * act like defaults (a Job's generated selector, a Service's cluster IP, a Namespace's finalizer)
 * and the admission plugins every real cluster runs on pods. Clients read these fields back and
 * rely on them (`kubectl rollout` on `strategy`, `kubectl describe` on `qosClass`), and
 * server-side apply diffs against them, so they must be there and have the real values.
 *
 * Everything here mutates `obj` in place and is idempotent: applying the defaults twice, or to an
 * object read back from storage, changes nothing.
 */
import { qosClass } from '../../kube/index.ts';

export interface DefaultsContext {
  /** A free address from the service CIDR, for a Service that asks for none. */
  allocateClusterIP(): string;
  /** A free port from the node-port range, for NodePort and LoadBalancer Services; without it none is set. */
  allocateNodePort?(): number;
  /**
   * On update, the stored object. A Service whose update omits its cluster IPs or node ports keeps
   * the allocated ones, as the real service registry does (kubectl apply never sends them).
   */
  previous?: Obj;
}

type Obj = Record<string, any>;

export function applyDefaults(obj: Obj, ctx: DefaultsContext): void {
  const group = groupOf(obj.apiVersion);
  switch (`${group}/${obj.kind}`) {
    case '/Pod':
      return defaultPod(obj);
    case '/PodTemplate':
      return defaultPodTemplate((obj.template ??= {}));
    case '/ReplicationController':
      obj.spec ??= {};
      obj.spec.replicas ??= 1;
      if (obj.spec.template) defaultPodTemplate(obj.spec.template);
      return;
    case 'apps/Deployment':
      return defaultDeployment(obj);
    case 'apps/ReplicaSet':
      obj.spec ??= {};
      obj.spec.replicas ??= 1;
      return defaultPodTemplate((obj.spec.template ??= {}));
    case 'apps/StatefulSet':
      return defaultStatefulSet(obj);
    case 'apps/DaemonSet':
      return defaultDaemonSet(obj);
    case 'batch/Job':
      return defaultJob(obj);
    case 'batch/CronJob':
      return defaultCronJob(obj);
    case '/Service':
      return defaultService(obj, ctx);
    case '/Namespace':
      return defaultNamespace(obj);
    case '/Secret':
      obj.type ??= 'Opaque';
      // As the real server's decoding does: stringData is written into data and never stored.
      if (obj.stringData && typeof obj.stringData === 'object') {
        obj.data ??= {};
        for (const [k, v] of Object.entries(obj.stringData)) obj.data[k] = Buffer.from(String(v)).toString('base64');
      }
      delete obj.stringData;
      return;
    case '/PersistentVolumeClaim':
      return defaultPersistentVolumeClaim(obj);
    case '/PersistentVolume':
      return defaultPersistentVolume(obj);
    case '/Node':
      return defaultNode(obj);
    case '/Endpoints':
      for (const subset of obj.subsets ?? []) for (const p of subset.ports ?? []) p.protocol ??= 'TCP';
      return;
    case 'discovery.k8s.io/EndpointSlice':
      for (const p of obj.ports ?? []) p.protocol ??= 'TCP';
      return;
    case 'rbac.authorization.k8s.io/RoleBinding':
    case 'rbac.authorization.k8s.io/ClusterRoleBinding':
      return defaultSubjects(obj);
    default:
      // ConfigMap, ServiceAccount, Event, Lease, Role, ClusterRole, Ingress, … have no defaults.
      return;
  }
}

function groupOf(apiVersion: unknown): string {
  if (typeof apiVersion !== 'string') return '';
  const i = apiVersion.indexOf('/');
  return i < 0 ? '' : apiVersion.slice(0, i);
}

// ---------------------------------------------------------------------------------------------
// Pods and pod templates

/**
 * A pod gets the pod-spec defaults that templates get, plus what only pods get:
 * - `SetDefaults_Pod`: requests default to limits, `enableServiceLinks`.
 * - admission plugins a real cluster runs on pods only: ServiceAccount (`serviceAccountName:
 *   default`), DefaultTolerationSeconds (not-ready/unreachable tolerations for 300 s) and Priority
 *   (`priority: 0`, `preemptionPolicy`).
 * - the pod strategy's create-time status: `phase: Pending` and the QoS class.
 *
 * The ServiceAccount plugin's projected token volume (`kube-api-access-xxxxx`) is added after
 * defaulting, by admission.ts.
 */
function defaultPod(pod: Obj): void {
  const spec = (pod.spec ??= {});
  for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) requestsFromLimits(c);
  spec.enableServiceLinks ??= true;
  defaultPodSpec(spec);

  // ServiceAccount admission.
  if (!spec.serviceAccountName) spec.serviceAccountName = 'default';
  spec.serviceAccount = spec.serviceAccountName;

  // DefaultTolerationSeconds admission: only when the pod does not already tolerate the taint.
  for (const key of ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']) {
    const tolerations: Obj[] = (spec.tolerations ??= []);
    const tolerated = tolerations.some(
      (t) => (t.key === key || (t.key === undefined && t.operator === 'Exists')) && (!t.effect || t.effect === 'NoExecute'),
    );
    if (!tolerated) tolerations.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 });
  }

  // Priority admission, with the two built-in classes; any other class resolves to 0 here.
  spec.priority ??= SYSTEM_PRIORITIES[spec.priorityClassName] ?? 0;
  spec.preemptionPolicy ??= 'PreemptLowerPriority';

  const status = (pod.status ??= {});
  if (!status.phase) {
    status.phase = 'Pending';
    status.qosClass = qosClass(spec);
  }
}

const SYSTEM_PRIORITIES: Record<string, number> = {
  'system-cluster-critical': 2000000000,
  'system-node-critical': 2000001000,
};

/** The pod-template defaults: the same pod-spec defaults, and the `creationTimestamp: null` a real server serializes. */
function defaultPodTemplate(template: Obj): void {
  const metadata = (template.metadata ??= {});
  // ObjectMeta's creationTimestamp is not omitempty in Go, so a template reads back with a null.
  if (!('creationTimestamp' in metadata)) metadata.creationTimestamp = null;
  defaultPodSpec((template.spec ??= {}));
}

/** `SetDefaults_PodSpec` and what the generated defaulters apply to the types inside it. */
function defaultPodSpec(spec: Obj): void {
  spec.restartPolicy ??= 'Always';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.securityContext ??= {};
  spec.schedulerName ??= 'default-scheduler';
  // The v1 conversion mirrors serviceAccountName into the deprecated serviceAccount field.
  if (!spec.serviceAccountName && spec.serviceAccount) spec.serviceAccountName = spec.serviceAccount;
  if (spec.serviceAccountName) spec.serviceAccount = spec.serviceAccountName;
  for (const c of spec.initContainers ?? []) defaultContainer(c, spec.hostNetwork === true);
  for (const c of spec.containers ?? []) defaultContainer(c, spec.hostNetwork === true);
  for (const v of spec.volumes ?? []) defaultVolume(v);
}

function defaultContainer(c: Obj, hostNetwork: boolean): void {
  // ResourceRequirements is a struct, not a pointer, in Go: it always serializes, empty or not.
  c.resources ??= {};
  c.terminationMessagePath ??= '/dev/termination-log';
  c.terminationMessagePolicy ??= 'File';
  c.imagePullPolicy ??= imagePullPolicyFor(c.image);
  for (const p of c.ports ?? []) {
    p.protocol ??= 'TCP';
    if (hostNetwork) p.hostPort ??= p.containerPort;
  }
  for (const e of c.env ?? []) if (e.valueFrom?.fieldRef) e.valueFrom.fieldRef.apiVersion ??= 'v1';
  for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe]) if (probe) defaultProbe(probe);
}

/** `Always` for `:latest` or an untagged image (which means latest), else `IfNotPresent`. */
export function imagePullPolicyFor(image: unknown): string {
  if (typeof image !== 'string' || image === '') return 'IfNotPresent';
  if (image.includes('@')) return 'IfNotPresent'; // pinned by digest
  const lastSegment = image.slice(image.lastIndexOf('/') + 1);
  const colon = lastSegment.lastIndexOf(':');
  const tag = colon < 0 ? 'latest' : lastSegment.slice(colon + 1);
  return tag === 'latest' ? 'Always' : 'IfNotPresent';
}

function defaultProbe(probe: Obj): void {
  probe.timeoutSeconds ??= 1;
  probe.periodSeconds ??= 10;
  probe.successThreshold ??= 1;
  probe.failureThreshold ??= 3;
  if (probe.httpGet) {
    probe.httpGet.path ??= '/';
    probe.httpGet.scheme ??= 'HTTP';
  }
}

/** Mode 0644, as the real server writes it (decimal 420). */
const DEFAULT_FILE_MODE = 420;

function defaultVolume(v: Obj): void {
  const sources = Object.keys(v).filter((k) => k !== 'name');
  if (sources.length === 0) v.emptyDir = {};
  if (v.secret) v.secret.defaultMode ??= DEFAULT_FILE_MODE;
  if (v.configMap) v.configMap.defaultMode ??= DEFAULT_FILE_MODE;
  if (v.downwardAPI) v.downwardAPI.defaultMode ??= DEFAULT_FILE_MODE;
  if (v.projected) v.projected.defaultMode ??= DEFAULT_FILE_MODE;
  if (v.hostPath) v.hostPath.type ??= '';
  for (const item of v.downwardAPI?.items ?? []) if (item.fieldRef) item.fieldRef.apiVersion ??= 'v1';
}

/** `SetDefaults_Pod`: a resource with a limit and no request is requested at its limit (pods only, not templates). */
function requestsFromLimits(c: Obj): void {
  const limits = c.resources?.limits;
  if (!limits) return;
  const requests = (c.resources.requests ??= {});
  for (const [name, value] of Object.entries(limits)) if (!(name in requests)) requests[name] = value;
}

// ---------------------------------------------------------------------------------------------
// Workloads

function defaultDeployment(d: Obj): void {
  const spec = (d.spec ??= {});
  spec.replicas ??= 1;
  const strategy = (spec.strategy ??= {});
  strategy.type ??= 'RollingUpdate';
  if (strategy.type === 'RollingUpdate') {
    const rollingUpdate = (strategy.rollingUpdate ??= {});
    rollingUpdate.maxUnavailable ??= '25%';
    rollingUpdate.maxSurge ??= '25%';
  }
  spec.revisionHistoryLimit ??= 10;
  spec.progressDeadlineSeconds ??= 600;
  defaultPodTemplate((spec.template ??= {}));
}

function defaultStatefulSet(s: Obj): void {
  const spec = (s.spec ??= {});
  spec.replicas ??= 1;
  spec.podManagementPolicy ??= 'OrderedReady';
  const strategy = (spec.updateStrategy ??= {});
  strategy.type ??= 'RollingUpdate';
  if (strategy.type === 'RollingUpdate') (strategy.rollingUpdate ??= {}).partition ??= 0;
  spec.revisionHistoryLimit ??= 10;
  const retention = (spec.persistentVolumeClaimRetentionPolicy ??= {});
  retention.whenDeleted ??= 'Retain';
  retention.whenScaled ??= 'Retain';
  defaultPodTemplate((spec.template ??= {}));
  for (const claim of spec.volumeClaimTemplates ?? []) {
    // Embedded claims are full objects: they read back with their type, a null creationTimestamp
    // and the claim defaults, as statefulset.json shows.
    claim.apiVersion ??= 'v1';
    claim.kind ??= 'PersistentVolumeClaim';
    const metadata = (claim.metadata ??= {});
    if (!('creationTimestamp' in metadata)) metadata.creationTimestamp = null;
    defaultPersistentVolumeClaim(claim);
  }
}

function defaultDaemonSet(ds: Obj): void {
  const spec = (ds.spec ??= {});
  const strategy = (spec.updateStrategy ??= {});
  strategy.type ??= 'RollingUpdate';
  if (strategy.type === 'RollingUpdate') {
    const rollingUpdate = (strategy.rollingUpdate ??= {});
    rollingUpdate.maxUnavailable ??= 1;
    rollingUpdate.maxSurge ??= 0;
  }
  spec.revisionHistoryLimit ??= 10;
  defaultPodTemplate((spec.template ??= {}));
}

const JOB_NAME_LABELS = ['job-name', 'batch.kubernetes.io/job-name'];
const CONTROLLER_UID_LABELS = ['controller-uid', 'batch.kubernetes.io/controller-uid'];

/**
 * `SetDefaults_Job` and the job strategy's generated selector. Unless `manualSelector` is true,
 * the template gets `job-name` and `controller-uid` labels (legacy and `batch.kubernetes.io/`
 * forms) and the selector matches `batch.kubernetes.io/controller-uid`, so `metadata.uid` must
 * be set before the defaults are applied.
 */
function defaultJob(job: Obj): void {
  const spec = (job.spec ??= {});
  if (spec.completions === undefined && spec.parallelism === undefined) spec.completions = 1;
  spec.parallelism ??= 1;
  spec.backoffLimit ??= spec.backoffLimitPerIndex !== undefined ? 2147483647 : 6;
  spec.completionMode ??= 'NonIndexed';
  spec.suspend ??= false;
  spec.podReplacementPolicy ??= spec.podFailurePolicy ? 'Failed' : 'TerminatingOrFailed';
  for (const rule of spec.podFailurePolicy?.rules ?? []) for (const p of rule.onPodConditions ?? []) p.status ??= 'True';

  const template = (spec.template ??= {});
  const metadata = (job.metadata ??= {});
  // The Job takes its template's labels when it has none: first the user's, at create ...
  copyTemplateLabels(metadata, template);
  if (spec.manualSelector !== true) generateJobSelector(job);
  // ... and, when the user's template had none, the generated ones: a real server gets there by
  // defaulting the stored object again when it reads it back.
  copyTemplateLabels(metadata, template);
  defaultPodTemplate(template);
}

function copyTemplateLabels(metadata: Obj, template: Obj): void {
  const labels = template.metadata?.labels;
  if (labels && Object.keys(labels).length > 0 && Object.keys(metadata.labels ?? {}).length === 0) {
    metadata.labels = { ...labels };
  }
}

function generateJobSelector(job: Obj): void {
  const name: string = job.metadata?.name ?? '';
  const uid: string = job.metadata?.uid ?? '';
  const templateMeta = (job.spec.template.metadata ??= {});
  const labels = (templateMeta.labels ??= {});
  // A label the user set is kept: a conflicting value is then refused by validation.
  for (const key of JOB_NAME_LABELS) labels[key] ??= name;
  for (const key of CONTROLLER_UID_LABELS) labels[key] ??= uid;
  const selector = (job.spec.selector ??= {});
  (selector.matchLabels ??= {})['batch.kubernetes.io/controller-uid'] ??= uid;
}

function defaultCronJob(cj: Obj): void {
  const spec = (cj.spec ??= {});
  spec.concurrencyPolicy ??= 'Allow';
  spec.suspend ??= false;
  spec.successfulJobsHistoryLimit ??= 3;
  spec.failedJobsHistoryLimit ??= 1;
  // The job template is not a Job: no generated selector, only the pod-template defaults.
  const jobSpec = ((spec.jobTemplate ??= {}).spec ??= {});
  if (jobSpec.template) defaultPodTemplate(jobSpec.template);
}

// ---------------------------------------------------------------------------------------------
// Services

/**
 * `SetDefaults_Service` plus the service registry's IP allocation. The devcluster is a
 * single-stack IPv4 cluster, so families are always `[IPv4]`.
 */
function defaultService(svc: Obj, ctx: DefaultsContext): void {
  const spec = (svc.spec ??= {});
  if (ctx.previous) keepAllocations(spec, ctx.previous.spec ?? {});
  spec.type ??= 'ClusterIP';
  spec.sessionAffinity ??= 'None';
  if (spec.sessionAffinity === 'ClientIP') ((spec.sessionAffinityConfig ??= {}).clientIP ??= {}).timeoutSeconds ??= 10800;
  const needsNodePorts = spec.type === 'NodePort' || spec.type === 'LoadBalancer';
  for (const p of spec.ports ?? []) {
    p.protocol ??= 'TCP';
    // targetPort 0 or "" means "the same as port".
    if (p.targetPort === undefined || p.targetPort === 0 || p.targetPort === '') p.targetPort = p.port;
    if (needsNodePorts && p.nodePort === undefined && ctx.allocateNodePort) p.nodePort = ctx.allocateNodePort();
  }
  if (needsNodePorts) spec.externalTrafficPolicy ??= 'Cluster';
  if (spec.type === 'LoadBalancer') spec.allocateLoadBalancerNodePorts ??= true;
  if (spec.type === 'ExternalName') return;

  spec.internalTrafficPolicy ??= 'Cluster';
  if (!spec.clusterIP) spec.clusterIP = spec.clusterIPs?.[0] || ctx.allocateClusterIP();
  spec.clusterIPs ??= [spec.clusterIP];
  // A headless Service without a selector is given both families where the cluster has them;
  // here only IPv4 exists, but the policy reads back as the real server writes it.
  const headlessWithoutSelector = spec.clusterIP === 'None' && !spec.selector;
  spec.ipFamilyPolicy ??= headlessWithoutSelector ? 'RequireDualStack' : 'SingleStack';
  spec.ipFamilies ??= ['IPv4'];
  if (!svc.status || Object.keys(svc.status).length === 0) svc.status = { loadBalancer: {} };
  // A load balancer address given by IP is a virtual IP unless said otherwise.
  for (const ingress of svc.status.loadBalancer?.ingress ?? []) if (ingress.ip) ingress.ipMode ??= 'VIP';
}

function keepAllocations(spec: Obj, oldSpec: Obj): void {
  const type = spec.type ?? 'ClusterIP';
  if (type !== 'ExternalName' && (oldSpec.type ?? 'ClusterIP') !== 'ExternalName' && !spec.clusterIP && !spec.clusterIPs) {
    for (const key of ['clusterIP', 'clusterIPs', 'ipFamilies', 'ipFamilyPolicy']) {
      if (oldSpec[key] !== undefined) spec[key] = structuredClone(oldSpec[key]);
    }
  }
  if (type === 'NodePort' || type === 'LoadBalancer') {
    for (const p of spec.ports ?? []) {
      if (p.nodePort !== undefined) continue;
      const same = (oldSpec.ports ?? []).find((o: Obj) => o.port === p.port && (o.protocol ?? 'TCP') === (p.protocol ?? 'TCP'));
      if (same?.nodePort !== undefined) p.nodePort = same.nodePort;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Everything else

/**
 * The namespace strategy adds the `kubernetes` finalizer (the namespace controller removes it
 * through /finalize once the contents are gone), `SetDefaults_Namespace` the name label.
 * On update the caller keeps the stored `spec.finalizers`: only /finalize changes them.
 */
function defaultNamespace(ns: Obj): void {
  const metadata = (ns.metadata ??= {});
  if (metadata.name) (metadata.labels ??= {})['kubernetes.io/metadata.name'] = metadata.name;
  const finalizers: string[] = ((ns.spec ??= {}).finalizers ??= []);
  if (!finalizers.includes('kubernetes')) finalizers.push('kubernetes');
  (ns.status ??= {}).phase ??= 'Active';
}

function defaultPersistentVolumeClaim(pvc: Obj): void {
  (pvc.spec ??= {}).volumeMode ??= 'Filesystem';
  (pvc.status ??= {}).phase ??= 'Pending';
}

function defaultPersistentVolume(pv: Obj): void {
  const spec = (pv.spec ??= {});
  spec.persistentVolumeReclaimPolicy ??= 'Retain';
  spec.volumeMode ??= 'Filesystem';
  (pv.status ??= {}).phase ??= 'Pending';
}

/** `SetDefaults_NodeStatus`: allocatable is the capacity unless the kubelet says otherwise. */
function defaultNode(node: Obj): void {
  const status = node.status;
  if (status?.capacity && !status.allocatable) status.allocatable = { ...status.capacity };
}

/** `SetDefaults_Subject`: users and groups are RBAC subjects, service accounts core ones. */
function defaultSubjects(binding: Obj): void {
  for (const s of binding.subjects ?? []) {
    if (s.apiGroup !== undefined) continue;
    s.apiGroup = s.kind === 'ServiceAccount' ? '' : 'rbac.authorization.k8s.io';
  }
}

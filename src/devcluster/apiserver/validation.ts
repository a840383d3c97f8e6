/**
 * The validation a real kube-apiserver (v1.32) runs on built-in objects before it stores them,
 * with causes worded as it words them (the `validation` packages of `k8s.io/kubernetes/pkg/apis`), so a 422 from
 * the devcluster reads like one from a real cluster. Objects arrive defaulted (defaults.ts): like
 * the real server, validation sees `restartPolicy: Always` on a Job's template whose user left it
 * out, and refuses it.
 *
 * Where the real message prints a Go value (`map[string]string{…}`, `v1.LabelSelector{…}`) the
 * simple ones are rendered the same way; whole pod templates are printed as JSON instead.
 */
import type { StatusCause } from './errors.ts';
import { cause } from './errors.ts';
import type { ResourceType } from './resources.ts';
import {
  isConfigMapKey,
  isDNS1035Label,
  isDNS1123Label,
  isDNS1123Subdomain,
  isQualifiedName,
  isValidLabelValue,
  maxLenError,
} from '../../kube/index.ts';
import { isQuantity, parseQuantity, QuantityError } from '../../kube/index.ts';
import { labelSelectorFromObject } from '../../kube/index.ts';
import { clone, sameTree } from './patch/json-value.ts';

type Obj = Record<string, any>;

/** Causes for `obj` (a create) or for the change from `old` to `obj` (an update); empty when valid. */
export function validateObject(t: ResourceType, obj: Obj, old?: Obj): StatusCause[] {
  const errs: StatusCause[] = [];
  errs.push(...validateMetadata(t, obj.metadata ?? {}, old?.metadata));
  const validate = KIND_VALIDATORS[`${t.group}/${t.kind}`];
  if (validate) errs.push(...validate(obj, old));
  return errs;
}

type KindValidator = (obj: Obj, old?: Obj) => StatusCause[];

const KIND_VALIDATORS: Record<string, KindValidator> = {
  '/Pod': validatePod,
  'apps/Deployment': (o, old) => validateWorkload(o, old, 'deployment'),
  'apps/ReplicaSet': (o, old) => validateWorkload(o, old, 'replicaset'),
  'apps/DaemonSet': (o, old) => validateWorkload(o, old, 'daemonset'),
  'apps/StatefulSet': validateStatefulSet,
  'batch/Job': validateJob,
  '/Service': validateService,
  '/ConfigMap': validateConfigMap,
  '/Secret': validateSecret,
  'rbac.authorization.k8s.io/RoleBinding': (o, old) => validateRoleBinding(o, old, ['Role', 'ClusterRole']),
  'rbac.authorization.k8s.io/ClusterRoleBinding': (o, old) => validateRoleBinding(o, old, ['ClusterRole']),
};

// ---------------------------------------------------------------------------------------------
// Metadata

/** How each kind's name is checked; anything not listed is a DNS-1123 subdomain. */
const NAME_RULES: Record<string, (name: string) => string[]> = {
  '/Namespace': isDNS1123Label,
  '/Service': isDNS1035Label,
  'rbac.authorization.k8s.io/Role': isPathSegmentName,
  'rbac.authorization.k8s.io/RoleBinding': isPathSegmentName,
  'rbac.authorization.k8s.io/ClusterRole': isPathSegmentName,
  'rbac.authorization.k8s.io/ClusterRoleBinding': isPathSegmentName,
};

/** RBAC objects may be named like `system:controller:foo`: only path-breaking names are refused. */
function isPathSegmentName(name: string): string[] {
  if (name === '.' || name === '..') return [`may not be '${name}'`];
  const errs: string[] = [];
  for (const illegal of ['/', '%']) if (name.includes(illegal)) errs.push(`may not contain '${illegal}'`);
  return errs;
}

/** Annotations may hold at most 256 KiB, keys and values together. */
const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

function validateMetadata(t: ResourceType, meta: Obj, oldMeta?: Obj): StatusCause[] {
  const errs: StatusCause[] = [];
  const name: unknown = meta.name;
  if (!name) {
    errs.push(cause.required('metadata.name', 'name or generateName is required'));
  } else if (!oldMeta) {
    // A real server checks the name on create only: names valid under older rules stay updatable.
    const rule = NAME_RULES[`${t.group}/${t.kind}`] ?? isDNS1123Subdomain;
    for (const msg of rule(String(name))) errs.push(cause.invalid('metadata.name', name, msg));
  }
  if (t.namespaced && !meta.namespace) errs.push(cause.required('metadata.namespace'));
  if (!t.namespaced && meta.namespace) errs.push(cause.forbidden('metadata.namespace', 'not allowed on this type'));
  errs.push(...validateLabels(meta.labels, 'metadata.labels'));
  errs.push(...validateAnnotations(meta.annotations, 'metadata.annotations'));
  if (oldMeta) {
    if (oldMeta.name !== meta.name) errs.push(cause.immutable('metadata.name', meta.name));
    if ((oldMeta.namespace ?? '') !== (meta.namespace ?? '')) errs.push(cause.immutable('metadata.namespace', meta.namespace ?? ''));
  }
  return errs;
}

export function validateLabels(labels: unknown, path: string): StatusCause[] {
  const errs: StatusCause[] = [];
  for (const [key, value] of Object.entries((labels as Obj) ?? {})) {
    for (const msg of isQualifiedName(key)) errs.push(cause.invalid(path, key, msg));
    for (const msg of isValidLabelValue(String(value))) errs.push(cause.invalid(path, value, msg));
  }
  return errs;
}

function validateAnnotations(annotations: unknown, path: string): StatusCause[] {
  const errs: StatusCause[] = [];
  let total = 0;
  for (const [key, value] of Object.entries((annotations as Obj) ?? {})) {
    // Keys are checked lower-cased: annotation keys may carry capitals in their prefix.
    for (const msg of isQualifiedName(key.toLowerCase())) errs.push(cause.invalid(path, key, msg));
    total += Buffer.byteLength(key) + Buffer.byteLength(String(value));
  }
  if (total > TOTAL_ANNOTATION_SIZE_LIMIT) errs.push(cause.tooLong(path, TOTAL_ANNOTATION_SIZE_LIMIT));
  return errs;
}

// ---------------------------------------------------------------------------------------------
// Pods and pod templates

const RESTART_POLICIES = ['Always', 'OnFailure', 'Never'];
const DNS_POLICIES = ['ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None'];
const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'];
const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];

function validatePod(pod: Obj, old?: Obj): StatusCause[] {
  const errs = validatePodSpec(pod.spec ?? {}, 'spec');
  if (old) errs.push(...validatePodSpecUpdate(pod.spec ?? {}, old.spec ?? {}));
  return errs;
}

function validatePodTemplate(template: Obj | undefined, path: string): StatusCause[] {
  if (!template) return [cause.required(path)];
  const meta = template.metadata ?? {};
  return [
    ...validateLabels(meta.labels, `${path}.labels`),
    ...validateAnnotations(meta.annotations, `${path}.annotations`),
    ...validatePodSpec(template.spec ?? {}, `${path}.spec`),
  ];
}

export function validatePodSpec(spec: Obj, path: string): StatusCause[] {
  const errs: StatusCause[] = [];
  const containers: Obj[] = spec.containers ?? [];
  const initContainers: Obj[] = spec.initContainers ?? [];
  // Init and regular containers share one namespace of names.
  const names = new Set<string>();
  errs.push(...validateContainers(initContainers, `${path}.initContainers`, names));
  if (containers.length === 0) errs.push(cause.required(`${path}.containers`));
  else errs.push(...validateContainers(containers, `${path}.containers`, names));
  errs.push(...validateEnum(spec.restartPolicy, `${path}.restartPolicy`, RESTART_POLICIES));
  errs.push(...validateEnum(spec.dnsPolicy, `${path}.dnsPolicy`, DNS_POLICIES));
  if (typeof spec.activeDeadlineSeconds === 'number' && spec.activeDeadlineSeconds <= 0) {
    errs.push(cause.invalid(`${path}.activeDeadlineSeconds`, spec.activeDeadlineSeconds, 'must be between 1 and 2147483647, inclusive'));
  }
  return errs;
}

function validateEnum(value: unknown, path: string, supported: string[]): StatusCause[] {
  if (value === undefined || value === '') return [cause.required(path)];
  return supported.includes(value as string) ? [] : [cause.notSupported(path, value, supported)];
}

function validateContainers(containers: Obj[], path: string, names: Set<string>): StatusCause[] {
  const errs: StatusCause[] = [];
  containers.forEach((c, i) => {
    const at = `${path}[${i}]`;
    if (!c.name) errs.push(cause.required(`${at}.name`));
    else {
      for (const msg of isDNS1123Label(c.name)) errs.push(cause.invalid(`${at}.name`, c.name, msg));
      if (names.has(c.name)) errs.push(cause.duplicate(`${at}.name`, c.name));
      names.add(c.name);
    }
    if (!c.image) errs.push(cause.required(`${at}.image`));
    errs.push(...validateEnum(c.imagePullPolicy, `${at}.imagePullPolicy`, PULL_POLICIES));
    errs.push(...validateContainerPorts(c.ports ?? [], `${at}.ports`));
    errs.push(...validateResources(c.resources ?? {}, `${at}.resources`));
  });
  return errs;
}

function validateContainerPorts(ports: Obj[], path: string): StatusCause[] {
  const errs: StatusCause[] = [];
  const names = new Set<string>();
  ports.forEach((p, i) => {
    const at = `${path}[${i}]`;
    if (!p.containerPort) errs.push(cause.required(`${at}.containerPort`));
    else for (const msg of portNumberErrors(p.containerPort)) errs.push(cause.invalid(`${at}.containerPort`, p.containerPort, msg));
    if (p.hostPort) for (const msg of portNumberErrors(p.hostPort)) errs.push(cause.invalid(`${at}.hostPort`, p.hostPort, msg));
    if (p.name) {
      const msgs = portNameErrors(p.name);
      for (const msg of msgs) errs.push(cause.invalid(`${at}.name`, p.name, msg));
      if (msgs.length === 0 && names.has(p.name)) errs.push(cause.duplicate(`${at}.name`, p.name));
      names.add(p.name);
    }
    errs.push(...validateEnum(p.protocol, `${at}.protocol`, PROTOCOLS));
  });
  return errs;
}

function portNumberErrors(port: unknown): string[] {
  return Number.isInteger(port) && (port as number) >= 1 && (port as number) <= 65535 ? [] : ['must be between 1 and 65535, inclusive'];
}

/** apimachinery's IsValidPortName: an IANA_SVC_NAME. */
function portNameErrors(name: string): string[] {
  const errs: string[] = [];
  if (name.length > 15) errs.push(maxLenError(15));
  if (!/^[-a-z0-9]+$/.test(name)) errs.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  if (!/[a-z]/.test(name)) errs.push('must contain at least one letter (a-z)');
  if (name.includes('--')) errs.push('must not contain consecutive hyphens (-)');
  if (name.startsWith('-') || name.endsWith('-')) errs.push('must not begin or end with a hyphen (-)');
  return errs;
}

function validateResources(resources: Obj, path: string): StatusCause[] {
  const errs: StatusCause[] = [];
  const limits: Obj = resources.limits ?? {};
  const requests: Obj = resources.requests ?? {};
  for (const [kind, values] of [['limits', limits], ['requests', requests]] as const) {
    for (const [name, value] of Object.entries(values)) {
      const n = quantityValue(String(value));
      if (n !== undefined && n < 0) errs.push(cause.invalid(`${path}.${kind}[${name}]`, value, 'must be greater than or equal to 0'));
    }
  }
  for (const [name, request] of Object.entries(requests)) {
    if (!(name in limits)) continue;
    const r = quantityValue(String(request));
    const l = quantityValue(String(limits[name]));
    if (r !== undefined && l !== undefined && r > l) {
      errs.push(cause.invalid(`${path}.requests[${name}]`, String(request), `must be less than or equal to ${name} limit of ${limits[name]}`));
    }
  }
  return errs;
}

const POD_UPDATE_FORBIDDEN =
  'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,' +
  '`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),' +
  '`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)';

/**
 * A pod's spec is fixed once created, except its images, a shorter activeDeadlineSeconds,
 * tolerations added after the existing ones, and scheduling gates being removed.
 * `spec.nodeName` is set only by `pods/binding`: an update that sets it is refused, as a real
 * server refuses it.
 */
function validatePodSpecUpdate(spec: Obj, oldSpec: Obj): StatusCause[] {
  const errs: StatusCause[] = [];
  // Most pod updates (labels, annotations, status) leave the spec as it was.
  if (sameTree(spec, oldSpec)) return errs;
  const masked = clone(spec);
  for (const key of ['containers', 'initContainers'] as const) {
    (masked[key] ?? []).forEach((c: Obj, i: number) => {
      const oldContainer = oldSpec[key]?.[i];
      if (oldContainer) c.image = oldContainer.image;
    });
  }
  const newDeadline = spec.activeDeadlineSeconds;
  const oldDeadline = oldSpec.activeDeadlineSeconds;
  if (oldDeadline !== undefined && (newDeadline === undefined || newDeadline > oldDeadline)) {
    errs.push(cause.invalid('spec.activeDeadlineSeconds', newDeadline ?? null, 'must be less than or equal to previous value'));
  }
  masked.activeDeadlineSeconds = oldDeadline;
  const oldTolerations: Obj[] = oldSpec.tolerations ?? [];
  const newTolerations: Obj[] = spec.tolerations ?? [];
  if (oldTolerations.every((t, i) => same(t, newTolerations[i]))) masked.tolerations = oldSpec.tolerations;
  const oldGates: Obj[] = oldSpec.schedulingGates ?? [];
  const newGates: Obj[] = spec.schedulingGates ?? [];
  if (newGates.every((g) => oldGates.some((o) => o.name === g.name))) masked.schedulingGates = oldSpec.schedulingGates;
  if (oldSpec.terminationGracePeriodSeconds < 0 && spec.terminationGracePeriodSeconds === 1) {
    masked.terminationGracePeriodSeconds = oldSpec.terminationGracePeriodSeconds;
  }
  if (!same(stripUndefined(masked), stripUndefined(oldSpec))) errs.push(cause.forbidden('spec', POD_UPDATE_FORBIDDEN));
  return errs;
}

// ---------------------------------------------------------------------------------------------
// Workloads

/** Deployments, ReplicaSets and DaemonSets: their pods are long-running and selected by `spec.selector`. */
function validateWorkload(obj: Obj, old: Obj | undefined, noun: string): StatusCause[] {
  const spec = obj.spec ?? {};
  const errs: StatusCause[] = [];
  if (noun !== 'daemonset') errs.push(...nonNegative(spec.replicas, 'spec.replicas'));
  errs.push(...validateSelectorAndTemplate(spec, noun));
  errs.push(...validatePodTemplate(spec.template, 'spec.template'));
  errs.push(...alwaysRestarts(spec.template));
  if (noun === 'deployment') errs.push(...validateDeploymentStrategy(spec.strategy ?? {}));
  if (old) errs.push(...immutableSelector(spec, old.spec ?? {}));
  return errs;
}

function nonNegative(value: unknown, path: string): StatusCause[] {
  return typeof value === 'number' && value < 0 ? [cause.invalid(path, value, 'must be greater than or equal to 0')] : [];
}

function validateSelectorAndTemplate(spec: Obj, noun: string): StatusCause[] {
  const selector = spec.selector;
  if (!selector) return [cause.required('spec.selector')];
  const errs: StatusCause[] = [];
  if (Object.keys(selector.matchLabels ?? {}).length + (selector.matchExpressions ?? []).length === 0) {
    errs.push(invalidGo('spec.selector', goLabelSelector(selector), `empty selector is invalid for ${noun}`));
  } else {
    errs.push(...validateLabels(selector.matchLabels, 'spec.selector.matchLabels'));
    const labels = spec.template?.metadata?.labels ?? {};
    if (!selectorMatches(selector, labels)) {
      errs.push(invalidGo('spec.template.metadata.labels', goStringMap(labels), '`selector` does not match template `labels`'));
    }
  }
  return errs;
}

function alwaysRestarts(template: Obj | undefined): StatusCause[] {
  const policy = template?.spec?.restartPolicy;
  if (policy === undefined || policy === 'Always') return [];
  return [cause.notSupported('spec.template.spec.restartPolicy', policy, ['Always'])];
}

function validateDeploymentStrategy(strategy: Obj): StatusCause[] {
  if (strategy.type === 'Recreate') {
    return strategy.rollingUpdate ? [cause.forbidden('spec.strategy.rollingUpdate', "may not be specified when strategy `type` is 'Recreate'")] : [];
  }
  if (strategy.type === 'RollingUpdate') return [];
  return [cause.notSupported('spec.strategy.type', strategy.type ?? '', ['Recreate', 'RollingUpdate'])];
}

function immutableSelector(spec: Obj, oldSpec: Obj): StatusCause[] {
  if (same(spec.selector, oldSpec.selector)) return [];
  return [invalidGo('spec.selector', goLabelSelector(spec.selector ?? {}), 'field is immutable')];
}

function selectorMatches(selector: Obj, labels: Record<string, string>): boolean {
  try {
    return labelSelectorFromObject(selector).matches(labels);
  } catch {
    return false;
  }
}

const STATEFULSET_SPEC_FORBIDDEN =
  "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', " +
  "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden";

/** `serviceName` may be empty: v1.32 no longer requires it (ValidateStatefulSetSpec has no check). */
function validateStatefulSet(sts: Obj, old?: Obj): StatusCause[] {
  const spec = sts.spec ?? {};
  const errs: StatusCause[] = [];
  const policy = spec.podManagementPolicy;
  if (!policy) errs.push(cause.required('spec.podManagementPolicy'));
  else if (policy !== 'OrderedReady' && policy !== 'Parallel') {
    errs.push(cause.invalid('spec.podManagementPolicy', policy, "must be 'OrderedReady' or 'Parallel'"));
  }
  const strategyType = spec.updateStrategy?.type;
  if (!strategyType) errs.push(cause.required('spec.updateStrategy'));
  else if (strategyType !== 'RollingUpdate' && strategyType !== 'OnDelete') {
    errs.push(cause.invalid('spec.updateStrategy', spec.updateStrategy, "must be 'RollingUpdate' or 'OnDelete'"));
  }
  errs.push(...nonNegative(spec.replicas, 'spec.replicas'));
  errs.push(...validateSelectorAndTemplate(spec, 'statefulset'));
  errs.push(...validatePodTemplate(spec.template, 'spec.template'));
  errs.push(...alwaysRestarts(spec.template));
  if (old) {
    const masked = { ...spec };
    const oldSpec = old.spec ?? {};
    for (const key of ['replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy', 'minReadySeconds']) {
      masked[key] = oldSpec[key];
    }
    if (!same(stripUndefined(masked), stripUndefined(oldSpec))) errs.push(cause.forbidden('spec', STATEFULSET_SPEC_FORBIDDEN));
  }
  return errs;
}

function validateJob(job: Obj, old?: Obj): StatusCause[] {
  const spec = job.spec ?? {};
  const errs: StatusCause[] = [];
  errs.push(...nonNegative(spec.parallelism, 'spec.parallelism'));
  errs.push(...nonNegative(spec.completions, 'spec.completions'));
  errs.push(...nonNegative(spec.backoffLimit, 'spec.backoffLimit'));
  errs.push(...validateSelectorAndTemplate(spec, 'job'));
  errs.push(...validatePodTemplate(spec.template, 'spec.template'));
  const policy = spec.template?.spec?.restartPolicy;
  if (policy !== 'OnFailure' && policy !== 'Never') {
    errs.push(cause.notSupported('spec.template.spec.restartPolicy', policy ?? '', ['OnFailure', 'Never']));
  }
  if (old) {
    const oldSpec = old.spec ?? {};
    errs.push(...immutableSelector(spec, oldSpec));
    // The real server lets a suspended Job that never started change its scheduling directives;
    // the devcluster keeps the stricter rule every other Job follows.
    if (!same(spec.template, oldSpec.template)) errs.push(cause.immutable('spec.template', spec.template));
    if (spec.completionMode !== oldSpec.completionMode) errs.push(cause.immutable('spec.completionMode', spec.completionMode));
    if (spec.completions !== oldSpec.completions) errs.push(cause.immutable('spec.completions', spec.completions ?? null));
  }
  return errs;
}

// ---------------------------------------------------------------------------------------------
// Services

const SERVICE_TYPES = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];

function validateService(svc: Obj, old?: Obj): StatusCause[] {
  const spec = svc.spec ?? {};
  const errs: StatusCause[] = [];
  const type = spec.type ?? 'ClusterIP';
  if (!SERVICE_TYPES.includes(type)) errs.push(cause.notSupported('spec.type', type, SERVICE_TYPES));
  if (type === 'ExternalName') {
    if (!spec.externalName) errs.push(cause.required('spec.externalName'));
  } else if (spec.clusterIP !== 'None' && (spec.ports ?? []).length === 0) {
    errs.push(cause.required('spec.ports'));
  }
  const ports: Obj[] = spec.ports ?? [];
  const names = new Set<string>();
  ports.forEach((p, i) => {
    const at = `spec.ports[${i}]`;
    if (ports.length > 1 && !p.name) errs.push(cause.required(`${at}.name`));
    if (p.name) {
      for (const msg of isDNS1123Label(p.name)) errs.push(cause.invalid(`${at}.name`, p.name, msg));
      if (names.has(p.name)) errs.push(cause.duplicate(`${at}.name`, p.name));
      names.add(p.name);
    }
    for (const msg of portNumberErrors(p.port)) errs.push(cause.invalid(`${at}.port`, p.port ?? 0, msg));
    errs.push(...validateEnum(p.protocol, `${at}.protocol`, PROTOCOLS));
    if (typeof p.targetPort === 'number') {
      for (const msg of portNumberErrors(p.targetPort)) errs.push(cause.invalid(`${at}.targetPort`, p.targetPort, msg));
    } else if (typeof p.targetPort === 'string') {
      for (const msg of portNameErrors(p.targetPort)) errs.push(cause.invalid(`${at}.targetPort`, p.targetPort, msg));
    }
  });
  if (old) errs.push(...validateClusterIPUpdate(spec, old.spec ?? {}));
  // Status written through /status: load balancer addresses belong to LoadBalancer Services only.
  if (type !== 'LoadBalancer' && (svc.status?.loadBalancer?.ingress ?? []).length > 0) {
    errs.push(cause.forbidden('status.loadBalancer.ingress', "may only be used when `spec.type` is 'LoadBalancer'"));
  }
  return errs;
}

/**
 * The cluster IPs may not change once allocated (ExternalName Services and headless to headless
 * excepted). A client that omits them on update gets the stored ones: the caller copies them over
 * before defaulting, as the real service registry does.
 */
function validateClusterIPUpdate(spec: Obj, oldSpec: Obj): StatusCause[] {
  if (spec.type === 'ExternalName' || oldSpec.type === 'ExternalName') return [];
  if (spec.clusterIP === 'None' && oldSpec.clusterIP === 'None') return [];
  const ips: string[] = spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : []);
  const oldIPs: string[] = oldSpec.clusterIPs ?? (oldSpec.clusterIP ? [oldSpec.clusterIP] : []);
  const errs: StatusCause[] = [];
  if (ips.length === 0 && oldIPs.length > 0) {
    errs.push(invalidGo('spec.clusterIPs[0]', goStringSlice(ips), 'primary clusterIP can not be unset'));
  }
  for (let i = 0; i < Math.min(ips.length, oldIPs.length); i++) {
    if (ips[i] !== oldIPs[i]) errs.push(invalidGo(`spec.clusterIPs[${i}]`, goStringSlice(ips), 'may not change once set'));
  }
  return errs;
}

// ---------------------------------------------------------------------------------------------
// ConfigMaps and Secrets

/** ConfigMaps and Secrets hold at most 1 MiB of data. */
const MAX_DATA_SIZE = 1024 * 1024;
const IMMUTABLE_WHEN_SET = 'field is immutable when `immutable` is set';

function validateConfigMap(cm: Obj, old?: Obj): StatusCause[] {
  const errs: StatusCause[] = [];
  let size = 0;
  for (const [key, value] of Object.entries((cm.data as Obj) ?? {})) {
    for (const msg of isConfigMapKey(key)) errs.push(cause.invalid(`data[${key}]`, key, msg));
    size += Buffer.byteLength(String(value));
  }
  for (const [key, value] of Object.entries((cm.binaryData as Obj) ?? {})) {
    for (const msg of isConfigMapKey(key)) errs.push(cause.invalid(`binaryData[${key}]`, key, msg));
    if (cm.data && key in cm.data) errs.push(cause.invalid(`binaryData[${key}]`, key, 'duplicate of key present in data'));
    size += Buffer.from(String(value), 'base64').length;
  }
  if (size > MAX_DATA_SIZE) errs.push(cause.tooLong('', MAX_DATA_SIZE));
  if (old) errs.push(...immutableData(cm, old, ['data', 'binaryData']));
  return errs;
}

function validateSecret(secret: Obj, old?: Obj): StatusCause[] {
  const errs: StatusCause[] = [];
  const data = secretData(secret);
  let size = 0;
  for (const [key, value] of Object.entries(data)) {
    for (const msg of isConfigMapKey(key)) errs.push(cause.invalid(`data[${key}]`, key, msg));
    size += value.length;
  }
  if (size > MAX_DATA_SIZE) errs.push(cause.tooLong('data', MAX_DATA_SIZE));
  if (old) {
    if ((secret.type ?? 'Opaque') !== (old.type ?? 'Opaque')) errs.push(cause.immutable('type', secret.type));
    if (old.immutable === true) {
      if (secret.immutable !== true) errs.push(cause.forbidden('immutable', IMMUTABLE_WHEN_SET));
      if (!same(data, secretData(old))) errs.push(cause.forbidden('data', IMMUTABLE_WHEN_SET));
    }
  }
  return errs;
}

/** A Secret's data as bytes, `stringData` merged over `data` as the real server merges it on decode. */
function secretData(secret: Obj): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries((secret.data as Obj) ?? {})) out[k] = Buffer.from(String(v), 'base64');
  for (const [k, v] of Object.entries((secret.stringData as Obj) ?? {})) out[k] = Buffer.from(String(v));
  return out;
}

function immutableData(obj: Obj, old: Obj, fields: string[]): StatusCause[] {
  if (old.immutable !== true) return [];
  const errs: StatusCause[] = [];
  if (obj.immutable !== true) errs.push(cause.forbidden('immutable', IMMUTABLE_WHEN_SET));
  for (const f of fields) if (!same(obj[f] ?? {}, old[f] ?? {})) errs.push(cause.forbidden(f, IMMUTABLE_WHEN_SET));
  return errs;
}

// ---------------------------------------------------------------------------------------------
// RBAC

const RBAC_GROUP = 'rbac.authorization.k8s.io';

function validateRoleBinding(binding: Obj, old: Obj | undefined, roleKinds: string[]): StatusCause[] {
  const errs: StatusCause[] = [];
  const ref = binding.roleRef ?? {};
  if (ref.apiGroup !== RBAC_GROUP) errs.push(cause.notSupported('roleRef.apiGroup', ref.apiGroup ?? '', [RBAC_GROUP]));
  if (!roleKinds.includes(ref.kind)) errs.push(cause.notSupported('roleRef.kind', ref.kind ?? '', roleKinds));
  if (!ref.name) errs.push(cause.required('roleRef.name'));
  else for (const msg of isPathSegmentName(ref.name)) errs.push(cause.invalid('roleRef.name', ref.name, msg));
  (binding.subjects ?? []).forEach((s: Obj, i: number) => {
    const at = `subjects[${i}]`;
    if (!s.name) errs.push(cause.required(`${at}.name`));
    if (!['ServiceAccount', 'User', 'Group'].includes(s.kind)) {
      errs.push(cause.notSupported(`${at}.kind`, s.kind ?? '', ['ServiceAccount', 'User', 'Group']));
    }
  });
  if (old && !same(ref, old.roleRef ?? {})) errs.push(invalidGo('roleRef', goRoleRef(ref), 'cannot change roleRef'));
  return errs;
}

// ---------------------------------------------------------------------------------------------
// Field formats: what a real server refuses while decoding the body, with 400 and not 422.

const MICRO_TIME_LAYOUT = '2006-01-02T15:04:05.000000Z07:00';

/** The MicroTime fields of each kind; they need exactly six fractional digits. */
const MICRO_TIME_FIELDS: Record<string, string[][]> = {
  'coordination.k8s.io/Lease': [
    ['spec', 'acquireTime'],
    ['spec', 'renewTime'],
  ],
  '/Event': [['eventTime'], ['series', 'lastObservedTime']],
  'events.k8s.io/Event': [['eventTime'], ['series', 'lastObservedTime']],
};

/**
 * The 400 message for a body the real server cannot decode into its type (a MicroTime without six
 * fractional digits, an unparseable quantity), or undefined when the body decodes.
 */
export function checkFieldFormats(t: ResourceType, obj: Obj): string | undefined {
  const problem = microTimeProblem(t, obj) ?? quantityProblem(t, obj);
  return problem && `${t.kind} in version "${t.version}" cannot be handled as a ${t.kind}: ${problem}`;
}

function microTimeProblem(t: ResourceType, obj: Obj): string | undefined {
  for (const path of MICRO_TIME_FIELDS[`${t.group}/${t.kind}`] ?? []) {
    const value = path.reduce<any>((o, k) => o?.[k], obj);
    if (value === undefined || value === null) continue;
    const problem = parseMicroTime(String(value));
    if (problem) return problem;
  }
  return undefined;
}

/**
 * Go's `time.Parse(RFC3339Micro, s)` error for `s`, or undefined when it parses. The layout is
 * matched element by element as Go does (`.000000` wants exactly six digits).
 */
export function parseMicroTime(s: string): string | undefined {
  const elements: Array<[string, RegExp]> = [
    ['2006', /^\d{4}/],
    ['-', /^-/],
    ['01', /^\d{2}/],
    ['-', /^-/],
    ['02', /^\d{2}/],
    ['T', /^T/],
    ['15', /^\d{2}/],
    [':', /^:/],
    ['04', /^\d{2}/],
    [':', /^:/],
    ['05', /^\d{2}/],
    ['.000000', /^\.\d{6}/],
    ['Z07:00', /^(Z|[+-]\d{2}:\d{2})/],
  ];
  let rest = s;
  for (const [layout, re] of elements) {
    const m = re.exec(rest);
    // Go names the layout element that failed and the text left at its start.
    if (!m) return `parsing time ${JSON.stringify(s)} as ${JSON.stringify(MICRO_TIME_LAYOUT)}: cannot parse ${JSON.stringify(rest)} as ${JSON.stringify(layout)}`;
    rest = rest.slice(m[0].length);
  }
  if (rest !== '') return `parsing time ${JSON.stringify(s)}: extra text: ${JSON.stringify(rest)}`;
  return undefined;
}

function quantityProblem(t: ResourceType, obj: Obj): string | undefined {
  const specs: Obj[] = [];
  if (t.group === '' && t.kind === 'Pod') specs.push(obj.spec ?? {});
  else if (obj.spec?.template?.spec) specs.push(obj.spec.template.spec);
  for (const spec of specs) {
    for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
      for (const list of [c.resources?.limits, c.resources?.requests]) {
        for (const value of Object.values((list as Obj) ?? {})) {
          try {
            parseQuantity(value as string);
          } catch (err) {
            if (err instanceof QuantityError) return err.message;
            throw err;
          }
        }
      }
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Helpers

/** A resource quantity in base units, or undefined when it is not one (refused at decode time). */
function quantityValue(s: string): number | undefined {
  return isQuantity(s) ? parseQuantity(s) : undefined;
}

function same(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

/** JSON with sorted keys, so key order never counts as a change. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, value) =>
    value && typeof value === 'object' && !Array.isArray(value) && !Buffer.isBuffer(value)
      ? Object.fromEntries(Object.keys(value).sort().map((k) => [k, value[k]]))
      : value,
  );
}

function stripUndefined(o: Obj): Obj {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

/** A FieldValueInvalid cause whose value is already rendered as Go prints it. */
function invalidGo(field: string, rendered: string, detail: string): StatusCause {
  return { reason: 'FieldValueInvalid', message: `Invalid value: ${rendered}: ${detail}`, field };
}

function goStringMap(m: Record<string, string> | undefined): string {
  if (!m) return 'map[string]string(nil)';
  const entries = Object.keys(m)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${JSON.stringify(m[k])}`);
  return `map[string]string{${entries.join(', ')}}`;
}

function goStringSlice(s: string[]): string {
  return s.length === 0 ? '[]string(nil)' : `[]string{${s.map((x) => JSON.stringify(x)).join(', ')}}`;
}

function goLabelSelector(sel: Obj): string {
  const exprs: Obj[] = sel.matchExpressions ?? [];
  const renderedExprs =
    exprs.length === 0
      ? '[]v1.LabelSelectorRequirement(nil)'
      : `[]v1.LabelSelectorRequirement{${exprs
          .map((e) => `v1.LabelSelectorRequirement{Key:${JSON.stringify(e.key)}, Operator:${JSON.stringify(e.operator)}, Values:${goStringSlice(e.values ?? [])}}`)
          .join(', ')}}`;
  return `v1.LabelSelector{MatchLabels:${goStringMap(sel.matchLabels)}, MatchExpressions:${renderedExprs}}`;
}

function goRoleRef(ref: Obj): string {
  return `rbac.RoleRef{APIGroup:${JSON.stringify(ref.apiGroup ?? '')}, Kind:${JSON.stringify(ref.kind ?? '')}, Name:${JSON.stringify(ref.name ?? '')}}`;
}

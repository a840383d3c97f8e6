/**
 * The kinds the devcluster's API server serves: built-in ones below, custom ones added when a
 * CustomResourceDefinition is established. Discovery, OpenAPI, routing and storage all read this
 * one registry, so a kind is served everywhere as soon as it is registered.
 */
import { METRICS_RESOURCES } from './metrics-api.ts';

export interface ScaleSubresource {
  specReplicasPath: string;
  statusReplicasPath: string;
  labelSelectorPath?: string;
}

export interface ResourceType {
  /** API group; '' for the core group. */
  group: string;
  version: string;
  plural: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  verbs: string[];
  shortNames?: string[];
  categories?: string[];
  /** Whether `/status` is a subresource: then the main resource ignores status changes. */
  status: boolean;
  scale?: ScaleSubresource;
  /** Other subresources that exist in discovery (pods/log, pods/exec, …) and how they are answered. */
  extraSubresources?: string[];
  /** `metadata.generation` is kept for kinds whose spec a controller acts on. */
  generation: boolean;
  /** Field labels accepted in field selectors beyond metadata.name and metadata.namespace. */
  fieldLabels?: string[];
  /** Set for kinds that come from a CustomResourceDefinition: the CRD object as stored. */
  crd?: Record<string, any>;
}

export const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export function apiVersionOf(t: Pick<ResourceType, 'group' | 'version'>): string {
  return t.group === '' ? t.version : `${t.group}/${t.version}`;
}

export function groupVersionOf(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.indexOf('/');
  return i < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

function builtin(
  group: string,
  version: string,
  kind: string,
  plural: string,
  opts: Partial<ResourceType> & { namespaced?: boolean } = {},
): ResourceType {
  return {
    group,
    version,
    kind,
    plural,
    singular: kind.toLowerCase(),
    namespaced: opts.namespaced ?? true,
    verbs: opts.verbs ?? ALL_VERBS,
    status: opts.status ?? false,
    generation: opts.generation ?? false,
    ...opts,
  };
}

const WORKLOAD_SCALE: ScaleSubresource = {
  specReplicasPath: '.spec.replicas',
  statusReplicasPath: '.status.replicas',
  labelSelectorPath: '.status.selector',
};

const POD_FIELDS = [
  'spec.nodeName',
  'spec.restartPolicy',
  'spec.schedulerName',
  'spec.serviceAccountName',
  'spec.hostNetwork',
  'status.phase',
  'status.podIP',
  'status.podIPs',
  'status.nominatedNodeName',
];
const EVENT_FIELDS = [
  'involvedObject.kind',
  'involvedObject.namespace',
  'involvedObject.name',
  'involvedObject.uid',
  'involvedObject.apiVersion',
  'involvedObject.resourceVersion',
  'involvedObject.fieldPath',
  'reason',
  'reportingComponent',
  'source',
  'type',
];

export const BUILTIN_RESOURCES: ResourceType[] = [
  builtin('', 'v1', 'Namespace', 'namespaces', {
    namespaced: false,
    status: true,
    shortNames: ['ns'],
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
    fieldLabels: ['status.phase'],
    extraSubresources: ['finalize'],
  }),
  builtin('', 'v1', 'Pod', 'pods', {
    status: true,
    shortNames: ['po'],
    categories: ['all'],
    fieldLabels: POD_FIELDS,
    extraSubresources: ['log', 'exec', 'attach', 'portforward', 'binding', 'eviction'],
  }),
  builtin('', 'v1', 'Service', 'services', {
    status: true,
    shortNames: ['svc'],
    categories: ['all'],
    verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
  }),
  builtin('', 'v1', 'Endpoints', 'endpoints', { shortNames: ['ep'], singular: 'endpoints' }),
  builtin('', 'v1', 'ConfigMap', 'configmaps', { shortNames: ['cm'] }),
  builtin('', 'v1', 'Secret', 'secrets', { fieldLabels: ['type'] }),
  builtin('', 'v1', 'ServiceAccount', 'serviceaccounts', { shortNames: ['sa'] }),
  builtin('', 'v1', 'PersistentVolumeClaim', 'persistentvolumeclaims', { status: true, shortNames: ['pvc'] }),
  builtin('', 'v1', 'PersistentVolume', 'persistentvolumes', { namespaced: false, status: true, shortNames: ['pv'] }),
  builtin('', 'v1', 'Node', 'nodes', { namespaced: false, status: true, shortNames: ['no'], fieldLabels: ['spec.unschedulable'] }),
  builtin('', 'v1', 'Event', 'events', { shortNames: ['ev'], fieldLabels: EVENT_FIELDS }),
  builtin('apps', 'v1', 'Deployment', 'deployments', {
    status: true,
    scale: WORKLOAD_SCALE,
    generation: true,
    shortNames: ['deploy'],
    categories: ['all'],
  }),
  builtin('apps', 'v1', 'ReplicaSet', 'replicasets', {
    status: true,
    scale: WORKLOAD_SCALE,
    generation: true,
    shortNames: ['rs'],
    categories: ['all'],
  }),
  builtin('apps', 'v1', 'StatefulSet', 'statefulsets', {
    status: true,
    scale: WORKLOAD_SCALE,
    generation: true,
    shortNames: ['sts'],
    categories: ['all'],
  }),
  builtin('apps', 'v1', 'DaemonSet', 'daemonsets', { status: true, generation: true, shortNames: ['ds'], categories: ['all'] }),
  builtin('apps', 'v1', 'ControllerRevision', 'controllerrevisions', {}),
  builtin('batch', 'v1', 'Job', 'jobs', { status: true, generation: true, categories: ['all'] }),
  builtin('rbac.authorization.k8s.io', 'v1', 'Role', 'roles', {}),
  builtin('rbac.authorization.k8s.io', 'v1', 'RoleBinding', 'rolebindings', {}),
  builtin('rbac.authorization.k8s.io', 'v1', 'ClusterRole', 'clusterroles', { namespaced: false }),
  builtin('rbac.authorization.k8s.io', 'v1', 'ClusterRoleBinding', 'clusterrolebindings', { namespaced: false }),
  builtin('networking.k8s.io', 'v1', 'Ingress', 'ingresses', { status: true, generation: true, shortNames: ['ing'] }),
  builtin('discovery.k8s.io', 'v1', 'EndpointSlice', 'endpointslices', {}),
  builtin('coordination.k8s.io', 'v1', 'Lease', 'leases', {}),
  builtin('apiextensions.k8s.io', 'v1', 'CustomResourceDefinition', 'customresourcedefinitions', {
    namespaced: false,
    status: true,
    generation: true,
    shortNames: ['crd', 'crds'],
  }),
  ...METRICS_RESOURCES,
];

/** Identity of a stored collection: group and plural (one storage per kind, whatever the version). */
export function collectionKey(t: Pick<ResourceType, 'group' | 'plural'>): string {
  return t.group === '' ? t.plural : `${t.plural}.${t.group}`;
}

export class ResourceRegistry {
  private readonly byPath = new Map<string, ResourceType>();
  private listeners: Array<() => void> = [];

  constructor(types: ResourceType[] = BUILTIN_RESOURCES) {
    for (const t of types) this.byPath.set(`${t.group}/${t.version}/${t.plural}`, t);
  }

  get(group: string, version: string, plural: string): ResourceType | undefined {
    return this.byPath.get(`${group}/${version}/${plural}`);
  }

  byKind(apiVersion: string, kind: string): ResourceType | undefined {
    const { group, version } = groupVersionOf(apiVersion);
    for (const t of this.byPath.values()) if (t.group === group && t.version === version && t.kind === kind) return t;
    return undefined;
  }

  all(): ResourceType[] {
    return [...this.byPath.values()];
  }

  /** Group → versions served, in registration order; the first is the preferred version. */
  groups(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const t of this.byPath.values()) {
      const versions = out.get(t.group) ?? [];
      if (!versions.includes(t.version)) versions.push(t.version);
      out.set(t.group, versions);
    }
    return out;
  }

  inGroupVersion(group: string, version: string): ResourceType[] {
    return this.all().filter((t) => t.group === group && t.version === version);
  }

  add(t: ResourceType): void {
    this.byPath.set(`${t.group}/${t.version}/${t.plural}`, t);
    this.changed();
  }

  remove(group: string, version: string, plural: string): void {
    if (this.byPath.delete(`${group}/${version}/${plural}`)) this.changed();
  }

  /** Called whenever the set of kinds changes (discovery and OpenAPI caches listen). */
  onChange(fn: () => void): void {
    this.listeners.push(fn);
  }

  private changed(): void {
    for (const fn of this.listeners) fn();
  }
}

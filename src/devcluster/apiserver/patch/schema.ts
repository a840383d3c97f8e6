/**
 * How Kubernetes merges the lists of built-in kinds, taken from the `patchStrategy` /
 * `patchMergeKey` and `listType` / `listMapKey` tags of the k8s.io/api types. Strategic merge patch
 * uses `mergeKey`; server-side apply identifies list items by all of `keys` (a port is keyed by
 * `containerPort` *and* `protocol`). Lists not listed here are atomic: a patch replaces them whole.
 *
 * Paths are field names joined by '.', list positions left out: `spec.containers.ports` is the
 * ports of every container of a pod.
 */

export interface ListSchema {
  /** The single key strategic merge patch matches items by; absent for sets of primitives. */
  mergeKey?: string;
  /** The keys server-side apply identifies items by (`k:{...}` in managedFields). */
  keys?: string[];
  /** A set of primitives (finalizers): merged as a set, `v:` entries in managedFields. */
  set?: boolean;
}

const byName: ListSchema = { mergeKey: 'name', keys: ['name'] };
const byType: ListSchema = { mergeKey: 'type', keys: ['type'] };
const byIp: ListSchema = { mergeKey: 'ip', keys: ['ip'] };
const primitiveSet: ListSchema = { set: true };

const CONTAINER: Record<string, ListSchema> = {
  ports: { mergeKey: 'containerPort', keys: ['containerPort', 'protocol'] },
  env: byName,
  volumeMounts: { mergeKey: 'mountPath', keys: ['mountPath'] },
  volumeDevices: { mergeKey: 'devicePath', keys: ['devicePath'] },
};

const POD_SPEC: Record<string, ListSchema> = {
  containers: byName,
  initContainers: byName,
  ephemeralContainers: byName,
  volumes: byName,
  imagePullSecrets: byName,
  hostAliases: byIp,
  topologySpreadConstraints: { mergeKey: 'topologyKey', keys: ['topologyKey', 'whenUnsatisfiable'] },
  schedulingGates: byName,
  resourceClaims: byName,
  ...prefixed('containers', CONTAINER),
  ...prefixed('initContainers', CONTAINER),
  ...prefixed('ephemeralContainers', CONTAINER),
};

const OBJECT_META: Record<string, ListSchema> = {
  finalizers: primitiveSet,
  ownerReferences: { mergeKey: 'uid', keys: ['uid'] },
};

/** Where each kind keeps a pod template's metadata and spec. */
const POD_TEMPLATE_AT: Record<string, string> = {
  Pod: '',
  PodTemplate: 'template',
  Deployment: 'spec.template',
  ReplicaSet: 'spec.template',
  StatefulSet: 'spec.template',
  DaemonSet: 'spec.template',
  ReplicationController: 'spec.template',
  Job: 'spec.template',
  CronJob: 'spec.jobTemplate.spec.template',
};

const KIND_LISTS: Record<string, Record<string, ListSchema>> = {
  Pod: { 'status.podIPs': byIp, 'status.hostIPs': byIp },
  Service: { 'spec.ports': { mergeKey: 'port', keys: ['port', 'protocol'] } },
  ServiceAccount: { secrets: byName },
  Node: { 'status.addresses': byType, 'spec.podCIDRs': primitiveSet },
};

/** Key fields a real server defaults in the schema, so an item that omits them is still identified. */
const KEY_DEFAULTS: Record<string, unknown> = { protocol: 'TCP' };

function prefixed(prefix: string, table: Record<string, ListSchema>): Record<string, ListSchema> {
  const out: Record<string, ListSchema> = {};
  for (const [path, schema] of Object.entries(table)) out[prefix ? `${prefix}.${path}` : path] = schema;
  return out;
}

const cache = new Map<string, Record<string, ListSchema>>();

function tableFor(kind: string): Record<string, ListSchema> {
  let table = cache.get(kind);
  if (!table) {
    const template = POD_TEMPLATE_AT[kind];
    table = {
      ...prefixed('metadata', OBJECT_META),
      // Every built-in kind's conditions are a map keyed by `type`.
      'status.conditions': byType,
      ...(KIND_LISTS[kind] ?? {}),
    };
    if (template !== undefined) {
      Object.assign(table, prefixed(template ? `${template}.spec` : 'spec', POD_SPEC));
      if (template) Object.assign(table, prefixed(`${template}.metadata`, OBJECT_META));
    }
    cache.set(kind, table);
  }
  return table;
}

/** How the list at `path` (field names) of a built-in kind merges; undefined = atomic. */
export function builtinListSchema(kind: string, path: readonly string[]): ListSchema | undefined {
  return tableFor(kind)[path.join('.')];
}

/**
 * Maps a real server treats as one value (`+structType=atomic` / `+mapType=atomic`): a
 * workload's or a Service's `spec.selector`. Applying one replaces it whole.
 */
export function builtinAtomicMap(path: readonly string[]): boolean {
  return path.length === 2 && path[0] === 'spec' && path[1] === 'selector';
}

export function keyDefault(field: string): unknown {
  return KEY_DEFAULTS[field];
}

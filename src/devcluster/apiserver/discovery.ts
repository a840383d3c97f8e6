/**
 * Legacy JSON discovery: `/api`, `/apis`, `/api/v1` and `/apis/<group>/<version>`, built from the
 * registry on every call so a CRD shows up (or disappears) as soon as the registry changes.
 * kubectl asks for aggregated discovery first but accepts these documents; the shapes follow what
 * a real kube-apiserver v1.32 answers (shared/data/real-apiserver/discovery-*.json).
 */
import { createHash } from 'node:crypto';
import { apiVersionOf, type ResourceRegistry, type ResourceType } from './resources.ts';

export interface APIResource {
  name: string;
  singularName: string;
  namespaced: boolean;
  /** Set only when a subresource answers with a kind of another group (`deployments/scale`). */
  group?: string;
  version?: string;
  kind: string;
  verbs: string[];
  shortNames?: string[];
  categories?: string[];
  storageVersionHash?: string;
}

export interface APIResourceList {
  kind: 'APIResourceList';
  apiVersion?: string;
  groupVersion: string;
  resources: APIResource[];
}

/** `/api`: the core group has one version; every client reaches the server at `serverAddress`. */
export function apiVersions(serverAddress: string): object {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

/** `/apis`: every named group with its versions; the first registered version is preferred. */
export function apiGroupList(reg: ResourceRegistry): object {
  const groups = [];
  for (const [name, versions] of reg.groups()) {
    if (name === '') continue;
    const list = versions.map((version) => ({ groupVersion: `${name}/${version}`, version }));
    groups.push({ name, versions: list, preferredVersion: list[0] });
  }
  return { kind: 'APIGroupList', apiVersion: 'v1', groups };
}

/**
 * `/api/v1` or `/apis/<group>/<version>`; undefined when nothing is served there (the caller
 * answers 404). Resources are sorted by name, each followed by its subresources, as a real server
 * lists them.
 */
export function apiResourceList(reg: ResourceRegistry, group: string, version: string): APIResourceList | undefined {
  const types = reg.inGroupVersion(group, version);
  if (types.length === 0) return undefined;
  const resources: APIResource[] = [];
  for (const t of [...types].sort((a, b) => compare(a.plural, b.plural))) {
    resources.push(mainEntry(t));
    resources.push(...subresourceEntries(t));
  }
  const groupVersion = apiVersionOf({ group, version });
  // The real server leaves apiVersion out of the core list (discovery-api-v1.json) and sets it on groups.
  if (group === '') return { kind: 'APIResourceList', groupVersion, resources };
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion, resources };
}

/**
 * The hash the real server publishes so clients notice a change of storage version: the first
 * 8 bytes of sha256("<group>/<version>/<kind>"), base64 (matches discovery-*.json).
 */
export function storageVersionHash(group: string, version: string, kind: string): string {
  return createHash('sha256').update(`${group}/${version}/${kind}`).digest().subarray(0, 8).toString('base64');
}

function mainEntry(t: ResourceType): APIResource {
  const entry: APIResource = {
    name: t.plural,
    singularName: t.singular,
    namespaced: t.namespaced,
    kind: t.kind,
    verbs: [...t.verbs],
  };
  if (t.shortNames?.length) entry.shortNames = [...t.shortNames];
  if (t.categories?.length) entry.categories = [...t.categories];
  entry.storageVersionHash = storageVersionHash(t.group, t.version, t.kind);
  return entry;
}

type SubresourceShape = Pick<APIResource, 'group' | 'version' | 'verbs'> & { kind: (t: ResourceType) => string };

const GET_PATCH_UPDATE = ['get', 'patch', 'update'];
const PROXY_VERBS = ['create', 'delete', 'get', 'patch', 'update'];
const sameKind = (t: ResourceType): string => t.kind;

/** What each known subresource answers with, as the real server's discovery documents show. */
const SUBRESOURCES: Record<string, SubresourceShape> = {
  status: { kind: sameKind, verbs: GET_PATCH_UPDATE },
  scale: { group: 'autoscaling', version: 'v1', kind: () => 'Scale', verbs: GET_PATCH_UPDATE },
  log: { kind: sameKind, verbs: ['get'] },
  exec: { kind: () => 'PodExecOptions', verbs: ['create', 'get'] },
  attach: { kind: () => 'PodAttachOptions', verbs: ['create', 'get'] },
  portforward: { kind: () => 'PodPortForwardOptions', verbs: ['create', 'get'] },
  proxy: { kind: (t) => `${t.kind}ProxyOptions`, verbs: PROXY_VERBS },
  binding: { kind: () => 'Binding', verbs: ['create'] },
  eviction: { group: 'policy', version: 'v1', kind: () => 'Eviction', verbs: ['create'] },
  ephemeralcontainers: { kind: sameKind, verbs: GET_PATCH_UPDATE },
  finalize: { kind: sameKind, verbs: ['update'] },
  token: { group: 'authentication.k8s.io', version: 'v1', kind: () => 'TokenRequest', verbs: ['create'] },
};

function subresourceEntries(t: ResourceType): APIResource[] {
  const names = new Set(t.extraSubresources ?? []);
  if (t.status) names.add('status');
  if (t.scale) names.add('scale');
  return [...names].sort(compare).map((sub) => {
    const shape = SUBRESOURCES[sub] ?? { kind: sameKind, verbs: ['get'] };
    const entry: APIResource = { name: `${t.plural}/${sub}`, singularName: '', namespaced: t.namespaced, kind: '', verbs: [] };
    if (shape.group !== undefined) {
      entry.group = shape.group;
      entry.version = shape.version;
    }
    entry.kind = shape.kind(t);
    entry.verbs = [...shape.verbs];
    return entry;
  });
}

/** Byte-wise order, as Go's sort.Strings, independent of the locale. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

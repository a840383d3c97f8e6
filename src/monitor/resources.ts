/**
 * The kinds the monitor caches. Six are watched by default, as in the seed; any other
 * group/version/resource can be added by configuration, and is described from the server's
 * discovery at start. Secrets are never cached: a cache anyone with the monitor's token can read
 * must not hold credentials.
 */
import type { KubeClient, ResourceType } from '../kube/index.ts';

export interface MonitoredResource extends ResourceType {
  kind: string;
  namespaced: boolean;
  /** The seed's endpoint (`/pods`), for the six default kinds only. */
  seedPath?: string;
  shortNames?: string[];
  /** How often a verification list runs, in ms. */
  verifyEveryMs: number;
}

type Known = Omit<MonitoredResource, 'verifyEveryMs'>;

export const DEFAULT_RESOURCES: Known[] = [
  { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true, seedPath: '/pods', shortNames: ['po'] },
  { group: 'apps', version: 'v1', plural: 'deployments', kind: 'Deployment', namespaced: true, seedPath: '/deployments', shortNames: ['deploy'] },
  { group: '', version: 'v1', plural: 'persistentvolumeclaims', kind: 'PersistentVolumeClaim', namespaced: true, seedPath: '/pvcs', shortNames: ['pvc'] },
  { group: '', version: 'v1', plural: 'services', kind: 'Service', namespaced: true, seedPath: '/services', shortNames: ['svc'] },
  { group: 'networking.k8s.io', version: 'v1', plural: 'ingresses', kind: 'Ingress', namespaced: true, seedPath: '/ingress', shortNames: ['ing'] },
  { group: '', version: 'v1', plural: 'nodes', kind: 'Node', namespaced: false, seedPath: '/nodes', shortNames: ['no'] },
];

/** `pods`, `apps/v1/deployments`, `v1/pods`: what configuration names a resource by. */
export interface ResourceSpec {
  group: string;
  version: string;
  resource: string;
}

export function parseResourceName(s: string): ResourceSpec | undefined {
  const parts = s.split('/');
  if (parts.length === 2) return { group: '', version: parts[0], resource: parts[1] };
  if (parts.length === 3) return { group: parts[0] === 'core' ? '' : parts[0], version: parts[1], resource: parts[2] };
  return undefined;
}

export function isSecret(r: { group: string; resource: string }): boolean {
  return r.group === '' && r.resource === 'secrets';
}

export function resourceId(r: Pick<ResourceType, 'group' | 'plural'>): string {
  return r.group ? `${r.plural}.${r.group}` : r.plural;
}

/**
 * The monitored resources for a configuration: the defaults plus extra ones, described by the
 * server's discovery (kind, scope). Throws naming a resource the server does not serve.
 */
export async function resolveResources(
  client: KubeClient,
  extra: ResourceSpec[],
  verifyEveryMs: (spec: ResourceSpec) => number,
  withDefaults = true,
): Promise<MonitoredResource[]> {
  const out: MonitoredResource[] = [];
  const specOf = (k: Known): ResourceSpec => ({ group: k.group, version: k.version, resource: k.plural });
  if (withDefaults) for (const k of DEFAULT_RESOURCES) out.push({ ...k, verifyEveryMs: verifyEveryMs(specOf(k)) });
  for (const spec of extra) {
    if (isSecret(spec)) throw new Error('secrets are never cached by the monitor');
    if (out.some((r) => r.group === spec.group && r.version === spec.version && r.plural === spec.resource)) continue;
    const known = DEFAULT_RESOURCES.find((k) => k.group === spec.group && k.version === spec.version && k.plural === spec.resource);
    if (known) {
      out.push({ ...known, verifyEveryMs: verifyEveryMs(spec) });
      continue;
    }
    const path = spec.group === '' ? `/api/${spec.version}` : `/apis/${spec.group}/${spec.version}`;
    const list = await client.request<{ resources?: { name: string; kind: string; namespaced: boolean; shortNames?: string[] }[] }>('GET', path);
    const found = list.resources?.find((r) => r.name === spec.resource);
    if (!found) throw new Error(`the server does not serve ${spec.resource} in ${spec.group ? `${spec.group}/` : ''}${spec.version}`);
    out.push({
      group: spec.group,
      version: spec.version,
      plural: spec.resource,
      kind: found.kind,
      namespaced: found.namespaced,
      shortNames: found.shortNames,
      verifyEveryMs: verifyEveryMs(spec),
    });
  }
  return out;
}

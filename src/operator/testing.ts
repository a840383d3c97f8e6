/** Helpers for the operator's tests and benchmark: objects to create and API writes to count. */
import type { DevCluster } from '../devcluster/index.ts';
import type { KubeClient, KubeObject } from '../kube/index.ts';
import { API_VERSION, RUNTIME_VERSIONS, RUNTIMES } from '../api/index.ts';

export const NAMESPACES = { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false };
export const PODS = { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true };
export const DEPLOYMENTS = { group: 'apps', version: 'v1', plural: 'deployments', kind: 'Deployment', namespaced: true };
export const STATEFULSETS = { group: 'apps', version: 'v1', plural: 'statefulsets', kind: 'StatefulSet', namespaced: true };
export const SERVICES = { group: '', version: 'v1', plural: 'services', kind: 'Service', namespaced: true };
export const CONFIGMAPS = { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespaced: true };
export const SECRETS = { group: '', version: 'v1', plural: 'secrets', kind: 'Secret', namespaced: true };
export const EVENTS = { group: '', version: 'v1', plural: 'events', kind: 'Event', namespaced: true };

export async function createNamespace(client: KubeClient, name: string): Promise<void> {
  await client.create(NAMESPACES, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
}

export function runtimeObject(namespace: string, name: string, spec: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: API_VERSION, kind: 'Runtime', metadata: { name, namespace }, spec };
}

/** A version with one workflow per entry of `workflows`, each a chain of the named nodes. */
export function versionObject(namespace: string, name: string, workflows: Record<string, string[]>, extra: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: API_VERSION,
    kind: 'RuntimeVersion',
    metadata: { name, namespace },
    spec: {
      versionId: `${name}-id`,
      entrypoint: { image: 'konstellation/entrypoint:1.0', protoFile: 'public_input.proto' },
      config: [{ key: 'MODEL_PATH', value: '/models/v1' }],
      workflows: Object.entries(workflows).map(([wf, nodes]) => ({
        id: `${wf}-id`,
        name: wf,
        entrypoint: wf.charAt(0).toUpperCase() + wf.slice(1),
        nodes: nodes.map((n) => ({ id: `${wf.slice(0, 3)}${n}`.toLowerCase(), name: n, image: `konstellation/${n}:1.0`, src: `src/${n}/main.py` })),
        edges: nodes.slice(1).map((n, i) => ({ id: `${wf}-edge-${i}`, fromNode: `${wf.slice(0, 3)}${nodes[i]}`.toLowerCase(), toNode: `${wf.slice(0, 3)}${n}`.toLowerCase() })),
      })),
      ...extra,
    },
  };
}

export const runtimeRef = (namespace: string, name: string) => ({ ...RUNTIMES, namespace, name });
export const versionRef = (namespace: string, name: string) => ({ ...RUNTIME_VERSIONS, namespace, name });

/**
 * API writes (create, update, patch, delete) the devcluster has served, by resource, leaving out
 * what is not the operator's reconciling: leader election, events, and the devcluster's own
 * controllers' pod, endpoint and status traffic.
 */
export async function operatorWrites(cluster: DevCluster, resources?: RegExp): Promise<number> {
  const text = await cluster.metrics();
  let total = 0;
  for (const line of text.split('\n')) {
    const m = /^devcluster_requests_total\{verb="(create|update|patch|delete)",resource="([^"]+)",code="(\d+)"\} (\d+)/.exec(line);
    if (!m) continue;
    const resource = m[2];
    const operatorOwned = resources ?? /^(runtimes\/status|runtimeversions\/status|statefulsets|deployments|services|configmaps|secrets|ingresses)$/;
    if (operatorOwned.test(resource)) total += Number(m[4]);
  }
  return total;
}

export function isReadyPod(pod: KubeObject): boolean {
  return pod.status?.phase === 'Running' && (pod.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True');
}

/**
 * A typed client of the monitor's seed endpoints: one method per resource with the seed's filters,
 * answering `@kubernetes/client-node` model objects (timestamps as Date, as client-node's own APIs
 * return them) with where each came from and how fresh the answer is.
 */
import { KubeConfig } from '@kubernetes/client-node';
import type { V1Deployment, V1Ingress, V1Node, V1PersistentVolumeClaim, V1Pod, V1Service } from '@kubernetes/client-node';
import { ObjectSerializer } from '@kubernetes/client-node/dist/gen/models/ObjectSerializer.js';
import { SOURCE_ANNOTATION } from './http.ts';
import type { Freshness, Source, View } from './store.ts';

export interface MonitorQuery {
  namespace?: string;
  name?: string;
  /** Full Kubernetes label selector syntax (`app=web,tier in (front,back),!canary`). */
  labelSelector?: string;
  /** Default `aggregated`. */
  view?: View;
}

export interface MonitorList<T> {
  items: T[];
  /** `sources[i]` says where `items[i]` comes from. */
  sources: Source[];
  freshness: Freshness;
}

/** An answer other than 200: `status` is the HTTP status, `message` the monitor's reason. */
export class MonitorError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'MonitorError';
  }
}

export class MonitorClient {
  private readonly base: string;

  /** `url` is the monitor's address (`http://127.0.0.1:8003`), `token` its bearer token. */
  constructor(
    url: string,
    private readonly token: string,
  ) {
    this.base = url.replace(/\/+$/, '');
  }

  pods(q: MonitorQuery & { node?: string } = {}): Promise<MonitorList<V1Pod>> {
    return this.list('/pods', 'V1Pod', q);
  }

  deployments(q: MonitorQuery = {}): Promise<MonitorList<V1Deployment>> {
    return this.list('/deployments', 'V1Deployment', q);
  }

  persistentVolumeClaims(q: MonitorQuery = {}): Promise<MonitorList<V1PersistentVolumeClaim>> {
    return this.list('/pvcs', 'V1PersistentVolumeClaim', q);
  }

  services(q: MonitorQuery = {}): Promise<MonitorList<V1Service>> {
    return this.list('/services', 'V1Service', q);
  }

  ingresses(q: MonitorQuery = {}): Promise<MonitorList<V1Ingress>> {
    return this.list('/ingress', 'V1Ingress', q);
  }

  nodes(q: Omit<MonitorQuery, 'namespace'> = {}): Promise<MonitorList<V1Node>> {
    return this.list('/nodes', 'V1Node', q);
  }

  private async list<T>(path: string, type: string, q: MonitorQuery & { node?: string }): Promise<MonitorList<T>> {
    const params = new URLSearchParams();
    if (q.namespace !== undefined) params.set('namespace', q.namespace);
    if (q.name !== undefined) params.set('name', q.name);
    if (q.node !== undefined) params.set('node', q.node);
    if (q.labelSelector !== undefined) params.set('label_selector', q.labelSelector);
    if (q.view !== undefined) params.set('view', q.view);
    const query = params.toString();
    const res = await fetch(`${this.base}${path}${query ? `?${query}` : ''}`, { headers: { Authorization: `Bearer ${this.token}`, Accept: 'application/json' } });
    const text = await res.text();
    if (!res.ok) {
      let message = text;
      try {
        message = (JSON.parse(text) as { message?: string }).message ?? text;
      } catch {
        // not JSON: keep the text
      }
      throw new MonitorError(res.status, message);
    }
    const body = JSON.parse(text) as { items: { metadata?: { annotations?: Record<string, string> } }[]; freshness: Freshness };
    return {
      items: body.items.map((o) => ObjectSerializer.deserialize(o, type, '') as T),
      sources: body.items.map((o) => (o.metadata?.annotations?.[SOURCE_ANNOTATION] === 'streamed' ? 'streamed' : 'verified')),
      freshness: body.freshness,
    };
  }
}

/**
 * A kubeconfig that points Kubernetes clients (client-node, informers) at a monitor, as at an API
 * server: its URL and token (a self-signed certificate is not checked).
 */
export function monitorKubeConfig(url: string, token: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'monitor', server: url, skipTLSVerify: true }],
    users: [{ name: 'monitor', token }],
    contexts: [{ name: 'monitor', cluster: 'monitor', user: 'monitor' }],
    currentContext: 'monitor',
  });
  return kc;
}

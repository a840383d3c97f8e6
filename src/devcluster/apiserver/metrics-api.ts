/**
 * `metrics.k8s.io/v1beta1` as metrics-server serves it: PodMetrics and NodeMetrics (get and list,
 * label selectors), from what the simulated nodes report — the same numbers as their kubelets'
 * `/metrics/resource` — so that `kubectl top pods` and `kubectl top nodes` work.
 *
 * The API server knows the report's shape only (`NodeMetricsReport`), not how a node computes it:
 * like metrics-server, it serves what it is told.
 */
import { parseLabelSelector, SelectorError } from '../../kube/index.ts';
import { errors } from './errors.ts';
import type { ResourceType } from './resources.ts';

export const METRICS_GROUP = 'metrics.k8s.io';
export const METRICS_VERSION = 'v1beta1';
const API_VERSION = `${METRICS_GROUP}/${METRICS_VERSION}`;

/** The two kinds, for the resource registry (discovery). */
export const METRICS_RESOURCES: ResourceType[] = [
  { group: METRICS_GROUP, version: METRICS_VERSION, kind: 'NodeMetrics', plural: 'nodes', singular: '', namespaced: false, verbs: ['get', 'list'], status: false, generation: false },
  { group: METRICS_GROUP, version: METRICS_VERSION, kind: 'PodMetrics', plural: 'pods', singular: '', namespaced: true, verbs: ['get', 'list'], status: false, generation: false },
];

/** What metrics.k8s.io says of a node, a pod's container: CPU over the last step, memory's working set. */
export interface UsageSample {
  cpuMilli: number;
  workingSetBytes: number;
}

/** One node's report: its own usage, and each running pod's containers. */
export interface NodeMetricsReport extends UsageSample {
  nodeName: string;
  timestampMs: number;
  /** The length of the last step, in seconds (the `window` of metrics.k8s.io). */
  windowSeconds: number;
  pods: { namespace: string; name: string; labels: Record<string, string>; containers: (UsageSample & { name: string })[] }[];
}

interface Reported {
  usage: NodeMetricsReport;
  labels: Record<string, string>;
  at: number;
}

/** What the nodes report; the API server reads it. A node that stops reporting drops out after `staleMs`. */
export class NodeMetricsStore {
  private readonly nodes = new Map<string, Reported>();

  constructor(private readonly staleMs = 120_000) {}

  report(nodeName: string, usage: NodeMetricsReport, nodeLabels: Record<string, string> = {}): void {
    this.nodes.set(nodeName, { usage, labels: nodeLabels, at: Date.now() });
  }

  remove(nodeName: string): void {
    this.nodes.delete(nodeName);
  }

  /** Reports with a usage window, fresh enough to serve. */
  current(now = Date.now()): Reported[] {
    return [...this.nodes.values()].filter((r) => r.usage.windowSeconds > 0 && now - r.at <= this.staleMs);
  }
}

function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}

function cpu(milli: number): string {
  return `${Math.round(milli * 1e6)}n`;
}

function memory(bytes: number): string {
  return bytes % 1024 === 0 ? `${bytes / 1024}Ki` : String(bytes);
}

function window(seconds: number): string {
  return `${Number(seconds.toFixed(3))}s`;
}

function nodeMetrics(r: Reported, now: number): any {
  const u = r.usage;
  return {
    metadata: { name: u.nodeName, creationTimestamp: rfc3339(now), labels: r.labels },
    timestamp: rfc3339(u.timestampMs),
    window: window(u.windowSeconds),
    usage: { cpu: cpu(u.cpuMilli), memory: memory(u.workingSetBytes) },
  };
}

function podMetrics(r: Reported, now: number): any[] {
  const u = r.usage;
  return u.pods
    .filter((p) => p.containers.length > 0)
    .map((p) => ({
      metadata: { name: p.name, namespace: p.namespace, creationTimestamp: rfc3339(now), labels: p.labels },
      timestamp: rfc3339(u.timestampMs),
      window: window(u.windowSeconds),
      containers: p.containers.map((c) => ({ name: c.name, usage: { cpu: cpu(c.cpuMilli), memory: memory(c.workingSetBytes) } })),
    }));
}

/** Answers a GET on `/apis/metrics.k8s.io/v1beta1/...`: the object or list to send. */
export function serveMetrics(store: NodeMetricsStore, plural: string, namespace: string | undefined, name: string | undefined, q: URLSearchParams): any {
  const now = Date.now();
  let selector: ReturnType<typeof parseLabelSelector> | undefined;
  try {
    const s = q.get('labelSelector');
    if (s) selector = parseLabelSelector(s);
  } catch (err) {
    if (err instanceof SelectorError) throw errors.badRequest(err.message);
    throw err;
  }
  const reports = store.current(now);
  let items: any[];
  let kind: string;
  if (plural === 'nodes') {
    kind = 'NodeMetrics';
    items = reports.map((r) => nodeMetrics(r, now));
  } else {
    kind = 'PodMetrics';
    items = reports.flatMap((r) => podMetrics(r, now)).filter((p) => namespace === undefined || p.metadata.namespace === namespace);
  }
  items = items.filter((i) => !selector || selector.matches(i.metadata.labels)).map((i) => ({ kind, apiVersion: API_VERSION, ...i }));
  if (name !== undefined) {
    const found = items.find((i) => i.metadata.name === name);
    if (!found) throw errors.notFound(plural, METRICS_GROUP, name);
    return found;
  }
  items.sort((a, b) => `${a.metadata.namespace ?? ''}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace ?? ''}/${b.metadata.name}`));
  return { kind: `${kind}List`, apiVersion: API_VERSION, metadata: {}, items: items.map(({ kind: _k, apiVersion: _a, ...rest }) => rest) };
}

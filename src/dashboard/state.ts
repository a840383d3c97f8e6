/**
 * The runtimes, versions and pods the page shows, read from the monitor's cache over its HTTP API
 * (Kubernetes-shaped reads with its bearer token) — never from the Kubernetes API. The monitor
 * serves no watches, so the dashboard reads it every `pollIntervalMs` and tells its listeners only
 * when what the page shows changed.
 */
import type { Logger } from 'pino';
import type { RuntimeVersionSpec } from '../api/index.ts';
import type { PodView, RuntimeView, StateView, VersionView } from './view.ts';

const GROUP_PATH = '/apis/kre.konstellation.io/v1alpha1';
/** A Runtime's condition per component, and the name the page gives it. */
const COMPONENTS: Record<string, string> = { MongoDBReady: 'MongoDB', NATSReady: 'NATS', MinIOReady: 'MinIO' };

interface Obj {
  metadata: { name?: string; namespace?: string; labels?: Record<string, string>; creationTimestamp?: string };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

export interface StateReaderOptions {
  url: string;
  token: string;
  pollIntervalMs: number;
  timeoutMs: number;
  logger: Logger;
}

export class StateReader {
  private view: StateView = { runtimes: [], error: 'the monitor has not been read yet', at: 0 };
  private text = '';
  private readonly listeners = new Set<(v: StateView) => void>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readOnce = false;
  private readonly base: string;
  /** The versions as last read, by `namespace/name`: what starting a stopped one sends back to the manager. */
  private versions = new Map<string, Obj>();

  constructor(private readonly o: StateReaderOptions) {
    this.base = o.url.replace(/\/+$/, '');
  }

  start(): void {
    void this.poll();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** True once the monitor answered at least once. */
  ready(): boolean {
    return this.readOnce;
  }

  /** A RuntimeVersion's spec as the monitor last served it: as stored, so it passed the CRD's schema. */
  versionSpec(namespace: string, name: string): RuntimeVersionSpec | undefined {
    return this.versions.get(`${namespace}/${name}`)?.spec as RuntimeVersionSpec | undefined;
  }

  current(): StateView {
    return this.view;
  }

  /** Called with every changed view; returns the unsubscribe. */
  subscribe(fn: (v: StateView) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private async poll(): Promise<void> {
    let next: StateView;
    try {
      next = await this.read();
      this.readOnce = true;
    } catch (err) {
      const message = `reading the monitor at ${this.base}: ${(err as Error).message}`;
      if (this.view.error !== message) this.o.logger.warn({ err: (err as Error).message }, 'reading the monitor failed');
      next = { ...this.view, error: message };
    }
    // `at` changes on every read; only a change of what is shown goes out.
    const text = JSON.stringify({ ...next, at: 0 });
    if (text !== this.text) {
      this.text = text;
      this.view = next;
      for (const fn of this.listeners) fn(next);
    } else this.view = { ...this.view, at: next.at };
    if (!this.stopped) this.timer = setTimeout(() => void this.poll(), this.o.pollIntervalMs);
  }

  private async get(path: string): Promise<Obj[]> {
    const res = await fetch(`${this.base}${path}`, {
      headers: { Authorization: `Bearer ${this.o.token}`, Accept: 'application/json' },
      signal: AbortSignal.timeout(this.o.timeoutMs),
    });
    const text = await res.text();
    if (!res.ok) {
      let message = text.slice(0, 300);
      try {
        message = (JSON.parse(text) as { message?: string }).message ?? message;
      } catch {
        // not JSON: keep the text
      }
      throw new Error(`GET ${path}: ${res.status} ${message}`);
    }
    return (JSON.parse(text) as { items?: Obj[] }).items ?? [];
  }

  private async read(): Promise<StateView> {
    const [runtimes, versions] = await Promise.all([this.get(`${GROUP_PATH}/runtimes`), this.get(`${GROUP_PATH}/runtimeversions`)]);
    this.versions = new Map(versions.map((v) => [`${v.metadata.namespace}/${v.metadata.name}`, v]));
    const namespaces = [...new Set(runtimes.map((r) => r.metadata.namespace ?? ''))].filter(Boolean);
    const pods = new Map(await Promise.all(namespaces.map(async (ns) => [ns, await this.get(`/api/v1/namespaces/${encodeURIComponent(ns)}/pods`)] as const)));
    return { runtimes: buildRuntimes(runtimes, versions, pods), error: '', at: Date.now() };
  }
}

export function buildRuntimes(runtimes: Obj[], versions: Obj[], podsByNamespace: Map<string, Obj[]>): RuntimeView[] {
  return runtimes
    .map((rt): RuntimeView => {
      const ns = rt.metadata.namespace ?? '';
      const pods = podsByNamespace.get(ns) ?? [];
      const published = (rt.spec?.publishedVersion as string | undefined) ?? '';
      const conditions = (rt.status?.conditions ?? []) as { type: string; status: string; message?: string }[];
      return {
        namespace: ns,
        name: rt.metadata.name ?? '',
        phase: (rt.status?.phase as string | undefined) ?? 'Pending',
        components: Object.entries(COMPONENTS).map(([type, name]) => {
          const c = conditions.find((x) => x.type === type);
          return { name, ready: c?.status === 'True', message: c?.message ?? (c ? '' : 'not reported yet') };
        }),
        publishedVersion: published,
        versions: versions
          .filter((v) => v.metadata.namespace === ns)
          .map((v) => versionView(v, published, pods))
          .sort((a, b) => a.name.localeCompare(b.name)),
        pods: pods.filter((p) => p.metadata.labels?.['version-name'] === undefined).map(podView).sort((a, b) => a.name.localeCompare(b.name)),
      };
    })
    .sort((a, b) => a.namespace.localeCompare(b.namespace));
}

function versionView(v: Obj, published: string, pods: Obj[]): VersionView {
  const name = v.metadata.name ?? '';
  const s = v.status ?? {};
  const notReady = ((s.conditions ?? []) as { status: string; type: string; message?: string }[]).filter((c) => c.status !== 'True' && c.message);
  return {
    name,
    state: (v.spec?.state as string | undefined) ?? 'Started',
    phase: (s.phase as string | undefined) ?? 'Pending',
    // The Runtime's spec says which one is published; the version's status follows it a moment later.
    published: published === name,
    ready: (s.ready as string | undefined) ?? '',
    message: notReady.map((c) => `${c.type}: ${c.message}`).join('; '),
    pods: pods.filter((p) => p.metadata.labels?.['version-name'] === name).map(podView).sort((a, b) => a.name.localeCompare(b.name)),
  };
}

function podView(p: Obj): PodView {
  const statuses = (p.status?.containerStatuses ?? []) as { restartCount?: number; ready?: boolean }[];
  return {
    name: p.metadata.name ?? '',
    phase: (p.status?.phase as string | undefined) ?? 'Pending',
    ready: statuses.length > 0 && statuses.every((c) => c.ready === true),
    restarts: statuses.reduce((n, c) => n + (c.restartCount ?? 0), 0),
    node: (p.spec?.nodeName as string | undefined) ?? '',
    created: p.metadata.creationTimestamp ?? '',
  };
}

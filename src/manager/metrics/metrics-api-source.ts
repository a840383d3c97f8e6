/**
 * The source for clusters without Prometheus: `metrics.k8s.io/v1beta1` PodMetrics (metrics-server,
 * or the devcluster's), sampled every interval for the pods of every version — one list across
 * namespaces of the pods labelled `version-name`, the label the operator puts on a version's pods —
 * into an in-memory history that answers range queries as Prometheus would: at each instant, the
 * latest sample at or before it (no older than the lookback).
 *
 * Bounded: `pointsPerVersion` samples per version (the oldest go first) and `versions` versions
 * (the one sampled least recently goes first, with a warning). A failed sample is remembered: until
 * the next one succeeds, queries answer UNAVAILABLE naming metrics.k8s.io and the reason, rather
 * than serving a history that silently stopped.
 */
import type { Logger } from 'pino';
import { parseQuantity, type KubeClient, type KubeList, type KubeObject } from '../../kube/index.ts';
import { unavailable } from './errors.ts';
import type { MetricsPoint } from './series.ts';
import type { MetricsSource, RangeQuery } from './source.ts';

export const POD_METRICS = { group: 'metrics.k8s.io', version: 'v1beta1', plural: 'pods' };

/** A `PodMetrics` of metrics.k8s.io: the usage of each container, as quantities, sampled at `timestamp`. */
interface PodMetrics extends KubeObject {
  timestamp?: string;
  window?: string;
  containers?: { name: string; usage?: { cpu?: string; memory?: string } }[];
}
/** The label the operator puts on every pod of a version (src/operator/version-objects.ts). */
export const VERSION_LABEL = 'version-name';

export interface MetricsApiSourceOptions {
  client: KubeClient;
  intervalMs: number;
  pointsPerVersion: number;
  versions: number;
  log?: Logger;
  /** Called after each sample, for the manager's metrics. */
  onSample?(outcome: 'ok' | 'error', seconds: number): void;
}

/**
 * A sample of a version: its sums, and until how long after `t` it stands for the version's usage
 * (seconds): the nodes measure over a window and report again one window later, and the sample
 * reaches the manager up to one interval after that.
 */
interface Sample extends MetricsPoint {
  reach: number;
}

/** A fixed-size ring of samples in time order. */
class History {
  private readonly points: Sample[] = [];
  constructor(private readonly limit: number) {}

  get lastT(): number | undefined {
    return this.points.at(-1)?.t;
  }

  add(p: Sample): void {
    if (this.lastT !== undefined && p.t <= this.lastT) return;
    this.points.push(p);
    if (this.points.length > this.limit) this.points.splice(0, this.points.length - this.limit);
  }

  /** The latest sample at or before `t` that still stands at `t`: within its reach, or at least `lookback`. */
  at(t: number, lookback: number): Sample | undefined {
    let lo = 0;
    let hi = this.points.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.points[mid].t <= t) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found < 0) return undefined;
    const p = this.points[found];
    return p.t > t - Math.max(lookback, p.reach) ? p : undefined;
  }
}

export class MetricsApiSource implements MetricsSource {
  readonly kind = 'metrics-api';
  private readonly histories = new Map<string, History>();
  private failure: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private running: Promise<void> | undefined;

  constructor(private readonly o: MetricsApiSourceOptions) {}

  /** Takes the first sample (its failure is remembered, not thrown) and goes on every interval. */
  async start(): Promise<void> {
    await this.sampleNow();
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.sampleNow().then(() => this.schedule());
    }, this.o.intervalMs);
  }

  /** One sample of every version's pods. */
  sampleNow(): Promise<void> {
    this.running ??= this.sample().finally(() => (this.running = undefined));
    return this.running;
  }

  private async sample(): Promise<void> {
    const started = performance.now();
    let list: KubeList<PodMetrics>;
    try {
      list = await this.o.client.list<PodMetrics>(POD_METRICS, { labelSelector: VERSION_LABEL });
    } catch (err) {
      const message = `metrics.k8s.io is unavailable: ${(err as Error).message}`;
      if (this.failure !== message) this.o.log?.warn({ err: (err as Error).message }, 'sampling metrics.k8s.io failed');
      this.failure = message;
      this.o.onSample?.('error', (performance.now() - started) / 1000);
      return;
    }
    this.failure = undefined;
    const sums = new Map<string, Sample>();
    const interval = this.o.intervalMs / 1000;
    for (const pm of list.items ?? []) {
      const ns = pm.metadata?.namespace;
      const version = pm.metadata?.labels?.[VERSION_LABEL];
      const t = Date.parse(pm.timestamp ?? '') / 1000;
      if (!ns || !version || !Number.isFinite(t)) continue;
      let cpu = 0;
      let mem = 0;
      for (const c of pm.containers ?? []) {
        cpu += quantity(c.usage?.cpu) * 1000;
        mem += quantity(c.usage?.memory);
      }
      const key = historyKey(ns, version);
      const s = sums.get(key);
      const reach = durationSeconds(pm.window) + 2 * interval;
      // Pods on different nodes are sampled at slightly different times: the point takes the latest.
      if (s) sums.set(key, { t: Math.max(s.t, t), cpu: s.cpu + cpu, mem: s.mem + mem, reach: Math.max(s.reach, reach) });
      else sums.set(key, { t, cpu, mem, reach });
    }
    for (const [key, p] of sums) this.history(key).add(p);
    this.o.onSample?.('ok', (performance.now() - started) / 1000);
  }

  private history(key: string): History {
    let h = this.histories.get(key);
    if (h) {
      // Most recently sampled last: the first entry is the one to evict.
      this.histories.delete(key);
      this.histories.set(key, h);
      return h;
    }
    if (this.histories.size >= this.o.versions) {
      const oldest = this.histories.keys().next().value!;
      this.histories.delete(oldest);
      this.o.log?.warn({ evicted: JSON.parse(oldest), limit: this.o.versions }, 'metrics history holds the most versions it may: the least recently sampled one is dropped');
    }
    h = new History(this.o.pointsPerVersion);
    this.histories.set(key, h);
    return h;
  }

  /** Why the last sample failed, while it has not succeeded since. */
  problem(): string | undefined {
    return this.failure;
  }

  async range(q: RangeQuery): Promise<MetricsPoint[]> {
    if (this.failure) throw unavailable(this.failure);
    const h = this.histories.get(historyKey(q.namespace, q.version));
    if (!h) return [];
    // As Prometheus' lookback: a sample stands for the instants after it until the next is due
    // (its reach: nodes report once a window, often 10 s or more), and at least a step.
    const lookback = Math.max(q.step, (2 * this.o.intervalMs) / 1000);
    const out: MetricsPoint[] = [];
    for (let t = q.start; t <= q.end; t += q.step) {
      const p = h.at(t, lookback);
      if (p) out.push({ t, cpu: p.cpu, mem: p.mem });
    }
    return out;
  }

  async close(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}

function historyKey(namespace: string, version: string): string {
  return JSON.stringify([namespace, version]);
}

const DURATION_UNITS: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 1e-3, us: 1e-6, µs: 1e-6, ns: 1e-9 };

/** A `window` as metrics.k8s.io gives it (a Go duration: `10.001s`, `1m0s`) in seconds; 0 when it is none. */
export function durationSeconds(v: unknown): number {
  if (typeof v !== 'string' || !/^(\d+(\.\d+)?(h|m|s|ms|us|µs|ns))+$/.test(v)) return 0;
  let total = 0;
  for (const m of v.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/g)) total += Number(m[1]) * DURATION_UNITS[m[2]];
  return total;
}

function quantity(v: unknown): number {
  if (typeof v !== 'string' && typeof v !== 'number') return 0;
  try {
    return parseQuantity(v);
  } catch {
    return 0;
  }
}

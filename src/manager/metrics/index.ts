/**
 * A version's CPU and memory, as the manager serves them: the source chosen by configuration
 * (Prometheus, metrics.k8s.io, or `auto`: Prometheus when it answers at start), GetVersion's range
 * answers and WatchVersion's shared pollers, and the manager's own metrics about them.
 */
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { KubeClient } from '../../kube/index.ts';
import type { MetricsConfig } from './config.ts';
import { MetricsApiSource } from './metrics-api-source.ts';
import { PrometheusClient } from './prometheus-client.ts';
import { PrometheusSource } from './prometheus-source.ts';
import { parseRangeRequest, parseWatchRequest, type VersionRequestFields } from './request.ts';
import { toWire, type VersionResourceMetrics } from './series.ts';
import type { MetricsSource } from './source.ts';
import { WatchHub, type StreamSink, type Subscription } from './watch.ts';

export { MetricsError, type MetricsErrorKind } from './errors.ts';
export { MetricsConfigSchema, parseMetricsConfig, mergeMetricsConfig, type MetricsConfig, type MetricsFlags } from './config.ts';
export type { StreamSink, Subscription } from './watch.ts';
export type { VersionResourceMetrics } from './series.ts';

export interface ResourceMetricsOptions {
  config: MetricsConfig;
  /** For the metrics.k8s.io source. */
  client: KubeClient;
  log: Logger;
  /** Where the manager's own metrics go. */
  registry?: Registry;
}

export interface ResourceMetrics {
  readonly source: MetricsSource;
  readonly hub: WatchHub;
  /** GetVersion: the request checked, then the version's points (throws `MetricsError`). */
  getVersion(req: Partial<VersionRequestFields>): Promise<VersionResourceMetrics[]>;
  /** Whether the source answered its last request (for the service's health). */
  ready(): boolean;
  /** WatchVersion: the request checked, then a stream on the version's shared poller. */
  watchVersion(req: Partial<VersionRequestFields>, sink: StreamSink): Subscription;
  close(): Promise<void>;
}

/** Outcomes that mean Prometheus is away or refuses the manager, as opposed to one bad query. */
const AWAY = new Set(['unreachable', 'timeout', 'unauthorized', 'failed']);

function prometheusClient(config: MetricsConfig, registry: Registry | undefined, onOutcome: (outcome: string) => void): PrometheusClient {
  const registers = registry ? [registry] : [];
  const requests = new Counter({ name: 'kre_manager_prometheus_requests_total', help: 'Requests to Prometheus by endpoint and outcome.', labelNames: ['endpoint', 'outcome'], registers });
  const duration = new Histogram({ name: 'kre_manager_prometheus_request_duration_seconds', help: 'Time Prometheus took to answer, by endpoint.', labelNames: ['endpoint'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers });
  const p = config.prometheus;
  return new PrometheusClient({
    ...p,
    onRequest(endpoint, outcome, seconds) {
      requests.inc({ endpoint, outcome });
      onOutcome(outcome);
      duration.observe({ endpoint }, seconds);
    },
  });
}

/** Prometheus answers a trivial query: the test `auto` makes at start. */
async function answers(client: PrometheusClient): Promise<string | undefined> {
  try {
    await client.query('vector(1)');
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

export async function startResourceMetrics(o: ResourceMetricsOptions): Promise<ResourceMetrics> {
  const { config, log } = o;
  const registers = o.registry ? [o.registry] : [];
  let source: MetricsSource;
  let prometheusAway = false;
  if (config.source === 'metrics-api') source = await metricsApiSource(o);
  else {
    const client = prometheusClient(config, o.registry, (outcome) => {
      if (outcome === 'ok') prometheusAway = false;
      else if (AWAY.has(outcome)) prometheusAway = true;
    });
    const problem = await answers(client);
    if (!problem || config.source === 'prometheus') {
      if (problem) log.warn({ prometheus: client.where, err: problem }, 'Prometheus does not answer yet: metric requests fail with UNAVAILABLE until it does');
      source = new PrometheusSource(client, config.prometheus);
    } else {
      log.warn({ prometheus: client.where, err: problem }, 'Prometheus does not answer: version metrics come from metrics.k8s.io');
      client.close();
      source = await metricsApiSource(o);
    }
  }
  log.info({ source: source.kind, ...(source instanceof PrometheusSource ? { prometheus: source.where } : {}) }, 'version metrics source');

  const pollers = new Gauge({ name: 'kre_manager_metrics_pollers', help: 'WatchVersion pollers running: one per (namespace, version, step) being watched.', registers });
  const streams = new Gauge({ name: 'kre_manager_metrics_streams', help: 'WatchVersion streams open.', registers });
  const hub = new WatchHub(source, {
    intervalMs: config.pollIntervalSeconds * 1000,
    bufferPoints: config.streamBufferPoints,
    maxStreams: config.maxStreams,
    maxPoints: config.maxPoints,
    log,
    onChange(p, s) {
      pollers.set(p);
      streams.set(s);
    },
  });

  return {
    source,
    hub,
    ready: () => (source instanceof MetricsApiSource ? source.problem() === undefined : !prometheusAway),
    async getVersion(req) {
      const r = parseRangeRequest(req, config.maxPoints);
      const points = await source.range({ namespace: r.namespace, version: r.version, start: r.from, end: r.to, step: r.step });
      return points.map(toWire);
    },
    watchVersion(req, sink) {
      return hub.subscribe(parseWatchRequest(req, config.maxPoints, Date.now() / 1000), sink);
    },
    async close() {
      hub.close();
      await source.close();
    },
  };
}

async function metricsApiSource(o: ResourceMetricsOptions): Promise<MetricsApiSource> {
  const registers = o.registry ? [o.registry] : [];
  const samples = new Counter({ name: 'kre_manager_metrics_api_samples_total', help: 'Samples of metrics.k8s.io PodMetrics by outcome.', labelNames: ['outcome'], registers });
  const s = new MetricsApiSource({
    client: o.client,
    intervalMs: o.config.pollIntervalSeconds * 1000,
    pointsPerVersion: o.config.history.pointsPerVersion,
    versions: o.config.history.versions,
    log: o.log,
    onSample: (outcome) => samples.inc({ outcome }),
  });
  await s.start();
  return s;
}

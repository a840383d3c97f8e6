/**
 * The manager's resource metrics against a real Prometheus scraping a devcluster whose version
 * runs with known usage:
 * - range queries Prometheus receives per poll interval for 1, 10 and 100 WatchVersion streams on
 *   one version: one shared poller vs one poller per stream (the seed's way), counted by
 *   Prometheus' own `prometheus_http_requests_total{handler="/api/v1/query_range"}`;
 * - GetVersion over gRPC vs the same two range queries sent directly to Prometheus with the same
 *   HTTP client (medians over repeats, ratio: the manager's cost), for 16, 241 and 1441 points.
 */
import { credentials, Metadata } from '@grpc/grpc-js';
import { RUNTIME_VERSIONS, RUNTIMES } from '../src/api/index.ts';
import { startDevCluster } from '../src/devcluster/index.ts';
import { eventually } from '../src/devcluster/testing.ts';
import { ResourceMetricsServiceClient, type Response, type VersionRequest } from '../src/gen/resourcemetrics/resourcemetrics.ts';
import { KubeClient } from '../src/kube/index.ts';
import { createLogger } from '../src/kube/logger.ts';
import { parseManagerConfig } from '../src/manager/config.ts';
import { parseMetricsConfig } from '../src/manager/metrics/index.ts';
import { clusterScrapeConfigs, startPodLabelsServer } from '../src/manager/metrics/metrics-testing.ts';
import { PrometheusClient } from '../src/manager/metrics/prometheus-client.ts';
import { PrometheusSource } from '../src/manager/metrics/prometheus-source.ts';
import { handlerRequests, startTestPrometheus } from '../src/manager/metrics/prometheus-testing.ts';
import { WatchHub, type StreamSink } from '../src/manager/metrics/watch.ts';
import { startResourceMetricsService } from '../src/manager/resource-metrics-service.ts';
import { startManager } from '../src/manager/server.ts';
import { startOperator } from '../src/operator/operator.ts';
import { installCustomResourceDefinitions } from '../src/operator/install.ts';
import { createNamespace, isReadyPod, PODS, runtimeObject, versionObject } from '../src/operator/testing.ts';

const NS = 'kre-bench';
const VERSION = 'v1';
const INTERVAL_S = 1;
const WINDOW_INTERVALS = 5;
const REPEATS = Number(process.env.KRE_BENCH_REPEATS ?? '30');
const log = createLogger('manager', 'silent');
const TOKEN = 'bench-token';

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sink = (): StreamSink => ({ write: () => true, onDrain: () => {}, fail: () => {} });

export async function run(): Promise<void> {
  const cluster = await startDevCluster({ nodes: 2 });
  const kube = new KubeClient(cluster.kubeConfig());
  await installCustomResourceDefinitions(kube);
  const operator = startOperator({ client: kube, leaderElection: false, logger: createLogger('operator', 'silent') });
  const labels = await startPodLabelsServer(kube);
  const prom = await startTestPrometheus({ scrapeInterval: '1s', files: { 'kubelet-token': cluster.token }, scrapeConfigs: clusterScrapeConfigs(cluster, 'kubelet-token', labels.target) });
  try {
    await createNamespace(kube, NS);
    await kube.create({ ...RUNTIMES, namespace: NS }, runtimeObject(NS, NS, { developmentMode: true }));
    await kube.create({ ...RUNTIME_VERSIONS, namespace: NS }, versionObject(NS, VERSION, { greeting: ['parse', 'greet'] }));
    await eventually(async () => {
      const list = (await kube.list({ ...PODS, namespace: NS }, { labelSelector: `version-name=${VERSION}` })).items;
      return list.length === 3 && list.every(isReadyPod);
    }, 180_000, 'the version running');
    const config = parseMetricsConfig({ source: 'prometheus', prometheus: { url: prom.url, rateWindow: '30s' }, pollIntervalSeconds: INTERVAL_S });
    const client = new PrometheusClient(config.prometheus);
    const source = new PrometheusSource(client, config.prometheus);
    // Wait for data: two scrapes of the kubelets' usage steps make a rate.
    await eventually(async () => (await source.range({ namespace: NS, version: VERSION, start: Date.now() / 1000 - 5, end: Date.now() / 1000, step: 1 })).length > 0, 180_000, 'points in Prometheus');

    console.log(`### Range queries per ${INTERVAL_S}s poll interval (over ${WINDOW_INTERVALS} intervals), streams on one version\n`);
    console.log('| streams | shared poller | poller per stream | per-stream / shared |');
    console.log('| ---: | ---: | ---: | ---: |');
    const opts = { intervalMs: INTERVAL_S * 1000, bufferPoints: 1000, maxStreams: 100_000, maxPoints: 11_000, log };
    const req = { namespace: NS, version: VERSION, step: 1 };
    const perInterval = async (subscribe: () => Array<{ cancel(): void }>) => {
      const subs = subscribe();
      await sleep(INTERVAL_S * 1000 * 1.5);
      const before = await handlerRequests(prom.url, '/api/v1/query_range');
      const t0 = performance.now();
      await sleep(INTERVAL_S * 1000 * WINDOW_INTERVALS);
      const after = await handlerRequests(prom.url, '/api/v1/query_range');
      const intervals = (performance.now() - t0) / 1000 / INTERVAL_S;
      for (const s of subs) s.cancel();
      await sleep(INTERVAL_S * 1000);
      return (after - before) / intervals;
    };
    for (const n of [1, 10, 100]) {
      const hub = new WatchHub(source, opts);
      const shared = await perInterval(() => Array.from({ length: n }, () => hub.subscribe(req, sink())));
      const perStream = await perInterval(() => Array.from({ length: n }, () => new WatchHub(source, opts).subscribe(req, sink())));
      console.log(`| ${n} | ${shared.toFixed(1)} | ${perStream.toFixed(1)} | ${(perStream / shared).toFixed(1)}× |`);
    }

    // `kre manager`'s server, with its bearer-token check, serving the resource metrics.
    const managerConfig = parseManagerConfig({ listen: '127.0.0.1:0', metrics: { source: 'prometheus', prometheus: { url: prom.url, rateWindow: '30s' } } });
    const service = await startResourceMetricsService({ config: managerConfig.metrics, kube, logger: log });
    const manager = await startManager({ config: managerConfig, token: TOKEN, kube, logger: log, resourceMetrics: service.handlers });
    const grpc = new ResourceMetricsServiceClient(`127.0.0.1:${manager.port}`, credentials.createInsecure());
    const auth = new Metadata();
    auth.set('authorization', `Bearer ${TOKEN}`);
    const getVersion = (r: VersionRequest) => new Promise<Response>((resolve, reject) => grpc.getVersion(r, auth, (e, res) => (e ? reject(e) : resolve(res!))));
    const queries = source.queries(NS, VERSION);
    // Directly: the same two queries at once over the same HTTP client, without gRPC or the manager.
    const direct = (start: number, end: number, step: number) => Promise.all([client.queryRange(queries.cpu, start, end, step), client.queryRange(queries.memory, start, end, step)]);

    console.log(`\n### GetVersion over gRPC vs the same two queries sent directly to Prometheus (median of ${REPEATS})\n`);
    // The gRPC round trip alone: a request the manager refuses before querying anything.
    const refused = () => getVersion({ versionName: VERSION, namespace: NS, fromDate: '', toDate: '', step: 0 }).catch(() => undefined);
    console.log('| points | direct (ms) | GetVersion (ms) | ratio | gRPC round trip alone (ms) |');
    console.log('| ---: | ---: | ---: | ---: | ---: |');
    for (const points of [16, 241, 1441]) {
      const step = 1;
      const to = Math.floor(Date.now() / 1000);
      const from = to - (points - 1) * step;
      const req = { versionName: VERSION, namespace: NS, fromDate: new Date(from * 1000).toISOString(), toDate: new Date(to * 1000).toISOString(), step };
      const d: number[] = [];
      const g: number[] = [];
      const time = async (fn: () => Promise<unknown>, into: number[]) => {
        const t = performance.now();
        await fn();
        into.push(performance.now() - t);
      };
      const r: number[] = [];
      const runs: Array<[() => Promise<unknown>, number[]]> = [
        [() => direct(from, to, step), d],
        [() => getVersion(req), g],
        [refused, r],
      ];
      for (let i = 0; i < REPEATS; i++) {
        // Rotating which goes first, so none always meets a warmer Prometheus or event loop.
        for (let k = 0; k < runs.length; k++) {
          const [fn, into] = runs[(i + k) % runs.length];
          await time(fn, into);
        }
      }
      console.log(`| ${points} | ${median(d).toFixed(2)} | ${median(g).toFixed(2)} | ${(median(g) / median(d)).toFixed(2)} | ${median(r).toFixed(2)} |`);
    }
    grpc.close();
    await service.close();
    await manager.stop();
    await source.close();
  } finally {
    await prom.stop();
    await labels.close();
    await operator.stop();
    kube.close();
    await cluster.stop();
  }
}

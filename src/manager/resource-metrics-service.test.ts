/**
 * The ResourceMetricsService over real sockets: a devcluster with nodes and the operator running a
 * version whose pods have known usage, a real Prometheus scraping the simulated kubelets' cAdvisor
 * and a kube_pod_labels source, and gRPC clients generated from the contract.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { credentials, InterceptingCall, status, type ClientReadableStream, type Interceptor, type ServiceError } from '@grpc/grpc-js';
import { after, before, describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { RUNTIME_VERSIONS, RUNTIMES } from '../api/index.ts';
import { startDevCluster, type DevCluster } from '../devcluster/index.ts';
import { eventually } from '../devcluster/testing.ts';
import { ResourceMetricsServiceClient, type Response, type VersionRequest } from '../gen/resourcemetrics/resourcemetrics.ts';
import { KubeClient, type Pod } from '../kube/index.ts';
import { createLogger } from '../kube/logger.ts';
import { startOperator, type Operator } from '../operator/operator.ts';
import { installCustomResourceDefinitions } from '../operator/install.ts';
import { createNamespace, isReadyPod, PODS, runtimeObject, versionObject } from '../operator/testing.ts';
import { parseManagerConfig } from './config.ts';
import { parseMetricsConfig, startResourceMetrics, type ResourceMetrics } from './metrics/index.ts';
import { clusterScrapeConfigs, startPodLabelsServer, type PodLabelsServer } from './metrics/metrics-testing.ts';
import { handlerRequests, startTestPrometheus, type TestPrometheus } from './metrics/prometheus-testing.ts';
import { startResourceMetricsService } from './resource-metrics-service.ts';
import { startManager } from './server.ts';

const WAIT = 120_000;
const KRE = new URL('../../bin/kre.js', import.meta.url).pathname;
const NS = 'kre-metrics';
const VERSION = 'v1';
/** What each container of the version's pods uses, set through the devcluster's usage annotations. */
const CPU_MILLI = 150;
const MEMORY_BYTES = 96 * 1024 * 1024;
const quiet = createLogger('manager', process.env.KRE_LOG_LEVEL ?? 'warn');

interface Served {
  metrics: ResourceMetrics;
  client: ResourceMetricsServiceClient;
  registry: Registry;
  port: number;
  stop(): Promise<void>;
}

const TOKEN = 'metrics-test-token';

/** Sends the manager's bearer token with every call. */
const withToken =
  (token: string): Interceptor =>
  (options, next) =>
    new InterceptingCall(next(options), {
      start(metadata, listener, nextStart) {
        metadata.set('authorization', `Bearer ${token}`);
        nextStart(metadata, listener);
      },
    });

/** `kre manager`'s server with the resource metrics of its `metrics` configuration, and a client of it. */
async function serve(kube: KubeClient, metricsConfig: Record<string, unknown>): Promise<Served> {
  const config = parseManagerConfig({ listen: '127.0.0.1:0', metrics: metricsConfig });
  const registry = new Registry();
  const service = await startResourceMetricsService({ config: config.metrics, kube, logger: quiet, registry });
  const manager = await startManager({ config, token: TOKEN, kube, logger: quiet, registry, resourceMetrics: service.handlers, resourceMetricsReady: service.ready });
  const client = new ResourceMetricsServiceClient(`127.0.0.1:${manager.port}`, credentials.createInsecure(), { interceptors: [withToken(TOKEN)] });
  return {
    metrics: service.metrics,
    client,
    registry,
    port: manager.port,
    async stop() {
      client.close();
      await service.close();
      await manager.stop();
    },
  };
}

function getVersion(client: ResourceMetricsServiceClient, req: Partial<VersionRequest>): Promise<Response> {
  return new Promise((resolve, reject) => client.getVersion(req as VersionRequest, (err, res) => (err ? reject(err) : resolve(res!))));
}

async function grpcError(p: Promise<unknown>, code: status, details: RegExp): Promise<void> {
  await assert.rejects(p, (e: ServiceError) => {
    assert.equal(e.code, code, e.details);
    assert.match(e.details, details);
    return true;
  });
}

/** A stream's messages and how it ended. */
function collect(stream: ClientReadableStream<Response>) {
  const out = { messages: [] as Response[], error: undefined as ServiceError | undefined, ended: false };
  stream.on('data', (m: Response) => out.messages.push(m));
  stream.on('error', (e: ServiceError) => (out.error = e));
  stream.on('end', () => (out.ended = true));
  return out;
}

const iso = (ms: number) => new Date(ms).toISOString();
/** GetVersion of the test's version over the last `seconds`. */
const recent = (client: ResourceMetricsServiceClient, seconds: number, step: number) => {
  const now = Date.now();
  return getVersion(client, { versionName: VERSION, namespace: NS, fromDate: iso(now - seconds * 1000), toDate: iso(now), step });
};
const within = (actual: number, expected: number, tolerance: number) => Math.abs(actual - expected) <= expected * tolerance;

describe('ResourceMetricsService on a devcluster with a real Prometheus', () => {
  let cluster: DevCluster;
  let kube: KubeClient;
  let operator: Operator;
  let labels: PodLabelsServer;
  let prom: TestPrometheus;
  let viaPrometheus: Served;
  /** The containers of the version's pods: the expected sums are this many times the per-container usage. */
  let containers = 0;
  const expected = () => ({ cpu: containers * CPU_MILLI, mem: containers * MEMORY_BYTES });

  before(async () => {
    cluster = await startDevCluster({ nodes: 2 });
    kube = new KubeClient(cluster.kubeConfig());
    await installCustomResourceDefinitions(kube);
    operator = startOperator({ client: kube, leaderElection: false, logger: createLogger('operator', 'warn') });
    await createNamespace(kube, NS);
    await kube.create({ ...RUNTIMES, namespace: NS }, runtimeObject(NS, NS, { developmentMode: true }));
    await kube.create({ ...RUNTIME_VERSIONS, namespace: NS }, versionObject(NS, VERSION, { greeting: ['parse', 'greet'] }));
    const pods = await eventually(async () => {
      const list = (await kube.list<Pod>({ ...PODS, namespace: NS }, { labelSelector: `version-name=${VERSION}` })).items;
      return list.length === 3 && list.every(isReadyPod) && list;
    }, WAIT, 'the version\'s three pods ready');
    // A RuntimeVersion has no pod annotations of its own: the usage goes on the pods, where the
    // simulated kubelets read it (a memory ramp of 0 reaches the target at once).
    for (const p of pods) {
      containers += p.spec?.containers.length ?? 0;
      await kube.patch({ ...PODS, namespace: NS, name: p.metadata.name! }, {
        metadata: { annotations: { 'kre.konstellation.io/cpu-millicores': String(CPU_MILLI), 'kre.konstellation.io/memory-bytes': String(MEMORY_BYTES), 'kre.konstellation.io/memory-ramp-seconds': '0' } },
      });
    }
    labels = await startPodLabelsServer(kube);
    prom = await startTestPrometheus({ scrapeInterval: '1s', files: { 'kubelet-token': cluster.token }, scrapeConfigs: clusterScrapeConfigs(cluster, 'kubelet-token', labels.target) });
    viaPrometheus = await serve(kube, { source: 'prometheus', prometheus: { url: prom.url, rateWindow: '30s' }, pollIntervalSeconds: 2 });
  });

  after(async () => {
    await viaPrometheus?.stop();
    await prom?.stop();
    await labels?.close();
    await operator?.stop();
    kube?.close();
    await cluster?.stop();
  });

  test('GetVersion answers the pods\' CPU in millicores and memory working set, at the asked step', async () => {
    const { cpu, mem } = expected();
    // The usage model steps every 10 s with ±10 % noise on CPU; the working set is the memory
    // less its inactive file pages (about 5 %).
    const res = await eventually(async () => {
      const r = await recent(viaPrometheus.client, 20, 5);
      const last = r.versionResourceMetrics.slice(-3);
      return last.length === 3 && last.every((p) => within(p.cpu, cpu, 0.12) && within(p.mem, mem * 0.95, 0.02)) && r;
    }, WAIT, `CPU near ${cpu}m and memory near ${mem * 0.95} bytes`);
    const points = res.versionResourceMetrics;
    for (const p of points) assert.match(p.date, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    const seconds = points.map((p) => Date.parse(p.date) / 1000);
    for (let i = 1; i < seconds.length; i++) assert.equal(seconds[i] - seconds[i - 1], 5);
  });

  test('a version in another namespace with the same name is not mixed in, and an unknown version has no points', async () => {
    const now = Date.now();
    const other = await getVersion(viaPrometheus.client, { versionName: VERSION, namespace: 'kre-elsewhere', fromDate: iso(now - 30_000), toDate: iso(now), step: 5 });
    assert.deepEqual(other.versionResourceMetrics, []);
    const unknown = await getVersion(viaPrometheus.client, { versionName: 'v9', namespace: NS, fromDate: iso(now - 30_000), toDate: iso(now), step: 5 });
    assert.deepEqual(unknown.versionResourceMetrics, []);
  });

  test('malformed requests answer INVALID_ARGUMENT naming the field, for GetVersion and WatchVersion', async () => {
    const now = Date.now();
    const ok = { versionName: VERSION, namespace: NS, fromDate: iso(now - 60_000), toDate: iso(now), step: 15 };
    const c = viaPrometheus.client;
    await grpcError(getVersion(c, { ...ok, versionName: '' }), status.INVALID_ARGUMENT, /^versionName: is required/);
    await grpcError(getVersion(c, { ...ok, versionName: 'v1"} or vector(1)' }), status.INVALID_ARGUMENT, /^versionName: .* is not a valid name/);
    await grpcError(getVersion(c, { ...ok, namespace: 'Kre' }), status.INVALID_ARGUMENT, /^namespace: /);
    await grpcError(getVersion(c, { ...ok, fromDate: 'last week' }), status.INVALID_ARGUMENT, /^fromDate: .*not an RFC 3339 date/);
    await grpcError(getVersion(c, { ...ok, toDate: '' }), status.INVALID_ARGUMENT, /^toDate: is required/);
    await grpcError(getVersion(c, { ...ok, toDate: iso(now - 120_000) }), status.INVALID_ARGUMENT, /^toDate: .* is before fromDate/);
    await grpcError(getVersion(c, { ...ok, step: 0 }), status.INVALID_ARGUMENT, /^step: must be a positive/);
    await grpcError(getVersion(c, { ...ok, step: -5 }), status.INVALID_ARGUMENT, /^step: must be a positive/);
    await grpcError(getVersion(c, { ...ok, fromDate: iso(now - 86_400_000 * 7), step: 1 }), status.INVALID_ARGUMENT, /^step: .* more than the 11000 .* at least 55s/);
    // The field is also in the `kre-field` trailer.
    await assert.rejects(getVersion(c, { ...ok, step: 0 }), (e: ServiceError) => e.metadata.get('kre-field')[0] === 'step');
    const anonymous = new ResourceMetricsServiceClient(`127.0.0.1:${viaPrometheus.port}`, credentials.createInsecure());
    await grpcError(getVersion(anonymous, ok), status.UNAUTHENTICATED, /authorization/);
    anonymous.close();
    const watch = collect(c.watchVersion({ ...ok, step: 0 }));
    await eventually(() => watch.error, WAIT, 'the stream refused');
    assert.equal(watch.error!.code, status.INVALID_ARGUMENT);
    assert.match(watch.error!.details, /^step: /);
    assert.equal(viaPrometheus.metrics.hub.stats().streams, 0);
  });

  test('50 WatchVersion streams on one version cost one pair of queries per interval; a client that goes away releases its stream', async () => {
    const req = { versionName: VERSION, namespace: NS, fromDate: '', toDate: '', step: 1 };
    const streams = Array.from({ length: 50 }, () => viaPrometheus.client.watchVersion(req));
    const got = streams.map(collect);
    await eventually(() => got.every((g) => g.messages.length >= 1), WAIT, 'a first point on every stream');
    assert.deepEqual(viaPrometheus.metrics.hub.stats(), { pollers: 1, streams: 50 });
    const before = await handlerRequests(prom.url, '/api/v1/query_range');
    const startedAt = Date.now();
    const seen = got.map((g) => g.messages.length);
    await eventually(() => got.every((g, i) => g.messages.length >= seen[i] + 3), WAIT, 'three more messages on every stream');
    const queries = (await handlerRequests(prom.url, '/api/v1/query_range')) - before;
    const intervals = Math.floor((Date.now() - startedAt) / 2000) + 1;
    // Per-stream polling would have sent 100 queries per interval.
    assert.ok(queries <= 2 * intervals, `${queries} range queries over ${intervals} intervals for 50 streams`);
    assert.ok(queries >= 2, `${queries} range queries`);
    // Points arrive in order, each once, with the version's usage.
    const points = got[0].messages.flatMap((m) => m.versionResourceMetrics);
    const seconds = points.map((p) => Date.parse(p.date) / 1000);
    for (let i = 1; i < seconds.length; i++) assert.ok(seconds[i] > seconds[i - 1], `${points[i].date} after ${points[i - 1].date}`);
    assert.ok(points.every((p) => p.cpu > 0 && p.mem > 0));
    const text = await viaPrometheus.registry.metrics();
    assert.match(text, /kre_manager_metrics_streams 50/);
    assert.match(text, /kre_manager_metrics_pollers 1/);
    for (const s of streams.slice(0, 49)) s.cancel();
    await eventually(() => viaPrometheus.metrics.hub.stats().streams === 1, WAIT, 'cancelled streams released');
    assert.equal(viaPrometheus.metrics.hub.stats().pollers, 1);
    streams[49].cancel();
    await eventually(() => viaPrometheus.metrics.hub.stats().pollers === 0, WAIT, 'the poller stopped with its last stream');
  });

  test('a stream with fromDate gets the points since then first', async () => {
    const now = Date.now();
    const stream = viaPrometheus.client.watchVersion({ versionName: VERSION, namespace: NS, fromDate: iso(now - 20_000), toDate: '', step: 5 });
    const g = collect(stream);
    await eventually(() => g.messages.length >= 2, WAIT, 'the backfill and a new point');
    const seconds = g.messages.flatMap((m) => m.versionResourceMetrics).map((p) => Date.parse(p.date) / 1000);
    assert.ok(g.messages[0].versionResourceMetrics.length >= 3, 'the backfill holds the last 20 s');
    assert.ok(seconds[0] >= now / 1000 - 20 && seconds[0] % 5 === 0);
    for (let i = 1; i < seconds.length; i++) assert.equal(seconds[i] - seconds[i - 1], 5);
    stream.cancel();
    await eventually(() => viaPrometheus.metrics.hub.stats().streams === 0, WAIT, 'released');
  });

  test('metrics.k8s.io as the source: the same numbers without Prometheus', async () => {
    const viaApi = await serve(kube, { source: 'metrics-api', pollIntervalSeconds: 1 });
    try {
      assert.equal(viaApi.metrics.source.kind, 'metrics-api');
      const { cpu, mem } = expected();
      const res = await eventually(async () => {
        const r = await recent(viaApi.client, 30, 2);
        const last = r.versionResourceMetrics.at(-1);
        return last && r.versionResourceMetrics.length >= 2 && r;
      }, WAIT, 'points from metrics.k8s.io');
      // metrics.k8s.io gives the rate over the last 10 s step: ±10 % noise per container.
      for (const p of res.versionResourceMetrics) {
        assert.ok(within(p.cpu, cpu, 0.11), `cpu ${p.cpu} near ${cpu}`);
        assert.ok(within(p.mem, mem * 0.95, 0.02), `mem ${p.mem} near ${mem * 0.95}`);
      }
      // The nodes report once every 10 s; a sample stands until the next is due, so a graph at a
      // 1 s step has a point at (nearly) every step, not two after each report.
      let seen: string[] = [];
      await eventually(
        async () => {
          seen = (await recent(viaApi.client, 30, 1)).versionResourceMetrics.map((p) => p.date);
          return seen.length >= 25;
        },
        WAIT,
        'a point at nearly every 1 s step of the last 30 s',
      ).catch((err: Error) => assert.fail(`${err.message}: ${seen.length} points, at ${seen.join(' ')}`));
      const stream = viaApi.client.watchVersion({ versionName: VERSION, namespace: NS, fromDate: '', toDate: '', step: 1 });
      const g = collect(stream);
      await eventually(() => g.messages.length >= 2, WAIT, 'two messages from the metrics.k8s.io poller');
      assert.ok(g.messages.flatMap((m) => m.versionResourceMetrics).every((p) => within(p.cpu, cpu, 0.11)));
      stream.cancel();
      assert.match(await viaApi.registry.metrics(), /kre_manager_metrics_api_samples_total\{outcome="ok"\} [1-9]/);
    } finally {
      await viaApi.stop();
    }
  });

  test('auto picks metrics.k8s.io when Prometheus does not answer at start', async () => {
    const config = parseMetricsConfig({ source: 'auto', prometheus: { url: 'http://127.0.0.1:1', timeoutSeconds: 2 } });
    const m = await startResourceMetrics({ config, client: kube, log: quiet });
    try {
      assert.equal(m.source.kind, 'metrics-api');
    } finally {
      await m.close();
    }
    const m2 = await startResourceMetrics({ config: parseMetricsConfig({ source: 'auto', prometheus: { url: prom.url } }), client: kube, log: quiet });
    try {
      assert.equal(m2.source.kind, 'prometheus');
    } finally {
      await m2.close();
    }
  });

  test('kre manager: metrics flags, the source in its ready line, bad metrics configuration exits 2, and SIGTERM ends open streams', async () => {
    const env = { ...process.env, KRE_MANAGER_TOKEN: TOKEN, KRE_LOG_LEVEL: 'info' };
    const bad = await promisify(execFile)(process.execPath, [KRE, 'manager', '--kubeconfig', cluster.kubeconfigPath, '--listen', '127.0.0.1:0', '--prometheus-ca-file', '/nonexistent/ca.crt', '--prometheus-url', 'https://127.0.0.1:1'], { env }).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(bad?.code, 2);
    assert.match(bad!.stderr, /metrics\.prometheus\.caFile: cannot read \/nonexistent\/ca\.crt: ENOENT/);
    const child = spawn(process.execPath, [KRE, 'manager', '--kubeconfig', cluster.kubeconfigPath, '--listen', '127.0.0.1:0', '--metrics-source', 'metrics-api', '--metrics-poll-interval', '1'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let client: ResourceMetricsServiceClient | undefined;
    let stopping = false;
    try {
      const ready = JSON.parse(await eventually(() => out.split('\n').find((l) => l.includes('"msg":"ready"')), WAIT, 'the ready line'));
      assert.equal(ready.metricsSource, 'metrics-api');
      client = new ResourceMetricsServiceClient(ready.grpc.replace('grpc://', ''), credentials.createInsecure(), { interceptors: [withToken(TOKEN)] });
      const stream = collect(client.watchVersion({ versionName: VERSION, namespace: NS, fromDate: '', toDate: '', step: 1 }));
      await eventually(() => stream.messages.length >= 1, WAIT, 'a point from kre manager');
      assert.ok(stream.messages[0].versionResourceMetrics[0].cpu > 0);
      stopping = child.kill('SIGTERM');
      await eventually(() => stream.error, WAIT, 'the stream ended by the shutdown');
      assert.equal(stream.error!.code, status.UNAVAILABLE);
      assert.match(stream.error!.details, /shutting down/);
    } finally {
      client?.close();
      // A second signal would end it at once: only when the test failed before stopping it.
      if (!stopping) child.kill('SIGKILL');
    }
    assert.equal(await exited, 0, out);
    assert.match(out, /"msg":"stopped"/);
  });

  test('Prometheus killed mid-stream: every stream ends with UNAVAILABLE and the reason, and GetVersion says so', async () => {
    const req = { versionName: VERSION, namespace: NS, fromDate: '', toDate: '', step: 1 };
    const streams = Array.from({ length: 3 }, () => collect(viaPrometheus.client.watchVersion(req)));
    await eventually(() => streams.every((g) => g.messages.length >= 1), WAIT, 'streams running');
    assert.equal(viaPrometheus.metrics.ready(), true);
    await prom.kill();
    await eventually(() => streams.every((g) => g.error), WAIT, 'every stream ended');
    for (const g of streams) {
      assert.equal(g.error!.code, status.UNAVAILABLE);
      assert.match(g.error!.details, new RegExp(`Prometheus at ${prom.url.replace(/[.]/g, '\\.')} is unreachable: ECONNREFUSED`));
    }
    assert.deepEqual(viaPrometheus.metrics.hub.stats(), { pollers: 0, streams: 0 });
    // The manager's health service reports the resource metrics NOT_SERVING from here on.
    assert.equal(viaPrometheus.metrics.ready(), false);
    const now = Date.now();
    await grpcError(getVersion(viaPrometheus.client, { versionName: VERSION, namespace: NS, fromDate: iso(now - 60_000), toDate: iso(now), step: 15 }), status.UNAVAILABLE, /Prometheus at .* is unreachable/);
    const late = collect(viaPrometheus.client.watchVersion(req));
    await eventually(() => late.error, WAIT, 'a new stream ends too');
    assert.equal(late.error!.code, status.UNAVAILABLE);
  });
});

/**
 * The monitor against the devcluster's API server in the same run:
 * - a query by namespace and label selector, and a full LIST of pods, read from the monitor vs
 *   from the API server (medians), at 10,000 and 50,000 pods (`KRE_BENCH_SCALE=0.1` shrinks);
 * - watch events ingested per second, against the rate the server wrote them;
 * - heap per cached object (all three views), against the same objects in a plain array;
 * - requests reaching the API server while 100 clients read once a second for 10 s, through the
 *   monitor vs directly;
 * - with Redis (a real redis-server), at 10,000 pods: the same query from a replica that reads
 *   Redis vs from the in-memory monitor vs from the API server (medians, ratios), and the Redis
 *   commands the writer sends per watch event (INFO commandstats before and after), for a change of
 *   labels and for a change of anything else.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { KubeConfig } from '@kubernetes/client-node';
import { startDevCluster, type DevClusterOptions } from '../src/devcluster/index.ts';
import { KubeClient, type KubeObject } from '../src/kube/index.ts';
import { parseMonitorConfig } from '../src/monitor/config.ts';
import { startMonitor } from '../src/monitor/monitor.ts';
import { createRedisClient } from '../src/monitor/redis-store.ts';
import { startTestRedis } from '../src/monitor/redis-testing.ts';

const SCALE = Number(process.env.KRE_BENCH_SCALE ?? '1');
const NAMESPACES = 10;
const PODS = { group: '', version: 'v1', plural: 'pods' };
const TOKEN = 'bench-token';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

export async function run(): Promise<void> {
  const sizes = [10_000, 50_000].map((n) => Math.max(100, Math.round(n * SCALE)));
  const cluster = await startDevCluster({ nodes: 0 } as DevClusterOptions);
  const api = new KubeClient(cluster.kubeConfig());
  try {
    for (let i = 0; i < NAMESPACES; i++) {
      await api.create({ group: '', version: 'v1', plural: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: `ns-${i}` } });
    }
    let created = 0;
    for (const size of sizes) {
      gc();
      const heapBefore = process.memoryUsage().heapUsed;
      const monitor = await startMonitor({
        config: parseMonitorConfig({ listen: '127.0.0.1:0', defaultResources: false, resources: ['v1/pods'], verifyIntervalSeconds: 3600, canaryIntervalSeconds: 0 }),
        token: TOKEN,
        kubeConfig: cluster.kubeConfig(),
      });
      const viaMonitor = new KubeClient(monitorKubeConfig(monitor.url));
      console.log(`\n### ${size} pods`);
      const target = size;
      const t0 = performance.now();
      const written = createPods(api, created, target - created);
      let wroteAt = 0;
      void written.then(() => (wroteAt = performance.now()));
      while ((await monitor.store.sizes('pods')).streamed < target) await sleep(20);
      const ingestedAt = performance.now();
      await written;
      const count = target - created;
      created = target;
      const writeRate = count / ((wroteAt - t0) / 1000);
      const ingestRate = count / ((ingestedAt - t0) / 1000);
      console.log(`events ingested: ${ingestRate.toFixed(0)} events/s; baseline, the server's write rate: ${writeRate.toFixed(0)} writes/s (ratio ${(ingestRate / writeRate).toFixed(2)}; bounded by the writes)`);
      await monitor.verifyNow('pods');

      const query = { namespace: 'ns-3', labelSelector: 'app=app-7' };
      const q = await compare(11, () => api.list({ ...PODS, namespace: query.namespace }, { labelSelector: query.labelSelector }), () =>
        viaMonitor.list({ ...PODS, namespace: query.namespace }, { labelSelector: query.labelSelector }),
      );
      console.log(`query by namespace and label selector: monitor ${q.monitor.toFixed(2)} ms, API server ${q.server.toFixed(2)} ms (median; monitor/server ${(q.monitor / q.server).toFixed(3)})`);
      const l = await compare(5, () => api.list(PODS), () => viaMonitor.list(PODS));
      console.log(`full LIST of ${size} pods: monitor ${l.monitor.toFixed(0)} ms, API server ${l.server.toFixed(0)} ms (median; monitor/server ${(l.monitor / l.server).toFixed(3)})`);

      if (size === sizes[0]) await redisReplicas(cluster, api, viaMonitor, size);

      if (size === sizes[sizes.length - 1]) {
        gc();
        const heapWith = process.memoryUsage().heapUsed;
        const perObject = (heapWith - heapBefore) / size;
        const baseline = arrayHeapPerObject((await api.list(PODS)).items);
        console.log(`heap per cached pod, three views: ${perObject.toFixed(0)} bytes; baseline, the objects in an array: ${baseline.toFixed(0)} bytes (ratio ${(perObject / baseline).toFixed(2)})`);
        await clientLoad(cluster, api, viaMonitor);
      }
      viaMonitor.close();
      await monitor.stop();
    }
  } finally {
    api.close();
    await cluster.stop();
  }
}

function monitorKubeConfig(url: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'monitor', server: url, skipTLSVerify: true }],
    users: [{ name: 'u', token: TOKEN }],
    contexts: [{ name: 'monitor', cluster: 'monitor', user: 'u' }],
    currentContext: 'monitor',
  });
  return kc;
}

async function createPods(api: KubeClient, from: number, count: number): Promise<void> {
  let next = from;
  const end = from + count;
  const writer = async () => {
    while (next < end) {
      const i = next++;
      await api.create({ ...PODS, namespace: `ns-${i % NAMESPACES}` }, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `pod-${i}`, labels: { app: `app-${i % 100}`, tier: i % 2 ? 'front' : 'back' } },
        spec: { nodeName: `node-${i % 20}`, containers: [{ name: 'main', image: 'registry.example/app:1.0', resources: { requests: { cpu: '100m', memory: '128Mi' } } }] },
      });
    }
  };
  await Promise.all(Array.from({ length: 32 }, writer));
}

async function compare(runs: number, server: () => Promise<unknown>, monitor: () => Promise<unknown>): Promise<{ server: number; monitor: number }> {
  await server();
  await monitor();
  const s: number[] = [];
  const m: number[] = [];
  for (let i = 0; i < runs; i++) {
    let t = performance.now();
    await server();
    s.push(performance.now() - t);
    t = performance.now();
    await monitor();
    m.push(performance.now() - t);
  }
  return { server: median(s), monitor: median(m) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function arrayHeapPerObject(items: KubeObject[]): number {
  const text = JSON.stringify(items);
  gc();
  const before = process.memoryUsage().heapUsed;
  const kept = JSON.parse(text) as KubeObject[];
  gc();
  const used = process.memoryUsage().heapUsed - before;
  void kept.length;
  return used / items.length;
}

async function serverRequests(cluster: { metrics(): Promise<string> }): Promise<number> {
  const text = await cluster.metrics();
  let n = 0;
  for (const m of text.matchAll(/^devcluster_requests_total\{[^}]*\} (\d+)/gm)) n += Number(m[1]);
  return n;
}

/** 100 clients reading a namespace's pods by label once a second, through the monitor, then directly. */
async function clientLoad(cluster: { metrics(): Promise<string> }, api: KubeClient, viaMonitor: KubeClient): Promise<void> {
  const clients = 100;
  const seconds = 10;
  const load = async (read: (i: number) => Promise<unknown>) => {
    const before = await serverRequests(cluster);
    const started = performance.now();
    await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        for (let s = 0; s < seconds; s++) {
          const due = started + s * 1000 + (c * 1000) / clients;
          await sleep(Math.max(0, due - performance.now()));
          await read(c);
        }
      }),
    );
    return (await serverRequests(cluster)) - before;
  };
  const read = (client: KubeClient) => (c: number) => client.list({ ...PODS, namespace: `ns-${c % NAMESPACES}` }, { labelSelector: `app=app-${c % 100}` });
  const through = await load(read(viaMonitor));
  const direct = await load(read(api));
  console.log(`requests reaching the API server, ${clients} clients reading once a second for ${seconds} s: through the monitor ${through}, directly ${direct} (ratio ${(through / Math.max(1, direct)).toFixed(4)})`);
}

/** A writer and a reader replica on one redis-server, against the in-memory monitor and the API server. */
async function redisReplicas(cluster: { kubeConfig(): KubeConfig }, api: KubeClient, viaMemory: KubeClient, size: number): Promise<void> {
  const redis = await startTestRedis();
  const config = (identity: string) =>
    parseMonitorConfig({
      listen: '127.0.0.1:0',
      defaultResources: false,
      resources: ['v1/pods'],
      verifyIntervalSeconds: 3600,
      canaryIntervalSeconds: 0,
      redis: { url: redis.url, identity },
    });
  const writer = await startMonitor({ config: config('writer'), token: TOKEN, kubeConfig: cluster.kubeConfig() });
  while (!writer.isWriter()) await sleep(50);
  const reader = await startMonitor({ config: config('reader'), token: TOKEN, kubeConfig: cluster.kubeConfig() });
  while (!reader.ready()) await sleep(50);
  const viaReader = new KubeClient(monitorKubeConfig(reader.url));
  const stats = createRedisClient({ url: redis.url });
  await stats.connect();
  try {
    const query = { namespace: 'ns-3', labelSelector: 'app=app-7' };
    const read = (c: KubeClient) => () => c.list({ ...PODS, namespace: query.namespace }, { labelSelector: query.labelSelector });
    const q = await compare(11, read(api), read(viaReader));
    const mem = await compare(11, read(api), read(viaMemory));
    console.log(
      `query by namespace and label selector at ${size} pods: Redis-backed replica ${q.monitor.toFixed(2)} ms, in-memory monitor ${mem.monitor.toFixed(2)} ms, API server ${q.server.toFixed(2)} ms ` +
        `(median; replica/server ${(q.monitor / q.server).toFixed(3)}, replica/memory ${(q.monitor / mem.monitor).toFixed(2)})`,
    );
    const full = await compare(5, () => api.list(PODS), () => viaReader.list(PODS));
    console.log(`full LIST of ${size} pods: Redis-backed replica ${full.monitor.toFixed(0)} ms, API server ${full.server.toFixed(0)} ms (median; replica/server ${(full.monitor / full.server).toFixed(3)})`);

    // Redis commands per watch event: modify pods, count what the writer sent; a change of labels
    // also moves the pod between label sets, a change of anything else does not.
    const n = Math.min(2000, size);
    const stream = () => Object.values(writer.watches.get('pods')!.stream.stats.events).reduce((a, b) => a + b, 0);
    const perEvent = async (what: string, patch: object) => {
      const eventsBefore = stream();
      const before = commandStats(await stats.info('commandstats'));
      let next = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < n) {
            const i = next++;
            await api.patch({ ...PODS, namespace: `ns-${i % NAMESPACES}`, name: `pod-${i}` }, patch);
          }
        }),
      );
      while (stream() - eventsBefore < n) await sleep(20);
      await sleep(500);
      const after = commandStats(await stats.info('commandstats'));
      const events = stream() - eventsBefore;
      const writes = ['multi', 'exec', 'hset', 'hdel', 'sadd', 'srem', 'del', 'set'];
      const delta = Object.fromEntries(writes.map((c) => [c, (after[c] ?? 0) - (before[c] ?? 0)]));
      const total = Object.values(delta).reduce((a, b) => a + b, 0);
      console.log(
        `redis commands per watch event (writer), ${what}: ${(total / events).toFixed(2)} over ${events} events (${writes.map((c) => `${c} ${(delta[c] / events).toFixed(2)}`).join(', ')}); ` +
          `baseline, a whole-frame rewrite of ${size} pods per event: ${size} fields per event`,
      );
    };
    await perEvent('a label added', { metadata: { labels: { touched: '1' } } });
    await perEvent('an annotation changed', { metadata: { annotations: { touched: '2' } } });
  } finally {
    viaReader.close();
    stats.destroy();
    await reader.stop();
    await writer.stop();
    await redis.close();
  }
}

function commandStats(info: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of info.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)) out[m[1]] = Number(m[2]);
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

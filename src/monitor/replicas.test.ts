/**
 * Monitor replicas on one real redis-server (with a password): both serve the same answers, one
 * writes; the writer stopped, the other takes over and stays right; the writer crashed without
 * releasing its Lease, the other takes over once it expires; Redis killed and restarted while
 * objects change, nothing lost; 503 with the reason on a replica that has only Redis while it is
 * away, the writer ready but degraded; a wrong password refused, and never logged.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { startTestApiServer, type TestApiServer } from '../../test/support/apiserver.ts';
import { eventually } from '../devcluster/testing.ts';
import { PODS as KUBE_PODS, KubeClient, type KubeObject } from '../kube/index.ts';
import { parseMonitorConfig } from './config.ts';
import { startMonitor, type Monitor } from './monitor.ts';
import { startTestRedis, type TestRedis } from './redis-testing.ts';

const TOKEN = 'replica-token';
const PASSWORD = 's3cret-redis-pass';
const NS = 'replicas';
const PODS = { ...KUBE_PODS, namespace: NS };

let apiServer: TestApiServer;
let client: KubeClient;
let redis: TestRedis;
const monitors: Monitor[] = [];

before(async () => {
  apiServer = await startTestApiServer({ devcluster: { bookmarkIntervalMs: 200 } });
  client = new KubeClient(apiServer.kubeConfig());
  await client.create({ group: '', version: 'v1', plural: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  redis = await startTestRedis({ password: PASSWORD });
});

after(async () => {
  await Promise.all(monitors.map((m) => m.stop()));
  client?.close();
  await redis?.close();
  await apiServer?.stop();
});

function replica(identity: string, opts: { password?: string; logs?: string[] } = {}): Promise<Monitor> {
  const logger = opts.logs
    ? pino(
        { level: 'debug' },
        new Writable({
          write(chunk: Buffer, _enc, cb) {
            opts.logs!.push(chunk.toString());
            cb();
          },
        }),
      )
    : undefined;
  return startMonitor({
    config: parseMonitorConfig({
      listen: '127.0.0.1:0',
      verifyIntervalSeconds: 0.5,
      canaryIntervalSeconds: 0,
      defaultResources: false,
      resources: ['v1/pods'],
      redis: { url: redis.url, identity, leaseDurationSeconds: 3, renewDeadlineSeconds: 2, retryPeriodSeconds: 0.4 },
    }),
    token: TOKEN,
    kubeConfig: apiServer.kubeConfig(),
    redisPassword: opts.password ?? PASSWORD,
    logger,
  }).then((m) => {
    monitors.push(m);
    return m;
  });
}

const get = (m: Monitor, path: string) => fetch(m.url + path, { headers: { Authorization: `Bearer ${TOKEN}` } });

/** name@resourceVersion of the pods a replica serves in NS, or the status when it does not answer 200. */
async function served(m: Monitor): Promise<string> {
  const res = await get(m, `/pods?namespace=${NS}`);
  if (res.status !== 200) return `HTTP ${res.status}: ${await res.text()}`;
  const body = (await res.json()) as { items: KubeObject[] };
  return body.items.map((o) => `${o.metadata.name}@${o.metadata.resourceVersion}`).sort().join(',');
}

async function server(): Promise<string> {
  const list = await client.list(PODS);
  return list.items.map((o) => `${o.metadata.name}@${o.metadata.resourceVersion}`).sort().join(',');
}

const pod = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: { app: 'r' } }, spec: { containers: [{ name: 'm', image: 'busybox' }] } });

async function churn(prefix: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await client.create(PODS, pod(`${prefix}-${i}`));
    if (i % 3 === 1) await client.patch({ ...PODS, name: `${prefix}-${i}` }, { metadata: { labels: { touched: String(i) } } });
    if (i % 4 === 3) await client.delete({ ...PODS, name: `${prefix}-${i}` }, { gracePeriodSeconds: 0 });
  }
}

/** Every replica serves exactly what the API server has, after a verification later than now. */
async function allRight(ms: Monitor[], what: string): Promise<void> {
  const since = Date.now();
  await eventually(async () => {
    const want = await server();
    for (const m of ms) {
      const res = await get(m, `/pods?namespace=${NS}`);
      if (res.status !== 200) return false;
      const body = (await res.json()) as { freshness: { verifiedTime: string | null } };
      if (!body.freshness.verifiedTime || Date.parse(body.freshness.verifiedTime) <= since) return false;
      if ((await served(m)) !== want) return false;
    }
    return true;
  }, 30_000, what);
}

const metric = async (m: Monitor, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(await m.metrics.registry.metrics())?.[1]);

describe('monitor replicas on one Redis', () => {
  let a: Monitor;
  let b: Monitor;

  it('two replicas, one writer, serve the same answers (with Redis authentication)', async () => {
    await churn('first', 8);
    a = await replica('replica-a');
    b = await replica('replica-b');
    await eventually(() => a.ready() && b.ready(), 20_000, 'both replicas ready');
    assert.equal([a, b].filter((m) => m.isWriter()).length, 1, 'exactly one writes');
    await churn('second', 8);
    await allRight([a, b], 'both replicas serve the server state');
    assert.equal(await served(a), await served(b));
    const reader = a.isWriter() ? b : a;
    assert.equal(reader.watches.size, 0, 'the reader runs no stream of its own');
    assert.equal(await metric(reader, 'kre_monitor_redis_up'), 1);
    assert.equal(await metric(reader, 'kre_monitor_redis_writer'), 0);
    // The Kubernetes-shaped path of the reader, with the freshness headers.
    const res = await get(reader, `/api/v1/namespaces/${NS}/pods`);
    assert.equal(res.status, 200);
    assert.ok(res.headers.get('x-kre-verified-resource-version'));
  });

  it('the writer stopped: the other takes over within the lease bounds and stays right', async () => {
    const writer = a.isWriter() ? a : b;
    const other = writer === a ? b : a;
    const stoppedAt = Date.now();
    await writer.stop();
    monitors.splice(monitors.indexOf(writer), 1);
    await eventually(() => other.isWriter(), 15_000, 'the other replica writing');
    assert.ok(Date.now() - stoppedAt < 3000 + 10_000, 'within the lease duration plus a sync');
    await churn('third', 8);
    // A new replica joins as the reader.
    const c = await replica('replica-c');
    await eventually(() => c.ready(), 20_000, 'the new replica ready');
    assert.equal(c.isWriter(), false);
    await allRight([other, c], 'answers right after the takeover');
    const names = (await served(c)).split(',').map((x) => x.split('@')[0]);
    assert.equal(new Set(names).size, names.length, 'nothing duplicated');
    a = other;
    b = c;
  });

  it('the writer crashed, its Lease not released: the other takes over once it expires and stays right', async () => {
    const writer = a.isWriter() ? a : b;
    const other = writer === a ? b : a;
    const holder = async () => ((await client.get({ group: 'coordination.k8s.io', version: 'v1', plural: 'leases', namespace: 'kre-monitor', name: 'kre-monitor-default' })) as { spec?: { holderIdentity?: string } }).spec?.holderIdentity;
    assert.equal(await holder(), writer.identity);
    const crashedAt = Date.now();
    await writer.stop({ releaseLease: false });
    monitors.splice(monitors.indexOf(writer), 1);
    assert.equal(await holder(), writer.identity, 'the Lease is still held by the crashed writer');
    await churn('crash', 6);
    await eventually(async () => (await holder()) === other.identity, 15_000, 'the other replica holding the Lease');
    const tookOver = Date.now() - crashedAt;
    // Lease 3 s, retry period 0.4 s (plus its 20 % jitter): not before the Lease expired (its last
    // renewal was at most a retry period before the crash), and within leaseDuration + retryPeriod
    // (with room for this polling and two busy cores).
    assert.ok(tookOver >= 3000 - 500, `took over after ${tookOver} ms, before the Lease expired`);
    assert.ok(tookOver <= 3000 + 480 + 1000, `took over after ${tookOver} ms`);
    await eventually(() => other.isWriter(), 15_000, 'the other replica writing');
    const c = await replica('replica-d');
    await eventually(() => c.ready(), 20_000, 'the new replica ready');
    await allRight([other, c], 'answers right after the crash');
    const names = (await served(c)).split(',').map((x) => x.split('@')[0]);
    assert.equal(new Set(names).size, names.length, 'nothing duplicated');
    a = other;
    b = c;
  });

  it('Redis killed and restarted while objects change: 503 on the reader, the writer serves from memory, nothing lost', async () => {
    const writer = a.isWriter() ? a : b;
    const reader = writer === a ? b : a;
    await redis.stop({ kill: true });
    await eventually(async () => (await get(reader, `/pods?namespace=${NS}`)).status === 503, 10_000, 'the reader answers 503');
    const res = await get(reader, `/pods?namespace=${NS}`);
    assert.match(((await res.json()) as { message: string }).message, /redis unavailable/);
    // The reader has nothing to serve from: not ready. The writer still serves: ready, degraded.
    await eventually(async () => (await fetch(`${reader.url}/readyz`)).status === 503, 10_000, 'readyz 503 on the reader');
    assert.match(await (await fetch(`${reader.url}/readyz`)).text(), /^not ready: redis unavailable/);
    await eventually(async () => /degraded/.test(await (await fetch(`${writer.url}/readyz`)).text()), 10_000, 'readyz degraded on the writer');
    const writerReady = await fetch(`${writer.url}/readyz`);
    assert.equal(writerReady.status, 200);
    assert.match(await writerReady.text(), /^ok, degraded: redis unavailable: .*; serving from memory$/);
    assert.equal(await metric(writer, 'kre_monitor_degraded'), 1);
    assert.equal(await metric(reader, 'kre_monitor_degraded'), 0);
    for (const m of [writer, reader]) {
      assert.equal(await metric(m, 'kre_monitor_redis_up'), 0);
      assert.ok((await metric(m, 'kre_monitor_redis_errors_total')) > 0);
    }
    // Objects change while Redis is away; the writer keeps following them and serving.
    await churn('outage', 8);
    await eventually(async () => (await served(writer)).includes('outage-6@'), 10_000, 'the writer serving changes from memory');
    // Redis comes back empty: the writer writes its full state back and both serve again.
    await redis.start();
    await churn('after', 4);
    await eventually(() => writer.ready() && reader.ready(), 20_000, 'both ready again');
    await allRight([writer, reader], 'nothing lost after the outage');
    assert.equal(await metric(reader, 'kre_monitor_redis_up'), 1);
    assert.equal(await metric(writer, 'kre_monitor_degraded'), 0);
    assert.equal(await (await fetch(`${writer.url}/readyz`)).text(), 'ok');
  });

  it('a wrong Redis password is refused, said on /readyz, and never logged', async () => {
    const logs: string[] = [];
    const bad = await replica('replica-bad', { password: 'wrong-password', logs });
    await eventually(async () => {
      const r = await fetch(`${bad.url}/readyz`);
      return r.status === 503 && /redis unavailable/.test(await r.text());
    }, 10_000, 'readyz 503 with the reason');
    assert.match(await (await fetch(`${bad.url}/readyz`)).text(), /WRONGPASS|NOAUTH|auth/i);
    assert.equal((await get(bad, `/pods?namespace=${NS}`)).status, 503);
    assert.equal(bad.isWriter(), false);
    const text = logs.join('');
    assert.ok(text.length > 0);
    assert.ok(!text.includes('wrong-password') && !text.includes(PASSWORD), 'no password in the logs');
  });
});

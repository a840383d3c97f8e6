/**
 * The API server's faults, each observed as a client sees it (through @kubernetes/client-node or
 * raw HTTPS) and counted in the devcluster's own /metrics: dropped watch events, watch streams
 * closed at random, 429/500 answers, latency, expired history and a restart that keeps the state.
 * Faults are set from code and over the admin endpoint.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { startDevCluster, type DevCluster, type FaultSpec } from './index.ts';
import type { Status } from '../kube/index.ts';
import { eventually, openWatch, rawRequest, type WatchStream } from './testing.ts';

let cluster: DevCluster;
let core: k8s.CoreV1Api;

before(async () => {
  cluster = await startDevCluster();
  core = cluster.kubeConfig().makeApiClient(k8s.CoreV1Api);
  for (const name of ['drops', 'closes', 'errors', 'slow', 'expiry', 'restarts', 'admin']) await core.createNamespace({ body: { metadata: { name } } });
});
after(async () => {
  await cluster.stop();
});
afterEach(() => {
  cluster.faults.clear();
});

/** The value of `devcluster_faults_injected_total` for one fault and collection (0 when absent). */
async function injected(fault: string, collection = ''): Promise<number> {
  const text = await cluster.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`devcluster_faults_injected_total{fault="${fault}",collection="${collection}"}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

/** The same, read over HTTPS from /metrics as a test outside the process would. */
async function injectedOverHttp(fault: string, collection = ''): Promise<number> {
  const res = await rawRequest(cluster, 'GET', '/metrics');
  assert.equal(res.status, 200);
  const line = res.text.split('\n').find((l) => l.startsWith(`devcluster_faults_injected_total{fault="${fault}",collection="${collection}"}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

/** Waits for a watch stream to be closed by the server. */
async function closedWithin(w: WatchStream, ms = 10_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`the watch was not closed within ${ms} ms`)), ms)));
  try {
    await Promise.race([w.closed, timeout]);
  } finally {
    clearTimeout(timer);
    w.close();
  }
}

const pod = (name: string) => ({ metadata: { name }, spec: { containers: [{ name: 'main', image: 'nginx:1.27' }] } });

describe('watch faults', () => {
  test('a fraction of one collection’s watch events is dropped; other collections are unaffected', async () => {
    const rv = (await core.listNamespacedPod({ namespace: 'drops' })).metadata?.resourceVersion;
    const pods = openWatch(cluster, `/api/v1/namespaces/drops/pods?watch=1&resourceVersion=${rv}`);
    const cms = openWatch(cluster, `/api/v1/namespaces/drops/configmaps?watch=1&resourceVersion=${rv}`);
    assert.equal(await pods.status, 200);
    assert.equal(await cms.status, 200);
    const before = await injected('drop_watch_event', 'pods');
    cluster.faults.set({ dropWatchEvents: { pods: 0.5 } });
    const n = 40;
    for (let i = 0; i < n; i++) {
      await core.createNamespacedPod({ namespace: 'drops', body: pod(`p${i}`) });
      await core.createNamespacedConfigMap({ namespace: 'drops', body: { metadata: { name: `c${i}` }, data: {} } });
    }
    // Every configmap event arrives; a sentinel pod created after the fault is cleared marks the end of the pod stream.
    await cms.until((e) => e.length === n, 10_000);
    cluster.faults.clear();
    await core.createNamespacedPod({ namespace: 'drops', body: pod('sentinel') });
    await pods.until((e) => e.some((x) => x.object.metadata.name === 'sentinel'), 10_000);
    // The simulated nodes' scheduler and kubelets watch pods too, and change them: count the ADDEDs of this watch.
    const added = pods.events.filter((e) => e.type === 'ADDED' && e.object.metadata.name !== 'sentinel').length;
    const dropped = (await injected('drop_watch_event', 'pods')) - before;
    assert.ok(added < n, `some pod events dropped (got ${added} of ${n})`);
    assert.ok(added > 0, 'not every pod event dropped at a fraction of 0.5');
    assert.ok(dropped >= n - added, `each dropped event is counted (${dropped} counted, ${n - added} missing)`);
    assert.equal(await injected('drop_watch_event', 'configmaps'), 0);
    assert.equal(cms.events.length, n);
    pods.close();
    cms.close();
  });

  test("'*' drops events of every collection", async () => {
    const rv = (await core.listNamespacedConfigMap({ namespace: 'drops' })).metadata?.resourceVersion;
    const w = openWatch(cluster, `/api/v1/namespaces/drops/secrets?watch=1&resourceVersion=${rv}`);
    assert.equal(await w.status, 200);
    cluster.faults.set({ dropWatchEvents: { '*': 1 } });
    await core.createNamespacedSecret({ namespace: 'drops', body: { metadata: { name: 'lost' } } });
    await eventually(async () => (await injected('drop_watch_event', 'secrets')) === 1, 5000, 'a dropped secret event');
    cluster.faults.clear();
    await core.createNamespacedSecret({ namespace: 'drops', body: { metadata: { name: 'kept' } } });
    await w.until((e) => e.length >= 1);
    assert.deepEqual(w.events.map((e) => e.object.metadata.name), ['kept']);
    w.close();
  });

  test('watch streams are closed at random; a closed stream resumes from its last version', async () => {
    const rv = (await core.listNamespacedConfigMap({ namespace: 'closes' })).metadata?.resourceVersion;
    cluster.faults.set({ closeWatches: 0.3 });
    const before = await injected('close_watch', 'configmaps');
    const seen = new Set<string>();
    let last = rv;
    let streams = 0;
    let created = 0;
    while (seen.size < 30) {
      const w = openWatch(cluster, `/api/v1/namespaces/closes/configmaps?watch=1&resourceVersion=${last}`);
      streams++;
      assert.equal(await w.status, 200);
      // Write until this stream is closed by the fault (or everything has been seen).
      while (created < 30) {
        await core.createNamespacedConfigMap({ namespace: 'closes', body: { metadata: { name: `c${created++}` }, data: {} } });
        const ended = await Promise.race([w.closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 20))]);
        if (ended) break;
      }
      if (created >= 30) await Promise.race([w.closed, w.until((e) => e.length > 0 && e[e.length - 1].object.metadata.name === 'c29').catch(() => {})]);
      for (const e of w.events) {
        seen.add(e.object.metadata.name ?? '');
        last = e.object.metadata.resourceVersion;
      }
      w.close();
      assert.ok(streams < 200, 'too many streams');
    }
    assert.ok(streams > 1, 'at least one stream was closed by the fault');
    assert.equal(seen.size, 30, 'resuming from the last version loses nothing');
    assert.ok((await injected('close_watch', 'configmaps')) - before >= streams - 1);
  });

  test("client-node's watch sees the stream end", async () => {
    cluster.faults.set({ closeWatches: 1 });
    const watch = new k8s.Watch(cluster.kubeConfig());
    const types: string[] = [];
    let done: unknown = 'open';
    await watch.watch('/api/v1/namespaces/closes/configmaps', {}, (type) => types.push(type), (err) => (done = err ?? null));
    // Without a version the first synthetic ADDED is not subject to faults; a live event is.
    await core.createNamespacedConfigMap({ namespace: 'closes', body: { metadata: { name: 'last-straw' }, data: {} } });
    await eventually(() => done !== 'open', 5000, 'the watch to end');
    assert.ok(types.includes('ADDED'));
  });
});

describe('request faults', () => {
  test('a fraction of one collection’s requests is answered 429 with Retry-After; others are served', async () => {
    cluster.faults.set({ errors: { fraction: 1, code: 429, collection: 'configmaps' } });
    const res = await rawRequest(cluster, 'GET', '/api/v1/namespaces/errors/configmaps');
    assert.equal(res.status, 429);
    assert.equal(res.headers['retry-after'], '1');
    assert.equal(res.json().kind, 'Status');
    assert.equal(res.json().reason, 'TooManyRequests');
    await assert.rejects(core.listNamespacedConfigMap({ namespace: 'errors' }), (err: { code?: number }) => err.code === 429);
    assert.equal((await rawRequest(cluster, 'GET', '/api/v1/namespaces/errors/secrets')).status, 200);
    // The simulated nodes are clients too, so their requests may be answered 429 as well.
    assert.ok((await injected('throttle', 'configmaps')) >= 2);
    assert.ok((await injectedOverHttp('throttle', 'configmaps')) >= 2);
  });

  test('a fraction of all requests is answered 500', async () => {
    cluster.faults.set({ errors: { fraction: 0.5, code: 500 } });
    const codes: number[] = [];
    for (let i = 0; i < 60; i++) codes.push((await rawRequest(cluster, 'GET', `/api/v1/namespaces/errors/${i % 2 ? 'pods' : 'services'}`)).status);
    const failed = codes.filter((c) => c === 500).length;
    assert.ok(failed > 0 && failed < 60, `about half failed: ${failed}`);
    assert.equal(codes.filter((c) => c !== 500 && c !== 200).length, 0);
    assert.ok((await injected('error', 'pods')) + (await injected('error', 'services')) >= failed);
    const r = await rawRequest(cluster, 'GET', '/api/v1/namespaces/errors/pods');
    if (r.status === 500) assert.equal(r.json().reason, 'InternalError');
    // The admin endpoint and /metrics are never subject to the fault.
    for (let i = 0; i < 10; i++) assert.equal((await rawRequest(cluster, 'GET', '/kre-admin/faults')).status, 200);
    await assert.rejects(async () => {
      for (let i = 0; i < 40; i++) await core.listNamespacedPod({ namespace: 'errors' });
    }, (err: { code?: number }) => err.code === 500);
  });

  test('latency is added to every request', async () => {
    const before = await injected('latency', 'configmaps');
    cluster.faults.set({ latencyMs: 300 });
    const t0 = performance.now();
    await core.listNamespacedConfigMap({ namespace: 'slow' });
    const took = performance.now() - t0;
    cluster.faults.clear();
    assert.ok(took >= 300, `took ${took.toFixed(0)} ms`);
    assert.ok((await injected('latency', 'configmaps')) - before >= 1);
  });
});

describe('history', () => {
  test('expired history: a resumed watch gets a 410 ERROR event, a list continue gets 410', async () => {
    const first = await core.createNamespacedConfigMap({ namespace: 'expiry', body: { metadata: { name: 'c0' }, data: {} } });
    for (let i = 1; i < 4; i++) await core.createNamespacedConfigMap({ namespace: 'expiry', body: { metadata: { name: `c${i}` }, data: {} } });
    const page = await core.listNamespacedConfigMap({ namespace: 'expiry', limit: 2 });
    assert.ok(page.metadata?._continue);
    // A write after the first page, so that the page's version is older than what expiry keeps.
    await core.createNamespacedConfigMap({ namespace: 'expiry', body: { metadata: { name: 'c4' }, data: {} } });
    const before = await injected('expire_history');
    // Over the admin endpoint, as a test in another process does.
    assert.equal((await rawRequest(cluster, 'POST', '/kre-admin/expire-history')).status, 200);
    const w = openWatch(cluster, `/api/v1/namespaces/expiry/configmaps?watch=1&resourceVersion=${first.metadata?.resourceVersion}`);
    await closedWithin(w);
    assert.equal(w.events.length, 1);
    assert.equal(w.events[0].type, 'ERROR');
    assert.equal(w.events[0].object.code, 410);
    await assert.rejects(core.listNamespacedConfigMap({ namespace: 'expiry', limit: 2, _continue: page.metadata?._continue }), (err: { code?: number }) => err.code === 410);
    assert.equal((await injected('expire_history')) - before, 1);
    cluster.faults.expireHistory();
    assert.equal((await injected('expire_history')) - before, 2);
    // A list from now, and a watch from its version, work again.
    const fresh = await core.listNamespacedConfigMap({ namespace: 'expiry' });
    assert.equal(fresh.items.length, 5);
    const w2 = openWatch(cluster, `/api/v1/namespaces/expiry/configmaps?watch=1&resourceVersion=${fresh.metadata?.resourceVersion}`);
    await core.deleteNamespacedConfigMap({ namespace: 'expiry', name: 'c0' });
    await w2.until((e) => e.some((x) => x.type === 'DELETED'));
    w2.close();
  });
});

describe('restart', () => {
  test('a restart keeps objects and the resourceVersion, and closes open watches', async () => {
    const cm = await core.createNamespacedConfigMap({ namespace: 'restarts', body: { metadata: { name: 'kept' }, data: { a: '1' } } });
    const rv = Number(cm.metadata?.resourceVersion);
    const w = openWatch(cluster, `/api/v1/namespaces/restarts/configmaps?watch=1&resourceVersion=${rv}`);
    assert.equal(await w.status, 200);
    const before = await injected('restart');
    await cluster.restart();
    await closedWithin(w);
    const got = await core.readNamespacedConfigMap({ namespace: 'restarts', name: 'kept' });
    assert.equal(got.metadata?.resourceVersion, String(rv));
    assert.equal(got.metadata?.uid, cm.metadata?.uid);
    const list = await core.listNamespacedConfigMap({ namespace: 'restarts' });
    assert.ok(Number(list.metadata?.resourceVersion) >= rv);
    const next = await core.createNamespacedConfigMap({ namespace: 'restarts', body: { metadata: { name: 'after' }, data: {} } });
    assert.ok(Number(next.metadata?.resourceVersion) > rv);
    assert.equal((await injected('restart')) - before, 1);
  });

  test('over the admin endpoint, twice; the fault spec and the fault counts are kept', async () => {
    cluster.faults.set({ dropWatchEvents: { leases: 0.1 } });
    const before = await injected('restart');
    const w = openWatch(cluster, '/api/v1/namespaces/restarts/configmaps?watch=1');
    await w.until((e) => e.length >= 2);
    for (let i = 0; i < 2; i++) {
      const res = await rawRequest(cluster, 'POST', '/kre-admin/restart');
      assert.equal(res.status, 202);
      await eventually(async () => (await injected('restart')) - before === i + 1, 10_000, `restart ${i + 1} counted`);
    }
    await closedWithin(w);
    await eventually(async () => (await rawRequest(cluster, 'GET', '/kre-admin/faults')).json<FaultSpec>().dropWatchEvents?.leases === 0.1, 10_000, 'the fault spec after restart');
    const list = await core.listNamespacedConfigMap({ namespace: 'restarts' });
    assert.deepEqual(list.items.map((i) => i.metadata?.name).sort(), ['after', 'kept']);
  });
});

describe('the admin endpoint', () => {
  test('PUT sets faults as JSON, GET reads them, DELETE clears them', async () => {
    const spec = { errors: { fraction: 1, code: 500, collection: 'configmaps' }, closeWatches: 0.25 };
    const put = await rawRequest(cluster, 'PUT', '/kre-admin/faults', spec);
    assert.equal(put.status, 200);
    assert.deepEqual(put.json(), spec);
    assert.deepEqual((await rawRequest(cluster, 'GET', '/kre-admin/faults')).json(), spec);
    const res = await rawRequest(cluster, 'GET', '/api/v1/namespaces/admin/configmaps');
    assert.equal(res.status, 500);
    assert.equal((await rawRequest(cluster, 'DELETE', '/kre-admin/faults')).status, 200);
    assert.deepEqual((await rawRequest(cluster, 'GET', '/kre-admin/faults')).json(), {});
    assert.equal((await rawRequest(cluster, 'GET', '/api/v1/namespaces/admin/configmaps')).status, 200);
  });

  test('a bad spec is a 400 naming the field, and changes nothing', async () => {
    cluster.faults.set({ latencyMs: 1 });
    const cases: Array<[object, RegExp]> = [
      [{ dropWatchEvents: { pods: 2 } }, /dropWatchEvents\.pods/],
      [{ closeWatches: 'often' }, /closeWatches/],
      [{ errors: { fraction: 0.5, code: 503 } }, /errors\.code/],
      [{ errors: { code: 429 } }, /errors\.fraction/],
      [{ latencyMs: -5 }, /latencyMs/],
      [{ dropEverything: true }, /dropEverything/],
      [[1, 2], /object/],
    ];
    for (const [spec, field] of cases) {
      const res = await rawRequest(cluster, 'PUT', '/kre-admin/faults', spec);
      assert.equal(res.status, 400, JSON.stringify(spec));
      assert.equal(res.json().kind, 'Status');
      assert.match(res.json<Status>().message ?? '', field);
    }
    const malformed = await rawRequest(cluster, 'PUT', '/kre-admin/faults', '{"latencyMs":');
    assert.equal(malformed.status, 400);
    assert.deepEqual((await rawRequest(cluster, 'GET', '/kre-admin/faults')).json(), { latencyMs: 1 });
    assert.throws(() => cluster.faults.set({ closeWatches: 7 }), /closeWatches/);
  });

  test('requires the token', async () => {
    const anon = { ...cluster, token: 'not-the-token' };
    for (const [method, path] of [['GET', '/kre-admin/faults'], ['PUT', '/kre-admin/faults'], ['DELETE', '/kre-admin/faults'], ['POST', '/kre-admin/expire-history'], ['POST', '/kre-admin/restart']]) {
      const res = await rawRequest(anon, method, path, method === 'PUT' ? { errors: { fraction: 1, code: 500 } } : undefined);
      assert.equal(res.status, 401, `${method} ${path}`);
    }
    assert.deepEqual((await rawRequest(cluster, 'GET', '/kre-admin/faults')).json(), {});
  });
});

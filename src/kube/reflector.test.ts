import { test, describe, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitUntil } from '../../test/support/wait.ts';
import { devclusterOnly, startTestApiServer, type TestApiServer } from '../../test/support/apiserver.ts';
import { KubeApiError, KubeClient, type KubeObject } from './client.ts';
import type { ConfigMap } from './kinds.ts';
import { Reflector, type ReflectorOptions, type VerifyReport } from './reflector.ts';
import { objectKey } from './store.ts';
import { CONFIGMAPS, NAMESPACES } from './index.ts';


/** Client calls of the test itself go through the faults too: retry them until they land. */
async function retrying<T>(fn: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (err) {
      const transient = err instanceof KubeApiError ? err.code === 429 || err.code >= 500 : true;
      if (!transient || i > 50) throw err;
      await sleep(20);
    }
  }
}

const eventually = (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000) => waitUntil(what, check, timeoutMs);

describe('Reflector against an API server', () => {
  let server: TestApiServer;
  const cluster = () => server.devcluster!;
  let client: KubeClient;
  const running: Reflector[] = [];
  let nsCount = 0;

  before(async () => {
    server = await startTestApiServer({ devcluster: { bookmarkIntervalMs: 500 } });
    client = new KubeClient(server.kubeConfig());
  });
  afterEach(async () => {
    server.devcluster?.faults.clear();
    await Promise.all(running.splice(0).map((r) => r.stop()));
  });
  after(async () => {
    client?.close();
    await server?.stop();
  });

  /** A fresh namespace per test, so that tests do not see each other's objects. */
  async function namespace(): Promise<string> {
    const name = `reflector-${++nsCount}`;
    await retrying(() => client.create(NAMESPACES, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }));
    return name;
  }

  function reflect(ns: string, opts: Partial<ReflectorOptions<KubeObject>> = {}): Reflector {
    const r = new Reflector({
      client,
      resource: CONFIGMAPS,
      namespace: ns,
      backoff: { initialMs: 20, maxMs: 200 },
      minWatchTimeoutSeconds: 5,
      ...opts,
    });
    running.push(r);
    return r.start();
  }

  const create = (ns: string, name: string, labels: Record<string, string> = {}) =>
    retrying(() => client.create({ ...CONFIGMAPS, namespace: ns }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels }, data: { v: '0' } }));
  const modify = (ns: string, name: string, v: string) => retrying(() => client.patch({ ...CONFIGMAPS, namespace: ns, name }, { data: { v } }));
  const remove = (ns: string, name: string) => retrying(() => client.delete({ ...CONFIGMAPS, namespace: ns, name }));

  /** The cache holds exactly what the server has, at the same versions. */
  async function consistent(r: Reflector, ns: string): Promise<boolean> {
    const server = await retrying(() => client.list({ ...CONFIGMAPS, namespace: ns }));
    const want = new Map(server.items.map((o) => [objectKey(o), o.metadata.resourceVersion]));
    const have = r.store.list({ namespace: ns });
    return have.length === want.size && have.every((o) => want.get(objectKey(o)) === o.metadata.resourceVersion);
  }

  test('lists, then follows adds, updates and deletes; cached objects carry no managedFields', async () => {
    const ns = await namespace();
    await create(ns, 'before');
    const seen: string[] = [];
    const r = reflect(ns, {
      onAdd: (o) => seen.push(`add ${o.metadata.name}`),
      onUpdate: (old: ConfigMap, o: ConfigMap) => seen.push(`update ${o.metadata.name} ${old.data?.v}->${o.data?.v}`),
      onDelete: (o) => seen.push(`delete ${o.metadata.name}`),
    });
    await r.waitForSync();
    assert.ok(r.hasSynced());
    await create(ns, 'after', { app: 'x' });
    await modify(ns, 'after', '1');
    await remove(ns, 'before');
    await eventually('all events arrived', () => seen.length === 4);
    assert.deepEqual(seen, ['add before', 'add after', 'update after 0->1', 'delete before']);
    const cached = r.store.get(ns, 'after')!;
    assert.equal(cached.metadata.managedFields, undefined);
    assert.equal(cached.kind, 'ConfigMap');
    assert.deepEqual(r.store.list({ labelSelector: 'app=x' }).map((o) => o.metadata.name), ['after']);
    assert.ok(await consistent(r, ns));
    assert.equal(r.stats.lists, 1);
  });

  test('lists in pages', async () => {
    const ns = await namespace();
    for (let i = 0; i < 25; i++) await create(ns, `p${i}`);
    const r = reflect(ns, { pageSize: 4 });
    await r.waitForSync();
    assert.equal(r.store.size, 25);
  });

  test('with watch events dropped, the periodic verify corrects missed adds and ghosts', devclusterOnly('faults'), async () => {
    const ns = await namespace();
    for (let i = 0; i < 10; i++) await create(ns, `old${i}`);
    const reports: VerifyReport[] = [];
    const r = reflect(ns, { resyncVerifyEvery: 400, onVerify: (rep) => reports.push(rep) });
    await r.waitForSync();
    cluster().faults.set({ dropWatchEvents: { configmaps: 0.5 } });
    for (let i = 0; i < 10; i++) await create(ns, `new${i}`);
    for (let i = 0; i < 10; i++) await remove(ns, `old${i}`);
    server.devcluster?.faults.clear();
    await eventually('the cache matches the server', () => consistent(r, ns));
    const corrected = reports.reduce((n, rep) => ({ adds: n.adds + rep.missedAdds, ghosts: n.ghosts + rep.ghosts }), { adds: 0, ghosts: 0 });
    assert.ok(corrected.adds > 0, `missed adds were corrected (${JSON.stringify(reports)})`);
    assert.ok(corrected.ghosts > 0, `ghosts were corrected (${JSON.stringify(reports)})`);
    assert.equal(r.stats.relists, 0, 'corrected without relisting');
  });

  test('a verify of a cache that missed nothing reports nothing', async () => {
    const ns = await namespace();
    for (let i = 0; i < 5; i++) await create(ns, `c${i}`);
    const r = reflect(ns);
    await r.waitForSync();
    await modify(ns, 'c1', 'x');
    await remove(ns, 'c2');
    await eventually('the cache matches the server', () => consistent(r, ns));
    const report = await r.verifyNow();
    assert.deepEqual({ ...report, resourceVersion: undefined }, { missedAdds: 0, ghosts: 0, staleVersions: 0, resourceVersion: undefined });
  });

  test('a watch closed mid-stream resumes from its version without relisting', devclusterOnly('faults'), async () => {
    const ns = await namespace();
    const r = reflect(ns);
    await r.waitForSync();
    cluster().faults.set({ closeWatches: 0.3 });
    for (let i = 0; i < 20; i++) await create(ns, `c${i}`);
    for (let i = 0; i < 20; i += 2) await modify(ns, `c${i}`, '1');
    await eventually('the cache matches the server', () => consistent(r, ns));
    assert.ok(r.stats.watchRestarts > 0, 'the watch was restarted');
    assert.equal(r.stats.lists, 1, 'no relist');
  });

  for (const code of [429, 500] as const) {
    test(`${code} answers back off and recover`, devclusterOnly('faults'), async () => {
      const ns = await namespace();
      await create(ns, 'first');
      cluster().faults.set({ errors: { fraction: 0.8, code, collection: 'configmaps' }, closeWatches: 0.5 });
      const r = reflect(ns);
      await r.waitForSync();
      for (let i = 0; i < 10; i++) await create(ns, `c${i}`);
      // Most requests fail and a 429 may ask for a pause: recovery, not its speed, is the point.
      await eventually('the cache matches the server', () => consistent(r, ns), 90_000);
      cluster().faults.clear();
      assert.ok(r.stats.errors > 0, `errors were seen: ${JSON.stringify(r.stats)}`);
      assert.equal(r.stats.relists, 0, `errors do not cause relists: ${JSON.stringify(r.stats)}`);
    });
  }

  test('after the server restarts, the reflector resumes', devclusterOnly('restart'), async () => {
    const ns = await namespace();
    await create(ns, 'a');
    const r = reflect(ns);
    await r.waitForSync();
    await cluster().restart();
    await create(ns, 'b');
    await remove(ns, 'a');
    await eventually('the cache matches the server', () => consistent(r, ns));
    assert.deepEqual(r.store.list().map((o) => o.metadata.name), ['b']);
  });

  test('after the history expires, it relists instead of skipping ahead and ends consistent', devclusterOnly('faults'), async () => {
    const ns = await namespace();
    for (let i = 0; i < 5; i++) await create(ns, `c${i}`);
    // A short watchdog makes the reflector re-watch often from the version it has.
    const r = reflect(ns, { quietWatchMs: 300 });
    await r.waitForSync();
    // Lose every event for a while: the cache falls behind, then its version is forgotten.
    cluster().faults.set({ dropWatchEvents: { configmaps: 1 } });
    await remove(ns, 'c0');
    await modify(ns, 'c1', 'x');
    await create(ns, 'n1');
    cluster().faults.expireHistory();
    server.devcluster?.faults.clear();
    await eventually('the cache matches the server', () => consistent(r, ns));
    assert.ok(r.stats.expired > 0, '410 was seen');
    assert.ok(r.stats.relists > 0, 'it relisted');
  });

  test('observers hear every list, watch event and bookmark in order, including the relist after 410', devclusterOnly('faults'), async () => {
    const ns = await namespace();
    await create(ns, 'a');
    const facts: string[] = [];
    let lastVersion = 0;
    let ordered = true;
    const at = (v: string) => {
      if (Number(v) < lastVersion) ordered = false;
      lastVersion = Number(v);
    };
    const handled: string[] = [];
    const r = reflect(ns, {
      onAdd: (o) => handled.push(`add ${o.metadata.name}`),
      onList: (items, rv, t) => {
        assert.ok(t > 0);
        at(rv);
        facts.push(`list ${items.map((o) => o.metadata.name).sort().join(',')}`);
      },
      onWatchEvent: (type, obj, t) => {
        assert.ok(t > 0);
        at(obj.metadata.resourceVersion!);
        // The cache applied the event before the observer hears it.
        assert.equal(r.store.resourceVersion, obj.metadata.resourceVersion);
        facts.push(`${type} ${obj.metadata.name}`);
      },
      onBookmark: (rv) => {
        at(rv);
        facts.push('bookmark');
      },
    });
    await r.waitForSync();
    await create(ns, 'b');
    await modify(ns, 'b', '1');
    await remove(ns, 'a');
    await eventually('the events were observed', () => facts.filter((f) => !f.startsWith('bookmark')).length === 4);
    assert.deepEqual(facts.filter((f) => f !== 'bookmark'), ['list a', 'ADDED b', 'MODIFIED b', 'DELETED a']);
    // Bookmarks are heard too (the server sends them every 500 ms here).
    await eventually('a bookmark', () => facts.includes('bookmark'));
    // The handlers behave as before: they hear changes to the cache.
    assert.deepEqual(handled, ['add a', 'add b']);
    // Lose events and the history (a short watchdog re-watches from the version it has, before a
    // bookmark moves it): the relist is observed as a list of the server's state.
    const lists: string[] = [];
    const r2 = reflect(ns, { quietWatchMs: 300, onList: (items) => lists.push(items.map((o) => o.metadata.name).sort().join(',')) });
    await r2.waitForSync();
    cluster().faults.set({ dropWatchEvents: { configmaps: 1 } });
    await create(ns, 'c');
    cluster().faults.expireHistory();
    server.devcluster?.faults.clear();
    await eventually('a relist', () => lists.length >= 2);
    assert.deepEqual(lists, ['b', 'b,c']);
    assert.equal(r2.stats.lists, 2);
    assert.ok(ordered, 'facts arrive in resourceVersion order');
  });

  test('stop ends the loop promptly and waitForSync of a stopped reflector rejects', async () => {
    const ns = await namespace();
    const r = new Reflector({ client, resource: CONFIGMAPS, namespace: ns });
    const sync = r.waitForSync();
    const t0 = Date.now();
    await r.stop();
    await assert.rejects(sync, /stopped before the cache synced/);
    assert.ok(Date.now() - t0 < 1000);
  });

  test('stop right after sync, while the first watch is opening, returns promptly', async () => {
    const ns = await namespace();
    for (let i = 0; i < 20; i++) {
      const r = new Reflector({ client, resource: CONFIGMAPS, namespace: ns }).start();
      await r.waitForSync();
      const t0 = Date.now();
      await r.stop();
      assert.ok(Date.now() - t0 < 1000, `stopped in ${Date.now() - t0} ms`);
    }
  });
});

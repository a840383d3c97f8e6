/**
 * The aggregation rules and the store contract, as one table of cases run against each store:
 * the in-memory one, and the Redis one (written by a writer, read back by a reader replica from a
 * real redis-server), which must give the same views and freshness.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KubeObject } from '../kube/index.ts';
import { MemoryStore } from './memory-store.ts';
import { createRedisClient, RedisStore } from './redis-store.ts';
import { startTestRedis, type TestRedis } from './redis-testing.ts';
import type { MonitorStore } from './store.ts';

const pod = (name: string, rv: string, labels: Record<string, string> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'ns', resourceVersion: rv, labels },
});
const up = (o: KubeObject, at = Date.now()) => ({ type: 'upsert' as const, object: o, resourceVersion: o.metadata.resourceVersion!, receivedAt: at });
const del = (o: KubeObject, rv: string, at = Date.now()) => ({ type: 'delete' as const, object: { ...o, metadata: { ...o.metadata, resourceVersion: rv } }, resourceVersion: rv, receivedAt: at });

async function names(store: MonitorStore, view: 'aggregated' | 'streamed' | 'verified') {
  const r = await store.list('pods', view);
  return r.items.map((i) => `${i.object.metadata.name}@${i.object.metadata.resourceVersion}:${i.source}`).sort();
}

let redis: TestRedis;
const opened: RedisStore[] = [];
let stores = 0;

before(async () => {
  redis = await startTestRedis();
});
after(async () => {
  await Promise.all(opened.map((s) => s.close()));
  await redis?.close();
});

/**
 * A Redis store as the replicas use it: writes go to the writer, reads come from a reader (its own
 * connection, nothing in memory) once the writer's writes have been answered.
 */
async function redisPair(now?: () => number): Promise<MonitorStore> {
  const prefix = `kre:test:${++stores}`;
  const writer = new RedisStore({ client: createRedisClient({ url: redis.url }), prefix, identity: 'writer', now });
  const reader = new RedisStore({ client: createRedisClient({ url: redis.url }), prefix, identity: 'reader', now });
  opened.push(writer, reader);
  await Promise.all([writer.connect(), reader.connect()]);
  writer.becomeWriter();
  await writer.publish();
  const read = async <T>(f: () => Promise<T>) => {
    await writer.flush();
    return f();
  };
  return {
    streamEvent: (r, c) => writer.streamEvent(r, c),
    streamListed: (r, i, v, a) => writer.streamListed(r, i, v, a),
    streamProgress: (r, v, a) => writer.streamProgress(r, v, a),
    verified: (r, l) => writer.verified(r, l),
    list: (r, v, q) => read(() => reader.list(r, v, q)),
    get: (r, v, ns, n) => read(() => reader.get(r, v, ns, n)),
    freshness: (r, v) => read(() => reader.freshness(r, v)),
    sizes: (r) => read(() => reader.sizes(r)),
  };
}

const STORES: Record<string, (now?: () => number) => Promise<MonitorStore>> = {
  memory: async (now) => new MemoryStore(now),
  redis: redisPair,
};

for (const [kind, make] of Object.entries(STORES)) {
  describe(`aggregation (${kind} store)`, () => {
    it('drops an object absent from the verified list (a missed DELETED) and counts it a ghost', async () => {
      const s = await make();
      await s.streamListed('pods', [pod('a', '5'), pod('b', '6')], '6', Date.now());
      // b's deletion at 8 never arrives; the stream is at 9 by a bookmark.
      await s.streamProgress('pods', '9', Date.now());
      const c = await s.verified('pods', { items: [pod('a', '5')], resourceVersion: '9', listedAt: Date.now() });
      assert.deepEqual(c, { missedAdds: 0, ghosts: 1, staleVersions: 0 });
      assert.deepEqual(await names(s, 'aggregated'), ['a@5:verified']);
      assert.deepEqual(await names(s, 'streamed'), ['a@5:streamed', 'b@6:streamed'], 'the stream alone still believes in b');
    });

    it('keeps an object the stream created after the verified list', async () => {
      const s = await make();
      await s.streamListed('pods', [], '3', Date.now());
      await s.verified('pods', { items: [], resourceVersion: '3', listedAt: Date.now() });
      await s.streamEvent('pods', up(pod('new', '4')));
      assert.deepEqual(await names(s, 'aggregated'), ['new@4:streamed']);
      // A verification listed before the creation (at 3 again, e.g. a slow list) must not remove it.
      await s.verified('pods', { items: [], resourceVersion: '3', listedAt: Date.now() });
      assert.deepEqual(await names(s, 'aggregated'), ['new@4:streamed']);
      // Once a list covers it, it is verified.
      await s.verified('pods', { items: [pod('new', '4')], resourceVersion: '5', listedAt: Date.now() });
      assert.deepEqual(await names(s, 'aggregated'), ['new@4:verified']);
    });

    it('never lets a streamed DELETED older than the verified object hide it', async () => {
      const s = await make();
      await s.streamListed('pods', [pod('a', '2')], '2', Date.now());
      // a deleted at 3 and re-created at 4: the verifier saw the re-creation before the stream's delete arrives.
      await s.verified('pods', { items: [pod('a', '4')], resourceVersion: '4', listedAt: Date.now() });
      await s.streamEvent('pods', del(pod('a', '2'), '3'));
      assert.deepEqual(await names(s, 'aggregated'), ['a@4:verified']);
      assert.deepEqual(await names(s, 'streamed'), []);
      await s.streamEvent('pods', up(pod('a', '4')));
      assert.deepEqual(await names(s, 'aggregated'), ['a@4:verified']);
      // A later real deletion does hide it.
      await s.streamEvent('pods', del(pod('a', '4'), '7'));
      assert.deepEqual(await names(s, 'aggregated'), []);
    });

    it('counts missed adds and stale versions only where the stream was past them', async () => {
      const s = await make();
      await s.streamListed('pods', [pod('a', '1')], '1', Date.now());
      await s.streamProgress('pods', '10', Date.now());
      const c = await s.verified('pods', {
        items: [pod('a', '5'), pod('b', '6'), pod('late', '12')],
        resourceVersion: '12',
        listedAt: Date.now(),
      });
      // a is stale (5 ≤ 10), b was missed (6 ≤ 10), late is simply not delivered yet (12 > 10).
      assert.deepEqual(c, { missedAdds: 1, ghosts: 0, staleVersions: 1 });
      assert.deepEqual(await names(s, 'aggregated'), ['a@5:verified', 'b@6:verified', 'late@12:verified']);
    });

    it('lets the verified snapshot win where versions are not integers', async () => {
      const s = await make();
      const t0 = Date.now();
      await s.verified('pods', { items: [pod('a', 'x1')], resourceVersion: 'x1', listedAt: t0 });
      await s.streamEvent('pods', del(pod('a', 'x1'), 'x2', t0 + 10));
      await s.streamEvent('pods', up(pod('b', 'x3'), t0 + 20));
      assert.deepEqual(await names(s, 'aggregated'), ['a@x1:verified', 'b@x3:streamed']);
    });

    it('answers queries by namespace, name and full label selector syntax from the indexes', async () => {
      const s = await make();
      await s.streamListed('pods', [pod('a', '1', { app: 'web', tier: 'front' }), pod('b', '2', { app: 'web' }), pod('c', '3', { app: 'db' })], '3', Date.now());
      await s.verified('pods', { items: [], resourceVersion: '0', listedAt: Date.now() });
      const q = async (query: object) => (await s.list('pods', 'aggregated', query)).items.map((i) => i.object.metadata.name).sort();
      assert.deepEqual(await q({ labelSelector: 'app=web,!tier' }), ['b']);
      assert.deepEqual(await q({ labelSelector: 'app in (web,db),tier notin (front)' }), ['b', 'c']);
      assert.deepEqual(await q({ namespace: 'ns', name: 'a', labelSelector: 'tier' }), ['a']);
      assert.deepEqual(await q({ namespace: 'other' }), []);
      assert.deepEqual(await q({ name: 'c' }), ['c']);
    });

    it('follows label changes, namespaces emptied and cluster-scoped objects in its indexes', async () => {
      const s = await make();
      const at = (o: KubeObject, namespace: string | undefined): KubeObject => ({ ...o, metadata: { ...o.metadata, namespace } });
      await s.streamListed('pods', [pod('a', '1', { app: 'web' }), at(pod('b', '2', { app: 'web' }), 'other'), at(pod('n', '3', { app: 'web' }), undefined)], '3', Date.now());
      await s.verified('pods', { items: [], resourceVersion: '0', listedAt: Date.now() });
      const q = async (query: object, view: 'aggregated' | 'streamed' = 'aggregated') =>
        (await s.list('pods', view, query)).items.map((i) => `${i.object.metadata.namespace ?? ''}/${i.object.metadata.name}@${i.object.metadata.resourceVersion}`).sort();
      assert.deepEqual(await q({ labelSelector: 'app=web' }), ['/n@3', 'ns/a@1', 'other/b@2']);
      assert.deepEqual(await q({ namespace: '' }), ['/n@3'], 'cluster-scoped objects are their own namespace');
      assert.deepEqual((await s.get('pods', 'aggregated', undefined, 'n')).item?.object.metadata.resourceVersion, '3');
      // a moves from web to db: the old pair finds it no more, the new one does, at its new version.
      await s.streamEvent('pods', up(pod('a', '4', { app: 'db' })));
      assert.deepEqual(await q({ namespace: 'ns', labelSelector: 'app=web' }), []);
      assert.deepEqual(await q({ namespace: 'ns', labelSelector: 'app in (db),app!=web' }), ['ns/a@4']);
      assert.deepEqual(await q({ labelSelector: 'app=db' }, 'streamed'), ['ns/a@4']);
      // The last object of a namespace deleted: the namespace is gone from every answer and count.
      await s.streamEvent('pods', del(at(pod('b', '2', { app: 'web' }), 'other'), '5'));
      assert.deepEqual(await q({}), ['/n@3', 'ns/a@4']);
      assert.deepEqual(await q({ namespace: 'other' }), []);
      assert.deepEqual(await s.sizes('pods'), { streamed: 2, verified: 0, aggregated: 2 });
      // Re-created with other labels: found by them only.
      await s.streamEvent('pods', up(at(pod('b', '6', { tier: 'x' }), 'other')));
      assert.deepEqual(await q({ labelSelector: 'tier=x' }), ['other/b@6']);
      assert.deepEqual(await q({ labelSelector: 'app=web' }), ['/n@3']);
      // A verification moves everything to the verified source, indexes included.
      await s.verified('pods', { items: [pod('a', '4', { app: 'db' }), at(pod('b', '6', { tier: 'x' }), 'other')], resourceVersion: '6', listedAt: Date.now() });
      assert.deepEqual(await q({ labelSelector: 'tier=x' }), ['other/b@6']);
      assert.deepEqual(await q({ labelSelector: 'app' }), ['ns/a@4']);
      assert.deepEqual((await s.list('pods', 'verified', { labelSelector: 'app=db' })).items.map((i) => i.source), ['verified']);
    });

    it('reports freshness per view', async () => {
      let now = 1_000_000;
      const s = await make(() => now);
      await s.streamListed('pods', [], '7', now);
      await s.verified('pods', { items: [], resourceVersion: '7', listedAt: now - 4000 });
      await s.streamProgress('pods', '9', now);
      now += 1500;
      assert.deepEqual(await s.freshness('pods', 'aggregated'), {
        view: 'aggregated',
        verifiedTime: new Date(1_000_000 - 4000).toISOString(),
        verifiedResourceVersion: '7',
        streamResourceVersion: '9',
        stalenessSeconds: 1.5,
      });
      assert.equal((await s.freshness('pods', 'verified')).stalenessSeconds, 5.5);
    });
  });
}

describe('redis store writes', () => {
  it('a verification sends exactly its corrections, in one MULTI/EXEC', async () => {
    const prefix = 'kre:test:writes';
    const writer = new RedisStore({ client: createRedisClient({ url: redis.url }), prefix, identity: 'writer' });
    opened.push(writer);
    await writer.connect();
    writer.becomeWriter();
    await writer.publish();
    const items = Array.from({ length: 50 }, (_, i) => pod(`p${i}`, String(i + 1)));
    await writer.streamListed('pods', items, '50', Date.now());
    await writer.verified('pods', { items, resourceVersion: '50', listedAt: Date.now() });
    // p3 was deleted and p7 changed without the stream saying so; the stream is past both.
    await writer.streamProgress('pods', '60', Date.now());
    await writer.flush();
    const seen: string[][] = [];
    const watcher = createRedisClient({ url: redis.url });
    await watcher.connect();
    watcher.on('error', () => undefined);
    await watcher.monitor((reply) => {
      // `<time> [<db> <client>] "ARG" "ARG" …`, quotes inside arguments escaped.
      const args = [...String(reply).matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]);
      if (args.some((a) => a.startsWith(prefix)) || ['MULTI', 'EXEC'].includes(args[0].toUpperCase())) seen.push(args);
    });
    const corrected = items.filter((o) => o.metadata.name !== 'p3').map((o) => (o.metadata.name === 'p7' ? pod('p7', '55') : o));
    const c = await writer.verified('pods', { items: corrected, resourceVersion: '60', listedAt: Date.now() });
    await writer.flush();
    await new Promise((r) => setTimeout(r, 100));
    watcher.destroy();
    assert.deepEqual(c, { missedAdds: 0, ghosts: 1, staleVersions: 1 });
    const shape = seen.map((a) => [a[0].toUpperCase(), a[1]?.replace(`${prefix}:`, '') ?? '', ...a.slice(2).filter((_, i) => i % 2 === 0 || a[0].toUpperCase() === 'HDEL')].join(' '));
    assert.deepEqual(shape, [
      'MULTI ',
      'HSET pods:verified:o:ns p7',
      'HDEL pods:verified:o:ns p3',
      'HSET pods:aggregated:o:ns p7',
      'HDEL pods:aggregated:o:ns p3',
      'HSET pods:meta writer streamResourceVersion lastContact verifiedAt verifiedResourceVersion',
      'EXEC ',
    ]);
  });

  it('incremental writes leave exactly the keys a full write makes', async () => {
    const prefix = 'kre:test:layout';
    const writer = new RedisStore({ client: createRedisClient({ url: redis.url }), prefix, identity: 'writer' });
    opened.push(writer);
    await writer.connect();
    writer.becomeWriter();
    await writer.publish();
    const inNs = (o: KubeObject, namespace: string): KubeObject => ({ ...o, metadata: { ...o.metadata, namespace } });
    let rv = 0;
    const next = () => String(++rv);
    const items = Array.from({ length: 30 }, (_, i) => inNs(pod(`p${i}`, next(), { app: `a${i % 3}`, tier: i % 2 ? 'front' : 'back' }), `ns-${i % 4}`));
    await writer.streamListed('pods', items, String(rv), Date.now());
    await writer.verified('pods', { items, resourceVersion: String(rv), listedAt: Date.now() });
    // Label changes, deletions emptying a namespace, creations in a new one, a verification correcting.
    for (let i = 0; i < 30; i += 4) await writer.streamEvent('pods', up(inNs(pod(`p${i}`, next(), { app: 'moved' }), 'ns-0')));
    for (const o of items.filter((o) => o.metadata.namespace === 'ns-3')) await writer.streamEvent('pods', del(o, next()));
    await writer.streamEvent('pods', up(inNs(pod('fresh', next(), { app: 'a1' }), 'ns-9')));
    await writer.streamProgress('pods', next(), Date.now());
    // The list misses ns-1's objects (deleted unheard) and has ns-2's relabelled (changed unheard).
    const listed = items
      .filter((o) => o.metadata.namespace === 'ns-0' || o.metadata.namespace === 'ns-2')
      .map((o) => (o.metadata.namespace === 'ns-2' ? { ...o, metadata: { ...o.metadata, resourceVersion: next(), labels: { app: 'relabelled' } } } : o));
    await writer.streamProgress('pods', next(), Date.now());
    await writer.verified('pods', { items: listed, resourceVersion: String(rv), listedAt: Date.now() });
    await writer.flush();
    const dump = async () => {
      const out: Record<string, unknown> = {};
      for await (const batch of writer['client'].scanIterator({ MATCH: `${prefix}:pods:*` })) {
        for (const k of batch) {
          const type = await writer['client'].type(k);
          out[k] = type === 'hash' ? await writer['client'].hGetAll(k) : (await writer['client'].sMembers(k)).sort();
        }
      }
      return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
    };
    const incremental = await dump();
    assert.ok(Object.keys(incremental).some((k) => k.endsWith(':streamed:l:ns-0:app=moved')));
    assert.ok(!Object.keys(incremental).some((k) => k.includes(':streamed:o:ns-3') || k.includes(':streamed:l:ns-3:')), 'nothing left of an emptied namespace');
    await writer.publish();
    assert.deepEqual(incremental, await dump());
  });
});

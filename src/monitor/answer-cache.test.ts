/**
 * Lists answered again from the answers kept for the same query: what the store changes reaches
 * the next answer (objects, versions, sources), pages and other queries are answered apart, and
 * the kept answers stay within their bounds.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { after, before, describe, it } from 'node:test';
import type { KubeObject } from '../kube/index.ts';
import { AnswerCache } from './answer-cache.ts';
import { SOURCE_ANNOTATION } from './entry.ts';
import { MonitorHttp } from './http.ts';
import { MemoryStore } from './memory-store.ts';
import { MonitorMetrics } from './metrics.ts';

const TOKEN = 'answer-cache-token';
const pod = (name: string, rv: string, labels: Record<string, string> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'ns-a', resourceVersion: rv, labels },
  spec: { nodeName: 'node-1', containers: [{ name: 'main', image: 'busybox' }] },
});

let store: MemoryStore;
let server: MonitorHttp;
let url: string;

before(async () => {
  store = new MemoryStore();
  server = new MonitorHttp({
    store,
    resources: [{ group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true, verifyEveryMs: 3_600_000 }],
    token: TOKEN,
    metrics: new MonitorMetrics(() => []),
    ready: () => true,
  });
  url = await server.listen('127.0.0.1', 0);
});

after(async () => {
  await server?.close();
});

interface ListBody {
  metadata: { resourceVersion: string; continue?: string };
  items: KubeObject[];
}

async function list(path: string): Promise<{ raw: string; body: ListBody; headers: Headers }> {
  const res = await fetch(url + path, { headers: { Authorization: `Bearer ${TOKEN}` } });
  assert.equal(res.status, 200);
  const raw = await res.text();
  return { raw, body: JSON.parse(raw) as ListBody, headers: res.headers };
}

const summary = (body: ListBody) => body.items.map((p) => `${p.metadata.name}@${p.metadata.resourceVersion}:${p.metadata.annotations?.[SOURCE_ANNOTATION]}`);
const names = (body: ListBody) => body.items.map((p) => p.metadata.name);

describe('list answers kept for repeated queries', () => {
  it('follow every change of the store: objects, the list version and where each object comes from', async () => {
    const path = '/api/v1/namespaces/ns-a/pods?labelSelector=app%3Dweb';
    const received = Date.now();
    await store.streamListed('pods', [pod('web-1', '10', { app: 'web' }), pod('db-1', '11', { app: 'db' })], '11', received);
    const first = await list(path);
    assert.deepEqual(summary(first.body), ['web-1@10:streamed']);
    assert.equal(first.body.metadata.resourceVersion, '11');
    assert.equal((await list(path)).raw, first.raw, 'the same answer while nothing changed');

    await store.streamEvent('pods', { type: 'upsert', object: pod('web-2', '12', { app: 'web' }), resourceVersion: '12', receivedAt: received });
    const added = await list(path);
    assert.deepEqual(summary(added.body), ['web-1@10:streamed', 'web-2@12:streamed']);
    assert.equal(added.body.metadata.resourceVersion, '12');

    // A bookmark moves the version the list says it is at, and nothing else.
    await store.streamProgress('pods', '15', received);
    const bookmarked = await list(path);
    assert.equal(bookmarked.body.metadata.resourceVersion, '15');
    assert.equal(bookmarked.headers.get('x-kre-stream-resource-version'), '15');

    // A verification of the same objects: the same versions, now from the verified list.
    await store.verified('pods', { items: [pod('web-1', '10', { app: 'web' }), pod('web-2', '12', { app: 'web' }), pod('db-1', '11', { app: 'db' })], resourceVersion: '15', listedAt: received });
    assert.deepEqual(summary((await list(path)).body), ['web-1@10:verified', 'web-2@12:verified']);

    await store.streamEvent('pods', { type: 'delete', object: pod('web-1', '16', { app: 'web' }), resourceVersion: '16', receivedAt: received });
    assert.deepEqual(summary((await list(path)).body), ['web-2@12:verified']);
  });

  it('answer pages, other selectors and other views apart from the whole list', async () => {
    const received = Date.now();
    assert.deepEqual(names((await list('/api/v1/namespaces/ns-a/pods')).body), ['db-1', 'web-2']);
    await store.streamListed('pods', [pod('a', '20', { app: 'web' }), pod('b', '21', { app: 'web' }), pod('c', '22', { app: 'db' })], '22', received);
    assert.deepEqual(names((await list('/api/v1/namespaces/ns-a/pods')).body), ['a', 'b', 'c'], 'a relist of the stream');
    await store.verified('pods', { items: [pod('a', '20', { app: 'web' })], resourceVersion: '20', listedAt: received });
    const page = await list('/api/v1/namespaces/ns-a/pods?limit=2');
    assert.deepEqual(names(page.body), ['a', 'b']);
    assert.ok(page.body.metadata.continue);
    const rest = await list(`/api/v1/namespaces/ns-a/pods?limit=2&continue=${page.body.metadata.continue}`);
    assert.deepEqual(names(rest.body), ['c']);
    assert.equal((await list('/api/v1/namespaces/ns-a/pods?limit=2')).body.metadata.continue !== page.body.metadata.continue, true, 'each first page a snapshot of its own');
    assert.deepEqual(names((await list('/api/v1/namespaces/ns-a/pods?fieldSelector=metadata.name%3Db')).body), ['b']);
    assert.deepEqual(names((await list('/api/v1/namespaces/ns-a/pods?fieldSelector=metadata.name%3Dc')).body), ['c']);
    assert.deepEqual(names((await list('/api/v1/namespaces/ns-a/pods?view=verified')).body), ['a']);
    assert.deepEqual(names((await list('/api/v1/pods?labelSelector=app%3Ddb')).body), ['c']);
    // Checked again for every request: a bad selector is refused even for a path answered before.
    const bad = await fetch(`${url}/api/v1/namespaces/ns-a/pods?labelSelector=app%3D%3D%3D`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    assert.equal(bad.status, 400);
  });
});

describe('AnswerCache', () => {
  /** A response that has not closed yet. */
  const sending = () => new EventEmitter();
  const closed = () => {
    const e = new EventEmitter();
    setImmediate(() => e.emit('close'));
    return e;
  };
  const keep = (cache: AnswerCache, key: string, revision: number, length: number, sender = sending()) => {
    const room = cache.room(key, length);
    const body = room.subarray(0, length).fill(revision);
    cache.set(key, revision, body, room, sender);
    return { body, room, sender };
  };

  it('gives an answer back for its revision only, and keeps within its bounds, dropping the least recently served', () => {
    const cache = new AnswerCache({ maxEntries: 3, maxBytes: 100, maxAnswerBytes: 32 });
    const a = keep(cache, 'a', 1, 24);
    assert.equal(a.room.length, 27, 'room to grow by an eighth');
    assert.equal(cache.get('a', 1, sending()), a.body);
    assert.equal(cache.get('a', 2, sending()), undefined, 'another revision: not this answer');
    keep(cache, 'big', 1, 33);
    assert.equal(cache.get('big', 1, sending()), undefined, 'too large an answer is not kept');
    keep(cache, 'b', 1, 24);
    keep(cache, 'c', 1, 24);
    cache.get('a', 1, sending());
    keep(cache, 'd', 1, 24);
    assert.equal(cache.get('b', 1, sending()), undefined, 'the least recently served went first');
    assert.ok(cache.get('a', 1, sending()) && cache.get('c', 1, sending()) && cache.get('d', 1, sending()));
    assert.equal(cache.totalBytes, 81);
    keep(cache, 'e', 1, 30);
    assert.ok(cache.size <= 3 && cache.totalBytes <= 100, `${cache.size} answers, ${cache.totalBytes} bytes`);
  });

  it('makes a new answer in the memory of the previous one only once no response sends that', async () => {
    const cache = new AnswerCache({ maxEntries: 8, maxBytes: 1000, maxAnswerBytes: 100 });
    const first = keep(cache, 'q', 1, 40);
    const served = cache.get('q', 1, sending());
    assert.equal(served, first.body);
    // Both the response that made it and the one served it still send it: new memory.
    const second = cache.room('q', 40);
    assert.notEqual(second.buffer, first.room.buffer);
    assert.deepEqual([...first.body], Array(40).fill(1), 'the answer being sent is untouched');

    const cache2 = new AnswerCache({ maxEntries: 8, maxBytes: 1000, maxAnswerBytes: 100 });
    const done = keep(cache2, 'q', 1, 40, closed());
    await new Promise((r) => setImmediate(r));
    assert.equal(cache2.room('q', 41).buffer, done.room.buffer, 'sent: its memory is reused');
    assert.equal(cache2.size, 0, 'and the old answer is gone with it');
    const small = keep(cache2, 'r', 1, 40, closed());
    await new Promise((r) => setImmediate(r));
    assert.notEqual(cache2.room('r', 46).buffer, small.room.buffer, 'too small for the new answer: new memory');
  });
});

/**
 * Lists answered again from the answers kept for the same query: what the store changes reaches
 * the next answer (objects, versions, sources), pages and other queries are answered apart, and
 * the kept answers stay within their bounds.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import type { KubeObject } from '../kube/index.ts';
import { selfSignedCertificate } from '../kube/tls.ts';
import { AnswerCache } from './answer-cache.ts';
import { SOURCE_ANNOTATION } from './entry.ts';
import { MonitorHttp, type MonitorHttpOptions } from './http.ts';
import { MemoryStore } from './memory-store.ts';
import { MonitorMetrics } from './metrics.ts';
import { acceptsGzip, GZIP_MIN_BYTES } from './serve-json.ts';

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

/** A monitor's HTTP front serving the pods of `store`, with `extra` options. */
const podsServer = (extra: Partial<MonitorHttpOptions> = {}) =>
  new MonitorHttp({
    store,
    resources: [{ group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true, verifyEveryMs: 3_600_000 }],
    token: TOKEN,
    metrics: new MonitorMetrics(() => []),
    ready: () => true,
    ...extra,
  });

before(async () => {
  store = new MemoryStore();
  server = podsServer();
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

/** A GET as a client that sends `acceptEncoding` sees it: the headers and the bytes on the wire. */
function rawGet(path: string, acceptEncoding?: string): Promise<{ headers: http.IncomingHttpHeaders; bytes: Buffer }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { Authorization: `Bearer ${TOKEN}`, ...(acceptEncoding ? { 'Accept-Encoding': acceptEncoding } : {}) };
    http
      .get(url + path, { headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ headers: res.headers, bytes: Buffer.concat(chunks) }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

describe('kept answers for clients that accept gzip', () => {
  const many = (n: number, from: number) => Array.from({ length: n }, (_, i) => pod(`gz-${from + i}`, String(100 + from + i), { app: 'gz' }));
  const path = '/api/v1/namespaces/ns-a/pods?labelSelector=app%3Dgz';

  it('are sent gzipped once kept, the same bytes once unpacked, and follow the store', async () => {
    const received = Date.now();
    await store.streamListed('pods', many(80, 0), '180', received);
    const made = await rawGet(path, 'gzip');
    assert.equal(made.headers['content-encoding'], undefined, 'the answer being made goes out as made');
    assert.ok(made.bytes.length >= GZIP_MIN_BYTES, `an answer large enough to compress (${made.bytes.length} bytes)`);
    const gz = await rawGet(path, 'gzip, deflate');
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.equal(gz.headers.vary, 'Accept-Encoding');
    assert.equal(Number(gz.headers['content-length']), gz.bytes.length);
    assert.ok(gz.bytes.length * 4 < made.bytes.length, `${gz.bytes.length} gzipped bytes for ${made.bytes.length}`);
    assert.deepEqual(gunzipSync(gz.bytes), made.bytes);

    for (const refused of [undefined, 'identity', 'gzip;q=0', 'br']) {
      const plain = await rawGet(path, refused);
      assert.equal(plain.headers['content-encoding'], undefined, `Accept-Encoding: ${refused}`);
      assert.deepEqual(plain.bytes, made.bytes);
    }

    await store.streamEvent('pods', { type: 'upsert', object: pod('gz-new', '200', { app: 'gz' }), resourceVersion: '200', receivedAt: received });
    await rawGet(path, 'gzip');
    const after = await rawGet(path, 'gzip');
    assert.equal(after.headers['content-encoding'], 'gzip');
    const unpacked = JSON.parse(gunzipSync(after.bytes).toString()) as ListBody;
    assert.ok(names(unpacked).includes('gz-new'), 'the change is in the gzipped answer too');
    assert.equal(unpacked.metadata.resourceVersion, '200');
  });

  it('are read by kubectl, which asks for gzip and a first page of 500, the same as answers made afresh', async () => {
    // kubectl sends its token only over TLS: a second server on the same store, over HTTPS.
    const metrics = new MonitorMetrics(() => []);
    const tls = podsServer({ metrics, tls: await selfSignedCertificate() });
    const home = mkdtempSync(join(tmpdir(), 'kre-answer-cache-kubectl-'));
    try {
      const server = await tls.listen('127.0.0.1', 0);
      const kubectl = async () =>
        (await promisify(execFile)('kubectl', ['--server', server, '--token', TOKEN, '--insecure-skip-tls-verify', '-n', 'ns-a', 'get', 'pods', '-l', 'app=gz', '-o', 'json'], { env: { ...process.env, KUBECONFIG: '/dev/null', HOME: home } })).stdout;
      const made = await kubectl();
      const served = await kubectl();
      assert.deepEqual(JSON.parse(served), JSON.parse(made));
      assert.ok((JSON.parse(served) as ListBody).items.length > 80);
      // kubectl's transport unpacks gzip below what -v=8 shows: the monitor's count says how it went out.
      const counts = await metrics.registry.metrics();
      assert.match(counts, /^kre_monitor_list_answers_total\{answer="made"\} 1$/m);
      assert.match(counts, /^kre_monitor_list_answers_total\{answer="kept_gzip"\} 1$/m);
    } finally {
      await tls.close();
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('read Accept-Encoding as HTTP says: codings, weights and the wildcard', () => {
    assert.equal(acceptsGzip('gzip'), true);
    assert.equal(acceptsGzip('deflate, GZIP;q=0.5'), true);
    assert.equal(acceptsGzip('gzip;q=0'), false);
    assert.equal(acceptsGzip('*'), true);
    assert.equal(acceptsGzip('*;q=0'), false);
    assert.equal(acceptsGzip('br, *;q=0.1'), true);
    assert.equal(acceptsGzip('identity'), false);
    assert.equal(acceptsGzip(''), false);
    assert.equal(acceptsGzip(undefined), false);
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

  it('compresses a kept answer once, counts its gzip in its bounds, and never reuses memory zlib still reads', async () => {
    const cache = new AnswerCache({ maxEntries: 8, maxBytes: 100_000, maxAnswerBytes: 50_000 });
    const a = keep(cache, 'a', 1, 40_000);
    const before = cache.totalBytes;
    const pending = cache.gzipped('a', 1);
    assert.ok(pending instanceof Promise);
    assert.equal(cache.gzipped('a', 1), pending, 'one compression for every request meanwhile');
    a.sender.emit('close');
    assert.notEqual(cache.room('a', 40_000).buffer, a.room.buffer, 'sent, but zlib is reading the body: new memory');
    const again = keep(cache, 'a', 2, 40_000, closed());
    const gz = cache.gzipped('a', 2);
    assert.deepEqual(gunzipSync((await pending)!), a.body, 'the first compression ends with what it read');
    const packed = (await gz)!;
    assert.deepEqual(gunzipSync(packed), again.body);
    assert.equal(cache.gzipped('a', 2), packed, 'kept: no second compression');
    assert.equal(cache.gzipped('a', 1), undefined, 'the old revision is gone');
    assert.equal(cache.totalBytes, before - a.room.length + again.room.length + packed.length);
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

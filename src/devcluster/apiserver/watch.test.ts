/**
 * Watches a careless or hostile client can hold open: clients that never read are closed once they
 * fall a bounded number of bytes behind (counted in /metrics) while readers get every event, and a
 * watch from a version the server has not reached sends nothing older than that version, as
 * kube-apiserver does.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type TLSSocket } from 'node:tls';
import { startDevCluster, type DevCluster } from '../index.ts';
import { eventually, openWatch, rawRequest } from '../testing.ts';

const LIMIT = 512 * 1024;
/** Writes of 200 KiB: 16 MiB per watcher, more than the kernel's socket buffers take from a client that does not read. */
const WRITES = 80;
let cluster: DevCluster;

before(async () => {
  cluster = await startDevCluster({ nodes: 0, bookmarkIntervalMs: 100, watchBufferBytes: LIMIT });
  for (const ns of ['slow', 'future']) assert.equal((await rawRequest(cluster, 'POST', '/api/v1/namespaces', { metadata: { name: ns } })).status, 201);
});
after(async () => {
  await cluster.stop();
});

async function metric(name: string, labels = ''): Promise<number> {
  const line = (await cluster.metrics()).split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line ? Number(line.split(' ').pop()) : 0;
}

async function currentRv(ns: string): Promise<number> {
  return Number((await rawRequest(cluster, 'GET', `/api/v1/namespaces/${ns}/configmaps`)).json().metadata.resourceVersion);
}

/** A client that sends a watch request and then never reads a byte of the answer. */
function stalledWatch(path: string): Promise<TLSSocket> {
  const url = new URL(cluster.url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: url.hostname, port: Number(url.port), ca: cluster.caCert }, () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${cluster.token}\r\n\r\n`);
      socket.pause();
      resolve(socket);
    });
    socket.on('error', () => {});
    socket.once('error', reject);
  });
}

describe('watchers that fall behind', () => {
  test('ten watchers that never read: what the server holds for them stays bounded, and each is closed and counted', async () => {
    const rv = await currentRv('slow');
    const stalled = await Promise.all(Array.from({ length: 10 }, () => stalledWatch(`/api/v1/namespaces/slow/configmaps?watch=1&resourceVersion=${rv}`)));
    const reader = openWatch(cluster, `/api/v1/namespaces/slow/configmaps?watch=1&resourceVersion=${rv}`);
    try {
      assert.equal(await reader.status, 200);
      await eventually(async () => (await metric('devcluster_watches')) === 11, 10_000, 'eleven open watches');
      const closedBefore = await metric('devcluster_watches_closed_too_slow_total', '{collection="configmaps"}');
      const value = 'x'.repeat(200 * 1024);
      const writes = WRITES;
      let most = 0;
      for (let i = 0; i < writes; i++) {
        assert.equal((await rawRequest(cluster, 'POST', '/api/v1/namespaces/slow/configmaps', { metadata: { name: `big-${i}` }, data: { v: value } })).status, 201);
        most = Math.max(most, await metric('devcluster_watch_buffered_bytes'));
      }
      // Each of the ten held at most its limit, one event over it and what its socket took at once;
      // without a limit they would hold 10 × 80 × 200 KiB = 160 MiB between them.
      const bound = 10 * (LIMIT + 2 * 205 * 1024 + 64 * 1024);
      assert.ok(most <= bound, `the watchers held ${most} bytes (bound ${bound})`);
      await eventually(async () => (await metric('devcluster_watches_closed_too_slow_total', '{collection="configmaps"}')) - closedBefore >= 10, 20_000, 'ten watchers closed as too slow');
      await eventually(async () => (await metric('devcluster_watches')) === 1, 10_000, 'only the reader left open');
      // The reader, which reads, got every event and is still open.
      await reader.until((e) => e.filter((x) => x.type === 'ADDED').length === writes, 30_000);
      assert.deepEqual(
        reader.events.map((e) => e.object.metadata.name),
        Array.from({ length: writes }, (_, i) => `big-${i}`),
      );
    } finally {
      reader.close();
      for (const s of stalled) s.destroy();
    }
  });

  test('a large initial list is sent as the client reads, and does not count against the limit', async () => {
    const closedBefore = await metric('devcluster_watches_closed_too_slow_total', '{collection="configmaps"}');
    // 80 objects of 200 KiB: 16 MiB of initial events, far over the 512 KiB limit.
    const w = openWatch(cluster, '/api/v1/namespaces/slow/configmaps?watch=1');
    try {
      await w.until((e) => e.length === WRITES, 30_000);
      assert.ok(w.events.every((e) => e.type === 'ADDED'));
      await rawRequest(cluster, 'POST', '/api/v1/namespaces/slow/configmaps', { metadata: { name: 'after-initial' } });
      await w.until((e) => e.some((x) => x.object.metadata.name === 'after-initial'), 10_000);
      assert.equal(await metric('devcluster_watches_closed_too_slow_total', '{collection="configmaps"}'), closedBefore);
    } finally {
      w.close();
    }
  });
});

describe('a watch from a version the server has not reached', () => {
  test('sends only what comes after that version, as kube-apiserver does', async () => {
    const rv = await currentRv('future');
    const from = rv + 3;
    const w = openWatch(cluster, `/api/v1/namespaces/future/configmaps?watch=1&resourceVersion=${from}&allowWatchBookmarks=true`);
    try {
      assert.equal(await w.status, 200);
      const created: number[] = [];
      for (let i = 0; i < 6; i++) {
        created.push(Number((await rawRequest(cluster, 'POST', '/api/v1/namespaces/future/configmaps', { metadata: { name: `f-${i}` } })).json().metadata.resourceVersion));
      }
      const expected = created.filter((v) => v > from).length;
      assert.ok(expected > 0 && expected < 6);
      await w.until((e) => e.filter((x) => x.type === 'ADDED').length === expected, 10_000);
      // Bookmarks come every 100 ms: give them time to show a version older than asked for.
      await new Promise((r) => setTimeout(r, 500));
      for (const e of w.events) assert.ok(Number(e.object.metadata.resourceVersion) > from, `${e.type} at ${e.object.metadata.resourceVersion}, asked from ${from}`);
    } finally {
      w.close();
    }
  });

  test('a watch from far in the future sends nothing, not even bookmarks', async () => {
    const w = openWatch(cluster, '/api/v1/namespaces/future/configmaps?watch=1&resourceVersion=99999999999&allowWatchBookmarks=true');
    try {
      assert.equal(await w.status, 200);
      await rawRequest(cluster, 'POST', '/api/v1/namespaces/future/configmaps', { metadata: { name: 'now' } });
      await new Promise((r) => setTimeout(r, 500));
      assert.deepEqual(w.events, []);
    } finally {
      w.close();
    }
  });
});

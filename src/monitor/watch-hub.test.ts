/**
 * A watcher that stops reading is cut off once its unsent bytes pass the cap, with an ERROR event,
 * a warning and a count, while a watcher that reads gets every event: one slow client costs the
 * monitor a bounded amount of memory and the others nothing.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { Writable } from 'node:stream';
import { setImmediate as tick } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { eventually } from '../devcluster/testing.ts';
import type { KubeObject } from '../kube/index.ts';
import { MonitorHttp } from './http.ts';
import { MemoryStore } from './memory-store.ts';
import { MonitorMetrics } from './metrics.ts';
import { readWatchLines } from './watch-testing.ts';

const TOKEN = 'watch-hub-token';
const CAP = 256 << 10;
/**
 * Bytes published at most: room for the kernel's socket buffers (a few MiB on loopback) above CAP,
 * yet below the default cap (16 MiB), so that with that cap instead of CAP no watcher is closed.
 */
const MAX_PUBLISHED = 14 << 20;
const FILLER = 'x'.repeat(32 << 10);
const WATCH = '/api/v1/namespaces/ns-a/pods?watch=1&resourceVersion=1';

const pod = (name: string, rv: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'ns-a', resourceVersion: rv, annotations: { filler: FILLER } },
});

let store: MemoryStore;
let metrics: MonitorMetrics;
let server: MonitorHttp;
let url: string;
const logs: { level: number; msg: string; resource?: string; limit?: number; queuedBytes?: number }[] = [];

before(async () => {
  store = new MemoryStore();
  await store.streamListed('pods', [], '1', Date.now());
  metrics = new MonitorMetrics(() => []);
  const logger = pino({ level: 'info' }, new Writable({ write: (chunk: Buffer, _enc, cb) => (logs.push(JSON.parse(chunk.toString())), cb()) }));
  server = new MonitorHttp({
    store,
    resources: [{ group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true, verifyEveryMs: 3_600_000 }],
    token: TOKEN,
    metrics,
    ready: () => true,
    logger,
    watchMaxQueuedBytes: CAP,
  });
  url = await server.listen('127.0.0.1', 0);
});

after(async () => {
  await server?.close(100);
});

/** A watch whose response is paused at once: the client reads nothing until `drain()`. */
function slowWatch(): Promise<{ drain(): Promise<string> }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url + WATCH, { headers: { Authorization: `Bearer ${TOKEN}` } }, (res) => {
      assert.equal(res.statusCode, 200);
      res.pause();
      resolve({
        drain: () =>
          new Promise((done) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => (text += c));
            res.on('end', () => done(text));
            res.on('error', () => done(text));
            res.resume();
          }),
      });
    });
    req.on('error', reject);
  });
}

/** A watch read as it comes: the names of the objects of its events, in order. */
async function readingWatch(): Promise<{ names: string[]; close(): void }> {
  const ac = new AbortController();
  const res = await fetch(url + WATCH, { headers: { Authorization: `Bearer ${TOKEN}` }, signal: ac.signal });
  assert.equal(res.status, 200);
  const names: string[] = [];
  readWatchLines<{ object: KubeObject }>(res, (e) => names.push(e.object.metadata.name!));
  return { names, close: () => ac.abort() };
}

const closedTooSlow = async () => /^kre_monitor_watches_closed_too_slow_total\{resource="pods"\} (\d+)$/m.exec(await metrics.registry.metrics())?.[1];

describe('the unsent-data cap of a watch', () => {
  it('closes the watcher that does not read, with an ERROR event, a warning and a count, while a reading one gets every event', async () => {
    const slow = await slowWatch();
    const reading = await readingWatch();
    await eventually(async () => (await metrics.registry.getSingleMetricAsString('kre_monitor_http_requests_total')).includes('code="200"} 2'), 5000, 'both watches served');

    let published = 0;
    let rv = 1;
    const publish = async (name: string) => {
      rv++;
      await store.streamEvent('pods', { type: 'upsert', object: pod(name, String(rv)), resourceVersion: String(rv), receivedAt: Date.now() });
      published++;
      // The connections write, and the reading client reads, between events.
      await tick();
    };
    while (!logs.some((l) => l.msg.startsWith('watch closed')) && published * FILLER.length < MAX_PUBLISHED) await publish(`p-${published}`);
    const warning = logs.find((l) => l.msg === 'watch closed: the client reads too slowly');
    assert.ok(warning, `no watch closed after ${published} events of ${FILLER.length} bytes`);
    assert.equal(warning.level, 40);
    assert.equal(warning.resource, 'pods');
    assert.equal(warning.limit, CAP);
    assert.ok(warning.queuedBytes! <= CAP, `${warning.queuedBytes} bytes were queued`);
    assert.equal(await closedTooSlow(), '1');

    // The reading watcher is not held up and goes on: every event so far and the next ones.
    await publish('after-1');
    await publish('after-2');
    const expected = [...Array.from({ length: published - 2 }, (_, i) => `p-${i}`), 'after-1', 'after-2'];
    await eventually(() => reading.names.length === expected.length, 10_000, `the reading watcher's ${expected.length} events (has ${reading.names.length})`);
    assert.deepEqual(reading.names, expected);
    reading.close();

    // What the slow watcher gets once it reads: the events it was sent, then the ERROR, then the end.
    const lines = (await slow.drain()).trimEnd().split('\n').map((l) => JSON.parse(l) as { type: string; object: KubeObject & { code?: number; reason?: string; message?: string } });
    const last = lines.pop()!;
    assert.equal(last.type, 'ERROR');
    assert.equal(last.object.code, 429);
    assert.equal(last.object.reason, 'TooManyRequests');
    assert.match(last.object.message ?? '', new RegExp(`more than ${CAP} bytes behind`));
    assert.ok(lines.length < published - 2, `the slow watcher got ${lines.length} of ${published - 2} events`);
    assert.deepEqual(lines.map((l) => l.object.metadata.name), expected.slice(0, lines.length), 'and those in order');
    assert.equal(await closedTooSlow(), '1', 'one watcher closed');
  });
});

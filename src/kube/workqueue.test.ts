import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkQueue } from './workqueue.ts';

describe('WorkQueue', () => {
  test('deduplicates waiting keys and keeps their order', async () => {
    const q = new WorkQueue();
    for (const k of ['a', 'b', 'a', 'c', 'b']) q.add(k);
    assert.equal(q.length, 3);
    const got = [await q.get(), await q.get(), await q.get()];
    assert.deepEqual(got, ['a', 'b', 'c']);
  });

  test('a key added while processed is queued again after done, never handed out twice at once', async () => {
    const q = new WorkQueue();
    q.add('a');
    const first = await q.get();
    assert.equal(first, 'a');
    q.add('a');
    q.add('a');
    assert.equal(q.length, 0, 'not queued while in flight');
    q.done('a');
    assert.equal(q.length, 1);
    assert.equal(await q.get(), 'a');
  });

  test('workers never process one key concurrently', async () => {
    const q = new WorkQueue();
    const active = new Set<string>();
    let overlaps = 0;
    let processed = 0;
    const run = q.run(4, async (key) => {
      if (active.has(key)) overlaps++;
      active.add(key);
      await sleep(2);
      active.delete(key);
      processed++;
    });
    for (let i = 0; i < 200; i++) {
      q.add(`k${i % 5}`);
      if (i % 10 === 0) await sleep(1);
    }
    while (q.length > 0 || q.inFlight > 0) await sleep(5);
    await q.shutdown();
    await run;
    assert.equal(overlaps, 0);
    assert.ok(processed >= 5);
  });

  test('addAfter delays a key; the earlier of two delays wins', async () => {
    const q = new WorkQueue();
    const t0 = Date.now();
    q.addAfter('a', 200);
    q.addAfter('a', 30);
    assert.equal(q.length, 0);
    assert.equal(await q.get(), 'a');
    const waited = Date.now() - t0;
    assert.ok(waited >= 25 && waited < 150, `waited ${waited} ms`);
    q.done('a');
    await q.shutdown();
  });

  test('addRateLimited backs off exponentially per key up to the cap; forget resets it', async () => {
    const q = new WorkQueue({ baseDelayMs: 10, maxDelayMs: 40 });
    assert.deepEqual([0, 1, 2, 3, 10].map((n) => q.backoffFor(n)), [10, 20, 40, 40, 40]);
    q.addRateLimited('a');
    q.addRateLimited('a');
    assert.equal(q.numRequeues('a'), 2);
    q.forget('a');
    assert.equal(q.numRequeues('a'), 0);
    assert.equal(await q.get(), 'a');
    q.done('a');
    await q.shutdown();
  });

  test('shutdown waits for in-flight work, drops waiting keys and refuses new ones', async () => {
    const q = new WorkQueue();
    let finished = 0;
    let started = 0;
    const run = q.run(2, async () => {
      started++;
      await sleep(50);
      finished++;
    });
    q.add('a');
    q.add('b');
    q.add('c');
    q.addAfter('d', 10);
    await sleep(5);
    assert.equal(started, 2);
    await q.shutdown();
    assert.equal(finished, 2, 'both in-flight keys finished before shutdown resolved');
    assert.equal(q.add('e'), false);
    await run;
    await sleep(20);
    assert.equal(started, 2, 'waiting and delayed keys were dropped');
    assert.equal(await q.get(), undefined);
  });

  test('an error escaping a worker is reported and the worker goes on', async () => {
    const q = new WorkQueue();
    const errors: string[] = [];
    const seen: string[] = [];
    const run = q.run(
      1,
      async (key) => {
        seen.push(key);
        if (key === 'bad') throw new Error('boom');
      },
      (key, err) => errors.push(`${key}: ${(err as Error).message}`),
    );
    q.add('bad');
    q.add('good');
    while (seen.length < 2) await sleep(1);
    await q.shutdown();
    await run;
    assert.deepEqual(errors, ['bad: boom']);
    assert.deepEqual(seen, ['bad', 'good']);
  });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeObject } from './client.ts';
import { OwnWrites, WriteMemory } from './write-memory.ts';

const cm = (name: string, resourceVersion: string): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'ns', name, resourceVersion } });

test('a write memory forgets the oldest write past its bound, and a write past its time-to-live', async () => {
  const memory = new WriteMemory<string>({ maxEntries: 2, ttlMs: 30 });
  memory.set('a', 'x', '1');
  memory.set('b', 'y', '2');
  memory.set('a', 'x2', '3'); // a write again is the newest
  memory.set('c', 'z', '4');
  assert.deepEqual(memory.keys(), ['a', 'c']);
  assert.deepEqual({ ...memory.get('a'), at: 0 }, { value: 'x2', resourceVersion: '3', at: 0 });
  await sleep(40);
  assert.equal(memory.get('a'), undefined);
  assert.deepEqual(memory.keys(), ['c']);
});

test("own writes: the echo of a writer's own version is its own once; someone else's newer version is not", () => {
  const own = new OwnWrites();
  own.note(cm('a', '5'));
  assert.equal(own.isOwn(cm('a', '4')), false, 'an older version is still on its way');
  assert.equal(own.isOwn(cm('a', '5')), true);
  assert.equal(own.isOwn(cm('a', '5')), false, 'once');
  own.note(cm('b', '7'));
  assert.equal(own.isOwn(cm('b', '8')), false);
  assert.equal(own.isOwn(cm('b', '7')), false, 'a newer version made the memory of the older one moot');
});

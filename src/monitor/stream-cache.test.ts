import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../kube/index.ts';
import { MemoryStore } from './memory-store.ts';
import { StreamCache } from './stream-cache.ts';

const pod = (name: string, rv: string, labels?: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: name.startsWith('a') ? 'ns-a' : 'ns-b', resourceVersion: rv, ...(labels && { labels }) },
});

describe('StreamCache', () => {
  it('gives back, parsed again, exactly the objects it was told, and what each change replaced', () => {
    const c = new StreamCache();
    const changes = c.replace([pod('a1', '1', { app: 'x' }), pod('b1', '2')], '2');
    assert.deepEqual(changes, { added: [pod('a1', '1', { app: 'x' }), pod('b1', '2')], updated: [], deleted: [] });
    assert.equal(c.resourceVersion, '2');
    assert.deepEqual(c.upsert(pod('a1', '3', { app: 'y' })), pod('a1', '1', { app: 'x' }));
    assert.equal(c.upsert(pod('a2', '4')), undefined);
    assert.deepEqual(c.get('ns-a', 'a1'), pod('a1', '3', { app: 'y' }));
    assert.deepEqual(c.list({ namespace: 'ns-a' }).map((o) => o.metadata.name), ['a1', 'a2']);
    assert.deepEqual(c.list({ labelSelector: 'app=y' }), [pod('a1', '3', { app: 'y' })]);
    assert.deepEqual(c.remove('ns-b/b1'), pod('b1', '2'));
    assert.equal(c.remove('ns-b/b1'), undefined);
    const relist = c.replace([pod('a1', '3', { app: 'y' }), pod('b2', '6')], '6');
    assert.deepEqual(relist, { added: [pod('b2', '6')], updated: [], deleted: [pod('a2', '4')] });
    assert.deepEqual([...c.keys()].sort(), ['ns-a/a1', 'ns-b/b2']);
    assert.equal(c.size, 2);
  });

  it('holds the same entry as the store view the object is written to', async () => {
    const c = new StreamCache();
    const store = new MemoryStore();
    const obj = pod('a1', '1');
    c.upsert(obj);
    await store.streamEvent('pods', { type: 'upsert', object: obj, resourceVersion: '1', receivedAt: Date.now() });
    const { item } = await store.get('pods', 'streamed', 'ns-a', 'a1');
    assert.ok(item?.entry);
    assert.equal(c.entry('ns-a/a1'), item.entry, 'one serialization for the stream and the view');
    assert.deepEqual(c.getByKey('ns-a/a1'), obj);
  });
});

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from './client.ts';
import { ObjectStore, objectKey, splitKey } from './store.ts';

function pod(namespace: string, name: string, rv: string, labels: Record<string, string> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { namespace, name, resourceVersion: rv, labels } };
}

describe('ObjectStore', () => {
  test('keys are namespace/name, or name for cluster-scoped objects', () => {
    assert.equal(objectKey(pod('a', 'p', '1')), 'a/p');
    assert.equal(objectKey({ metadata: { name: 'node-1' } }), 'node-1');
    assert.deepEqual(splitKey('a/p'), { namespace: 'a', name: 'p' });
    assert.deepEqual(splitKey('node-1'), { name: 'node-1' });
  });

  test('lists by namespace and label selector, following relabels and removals', () => {
    const s = new ObjectStore();
    s.upsert(pod('a', 'p1', '1', { app: 'web', tier: 'front' }));
    s.upsert(pod('a', 'p2', '2', { app: 'db' }));
    s.upsert(pod('b', 'p3', '3', { app: 'web' }));
    const names = (objs: KubeObject[]) => objs.map((o) => o.metadata.name).sort();
    assert.deepEqual(names(s.list()), ['p1', 'p2', 'p3']);
    assert.deepEqual(names(s.list({ namespace: 'a' })), ['p1', 'p2']);
    assert.deepEqual(names(s.list({ labelSelector: 'app=web' })), ['p1', 'p3']);
    assert.deepEqual(names(s.list({ namespace: 'b', labelSelector: 'app=web' })), ['p3']);
    assert.deepEqual(names(s.list({ labelSelector: 'app in (web,db),tier!=front' })), ['p2', 'p3']);
    assert.deepEqual(names(s.list({ labelSelector: 'app=none' })), []);
    s.upsert(pod('a', 'p1', '4', { app: 'db' }));
    assert.deepEqual(names(s.list({ labelSelector: 'app=web' })), ['p3']);
    s.remove('b/p3');
    assert.deepEqual(names(s.list({ labelSelector: 'app=web' })), []);
    assert.deepEqual(names(s.list({ namespace: 'b' })), []);
    assert.equal(s.get('a', 'p1')?.metadata.resourceVersion, '4');
  });

  test('replace reports adds, updates by resourceVersion and deletions of vanished keys', () => {
    const s = new ObjectStore();
    s.replace([pod('a', 'keep', '1'), pod('a', 'change', '2'), pod('a', 'gone', '3')], '3');
    const r = s.replace([pod('a', 'keep', '1'), pod('a', 'change', '5'), pod('a', 'new', '6')], '7');
    assert.deepEqual(r.added.map(objectKey), ['a/new']);
    assert.deepEqual(r.updated.map((u) => [u.old.metadata.resourceVersion, u.obj.metadata.resourceVersion]), [['2', '5']]);
    assert.deepEqual(r.deleted.map(objectKey), ['a/gone']);
    assert.equal(s.resourceVersion, '7');
    assert.equal(s.size, 3);
  });
});

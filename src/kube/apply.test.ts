import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDevCluster, type DevCluster } from '../devcluster/index.ts';
import { KubeClient, type KubeObject } from './client.ts';
import { addFinalizer, applyObject, removeFinalizer, setControllerOwner, updateStatusWithRetry } from './apply.ts';

const DEPLOYMENTS = { group: 'apps', version: 'v1', plural: 'deployments', namespace: 'default' };

function deployment(name: string, replicas: number): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default', labels: { app: name } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'main', image: 'busybox' }] } },
    },
  };
}

describe('apply helpers against a devcluster', () => {
  let cluster: DevCluster;
  let client: KubeClient;

  before(async () => {
    cluster = await startDevCluster();
    client = new KubeClient(cluster.kubeConfig());
  });
  after(async () => {
    client?.close();
    await cluster?.stop();
  });

  test('applyObject creates, then updates, as the field manager; a second identical apply changes nothing', async () => {
    const first = await applyObject(client, deployment('web', 1), { fieldManager: 'kre-test', force: true });
    assert.equal(first.spec.replicas, 1);
    const second = await applyObject(client, deployment('web', 3), { fieldManager: 'kre-test', force: true });
    assert.equal(second.spec.replicas, 3);
    const third = await applyObject(client, deployment('web', 3), { fieldManager: 'kre-test', force: true });
    assert.equal(third.metadata.resourceVersion, second.metadata.resourceVersion);
    assert.ok((third.metadata.managedFields as { manager: string }[]).some((m) => m.manager === 'kre-test'));
  });

  test('finalizers are added and removed once, keeping the others', async () => {
    const obj = await client.create({ group: '', version: 'v1', plural: 'configmaps', namespace: 'default' }, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'fin', finalizers: ['other.io/keep'] },
    });
    const added = await addFinalizer(client, obj, 'kre.konstellation.io/cleanup');
    assert.deepEqual(added.metadata.finalizers, ['other.io/keep', 'kre.konstellation.io/cleanup']);
    const again = await addFinalizer(client, added, 'kre.konstellation.io/cleanup');
    assert.equal(again.metadata.resourceVersion, added.metadata.resourceVersion, 'no write when already present');
    // From a stale copy: the conflict is detected and the edit recomputed on the fresh object.
    const removed = await removeFinalizer(client, { ...obj, apiVersion: 'v1', kind: 'ConfigMap', metadata: { ...obj.metadata, finalizers: ['other.io/keep', 'kre.konstellation.io/cleanup'] } }, 'kre.konstellation.io/cleanup');
    assert.deepEqual(removed.metadata.finalizers, ['other.io/keep']);
  });

  test('updateStatusWithRetry retries on conflict and skips writes that change nothing', async () => {
    await applyObject(client, deployment('status', 1), { fieldManager: 'kre-test' });
    const ref = { ...DEPLOYMENTS, name: 'status' };
    let attempts = 0;
    const result = await updateStatusWithRetry<KubeObject>(client, ref, (obj) => {
      attempts++;
      if (attempts === 1) {
        // Make the version we read stale before our PUT reaches the server.
        return { ...obj, status: { ...obj.status, conditions: [{ type: 'Custom', status: 'True' }] }, metadata: { ...obj.metadata, resourceVersion: '1' } };
      }
      obj.status = { ...obj.status, conditions: [{ type: 'Custom', status: 'True' }] };
    });
    assert.equal(attempts, 2, 'retried once after the conflict');
    assert.deepEqual(result.status.conditions, [{ type: 'Custom', status: 'True' }]);

    const before = await client.get(ref);
    const same = await updateStatusWithRetry<KubeObject>(client, ref, () => undefined);
    assert.equal(same.metadata.resourceVersion, before.metadata.resourceVersion, 'no write without a change');
    const skipped = await updateStatusWithRetry<KubeObject>(client, ref, () => false);
    assert.equal(skipped.metadata.resourceVersion, before.metadata.resourceVersion);
  });

  test('setControllerOwner sets one controller reference and refuses a second controller', () => {
    const owner = { apiVersion: 'kre.konstellation.io/v1alpha1', kind: 'Runtime', metadata: { name: 'rt', namespace: 'a', uid: 'u1' } };
    const child = setControllerOwner({ metadata: { name: 'c', namespace: 'a' } } as KubeObject, owner);
    assert.deepEqual(child.metadata.ownerReferences, [
      { apiVersion: 'kre.konstellation.io/v1alpha1', kind: 'Runtime', name: 'rt', uid: 'u1', controller: true, blockOwnerDeletion: true },
    ]);
    setControllerOwner(child, owner);
    assert.equal(child.metadata.ownerReferences?.length, 1, 'idempotent');
    assert.throws(() => setControllerOwner(child, { ...owner, metadata: { ...owner.metadata, uid: 'u2', name: 'other' } }), /already controlled by Runtime rt/);
    assert.throws(() => setControllerOwner({ metadata: { name: 'c', namespace: 'b' } } as KubeObject, owner), /cannot own an object in namespace b/);
  });
});

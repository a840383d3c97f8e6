import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApiServer, type TestApiServer } from '../../test/support/apiserver.ts';
import { KubeClient, type KubeObject } from './client.ts';
import type { Deployment } from './kinds.ts';
import { addFinalizer, applyObject, removeFinalizer, setControllerOwner, updateStatusWithRetry } from './apply.ts';
import { eventually } from '../devcluster/testing.ts';
import { testCrd } from '../../test/support/crd.ts';

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

describe('apply helpers against an API server', () => {
  let server: TestApiServer;
  let client: KubeClient;

  before(async () => {
    server = await startTestApiServer();
    client = server.client;
  });
  after(async () => {
    await server?.stop();
  });

  test('applyObject creates, then updates, as the field manager; an identical apply leaves the spec alone', async () => {
    const first = await applyObject<Deployment>(client, deployment('web', 1), { fieldManager: 'kre-test', force: true });
    assert.equal(first.spec?.replicas, 1);
    const second = await applyObject<Deployment>(client, deployment('web', 3), { fieldManager: 'kre-test', force: true });
    assert.equal(second.spec?.replicas, 3);
    const third = await applyObject(client, deployment('web', 3), { fieldManager: 'kre-test', force: true });
    // The deployment controller writes status meanwhile, so compare the spec's generation.
    assert.equal(third.metadata.generation, second.metadata.generation);
    assert.equal(second.metadata.generation, (first.metadata.generation ?? 0) + 1);
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
    // A Service: it has a /status that no controller writes, so every write here is ours.
    const services = { group: '', version: 'v1', plural: 'services', namespace: 'default' };
    // Load balancer addresses are refused in the status of any other type of Service.
    await client.create(services, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'status' }, spec: { type: 'LoadBalancer', ports: [{ port: 80 }] } });
    const ref = { ...services, name: 'status' };
    const lb = (ip: string) => ({ loadBalancer: { ingress: [{ ip, ipMode: 'VIP' }] } });
    let attempts = 0;
    const result = await updateStatusWithRetry<KubeObject>(client, ref, (obj) => {
      attempts++;
      // The first time, the version we write at is stale, as if another writer had been first.
      if (attempts === 1) return { ...obj, status: lb('10.0.0.1'), metadata: { ...obj.metadata, resourceVersion: '1' } };
      obj.status = lb('10.0.0.1');
    });
    assert.equal(attempts, 2, 'retried once after the conflict');
    assert.deepEqual(result.status, lb('10.0.0.1'));

    const before = await client.get(ref);
    const same = await updateStatusWithRetry<KubeObject>(client, ref, (obj) => {
      obj.status = lb('10.0.0.1');
    });
    assert.equal(same.metadata.resourceVersion, before.metadata.resourceVersion, 'no write without a change');
    const skipped = await updateStatusWithRetry<KubeObject>(client, ref, () => false);
    assert.equal(skipped.metadata.resourceVersion, before.metadata.resourceVersion);
  });

  test('updateStatusWithRetry compares content, not key order: a custom resource read back sorted is not written again', async () => {
    // A real server answers a custom resource with every map's keys sorted, whatever order they
    // were written in; a writer that compared texts would write the same status on every call.
    const crds = { group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions' };
    await client.create(crds, testCrd('apply.example.com', 'Gauge', { type: 'object', properties: { status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }));
    const gauges = { group: 'apply.example.com', version: 'v1', plural: 'gauges', namespace: 'default' };
    await eventually(async () => (await client.list(gauges).then(() => true, () => false)), 30_000, 'the CRD served');
    await client.create(gauges, { apiVersion: 'apply.example.com/v1', kind: 'Gauge', metadata: { name: 'g' } });
    const ref = { ...gauges, name: 'g' };
    // Keys in the writer's order, which is not the sorted one at any depth.
    const status = () => ({ phase: 'Ready', conditions: [{ type: 'Ready', status: 'True', reason: 'Up', lastTransitionTime: '2026-01-01T00:00:00Z' }], level: { max: 9, min: 1 } });
    const statusWrites = async () => (await server.writes())['update gauges/status'] ?? 0;
    const written = await updateStatusWithRetry<KubeObject>(client, ref, (obj) => {
      obj.status = status();
    });
    assert.deepEqual(written.status, status());
    assert.deepEqual(Object.keys(written.status), ['conditions', 'level', 'phase'], 'the server answers with the keys sorted');
    assert.equal(await statusWrites(), 1);
    const again = await updateStatusWithRetry<KubeObject>(client, ref, (obj) => {
      obj.status = status();
    });
    assert.equal(again.metadata.resourceVersion, written.metadata.resourceVersion);
    assert.equal(await statusWrites(), 1, 'the same status in another key order is no change');
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

/**
 * The operator says what is wrong with a Runtime in its status and events, never only in its log:
 * a name that makes invalid children, a published version that is missing or not ready; and what a
 * deleted Runtime leaves behind. (RuntimeVersions: version-status.test.ts.)
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { eventually } from '../devcluster/testing.ts';
import type { PersistentVolumeClaim, Secret } from '../kube/index.ts';
import { RUNTIME_VERSIONS, RUNTIMES, type RuntimeObject } from '../api/index.ts';
import {
  conditionOf as condition,
  createNamespace,
  runtimeObject,
  runtimeRef,
  SECRETS,
  sharedTestbed,
  STATEFULSETS,
  versionObject,
  versionRef,
} from './testing.ts';

const WAIT = 90_000;
const PVCS = { group: '', version: 'v1', plural: 'persistentvolumeclaims', kind: 'PersistentVolumeClaim', namespaced: true };

describe('the operator says what is wrong with a Runtime', () => {
  const bed = sharedTestbed();
  /** A counter of the operator's reconciles, e.g. `kre_controller_retries_total{controller="runtime"}`. */
  const counter = async (name: string, labels: string): Promise<number> => {
    const text = await bed.operator.registry.getSingleMetricAsString(name);
    const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
    return line ? Number(line.split(' ').pop()) : 0;
  };

  test('a Runtime whose name cannot label its children is Failed, says which field and limit, and is not retried', async () => {
    await createNamespace(bed.client, 'long-name');
    const name = `runtime-${'x'.repeat(240)}`;
    await bed.client.create({ ...RUNTIMES, namespace: 'long-name' }, runtimeObject('long-name', name, { developmentMode: true }));
    const failed = await eventually(async () => {
      const r = await bed.client.get<RuntimeObject>(runtimeRef('long-name', name));
      return r.status?.phase === 'Failed' && r;
    }, 30_000, 'Runtime Failed');
    const invalid = condition(failed, 'InvalidSpec');
    assert.equal(invalid?.status, 'True');
    assert.match(invalid?.message ?? '', /metadata\.name/);
    assert.match(invalid?.message ?? '', /63 characters/);
    const events = await eventually(async () => {
      const es = await bed.eventsAbout('long-name', name);
      return es.length > 0 && es;
    }, 30_000, 'an event about the Runtime');
    assert.ok(events.some((e) => e.type === 'Warning' && e.reason === 'InvalidSpec' && /63 characters/.test(e.message ?? '')));
    // Nothing was created for it, and the reconcile gave up instead of retrying.
    assert.deepEqual((await bed.client.list({ ...SECRETS, namespace: 'long-name' })).items.map((s) => s.metadata.name), []);
    assert.ok((await counter('kre_controller_reconcile_total', 'result="terminal"')) >= 1);
    const retries = await counter('kre_controller_retries_total', 'controller="runtime"');
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(await counter('kre_controller_retries_total', 'controller="runtime"'), retries);

    // A change of the spec is looked at again.
    const patched = await bed.client.patch(runtimeRef('long-name', name), { spec: { nats: { replicas: 1 } } });
    await eventually(async () => (await bed.client.get<RuntimeObject>(runtimeRef('long-name', name))).status?.observedGeneration === patched.metadata.generation, 30_000, 'the new generation observed');
  });

  test('a published version that does not exist or is not Running is reported, and Published once it runs', async () => {
    await createNamespace(bed.client, 'publish');
    await bed.client.create({ ...RUNTIMES, namespace: 'publish' }, runtimeObject('publish', 'publish', { developmentMode: true, publishedVersion: 'v9' }));
    const missing = await eventually(async () => {
      const r = await bed.client.get<RuntimeObject>(runtimeRef('publish', 'publish'));
      return condition(r, 'Published')?.reason === 'VersionNotFound' && r;
    }, WAIT, 'Published=False VersionNotFound');
    assert.equal(condition(missing, 'Published')?.status, 'False');
    assert.match(condition(missing, 'Published')?.message ?? '', /RuntimeVersion v9/);
    await eventually(async () => (await bed.eventsAbout('publish', 'publish')).some((e) => e.type === 'Warning' && e.reason === 'VersionNotFound'), WAIT, 'a VersionNotFound event');

    await bed.client.create({ ...RUNTIME_VERSIONS, namespace: 'publish' }, versionObject('publish', 'v9', { greeting: ['parse'] }, { state: 'Stopped' }));
    const notReady = await eventually(async () => {
      const r = await bed.client.get<RuntimeObject>(runtimeRef('publish', 'publish'));
      return condition(r, 'Published')?.reason === 'VersionNotReady' && /v9 is Stopped/.test(condition(r, 'Published')?.message ?? '') && r;
    }, WAIT, 'Published=False VersionNotReady, v9 Stopped');
    assert.equal(condition(notReady, 'Published')?.status, 'False');
    await eventually(async () => (await bed.eventsAbout('publish', 'publish')).some((e) => e.reason === 'VersionNotReady'), WAIT, 'a VersionNotReady event');

    await bed.client.patch(versionRef('publish', 'v9'), { spec: { state: 'Started' } });
    await eventually(async () => condition(await bed.client.get<RuntimeObject>(runtimeRef('publish', 'publish')), 'Published')?.status === 'True', WAIT, 'Published=True');
    assert.ok((await bed.eventsAbout('publish', 'publish')).some((e) => e.type === 'Normal' && e.reason === 'Published'));
  });

  test('a deleted Runtime leaves its volumes and their credentials, and the same name comes back to the same data', async () => {
    await createNamespace(bed.client, 'keep');
    await bed.client.create({ ...RUNTIMES, namespace: 'keep' }, runtimeObject('keep', 'keep', { developmentMode: true }));
    await eventually(async () => (await bed.client.get<RuntimeObject>(runtimeRef('keep', 'keep'))).status?.phase === 'Running', WAIT, 'Runtime keep Running');
    const secret = async (name: string) => (await bed.client.get<Secret>({ ...SECRETS, namespace: 'keep', name })).data ?? {};
    const mongo = await secret('kre-mongo-credentials');
    const minio = await secret('kre-minio-credentials');
    const claims = async () => new Map((await bed.client.list<PersistentVolumeClaim>({ ...PVCS, namespace: 'keep' })).items.map((c) => [c.metadata.name, c.metadata.uid]));
    const before = await claims();
    assert.ok(before.has('data-kre-mongo-0') && before.has('kre-minio-pvc-kre-minio-0'), `claims: ${[...before.keys()].join(', ')}`);

    // Credentials generated by an earlier operator were owned by their Runtime: they are released.
    const rt = await bed.client.get<RuntimeObject>(runtimeRef('keep', 'keep'));
    const ownerReferences = [{ apiVersion: rt.apiVersion, kind: 'Runtime', name: 'keep', uid: rt.metadata.uid, controller: true, blockOwnerDeletion: true }];
    await bed.client.patch({ ...SECRETS, namespace: 'keep', name: 'kre-minio-credentials' }, { metadata: { ownerReferences } });
    await eventually(async () => !(await bed.client.get({ ...SECRETS, namespace: 'keep', name: 'kre-minio-credentials' })).metadata.ownerReferences, WAIT, 'the credentials released');

    await bed.client.delete(runtimeRef('keep', 'keep'));
    await eventually(async () => (await bed.client.list({ ...STATEFULSETS, namespace: 'keep' })).items.length === 0, WAIT, 'the StatefulSets collected');
    // The connection string is derived and goes; the credentials stay as long as the volumes do.
    await eventually(async () => !(await bed.client.list({ ...SECRETS, namespace: 'keep' })).items.some((s) => s.metadata.name === 'kre-mongo-connection'), WAIT, 'the connection Secret collected');
    assert.deepEqual(await claims(), before);
    assert.deepEqual(await secret('kre-mongo-credentials'), mongo);
    assert.deepEqual(await secret('kre-minio-credentials'), minio);

    await bed.client.create({ ...RUNTIMES, namespace: 'keep' }, runtimeObject('keep', 'keep', { developmentMode: true }));
    await eventually(async () => (await bed.client.get<RuntimeObject>(runtimeRef('keep', 'keep'))).status?.phase === 'Running', WAIT, 'Runtime keep Running again');
    assert.deepEqual(await secret('kre-mongo-credentials'), mongo);
    assert.deepEqual(await secret('kre-minio-credentials'), minio);
    assert.deepEqual(await claims(), before);
    const uri = Buffer.from((await secret('kre-mongo-connection')).uri, 'base64').toString();
    assert.ok(uri.includes(`:${Buffer.from(mongo.password, 'base64').toString()}@`));
  });
});

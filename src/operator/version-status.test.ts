/**
 * The operator says what is wrong with a RuntimeVersion in its status and events, never only in its
 * log: names that make invalid children, no Runtime to talk to, configuration that would override
 * the operator's wiring.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { eventually } from '../devcluster/testing.ts';
import { KubeApiError, type CustomResourceDefinition } from '../kube/index.ts';
import { RUNTIME_VERSIONS, RUNTIMES, type RuntimeObject, type RuntimeVersionObject } from '../api/index.ts';
import { installCustomResourceDefinitions } from './install.ts';
import {
  conditionOf as condition,
  createNamespace,
  DEPLOYMENTS,
  runtimeObject,
  runtimeRef,
  sharedTestbed,
  versionObject,
  versionRef,
} from './testing.ts';

const WAIT = 90_000;
/** The part of a CRD's JSON Schema the test edits: objects' properties, arrays' items, strings' pattern. */
interface Schema {
  properties?: Record<string, Schema>;
  items?: Schema;
  pattern?: string;
}

const CRDS = { group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions', kind: 'CustomResourceDefinition', namespaced: false };

describe('the operator says what is wrong with a RuntimeVersion', () => {
  const bed = sharedTestbed();

  test('a RuntimeVersion whose node names make a Deployment name too long is Failed, naming the field and the limit', async () => {
    await createNamespace(bed.client, 'long-name');
    const v = versionObject('long-name', 'v-nineteen-chars-xx', { greeting: ['parse'] });
    v.spec.workflows[0].nodes[0].name = 'n'.repeat(30);
    v.spec.workflows[0].nodes[0].id = 'i'.repeat(24);
    await bed.client.create({ ...RUNTIME_VERSIONS, namespace: 'long-name' }, v);
    const failed = await eventually(async () => {
      const got = await bed.client.get<RuntimeVersionObject>(versionRef('long-name', 'v-nineteen-chars-xx'));
      return got.status?.phase === 'Failed' && got;
    }, 30_000, 'RuntimeVersion Failed');
    assert.match(condition(failed, 'InvalidSpec')?.message ?? '', /spec\.workflows\[0\]\.nodes\[0\]: .* longer than 46 characters/);
    await eventually(async () => (await bed.eventsAbout('long-name', 'v-nineteen-chars-xx')).some((e) => e.reason === 'InvalidSpec'), 30_000, 'an InvalidSpec event');
  });

  test('a RuntimeVersion with no Runtime to talk to waits, saying for what, and starts once the Runtime runs', async () => {
    await createNamespace(bed.client, 'lonely');
    await bed.client.create({ ...RUNTIME_VERSIONS, namespace: 'lonely' }, versionObject('lonely', 'v1', { greeting: ['parse'] }));
    const waiting = await eventually(async () => {
      const v = await bed.client.get<RuntimeVersionObject>(versionRef('lonely', 'v1'));
      return v.status?.phase === 'Waiting' && v;
    }, WAIT, 'v1 Waiting');
    assert.equal(condition(waiting, 'RuntimeReady')?.status, 'False');
    assert.equal(condition(waiting, 'RuntimeReady')?.reason, 'RuntimeNotFound');
    assert.match(condition(waiting, 'RuntimeReady')?.message ?? '', /no Runtime in namespace lonely/);
    assert.equal((await bed.client.list({ ...DEPLOYMENTS, namespace: 'lonely' })).items.length, 0);
    await eventually(async () => (await bed.eventsAbout('lonely', 'v1')).some((e) => e.reason === 'Waiting'), WAIT, 'a Waiting event');

    await bed.client.create({ ...RUNTIMES, namespace: 'lonely' }, runtimeObject('lonely', 'lonely', { developmentMode: true }));
    const running = await eventually(async () => {
      const v = await bed.client.get<RuntimeVersionObject>(versionRef('lonely', 'v1'));
      return v.status?.phase === 'Running' && v;
    }, WAIT, 'v1 Running');
    assert.equal(condition(running, 'RuntimeReady')?.status, 'True');
    assert.equal((await bed.client.get<RuntimeObject>(runtimeRef('lonely', 'lonely'))).status?.phase, 'Running');
  });

  test('configuration keys named like the operator’s own settings are refused by the server, and by the operator', async () => {
    const bad = versionObject('lonely', 'v2', { greeting: ['parse'] });
    bad.spec.config = [{ key: 'MODEL_PATH', value: 'x' }, { key: 'KRT_NATS_OUTPUT', value: 'elsewhere' }];
    await assert.rejects(bed.client.create({ ...RUNTIME_VERSIONS, namespace: 'lonely' }, bad), (err) => {
      assert.ok(err instanceof KubeApiError);
      assert.equal(err.code, 422);
      assert.match(err.message, /spec\.config\[1\]\.key/);
      return true;
    });

    // A version stored before the rule (a CRD without it) is refused by the operator, naming the key.
    const crdRef = { ...CRDS, name: 'runtimeversions.kre.konstellation.io' };
    const crd = await bed.client.get<CustomResourceDefinition>(crdRef);
    const schema = crd.spec?.versions[0].schema?.openAPIV3Schema as Schema | undefined;
    delete schema?.properties?.spec.properties?.config.items?.properties?.key.pattern;
    await bed.client.update(crdRef, crd);
    // The rule comes back only once the status is written: kube-apiserver lets a status write through
    // when the spec it leaves unchanged breaks a newer rule (validation ratcheting); the devcluster
    // does not yet.
    try {
      await eventually(async () => bed.client.create({ ...RUNTIME_VERSIONS, namespace: 'lonely' }, bad), 30_000, 'the version stored under the old CRD');
      const failed = await eventually(async () => {
        const v = await bed.client.get<RuntimeVersionObject>(versionRef('lonely', 'v2'));
        return v.status?.phase === 'Failed' && v;
      }, WAIT, 'v2 Failed');
      assert.match(condition(failed, 'InvalidSpec')?.message ?? '', /spec\.config\[1\]\.key: KRT_NATS_OUTPUT is set by the operator/);
      assert.equal((await bed.client.list({ ...DEPLOYMENTS, namespace: 'lonely' }, { labelSelector: 'version-name=v2' })).items.length, 0);
      await eventually(async () => (await bed.eventsAbout('lonely', 'v2')).some((e) => e.reason === 'InvalidSpec' && /KRT_NATS_OUTPUT/.test(e.message ?? '')), WAIT, 'an InvalidSpec event');
    } finally {
      await installCustomResourceDefinitions(bed.client);
    }
  });
});

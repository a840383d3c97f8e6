/**
 * A pod whose Secret or ConfigMap is missing does not start on a simulated node, as on a real
 * one: CreateContainerConfigError (env) or ContainerCreating (volumes) with an event, until the
 * object appears.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDevCluster, type DevCluster } from '../index.ts';
import { eventually, rawRequest } from '../testing.ts';
import type { ConfigMap, Event, KubeList, KubeObject, Pod, PodSpec, Secret } from '../../kube/index.ts';
import { missingPodConfig } from './pod-config.ts';

const pod = (name: string, spec: Partial<PodSpec>): Pod => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { containers: [{ name: 'main', image: 'app:1' }], ...spec } });

describe('missingPodConfig', () => {
  const objects: Record<string, Secret | ConfigMap> = {
    'Secret/db': { metadata: { name: 'db' }, data: { password: 'eA==' } },
    'ConfigMap/settings': { metadata: { name: 'settings' }, data: { mode: 'fast' } },
  };
  const read = async (kind: string, _ns: string, name: string) => objects[`${kind}/${name}`];

  test('names the missing object or key of each container, and skips optional references', async () => {
    const p = pod('p', {
      containers: [
        { name: 'a', image: 'x', env: [{ name: 'P', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }] },
        { name: 'b', image: 'x', env: [{ name: 'U', valueFrom: { secretKeyRef: { name: 'db', key: 'user' } } }] },
        { name: 'c', image: 'x', envFrom: [{ configMapRef: { name: 'absent' } }] },
        { name: 'd', image: 'x', envFrom: [{ secretRef: { name: 'absent', optional: true } }], env: [{ name: 'M', valueFrom: { configMapKeyRef: { name: 'gone', key: 'k', optional: true } } }] },
      ],
    });
    assert.deepEqual(await missingPodConfig(p, read), [
      { kind: 'env', container: 'b', message: "couldn't find key user in Secret default/db" },
      { kind: 'env', container: 'c', message: 'configmap "absent" not found' },
    ]);
  });

  test('a missing volume source holds the whole pod', async () => {
    const p = pod('p', { volumes: [{ name: 'cfg', configMap: { name: 'settings' } }, { name: 'certs', secret: { secretName: 'tls' } }, { name: 'opt', secret: { secretName: 'nope', optional: true } }] });
    assert.deepEqual(await missingPodConfig(p, read), [{ kind: 'volume', volume: 'certs', message: 'MountVolume.SetUp failed for volume "certs" : secret "tls" not found' }]);
  });
});

describe('a simulated kubelet and missing configuration', () => {
  let cluster: DevCluster;
  before(async () => {
    cluster = await startDevCluster({ nodes: 1 });
  });
  after(async () => {
    await cluster?.stop();
  });

  const get = async (name: string): Promise<Pod> => (await rawRequest(cluster, 'GET', `/api/v1/namespaces/default/pods/${name}`)).json();
  const eventsOf = async (name: string) => {
    const events: Event[] = (await rawRequest(cluster, 'GET', `/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3D${name}`)).json<KubeList<Event>>().items;
    return events.map((e) => `${e.reason}: ${e.message}`);
  };
  const create = async (obj: KubeObject) => assert.equal((await rawRequest(cluster, 'POST', `/api/v1/namespaces/default/${obj.kind === 'Pod' ? 'pods' : obj.kind === 'Secret' ? 'secrets' : 'configmaps'}`, obj)).status, 201);

  test('a missing Secret in env: CreateContainerConfigError and a Failed event, then Running once it exists', async () => {
    await create(pod('env-secret', { containers: [{ name: 'main', image: 'app:1', env: [{ name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'later', key: 'password' } } }] }] }));
    const waiting = await eventually(async () => {
      const p = await get('env-secret');
      return p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CreateContainerConfigError' && p;
    }, 30_000, 'CreateContainerConfigError');
    assert.equal(waiting.status?.phase, 'Pending');
    assert.equal(waiting.status?.containerStatuses?.[0].state?.waiting?.message, 'secret "later" not found');
    await eventually(async () => (await eventsOf('env-secret')).includes('Failed: Error: secret "later" not found'), 30_000, 'the Failed event');
    await create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'later' }, stringData: { password: 'x' } });
    await eventually(async () => (await get('env-secret')).status?.phase === 'Running', 30_000, 'Running once the Secret exists');
  });

  test('a missing ConfigMap volume: ContainerCreating and a FailedMount event, then Running once it exists', async () => {
    await create(pod('vol-cm', { volumes: [{ name: 'cfg', configMap: { name: 'later-cm' } }] }));
    const waiting = await eventually(async () => {
      const p = await get('vol-cm');
      return p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ContainerCreating' && p;
    }, 30_000, 'ContainerCreating');
    assert.equal(waiting.status?.phase, 'Pending');
    await eventually(async () => (await eventsOf('vol-cm')).includes('FailedMount: MountVolume.SetUp failed for volume "cfg" : configmap "later-cm" not found'), 30_000, 'the FailedMount event');
    await create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'later-cm' }, data: { a: '1' } });
    await eventually(async () => (await get('vol-cm')).status?.phase === 'Running', 30_000, 'Running once the ConfigMap exists');
  });
});

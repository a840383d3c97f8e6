/**
 * What a real server does and the devcluster does alike (also compared with a real server in
 * real-apiserver-comparison.test.ts): pods/binding, spec.nodeName fixed on update, the admission
 * plugins' changes to new pods and nodes, and query parameters.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDevCluster, type DevCluster } from '../index.ts';
import { openWatch, rawRequest } from '../testing.ts';

describe('binding, admission and query parameters as on a real server', () => {
  let cluster: DevCluster;
  before(async () => {
    cluster = await startDevCluster({ nodes: 0 });
  });
  after(async () => {
    await cluster?.stop();
  });
  const PODS = '/api/v1/namespaces/default/pods';
  const pod = (name: string, spec: object = {}) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'main', image: 'app:1' }], ...spec } });
  const binding = (name: string, node: string) => ({ apiVersion: 'v1', kind: 'Binding', metadata: { name }, target: { apiVersion: 'v1', kind: 'Node', name: node } });

  test('a pod is bound only through pods/binding: 201, PodScheduled, then 409; an update of spec.nodeName is a 422', async () => {
    assert.equal((await rawRequest(cluster, 'POST', PODS, pod('b1'))).status, 201);
    const patched = await rawRequest(cluster, 'PATCH', `${PODS}/b1`, JSON.stringify({ spec: { nodeName: 'n1' } }), { 'Content-Type': 'application/merge-patch+json' });
    assert.equal(patched.status, 422);
    assert.match(patched.json<any>().message, /pod updates may not change fields other than/);
    const wrongName = await rawRequest(cluster, 'POST', `${PODS}/b1/binding`, binding('other', 'n1'));
    assert.deepEqual([wrongName.status, wrongName.json<any>().message], [400, 'name in URL does not match name in Binding object']);
    const bound = await rawRequest(cluster, 'POST', `${PODS}/b1/binding`, binding('b1', 'n1'));
    assert.deepEqual([bound.status, bound.json<any>().status], [201, 'Success']);
    const got = (await rawRequest(cluster, 'GET', `${PODS}/b1`)).json<any>();
    assert.equal(got.spec.nodeName, 'n1');
    assert.equal(got.status.conditions.find((c: any) => c.type === 'PodScheduled')?.status, 'True');
    assert.ok(!got.metadata.managedFields.some((m: any) => m.subresource === 'binding'), 'the binding is the server’s write');
    const again = await rawRequest(cluster, 'POST', `${PODS}/b1/binding`, binding('b1', 'n2'));
    assert.deepEqual([again.status, again.json<any>().message], [409, 'Operation cannot be fulfilled on pods/binding "b1": pod b1 is already assigned to node "n1"']);
    assert.equal((await rawRequest(cluster, 'POST', `${PODS}/nope/binding`, binding('nope', 'n1'))).status, 404);
  });

  test('a new pod gets the ServiceAccount volume in every container, unless it opts out or mounts its own', async () => {
    const created = (await rawRequest(cluster, 'POST', PODS, pod('sa1', { initContainers: [{ name: 'init', image: 'app:1' }] }))).json<any>();
    const volume = created.spec.volumes.find((v: any) => v.name.startsWith('kube-api-access-'));
    assert.match(volume.name, /^kube-api-access-[a-z0-9]{5}$/);
    assert.deepEqual(volume.projected.sources[0], { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } });
    assert.equal(volume.projected.defaultMode, 420);
    for (const c of [...created.spec.initContainers, ...created.spec.containers]) {
      assert.deepEqual(c.volumeMounts, [{ name: volume.name, readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }]);
    }
    assert.ok(!JSON.stringify(created.metadata.managedFields).includes('kube-api-access'), 'what admission adds is no manager’s');
    const optOut = (await rawRequest(cluster, 'POST', PODS, pod('sa2', { automountServiceAccountToken: false }))).json<any>();
    assert.equal(optOut.spec.volumes, undefined);
    const own = (await rawRequest(cluster, 'POST', PODS, pod('sa3', { containers: [{ name: 'main', image: 'app:1', volumeMounts: [{ name: 'x', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }] }], volumes: [{ name: 'x', emptyDir: {} }] }))).json<any>();
    assert.deepEqual(own.spec.volumes.map((v: any) => v.name), ['x']);
  });

  test('a new node starts with the not-ready NoSchedule taint', async () => {
    const node = (await rawRequest(cluster, 'POST', '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'fresh' } })).json<any>();
    assert.deepEqual(node.spec.taints, [{ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }]);
  });

  test('watch=True watches, watch=False lists, limit=abc is a 400 in Go’s words', async () => {
    const w = openWatch(cluster, '/api/v1/namespaces/default/configmaps?watch=True');
    try {
      assert.equal(await w.status, 200);
      await rawRequest(cluster, 'POST', '/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'seen' } });
      await w.until((e) => e.some((x) => x.type === 'ADDED' && x.object.metadata.name === 'seen'));
    } finally {
      w.close();
    }
    assert.equal((await rawRequest(cluster, 'GET', '/api/v1/namespaces/default/configmaps?watch=False')).json<any>().kind, 'ConfigMapList');
    const bad = await rawRequest(cluster, 'GET', '/api/v1/namespaces/default/configmaps?limit=abc');
    assert.deepEqual([bad.status, bad.json<any>().message], [400, 'strconv.ParseInt: parsing "abc": invalid syntax']);
  });
});

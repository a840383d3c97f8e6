import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { apiGroupList, apiResourceList, apiVersions, storageVersionHash } from './discovery.ts';
import { ResourceRegistry, type ResourceType } from './resources.ts';
import { realApiserver } from './testdata/real-apiserver.ts';


const runtimeType: ResourceType = {
  group: 'kre.konstellation.io',
  version: 'v1alpha1',
  plural: 'runtimes',
  singular: 'runtime',
  kind: 'Runtime',
  namespaced: true,
  verbs: ['delete', 'deletecollection', 'get', 'list', 'patch', 'create', 'update', 'watch'],
  status: true,
  generation: true,
};

describe('discovery', () => {
  test('/api names the core version and the server address', () => {
    assert.deepEqual(apiVersions('127.0.0.1:6443'), {
      kind: 'APIVersions',
      versions: ['v1'],
      serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1:6443' }],
    });
  });

  test('storageVersionHash matches the real server', () => {
    assert.equal(storageVersionHash('', 'v1', 'ConfigMap'), 'qFsyl6wFWjQ=');
    assert.equal(storageVersionHash('apps', 'v1', 'Deployment'), '8aSe+NMegvE=');
  });

  test('/apis lists named groups with a preferred version, not the core group', () => {
    const reg = new ResourceRegistry();
    const doc = apiGroupList(reg) as any;
    assert.equal(doc.kind, 'APIGroupList');
    assert.equal(doc.apiVersion, 'v1');
    const apps = doc.groups.find((g: any) => g.name === 'apps');
    assert.deepEqual(apps, realApiserver('discovery-apis.json').groups.find((g: any) => g.name === 'apps'));
    assert.ok(!doc.groups.some((g: any) => g.name === ''));
  });

  test('/apis/apps/v1 has the entries of the real document for the kinds it serves', () => {
    const doc = apiResourceList(new ResourceRegistry(), 'apps', 'v1')!;
    const want = realApiserver('discovery-apps-v1.json');
    assert.equal(doc.apiVersion, 'v1');
    assert.equal(doc.groupVersion, 'apps/v1');
    // Every resource the real server lists for apps/v1 is served here too, in the same order.
    assert.deepEqual(doc.resources, want.resources);
  });

  test('/api/v1 entries equal the real ones for the resources both serve', () => {
    const doc = apiResourceList(new ResourceRegistry(), '', 'v1')!;
    const want = realApiserver('discovery-api-v1.json');
    assert.equal(doc.apiVersion, undefined);
    assert.equal(doc.groupVersion, 'v1');
    const byName = new Map(want.resources.map((r: any) => [r.name, r]));
    for (const name of ['configmaps', 'pods', 'pods/status', 'pods/log', 'pods/exec', 'pods/eviction', 'namespaces', 'namespaces/finalize', 'nodes', 'nodes/status', 'services', 'persistentvolumeclaims', 'serviceaccounts', 'endpoints', 'events']) {
      const got = doc.resources.find((r) => r.name === name);
      assert.deepEqual(got, byName.get(name), name);
    }
    const names = doc.resources.map((r) => r.name);
    assert.deepEqual(names, [...names].sort());
  });

  test('a custom group appears once registered and is undefined before', () => {
    const reg = new ResourceRegistry();
    assert.equal(apiResourceList(reg, 'kre.konstellation.io', 'v1alpha1'), undefined);
    reg.add(runtimeType);
    assert.deepEqual(apiResourceList(reg, 'kre.konstellation.io', 'v1alpha1'), realApiserver('discovery-custom-group.json'));
    const groups = (apiGroupList(reg) as any).groups.map((g: any) => g.name);
    assert.ok(groups.includes('kre.konstellation.io'));
  });

  test('a custom kind with a scale subresource answers with autoscaling/v1 Scale', () => {
    const reg = new ResourceRegistry([{ ...runtimeType, scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas' } }]);
    const scale = apiResourceList(reg, 'kre.konstellation.io', 'v1alpha1')!.resources.find((r) => r.name === 'runtimes/scale');
    assert.deepEqual(scale, { name: 'runtimes/scale', singularName: '', namespaced: true, group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] });
  });
});

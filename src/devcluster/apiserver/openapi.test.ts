import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { documentHash, OPENAPI_V2_CONTENT_TYPE, openapiV2Document, openapiV3Document, openapiV3Index, schemaName } from './openapi.ts';
import { ResourceRegistry, type ResourceType } from './resources.ts';
import { realApiserver } from './testdata/real-apiserver.ts';

const crd = realApiserver('crd.json');
const runtime: ResourceType = { group: 'kre.konstellation.io', version: 'v1alpha1', plural: 'runtimes', singular: 'runtime', kind: 'Runtime', namespaced: true, verbs: [], status: true, generation: true, crd };

/** What kubectl's QueryParamVerifierV3 does: every PATCH of the GVK must take the query parameter. */
function supportsFieldValidation(doc: any, group: string, version: string, kind: string): boolean {
  let found = false;
  for (const item of Object.values<any>(doc.paths)) {
    const op = item.patch;
    const gvk = op?.['x-kubernetes-group-version-kind'];
    if (!gvk || gvk.group !== group || gvk.version !== version || gvk.kind !== kind) continue;
    if (!op.parameters.some((p: any) => p.name === 'fieldValidation' && p.in === 'query')) return false;
    found = true;
  }
  return found;
}

describe('openapi v3', () => {
  test('the index lists one document per group/version with a content hash', () => {
    const reg = new ResourceRegistry();
    const index = openapiV3Index(reg);
    assert.ok(index.paths['api/v1']);
    assert.ok(index.paths['apis/apps/v1']);
    assert.equal(index.paths['apis/kre.konstellation.io/v1alpha1'], undefined);
    const url = index.paths['apis/apps/v1'].serverRelativeURL;
    assert.equal(url, `/openapi/v3/apis/apps/v1?hash=${documentHash(openapiV3Document(reg, 'apps', 'v1')!)}`);
    assert.match(url, /\?hash=[0-9A-F]{128}$/);

    const before = openapiV3Index(reg).paths['api/v1'].serverRelativeURL;
    reg.add(runtime);
    const after = openapiV3Index(reg);
    assert.ok(after.paths['apis/kre.konstellation.io/v1alpha1'].serverRelativeURL.startsWith('/openapi/v3/apis/kre.konstellation.io/v1alpha1?hash='));
    assert.equal(after.paths['api/v1'].serverRelativeURL, before, 'unchanged documents keep their hash');
  });

  test('unknown group/version has no document', () => {
    assert.equal(openapiV3Document(new ResourceRegistry(), 'nope.example.com', 'v1'), undefined);
  });

  test('every served kind supports server-side field validation, as kubectl checks it', () => {
    const reg = new ResourceRegistry();
    reg.add(runtime);
    for (const t of reg.all()) {
      const doc = openapiV3Document(reg, t.group, t.version);
      assert.ok(supportsFieldValidation(doc, t.group, t.version, t.kind), `${t.group}/${t.version} ${t.kind}`);
    }
  });

  test('paths and patch content types of a namespaced built-in kind', () => {
    const doc = openapiV3Document(new ResourceRegistry(), 'apps', 'v1') as any;
    const item = doc.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}'];
    assert.deepEqual(item.patch['x-kubernetes-group-version-kind'], { group: 'apps', version: 'v1', kind: 'Deployment' });
    assert.equal(item.patch.operationId, 'patchAppsV1NamespacedDeployment');
    const types = Object.keys(item.patch.requestBody.content).sort();
    assert.deepEqual(types, ['application/apply-patch+yaml', 'application/json-patch+json', 'application/merge-patch+json']);
    assert.ok(doc.paths['/apis/apps/v1/namespaces/{namespace}/deployments']);
    assert.ok(doc.paths['/apis/apps/v1/deployments'], 'list across namespaces');
    assert.ok(doc.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}/status']);
    const scale = doc.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale'];
    assert.deepEqual(scale.patch['x-kubernetes-group-version-kind'], { group: 'autoscaling', version: 'v1', kind: 'Scale' });
    assert.ok(doc.components.schemas['io.k8s.api.autoscaling.v1.Scale']);
  });

  test('cluster-scoped kinds have no namespace in their paths', () => {
    const doc = openapiV3Document(new ResourceRegistry(), '', 'v1') as any;
    assert.ok(doc.paths['/api/v1/namespaces/{name}']);
    assert.ok(doc.paths['/api/v1/nodes/{name}/status']);
    assert.ok(doc.paths['/api/v1/namespaces/{namespace}/pods/{name}']);
    assert.equal(doc.paths['/api/v1/namespaces/{name}'].patch.operationId, 'patchCoreV1Namespace');
  });

  test('built-in schemas are loose, named like the real ones and carry their GVK', () => {
    const doc = openapiV3Document(new ResourceRegistry(), '', 'v1') as any;
    const pod = doc.components.schemas['io.k8s.api.core.v1.Pod'];
    assert.equal(pod.type, 'object');
    assert.equal(pod['x-kubernetes-preserve-unknown-fields'], true);
    assert.deepEqual(pod['x-kubernetes-group-version-kind'], [{ group: '', version: 'v1', kind: 'Pod' }]);
    assert.deepEqual(doc.components.schemas['io.k8s.api.core.v1.PodList']['x-kubernetes-group-version-kind'], [{ group: '', version: 'v1', kind: 'PodList' }]);
    assert.ok(doc.components.schemas['io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta'].properties.labels);
  });

  test('schema names', () => {
    const t = (group: string, kind: string, custom = false): string => schemaName({ group, version: 'v1', kind, crd: custom ? {} : undefined });
    assert.equal(t('', 'Pod'), 'io.k8s.api.core.v1.Pod');
    assert.equal(t('rbac.authorization.k8s.io', 'Role'), 'io.k8s.api.rbac.v1.Role');
    assert.equal(t('apiextensions.k8s.io', 'CustomResourceDefinition'), 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition');
    assert.equal(t('example.com', 'Widget', true), 'com.example.v1.Widget');
  });

  test('custom resources: the CRD schema, merge patches only', () => {
    const reg = new ResourceRegistry();
    reg.add(runtime);
    const doc = openapiV3Document(reg, 'kre.konstellation.io', 'v1alpha1') as any;
    const schema = doc.components.schemas['io.konstellation.kre.v1alpha1.Runtime'];
    assert.deepEqual(schema['x-kubernetes-group-version-kind'], [{ group: 'kre.konstellation.io', version: 'v1alpha1', kind: 'Runtime' }]);
    assert.deepEqual(schema.properties.spec, crd.spec.versions[0].schema.openAPIV3Schema.properties.spec);
    assert.deepEqual(schema.properties.metadata.allOf, [{ $ref: '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' }]);
    assert.equal(schema.properties.apiVersion.type, 'string');
    // The CRD object itself is not changed.
    assert.equal(crd.spec.versions[0].schema.openAPIV3Schema.properties.metadata, undefined);

    const patch = doc.paths['/apis/kre.konstellation.io/v1alpha1/namespaces/{namespace}/runtimes/{name}'].patch;
    assert.equal(patch.operationId, 'patchKreKonstellationIoV1alpha1NamespacedRuntime');
    assert.equal('application/strategic-merge-patch+json' in patch.requestBody.content, false);
    assert.ok('application/merge-patch+json' in patch.requestBody.content);

    // Every $ref points at a schema of the same document (kubectl explain resolves them there).
    const refs = JSON.stringify(doc).match(/#\/components\/schemas\/[^"]+/g) ?? [];
    for (const r of refs) assert.ok(doc.components.schemas[r.slice('#/components/schemas/'.length)], r);
  });

  test('openapi v2 is an empty protobuf document with a media type Go can parse', () => {
    assert.equal(openapiV2Document().length, 0);
    assert.doesNotMatch(OPENAPI_V2_CONTENT_TYPE, /@/);
  });
});

/**
 * API semantics end to end, through raw HTTPS and @kubernetes/client-node: patches and server-side
 * apply, validation and immutable fields of built-in kinds, unknown fields, CustomResourceDefinitions
 * with their subresources, namespace termination and owner-reference garbage collection.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import type { Container, ConfigMap, CustomResourceDefinition, Deployment, KubeList, KubeObject, Pod, Secret, Service, StatefulSet } from '../kube/index.ts';
import { startDevCluster, type DevCluster } from './index.ts';
import { eventually, managedFields, rawRequest, type RawResponse, type StatusBody } from './testing.ts';

let cluster: DevCluster;
let core: k8s.CoreV1Api;
let objects: k8s.KubernetesObjectApi;

const NS = 'sem';
const JSON_PATCH = { 'Content-Type': 'application/json-patch+json' };
const MERGE_PATCH = { 'Content-Type': 'application/merge-patch+json' };
const SMP = { 'Content-Type': 'application/strategic-merge-patch+json' };
const APPLY = { 'Content-Type': 'application/apply-patch+yaml' };

before(async () => {
  cluster = await startDevCluster();
  const kc = cluster.kubeConfig();
  core = kc.makeApiClient(k8s.CoreV1Api);
  objects = k8s.KubernetesObjectApi.makeApiClient(kc);
  await core.createNamespace({ body: { metadata: { name: NS } } });
});
after(async () => {
  await cluster.stop();
});

const req = (method: string, path: string, body?: string | object, headers?: Record<string, string>) => rawRequest(cluster, method, path, body, headers);

/** Expects the answer `code` and returns its body as `T`: the kind the test asked for, or a Status. */
function expectStatus<T = StatusBody>(r: RawResponse, code: number, what: string): T {
  assert.equal(r.status, code, `${what}: expected ${code}, got ${r.status}: ${r.text}`);
  return r.json<T>();
}

/** Expects a 422 Invalid whose causes name `field` (a cause's field equals it or starts with it). */
function expectInvalid(r: RawResponse, field: string, what = field): StatusBody {
  const status = expectStatus(r, 422, what);
  assert.equal(status.kind, 'Status');
  assert.equal(status.reason, 'Invalid');
  const causes = status.details?.causes ?? [];
  assert.ok(causes.some((c) => c.field === field || c.field?.startsWith(field)), `${what}: no cause on ${field}: ${JSON.stringify(causes)}`);
  return status;
}

const deployPath = (name = '') => `/apis/apps/v1/namespaces/${NS}/deployments${name ? `/${name}` : ''}`;
const cmPath = (name = '') => `/api/v1/namespaces/${NS}/configmaps${name ? `/${name}` : ''}`;

const containerNames = (d: Deployment) => (d.spec?.template.spec?.containers ?? []).map((c) => c.name);
const containerNamed = (d: Deployment, name: string) => d.spec?.template.spec?.containers.find((c) => c.name === name);
/** The causes a Status lists (none without details). */
const causesOf = (s: StatusBody) => s.details?.causes ?? [];

/** A custom resource of the test's CRD. */
interface Widget extends KubeObject {
  spec?: { size?: string; replicas?: number; unknownField?: unknown; extra?: unknown };
  status?: { phase?: string; replicas?: number; observedGeneration?: number };
}

/** The scale subresource. */
interface Scale extends KubeObject {
  spec?: { replicas?: number };
  status?: { replicas?: number };
}

/** Discovery's list of the resources of one group version. */
interface ApiResourceList {
  resources: { name: string; shortNames?: string[] }[];
}

/** What the test reads of an OpenAPI v3 schema. */
interface OpenApiSchema {
  properties?: Record<string, OpenApiSchema>;
  'x-kubernetes-group-version-kind'?: { group: string; version: string; kind: string }[];
}

/** The events of a finished watch, one JSON object a line. */
function watchEvents(r: RawResponse): { type: string; object: KubeObject }[] {
  return r.text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

function deployment(name: string, containers: Container[] = [{ name: 'app', image: 'app:1', env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }] }, { name: 'sidecar', image: 'side:1' }]) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NS },
    spec: { replicas: 1, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers } } },
  };
}

describe('patches', () => {
  test('JSON patch, merge patch and strategic merge patch on a Deployment', async () => {
    expectStatus(await req('POST', deployPath(), deployment('patched')), 201, 'create');

    let d = expectStatus<Deployment>(await req('PATCH', deployPath('patched'), [{ op: 'replace', path: '/spec/replicas', value: 3 }, { op: 'add', path: '/metadata/labels', value: { tier: 'web' } }], JSON_PATCH), 200, 'json patch');
    assert.equal(d.spec?.replicas, 3);
    assert.deepEqual(d.metadata.labels, { tier: 'web' });
    // A failing test operation refuses the whole patch.
    const failed = await req('PATCH', deployPath('patched'), [{ op: 'test', path: '/spec/replicas', value: 7 }, { op: 'replace', path: '/spec/replicas', value: 9 }], JSON_PATCH);
    assert.ok(failed.status >= 400 && failed.status < 500, `failed test op: ${failed.status}`);

    d = expectStatus(await req('PATCH', deployPath('patched'), { metadata: { labels: { tier: null, team: 'ml' } }, spec: { replicas: 2 } }, MERGE_PATCH), 200, 'merge patch');
    assert.deepEqual(d.metadata.labels, { team: 'ml' });
    assert.equal(d.spec?.replicas, 2);
    // A merge patch replaces lists whole.
    d = expectStatus(await req('PATCH', deployPath('patched'), { spec: { template: { spec: { containers: [{ name: 'only', image: 'only:1' }] } } } }, MERGE_PATCH), 200, 'merge patch of a list');
    assert.deepEqual(containerNames(d), ['only']);

    // Strategic merge: containers merged by name, env by name.
    d = expectStatus(await req('PATCH', deployPath('patched'), { spec: { template: { spec: { containers: [{ name: 'app', image: 'app:1', env: [{ name: 'A', value: '1' }] }] } } } }, SMP), 200, 'smp add');
    assert.deepEqual(containerNames(d).sort(), ['app', 'only']);
    d = expectStatus(await req('PATCH', deployPath('patched'), { spec: { template: { spec: { containers: [{ name: 'app', image: 'app:2', env: [{ name: 'B', value: '2' }] }] } } } }, SMP), 200, 'smp merge');
    const app = containerNamed(d, 'app');
    assert.equal(app?.image, 'app:2');
    assert.deepEqual(app?.env?.map((e) => e.name).sort(), ['A', 'B'], 'env merged by name');
    assert.ok(containerNamed(d, 'only'), 'the other container is kept');

    // $patch: delete removes one element by its merge key.
    d = expectStatus(await req('PATCH', deployPath('patched'), { spec: { template: { spec: { containers: [{ name: 'only', $patch: 'delete' }] } } } }, SMP), 200, 'smp $patch delete');
    assert.deepEqual(containerNames(d), ['app']);

    // $setElementOrder orders the merged list.
    d = expectStatus(
      await req('PATCH', deployPath('patched'), { spec: { template: { spec: { containers: [{ name: 'first', image: 'first:1' }], '$setElementOrder/containers': [{ name: 'first' }, { name: 'app' }] } } } }, SMP),
      200,
      'smp $setElementOrder',
    );
    assert.deepEqual(containerNames(d), ['first', 'app']);
    d = expectStatus(
      await req('PATCH', deployPath('patched'), { spec: { template: { spec: { '$setElementOrder/containers': [{ name: 'app' }, { name: 'first' }] } } } }, SMP),
      200,
      'smp reorder',
    );
    assert.deepEqual(containerNames(d), ['app', 'first']);

    // $deleteFromPrimitiveList on finalizers.
    expectStatus(await req('PATCH', deployPath('patched'), { metadata: { finalizers: ['a.io/x', 'a.io/y'] } }, MERGE_PATCH), 200, 'finalizers');
    d = expectStatus(await req('PATCH', deployPath('patched'), { metadata: { '$deleteFromPrimitiveList/finalizers': ['a.io/x'] } }, SMP), 200, 'smp $deleteFromPrimitiveList');
    assert.deepEqual(d.metadata.finalizers, ['a.io/y']);
    expectStatus(await req('PATCH', deployPath('patched'), { metadata: { finalizers: null } }, MERGE_PATCH), 200, 'finalizers removed');
  });

  test('an unknown patch type is a 415; a patch of a missing object a 404', async () => {
    expectStatus(await req('POST', cmPath(), { metadata: { name: 'p415' }, data: { a: '1' } }), 201, 'create');
    const r = expectStatus(await req('PATCH', cmPath('p415'), { data: { a: '2' } }, { 'Content-Type': 'text/plain' }), 415, 'text/plain patch');
    assert.equal(r.reason, 'UnsupportedMediaType');
    expectStatus(await req('PATCH', cmPath('p415'), { data: { a: '2' } }, { 'Content-Type': 'application/json' }), 415, 'application/json patch');
    expectStatus(await req('PATCH', cmPath('nothere'), { data: { a: '2' } }, MERGE_PATCH), 404, 'missing object');
  });
});

describe('server-side apply', () => {
  const applyCm = (manager: string, data: Record<string, string>, force = false) =>
    req('PATCH', `${cmPath('operated')}?fieldManager=${manager}${force ? '&force=true' : ''}`, JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'operated', namespace: NS }, data }), APPLY);

  test('an operator-style sequence: apply, drop a field, another manager takes one, conflict, force', async () => {
    let cm = expectStatus<ConfigMap>(await applyCm('operator-a', { x: '1', y: '2' }), 201, 'first apply creates');
    assert.deepEqual(cm.data, { x: '1', y: '2' });
    const a = managedFields(cm).find((m) => m.manager === 'operator-a');
    assert.equal(a?.operation, 'Apply');
    assert.ok(a?.fieldsV1?.['f:data']?.['f:x'] && a.fieldsV1['f:data']['f:y'], JSON.stringify(a?.fieldsV1));

    cm = expectStatus(await applyCm('operator-a', { x: '1' }), 200, 'apply without y');
    assert.deepEqual(cm.data, { x: '1' }, 'a field the manager stops applying is removed');

    // Another manager changes x with a plain update.
    const current = expectStatus<ConfigMap>(await req('GET', cmPath('operated')), 200, 'get');
    current.data = { ...current.data, x: 'by-b' };
    cm = expectStatus(await req('PUT', `${cmPath('operated')}?fieldManager=manager-b`, current), 200, 'update by b');
    const b = managedFields(cm).find((m) => m.manager === 'manager-b');
    assert.equal(b?.operation, 'Update');
    assert.ok(b?.fieldsV1?.['f:data']?.['f:x']);

    const conflict = expectStatus(await applyCm('operator-a', { x: '1' }), 409, 'apply of a field b owns');
    assert.equal(conflict.reason, 'Conflict');
    assert.match(conflict.message ?? '', /manager-b/);
    assert.match(conflict.message ?? '', /\.data\.x/);
    assert.ok(causesOf(conflict).some((c) => c.reason === 'FieldManagerConflict' && /manager-b/.test(c.message ?? '') && c.field === '.data.x'), JSON.stringify(conflict.details));

    // The same value is no conflict: both share the field.
    cm = expectStatus(await applyCm('operator-a', { x: 'by-b' }), 200, 'apply of the same value');
    expectStatus(await req('PUT', `${cmPath('operated')}?fieldManager=manager-b`, { ...cm, data: { x: 'by-b-2' } }), 200, 'b changes it again');

    cm = expectStatus(await applyCm('operator-a', { x: '1' }, true), 200, 'forced apply');
    assert.equal(cm.data?.x, '1');
    const owners = managedFields(cm).filter((m) => m.fieldsV1?.['f:data']?.['f:x']).map((m) => m.manager);
    assert.deepEqual(owners, ['operator-a'], 'force takes the field from b');

    // A second applier that applies a field too keeps it when the first stops applying it.
    expectStatus(await req('PATCH', `${cmPath('operated')}?fieldManager=operator-c`, JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'operated' }, data: { x: '1', z: '3' } }), APPLY), 200, 'c applies x too');
    cm = expectStatus(await applyCm('operator-a', {}), 200, 'a applies nothing');
    assert.deepEqual(cm.data, { x: '1', z: '3' }, 'x is kept: c still owns it');
  });

  test('apply needs a fieldManager; a name that differs from the path is a 400', async () => {
    const body = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'nomanager' }, data: { a: '1' } });
    const r = await req('PATCH', cmPath('nomanager'), body, APPLY);
    assert.ok(r.status >= 400 && r.status < 500, `apply without fieldManager: ${r.status}`);
    assert.match(r.text, /fieldManager/);
    expectStatus(await req('PATCH', `${cmPath('other')}?fieldManager=x`, body, APPLY), 400, 'name mismatch');
  });

  test('apply merges keyed lists: containers applied by two managers', async () => {
    const apply = (manager: string, containers: Container[], force = false) =>
      req('PATCH', `${deployPath('ssa-deploy')}?fieldManager=${manager}${force ? '&force=true' : ''}`, JSON.stringify(deployment('ssa-deploy', containers)), APPLY);
    expectStatus(await apply('one', [{ name: 'app', image: 'app:1' }]), 201, 'one applies');
    let d = expectStatus<Deployment>(await apply('two', [{ name: 'app', image: 'app:1' }, { name: 'extra', image: 'extra:1' }]), 200, 'two applies');
    assert.deepEqual(containerNames(d), ['app', 'extra']);
    const conflict = expectStatus(await apply('one', [{ name: 'app', image: 'app:2' }]), 409, 'image owned by both');
    assert.match(conflict.message ?? '', /two/);
    assert.match(conflict.message ?? '', /spec\.template\.spec\.containers\[name="app"\]\.image/);
    d = expectStatus(await apply('one', [{ name: 'app', image: 'app:2' }], true), 200, 'forced');
    assert.equal(containerNamed(d, 'app')?.image, 'app:2');
    assert.equal(containerNames(d).length, 2, 'extra is kept: two owns it');
  });
});

describe('validation of built-in kinds', () => {
  const pod = (spec: Record<string, unknown>, name = 'vpod', labels?: Record<string, string>) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, labels }, spec });
  const podPath = `/api/v1/namespaces/${NS}/pods`;
  const c = (extra: Record<string, unknown> = {}) => ({ name: 'main', image: 'nginx', ...extra });

  test('names, labels and annotations', async () => {
    const s = expectInvalid(await req('POST', podPath, pod({ containers: [c()] }, 'Bad_Name')), 'metadata.name');
    assert.match(s.message ?? '', /^Pod "Bad_Name" is invalid: /);
    expectInvalid(await req('POST', cmPath(), { metadata: { name: 'a'.repeat(254) } }), 'metadata.name', 'name too long');
    expectInvalid(await req('POST', '/api/v1/namespaces', { metadata: { name: 'has.dot' } }), 'metadata.name', 'namespace name is a label');
    expectInvalid(await req('POST', `/api/v1/namespaces/${NS}/services`, { metadata: { name: 'has.dot' }, spec: { ports: [{ port: 80 }] } }), 'metadata.name', 'service name is a label');
    expectInvalid(await req('POST', cmPath(), { metadata: { name: 'l1', labels: { 'bad key!': 'v' } } }), 'metadata.labels', 'label key');
    expectInvalid(await req('POST', cmPath(), { metadata: { name: 'l2', labels: { k: 'v'.repeat(64) } } }), 'metadata.labels', 'label value length');
    expectInvalid(await req('POST', cmPath(), { metadata: { name: 'l3', labels: { k: 'has space' } } }), 'metadata.labels', 'label value syntax');
    expectInvalid(await req('POST', cmPath(), { metadata: { name: 'l4', annotations: { '-bad/': 'v' } } }), 'metadata.annotations', 'annotation key');
    expectInvalid(await req('POST', cmPath(), { metadata: { name: 'l5', annotations: { big: 'x'.repeat(256 * 1024 + 1) } } }), 'metadata.annotations', 'annotations size');
    expectStatus(await req('POST', cmPath(), { metadata: { name: 'l6', labels: { 'example.com/ok-key_1': 'ok.Value-1' }, annotations: { 'example.com/any': 'any value at all!' } } }), 201, 'valid labels');
  });

  test('pods: containers, images, ports, quantities, requests and limits, enums', async () => {
    expectInvalid(await req('POST', podPath, pod({ containers: [] })), 'spec.containers', 'no container');
    expectInvalid(await req('POST', podPath, pod({ containers: [c({ name: 'Bad_Name' })] })), 'spec.containers[0].name', 'container name');
    expectInvalid(await req('POST', podPath, pod({ containers: [c(), c()] })), 'spec.containers[1].name', 'duplicate container names');
    expectInvalid(await req('POST', podPath, pod({ containers: [c({ image: '' })] })), 'spec.containers[0].image', 'empty image');
    expectInvalid(await req('POST', podPath, pod({ containers: [c({ ports: [{ containerPort: 0 }] })] })), 'spec.containers[0].ports[0].containerPort', 'port 0');
    expectInvalid(await req('POST', podPath, pod({ containers: [c({ ports: [{ containerPort: 70000 }] })] })), 'spec.containers[0].ports[0].containerPort', 'port 70000');
    expectInvalid(await req('POST', podPath, pod({ containers: [c({ ports: [{ name: 'http', containerPort: 80 }, { name: 'http', containerPort: 81 }] })] })), 'spec.containers[0].ports[1].name', 'duplicate port names');
    const badQuantity = await req('POST', podPath, pod({ containers: [c({ resources: { requests: { cpu: 'lots' } } })] }));
    assert.ok(badQuantity.status === 400 || badQuantity.status === 422, `unparseable quantity: ${badQuantity.status} ${badQuantity.text}`);
    assert.match(badQuantity.text, /quantit/i);
    expectInvalid(await req('POST', podPath, pod({ containers: [c({ resources: { requests: { cpu: '2' }, limits: { cpu: '1' } } })] })), 'spec.containers[0].resources.requests', 'requests > limits');
    expectInvalid(await req('POST', podPath, pod({ containers: [c()], restartPolicy: 'Sometimes' })), 'spec.restartPolicy', 'restartPolicy');
    expectInvalid(await req('POST', podPath, pod({ containers: [c()], dnsPolicy: 'Magic' })), 'spec.dnsPolicy', 'dnsPolicy');
    expectInvalid(await req('POST', podPath, pod({ containers: [c({ imagePullPolicy: 'Sometimes' })] })), 'spec.containers[0].imagePullPolicy', 'imagePullPolicy');
    const created = expectStatus<Pod>(await req('POST', podPath, pod({ containers: [c({ ports: [{ name: 'http', containerPort: 80 }], resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '1', memory: '128Mi' } } })] }, 'good')), 201, 'valid pod');
    assert.equal(created.spec?.containers[0].imagePullPolicy, 'Always', 'defaulted as a real server does for an untagged image');
  });

  test('workloads: selector vs template labels, replicas, serviceName', async () => {
    const d = deployment('vdeploy');
    d.spec.template.metadata.labels = { app: 'other' };
    expectInvalid(await req('POST', deployPath(), d), 'spec.template.metadata.labels', 'selector does not match');
    const noSelector = deployment('vdeploy');
    const { selector: _selector, ...specWithoutSelector } = noSelector.spec;
    expectInvalid(await req('POST', deployPath(), { ...noSelector, spec: specWithoutSelector }), 'spec.selector', 'missing selector');
    const negative = deployment('vdeploy');
    negative.spec.replicas = -1;
    expectInvalid(await req('POST', deployPath(), negative), 'spec.replicas', 'replicas < 0');
    const sts = { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'vsts' }, spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [c()] } } } };
    // A real 1.32 server has no check on serviceName (ValidateStatefulSetSpec never required it).
    expectStatus(await req('POST', `/apis/apps/v1/namespaces/${NS}/statefulsets`, sts), 201, 'statefulset without serviceName');
    const badSts = structuredClone(sts);
    badSts.metadata.name = 'vsts2';
    badSts.spec.template.metadata.labels = { a: 'c' };
    expectInvalid(await req('POST', `/apis/apps/v1/namespaces/${NS}/statefulsets`, badSts), 'spec.template.metadata.labels', 'statefulset selector');
    const job = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'vjob' }, spec: { template: { spec: { containers: [c()], restartPolicy: 'Always' } } } };
    expectInvalid(await req('POST', `/apis/batch/v1/namespaces/${NS}/jobs`, job), 'spec.template.spec.restartPolicy', 'job restartPolicy');
  });

  test('services, configmaps, secrets, leases and role bindings', async () => {
    const svc = (spec: Record<string, unknown>, name = 'vsvc') => req('POST', `/api/v1/namespaces/${NS}/services`, { metadata: { name }, spec });
    expectInvalid(await svc({ ports: [{ port: 0 }] }), 'spec.ports[0].port', 'service port 0');
    expectInvalid(await svc({ ports: [{ port: 80 }, { port: 81 }] }), 'spec.ports[0].name', 'several ports need names');
    expectInvalid(await svc({ type: 'Magic', ports: [{ port: 80 }] }), 'spec.type', 'service type');

    expectInvalid(await req('POST', cmPath(), { metadata: { name: 'vcm' }, data: { 'bad key': 'x' } }), 'data[bad key]', 'configmap key');
    // The size cause has an empty field, as on a real server (field.TooLong(field.NewPath(""), …)).
    const big = expectStatus(await req('POST', cmPath(), { metadata: { name: 'vcm' }, data: { a: 'x'.repeat(1024 * 1024 + 1) } }), 422, 'configmap size');
    assert.ok(causesOf(big).some((c) => c.reason === 'FieldValueTooLong' && /1048576/.test(c.message ?? '')), JSON.stringify(big.details));
    expectInvalid(await req('POST', `/api/v1/namespaces/${NS}/secrets`, { metadata: { name: 'vsec' }, data: { 'a/b': 'eA==' } }), 'data[a/b]', 'secret key');
    const secret = expectStatus<Secret>(await req('POST', `/api/v1/namespaces/${NS}/secrets`, { metadata: { name: 'strdata' }, data: { a: 'eA==' }, stringData: { b: 'y', a: 'z' } }), 201, 'stringData');
    assert.deepEqual(secret.data, { a: 'eg==', b: 'eQ==' }, 'stringData is merged into data over it');
    assert.equal(secret.stringData, undefined, 'stringData is never stored');

    const lease = (renewTime: string) => req('POST', `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases`, { metadata: { name: `lease-${renewTime.length}` }, spec: { holderIdentity: 'me', renewTime } });
    const three = await lease('2026-01-01T05:00:00.123Z');
    expectStatus(three, 400, 'a 3-digit MicroTime');
    assert.match(three.json<StatusBody>().message ?? '', /cannot be handled as a Lease: parsing time "2026-01-01T05:00:00.123Z"/);
    const six = expectStatus<KubeObject & { spec?: { renewTime?: string } }>(await lease('2026-01-01T05:00:00.123456Z'), 201, 'a 6-digit MicroTime');
    assert.equal(six.spec?.renewTime, '2026-01-01T05:00:00.123456Z');

    const rb = (roleRef: Record<string, unknown>) => req('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/rolebindings`, { metadata: { name: 'vrb' }, roleRef, subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: NS }] });
    expectInvalid(await rb({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Deployment', name: 'r' }), 'roleRef.kind', 'roleRef kind');
    expectInvalid(await rb({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: '' }), 'roleRef.name', 'roleRef name');
  });

  test('immutable fields', async () => {
    expectStatus(await req('POST', deployPath(), deployment('immut')), 201, 'create deployment');
    expectInvalid(await req('PATCH', deployPath('immut'), { spec: { selector: { matchLabels: { app: 'immut', x: 'y' } }, template: { metadata: { labels: { app: 'immut', x: 'y' } } } } }, MERGE_PATCH), 'spec.selector', 'deployment selector');

    const stsPath = `/apis/apps/v1/namespaces/${NS}/statefulsets`;
    const sts = {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'immut' },
      spec: {
        serviceName: 'immut',
        selector: { matchLabels: { a: 'b' } },
        template: { metadata: { labels: { a: 'b' } }, spec: { containers: [c()] } },
        volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
      },
    };
    expectStatus(await req('POST', stsPath, sts), 201, 'create statefulset');
    expectInvalid(await req('PATCH', `${stsPath}/immut`, { spec: { serviceName: 'other' } }, MERGE_PATCH), 'spec', 'statefulset serviceName');
    expectInvalid(await req('PATCH', `${stsPath}/immut`, [{ op: 'replace', path: '/spec/volumeClaimTemplates/0/spec/resources/requests/storage', value: '2Gi' }], JSON_PATCH), 'spec', 'statefulset volumeClaimTemplates');
    const ok = expectStatus<StatefulSet>(await req('PATCH', `${stsPath}/immut`, { spec: { replicas: 3 } }, MERGE_PATCH), 200, 'statefulset replicas may change');
    assert.equal(ok.spec?.replicas, 3);

    const svc = expectStatus<Service>(await req('POST', `/api/v1/namespaces/${NS}/services`, { metadata: { name: 'immut' }, spec: { ports: [{ port: 80 }] } }), 201, 'create service');
    assert.match(svc.spec?.clusterIP ?? '', /^\d+\.\d+\.\d+\.\d+$/);
    expectInvalid(await req('PATCH', `/api/v1/namespaces/${NS}/services/immut`, { spec: { clusterIP: '10.96.200.200', clusterIPs: ['10.96.200.200'] } }, MERGE_PATCH), 'spec.clusterIP', 'service clusterIP');

    const podPathImmut = `${podPath}/immut`;
    expectStatus(await req('POST', podPath, pod({ containers: [c()] }, 'immut')), 201, 'create pod');
    const image = expectStatus<Pod>(await req('PATCH', podPathImmut, { spec: { containers: [{ name: 'main', image: 'nginx:2' }] } }, SMP), 200, 'pod image may change');
    assert.equal(image.spec?.containers[0].image, 'nginx:2');
    const podSpec = expectInvalid(await req('PATCH', podPathImmut, { spec: { containers: [{ name: 'main', env: [{ name: 'X', value: '1' }] }] } }, SMP), 'spec', 'pod spec beyond image');
    assert.match(podSpec.message ?? '', /pod updates may not change fields other than/);

    const jobPath = `/apis/batch/v1/namespaces/${NS}/jobs`;
    expectStatus(await req('POST', jobPath, { metadata: { name: 'immut' }, spec: { template: { spec: { containers: [c()], restartPolicy: 'Never' } } } }), 201, 'create job');
    expectInvalid(await req('PATCH', `${jobPath}/immut`, { spec: { template: { spec: { containers: [{ name: 'main', image: 'nginx:2' }] } } } }, SMP), 'spec.template', 'job template');

    expectStatus(await req('POST', cmPath(), { metadata: { name: 'frozen' }, data: { a: '1' }, immutable: true }), 201, 'immutable configmap');
    expectInvalid(await req('PATCH', cmPath('frozen'), { data: { a: '2' } }, MERGE_PATCH), 'data', 'immutable configmap data');
    expectInvalid(await req('PATCH', cmPath('frozen'), { immutable: false }, MERGE_PATCH), 'immutable', 'immutable cannot be unset');
    expectStatus(await req('PATCH', cmPath('frozen'), { metadata: { labels: { ok: 'yes' } } }, MERGE_PATCH), 200, 'metadata of an immutable configmap may change');
  });

  test('unknown fields on built-in kinds under each fieldValidation', async () => {
    const body = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { a: '1' }, bogus: 1, metadata2: {} });
    const strict = expectStatus(await req('POST', `${cmPath()}?fieldValidation=Strict`, body('uf-strict')), 400, 'Strict');
    assert.match(strict.message ?? '', /strict decoding error: unknown field "bogus"/);
    const warn = await req('POST', `${cmPath()}?fieldValidation=Warn`, body('uf-warn'));
    expectStatus(warn, 201, 'Warn');
    assert.match(String(warn.headers.warning), /unknown field \\?"bogus\\?"/);
    assert.equal(warn.json<ConfigMap>().bogus, undefined, 'unknown fields are not stored');
    const ignore = expectStatus<ConfigMap>(await req('POST', `${cmPath()}?fieldValidation=Ignore`, body('uf-ignore')), 201, 'Ignore');
    assert.equal(ignore.bogus, undefined);
    const top = expectStatus(await req('POST', `${podPath}?fieldValidation=Strict`, { ...pod({ containers: [c()] }, 'uf-pod'), sepc: {} }), 400, 'a misspelt spec');
    assert.match(top.message ?? '', /unknown field "sepc"/);
    const meta = expectStatus(await req('POST', `${cmPath()}?fieldValidation=Strict`, { metadata: { name: 'uf-meta', label: { a: 'b' } } }), 400, 'unknown metadata field');
    assert.match(meta.message ?? '', /unknown field "metadata\.label"/);
    // Without the parameter a real server warns and drops the field.
    const byDefault = await req('POST', cmPath(), body('uf-default'));
    expectStatus(byDefault, 201, 'default');
    assert.match(String(byDefault.headers.warning), /bogus/);
    assert.equal(byDefault.json<ConfigMap>().bogus, undefined);
    // Patches are checked too.
    expectStatus(await req('PATCH', `${cmPath('uf-default')}?fieldValidation=Strict`, { bogus: 2 }, MERGE_PATCH), 400, 'strict merge patch');
  });
});

const CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'widgets.test.kre.io' },
  spec: {
    group: 'test.kre.io',
    scope: 'Namespaced',
    names: { kind: 'Widget', plural: 'widgets', singular: 'widget', shortNames: ['wdg'] },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        subresources: { status: {}, scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas' } },
        additionalPrinterColumns: [
          { name: 'Size', type: 'string', jsonPath: '.spec.size' },
          { name: 'Replicas', type: 'integer', jsonPath: '.spec.replicas' },
          { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
        ],
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                type: 'object',
                required: ['size'],
                properties: {
                  size: { type: 'string', enum: ['small', 'large'] },
                  replicas: { type: 'integer', minimum: 0, maximum: 10, default: 1 },
                  code: { type: 'string', pattern: '^[a-z]+$' },
                  tags: { type: 'array', items: { type: 'string' }, maxItems: 2 },
                  extra: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
                },
              },
              status: { type: 'object', properties: { replicas: { type: 'integer' }, phase: { type: 'string' }, observedGeneration: { type: 'integer' } } },
            },
          },
        },
      },
    ],
  },
};

describe('custom resources', () => {
  const wPath = (name = '') => `/apis/test.kre.io/v1/namespaces/${NS}/widgets${name ? `/${name}` : ''}`;
  const widget = (name: string, spec: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ apiVersion: 'test.kre.io/v1', kind: 'Widget', metadata: { name }, spec, ...extra });

  before(async () => {
    const crd = expectStatus<CustomResourceDefinition>(await req('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', CRD), 201, 'create CRD');
    assert.equal(crd.metadata.name, 'widgets.test.kre.io');
  });

  test('a new CRD is established and served at once, in discovery and OpenAPI', async () => {
    const crd = expectStatus<CustomResourceDefinition>(await req('GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.test.kre.io'), 200, 'get CRD');
    const conds = Object.fromEntries((crd.status?.conditions ?? []).map((c) => [c.type, c.status]));
    assert.equal(conds.Established, 'True');
    assert.equal(conds.NamesAccepted, 'True');
    assert.equal(crd.status?.acceptedNames?.kind, 'Widget');
    assert.deepEqual(crd.status?.storedVersions, ['v1']);

    const groups = expectStatus<{ groups: { name: string }[] }>(await req('GET', '/apis'), 200, '/apis');
    assert.ok(groups.groups.some((g) => g.name === 'test.kre.io'));
    const list = expectStatus<ApiResourceList>(await req('GET', '/apis/test.kre.io/v1'), 200, 'resource list');
    const names = list.resources.map((r) => r.name);
    assert.ok(names.includes('widgets') && names.includes('widgets/status') && names.includes('widgets/scale'), JSON.stringify(names));
    assert.deepEqual(list.resources.find((r) => r.name === 'widgets')?.shortNames, ['wdg']);
    const index = expectStatus<{ paths: Record<string, unknown> }>(await req('GET', '/openapi/v3'), 200, 'openapi index');
    assert.ok(index.paths['apis/test.kre.io/v1'], Object.keys(index.paths).join(' '));
    const doc = expectStatus<{ components: { schemas: Record<string, OpenApiSchema> } }>(await req('GET', '/openapi/v3/apis/test.kre.io/v1'), 200, 'openapi doc');
    const schema = Object.values(doc.components.schemas).find((s) => s['x-kubernetes-group-version-kind']?.some((g) => g.kind === 'Widget'));
    assert.ok(schema?.properties?.spec?.properties?.size, 'the schema of spec is served');
  });

  test('valid and invalid custom resources; defaults', async () => {
    const created = expectStatus<Widget>(await req('POST', wPath(), widget('w1', { size: 'small' })), 201, 'valid');
    assert.equal(created.spec?.replicas, 1, 'default filled');
    assert.equal(created.metadata.generation, 1);

    const bad = expectStatus(await req('POST', wPath(), widget('w-bad', { size: 'medium', replicas: 11, code: 'ABC', tags: ['a', 'b', 'c'] })), 422, 'invalid');
    assert.equal(bad.reason, 'Invalid');
    assert.equal(bad.details?.kind, 'Widget');
    assert.equal(bad.details?.group, 'test.kre.io');
    const fields = causesOf(bad).map((c) => c.field).sort();
    assert.deepEqual(fields, ['spec.code', 'spec.replicas', 'spec.size', 'spec.tags'], JSON.stringify(bad.details));
    assert.ok(causesOf(bad).some((c) => c.reason === 'FieldValueNotSupported' && /supported values: "small", "large"/.test(c.message ?? '')));
    assert.match(bad.message ?? '', /^Widget\.test\.kre\.io "w-bad" is invalid: /);

    expectInvalid(await req('POST', wPath(), widget('w-req', { replicas: 2 })), 'spec.size', 'required');
    expectInvalid(await req('POST', wPath(), widget('w-type', { size: 'small', replicas: 'two' })), 'spec.replicas', 'type');
    expectInvalid(await req('POST', wPath(), widget('w-neg', { size: 'small', replicas: -1 })), 'spec.replicas', 'minimum');
    // An update is validated too.
    expectInvalid(await req('PATCH', wPath('w1'), { spec: { size: 'huge' } }, MERGE_PATCH), 'spec.size', 'invalid update');
  });

  test('unknown fields: Strict 400, Warn header, Ignore pruned; preserved under x-kubernetes-preserve-unknown-fields', async () => {
    const body = (name: string) => widget(name, { size: 'small', unknownField: 1, extra: { anything: { goes: true } } });
    const strict = expectStatus(await req('POST', `${wPath()}?fieldValidation=Strict`, body('u1')), 400, 'Strict');
    assert.match(strict.message ?? '', /strict decoding error: unknown field "spec\.unknownField"/);
    const warn = await req('POST', `${wPath()}?fieldValidation=Warn`, body('u2'));
    expectStatus(warn, 201, 'Warn');
    assert.match(String(warn.headers.warning), /unknown field/);
    assert.equal(warn.json<Widget>().spec?.unknownField, undefined);
    const ignore = expectStatus<Widget>(await req('POST', `${wPath()}?fieldValidation=Ignore`, body('u3')), 201, 'Ignore');
    assert.equal(ignore.spec?.unknownField, undefined, 'pruned');
    assert.deepEqual(ignore.spec?.extra, { anything: { goes: true } }, 'preserved where the schema says so');
    // Patches are checked too.
    const patched = await req('PATCH', `${wPath('u3')}?fieldValidation=Strict`, { spec: { nope: 1 } }, MERGE_PATCH);
    expectStatus(patched, 400, 'strict merge patch');
  });

  test('patch types on custom resources: strategic merge is a 415', async () => {
    expectStatus(await req('POST', wPath(), widget('pt', { size: 'small' })), 201, 'create');
    const r = expectStatus(await req('PATCH', wPath('pt'), { spec: { size: 'large' } }, SMP), 415, 'strategic merge on a CR');
    assert.equal(r.reason, 'UnsupportedMediaType');
    assert.equal(expectStatus<Widget>(await req('PATCH', wPath('pt'), { spec: { size: 'large' } }, MERGE_PATCH), 200, 'merge').spec?.size, 'large');
    assert.equal(expectStatus<Widget>(await req('PATCH', wPath('pt'), [{ op: 'replace', path: '/spec/size', value: 'small' }], JSON_PATCH), 200, 'json').spec?.size, 'small');
    // The patches above own spec.size: applying another value conflicts until forced.
    const conflict = expectStatus(await req('PATCH', `${wPath('pt')}?fieldManager=op`, JSON.stringify(widget('pt', { size: 'large', replicas: 4 })), APPLY), 409, 'apply over an update');
    assert.ok(causesOf(conflict).some((c) => c.field === '.spec.size'), JSON.stringify(conflict.details));
    const applied = expectStatus<Widget>(await req('PATCH', `${wPath('pt')}?fieldManager=op&force=true`, JSON.stringify(widget('pt', { size: 'large', replicas: 4 })), APPLY), 200, 'apply');
    assert.equal(applied.spec?.replicas, 4);
  });

  test('status and scale subresources; generation bumps on spec changes only', async () => {
    const created = expectStatus<Widget>(await req('POST', wPath(), widget('st', { size: 'small', replicas: 2 }, { status: { phase: 'Ignored' } })), 201, 'create');
    assert.equal(created.status, undefined, 'status is not set on create');
    assert.equal(created.metadata.generation, 1);

    let w = expectStatus<Widget>(await req('PATCH', wPath('st'), { status: { phase: 'Nope' }, metadata: { labels: { a: 'b' } } }, MERGE_PATCH), 200, 'main resource with status');
    assert.equal(w.status, undefined, 'the main resource ignores status');
    assert.equal(w.metadata.generation, 1, 'metadata changes keep the generation');

    w = expectStatus(await req('PATCH', `${wPath('st')}/status`, { status: { phase: 'Ready', replicas: 2, observedGeneration: 1 }, spec: { size: 'large' } }, MERGE_PATCH), 200, '/status');
    assert.equal(w.status?.phase, 'Ready');
    assert.equal(w.spec?.size, 'small', '/status changes only status');
    assert.equal(w.metadata.generation, 1, 'status changes keep the generation');

    w = expectStatus(await req('PATCH', wPath('st'), { spec: { size: 'large' } }, MERGE_PATCH), 200, 'spec change');
    assert.equal(w.metadata.generation, 2);
    assert.equal(w.status?.phase, 'Ready', 'status kept by a main-resource write');

    const scale = expectStatus<Scale>(await req('GET', `${wPath('st')}/scale`), 200, 'get scale');
    assert.equal(scale.kind, 'Scale');
    assert.equal(scale.spec?.replicas, 2);
    assert.equal(scale.status?.replicas, 2);
    const scaled = expectStatus<Scale>(await req('PATCH', `${wPath('st')}/scale`, { spec: { replicas: 5 } }, MERGE_PATCH), 200, 'patch scale');
    assert.equal(scaled.spec?.replicas, 5);
    w = expectStatus(await req('GET', wPath('st')), 200, 'get');
    assert.equal(w.spec?.replicas, 5);
    assert.equal(w.metadata.generation, 3);
  });

  test('custom resources are answered with the keys of every map sorted, as a real server writes them', async () => {
    // A real server holds a custom resource as an unstructured map, which Go's JSON encoder writes
    // with sorted keys at every depth; a client comparing what it wrote with what it reads back as
    // text sees that order, so the devcluster answers the same (real-apiserver-comparison checks it).
    const unsorted = { kind: 'Widget', apiVersion: 'test.kre.io/v1', metadata: { name: 'order', labels: { zone: 'b', app: 'a' } }, spec: { size: 'small', extra: { zeta: { y: 1, x: 2 }, alpha: [{ b: 1, a: 2 }] } } };
    const sortedEverywhere = (value: unknown, path = ''): string[] => {
      if (Array.isArray(value)) return value.flatMap((v, i) => sortedEverywhere(v, `${path}[${i}]`));
      if (!value || typeof value !== 'object') return [];
      const keys = Object.keys(value);
      const here = keys.join() === [...keys].sort().join() ? [] : [`${path || '(body)'}: ${keys.join()}`];
      return [...here, ...keys.flatMap((k) => sortedEverywhere((value as Record<string, unknown>)[k], `${path}.${k}`))];
    };
    const assertSorted = (body: unknown, what: string) => assert.deepEqual(sortedEverywhere(body), [], `${what}: keys out of order`);
    const watch = req('GET', `${wPath()}?watch=1&fieldSelector=metadata.name%3Dorder&timeoutSeconds=2`);

    assertSorted(expectStatus<unknown>(await req('POST', `${wPath()}?dryRun=All`, unsorted), 201, 'dry-run create'), 'dry-run create');
    const created = expectStatus<Widget>(await req('POST', wPath(), unsorted), 201, 'create');
    assertSorted(created, 'create');
    assert.deepEqual(created.spec?.extra, unsorted.spec.extra, 'the content is what was sent');
    assertSorted(expectStatus(await req('GET', wPath('order')), 200, 'get'), 'get');
    const list = await req('GET', `${wPath()}?limit=1`);
    assertSorted(expectStatus(list, 200, 'list'), 'list');
    assert.match(list.text, /^\{"apiVersion":"test\.kre\.io\/v1","items":\[/, 'the list wrapper too');
    assertSorted(expectStatus(await req('PATCH', wPath('order'), { spec: { replicas: 2 } }, MERGE_PATCH), 200, 'merge patch'), 'merge patch');
    assertSorted(expectStatus(await req('PATCH', `${wPath('order')}/status`, { status: { replicas: 2, phase: 'Ready', observedGeneration: 2 } }, MERGE_PATCH), 200, '/status'), '/status');
    const applied = await req('PATCH', `${wPath('order')}?fieldManager=order&force=true`, JSON.stringify({ ...unsorted, spec: { size: 'large', replicas: 3 } }), APPLY);
    assertSorted(expectStatus(applied, 200, 'apply'), 'apply');
    assertSorted(expectStatus(await req('PATCH', `${wPath('order')}?dryRun=All`, { spec: { replicas: 4 } }, MERGE_PATCH), 200, 'dry-run patch'), 'dry-run patch');
    // The answer to a delete is a Status (a Go struct, in its own order); the watch shows the object.
    assert.equal(expectStatus(await req('DELETE', wPath('order')), 200, 'delete').kind, 'Status');
    const events = watchEvents(await watch);
    assert.deepEqual(events.map((e) => e.type), ['ADDED', 'MODIFIED', 'MODIFIED', 'MODIFIED', 'DELETED']);
    for (const e of events) assertSorted(e.object, `watch ${e.type}`);
  });

  test('additionalPrinterColumns in Table output', async () => {
    expectStatus(await req('POST', wPath(), widget('tbl', { size: 'large', replicas: 3 })), 201, 'create');
    const table = expectStatus<{ columnDefinitions: { name: string }[]; rows: { cells: unknown[] }[] }>(
      await req('GET', wPath(), undefined, { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' }),
      200,
      'table',
    );
    assert.deepEqual(table.columnDefinitions.map((c) => c.name), ['Name', 'Size', 'Replicas', 'Age']);
    const row = table.rows.find((r) => r.cells[0] === 'tbl');
    assert.deepEqual(row?.cells.slice(0, 3), ['tbl', 'large', 3]);
  });

  test('deleting the CRD deletes its objects and removes it from discovery', async () => {
    const crd2 = structuredClone(CRD);
    crd2.metadata.name = 'gadgets.test.kre.io';
    crd2.spec.names = { kind: 'Gadget', plural: 'gadgets', singular: 'gadget', shortNames: [] };
    expectStatus(await req('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd2), 201, 'create CRD');
    const gPath = `/apis/test.kre.io/v1/namespaces/${NS}/gadgets`;
    expectStatus(await req('POST', gPath, { apiVersion: 'test.kre.io/v1', kind: 'Gadget', metadata: { name: 'g1' }, spec: { size: 'small' } }), 201, 'create gadget');
    const watch = req('GET', `${gPath}?watch=1&resourceVersion=0&timeoutSeconds=5`);
    expectStatus(await req('DELETE', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gadgets.test.kre.io'), 200, 'delete CRD');
    await eventually(async () => (await req('GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gadgets.test.kre.io')).status === 404, 10_000, 'the CRD to go');
    await eventually(async () => (await req('GET', gPath)).status === 404, 10_000, 'the resource to stop being served');
    const list = expectStatus<ApiResourceList>(await req('GET', '/apis/test.kre.io/v1'), 200, 'discovery');
    assert.ok(!list.resources.some((r) => r.name === 'gadgets'), 'gadgets left discovery');
    assert.ok(list.resources.some((r) => r.name === 'widgets'), 'widgets stay');
    const events = watchEvents(await watch);
    assert.ok(events.some((e) => e.type === 'DELETED' && e.object.metadata.name === 'g1'), `the watch saw g1 deleted: ${JSON.stringify(events.map((e) => e.type))}`);
    // Recreating the CRD starts empty.
    expectStatus(await req('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd2), 201, 'recreate CRD');
    const again = expectStatus<KubeList>(await req('GET', gPath), 200, 'list gadgets');
    assert.equal(again.items.length, 0);
  });
});

describe('namespaces and garbage collection', () => {
  test('a namespace with a finalized object stays Terminating until the finalizer goes; new objects are refused', async () => {
    await core.createNamespace({ body: { metadata: { name: 'held' } } });
    await core.createNamespacedConfigMap({ namespace: 'held', body: { metadata: { name: 'pinned', finalizers: ['test.kre.io/hold'] } } });
    await core.createNamespacedConfigMap({ namespace: 'held', body: { metadata: { name: 'plain' } } });
    await core.deleteNamespace({ name: 'held' });
    const ns = await core.readNamespace({ name: 'held' });
    assert.equal(ns.status?.phase, 'Terminating');
    assert.ok(ns.metadata?.deletionTimestamp);
    await eventually(async () => (await req('GET', '/api/v1/namespaces/held/configmaps/plain')).status === 404, 10_000, 'plain configmap deleted');
    const pinned = await core.readNamespacedConfigMap({ namespace: 'held', name: 'pinned' });
    assert.ok(pinned.metadata?.deletionTimestamp, 'the finalized object is marked for deletion');

    const refused = expectStatus(await req('POST', '/api/v1/namespaces/held/configmaps', { metadata: { name: 'late' } }), 403, 'create in a terminating namespace');
    assert.equal(refused.reason, 'Forbidden');
    assert.match(refused.message ?? '', /because it is being terminated/);

    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await core.readNamespace({ name: 'held' })).status?.phase, 'Terminating', 'still there while the finalizer is');
    expectStatus(await req('PATCH', '/api/v1/namespaces/held/configmaps/pinned', { metadata: { finalizers: null } }, MERGE_PATCH), 200, 'remove finalizer');
    await eventually(async () => (await req('GET', '/api/v1/namespaces/held')).status === 404, 15_000, 'the namespace to go');
  });

  const owner = async (name: string) => core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name } } });
  const dependent = (name: string, o: k8s.V1ConfigMap, extra: { finalizers?: string[]; block?: boolean } = {}) =>
    core.createNamespacedConfigMap({
      namespace: NS,
      body: {
        metadata: {
          name,
          finalizers: extra.finalizers,
          ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: o.metadata!.name!, uid: o.metadata!.uid!, blockOwnerDeletion: extra.block }],
        },
      },
    });
  const gone = (name: string) => eventually(async () => (await req('GET', cmPath(name))).status === 404, 10_000, `${name} to be deleted`);

  test('background deletion removes dependents after the owner', async () => {
    const o = await owner('bg-owner');
    await dependent('bg-dep-1', o);
    await dependent('bg-dep-2', o);
    await core.deleteNamespacedConfigMap({ namespace: NS, name: 'bg-owner', propagationPolicy: 'Background' });
    expectStatus(await req('GET', cmPath('bg-owner')), 404, 'the owner goes at once');
    await gone('bg-dep-1');
    await gone('bg-dep-2');
  });

  test('foreground deletion keeps the owner until dependents that block it are gone', async () => {
    const o = await owner('fg-owner');
    await dependent('fg-blocker', o, { block: true, finalizers: ['test.kre.io/hold'] });
    await dependent('fg-free', o);
    const watch = req('GET', `${cmPath()}?watch=1&resourceVersion=${o.metadata!.resourceVersion}&timeoutSeconds=8`);
    const options = JSON.stringify({ kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Foreground' });
    // Node sends a DELETE body only with a Content-Length.
    const deleted = expectStatus<ConfigMap>(await req('DELETE', cmPath('fg-owner'), options, { 'Content-Length': String(Buffer.byteLength(options)) }), 200, 'foreground delete');
    assert.ok(deleted.metadata.finalizers?.includes('foregroundDeletion'), JSON.stringify(deleted.metadata));
    assert.ok(deleted.metadata.deletionTimestamp);
    await gone('fg-free');
    const blocker = await eventually(async () => {
      const b = (await req('GET', cmPath('fg-blocker'))).json<ConfigMap>();
      return b.metadata?.deletionTimestamp ? b : undefined;
    }, 10_000, 'the blocker to be marked for deletion');
    assert.ok(blocker.metadata.finalizers?.includes('test.kre.io/hold'));
    await new Promise((r) => setTimeout(r, 300));
    const held = expectStatus<ConfigMap>(await req('GET', cmPath('fg-owner')), 200, 'the owner waits for its blocking dependent');
    assert.ok(held.metadata.finalizers?.includes('foregroundDeletion'));

    expectStatus(await req('PATCH', cmPath('fg-blocker'), { metadata: { finalizers: null } }, MERGE_PATCH), 200, 'release the blocker');
    await gone('fg-blocker');
    await gone('fg-owner');
    const events = watchEvents(await watch);
    const order = events.filter((e) => e.type === 'DELETED').map((e) => e.object.metadata.name);
    assert.ok(order.indexOf('fg-blocker') >= 0 && order.indexOf('fg-blocker') < order.indexOf('fg-owner'), `dependents go first: ${order.join(', ')}`);
    assert.ok(order.indexOf('fg-free') < order.indexOf('fg-owner'), `dependents go first: ${order.join(', ')}`);
  });

  test('orphan deletion keeps dependents and removes their owner references', async () => {
    const o = await owner('or-owner');
    await dependent('or-dep', o);
    const other = await owner('or-other');
    // A dependent with two owners keeps the reference to the owner that stays.
    await core.createNamespacedConfigMap({
      namespace: NS,
      body: {
        metadata: {
          name: 'or-two',
          ownerReferences: [
            { apiVersion: 'v1', kind: 'ConfigMap', name: 'or-owner', uid: o.metadata!.uid! },
            { apiVersion: 'v1', kind: 'ConfigMap', name: 'or-other', uid: other.metadata!.uid! },
          ],
        },
      },
    });
    await core.deleteNamespacedConfigMap({ namespace: NS, name: 'or-owner', propagationPolicy: 'Orphan' });
    await gone('or-owner');
    const dep = await eventually(async () => {
      const d = await core.readNamespacedConfigMap({ namespace: NS, name: 'or-dep' });
      return (d.metadata?.ownerReferences ?? []).length === 0 ? d : undefined;
    }, 10_000, 'the owner reference to be removed');
    assert.equal(dep.metadata?.deletionTimestamp, undefined);
    const two = await core.readNamespacedConfigMap({ namespace: NS, name: 'or-two' });
    assert.deepEqual(two.metadata?.ownerReferences?.map((r) => r.name), ['or-other']);
    await new Promise((r) => setTimeout(r, 300));
    await core.readNamespacedConfigMap({ namespace: NS, name: 'or-dep' });
  });

  test('a dependent whose owner does not exist is collected', async () => {
    await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'stray', ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'never', uid: '00000000-0000-0000-0000-000000000000' }] } } });
    await gone('stray');
  });
});

describe('client-node', () => {
  test('patch through KubernetesObjectApi with each patch strategy', async () => {
    // A merge patch deletes a key with null, which V1ConfigMap's data does not allow: the patches are typed as what they are.
    const configMap = (data: Record<string, string | null>): k8s.KubernetesObject & { data: Record<string, string | null> } => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cn-patch', namespace: NS }, data });
    await objects.create(configMap({ a: '1' }));
    let cm = await objects.patch(configMap({ b: '2' }), undefined, undefined, undefined, undefined, k8s.PatchStrategy.StrategicMergePatch);
    assert.deepEqual(cm.data, { a: '1', b: '2' });
    cm = await objects.patch(configMap({ a: null }), undefined, undefined, undefined, undefined, k8s.PatchStrategy.MergePatch);
    assert.deepEqual(cm.data, { b: '2' });
    cm = await objects.patch(configMap({ c: '3' }), undefined, undefined, 'cn-apply', true, k8s.PatchStrategy.ServerSideApply);
    assert.equal(cm.data.c, '3');
    assert.ok(cm.metadata?.managedFields?.some((m) => m.manager === 'cn-apply' && m.operation === 'Apply'));
  });
});

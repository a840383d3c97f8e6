/**
 * Requests a hostile or careless client sends: wrong JSON types, deep nesting, malformed options,
 * bad patch directives, broken percent-encoding. Each is refused with a 4xx (never a 500), with the
 * message a real kube-apiserver (v1.32) gives where it gives one, and changes nothing: the object
 * is not stored or stays as it was, LIST keeps working, and the server stays healthy.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDevCluster, type DevCluster } from '../index.ts';
import { rawRequest } from '../testing.ts';

let cluster: DevCluster;

const NS = '/api/v1/namespaces/default';
const pod = (metadata: object, spec: object = { containers: [{ name: 'main', image: 'x' }] }) => ({ apiVersion: 'v1', kind: 'Pod', metadata, spec });
const cannotHandle = (kind: string, problem: string) => `${kind} in version "v1" cannot be handled as a ${kind}: ${problem}`;
const deep = (levels: number) => `{"apiVersion":"example.com/v1","kind":"Blob","metadata":{"name":"deep"},"spec":${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}}`;

before(async () => {
  cluster = await startDevCluster({ nodes: 0 });
  const crd = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'blobs.example.com' },
    spec: {
      group: 'example.com',
      scope: 'Namespaced',
      names: { plural: 'blobs', singular: 'blob', kind: 'Blob' },
      versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
    },
  };
  assert.equal((await rawRequest(cluster, 'POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd)).status, 201);
  for (;;) {
    if ((await rawRequest(cluster, 'GET', '/apis/example.com/v1/namespaces/default/blobs')).status === 200) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal((await rawRequest(cluster, 'POST', `${NS}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kept' }, data: { k: 'v' } })).status, 201);
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web' },
    spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'main', image: 'web:1' }] } } },
  };
  assert.equal((await rawRequest(cluster, 'POST', '/apis/apps/v1/namespaces/default/deployments', deployment)).status, 201);
});
after(async () => {
  await cluster?.stop();
});

interface Hostile {
  what: string;
  method: string;
  path: string;
  body?: string | object;
  contentType?: string;
  status: number;
  /** The real server's message, where it answers the same request with a 4xx. */
  message?: string | RegExp;
  /** A path that must still answer 404 afterwards: nothing was stored. */
  absent?: string;
}

const SMP = 'application/strategic-merge-patch+json';
const DEPLOY = '/apis/apps/v1/namespaces/default/deployments/web';

const HOSTILE: Hostile[] = [
  {
    what: 'a number as metadata.name',
    method: 'POST',
    path: `${NS}/pods`,
    body: pod({ name: 5 }),
    status: 400,
    message: cannotHandle('Pod', 'json: cannot unmarshal number into Go struct field ObjectMeta.metadata.name of type string'),
  },
  {
    what: 'a list as labels',
    method: 'POST',
    path: `${NS}/pods`,
    body: pod({ name: 'p1', labels: ['a'] }),
    status: 400,
    message: cannotHandle('Pod', 'json: cannot unmarshal array into Go struct field ObjectMeta.metadata.labels of type map[string]string'),
    absent: `${NS}/pods/p1`,
  },
  {
    what: 'a number in ConfigMap data',
    method: 'POST',
    path: `${NS}/configmaps`,
    body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c1' }, data: { a: 1 } },
    status: 400,
    message: cannotHandle('ConfigMap', 'json: cannot unmarshal number into Go struct field ConfigMap.data of type string'),
    absent: `${NS}/configmaps/c1`,
  },
  {
    what: 'a number as a container image',
    method: 'POST',
    path: `${NS}/pods`,
    body: pod({ name: 'p2' }, { containers: [{ name: 'main', image: 5 }] }),
    status: 400,
    message: cannotHandle('Pod', 'json: cannot unmarshal number into Go struct field Container.spec.containers.image of type string'),
    absent: `${NS}/pods/p2`,
  },
  {
    what: 'a string as ownerReferences',
    method: 'POST',
    path: `${NS}/pods`,
    body: pod({ name: 'p3', ownerReferences: 'x' }),
    status: 400,
    message: cannotHandle('Pod', 'json: cannot unmarshal string into Go struct field ObjectMeta.metadata.ownerReferences of type []v1.OwnerReference'),
    absent: `${NS}/pods/p3`,
  },
  {
    what: 'a fraction as a container port',
    method: 'POST',
    path: `${NS}/pods`,
    body: pod({ name: 'p4' }, { containers: [{ name: 'main', image: 'x', ports: [{ containerPort: 1.5 }] }] }),
    status: 400,
    message: cannotHandle('Pod', 'json: cannot unmarshal number 1.5 into Go struct field ContainerPort.spec.containers.ports.containerPort of type int32'),
    absent: `${NS}/pods/p4`,
  },
  {
    what: 'a bool as a quantity',
    method: 'POST',
    path: `${NS}/pods`,
    body: pod({ name: 'p5' }, { containers: [{ name: 'main', image: 'x', resources: { requests: { cpu: true } } }] }),
    status: 400,
    message: cannotHandle('Pod', "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"),
    absent: `${NS}/pods/p5`,
  },
  {
    what: 'a string as replicas',
    method: 'POST',
    path: '/apis/apps/v1/namespaces/default/deployments',
    body: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd1' }, spec: { replicas: '3' } },
    status: 400,
    message: 'Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32',
    absent: '/apis/apps/v1/namespaces/default/deployments/d1',
  },
  {
    what: 'a number as a lease holder',
    method: 'POST',
    path: '/apis/coordination.k8s.io/v1/namespaces/default/leases',
    body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'l1' }, spec: { holderIdentity: 5 } },
    status: 400,
    message: 'Lease in version "v1" cannot be handled as a Lease: json: cannot unmarshal number into Go struct field LeaseSpec.spec.holderIdentity of type string',
    absent: '/apis/coordination.k8s.io/v1/namespaces/default/leases/l1',
  },
  {
    what: 'a merge patch that makes labels a list',
    method: 'PATCH',
    path: `${NS}/configmaps/kept`,
    body: { metadata: { labels: ['a'] } },
    contentType: 'application/merge-patch+json',
    status: 400,
    message: cannotHandle('ConfigMap', 'json: cannot unmarshal array into Go struct field ObjectMeta.metadata.labels of type map[string]string'),
  },
  {
    what: 'a PUT with a number in data',
    method: 'PUT',
    path: `${NS}/configmaps/kept`,
    body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kept' }, data: { k: 2 } },
    status: 400,
    message: cannotHandle('ConfigMap', 'json: cannot unmarshal number into Go struct field ConfigMap.data of type string'),
  },
  {
    what: 'a custom resource nested deeper than the limit',
    method: 'POST',
    path: '/apis/example.com/v1/namespaces/default/blobs',
    body: deep(4500),
    status: 400,
    message: `the object provided is unrecognized (must be of type Blob): couldn't get version/kind; json parse error: invalid character '{' exceeded max depth ({"apiVersion":"example.com/v1" ...)`,
    absent: '/apis/example.com/v1/namespaces/default/blobs/deep',
  },
  {
    what: 'a list nested deeper than the limit in a merge patch',
    method: 'PATCH',
    path: `${NS}/configmaps/kept`,
    body: `{"metadata":{"annotations":{"a":${'['.repeat(20_000)}${']'.repeat(20_000)}}}}`,
    contentType: 'application/merge-patch+json',
    status: 400,
    message: /exceeded max depth/,
  },
  {
    what: 'dryRun as an object in a DELETE body',
    method: 'DELETE',
    path: `${NS}/configmaps/kept`,
    body: { dryRun: { a: 1 } },
    status: 400,
    message: 'json: cannot unmarshal object into Go struct field DeleteOptions.dryRun of type []string',
  },
  {
    what: 'gracePeriodSeconds as a string in a DELETE body',
    method: 'DELETE',
    path: `${NS}/configmaps/kept`,
    body: { gracePeriodSeconds: 'x' },
    status: 400,
    message: 'json: cannot unmarshal string into Go struct field DeleteOptions.gracePeriodSeconds of type int64',
  },
  { what: 'null as a DELETE body', method: 'DELETE', path: `${NS}/configmaps/kept`, body: 'null', status: 400 },
  { what: 'a list as a DELETE body', method: 'DELETE', path: `${NS}/configmaps/kept`, body: '[1]', status: 400 },
  {
    what: 'an unknown $patch directive',
    method: 'PATCH',
    path: `${NS}/configmaps/kept`,
    body: { data: { $patch: 'bogus' } },
    contentType: SMP,
    status: 400,
    message: 'Unknown patch type: bogus in map: {"$patch":"bogus"}',
  },
  {
    what: '$patch: replace on a list given as a map',
    method: 'PATCH',
    path: DEPLOY,
    body: { spec: { template: { spec: { containers: { $patch: 'replace' } } } } },
    contentType: SMP,
    status: 400,
  },
  {
    what: '$setElementOrder that is not a list',
    method: 'PATCH',
    path: DEPLOY,
    body: { spec: { template: { spec: { '$setElementOrder/containers': 5 } } } },
    contentType: SMP,
    status: 400,
    message: 'expected a []interface {}, but received a int64',
  },
  {
    what: 'a list item that is not a map where items merge by name',
    method: 'PATCH',
    path: DEPLOY,
    body: { spec: { template: { spec: { containers: [5] } } } },
    contentType: SMP,
    status: 400,
  },
  { what: 'a malformed escape in a name', method: 'GET', path: `${NS}/configmaps/%zz`, status: 400 },
  { what: 'a lone % in a name', method: 'GET', path: `${NS}/configmaps/%`, status: 400 },
  { what: 'a truncated escape in a namespace', method: 'GET', path: '/api/v1/namespaces/de%2/configmaps', status: 400 },
  { what: 'a malformed escape in a write', method: 'POST', path: '/api/v1/namespaces/%E0%A4%A/configmaps', body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c2' } }, status: 400 },
];

describe('hostile requests', () => {
  for (const h of HOSTILE) {
    test(`${h.what}: ${h.status}, nothing changed`, async () => {
      const before = await rawRequest(cluster, 'GET', `${NS}/configmaps/kept`);
      const deployBefore = await rawRequest(cluster, 'GET', DEPLOY);
      const res = await rawRequest(cluster, h.method, h.path, h.body, h.contentType ? { 'Content-Type': h.contentType } : {});
      assert.equal(res.status, h.status, res.text.slice(0, 500));
      const status = res.json<any>();
      assert.equal(status.kind, 'Status');
      assert.equal(status.code, h.status);
      if (typeof h.message === 'string') assert.equal(status.message, h.message);
      else if (h.message) assert.match(status.message, h.message);
      if (h.absent) assert.equal((await rawRequest(cluster, 'GET', h.absent)).status, 404, `${h.absent} was stored`);
      assert.equal((await rawRequest(cluster, 'GET', `${NS}/configmaps/kept`)).text, before.text);
      assert.equal((await rawRequest(cluster, 'GET', DEPLOY)).text, deployBefore.text);
    });
  }

  test('afterwards the server is healthy and every LIST answers', async () => {
    assert.equal((await rawRequest(cluster, 'GET', '/readyz')).status, 200);
    for (const path of [`${NS}/pods`, `${NS}/configmaps`, '/apis/apps/v1/namespaces/default/deployments', '/apis/example.com/v1/namespaces/default/blobs', '/apis/coordination.k8s.io/v1/leases']) {
      const res = await rawRequest(cluster, 'GET', path);
      assert.equal(res.status, 200, `${path}: ${res.text.slice(0, 300)}`);
    }
    const pods = (await rawRequest(cluster, 'GET', `${NS}/pods`)).json<any>();
    assert.deepEqual(pods.items, []);
  });

  test('a custom resource as deep as the limit allows is stored and listed', async () => {
    const res = await rawRequest(cluster, 'POST', '/apis/example.com/v1/namespaces/default/blobs', deep(900).replace('"deep"', '"deep-ok"'));
    assert.equal(res.status, 201, res.text.slice(0, 300));
    const list = await rawRequest(cluster, 'GET', '/apis/example.com/v1/namespaces/default/blobs');
    assert.equal(list.status, 200);
    assert.deepEqual(list.json<any>().items.map((o: any) => o.metadata.name), ['deep-ok']);
  });
});

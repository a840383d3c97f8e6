/**
 * The API server core through @kubernetes/client-node and raw HTTPS: CRUD on each kind,
 * pagination across writes, selectors, optimistic concurrency, watch, and errors for bad input.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { startDevCluster, type DevCluster } from '../index.ts';
import { eventually, openWatch, rawRequest } from '../testing.ts';

let cluster: DevCluster;
let core: k8s.CoreV1Api;
let apps: k8s.AppsV1Api;
let objects: k8s.KubernetesObjectApi;

before(async () => {
  // No nodes or controllers: these tests check the API server's own semantics, and controllers
  // writing to the same workloads would race with their read-then-update steps.
  cluster = await startDevCluster({ bookmarkIntervalMs: 200, nodes: 0 });
  const kc = cluster.kubeConfig();
  core = kc.makeApiClient(k8s.CoreV1Api);
  apps = kc.makeApiClient(k8s.AppsV1Api);
  objects = k8s.KubernetesObjectApi.makeApiClient(kc);
});
after(async () => {
  await cluster.stop();
});

const podTemplate = (labels: Record<string, string>) => ({
  metadata: { labels },
  spec: { containers: [{ name: 'main', image: 'nginx:1.27', resources: { requests: { cpu: '100m', memory: '64Mi' } } }] },
});

/** One object of each kind the server serves, in namespace `ns`. */
function samples(ns: string): k8s.KubernetesObject[] {
  return [
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', namespace: ns }, data: { a: '1' } } as any,
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'sec', namespace: ns }, stringData: { password: 'x' } },
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'pod', namespace: ns }, spec: podTemplate({}).spec },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc', namespace: ns }, spec: { selector: { app: 'x' }, ports: [{ port: 80 }] } },
    { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'svc', namespace: ns }, subsets: [] },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'sa', namespace: ns } },
    { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'pvc', namespace: ns }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } },
    { apiVersion: 'v1', kind: 'Event', metadata: { name: 'ev', namespace: ns }, involvedObject: { kind: 'Pod', name: 'pod', namespace: ns }, reason: 'Tested', message: 'm', type: 'Normal' },
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'deploy', namespace: ns }, spec: { selector: { matchLabels: { app: 'd' } }, template: podTemplate({ app: 'd' }) } },
    { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'rs', namespace: ns }, spec: { selector: { matchLabels: { app: 'r' } }, template: podTemplate({ app: 'r' }) } },
    { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'sts', namespace: ns }, spec: { serviceName: 'sts', selector: { matchLabels: { app: 's' } }, template: podTemplate({ app: 's' }) } },
    { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'ds', namespace: ns }, spec: { selector: { matchLabels: { app: 'ds' } }, template: podTemplate({ app: 'ds' }) } },
    { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'job', namespace: ns }, spec: { template: { spec: { ...podTemplate({}).spec, restartPolicy: 'Never' } } } },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'role', namespace: ns }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'rb', namespace: ns }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'role' }, subjects: [{ kind: 'ServiceAccount', name: 'sa', namespace: ns }] },
    { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'ing', namespace: ns }, spec: { defaultBackend: { service: { name: 'svc', port: { number: 80 } } } } },
    { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'lease', namespace: ns }, spec: { holderIdentity: 'a', leaseDurationSeconds: 15 } },
  ];
}

const clusterSamples: k8s.KubernetesObject[] = [
  { apiVersion: 'v1', kind: 'Node', metadata: { name: 'crud-node' } },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'crud-cr' }, rules: [] } as any,
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'crud-crb' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'crud-cr' }, subjects: [] } as any,
];

describe('CRUD on every kind', () => {
  before(async () => {
    await core.createNamespace({ body: { metadata: { name: 'crud' } } });
  });

  for (const sample of [...samples('crud'), ...clusterSamples]) {
    test(`${sample.kind}: create, read, list, update, delete`, async () => {
      const created = await objects.create(structuredClone(sample));
      assert.equal(created.metadata?.name, sample.metadata?.name);
      assert.ok(created.metadata?.uid, 'uid set by the server');
      assert.match(created.metadata?.resourceVersion ?? '', /^\d+$/);
      assert.ok(created.metadata?.creationTimestamp);

      const read = await objects.read({ apiVersion: sample.apiVersion, kind: sample.kind, metadata: { name: sample.metadata!.name!, namespace: sample.metadata!.namespace } } as any);
      assert.equal(read.metadata?.uid, created.metadata?.uid);

      const list = await objects.list(sample.apiVersion!, sample.kind!, sample.metadata?.namespace);
      assert.ok(list.items.some((i) => i.metadata?.name === sample.metadata?.name), 'listed');

      const labelled = { ...read, metadata: { ...read.metadata, labels: { ...(read.metadata?.labels ?? {}), touched: 'yes' } } };
      const updated = await objects.replace(labelled);
      assert.equal(updated.metadata?.labels?.touched, 'yes');
      assert.ok(Number(updated.metadata?.resourceVersion) > Number(created.metadata?.resourceVersion));

      await objects.delete({ apiVersion: sample.apiVersion, kind: sample.kind, metadata: { name: sample.metadata!.name!, namespace: sample.metadata!.namespace } } as any);
      await assert.rejects(objects.read(read as any), (err: any) => err.code === 404);
    });
  }
});

describe('server-set fields', () => {
  test('generation is 1 for workloads and bumps on spec changes only', async () => {
    await core.createNamespace({ body: { metadata: { name: 'gen' } } });
    const d = await apps.createNamespacedDeployment({ namespace: 'gen', body: { metadata: { name: 'd' }, spec: { selector: { matchLabels: { app: 'd' } }, template: podTemplate({ app: 'd' }) } } });
    assert.equal(d.metadata?.generation, 1);
    assert.equal(d.spec?.replicas, 1, 'defaulted');
    assert.equal(d.spec?.strategy?.type, 'RollingUpdate');
    d.metadata!.labels = { a: 'b' };
    const relabelled = await apps.replaceNamespacedDeployment({ namespace: 'gen', name: 'd', body: d });
    assert.equal(relabelled.metadata?.generation, 1);
    relabelled.spec!.replicas = 3;
    const scaled = await apps.replaceNamespacedDeployment({ namespace: 'gen', name: 'd', body: relabelled });
    assert.equal(scaled.metadata?.generation, 2);
    const cm = await core.createNamespacedConfigMap({ namespace: 'gen', body: { metadata: { name: 'c' }, data: {} } });
    assert.equal(cm.metadata?.generation, undefined, 'no generation on ConfigMaps');
  });

  test('a write that changes nothing keeps the resourceVersion', async () => {
    const cm = await core.createNamespacedConfigMap({ namespace: 'gen', body: { metadata: { name: 'same' }, data: { a: '1' } } });
    const again = await core.replaceNamespacedConfigMap({ namespace: 'gen', name: 'same', body: cm });
    assert.equal(again.metadata?.resourceVersion, cm.metadata?.resourceVersion);
  });

  test('generateName gets five random characters', async () => {
    const cm = await core.createNamespacedConfigMap({ namespace: 'gen', body: { metadata: { generateName: 'gen-' }, data: {} } });
    assert.match(cm.metadata!.name!, /^gen-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  });

  test('the status subresource: the main resource ignores status, /status changes only status', async () => {
    const d = await apps.readNamespacedDeployment({ namespace: 'gen', name: 'd' });
    d.status = { replicas: 7 };
    const ignored = await apps.replaceNamespacedDeployment({ namespace: 'gen', name: 'd', body: d });
    assert.notEqual(ignored.status?.replicas, 7);
    ignored.status = { replicas: 7, observedGeneration: 2 };
    ignored.spec!.replicas = 9;
    const status = await apps.replaceNamespacedDeploymentStatus({ namespace: 'gen', name: 'd', body: ignored });
    assert.equal(status.status?.replicas, 7);
    assert.equal(status.spec?.replicas, 3, 'spec unchanged through /status');
  });

  test('the scale subresource reads and writes replicas', async () => {
    const scale = await apps.readNamespacedDeploymentScale({ namespace: 'gen', name: 'd' });
    assert.equal(scale.spec?.replicas, 3);
    scale.spec!.replicas = 5;
    await apps.replaceNamespacedDeploymentScale({ namespace: 'gen', name: 'd', body: scale });
    const d = await apps.readNamespacedDeployment({ namespace: 'gen', name: 'd' });
    assert.equal(d.spec?.replicas, 5);
  });
});

describe('concurrency and errors', () => {
  before(async () => {
    await core.createNamespace({ body: { metadata: { name: 'errs' } } });
  });

  test('an update with a stale resourceVersion is a 409 Conflict', async () => {
    const cm = await core.createNamespacedConfigMap({ namespace: 'errs', body: { metadata: { name: 'cfg' }, data: { a: '1' } } });
    await core.replaceNamespacedConfigMap({ namespace: 'errs', name: 'cfg', body: { ...cm, data: { a: '2' } } });
    await assert.rejects(core.replaceNamespacedConfigMap({ namespace: 'errs', name: 'cfg', body: { ...cm, data: { a: '3' } } }), (err: any) => {
      assert.equal(err.code, 409);
      const status = JSON.parse(err.body);
      assert.equal(status.reason, 'Conflict');
      assert.match(status.message, /Operation cannot be fulfilled on configmaps "cfg": the object has been modified/);
      return true;
    });
  });

  test('a duplicate create is a 409 AlreadyExists', async () => {
    await assert.rejects(core.createNamespacedConfigMap({ namespace: 'errs', body: { metadata: { name: 'cfg' } } }), (err: any) => {
      assert.equal(err.code, 409);
      assert.equal(JSON.parse(err.body).reason, 'AlreadyExists');
      return true;
    });
  });

  test('a missing namespace is a 404, a namespace in the body that differs from the path a 400', async () => {
    await assert.rejects(core.createNamespacedConfigMap({ namespace: 'nowhere', body: { metadata: { name: 'x' } } }), (err: any) => err.code === 404);
    const res = await rawRequest(cluster, 'POST', '/api/v1/namespaces/errs/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'other' } });
    assert.equal(res.status, 400);
    assert.match(res.json<any>().message, /does not match the namespace/);
  });

  test('bad input gets a Status naming the problem', async () => {
    const malformed = await rawRequest(cluster, 'POST', '/api/v1/namespaces/errs/configmaps', '{"apiVersion": "v1", kind');
    assert.equal(malformed.status, 400);
    assert.equal(malformed.json<any>().kind, 'Status');
    assert.match(malformed.json<any>().message, /json parse error/);

    const unknownKind = await rawRequest(cluster, 'GET', '/api/v1/widgets');
    assert.equal(unknownKind.status, 404);
    assert.equal(unknownKind.json<any>().reason, 'NotFound');

    const unknownPath = await rawRequest(cluster, 'GET', '/nothing/here');
    assert.equal(unknownPath.status, 404);
    assert.equal(unknownPath.json<any>().kind, 'Status');

    const badSelector = await rawRequest(cluster, 'GET', '/api/v1/pods?labelSelector=a%20in%20(');
    assert.equal(badSelector.status, 400);
    assert.equal(badSelector.json<any>().reason, 'BadRequest');

    const badField = await rawRequest(cluster, 'GET', '/api/v1/pods?fieldSelector=spec.bogus%3Dx');
    assert.equal(badField.status, 400);
    assert.equal(badField.json<any>().message, 'field label not supported: spec.bogus');

    const huge = await rawRequest(cluster, 'POST', '/api/v1/namespaces/errs/configmaps', JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'big' }, data: { a: 'x'.repeat(4 * 1024 * 1024) } }));
    assert.equal(huge.status, 413);
    assert.equal(huge.json<any>().reason, 'RequestEntityTooLarge');

    const wrongType = await rawRequest(cluster, 'POST', '/api/v1/namespaces/errs/configmaps', 'a=b', { 'Content-Type': 'text/plain' });
    assert.equal(wrongType.status, 415);
    assert.equal(wrongType.json<any>().reason, 'UnsupportedMediaType');

    const badPatch = await rawRequest(cluster, 'PATCH', '/api/v1/namespaces/errs/configmaps/cfg', '{}', { 'Content-Type': 'application/xml' });
    assert.equal(badPatch.status, 415);

    // The server is still answering after all that.
    assert.equal((await rawRequest(cluster, 'GET', '/api/v1/namespaces/errs/configmaps/cfg')).status, 200);
  });

  test('requests without the token are refused with 401', async () => {
    const res = await rawRequest({ ...cluster, token: 'wrong' }, 'GET', '/api/v1/namespaces');
    assert.equal(res.status, 401);
    assert.equal(res.json<any>().reason, 'Unauthorized');
    const version = await rawRequest({ ...cluster, token: 'wrong' }, 'GET', '/version');
    assert.equal(version.status, 200, '/version is public, as on a real server');
  });

  test('system namespaces cannot be deleted', async () => {
    await assert.rejects(core.deleteNamespace({ name: 'kube-system' }), (err: any) => err.code === 403);
  });
});

describe('lists', () => {
  before(async () => {
    await core.createNamespace({ body: { metadata: { name: 'pages' } } });
    for (let i = 0; i < 10; i++) {
      await core.createNamespacedConfigMap({ namespace: 'pages', body: { metadata: { name: `cm-${i}`, labels: { tier: i % 2 ? 'odd' : 'even', idx: String(i) } }, data: {} } });
    }
  });

  test('pages of a list read one snapshot, whatever is written between them', async () => {
    const first = await core.listNamespacedConfigMap({ namespace: 'pages', limit: 4 });
    assert.equal(first.items.length, 4);
    assert.ok(first.metadata?._continue);
    assert.equal(first.metadata?.remainingItemCount, 6);
    // Writes between pages: a deletion, a creation, a change.
    await core.deleteNamespacedConfigMap({ namespace: 'pages', name: 'cm-8' });
    await core.createNamespacedConfigMap({ namespace: 'pages', body: { metadata: { name: 'cm-99' }, data: {} } });
    await core.patchNamespacedConfigMap({ namespace: 'pages', name: 'cm-7', body: [{ op: 'add', path: '/data/x', value: 'y' }] });
    const names = first.items.map((i) => i.metadata!.name!);
    let token: string | undefined = first.metadata?._continue;
    while (token) {
      const page = await core.listNamespacedConfigMap({ namespace: 'pages', limit: 4, _continue: token });
      assert.equal(page.metadata?.resourceVersion, first.metadata?.resourceVersion, 'every page at the first page version');
      for (const i of page.items) {
        names.push(i.metadata!.name!);
        if (i.metadata!.name === 'cm-7') assert.equal(i.data?.x, undefined, 'the change after the snapshot is not seen');
      }
      token = page.metadata?._continue;
    }
    assert.deepEqual(names, ['cm-0', 'cm-1', 'cm-2', 'cm-3', 'cm-4', 'cm-5', 'cm-6', 'cm-7', 'cm-8', 'cm-9']);
    const now = await core.listNamespacedConfigMap({ namespace: 'pages' });
    assert.ok(now.items.some((i) => i.metadata?.name === 'cm-99'));
    assert.ok(!now.items.some((i) => i.metadata?.name === 'cm-8'));
  });

  test('a list larger than one piece is written in chunks and reads back whole', async () => {
    await core.createNamespace({ body: { metadata: { name: 'big' } } });
    const names: string[] = [];
    for (let i = 0; i < 1200; i += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, j) => {
          const name = `cm-${String(i + j).padStart(4, '0')}`;
          names.push(name);
          return core.createNamespacedConfigMap({ namespace: 'big', body: { metadata: { name }, data: { payload: 'x'.repeat(2000) } } });
        }),
      );
    }
    const res = await rawRequest(cluster, 'GET', '/api/v1/namespaces/big/configmaps');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-length'], undefined, 'sent in chunks');
    const list = res.json<any>();
    assert.deepEqual(list.items.map((i: any) => i.metadata.name), names.sort());
    assert.ok(list.items.every((i: any) => i.data.payload.length === 2000));
  });

  test('a list of items with characters of several bytes: its length counts bytes, and it reads back whole', async () => {
    await core.createNamespace({ body: { metadata: { name: 'utf8' } } });
    const data = { text: 'é — ✓ 😀 ü', more: '\u00ff\u0100' };
    for (const name of ['a', 'b', 'c']) await core.createNamespacedConfigMap({ namespace: 'utf8', body: { metadata: { name }, data } });
    const res = await rawRequest(cluster, 'GET', '/api/v1/namespaces/utf8/configmaps');
    assert.equal(res.status, 200);
    assert.equal(Number(res.headers['content-length']), Buffer.byteLength(res.text), 'Content-Length is the answer in bytes');
    assert.deepEqual(res.json<any>().items.map((i: any) => i.data), [data, data, data]);
  });

  test('label selectors: equality, sets, existence, and AND', async () => {
    const names = async (labelSelector: string) => (await core.listNamespacedConfigMap({ namespace: 'pages', labelSelector })).items.map((i) => i.metadata!.name).sort();
    assert.deepEqual(await names('tier=odd,idx in (1,3,4)'), ['cm-1', 'cm-3']);
    // `!=` also selects objects without the label, as on a real server.
    assert.deepEqual(await names('tier!=odd'), ['cm-0', 'cm-2', 'cm-4', 'cm-6', 'cm-99']);
    assert.deepEqual(await names('tier,idx notin (0,2,4,6,1,3)'), ['cm-5', 'cm-7', 'cm-9']);
    assert.deepEqual(await names('!tier'), ['cm-99']);
    assert.deepEqual(await names('idx==5'), ['cm-5']);
  });

  test('field selectors on name and on pods', async () => {
    const byName = await core.listNamespacedConfigMap({ namespace: 'pages', fieldSelector: 'metadata.name=cm-3' });
    assert.deepEqual(byName.items.map((i) => i.metadata?.name), ['cm-3']);
    await core.createNamespacedPod({ namespace: 'pages', body: { metadata: { name: 'p1' }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'x' }] } } });
    await core.createNamespacedPod({ namespace: 'pages', body: { metadata: { name: 'p2' }, spec: { containers: [{ name: 'c', image: 'x' }] } } });
    const onNode = await core.listPodForAllNamespaces({ fieldSelector: 'spec.nodeName=n1' });
    assert.deepEqual(onNode.items.map((i) => i.metadata?.name), ['p1']);
    const unscheduled = await core.listNamespacedPod({ namespace: 'pages', fieldSelector: 'spec.nodeName=' });
    assert.deepEqual(unscheduled.items.map((i) => i.metadata?.name), ['p2']);
  });

  test('events are selected as kubectl describe selects them', async () => {
    await core.createNamespacedEvent({ namespace: 'pages', body: { metadata: { name: 'e1' }, involvedObject: { kind: 'Pod', name: 'p1', namespace: 'pages', uid: 'u1' }, reason: 'Scheduled', type: 'Normal', message: 'ok' } });
    await core.createNamespacedEvent({ namespace: 'pages', body: { metadata: { name: 'e2' }, involvedObject: { kind: 'Pod', name: 'p2', namespace: 'pages', uid: 'u2' }, reason: 'Failed', type: 'Warning', message: 'no' } });
    const sel: string = 'involvedObject.name=p1,involvedObject.namespace=pages,involvedObject.kind=Pod,involvedObject.uid=u1';
    const ev = await core.listNamespacedEvent({ namespace: 'pages', fieldSelector: sel });
    assert.deepEqual(ev.items.map((i) => i.metadata?.name), ['e1']);
    const warnings = await core.listNamespacedEvent({ namespace: 'pages', fieldSelector: 'type=Warning,reason=Failed' });
    assert.deepEqual(warnings.items.map((i) => i.metadata?.name), ['e2']);
  });

  test('a list at an exact old version, and a continue token past the kept history is 410', async () => {
    const before = await core.listNamespacedConfigMap({ namespace: 'pages', limit: 2 });
    await core.createNamespacedConfigMap({ namespace: 'pages', body: { metadata: { name: 'late' }, data: {} } });
    const exact = await rawRequest(cluster, 'GET', `/api/v1/namespaces/pages/configmaps?resourceVersion=${before.metadata?.resourceVersion}&resourceVersionMatch=Exact`);
    assert.equal(exact.status, 200);
    assert.ok(!exact.json<any>().items.some((i: any) => i.metadata.name === 'late'));
    cluster.faults.expireHistory();
    const expired = await rawRequest(cluster, 'GET', `/api/v1/namespaces/pages/configmaps?limit=2&continue=${before.metadata?._continue}`);
    assert.equal(expired.status, 410);
    assert.equal(expired.json<any>().reason, 'Expired');
  });
});

describe('watch', () => {
  before(async () => {
    await core.createNamespace({ body: { metadata: { name: 'watched' } } });
  });

  test('replays from a version, then follows live changes; headers come at once', async () => {
    const cm = await core.createNamespacedConfigMap({ namespace: 'watched', body: { metadata: { name: 'w1' }, data: {} } });
    await core.patchNamespacedConfigMap({ namespace: 'watched', name: 'w1', body: [{ op: 'add', path: '/data/a', value: '1' }] });
    const w = openWatch(cluster, `/api/v1/namespaces/watched/configmaps?watch=1&resourceVersion=${cm.metadata?.resourceVersion}`);
    assert.equal(await w.status, 200);
    await w.until((e) => e.length >= 1);
    assert.equal(w.events[0].type, 'MODIFIED');
    await core.deleteNamespacedConfigMap({ namespace: 'watched', name: 'w1' });
    await w.until((e) => e.some((x) => x.type === 'DELETED'));
    w.close();
  });

  test('without a version: ADDED for what exists, then changes; selectors turn changes into ADDED/DELETED', async () => {
    await core.createNamespacedConfigMap({ namespace: 'watched', body: { metadata: { name: 'sel', labels: { pick: 'yes' } }, data: {} } });
    const w = openWatch(cluster, '/api/v1/namespaces/watched/configmaps?watch=true&labelSelector=pick%3Dyes');
    await w.until((e) => e.some((x) => x.type === 'ADDED' && x.object.metadata.name === 'sel'));
    await core.patchNamespacedConfigMap({ namespace: 'watched', name: 'sel', body: { metadata: { labels: { pick: 'no' } } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    await w.until((e) => e.some((x) => x.type === 'DELETED'));
    await core.patchNamespacedConfigMap({ namespace: 'watched', name: 'sel', body: { metadata: { labels: { pick: 'yes' } } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    await w.until((e) => e.filter((x) => x.type === 'ADDED').length === 2);
    w.close();
  });

  test('bookmarks when asked, timeoutSeconds ends the stream cleanly with a last bookmark', async () => {
    const list = await core.listNamespacedConfigMap({ namespace: 'watched' });
    const w = openWatch(cluster, `/api/v1/namespaces/watched/configmaps?watch=1&allowWatchBookmarks=true&timeoutSeconds=1&resourceVersion=${list.metadata?.resourceVersion}`);
    await w.closed;
    assert.ok(w.events.length >= 1);
    assert.ok(w.events.every((e) => e.type === 'BOOKMARK'));
    assert.match(w.events[w.events.length - 1].object.metadata.resourceVersion ?? '', /^\d+$/);
  });

  test('sendInitialEvents ends the initial ADDEDs with an annotated bookmark', async () => {
    const w = openWatch(cluster, '/api/v1/namespaces/watched/configmaps?watch=1&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan');
    await w.until((e) => e.some((x) => x.type === 'BOOKMARK' && x.object.metadata.annotations?.['k8s.io/initial-events-end'] === 'true'));
    const end = w.events.findIndex((x) => x.type === 'BOOKMARK');
    assert.ok(w.events.slice(0, end).every((x) => x.type === 'ADDED'));
    w.close();
  });

  test('a version older than the kept history gets an ERROR event with 410 Expired', async () => {
    const cm = await core.createNamespacedConfigMap({ namespace: 'watched', body: { metadata: { name: 'old' }, data: {} } });
    await core.deleteNamespacedConfigMap({ namespace: 'watched', name: 'old' });
    cluster.faults.expireHistory();
    const w = openWatch(cluster, `/api/v1/namespaces/watched/configmaps?watch=1&resourceVersion=${cm.metadata?.resourceVersion}`);
    await w.closed;
    assert.equal(w.events.length, 1);
    assert.equal(w.events[0].type, 'ERROR');
    assert.equal(w.events[0].object.code, 410);
    assert.equal(w.events[0].object.reason, 'Expired');
  });

  test("client-node's informer sees add, update and delete", async () => {
    const kc = cluster.kubeConfig();
    const informer = k8s.makeInformer(kc, '/api/v1/namespaces/watched/configmaps', () => core.listNamespacedConfigMap({ namespace: 'watched' }));
    const seen: string[] = [];
    informer.on('add', (o) => seen.push(`add ${o.metadata?.name}`));
    informer.on('update', (o) => seen.push(`update ${o.metadata?.name}`));
    informer.on('delete', (o) => seen.push(`delete ${o.metadata?.name}`));
    await informer.start();
    await core.createNamespacedConfigMap({ namespace: 'watched', body: { metadata: { name: 'inf' }, data: {} } });
    await eventually(() => seen.includes('add inf'), 5000, 'informer add');
    await core.patchNamespacedConfigMap({ namespace: 'watched', name: 'inf', body: [{ op: 'add', path: '/data/k', value: 'v' }] });
    await eventually(() => seen.includes('update inf'), 5000, 'informer update');
    await core.deleteNamespacedConfigMap({ namespace: 'watched', name: 'inf' });
    await eventually(() => seen.includes('delete inf'), 5000, 'informer delete');
    await informer.stop();
  });
});

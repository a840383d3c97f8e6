import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestApiServer, type TestApiServer } from '../../test/support/apiserver.ts';
import { eventually } from '../devcluster/testing.ts';
import { KubeClient, type Event, type Secret, type Service, type StatefulSet } from '../kube/index.ts';
import { createLogger } from '../kube/logger.ts';
import { installCustomResourceDefinitions } from './install.ts';
import { startOperator, type Operator } from './operator.ts';
import {
  createNamespace,
  EVENTS,
  isReadyPod,
  operatorWritesByResource,
  settledWrites,
  PODS,
  runtimeObject,
  runtimeRef,
  SECRETS,
  SERVICES,
  STATEFULSETS,
} from './testing.ts';
import { RUNTIMES, type RuntimeObject } from '../api/index.ts';

const WAIT = 90_000;

describe('RuntimeReconciler on an API server', () => {
  let server: TestApiServer;
  let client: KubeClient;
  let operator: Operator;

  before(async () => {
    server = await startTestApiServer({ nodes: 3 });
    client = new KubeClient(server.kubeConfig());
    await installCustomResourceDefinitions(client);
    operator = startOperator({ client, leaderElection: false, logger: createLogger('operator', 'warn') });
  });

  after(async () => {
    await operator?.stop();
    client?.close();
    await server?.stop();
  });

  const runtime = (ns: string, name = ns) => client.get<RuntimeObject>(runtimeRef(ns, name));
  /** The operator's writes, its status writes included: a reconcile that changes nothing writes no status on either server. */
  const writes = async (counts?: Record<string, number>) => counts ?? (await operatorWritesByResource(server));
  const podsIn = async (ns: string) => (await client.list(PODS, {})).items.filter((p) => p.metadata.namespace === ns);

  test('a development-mode Runtime becomes Running with the seed pods, and a second reconcile writes nothing', async () => {
    await createNamespace(client, 'kre-dev');
    await client.create({ ...RUNTIMES, namespace: 'kre-dev' }, runtimeObject('kre-dev', 'kre-dev', { developmentMode: true }));
    const rt = await eventually(async () => {
      const r = await runtime('kre-dev');
      return r.status?.phase === 'Running' && r;
    }, WAIT, 'Runtime kre-dev Running');
    assert.equal(rt.status?.ready, '3/3');
    assert.equal(rt.status?.observedGeneration, rt.metadata.generation);
    assert.deepEqual(
      rt.status?.conditions?.map((c) => `${c.type}=${c.status}`),
      ['InvalidSpec=False', 'MongoDBReady=True', 'NATSReady=True', 'MinIOReady=True'],
    );
    const pods = await podsIn('kre-dev');
    assert.deepEqual(pods.filter(isReadyPod).map((p) => p.metadata.name).sort(), ['kre-minio-0', 'kre-mongo-0', 'kre-nats-0', 'kre-nats-1']);
    assert.equal((await client.list(PODS, { labelSelector: 'kre-app=kre-mongo' })).items.filter((p) => p.metadata.namespace === 'kre-dev').length, 1);

    // Children: owned by the Runtime, applied by kre-operator, credentials generated into Secrets.
    const mongo = await client.get<StatefulSet>({ ...STATEFULSETS, namespace: 'kre-dev', name: 'kre-mongo' });
    assert.equal(mongo.metadata.ownerReferences![0].uid, rt.metadata.uid);
    assert.ok((mongo.metadata.managedFields as { manager: string; operation: string }[]).some((f) => f.manager === 'kre-operator' && f.operation === 'Apply'));
    const nats = await client.get<Service>({ ...SERVICES, namespace: 'kre-dev', name: 'kre-nats' });
    assert.deepEqual(nats.spec?.ports?.map((p) => p.port), [4222, 8222]);
    const minio = await client.get<StatefulSet>({ ...STATEFULSETS, namespace: 'kre-dev', name: 'kre-minio' });
    assert.equal(minio.spec?.volumeClaimTemplates?.[0].metadata.name, 'kre-minio-pvc');
    const secrets = (await client.list({ ...SECRETS, namespace: 'kre-dev' })).items.map((s) => s.metadata.name).sort();
    assert.deepEqual(secrets, ['kre-minio-credentials', 'kre-mongo-connection', 'kre-mongo-credentials']);
    // No credential in the Runtime.
    const password = Buffer.from((await client.get<Secret>({ ...SECRETS, namespace: 'kre-dev', name: 'kre-mongo-credentials' })).data?.password ?? '', 'base64').toString();
    assert.ok(!JSON.stringify(await runtime('kre-dev')).includes(password));

    // An annotation on the Runtime wakes the reconciler; nothing has changed, so nothing is written.
    const before = await writes(await settledWrites(server));
    await client.patch(runtimeRef('kre-dev', 'kre-dev'), { metadata: { annotations: { touched: '1' } } });
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(await writes(), before);
    const events = (await client.list<Event>({ ...EVENTS, namespace: 'kre-dev' })).items.filter((e) => e.involvedObject.kind === 'Runtime');
    assert.ok(events.some((e) => e.reason === 'Applied'));
    assert.ok(events.some((e) => e.reason === 'Running'));
  });

  test('a deleted child comes back', async () => {
    const old = await client.get({ ...SERVICES, namespace: 'kre-dev', name: 'kre-minio' });
    await client.delete({ ...SERVICES, namespace: 'kre-dev', name: 'kre-minio' });
    await eventually(async () => {
      const svc = await client.get({ ...SERVICES, namespace: 'kre-dev', name: 'kre-minio' });
      return svc.metadata.uid !== old.metadata.uid;
    }, WAIT, 'Service kre-minio recreated');
    const oldSts = await client.get({ ...STATEFULSETS, namespace: 'kre-dev', name: 'kre-nats' });
    await client.delete({ ...STATEFULSETS, namespace: 'kre-dev', name: 'kre-nats' });
    await eventually(async () => {
      const sts = await client.get({ ...STATEFULSETS, namespace: 'kre-dev', name: 'kre-nats' });
      return sts.metadata.uid !== oldSts.metadata.uid;
    }, WAIT, 'StatefulSet kre-nats recreated');
    await eventually(async () => (await runtime('kre-dev')).status?.phase === 'Running', WAIT, 'Runtime Running again');
  });

  test('a child edited by hand is set back, and a label added by hand is kept and writes nothing', async () => {
    await eventually(async () => (await runtime('kre-dev')).status?.phase === 'Running', WAIT, 'Runtime Running');
    const natsRef = { ...STATEFULSETS, namespace: 'kre-dev', name: 'kre-nats' };
    const mongoRef = { ...STATEFULSETS, namespace: 'kre-dev', name: 'kre-mongo' };
    const serviceRef = { ...SERVICES, namespace: 'kre-dev', name: 'kre-nats' };

    // A field the operator does not set: the reconcile it wakes writes nothing, and the label stays.
    const before = await writes(await settledWrites(server));
    await client.patch(mongoRef, { metadata: { labels: { team: 'data' } } });
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(await writes(), { ...before, 'patch statefulsets': (before['patch statefulsets'] ?? 0) + 1 });
    assert.equal((await client.get(mongoRef)).metadata.labels?.team, 'data');

    // `kubectl scale statefulset kre-nats --replicas=1`, through the scale subresource.
    const scaled = await client.patch<StatefulSet>(natsRef, { spec: { replicas: 1 } }, { subresource: 'scale', type: 'merge' });
    assert.equal(scaled.spec?.replicas, 1);
    await eventually(async () => (await client.get<StatefulSet>(natsRef)).spec?.replicas === 2, WAIT, 'kre-nats scaled back to 2');
    // A patch of a Deployment-style replicas field on the object itself.
    await client.patch(mongoRef, { spec: { replicas: 3 } });
    await eventually(async () => (await client.get<StatefulSet>(mongoRef)).spec?.replicas === 1, WAIT, 'kre-mongo set back to 1');
    assert.equal((await client.get(mongoRef)).metadata.labels?.team, 'data');

    // `kubectl edit service kre-nats`: the client port changed.
    await client.patch(serviceRef, { spec: { ports: [{ name: 'client', port: 4333, targetPort: 4222, protocol: 'TCP' }, { name: 'monitor', port: 8222, targetPort: 8222, protocol: 'TCP' }] } });
    await eventually(async () => {
      const ports = (await client.get<Service>(serviceRef)).spec?.ports ?? [];
      return JSON.stringify(ports.map((p) => `${p.name}:${p.port}`)) === JSON.stringify(['client:4222', 'monitor:8222']);
    }, WAIT, 'Service kre-nats ports set back');
    // A target port changed by hand.
    await client.patch(serviceRef, { spec: { ports: [{ port: 8222, protocol: 'TCP', targetPort: 9999 }] } }, { type: 'strategic' });
    await eventually(async () => {
      const ports = (await client.get<Service>(serviceRef)).spec?.ports ?? [];
      return ports.find((p) => p.port === 8222)?.targetPort === 8222;
    }, WAIT, 'Service kre-nats target port set back');

    // Set back, the children are steady again: a reconcile writes nothing.
    await eventually(async () => (await runtime('kre-dev')).status?.phase === 'Running', WAIT, 'Runtime Running again');
    const settled = await writes(await settledWrites(server));
    await client.patch(runtimeRef('kre-dev', 'kre-dev'), { metadata: { annotations: { touched: '2' } } });
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(await writes(), settled);
    const events = (await client.list<Event>({ ...EVENTS, namespace: 'kre-dev' })).items;
    assert.ok(events.some((e) => e.reason === 'Applied' && /StatefulSet kre-nats \(set back spec\.replicas\)/.test(e.message ?? '')));
  });

  test('a production Runtime gets three MongoDB members, and a fallen component makes it Degraded', async () => {
    await createNamespace(client, 'kre-prod');
    await client.create({ ...RUNTIMES, namespace: 'kre-prod' }, runtimeObject('kre-prod', 'kre-prod'));
    await eventually(async () => (await runtime('kre-prod')).status?.phase === 'Running', WAIT, 'Runtime kre-prod Running');
    const mongoPods = (await podsIn('kre-prod')).filter((p) => p.metadata.labels?.['kre-app'] === 'kre-mongo');
    assert.deepEqual(mongoPods.map((p) => p.metadata.name).sort(), ['kre-mongo-0', 'kre-mongo-1', 'kre-mongo-2']);

    // Scaling NATS up in the spec: a member short until it is ready, so Degraded, then Running.
    await client.patch(runtimeRef('kre-prod', 'kre-prod'), { spec: { nats: { replicas: 3 } } });
    await eventually(async () => {
      const r = await runtime('kre-prod');
      return r.status?.observedGeneration === r.metadata.generation && r.status?.phase === 'Running' && r;
    }, WAIT, 'Runtime Running with three NATS members');
    const natsPods = (await podsIn('kre-prod')).filter((p) => p.metadata.labels?.app === 'kre-nats');
    assert.equal(natsPods.length, 3);
    const degraded = (await client.list<Event>({ ...EVENTS, namespace: 'kre-prod' })).items.some((e) => e.involvedObject.kind === 'Runtime' && e.reason === 'Degraded');
    assert.ok(degraded, 'a Degraded event was recorded');
  });

  test('a second Runtime in a namespace is ignored, with a condition saying why', async () => {
    await client.create({ ...RUNTIMES, namespace: 'kre-dev' }, runtimeObject('kre-dev', 'second', { developmentMode: true }));
    const second = await eventually(async () => {
      const r = await runtime('kre-dev', 'second');
      return r.status?.phase === 'Failed' && r;
    }, WAIT, 'second Runtime Failed');
    const ignored = second.status?.conditions?.find((c) => c.type === 'Ignored');
    assert.equal(ignored?.status, 'True');
    assert.equal(ignored?.reason, 'AnotherRuntimeInNamespace');
    assert.match(ignored?.message ?? '', /kre-dev already runs in namespace kre-dev/);
    const owners = (await client.list({ ...STATEFULSETS, namespace: 'kre-dev' })).items.map((s) => s.metadata.ownerReferences![0].name);
    assert.ok(owners.every((o) => o === 'kre-dev'));
    await client.delete(runtimeRef('kre-dev', 'second'));
  });

  test('publish, switch and unpublish move the active-entrypoint Service', async () => {
    const selector = async () => {
      try {
        return (await client.get<Service>({ ...SERVICES, namespace: 'kre-dev', name: 'active-entrypoint' })).spec?.selector;
      } catch {
        return undefined;
      }
    };
    assert.equal(await selector(), undefined);
    await client.patch(runtimeRef('kre-dev', 'kre-dev'), { spec: { publishedVersion: 'v1' } });
    await eventually(async () => (await selector())?.['version-name'] === 'v1', WAIT, 'published v1');
    const svc = await client.get<Service>({ ...SERVICES, namespace: 'kre-dev', name: 'active-entrypoint' });
    assert.deepEqual(svc.spec?.selector, { type: 'entrypoint', 'version-name': 'v1' });
    assert.deepEqual(svc.spec?.ports?.map((p) => `${p.name}:${p.port}`), ['grpc:9000', 'web:80']);
    await client.patch(runtimeRef('kre-dev', 'kre-dev'), { spec: { publishedVersion: 'v2' } });
    await eventually(async () => (await selector())?.['version-name'] === 'v2', WAIT, 'switched to v2');
    await client.patch(runtimeRef('kre-dev', 'kre-dev'), { spec: { publishedVersion: null } });
    await eventually(async () => (await selector()) === undefined, WAIT, 'unpublished');
  });

  test('a referenced credentials Secret is used, and its absence is reported', async () => {
    await createNamespace(client, 'kre-ref');
    await client.create({ ...RUNTIMES, namespace: 'kre-ref' }, runtimeObject('kre-ref', 'kre-ref', { developmentMode: true, mongo: { credentialsSecret: { name: 'mongo-creds' } } }));
    const waiting = await eventually(async () => {
      const r = await runtime('kre-ref');
      return r.status?.conditions?.find((c) => c.type === 'CredentialsReady') && r;
    }, WAIT, 'CredentialsReady condition');
    assert.match(waiting.status?.conditions?.find((c) => c.type === 'CredentialsReady')?.message ?? '', /Secret mongo-creds does not exist/);
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    await client.create({ ...SECRETS, namespace: 'kre-ref' }, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'mongo-creds' },
      data: { username: b64('admin'), password: b64('p@ss/word'), sharedKey: b64('a'.repeat(64)) },
    });
    await eventually(async () => (await runtime('kre-ref')).status?.phase === 'Running', WAIT, 'Runtime kre-ref Running');
    const sts = await client.get<StatefulSet>({ ...STATEFULSETS, namespace: 'kre-ref', name: 'kre-mongo' });
    const env = sts.spec?.template.spec?.containers[0].env?.find((e) => e.name === 'MONGO_INITDB_ROOT_PASSWORD');
    assert.deepEqual(env?.valueFrom?.secretKeyRef, { name: 'mongo-creds', key: 'password' });
    const uri = Buffer.from((await client.get<Secret>({ ...SECRETS, namespace: 'kre-ref', name: 'kre-mongo-connection' })).data?.uri ?? '', 'base64').toString();
    assert.equal(uri, 'mongodb://admin:p%40ss%2Fword@kre-mongo-0.kre-mongo:27017/admin?replicaSet=rs0&authSource=admin');
  });
});

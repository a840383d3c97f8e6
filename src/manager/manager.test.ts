import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { credentials, makeGenericClientConstructor, status, type ClientReadableStream, type ServiceClientConstructor, type ServiceDefinition, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { RUNTIME_VERSIONS, RUNTIMES, type Runtime, type RuntimeVersion } from '../api/index.ts';
import { SECRETS, SERVICES, DEPLOYMENTS, PODS, CONFIGMAPS, NODES, type ConfigMap, type Deployment, type Node, type Pod, type Secret, type Service } from '../kube/index.ts';
import { eventually } from '../devcluster/testing.ts';
import type { RuntimeStatusResponse } from '../gen/runtime/runtime.ts';
import type { VersionStatusResponse } from '../gen/version/version.ts';
import { auth, call, credentialsMessage, failure, startHarness, versionMessage, versionRequest, type Harness } from './testing.ts';
import { MINIO_SECRET, MONGO_SECRET } from './runtime-objects.ts';

const WAIT = 150_000;

/** Collects a stream's messages; `until` resolves once one of them satisfies `predicate`. */
function collect<T>(stream: ClientReadableStream<T>) {
  const messages: T[] = [];
  let ended: Error | null | undefined;
  stream.on('data', (m: T) => messages.push(m));
  stream.on('error', (e: Error) => (ended = e));
  stream.on('end', () => (ended ??= null));
  return {
    messages,
    until: (predicate: (m: T) => boolean, what: string) => eventually(() => messages.find(predicate), WAIT, what),
    ended: () => ended,
  };
}

describe('kre manager on a devcluster with a cluster-wide operator', () => {
  let h: Harness;
  const ns = 'kre-demo';

  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h?.stop();
  });

  test('Create writes the Namespace, the credential Secrets and the Runtime; a second identical call answers the same', async () => {
    const req = { runtime: { name: 'Demo', namespace: ns, ...credentialsMessage() } };
    const first = await call<{ message: string }>(h.runtime, 'create', req);
    assert.equal(first.message, "Runtime 'Demo' created");
    const second = await call<{ message: string }>(h.runtime, 'create', req);
    assert.deepEqual(second, first);

    const rt = await h.kube.get<Runtime>({ ...RUNTIMES, namespace: ns, name: ns });
    assert.deepEqual(rt.spec.mongo?.credentialsSecret, { name: MONGO_SECRET });
    assert.deepEqual(rt.spec.minio?.credentialsSecret, { name: MINIO_SECRET });
    // The credentials are in Secrets only, never in the Runtime.
    assert.doesNotMatch(JSON.stringify(rt), /mongo-pass|minio-secret/);
    const mongo = await h.kube.get<Secret>({ ...SECRETS, namespace: ns, name: MONGO_SECRET });
    assert.equal(Buffer.from(mongo.data?.password ?? '', 'base64').toString(), 'mongo-pass');
    const minio = await h.kube.get<Secret>({ ...SECRETS, namespace: ns, name: MINIO_SECRET });
    assert.equal(Buffer.from(minio.data?.secretKey ?? '', 'base64').toString(), 'minio-secret');
    // No operator is deployed in cluster-wide mode.
    assert.equal((await h.kube.list({ ...DEPLOYMENTS, namespace: ns }, { labelSelector: 'name=k8s-runtime-operator' })).items.length, 0);
  });

  test('Create with other credentials for an existing runtime answers FAILED_PRECONDITION and changes nothing', async () => {
    const before = await h.kube.get({ ...SECRETS, namespace: ns, name: MONGO_SECRET });
    const err = await failure(call(h.runtime, 'create', { runtime: { name: 'Demo', namespace: ns, ...credentialsMessage('-other') } }), status.FAILED_PRECONDITION);
    assert.match(err.details, /MongoDB credentials/);
    const afterwards = await h.kube.get({ ...SECRETS, namespace: ns, name: MONGO_SECRET });
    assert.equal(afterwards.metadata.resourceVersion, before.metadata.resourceVersion);
  });

  test('RuntimeStatus waits while the runtime is created and answers STARTED once it is Running; WatchRuntimeStatus follows it', async () => {
    const watch = collect(h.runtime.watchRuntimeStatus({ runtime: { name: 'Demo', namespace: ns, minio: undefined, mongo: undefined } }, auth()));
    const phaseAtCall = (await h.kube.get<Runtime>({ ...RUNTIMES, namespace: ns, name: ns })).status?.phase;
    const res = await call<RuntimeStatusResponse>(h.runtime, 'runtimeStatus', { runtime: { name: 'Demo', namespace: ns } }, { deadlineMs: WAIT });
    assert.equal(res.Status, 'STARTED');
    assert.equal(res.phase, 'Running');
    assert.deepEqual(res.components.map((c) => [c.name, c.ready]), [['MongoDB', true], ['NATS', true], ['MinIO', true], ['operator', true]]);
    if (phaseAtCall !== 'Running') {
      // It had to wait: the stream saw the runtime before it was running.
      await watch.until((m) => m.Status === 'STARTED', 'WatchRuntimeStatus STARTED');
      assert.notEqual(watch.messages[0].Status, 'STARTED');
    }
    // At once when it already runs.
    const again = await call<RuntimeStatusResponse>(h.runtime, 'runtimeStatus', { runtime: { name: 'Demo', namespace: ns } }, { deadlineMs: 5_000 });
    assert.equal(again.Status, 'STARTED');
  });

  test('RuntimeStatus of a runtime that cannot start answers DEADLINE_EXCEEDED at the call deadline, naming what is not ready', async () => {
    const other = 'kre-stuck';
    await h.kube.create({ group: '', version: 'v1', plural: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: other } });
    await h.kube.create({ ...RUNTIMES, namespace: other }, { apiVersion: 'kre.konstellation.io/v1alpha1', kind: 'Runtime', metadata: { name: other, namespace: other }, spec: { mongo: { credentialsSecret: { name: 'absent' } } } });
    const err = await failure(call(h.runtime, 'runtimeStatus', { runtime: { name: 'stuck', namespace: other } }, { deadlineMs: 4_000 }), status.DEADLINE_EXCEEDED);
    assert.match(err.details, /not running yet/);
    assert.match(err.details, /not ready: MongoDB, NATS, MinIO/);
  });

  test('RuntimeStatus of a runtime the operator marked Failed answers FAILED_PRECONDITION with the reason, at once', async () => {
    const other = 'kre-failed';
    // A name too long for the label its children carry: the operator reports it Failed and stops.
    const name = `rt-${'x'.repeat(70)}`;
    await h.kube.create({ group: '', version: 'v1', plural: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: other } });
    await h.kube.create({ ...RUNTIMES, namespace: other }, { apiVersion: 'kre.konstellation.io/v1alpha1', kind: 'Runtime', metadata: { name, namespace: other }, spec: {} });
    await eventually(async () => (await h.kube.get<Runtime>({ ...RUNTIMES, namespace: other, name })).status?.phase === 'Failed', WAIT, 'the Runtime Failed');
    const err = await failure(call(h.runtime, 'runtimeStatus', { runtime: { name: 'failed', namespace: other } }, { deadlineMs: 60_000 }), status.FAILED_PRECONDITION);
    assert.match(err.details, /is Failed/);
    assert.match(err.details, /InvalidSpec: .*metadata\.name.*63/);
    const reply = await new Promise<RuntimeStatusResponse>((resolve, reject) => {
      const stream = h.runtime.watchRuntimeStatus({ runtime: { name: 'failed', namespace: other, minio: undefined, mongo: undefined } }, auth());
      stream.on('data', (m: RuntimeStatusResponse) => {
        resolve(m);
        stream.cancel();
      });
      stream.on('error', (e: ServiceError) => (e.code === status.CANCELLED ? undefined : reject(e)));
    });
    assert.equal(reply.Status, 'ERROR');
    assert.equal(reply.phase, 'Failed');
  });

  test('Start, Publish, UpdateConfig, Unpublish and Stop, declaratively through the RuntimeVersion', async () => {
    const v = 'v1';
    const start = await call<{ message: string }>(h.version, 'start', versionRequest(versionMessage(ns, v, ['parse', 'greet'], { mongoUri: 'mongodb://u:secret-pw@elsewhere:27017/db' })));
    assert.equal(start.message, "Version 'v1' started");
    const obj = await h.kube.get<RuntimeVersion>({ ...RUNTIME_VERSIONS, namespace: ns, name: v });
    assert.equal(obj.spec.state, 'Started');
    assert.deepEqual(obj.spec.mongoUriSecret, { name: 'v1-mongo-uri' });
    assert.doesNotMatch(JSON.stringify(obj), /secret-pw/);
    assert.ok((obj.metadata.managedFields as { manager: string; operation: string }[] | undefined)?.some((f) => f.manager === 'kre-manager' && f.operation === 'Apply'));
    const uri = await h.kube.get<Secret>({ ...SECRETS, namespace: ns, name: 'v1-mongo-uri' });
    assert.equal(Buffer.from(uri.data?.uri ?? '', 'base64').toString(), 'mongodb://u:secret-pw@elsewhere:27017/db');

    // Publish right after Start waits for the version to be Running.
    const watch = collect(h.version.watchVersionStatus({ name: v, namespace: ns }, auth()));
    const published = await call<{ message: string }>(h.version, 'publish', versionRequest({ name: v, namespace: ns }), { deadlineMs: WAIT });
    assert.equal(published.message, "Version 'v1' published");
    assert.equal((await call<VersionStatusResponse>(h.version, 'versionStatus', { name: v, namespace: ns })).phase, 'Running');
    const svc = await eventually(() => h.kube.get<Service>({ ...SERVICES, namespace: ns, name: 'active-entrypoint' }).catch(() => undefined), WAIT, 'the active-entrypoint Service');
    assert.deepEqual(svc.spec?.selector, { type: 'entrypoint', 'version-name': v });
    const running = await watch.until((m) => m.phase === 'Running', 'WatchVersionStatus Running');
    assert.deepEqual(running.nodes.map((n) => [n.name, n.ready]), [['entrypoint', true], ['greeting/parse', true], ['greeting/greet', true]]);
    assert.ok(watch.messages.length >= 2, 'the stream showed progress before Running');

    // A published version cannot be stopped.
    await failure(call(h.version, 'stop', versionRequest({ name: v, namespace: ns })), status.FAILED_PRECONDITION);

    // UpdateConfig changes the config and the operator rolls the pods: same Deployment, new pods.
    const deployment = 'v1-parse-n0';
    const configHash = (d: Deployment) => d.spec?.template.metadata?.annotations?.['kre.konstellation.io/config-hash'];
    const dep = await h.kube.get<Deployment>({ ...DEPLOYMENTS, namespace: ns, name: deployment });
    const oldPods = (await h.kube.list({ ...PODS, namespace: ns }, { labelSelector: 'node-id=n0,version-name=v1' })).items.map((p) => p.metadata.name);
    assert.ok(oldPods.length > 0);
    const updated = await call<{ message: string }>(h.version, 'updateConfig', versionRequest({ name: v, namespace: ns, config: [{ key: 'MODEL_PATH', value: '/models/v2' }, { key: 'THRESHOLD', value: '0.5' }] }));
    assert.equal(updated.message, "Version 'v1' config updated");
    await eventually(async () => (await h.kube.get<ConfigMap>({ ...CONFIGMAPS, namespace: ns, name: 'v1-global' })).data?.THRESHOLD === '0.5', WAIT, 'the new config in v1-global');
    const rolled = await eventually(async () => {
      const d = await h.kube.get<Deployment>({ ...DEPLOYMENTS, namespace: ns, name: deployment });
      return configHash(d) !== configHash(dep) && d;
    }, WAIT, 'a new config hash in the pod template');
    assert.equal(rolled.metadata.uid, dep.metadata.uid, 'the Deployment is the same, not recreated');
    await eventually(async () => {
      const pods = (await h.kube.list<Pod>({ ...PODS, namespace: ns }, { labelSelector: 'node-id=n0,version-name=v1' })).items;
      return pods.length > 0 && pods.every((p) => !oldPods.includes(p.metadata.name) && p.status?.phase === 'Running');
    }, WAIT, 'the pods replaced by new ones');
    const versionAfter = await h.kube.get<RuntimeVersion>({ ...RUNTIME_VERSIONS, namespace: ns, name: v });
    assert.equal(versionAfter.spec.workflows[0].nodes.length, 2, 'UpdateConfig leaves the workflows as they were');

    const unpublished = await call<{ message: string }>(h.version, 'unpublish', versionRequest({ name: v, namespace: ns }));
    assert.equal(unpublished.message, "Version 'v1' unpublished");
    assert.equal((await h.kube.get<Runtime>({ ...RUNTIMES, namespace: ns, name: ns })).spec.publishedVersion, undefined);
    await eventually(() => h.kube.get({ ...SERVICES, namespace: ns, name: 'active-entrypoint' }).then(() => false, () => true), WAIT, 'the active-entrypoint Service gone');

    const stopped = await call<{ message: string }>(h.version, 'stop', versionRequest({ name: v, namespace: ns }), { deadlineMs: WAIT });
    assert.equal(stopped.message, "Version 'v1' stopped");
    // Stop answers once the workloads are gone.
    assert.equal((await h.kube.list({ ...DEPLOYMENTS, namespace: ns }, { labelSelector: 'version-name=v1' })).items.length, 0);
    assert.equal((await h.kube.list({ ...CONFIGMAPS, namespace: ns }, { labelSelector: 'version-name=v1' })).items.length, 0);
    await watch.until((m) => m.phase === 'Stopped', 'WatchVersionStatus Stopped');

    const err = await failure(call(h.version, 'publish', versionRequest({ name: v, namespace: ns })), status.FAILED_PRECONDITION);
    assert.match(err.details, /stopped/);
  });

  test('RuntimeStatus of a runtime the operator marked Degraded answers FAILED_PRECONDITION naming the fallen component; STARTED again once it recovers', async () => {
    // A Running runtime loses its NATS members, and no node takes their replacements: the operator
    // marks it Degraded (not Creating: it was running) until they are back.
    await call<RuntimeStatusResponse>(h.runtime, 'runtimeStatus', { runtime: { name: 'Demo', namespace: ns } }, { deadlineMs: WAIT });
    const nodeNames = (await h.kube.list<Node>(NODES)).items.map((n) => n.metadata.name!);
    const cordon = (unschedulable: boolean) => Promise.all(nodeNames.map((name) => h.kube.patch({ ...NODES, name }, { spec: { unschedulable } })));
    const stream = h.runtime.watchRuntimeStatus({ runtime: { name: 'Demo', namespace: ns, minio: undefined, mongo: undefined } }, auth());
    const watch = collect(stream);
    await cordon(true);
    try {
      for (const pod of (await h.kube.list({ ...PODS, namespace: ns }, { labelSelector: 'app=kre-nats' })).items) await h.kube.delete({ ...PODS, namespace: ns, name: pod.metadata.name! });
      await eventually(async () => (await h.kube.get<Runtime>({ ...RUNTIMES, namespace: ns, name: ns })).status?.phase === 'Degraded', WAIT, 'the Runtime Degraded');
      const err = await failure(call(h.runtime, 'runtimeStatus', { runtime: { name: 'Demo', namespace: ns } }, { deadlineMs: 60_000 }), status.FAILED_PRECONDITION);
      assert.match(err.details, /runtime kre-demo is Degraded: not ready: NATS$/);
      const degraded = await watch.until((m) => m.phase === 'Degraded', 'WatchRuntimeStatus Degraded');
      assert.equal(degraded.Status, 'ERROR');
      assert.deepEqual(degraded.components.map((c) => [c.name, c.ready]), [['MongoDB', true], ['NATS', false], ['MinIO', true], ['operator', true]]);
      assert.match(degraded.components[1].message, /kre-nats/);
    } finally {
      await cordon(false);
    }
    await eventually(() => watch.messages.slice(watch.messages.findIndex((m) => m.phase === 'Degraded')).some((m) => m.Status === 'STARTED'), WAIT, 'WatchRuntimeStatus STARTED after Degraded');
    stream.cancel();
    const recovered = await call<RuntimeStatusResponse>(h.runtime, 'runtimeStatus', { runtime: { name: 'Demo', namespace: ns } }, { deadlineMs: WAIT });
    assert.equal(recovered.Status, 'STARTED');
    assert.equal(recovered.phase, 'Running');
  });

  test('a client built from the seed-shaped .proto files (not the generated code) drives the manager unchanged', async () => {
    const dir = new URL('./testdata/seed/', import.meta.url).pathname;
    const definitions = loadSync(['runtime.proto', 'version.proto', 'resourcemetrics.proto'], { includeDirs: [dir], keepCase: true });
    const creds = credentials.createInsecure();
    // proto-loader's service definition carries all grpc-js needs of one; the client's methods are named as in the .proto.
    const seedClient = (service: string) => new (makeGenericClientConstructor(definitions[service] as ServiceDefinition, service))(h.manager.address, creds);
    const runtime = seedClient('runtime.RuntimeService');
    const version = seedClient('version.VersionService');
    const metrics = seedClient('resourcemetrics.ResourceMetricsService');
    const seedCall = (client: InstanceType<ServiceClientConstructor>, method: string, req: unknown, deadlineMs = WAIT): Promise<unknown> =>
      new Promise((resolve, reject) => client[method](req, auth(), { deadline: Date.now() + deadlineMs }, (err: ServiceError | null, res: unknown) => (err ? reject(err) : resolve(res))));
    try {
      const seedNs = 'kre-seed';
      const created = await seedCall(runtime, 'Create', { runtime: { name: 'seed', namespace: seedNs, mongo: { username: 'admin', password: 'pw-123456', sharedKey: 'c2VlZGtleQ==' }, minio: { accessKey: 'seed-ak', secretKey: 'seed-secret-key' } } });
      assert.deepEqual(created, { message: "Runtime 'seed' created" });
      assert.deepEqual(await seedCall(runtime, 'RuntimeStatus', { runtime: { name: 'seed', namespace: seedNs } }), { Status: 'STARTED' });
      const v = { id: 'seed-v1-id', name: 'seed-v1', namespace: seedNs, entrypoint: { proto_file: 'public_input.proto', image: 'konstellation/entrypoint:1.0' }, config: [{ key: 'MODEL', value: 'm' }],
        workflows: [{ id: 'wf', name: 'wf', entrypoint: 'Predict', nodes: [{ id: 'a', name: 'alpha', image: 'konstellation/alpha:1.0', src: 'a.py' }, { id: 'b', name: 'beta', image: 'konstellation/beta:1.0', src: 'b.py' }], edges: [{ id: 'ab', fromNode: 'a', toNode: 'b' }] }],
        mongo_db_name: 'seed' };
      assert.deepEqual(await seedCall(version, 'Start', { version: v }), { message: "Version 'seed-v1' started" });
      const obj = await h.kube.get<RuntimeVersion>({ ...RUNTIME_VERSIONS, namespace: seedNs, name: 'seed-v1' });
      assert.equal(obj.spec.entrypoint.protoFile, 'public_input.proto');
      assert.equal(obj.spec.mongoDbName, 'seed');
      assert.deepEqual(obj.spec.workflows[0].nodes.map((n) => n.replicas), [1, 1]);
      assert.deepEqual(await seedCall(version, 'Publish', { version: { name: 'seed-v1', namespace: seedNs } }), { message: "Version 'seed-v1' published" });
      assert.deepEqual(await seedCall(version, 'UpdateConfig', { version: { name: 'seed-v1', namespace: seedNs, config: [{ key: 'MODEL', value: 'n' }] } }), { message: "Version 'seed-v1' config updated" });
      assert.deepEqual(await seedCall(version, 'Unpublish', { version: { name: 'seed-v1', namespace: seedNs } }), { message: "Version 'seed-v1' unpublished" });
      assert.deepEqual(await seedCall(version, 'Stop', { version: { name: 'seed-v1', namespace: seedNs } }), { message: "Version 'seed-v1' stopped" });
      // The metrics service is on the same port; without its handlers it answers UNIMPLEMENTED.
      const err = await seedCall(metrics, 'GetVersion', { versionName: 'seed-v1', namespace: seedNs, fromDate: '', toDate: '', step: 60 }).then(() => undefined, (e: ServiceError) => e);
      assert.equal(err?.code, status.UNIMPLEMENTED);
    } finally {
      for (const c of [runtime, version, metrics]) c.close();
    }
  });
});

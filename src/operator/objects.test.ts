import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { API_VERSION, RuntimeSpec, RuntimeVersionSpec, type Runtime, type RuntimeSpecInput, type RuntimeVersion, type RuntimeVersionSpecInput } from '../api/index.ts';
import type { KubeObject, StatefulSet } from '../kube/index.ts';
import { renderDeployManifests } from './deploy.ts';
import { renderedHash } from './children.ts';
import {
  CONFIG_HASH,
  natsConfig,
  renderActiveEntrypointService,
  renderGeneratedCredentials,
  renderMongoConnectionSecret,
  renderMongoStatefulSet,
  renderNatsStatefulSet,
  renderRuntimeWorkloads,
} from './runtime-objects.ts';
import { nodeEnvironment, renderNodeDeployment, renderVersionObjects } from './version-objects.ts';
import { versionObject } from './testing.ts';

const runtime = (spec: RuntimeSpecInput = {}): Runtime => ({
  apiVersion: 'kre.konstellation.io/v1alpha1',
  kind: 'Runtime',
  metadata: { name: 'demo', namespace: 'kre-demo', uid: 'uid-1' },
  spec: RuntimeSpec.parse(spec),
});

const version = (workflows: Record<string, string[]>, extra: Partial<RuntimeVersionSpecInput> = {}): RuntimeVersion => {
  const obj = versionObject('kre-demo', 'v1', workflows, extra);
  return { ...obj, apiVersion: API_VERSION, kind: 'RuntimeVersion', metadata: { ...obj.metadata, uid: 'uid-2' }, spec: RuntimeVersionSpec.parse(obj.spec) };
};

const isStatefulSet = (o: KubeObject): o is StatefulSet => o.kind === 'StatefulSet';

describe('Runtime children', () => {
  test('MongoDB: three members, one in development mode, labelled as the seed selects them', () => {
    const prod = renderMongoStatefulSet(runtime(), 'kre-mongo-credentials');
    assert.equal(prod.spec?.replicas, 3);
    assert.deepEqual(prod.spec?.selector.matchLabels, { 'kre-app': 'kre-mongo' });
    assert.equal(prod.spec?.serviceName, 'kre-mongo');
    assert.equal(renderMongoStatefulSet(runtime({ developmentMode: true }), 's').spec?.replicas, 1);
    assert.equal(renderMongoStatefulSet(runtime({ developmentMode: true, mongo: { replicas: 5 } }), 's').spec?.replicas, 5);
    assert.deepEqual(prod.metadata.ownerReferences, [{ apiVersion: 'kre.konstellation.io/v1alpha1', kind: 'Runtime', name: 'demo', uid: 'uid-1', controller: true, blockOwnerDeletion: true }]);
  });

  test('NATS: members joined by routes through the headless Service, and a config change rolls them', () => {
    const rt = runtime({ nats: { replicas: 3 } });
    assert.match(natsConfig(rt), /nats:\/\/kre-nats-0\.kre-nats-cluster:6222\n {4}nats:\/\/kre-nats-1\.kre-nats-cluster:6222\n {4}nats:\/\/kre-nats-2/);
    const a = renderNatsStatefulSet(runtime()).spec?.template.metadata?.annotations?.[CONFIG_HASH];
    const b = renderNatsStatefulSet(rt).spec?.template.metadata?.annotations?.[CONFIG_HASH];
    assert.notEqual(a, b);
  });

  test('storage classes: the component own, else the shared one', () => {
    const sts = renderRuntimeWorkloads(runtime({ sharedStorageClass: 'shared', minio: { storage: { storageClass: 'fast' } } }), { mongo: 'm', minio: 'n' }).filter(isStatefulSet);
    assert.deepEqual(sts.map((s) => s.spec?.volumeClaimTemplates?.[0].spec?.storageClassName), ['shared', 'shared', 'fast']);
  });

  test('the active-entrypoint Service only when a version is published', () => {
    assert.equal(renderActiveEntrypointService(runtime()), undefined);
    const svc = renderActiveEntrypointService(runtime({ publishedVersion: 'v2' }))!;
    assert.deepEqual(svc.spec?.selector, { type: 'entrypoint', 'version-name': 'v2' });
  });

  test('no credential reaches an object but a Secret, and the rendered hash of a Secret ignores its data', () => {
    const creds = { username: 'kre', password: 'S3cretPassw0rd', sharedKey: 'K'.repeat(64) };
    const objects = renderRuntimeWorkloads(runtime({ publishedVersion: 'v1', entrypoint: { host: 'demo.example.com' } }), { mongo: 'kre-mongo-credentials', minio: 'kre-minio-credentials' });
    assert.ok(!JSON.stringify(objects).includes(creds.password));
    const secret = renderMongoConnectionSecret(runtime(), creds);
    const other = renderMongoConnectionSecret(runtime(), { ...creds, password: 'different' });
    assert.equal(renderedHash(secret), renderedHash(other));
  });

  test('generated credentials are not owned by the Runtime, so they outlive it with the volumes; the connection string is', () => {
    const generated = renderGeneratedCredentials(runtime(), 'kre-mongo-credentials', { username: 'kre', password: 'p', sharedKey: 'k' });
    assert.equal(generated.metadata.ownerReferences, undefined);
    assert.equal(generated.metadata.labels?.['kre.konstellation.io/runtime'], 'demo');
    const connection = renderMongoConnectionSecret(runtime(), { username: 'kre', password: 'p', sharedKey: 'k' });
    assert.deepEqual(connection.metadata.ownerReferences?.map((r) => `${r.kind}/${r.uid}/${r.controller}`), ['Runtime/uid-1/true']);
  });
});

describe('RuntimeVersion children', () => {
  test('subjects follow the edges; the first node reads the entrypoint subject, the last writes none', () => {
    const v = version({ greeting: ['parse', 'greet'] });
    const wf = v.spec.workflows[0];
    const env = (i: number) => nodeEnvironment(v, wf, wf.nodes[i], { mongoDbName: 'data' });
    assert.deepEqual([env(0).KRT_NATS_INPUT, env(0).KRT_NATS_OUTPUT], ['v1-Greeting-entrypoint', 'greeting-edge-0']);
    assert.deepEqual([env(1).KRT_NATS_INPUT, env(1).KRT_NATS_OUTPUT], ['greeting-edge-0', '']);
  });

  test('names and order: ConfigMaps first, then the entrypoint and node Deployments', () => {
    const names = renderVersionObjects(version({ a: ['x', 'y'] }), { mongoDbName: 'data' }).map((o) => `${o.kind}/${o.metadata.name}`);
    assert.deepEqual(names, [
      'ConfigMap/v1-global',
      'ConfigMap/v1-conf-files',
      'ConfigMap/v1-x-ax',
      'ConfigMap/v1-y-ay',
      'Deployment/v1-entrypoint',
      'Deployment/v1-x-ax',
      'Deployment/v1-y-ay',
    ]);
  });

  test("a version's own MongoDB connection Secret and database name replace the runtime's", () => {
    const uriSecret = (v: RuntimeVersion) =>
      renderNodeDeployment(v, v.spec.workflows[0], v.spec.workflows[0].nodes[0], { mongoDbName: 'data' }).spec?.template.spec?.containers[0].env?.find((e) => e.name === 'KRT_MONGO_URI')?.valueFrom?.secretKeyRef;
    assert.deepEqual(uriSecret(version({ a: ['x'] })), { name: 'kre-mongo-connection', key: 'uri' });
    const own = version({ a: ['x'] }, { mongoUriSecret: { name: 'v1-mongo-uri' }, mongoDbName: 'models' });
    assert.deepEqual(uriSecret(own), { name: 'v1-mongo-uri', key: 'uri' });
    assert.equal(nodeEnvironment(own, own.spec.workflows[0], own.spec.workflows[0].nodes[0], { mongoDbName: 'data' }).KRT_MONGO_DB_NAME, 'models');
  });

  test('the config hash changes with the configuration and nothing else', () => {
    const hash = (v: RuntimeVersion) => renderNodeDeployment(v, v.spec.workflows[0], v.spec.workflows[0].nodes[0], { mongoDbName: 'data' }).spec?.template.metadata?.annotations?.[CONFIG_HASH];
    const base = version({ a: ['x'] });
    assert.ok(hash(base));
    assert.equal(hash(base), hash(version({ a: ['x'] })));
    assert.notEqual(hash(base), hash(version({ a: ['x'] }, { config: [{ key: 'MODEL_PATH', value: 'other' }] })));
    assert.notEqual(hash(base), hash(version({ a: ['x'] }, { configFiles: [{ key: 'model.yaml', value: 'a: 1' }] })));
  });
});

describe('deploy/', () => {
  test('matches what `kre operator manifests --out deploy` renders', () => {
    for (const [name, text] of Object.entries(renderDeployManifests())) {
      const committed = readFileSync(new URL(`../../deploy/${name}`, import.meta.url), 'utf8');
      assert.equal(committed, text, `deploy/${name} is stale: run kre operator manifests --out deploy`);
    }
  });
});

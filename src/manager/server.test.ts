import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { credentials, makeGenericClientConstructor, status, type Client, type ClientDuplexStream, type ServiceDefinition, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { service as healthService } from 'grpc-health-check';
import { KubeConfig } from '@kubernetes/client-node';
import { RuntimeServiceClient } from '../gen/runtime/runtime.ts';
import { KubeClient } from '../kube/index.ts';
import { createLogger } from '../kube/logger.ts';
import { parseManagerConfig } from './config.ts';
import { startManager } from './server.ts';
import { auth, call, credentialsMessage, failure, startHarness, TOKEN, versionMessage, versionRequest, type Harness } from './testing.ts';

const REFLECTION_PROTO = new URL('../../node_modules/@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto', import.meta.url).pathname;
const HealthClient = makeGenericClientConstructor(healthService, 'grpc.health.v1.Health');

function healthCheck(address: string, service: string, creds = credentials.createInsecure()): Promise<string> {
  const client = new HealthClient(address, creds);
  return new Promise((resolve, reject) =>
    client.check({ service }, { deadline: Date.now() + 10_000 }, (err: ServiceError | null, res: { status: string }) => {
      client.close();
      return err ? reject(err) : resolve(res.status);
    }),
  );
}

interface ListServicesResponse {
  listServicesResponse: { service: { name: string }[] };
}

function listServices(address: string): Promise<string[]> {
  // proto-loader's service definition carries all grpc-js needs of one, and more.
  const ServerReflection = makeGenericClientConstructor(loadSync(REFLECTION_PROTO)['grpc.reflection.v1.ServerReflection'] as ServiceDefinition, 'ServerReflection');
  const client = new ServerReflection(address, credentials.createInsecure());
  return new Promise((resolve, reject) => {
    const stream: ClientDuplexStream<{ listServices: string }, ListServicesResponse> = client.serverReflectionInfo();
    stream.on('data', (res: ListServicesResponse) => {
      resolve(res.listServicesResponse.service.map((s) => s.name).sort());
      stream.end();
      client.close();
    });
    stream.on('error', reject);
    stream.write({ listServices: '' });
  });
}

describe('the manager server: authentication, health, reflection, errors', () => {
  let h: Harness;

  before(async () => {
    h = await startHarness({ nodes: 0, operator: false });
  });
  after(async () => {
    await h?.stop();
  });

  test('a call without a token or with a wrong one answers UNAUTHENTICATED; health and reflection are open', async () => {
    const req = { runtime: { name: 'x', namespace: 'kre-x', minio: undefined, mongo: undefined } };
    const none = await failure(call(h.runtime, 'runtimeStatus', req, { token: null }), status.UNAUTHENTICATED);
    assert.match(none.details, /missing "authorization: Bearer <token>"/);
    const wrong = await failure(call(h.runtime, 'create', req, { token: `${TOKEN}x` }), status.UNAUTHENTICATED);
    assert.match(wrong.details, /not valid/);
    await failure(call(h.metrics, 'getVersion', { versionName: 'v1', namespace: 'kre-x', fromDate: '', toDate: '', step: 0 }, { token: 'nope' }), status.UNAUTHENTICATED);
    // Nothing was written for the refused calls.
    await assert.rejects(h.kube.get({ group: '', version: 'v1', plural: 'namespaces', name: 'kre-x' }), /not found/i);
    assert.equal(await healthCheck(h.manager.address, ''), 'SERVING');
    assert.equal(await healthCheck(h.manager.address, 'runtime.RuntimeService'), 'SERVING');
    assert.equal(await healthCheck(h.manager.address, 'version.VersionService'), 'SERVING');
    // Without resource metrics handlers that service is not served.
    assert.equal(await healthCheck(h.manager.address, 'resourcemetrics.ResourceMetricsService'), 'NOT_SERVING');
    await failure(call(h.metrics, 'getVersion', { versionName: 'v1', namespace: 'kre-x', fromDate: '', toDate: '', step: 0 }), status.UNIMPLEMENTED);
    const text = await h.manager.registry.metrics();
    assert.match(text, /kre_manager_grpc_calls_total\{method="\/runtime.RuntimeService\/Create",code="UNAUTHENTICATED"\} 1/);
  });

  test('reflection lists the three services and the health service', async () => {
    assert.deepEqual(await listServices(h.manager.address), [
      'grpc.health.v1.Health',
      'resourcemetrics.ResourceMetricsService',
      'runtime.RuntimeService',
      'version.VersionService',
    ]);
  });

  test('bad requests answer INVALID_ARGUMENT naming the field, in the message and the kre-field trailer', async () => {
    const cases: [string, Client, unknown, string, RegExp][] = [
      ['create', h.runtime, { runtime: undefined }, 'runtime', /is required/],
      ['create', h.runtime, { runtime: { name: '', namespace: 'kre-a', minio: undefined, mongo: undefined } }, 'runtime.name', /is required/],
      ['create', h.runtime, { runtime: { name: 'a', namespace: 'KRE_A', minio: undefined, mongo: undefined } }, 'runtime.namespace', /lowercase RFC 1123 label/],
      ['create', h.runtime, { runtime: { name: 'a', namespace: 'kre-a', ...credentialsMessage(), mongo: { username: 'u', password: '', sharedKey: 'abcdefgh' } } }, 'runtime.mongo.password', /is required/],
      ['create', h.runtime, { runtime: { name: 'a', namespace: 'kre-a', ...credentialsMessage(), mongo: { username: 'u', password: 'p', sharedKey: 'not base64!' } } }, 'runtime.mongo.sharedKey', /base64/],
      ['create', h.runtime, { runtime: { name: 'a', namespace: 'kre-a', ...credentialsMessage(), minio: { accessKey: 'ak', secretKey: 'short' } } }, 'runtime.minio.accessKey', /at least 3/],
      ['runtimeStatus', h.runtime, { runtime: { name: 'a', namespace: '', minio: undefined, mongo: undefined } }, 'runtime.namespace', /is required/],
      ['start', h.version, { version: undefined }, 'version', /is required/],
      ['start', h.version, versionRequest(versionMessage('kre-a', 'V1')), 'version.name', /not a version name/],
      ['start', h.version, versionRequest(versionMessage('kre-a', 'a-very-long-version-name')), 'version.name', /2 to 19/],
      ['start', h.version, versionRequest(versionMessage('kre-a', 'v1', ['a'], { config: [{ key: 'model_path', value: 'x' }] })), 'version.config[0].key', /not a configuration variable/],
      ['start', h.version, versionRequest(versionMessage('kre-a', 'v1', ['a'], { config: [{ key: 'A', value: '1' }, { key: 'A', value: '2' }] })), 'version.config[1].key', /also set by version.config\[0\]/],
      ['start', h.version, versionRequest(versionMessage('kre-a', 'v1', ['a'], { entrypoint: { image: 'Bad Image', protoFile: 'x.proto' } })), 'version.entrypoint.image', /Bad Image/],
      ['start', h.version, versionRequest(versionMessage('kre-a', 'v1', ['a'], { entrypoint: { image: 'img:1', protoFile: '' } })), 'version.entrypoint.proto_file', /is required/],
      ['start', h.version, versionRequest(versionMessage('kre-a', 'v1', ['a'], { id: '' })), 'version.id', /is required/],
      ['start', h.version, versionRequest(versionMessage('kre-a', 'v1', ['a'], { workflows: [] })), 'version.workflows', /.+/],
      ['start', h.version, versionRequest(versionMessage('kre-a', 'v1', ['a'], { mongoUri: 'http://x' })), 'version.mongo_uri', /mongodb:\/\//],
      ['start', h.version, versionRequest({ ...versionMessage('kre-a', 'v1', ['a', 'b']), workflows: [{ ...versionMessage('kre-a', 'v1', ['a', 'b']).workflows[0], edges: [{ id: 'e', fromNode: 'n0', toNode: 'zz' }] }] }), 'version.workflows[0].edges[0].toNode', /no node with id "zz"/],
      ['start', h.version, versionRequest({ ...versionMessage('kre-a', 'v1', ['a']), workflows: [{ ...versionMessage('kre-a', 'v1', ['a']).workflows[0], nodes: [{ id: 'N_0', name: 'a', image: 'i:1', src: 's', replicas: 0 }] }] }), 'version.workflows[0].nodes[0].id', /N_0/],
      ['stop', h.version, versionRequest({ name: 'v1', namespace: '' }), 'version.namespace', /is required/],
      ['updateConfig', h.version, versionRequest({ name: 'v1', namespace: 'kre-a', config: [{ key: 'bad key', value: '' }] }), 'version.config[0].key', /not a configuration variable/],
      ['versionStatus', h.version, { name: '', namespace: 'kre-a' }, 'name', /is required/],
    ];
    for (const [method, client, req, field, message] of cases) {
      const err = await failure(call(client, method, req), status.INVALID_ARGUMENT);
      assert.equal(err.field, field, `${method} ${JSON.stringify(req).slice(0, 200)}: ${err.details}`);
      assert.ok(err.details.startsWith(`${field}: `), err.details);
      assert.match(err.details, message);
    }
    // None of them wrote anything.
    await assert.rejects(h.kube.get({ group: '', version: 'v1', plural: 'namespaces', name: 'kre-a' }), /not found/i);
  });

  test('what is missing answers NOT_FOUND naming it', async () => {
    const v = (name: string) => versionRequest({ name, namespace: 'kre-none' });
    assert.match((await failure(call(h.runtime, 'runtimeStatus', { runtime: { name: 'n', namespace: 'kre-none', minio: undefined, mongo: undefined } }), status.NOT_FOUND)).details, /runtime in namespace kre-none/);
    assert.match((await failure(call(h.version, 'start', versionRequest(versionMessage('kre-none', 'v1'))), status.NOT_FOUND)).details, /runtime in namespace kre-none/);
    for (const method of ['stop', 'updateConfig']) assert.match((await failure(call(h.version, method, v('v9')), status.NOT_FOUND)).details, /version v9 in namespace kre-none/);
    for (const method of ['publish', 'unpublish']) await failure(call(h.version, method, v('v9')), status.NOT_FOUND);
    await failure(call(h.version, 'versionStatus', { name: 'v9', namespace: 'kre-none' }), status.NOT_FOUND);
    const stream = h.version.watchVersionStatus({ name: 'v9', namespace: 'kre-none' }, auth());
    const err = await new Promise<ServiceError>((resolve) => stream.on('error', resolve));
    assert.equal(err.code, status.NOT_FOUND);
  });

  test('messages that are not the contract answer an error and the server keeps serving', async () => {
    // Raw bytes that are not a valid Request message.
    const raw = new (makeGenericClientConstructor({}, 'raw'))(h.manager.address, credentials.createInsecure());
    const err = await new Promise<ServiceError | null>((resolve) =>
      raw.makeUnaryRequest('/runtime.RuntimeService/Create', (b: Buffer) => b, (b: Buffer) => b, Buffer.from([0x0a, 0xff, 0xff, 0xff]), auth(), (e) => resolve(e)),
    );
    raw.close();
    assert.ok(err && err.code !== status.OK);
    assert.equal(await healthCheck(h.manager.address, ''), 'SERVING');
  });
});

describe('the manager without an API server', () => {
  test('health answers NOT_SERVING and calls answer UNAVAILABLE naming the API server', async () => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'away', server: 'http://127.0.0.1:1', skipTLSVerify: true }],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'c', cluster: 'away', user: 'u' }],
      currentContext: 'c',
    });
    const kube = new KubeClient(kc, { requestTimeoutMs: 2000 });
    const manager = await startManager({ config: parseManagerConfig({ listen: '127.0.0.1:0', tls: { selfSigned: true } }), token: TOKEN, kube, logger: createLogger('manager', 'silent') });
    try {
      assert.ok(manager.certificate);
      const creds = credentials.createSsl(Buffer.from(manager.certificate!));
      const address = `localhost:${manager.port}`;
      assert.equal(await healthCheck(address, '', creds), 'NOT_SERVING', 'TLS with the self-signed certificate');
      assert.equal(await healthCheck(address, 'runtime.RuntimeService', creds), 'NOT_SERVING');
      const client = new RuntimeServiceClient(address, creds);
      const err = await failure(call(client, 'create', { runtime: { name: 'a', namespace: 'kre-a', minio: undefined, mongo: undefined } }), status.UNAVAILABLE);
      assert.match(err.details, /Kubernetes API server is unavailable/);
      client.close();
      assert.equal(manager.ready(), false);
    } finally {
      await manager.stop();
      kube.close();
    }
  });
});

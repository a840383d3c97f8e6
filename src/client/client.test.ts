/**
 * The client library against a real manager: a devcluster with nodes, a cluster-wide operator and
 * the manager serving gRPC on a socket, its metrics from the devcluster's metrics.k8s.io.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { RUNTIME_VERSIONS, RUNTIMES, type Runtime, type RuntimeVersion } from '../api/index.ts';
import { eventually } from '../devcluster/testing.ts';
import type { RuntimeStatusResponse } from '../gen/runtime/runtime.ts';
import type { VersionStatusResponse } from '../gen/version/version.ts';
import type { Harness } from '../manager/testing.ts';
import { startClientHarness, TOKEN, type ClientHarness } from './testing.ts';
import { SERVICES, CONFIGMAPS, DEPLOYMENTS, createLogger, type ConfigMap, type Service } from '../kube/index.ts';
import { parseManagerConfig } from '../manager/config.ts';
import { startManager } from '../manager/server.ts';
import {
  ClientError,
  Connection,
  createRuntime,
  packKrt,
  readKrt,
  runtimeStatus,
  startVersion,
  updateConfig,
  versionAction,
  versionMetrics,
  versionStatus,
  waitForRuntime,
  watchVersionMetrics,
  watchVersionStatus,
  type ConnectionOptions,
  type MetricsPoint,
} from './index.ts';

const EXAMPLE = new URL('../../examples/greeter', import.meta.url).pathname;
const WAIT = 120_000;

/** The manager's error for `p`, which must fail with `code`. */
async function failure(p: Promise<unknown>, code: status): Promise<ClientError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ClientError, `expected a ClientError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail('the call succeeded');
}

describe('the kre client library against the manager', () => {
  let ch: ClientHarness;
  let h: Harness;
  let conn: Connection;
  let dir: string;

  before(async () => {
    ch = await startClientHarness();
    h = ch.h;
    conn = new Connection({ address: ch.address, token: TOKEN });
    dir = mkdtempSync(join(tmpdir(), 'kre-client-'));
  });
  after(async () => {
    conn?.close();
    await ch?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('runtime create with generated credentials, status, and a wait that reports progress until Running', async () => {
    assert.equal(await runtimeStatus(conn, 'demo'), undefined, 'no such runtime yet');
    const created = await createRuntime(conn, 'Demo');
    assert.deepEqual(created, { name: 'Demo', namespace: 'kre-demo', created: true, message: "Runtime 'Demo' created" });
    // The server fills the defaults: what it returns is a whole Runtime.
    const rt = await h.kube.get<Runtime>({ ...RUNTIMES, namespace: 'kre-demo', name: 'kre-demo' });
    assert.deepEqual(rt.spec.mongo.credentialsSecret, { name: rt.spec.mongo.credentialsSecret?.name }, 'credentials by Secret reference');
    // A second create leaves the runtime as it is: fresh credentials would not match its data.
    assert.deepEqual(await createRuntime(conn, 'Demo'), { name: 'Demo', namespace: 'kre-demo', created: false, message: "Runtime 'Demo' already exists" });

    const seen: RuntimeStatusResponse[] = [];
    const running = await waitForRuntime(conn, 'Demo', { timeoutMs: WAIT, onStatus: (s) => seen.push(s) });
    assert.equal(running.phase, 'Running');
    assert.equal(running.Status, 'STARTED');
    assert.deepEqual(running.components.map((c) => [c.name, c.ready]), [['MongoDB', true], ['NATS', true], ['MinIO', true], ['operator', true]]);
    assert.ok(seen.length >= 1 && seen.at(-1)!.phase === 'Running');
    const now = await runtimeStatus(conn, 'demo');
    assert.equal(now?.phase, 'Running');
  });

  test('a wait gives up at its timeout, naming what is not ready', async () => {
    await createRuntime(conn, 'slow');
    const err = await failure(waitForRuntime(conn, 'slow', { timeoutMs: 300 }), status.DEADLINE_EXCEEDED);
    assert.match(err.message, /^runtime slow is not running after 0 s: /);
  });

  test('version create from the example directory: the workflows become nodes and edges, and it runs', async () => {
    const pkg = await readKrt(EXAMPLE);
    const { version, message } = await startVersion(conn, 'demo', pkg, [{ key: 'GREETING_LANGUAGE', value: 'es' }]);
    assert.equal(message, "Version 'greeter-v1' started");
    const obj = await h.kube.get<RuntimeVersion>({ ...RUNTIME_VERSIONS, namespace: 'kre-demo', name: 'greeter-v1' });
    assert.equal(obj.spec.versionId, version.id);
    assert.deepEqual(obj.spec.config, [{ key: 'GREETING_LANGUAGE', value: 'es' }, { key: 'MODEL_PATH', value: '' }]);
    assert.deepEqual(
      obj.spec.workflows.map((wf) => [wf.name, wf.nodes.map((n) => `${n.id}:${n.name}`), wf.edges.map((e) => `${e.fromNode}>${e.toNode}`)]),
      [
        ['greeting', ['w0n0:parse', 'w0n1:greet'], ['w0n0>w0n1']],
        ['farewell', ['w1n0:parse', 'w1n1:farewell'], ['w1n0>w1n1']],
      ],
    );

    const seen: VersionStatusResponse[] = [];
    await watchVersionStatus(conn, 'demo', 'greeter-v1', (s) => {
      seen.push(s);
      return s.phase === 'Running' ? 'stop' : undefined;
    });
    const running = seen.at(-1)!;
    assert.equal(running.phase, 'Running');
    assert.deepEqual(running.nodes.map((n) => [n.name, n.ready]), [['entrypoint', true], ['greeting/parse', true], ['greeting/greet', true], ['farewell/parse', true], ['farewell/farewell', true]]);
    const deployments = (await h.kube.list({ ...DEPLOYMENTS, namespace: 'kre-demo' }, { labelSelector: 'version-name=greeter-v1' })).items.map((d) => d.metadata.name).sort();
    assert.deepEqual(deployments, ['greeter-v1-entrypoint', 'greeter-v1-farewell-w1n1', 'greeter-v1-greet-w0n1', 'greeter-v1-parse-w0n0', 'greeter-v1-parse-w1n0']);
    const st = await versionStatus(conn, 'demo', 'greeter-v1');
    assert.deepEqual([st.name, st.namespace, st.state, st.phase, st.published], ['greeter-v1', 'kre-demo', 'Started', 'Running', false]);
  });

  test('version start from a packed .krt of the same directory sends the same version', async () => {
    const { file } = await packKrt(EXAMPLE, join(dir, 'greeter-v1.krt'));
    const before = await h.kube.get<RuntimeVersion>({ ...RUNTIME_VERSIONS, namespace: 'kre-demo', name: 'greeter-v1' });
    const { version } = await startVersion(conn, 'demo', await readKrt(file), [{ key: 'GREETING_LANGUAGE', value: 'es' }]);
    assert.equal(version.id, before.spec.versionId);
    const after = await h.kube.get({ ...RUNTIME_VERSIONS, namespace: 'kre-demo', name: 'greeter-v1' });
    assert.equal(after.metadata.generation, before.metadata.generation, 'the same spec: no new generation');
  });

  test('publish makes the active-entrypoint Service select the version; unpublish removes it', async () => {
    assert.equal(await versionAction(conn, 'publish', 'demo', 'greeter-v1'), "Version 'greeter-v1' published");
    const svc = await eventually(() => h.kube.get<Service>({ ...SERVICES, namespace: 'kre-demo', name: 'active-entrypoint' }).catch(() => undefined), WAIT, 'the active-entrypoint Service');
    assert.deepEqual(svc.spec?.selector, { type: 'entrypoint', 'version-name': 'greeter-v1' });
    await eventually(async () => (await versionStatus(conn, 'demo', 'greeter-v1')).published, WAIT, 'status published');
    const stopWhilePublished = await failure(versionAction(conn, 'stop', 'demo', 'greeter-v1'), status.FAILED_PRECONDITION);
    assert.match(stopWhilePublished.message, /is published: unpublish it before stopping it/);
    assert.equal(await versionAction(conn, 'unpublish', 'demo', 'greeter-v1'), "Version 'greeter-v1' unpublished");
    await eventually(() => h.kube.get({ ...SERVICES, namespace: 'kre-demo', name: 'active-entrypoint' }).then(() => false, () => true), WAIT, 'the Service gone');
  });

  test('metrics: a range of points near the simulated usage of the version\'s five pods, and a stream of new ones', async () => {
    // Each container of the simulated nodes uses 20m without a request (±10 % noise), and grows to 64 MiB.
    const pods = 5;
    // A point sampled while a pod is still starting counts fewer pods: wait for three that count all five.
    const near = (x: MetricsPoint) => x.cpu > pods * 20 * 0.85 && x.cpu < pods * 20 * 1.15;
    let last: MetricsPoint[] = [];
    const points = await eventually(async () => {
      const to = new Date();
      const p = await versionMetrics(conn, 'demo', 'greeter-v1', { from: new Date(to.getTime() - 30_000), to, step: 2 });
      last = p.slice(-3);
      return p.length >= 3 && last.every(near) && p;
    }, WAIT, 'three points with the CPU of all five pods').catch((err: Error) => {
      throw new Error(`${err.message}; the last points: ${JSON.stringify(last)}`);
    });
    for (const p of points.slice(-3)) {
      assert.match(p.date, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
      assert.ok(p.cpu > pods * 20 * 0.85 && p.cpu < pods * 20 * 1.15, `cpu ${p.cpu}m near ${pods * 20}m`);
      assert.ok(p.mem > pods * 2 * 1024 ** 2 && p.mem <= pods * 64 * 1024 ** 2, `memory ${p.mem} between ${pods} × 2 MiB and ${pods} × 64 MiB`);
    }
    const got: MetricsPoint[] = [];
    const ac = new AbortController();
    await watchVersionMetrics(conn, 'demo', 'greeter-v1', { from: new Date(Date.now() - 10_000), step: 1 }, (batch) => {
      got.push(...batch);
      if (got.length >= 3) ac.abort();
    }, ac.signal);
    assert.ok(got.length >= 3);
    assert.ok(got.every((p) => p.cpu >= 0 && p.mem >= 0));
    const err = await failure(versionMetrics(conn, 'demo', 'greeter-v1', { from: new Date(), to: new Date(Date.now() - 1000), step: 1 }), status.INVALID_ARGUMENT);
    assert.match(err.message, /^invalid /);
  });

  // After the metrics: a new configuration rolls the pods, and a point taken mid-roll counts fewer of them.
  test('config sets the values; a key the manager refuses comes back with its field', async () => {
    assert.equal(await updateConfig(conn, 'demo', 'greeter-v1', [{ key: 'GREETING_LANGUAGE', value: 'fr' }, { key: 'MODEL_PATH', value: '/models/2' }]), "Version 'greeter-v1' config updated");
    await eventually(async () => (await h.kube.get<ConfigMap>({ ...CONFIGMAPS, namespace: 'kre-demo', name: 'greeter-v1-global' })).data?.GREETING_LANGUAGE === 'fr', WAIT, 'the new value in greeter-v1-global');
    const err = await failure(updateConfig(conn, 'demo', 'greeter-v1', [{ key: 'bad-key', value: '1' }]), status.INVALID_ARGUMENT);
    assert.equal(err.field, 'version.config[0].key');
    assert.match(err.message, /^invalid version\.config\[0\]\.key: version\.config\[0\]\.key: "bad-key" is not a configuration variable/);
  });

  test('errors: unknown version, a wrong token, an unreachable manager', async () => {
    const missing = await failure(versionStatus(conn, 'demo', 'nope-v1'), status.NOT_FOUND);
    assert.equal(missing.message, 'version nope-v1 in namespace kre-demo not found');
    const wrong = new Connection({ address: ch.address, token: 'not-the-token' });
    try {
      const err = await failure(versionStatus(wrong, 'demo', 'greeter-v1'), status.UNAUTHENTICATED);
      assert.equal(err.message, `the manager at ${ch.address} refused the token: the bearer token is not valid (give the manager's token with --token-file or KRE_MANAGER_TOKEN)`);
      assert.doesNotMatch(err.message, /not-the-token/);
    } finally {
      wrong.close();
    }
    const away = new Connection({ address: '127.0.0.1:1', token: TOKEN, timeoutMs: 5000 });
    try {
      const err = await failure(runtimeStatus(away, 'demo'), status.UNAVAILABLE);
      assert.match(err.message, /^cannot reach the manager at 127\.0\.0\.1:1: .*ECONNREFUSED/);
    } finally {
      away.close();
    }
  });

  test('TLS: a manager with a self-signed certificate, trusted by its CA or not checked at all; plaintext does not reach it', async () => {
    const manager = await startManager({ config: parseManagerConfig({ listen: '127.0.0.1:0', tls: { selfSigned: true } }), token: TOKEN, kube: h.kube, logger: createLogger('manager', 'silent') });
    const conns: Connection[] = [];
    const connect = (o: Omit<ConnectionOptions, 'address' | 'token'>) => {
      const c = new Connection({ address: manager.address, token: TOKEN, timeoutMs: 10_000, ...o });
      conns.push(c);
      return c;
    };
    try {
      assert.ok(manager.certificate);
      assert.equal((await runtimeStatus(connect({ tls: { ca: Buffer.from(manager.certificate!) } }), 'demo'))?.phase, 'Running');
      assert.equal((await runtimeStatus(connect({ tls: { insecureSkipVerify: true } }), 'demo'))?.phase, 'Running');
      const untrusted = await failure(runtimeStatus(connect({ tls: {} }), 'demo'), status.UNAVAILABLE);
      assert.match(untrusted.message, /^cannot reach the manager at /);
      await failure(runtimeStatus(connect({}), 'demo'), status.UNAVAILABLE);
    } finally {
      for (const c of conns) c.close();
      await manager.stop(1000);
    }
  });

  test('stop answers once the workloads are gone', async () => {
    assert.equal(await versionAction(conn, 'stop', 'demo', 'greeter-v1'), "Version 'greeter-v1' stopped");
    assert.equal((await h.kube.list({ ...DEPLOYMENTS, namespace: 'kre-demo' }, { labelSelector: 'version-name=greeter-v1' })).items.length, 0);
    assert.equal((await versionStatus(conn, 'demo', 'greeter-v1')).phase, 'Stopped');
  });
});

import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { startTestApiServer, type TestApiServer } from '../../test/support/apiserver.ts';
import { eventually } from '../devcluster/testing.ts';
import { KubeClient, LEASES, type Lease, type Service } from '../kube/index.ts';
import { createLogger } from '../kube/logger.ts';
import { RUNTIME_VERSIONS, RUNTIMES, type RuntimeObject, type RuntimeVersionObject } from '../api/index.ts';
import { startOperator, type Operator } from './operator.ts';
import { createNamespace, DEPLOYMENTS, runtimeObject, runtimeRef, SECRETS, STATEFULSETS, versionObject, versionRef } from './testing.ts';

const WAIT = 90_000;
const KRE = new URL('../../bin/kre.js', import.meta.url).pathname;
const run = promisify(execFile);
const quiet = () => createLogger('operator', 'silent');
const fastElection = (identity: string) => ({ namespace: 'default', identity, leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 300 });

describe('kre operator on an API server', () => {
  let server: TestApiServer;
  let client: KubeClient;

  before(async () => {
    server = await startTestApiServer({ nodes: 3 });
    client = new KubeClient(server.kubeConfig());
  });

  after(async () => {
    client?.close();
    await server?.stop();
  });

  test('kre operator install applies the CRDs and waits until they are served', async () => {
    const { stdout } = await run(process.execPath, [KRE, 'operator', 'install', '--kubeconfig', server.kubeconfigPath]);
    assert.match(stdout, /runtimes\.kre\.konstellation\.io established/);
    assert.match(stdout, /runtimeversions\.kre\.konstellation\.io established/);
    await client.list({ ...RUNTIMES, namespace: 'default' });
  });

  test('kre operator logs ready, serves /metrics, /livez and /readyz, reconciles, and exits 0 on SIGTERM', async () => {
    await createNamespace(client, 'kre-cli');
    const child = spawn(process.execPath, [KRE, 'operator', '--kubeconfig', server.kubeconfigPath, '--listen', '127.0.0.1:0', '--namespace', 'kre-cli'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, KRE_LOG_LEVEL: 'info' },
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const ready = await eventually(() => out.split('\n').find((l) => l.includes('"msg":"ready"')), 30_000, 'the ready line');
      const { metrics, readyz, livez } = JSON.parse(ready) as { metrics: string; readyz: string; livez: string };
      assert.equal((await fetch(livez)).status, 200);
      await eventually(async () => (await fetch(readyz)).status === 200, 30_000, '/readyz 200');
      await client.create({ ...RUNTIMES, namespace: 'kre-cli' }, runtimeObject('kre-cli', 'kre-cli', { developmentMode: true }));
      await eventually(async () => (await client.get<RuntimeObject>(runtimeRef('kre-cli', 'kre-cli'))).status?.phase === 'Running', WAIT, 'Runtime Running');
      const text = await (await fetch(metrics)).text();
      assert.match(text, /kre_controller_reconcile_total\{controller="runtime",result="success"\} \d+/);
      const lease = await client.get<Lease>({ ...LEASES, namespace: 'kre-cli', name: 'kre-operator' });
      assert.ok(lease.spec?.holderIdentity);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, out);
    assert.match(out, /"msg":"stopped"/);
    // A clean stop releases the Lease, so a successor need not wait for it to expire.
    assert.equal((await client.get<Lease>({ ...LEASES, namespace: 'kre-cli', name: 'kre-operator' })).spec?.holderIdentity, '');
  });

  test('bad configuration exits 2 naming the field', async () => {
    const fail = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
      try {
        await run(process.execPath, [KRE, 'operator', '--kubeconfig', server.kubeconfigPath, ...args], { env: { ...process.env, ...env } });
      } catch (err) {
        const e = err as { code: number; stderr: string };
        return { code: e.code, stderr: e.stderr };
      }
      throw new Error('kre operator started with a bad configuration');
    };
    const workers = await fail(['--workers', 'many']);
    assert.equal(workers.code, 2);
    assert.match(workers.stderr, /workers/);
    const ns = await fail([], { WATCH_NAMESPACE: 'Not_A_Namespace' });
    assert.equal(ns.code, 2);
    assert.match(ns.stderr, /namespace/);
    const listen = await fail(['--listen', 'nowhere']);
    assert.equal(listen.code, 2);
    assert.match(listen.stderr, /listen/);
  });

  test('of two instances one leads; when it stops the other takes over', async () => {
    await createNamespace(client, 'kre-le');
    const a = startOperator({ client, namespace: 'kre-le', logger: quiet(), leaderElection: fastElection('a') });
    const b = startOperator({ client, namespace: 'kre-le', logger: quiet(), leaderElection: fastElection('b') });
    try {
      const leader = await eventually(() => (a.leading() ? a : b.leading() ? b : undefined), 30_000, 'a leader');
      const standby = leader === a ? b : a;
      await new Promise((r) => setTimeout(r, 1000));
      assert.equal(standby.leading(), false);
      await client.create({ ...RUNTIMES, namespace: 'kre-le' }, runtimeObject('kre-le', 'kre-le', { developmentMode: true }));
      await eventually(async () => (await client.get<RuntimeObject>(runtimeRef('kre-le', 'kre-le'))).status?.phase === 'Running', WAIT, 'Runtime Running');
      await leader.stop();
      await eventually(() => standby.leading(), 30_000, 'the standby leading');
      await client.patch(runtimeRef('kre-le', 'kre-le'), { spec: { publishedVersion: 'v1' } });
      await eventually(async () => (await client.get<Service>({ group: '', version: 'v1', plural: 'services', namespace: 'kre-le', name: 'active-entrypoint' })).spec?.selector?.['version-name'] === 'v1', WAIT, 'the new leader reconciling');
    } finally {
      await a.stop();
      await b.stop();
    }
  });

  test('stopped mid-reconcile and started again, the operator converges with no duplicates', async () => {
    await createNamespace(client, 'kre-restart');
    let op: Operator = startOperator({ client, namespace: 'kre-restart', logger: quiet(), leaderElection: false, workers: 1 });
    await client.create({ ...RUNTIMES, namespace: 'kre-restart' }, runtimeObject('kre-restart', 'kre-restart', { developmentMode: true }));
    await client.create({ ...RUNTIME_VERSIONS, namespace: 'kre-restart' }, versionObject('kre-restart', 'v1', { greeting: ['parse', 'greet'], scoring: ['score'] }));
    // Stop as soon as the first child exists: the reconcile in flight is cut short.
    await eventually(async () => (await client.list({ ...SECRETS, namespace: 'kre-restart' })).items.length > 0, WAIT, 'a first child');
    await op.stop();
    const generated = (await client.list({ ...SECRETS, namespace: 'kre-restart' })).items.find((s) => s.metadata.name === 'kre-mongo-credentials');
    op = startOperator({ client, namespace: 'kre-restart', logger: quiet(), leaderElection: false });
    try {
      await eventually(async () => (await client.get<RuntimeObject>(runtimeRef('kre-restart', 'kre-restart'))).status?.phase === 'Running', WAIT, 'Runtime Running');
      await eventually(async () => (await client.get<RuntimeVersionObject>(versionRef('kre-restart', 'v1'))).status?.phase === 'Running', WAIT, 'version Running');
      const names = async (type: typeof STATEFULSETS) => (await client.list({ ...type, namespace: 'kre-restart' })).items.map((o) => o.metadata.name).sort();
      assert.deepEqual(await names(STATEFULSETS), ['kre-minio', 'kre-mongo', 'kre-nats']);
      assert.deepEqual(await names(DEPLOYMENTS), ['v1-entrypoint', 'v1-greet-gregreet', 'v1-parse-greparse', 'v1-score-scoscore']);
      assert.deepEqual(await names(SECRETS), ['kre-minio-credentials', 'kre-mongo-connection', 'kre-mongo-credentials']);
      if (generated) {
        // Credentials generated before the stop are kept: the data they protect was initialised with them.
        const now = await client.get({ ...SECRETS, namespace: 'kre-restart', name: 'kre-mongo-credentials' });
        assert.equal(now.metadata.uid, generated.metadata.uid);
        assert.deepEqual(now.data, generated.data);
      }
    } finally {
      await op.stop();
    }
  });
});

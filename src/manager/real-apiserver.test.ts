/**
 * Per-namespace mode on a real kube-apiserver (RBAC enforced): the manager runs with exactly the
 * ClusterRole of deploy/manager.yaml, creates a runtime whose operator Role it must hold to grant,
 * and the operator then reconciles the runtime with nothing but that Role's token.
 * Skipped where the real API server's binaries are not on the machine.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { RuntimeServiceClient } from '../gen/runtime/runtime.ts';
import { credentials } from '@grpc/grpc-js';
import { applyObject, KubeClient, loadKubeConfig, type KubeObject } from '../kube/index.ts';
import { createLogger } from '../kube/logger.ts';
import { installCustomResourceDefinitions, startOperator, type Operator } from '../operator/index.ts';
import { operatorRules } from '../operator/deploy.ts';
import { parseManagerConfig } from './config.ts';
import { renderManagerManifests } from './deploy.ts';
import { startManager, type Manager } from './server.ts';
import { auth, call, credentialsMessage, TOKEN } from './testing.ts';
import type { RuntimeStatusResponse } from '../gen/runtime/runtime.ts';

const SHARED = '/work/shared/kube-apiserver';
const available = existsSync(join(SHARED, 'start.sh'));
const run = promisify(execFile);
const KRE = new URL('../../bin/kre.js', import.meta.url).pathname;

/** A client that acts as the ServiceAccount, with a token from the TokenRequest API. */
async function clientAs(env: Record<string, string>, namespace: string, sa: string): Promise<KubeClient> {
  const { stdout } = await run('kubectl', ['--kubeconfig', env.KUBECONFIG, '-n', namespace, 'create', 'token', sa, '--duration', '1h']);
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'real', server: env.KRE_REAL_APISERVER_URL, caData: Buffer.from(readFileSync(env.KRE_REAL_APISERVER_CA)).toString('base64') }],
    users: [{ name: sa, token: stdout.trim() }],
    contexts: [{ name: sa, cluster: 'real', user: sa, namespace }],
    currentContext: sa,
  });
  return new KubeClient(kc);
}

describe('per-namespace mode on a real API server', { skip: !available && 'no real kube-apiserver on this machine' }, () => {
  let dir: string;
  let env: Record<string, string>;
  let nodes: ChildProcess | undefined;
  let admin: KubeClient;
  const clients: KubeClient[] = [];
  let manager: Manager | undefined;
  let operator: Operator | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kre-real-'));
    await run(join(SHARED, 'start.sh'), [dir], { timeout: 120_000 });
    env = Object.fromEntries(
      readFileSync(join(dir, 'env'), 'utf8')
        .split('\n')
        .map((l) => /^(?:export )?([A-Z_]+)=["']?(.*?)["']?$/.exec(l.trim()))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => [m[1], m[2]]),
    );
    nodes = spawn(process.execPath, [KRE, 'devcluster', 'nodes', '--kubeconfig', env.KUBECONFIG, '--nodes', '2', '--controllers'], { stdio: 'ignore', env: { ...process.env, KRE_LOG_LEVEL: 'warn' } });
    admin = new KubeClient(loadKubeConfig({ kubeconfig: env.KUBECONFIG }).kc);
    await installCustomResourceDefinitions(admin);
  });

  after(async () => {
    await operator?.stop();
    await manager?.stop(1000);
    for (const c of clients) c.close();
    admin?.close();
    if (nodes && nodes.exitCode === null) {
      const exited = new Promise((r) => nodes!.once('exit', r));
      nodes.kill('SIGTERM');
      await exited;
    }
    if (dir) {
      await run(join(SHARED, 'stop.sh'), [dir]).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the manager, with only deploy/manager.yaml's ClusterRole, deploys an operator that reconciles the runtime with only its Role", async () => {
    // The manager's identity: its ServiceAccount, ClusterRole and binding exactly as deploy/ has them.
    await admin.create({ group: '', version: 'v1', plural: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kre-system' } });
    const manifests = renderManagerManifests(operatorRules())['manager.yaml'].split(/^---$/m).map((d) => parseYaml(d) as KubeObject | null).filter((o): o is KubeObject => !!o && o.kind !== 'Deployment' && o.kind !== 'Service');
    for (const obj of manifests) await applyObject(admin, obj, { fieldManager: 'test', force: true });
    const asManager = await clientAs(env, 'kre-system', 'kre-manager');
    clients.push(asManager);
    manager = await startManager({
      config: parseManagerConfig({ listen: '127.0.0.1:0', operator: { mode: 'per-namespace' } }),
      token: TOKEN,
      kube: asManager,
      logger: createLogger('manager', process.env.KRE_TEST_LOG ?? 'silent'),
      operatorRules: operatorRules(),
    });
    const client = new RuntimeServiceClient(manager.address, credentials.createInsecure());
    try {
      const ns = 'kre-real';
      const req = { runtime: { name: 'real', namespace: ns, ...credentialsMessage() } };
      assert.equal((await call<{ message: string }>(client, 'create', req)).message, "Runtime 'real' created");
      assert.equal((await call<{ message: string }>(client, 'create', req)).message, "Runtime 'real' created");

      // The operator as its own ServiceAccount: only the Role the manager wrote.
      const asOperator = await clientAs(env, ns, 'k8s-runtime-operator');
      clients.push(asOperator);
      await assert.rejects(asOperator.list({ group: '', version: 'v1', plural: 'secrets', namespace: 'kre-system' }), /forbidden/i);
      operator = startOperator({ client: asOperator, namespace: ns, logger: createLogger('operator', process.env.KRE_TEST_LOG ?? 'silent'), leaderElection: { namespace: ns, leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 300 } });
      // The operator, with only that Role, renders the runtime and reports on it through the manager.
      // (Its pods stay Pending here: without a node lifecycle controller the simulated nodes keep
      // the not-ready taint the API server gives new nodes, so the runtime never reaches Running.)
      const stream = client.watchRuntimeStatus(req, auth());
      const reported = await new Promise<RuntimeStatusResponse>((resolve, reject) => {
        stream.on('data', (m: RuntimeStatusResponse) => m.components.find((c) => c.name === 'operator')?.ready && resolve(m));
        stream.on('error', reject);
      });
      stream.cancel();
      assert.equal(reported.phase, 'Creating');
      const sets = (await admin.list({ group: 'apps', version: 'v1', plural: 'statefulsets', namespace: ns })).items.map((o) => o.metadata.name).sort();
      assert.deepEqual(sets, ['kre-minio', 'kre-mongo', 'kre-nats']);
    } finally {
      client.close();
    }
  });
});

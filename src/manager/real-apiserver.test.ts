/**
 * Per-namespace mode on a real kube-apiserver (RBAC enforced): the manager runs with exactly the
 * ClusterRole of deploy/manager.yaml, creates a runtime whose operator Role it must hold to grant,
 * and the operator then reconciles the runtime with nothing but that Role's token, until the
 * runtime runs on the simulated nodes (`kre devcluster nodes`) under the real controller manager.
 * Needs the real API server's binaries: the plain pass runs it where they are, and skips it, saying
 * so, where they are not.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { RuntimeServiceClient } from '../gen/runtime/runtime.ts';
import { credentials } from '@grpc/grpc-js';
import { applyObject, KubeClient, type KubeObject } from '../kube/index.ts';
import { createLogger } from '../kube/logger.ts';
import { installCustomResourceDefinitions, startOperator, type Operator } from '../operator/index.ts';
import { operatorRules } from '../operator/deploy.ts';
import { parseManagerConfig } from './config.ts';
import { renderManagerManifests } from './deploy.ts';
import { startManager, type Manager } from './server.ts';
import { auth, call, credentialsMessage, TOKEN } from './testing.ts';
import type { RuntimeStatusResponse } from '../gen/runtime/runtime.ts';
import { REAL_APISERVER_DIR, realApiServerAvailable, serviceAccountToken, startRealApiServer, type TestApiServer } from '../../test/support/apiserver.ts';

const WAIT = 240_000;

describe('per-namespace mode on a real API server', { skip: !realApiServerAvailable() && `no real kube-apiserver at ${REAL_APISERVER_DIR}` }, () => {
  let server: TestApiServer;
  let admin: KubeClient;
  const clients: KubeClient[] = [];
  let manager: Manager | undefined;
  let operator: Operator | undefined;

  /** A client that acts as the ServiceAccount, with a token from the TokenRequest API. */
  const clientAs = async (namespace: string, sa: string) => {
    const client = new KubeClient(server.kubeConfigWithToken(await serviceAccountToken(admin, namespace, sa)));
    clients.push(client);
    return client;
  };

  before(async () => {
    // The real controller manager runs the StatefulSets; the simulated nodes run their pods.
    server = await startRealApiServer({ nodes: 3 });
    admin = server.client;
    await installCustomResourceDefinitions(admin);
  });

  after(async () => {
    await operator?.stop();
    await manager?.stop(1000);
    for (const c of clients) c.close();
    await server?.stop();
  });

  test("the manager, with only deploy/manager.yaml's ClusterRole, deploys an operator that reconciles the runtime with only its Role", async () => {
    // The manager's identity: its ServiceAccount, ClusterRole and binding exactly as deploy/ has them.
    await admin.create({ group: '', version: 'v1', plural: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kre-system' } });
    const manifests = renderManagerManifests(operatorRules())['manager.yaml'].split(/^---$/m).map((d) => parseYaml(d) as KubeObject | null).filter((o): o is KubeObject => !!o && o.kind !== 'Deployment' && o.kind !== 'Service');
    for (const obj of manifests) await applyObject(admin, obj, { fieldManager: 'test', force: true });
    const asManager = await clientAs('kre-system', 'kre-manager');
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
      const asOperator = await clientAs(ns, 'k8s-runtime-operator');
      await assert.rejects(asOperator.list({ group: '', version: 'v1', plural: 'secrets', namespace: 'kre-system' }), /forbidden/i);
      operator = startOperator({ client: asOperator, namespace: ns, logger: createLogger('operator', process.env.KRE_TEST_LOG ?? 'silent'), leaderElection: { namespace: ns, leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 300 } });
      // The operator, with only that Role, renders the runtime and reports on it through the manager.
      const stream = client.watchRuntimeStatus(req, auth());
      const reported = await new Promise<RuntimeStatusResponse>((resolve, reject) => {
        stream.on('data', (m: RuntimeStatusResponse) => m.components.find((c) => c.name === 'operator')?.ready && resolve(m));
        stream.on('error', reject);
      });
      stream.cancel();
      assert.notEqual(reported.phase, 'Failed', reported.message);
      const sets = (await admin.list({ group: 'apps', version: 'v1', plural: 'statefulsets', namespace: ns })).items.map((o) => o.metadata.name).sort();
      assert.deepEqual(sets, ['kre-minio', 'kre-mongo', 'kre-nats']);
      // Until the runtime runs: its pods scheduled, started and ready on the simulated nodes.
      const running = await call<RuntimeStatusResponse>(client, 'runtimeStatus', { runtime: { name: 'real', namespace: ns } }, { deadlineMs: WAIT });
      assert.equal(running.Status, 'STARTED');
      assert.equal(running.phase, 'Running');
      assert.deepEqual(running.components.map((c) => [c.name, c.ready]), [['MongoDB', true], ['NATS', true], ['MinIO', true], ['operator', true]]);
    } finally {
      client.close();
    }
  });
});

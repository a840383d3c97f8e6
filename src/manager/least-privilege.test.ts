/**
 * The manager runs with exactly the RBAC of deploy/manager.yaml: under its ServiceAccount's token
 * (from the TokenRequest API, as `kubectl create token` gets it), never as admin, it creates a
 * runtime in per-namespace mode (Namespace, Secrets, Runtime, and the operator's ServiceAccount,
 * Role, RoleBinding and Deployment), follows Runtimes and samples metrics.k8s.io with no refusal;
 * and with any one rule of its ClusterRole removed it is refused (a Forbidden in its log or in a
 * call's answer), so no rule is there for nothing. The operator's rules are in the ClusterRole so
 * that the manager may grant them: without one, the Role it writes is refused as an escalation.
 * Needs a real API server: the devcluster checks no RBAC.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ServiceError } from '@grpc/grpc-js';
import { KubeClient } from '../kube/index.ts';
import { installCustomResourceDefinitions } from '../operator/index.ts';
import { operatorRules } from '../operator/deploy.ts';
import { RuntimeServiceClient } from '../gen/runtime/runtime.ts';
import { credentials } from '@grpc/grpc-js';
import { parseManagerConfig } from './config.ts';
import { startResourceMetricsService } from './resource-metrics-service.ts';
import { startManager } from './server.ts';
import { call, credentialsMessage, TOKEN } from './testing.ts';
import { realOnly } from '../../test/support/apiserver.ts';
import { capturedLog, describeRule, manifestRbac, refused, startRbacBed, type RbacBed } from '../../test/support/rbac.ts';

const MANIFEST = new URL('../../deploy/manager.yaml', import.meta.url);
const { rules } = manifestRbac(MANIFEST);

describe('the manager under the RBAC of deploy/', realOnly('rbac'), () => {
  let bed: RbacBed;
  let runs = 0;

  before(async () => {
    bed = await startRbacBed(MANIFEST, installCustomResourceDefinitions);
  });
  after(() => bed?.stop());

  /**
   * Runs the manager as its ServiceAccount, in per-namespace mode with metrics from metrics.k8s.io
   * (which this server does not serve: allowed, it answers 404; refused, 403): creates a runtime
   * twice and asks for its status. Returns the manager's log lines and the calls' errors.
   */
  async function runManager(): Promise<string[]> {
    const ns = `lp-${++runs}`;
    const { lines, logger } = capturedLog('manager');
    const kube = new KubeClient(bed.server.kubeConfigWithToken(bed.token), { userAgent: 'kre-manager' });
    const config = parseManagerConfig({ listen: '127.0.0.1:0', operator: { mode: 'per-namespace' }, metrics: { source: 'metrics-api' } });
    const metrics = await startResourceMetricsService({ config: config.metrics, kube, logger });
    const manager = await startManager({ config, token: TOKEN, kube, logger, operatorRules: operatorRules(), resourceMetrics: metrics.handlers, resourceMetricsReady: metrics.ready });
    const client = new RuntimeServiceClient(manager.address, credentials.createInsecure());
    const failed = (err: ServiceError) => lines.push(`call failed: ${err.code} ${err.details}`);
    try {
      const req = { runtime: { name: ns, namespace: ns, ...credentialsMessage() } };
      for (let i = 0; i < 2; i++) await call(client, 'create', req, { deadlineMs: 20_000 }).catch(failed);
      // No operator runs here: the status waits, and only the wait may end it.
      await call(client, 'runtimeStatus', req, { deadlineMs: 3_000 }).catch(failed);
      return lines;
    } finally {
      client.close();
      await metrics.close();
      await manager.stop(1000);
      kube.close();
    }
  }

  test('with the rules of deploy/, it creates a per-namespace runtime, follows it and samples metrics, and is never refused', async () => {
    const lines = await runManager();
    assert.deepEqual(refused(lines), [], 'no request of the manager was refused');
    const made = await Promise.all([
      bed.server.client.get({ group: 'kre.konstellation.io', version: 'v1alpha1', plural: 'runtimes', namespace: 'lp-1', name: 'lp-1' }),
      bed.server.client.get({ group: 'rbac.authorization.k8s.io', version: 'v1', plural: 'roles', namespace: 'lp-1', name: 'k8s-runtime-operator' }),
      bed.server.client.get({ group: 'apps', version: 'v1', plural: 'deployments', namespace: 'lp-1', name: 'k8s-runtime-operator' }),
    ]);
    assert.equal(made.length, 3, 'the Runtime and the operator it needs were written');
    // Only the wait ended the status call; metrics.k8s.io was asked (and is not served here).
    assert.ok(lines.some((l) => /call failed: 4 .*not running yet/.test(l)), lines.filter((l) => l.startsWith('call failed')).join('\n'));
    assert.ok(lines.some((l) => /sampling metrics\.k8s\.io failed/.test(l) && /not found|404|could not find/i.test(l)), 'metrics.k8s.io answered 404, not 403');
  });

  for (let i = 0; i < rules.length; i++) {
    test(`without the rule ${describeRule(rules[i])}, the manager is refused`, async () => {
      const lines = await bed.withoutRule(i, runManager);
      assert.ok(refused(lines).length > 0, `nothing was refused:\n${lines.slice(-10).join('\n')}`);
    });
  }
});

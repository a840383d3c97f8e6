/**
 * The operator runs with exactly the RBAC of deploy/operator-cluster-wide.yaml: under its
 * ServiceAccount's token (from the TokenRequest API, as `kubectl create token` gets it), never as
 * admin, it reconciles a Runtime and a RuntimeVersion with no refusal; and with any one rule of its
 * ClusterRole removed, it is refused (a Forbidden in its log), so no rule is there for nothing.
 * Needs a real API server: the devcluster checks no RBAC.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eventually } from '../devcluster/testing.ts';
import { KubeClient, type Event } from '../kube/index.ts';
import { RUNTIMES, RUNTIME_VERSIONS, type RuntimeObject, type RuntimeVersionObject } from '../api/index.ts';
import { installCustomResourceDefinitions } from './install.ts';
import { startOperator } from './operator.ts';
import { createNamespace, runtimeObject, runtimeRef, versionObject, versionRef, STATEFULSETS } from './testing.ts';
import { realOnly } from '../../test/support/apiserver.ts';
import { capturedLog, describeRule, manifestRbac, refused, startRbacBed, type RbacBed } from '../../test/support/rbac.ts';

const MANIFEST = new URL('../../deploy/operator-cluster-wide.yaml', import.meta.url);
const { rules } = manifestRbac(MANIFEST);

describe('the operator under the RBAC of deploy/', realOnly('rbac'), () => {
  let bed: RbacBed;
  let runs = 0;

  before(async () => {
    bed = await startRbacBed(MANIFEST, installCustomResourceDefinitions);
  });
  after(() => bed?.stop());

  /** Runs the operator as its ServiceAccount on a new Runtime and RuntimeVersion; returns its log lines. */
  async function runOperator(until: (log: string[], ns: string, client: KubeClient) => Promise<boolean>): Promise<string[]> {
    const ns = `lp-${++runs}`;
    await createNamespace(bed.server.client, ns);
    const { lines, logger } = capturedLog('operator');
    const client = new KubeClient(bed.server.kubeConfigWithToken(bed.token), { userAgent: 'kre-operator' });
    const operator = startOperator({ client, logger, leaderElection: { namespace: 'kre-system', name: `kre-operator-${ns}`, leaseDurationMs: 4000, renewDeadlineMs: 3000, retryPeriodMs: 500 } });
    try {
      await bed.server.client.create({ ...RUNTIMES, namespace: ns }, runtimeObject(ns, ns, { developmentMode: true }));
      await bed.server.client.create({ ...RUNTIME_VERSIONS, namespace: ns }, versionObject(ns, 'v1', { classify: ['a', 'b'] }, { state: 'Started' }));
      await eventually(() => until(lines, ns, bed.server.client), 45_000, `the operator's run in ${ns}`);
      return lines;
    } finally {
      await operator.stop();
      client.close();
    }
  }

  test('with the rules of deploy/, it reconciles a Runtime and a RuntimeVersion and is never refused', async () => {
    const lines = await runOperator(async (_log, ns, admin) => {
      const rt = await admin.get<RuntimeObject>(runtimeRef(ns, ns));
      const v = await admin.get<RuntimeVersionObject>(versionRef(ns, 'v1'));
      const mongo = await admin.get({ ...STATEFULSETS, namespace: ns, name: 'kre-mongo' }).catch(() => undefined);
      const events = await admin.list<Event>({ group: '', version: 'v1', plural: 'events', namespace: ns });
      // With no nodes the Runtime never runs, so the version waits for it (phase Waiting) and makes
      // no Deployment; the operator still lists and watches Deployments, which the rule removal shows.
      return (
        rt.status?.observedGeneration === rt.metadata.generation &&
        v.status?.phase !== undefined &&
        mongo !== undefined &&
        events.items.some((e) => e.source?.component === 'kre-operator' || e.reportingComponent === 'kre-operator')
      );
    });
    assert.deepEqual(refused(lines), [], 'no request of the operator was refused');
  });

  for (let i = 0; i < rules.length; i++) {
    test(`without the rule ${describeRule(rules[i])}, the operator is refused`, async () => {
      const lines = await bed.withoutRule(i, () => runOperator(async (log) => refused(log).length > 0));
      assert.ok(refused(lines).length > 0);
    });
  }
});

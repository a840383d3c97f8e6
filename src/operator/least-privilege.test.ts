/**
 * The operator runs with exactly the RBAC of deploy/operator-cluster-wide.yaml: under its
 * ServiceAccount's token (from the TokenRequest API, as `kubectl create token` gets it), never as
 * admin, it reconciles a Runtime and a RuntimeVersion with no refusal; and with any one rule of its
 * ClusterRole removed, it is refused (a Forbidden in its log), so no rule is there for nothing.
 * Needs a real API server: the devcluster checks no RBAC.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { parseAllDocuments } from 'yaml';
import { eventually } from '../devcluster/testing.ts';
import { KubeClient, type KubeObject } from '../kube/index.ts';
import { serializeError } from '../kube/logger.ts';
import { RUNTIMES, RUNTIME_VERSIONS } from '../api/index.ts';
import { installCustomResourceDefinitions } from './install.ts';
import { startOperator } from './operator.ts';
import { createNamespace, runtimeObject, runtimeRef, versionObject, versionRef, STATEFULSETS } from './testing.ts';
import { realOnly, serviceAccountToken, startTestApiServer, type TestApiServer } from '../../test/support/apiserver.ts';

const MANIFEST = new URL('../../deploy/operator-cluster-wide.yaml', import.meta.url);
const CLUSTER_ROLES = { group: 'rbac.authorization.k8s.io', version: 'v1', plural: 'clusterroles', kind: 'ClusterRole', namespaced: false };

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

const docs = parseAllDocuments(readFileSync(MANIFEST, 'utf8')).map((d) => d.toJS() as KubeObject);
const role = docs.find((d) => d.kind === 'ClusterRole')!;
const rules: Rule[] = (role as unknown as { rules: Rule[] }).rules;
const describeRule = (r: Rule) => `${r.apiGroups.map((g) => g || 'core').join(',')}/${r.resources.join(',')}: ${r.verbs.join(',')}`;

describe('the operator under the RBAC of deploy/', realOnly('rbac'), () => {
  let server: TestApiServer;
  let token: string;
  let runs = 0;

  before(async () => {
    server = await startTestApiServer();
    await installCustomResourceDefinitions(server.client);
    await createNamespace(server.client, 'kre-system');
    // The ServiceAccount, ClusterRole and binding, as deploy/ has them (not the Deployment).
    for (const doc of docs.filter((d) => ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding'].includes(d.kind!))) {
      const ref = await server.client.refFor(doc);
      await server.client.create({ ...ref, name: undefined } as never, doc);
    }
    token = await serviceAccountToken(server.client, 'kre-system', 'kre-operator');
  });
  after(async () => {
    await server?.client.patch({ ...CLUSTER_ROLES, name: 'kre-operator' }, { rules }).catch(() => undefined);
    await server?.stop();
  });

  /** Runs the operator as its ServiceAccount on a new Runtime and RuntimeVersion; returns its log lines. */
  async function runOperator(until: (log: string[], ns: string, client: KubeClient) => Promise<boolean>): Promise<string[]> {
    const ns = `lp-${++runs}`;
    await createNamespace(server.client, ns);
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(...String(chunk).split('\n').filter(Boolean));
        done();
      },
    });
    const logger = pino({ level: 'debug', base: { part: 'operator' }, serializers: { err: serializeError } }, sink);
    const client = new KubeClient(server.kubeConfigWithToken(token), { userAgent: 'kre-operator' });
    const operator = startOperator({ client, logger, leaderElection: { namespace: 'kre-system', name: `kre-operator-${ns}`, leaseDurationMs: 4000, renewDeadlineMs: 3000, retryPeriodMs: 500 } });
    try {
      await server.client.create({ ...RUNTIMES, namespace: ns }, runtimeObject(ns, ns, { developmentMode: true }));
      await server.client.create({ ...RUNTIME_VERSIONS, namespace: ns }, versionObject(ns, 'v1', { classify: ['a', 'b'] }, { state: 'Started' }));
      await eventually(() => until(lines, ns, server.client), 45_000, `the operator's run in ${ns}`);
      return lines;
    } finally {
      await operator.stop();
      client.close();
    }
  }

  const refused = (lines: string[]) => lines.filter((l) => /forbidden|"code":403/i.test(l));

  test('with the rules of deploy/, it reconciles a Runtime and a RuntimeVersion and is never refused', async () => {
    const lines = await runOperator(async (_log, ns, admin) => {
      const rt = await admin.get(runtimeRef(ns, ns));
      const v = await admin.get(versionRef(ns, 'v1'));
      const mongo = await admin.get({ ...STATEFULSETS, namespace: ns, name: 'kre-mongo' }).catch(() => undefined);
      const events = await admin.list({ group: '', version: 'v1', plural: 'events', namespace: ns });
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
      await server.client.patch({ ...CLUSTER_ROLES, name: 'kre-operator' }, { rules: rules.filter((_r, j) => j !== i) });
      try {
        const lines = await runOperator(async (log) => refused(log).length > 0);
        assert.ok(refused(lines).length > 0);
      } finally {
        await server.client.patch({ ...CLUSTER_ROLES, name: 'kre-operator' }, { rules });
      }
    });
  }
});

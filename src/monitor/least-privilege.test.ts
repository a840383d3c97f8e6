/**
 * The monitor runs with exactly the RBAC of deploy/monitor-rbac.yaml: under its ServiceAccount's
 * token (TokenRequest API, as `kubectl create token`), never as admin, a Redis-backed writer
 * caches every default kind, runs its canary and holds its group's Lease with no request refused;
 * and with any one rule removed, some request is refused (a 403 in its own request metrics).
 * Needs a real API server: the devcluster checks no RBAC.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { parseAllDocuments } from 'yaml';
import { eventually } from '../devcluster/testing.ts';
import type { KubeObject } from '../kube/index.ts';
import { parseMonitorConfig } from './config.ts';
import { startMonitor } from './monitor.ts';
import { startTestRedis, type TestRedis } from './redis-testing.ts';
import { realOnly, serviceAccountToken, startTestApiServer, type TestApiServer } from '../../test/support/apiserver.ts';

const MANIFEST = new URL('../../deploy/monitor-rbac.yaml', import.meta.url);
const PASSWORD = 'lp-redis-pass';
const NAMESPACE_CREATE = /could not create the namespace|namespaces is forbidden: User "system:serviceaccount:kre-monitor:kre-monitor" cannot create resource "namespaces"/;

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

const docs = parseAllDocuments(readFileSync(MANIFEST, 'utf8')).map((d) => d.toJS() as KubeObject & { rules?: Rule[] });
const roles = docs.filter((d) => d.kind === 'ClusterRole' || d.kind === 'Role');
/** Every rule, with the role it is in. */
const rules = roles.flatMap((role) => role.rules!.map((rule, index) => ({ role, rule, index })));
const describeRule = (r: Rule) => `${r.apiGroups.map((g) => g || 'core').join(',')}/${r.resources.join(',')}: ${r.verbs.join(',')}`;

describe('the monitor under the RBAC of deploy/', realOnly('rbac'), () => {
  let server: TestApiServer;
  let redis: TestRedis;
  let token: string;
  let runs = 0;

  const roleRef = (role: KubeObject) =>
    role.kind === 'ClusterRole'
      ? { group: 'rbac.authorization.k8s.io', version: 'v1', plural: 'clusterroles', name: role.metadata.name! }
      : { group: 'rbac.authorization.k8s.io', version: 'v1', plural: 'roles', namespace: role.metadata.namespace, name: role.metadata.name! };

  before(async () => {
    server = await startTestApiServer();
    redis = await startTestRedis({ password: PASSWORD });
    for (const doc of docs) {
      const ref = await server.client.refFor(doc);
      await server.client.create({ ...ref, name: undefined } as never, doc);
    }
    token = await serviceAccountToken(server.client, 'kre-monitor', 'kre-monitor');
    await server.client.create({ group: '', version: 'v1', plural: 'pods', namespace: 'default' }, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'watched' }, spec: { containers: [{ name: 'main', image: 'busybox' }] } });
  });
  after(async () => {
    for (const role of roles) await server?.client.patch(roleRef(role), { rules: role.rules }).catch(() => undefined);
    await redis?.close();
    await server?.stop();
  });

  /** Runs a writer as the ServiceAccount until `done` holds for its request counts by code; returns them. */
  async function runMonitor(done: (codes: Map<string, number>, served: boolean) => boolean): Promise<Map<string, number>> {
    // Refusals the request metrics do not count (the Lease's) show in the log.
    const logs: string[] = [];
    const logger = pino({ level: 'debug' }, new Writable({ write: (chunk: Buffer, _enc, cb) => (logs.push(chunk.toString()), cb()) }));
    const monitor = await startMonitor({
      logger,
      config: parseMonitorConfig({
        listen: '127.0.0.1:0',
        namespace: 'kre-monitor',
        verifyIntervalSeconds: 0.5,
        canaryIntervalSeconds: 0.3,
        redis: { url: redis.url, group: `lp${++runs}`, identity: `lp-${runs}`, leaseDurationSeconds: 3, renewDeadlineSeconds: 2, retryPeriodSeconds: 0.4 },
      }),
      token: 'monitor-api-token',
      kubeConfig: server.kubeConfigWithToken(token),
      redisPassword: PASSWORD,
    });
    const codes = new Map<string, number>();
    try {
      await eventually(async () => {
        codes.clear();
        for (const v of (await monitor.metrics.apiRequests.get()).values) {
          const key = `${v.labels.verb} ${v.labels.resource} ${v.labels.code}`;
          codes.set(key, (codes.get(key) ?? 0) + v.value);
        }
        if (logs.some((l) => /forbidden/i.test(l) && !NAMESPACE_CREATE.test(l))) codes.set('logged 403', 1);
        const served = monitor.isWriter() && (await monitor.store.list('pods', 'aggregated', { namespace: 'default', name: 'watched' })).items.length === 1;
        return done(codes, served);
      }, 45_000, 'the monitor run');
      return codes;
    } finally {
      await monitor.stop();
    }
  }

  // The monitor tries to create its namespace and goes on when refused (deploy/ makes it): that
  // refusal is expected, and no rule grants it.
  const refused = (codes: Map<string, number>) => [...codes.keys()].filter((k) => k.endsWith(' 403') && !k.startsWith('create namespaces '));

  test('with the rules of deploy/, a Redis-backed writer caches, runs its canary and leads, and is never refused', async () => {
    const codes = await runMonitor((c, served) => served && [...c.keys()].some((k) => k.startsWith('patch configmaps 2')) && [...c.keys()].filter((k) => k.startsWith('watch ')).length >= 6);
    assert.deepEqual(refused(codes), [], 'no request of the monitor was refused');
  });

  for (const { role, rule, index } of rules) {
    test(`without the ${role.kind} rule ${describeRule(rule)}, the monitor is refused`, async () => {
      await server.client.patch(roleRef(role), { rules: role.rules!.filter((_r, j) => j !== index) });
      try {
        const codes = await runMonitor((c) => refused(c).length > 0);
        assert.ok(refused(codes).length > 0);
      } finally {
        await server.client.patch(roleRef(role), { rules: role.rules });
      }
    });
  }
});

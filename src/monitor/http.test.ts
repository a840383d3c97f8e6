/**
 * The monitor's HTTP API as its clients see it: the seed's endpoints, the typed client, kubectl
 * and client-node reading the Kubernetes-shaped paths, authentication and refusals.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { CoreV1Api } from '@kubernetes/client-node';
import { startTestApiServer, type TestApiServer } from '../../test/support/apiserver.ts';
import { eventually } from '../devcluster/testing.ts';
import { PODS, KubeClient, type Deployment, type KubeList, type Pod, type Status } from '../kube/index.ts';
import { MonitorClient, MonitorError, monitorKubeConfig } from './client.ts';
import { parseMonitorConfig } from './config.ts';
import { SOURCE_ANNOTATION } from './http.ts';
import { startMonitor, type Monitor } from './monitor.ts';
import type { Freshness } from './store.ts';

const TOKEN = 'monitor-test-token';
let server: TestApiServer;
let monitor: Monitor;

const get = (path: string, token: string | null = TOKEN, init: RequestInit = {}) =>
  fetch(monitor.url + path, { ...init, headers: token === null ? {} : { Authorization: `Bearer ${token}` } });
/** A response's body, read as the shape the test expects of that path. */
const bodyOf = async <T>(res: Response): Promise<T> => (await res.json()) as T;
/** What the seed endpoints answer. */
type SeedList<T> = { items: T[]; freshness: Freshness };

before(async () => {
  server = await startTestApiServer({ devcluster: { bookmarkIntervalMs: 200 } });
  const client = new KubeClient(server.kubeConfig());
  for (const ns of ['team-a', 'team-b']) {
    await client.create({ group: '', version: 'v1', plural: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  }
  const pods: [string, string, Record<string, string>, string?][] = [
    ['team-a', 'web-1', { app: 'web', tier: 'front' }, 'node-1'],
    ['team-a', 'web-2', { app: 'web', tier: 'front' }, 'node-2'],
    ['team-a', 'db-1', { app: 'db', tier: 'back' }, 'node-1'],
    ['team-b', 'web-1', { app: 'web' }],
  ];
  for (const [namespace, name, labels, nodeName] of pods) {
    await client.create({ ...PODS, namespace }, { apiVersion: 'v1', kind: 'Pod', metadata: { name, labels }, spec: { nodeName, containers: [{ name: 'main', image: 'busybox' }] } });
  }
  await client.create({ group: 'apps', version: 'v1', plural: 'deployments', namespace: 'team-a' }, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', labels: { app: 'web' } },
    spec: { replicas: 0, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'm', image: 'busybox' }] } } },
  });
  client.close();
  monitor = await startMonitor({
    config: parseMonitorConfig({ listen: '127.0.0.1:0', verifyIntervalSeconds: 1, canaryIntervalSeconds: 0 }),
    token: TOKEN,
    kubeConfig: server.kubeConfig(),
  });
});

after(async () => {
  await monitor?.stop();
  await server?.stop();
});

describe('the seed endpoints', () => {
  it('filter by namespace, name, node and full label selectors, with freshness in the body', async () => {
    const names = async (q: string) => {
      const res = await get(`/pods?${q}`);
      assert.equal(res.status, 200, await res.clone().text());
      const body = await bodyOf<SeedList<Pod>>(res);
      assert.ok(body.freshness.verifiedResourceVersion);
      return body.items.map((p) => `${p.metadata.namespace}/${p.metadata.name}`).sort();
    };
    assert.deepEqual(await names('namespace=team-a'), ['team-a/db-1', 'team-a/web-1', 'team-a/web-2']);
    assert.deepEqual(await names('label_selector=app%3Dweb,tier'), ['team-a/web-1', 'team-a/web-2']);
    assert.deepEqual(await names('label_selector=' + encodeURIComponent('app in (web),!tier')), ['team-b/web-1']);
    assert.deepEqual(await names('node=node-1'), ['team-a/db-1', 'team-a/web-1']);
    assert.deepEqual(await names('name=web-1'), ['team-a/web-1', 'team-b/web-1']);
    assert.deepEqual(await names('name=web-1&namespace=team-b&view=verified'), ['team-b/web-1']);
    const body = await bodyOf<SeedList<Deployment>>(await get('/deployments?namespace=team-a'));
    assert.equal(body.items[0].metadata.name, 'web');
    assert.equal(body.items[0].metadata.annotations?.[SOURCE_ANNOTATION], 'verified');
    assert.deepEqual(Object.keys(body.freshness).sort(), ['stalenessSeconds', 'streamResourceVersion', 'verifiedResourceVersion', 'verifiedTime', 'view']);
  });

  it('answer 400 naming an unknown parameter or a bad selector', async () => {
    for (const [q, named] of [
      ['colour=red', '"colour"'],
      ['node=x&labelSelector=a', '"labelSelector"'],
      ['label_selector=' + encodeURIComponent('app in (web'), '"label_selector"'],
      ['view=latest', '"view"'],
    ]) {
      const res = await get(`/pods?${q}`);
      assert.equal(res.status, 400, q);
      assert.ok((await bodyOf<Status>(res)).message?.includes(named), q);
    }
    assert.equal((await get('/nodes?node=x')).status, 400, 'node is a pods filter only');
  });

  it('need the bearer token; health and metrics are open; writes are refused', async () => {
    assert.equal((await get('/pods', null)).status, 401);
    assert.equal((await get('/pods', 'wrong')).status, 401);
    assert.equal((await get('/api/v1/pods', null)).status, 401);
    assert.equal((await get('/livez', null)).status, 200);
    assert.equal((await get('/readyz', null)).status, 200);
    assert.equal((await get('/metrics', null)).status, 200);
    const post = await get('/api/v1/namespaces/team-a/pods', TOKEN, { method: 'POST', body: '{}' });
    assert.equal(post.status, 405);
    assert.equal((await bodyOf<Status>(post)).reason, 'MethodNotAllowed');
    assert.equal((await get('/api/v1/namespaces/team-a/pods/web-1', TOKEN, { method: 'DELETE' })).status, 405);
  });
});

describe('the typed client', () => {
  it('returns client-node models with their sources and freshness', async () => {
    const c = new MonitorClient(monitor.url, TOKEN);
    const pods = await c.pods({ namespace: 'team-a', labelSelector: 'tier=front', node: 'node-2' });
    assert.deepEqual(pods.items.map((p) => p.metadata?.name), ['web-2']);
    assert.ok(pods.items[0].metadata?.creationTimestamp instanceof Date);
    assert.deepEqual(pods.sources, ['verified']);
    assert.equal(pods.freshness.view, 'aggregated');
    const deployments = await c.deployments({ view: 'streamed' });
    assert.equal(deployments.items[0].spec?.selector.matchLabels?.app, 'web');
    assert.deepEqual(deployments.sources, ['streamed']);
    assert.deepEqual((await c.nodes()).items, []);
    await assert.rejects(c.pods({ labelSelector: '=bad' }), (e) => e instanceof MonitorError && e.status === 400);
    await assert.rejects(new MonitorClient(monitor.url, 'nope').services(), (e) => e instanceof MonitorError && e.status === 401);
  });
});

describe('the Kubernetes-shaped paths', () => {
  it('serve lists with selectors, pages and freshness headers, and single objects', async () => {
    const res = await get('/api/v1/namespaces/team-a/pods?labelSelector=app%3Dweb&fieldSelector=spec.nodeName%3Dnode-1');
    assert.equal(res.status, 200);
    const list = await bodyOf<KubeList<Pod>>(res);
    assert.equal(list.kind, 'PodList');
    assert.deepEqual(list.items.map((p) => p.metadata.name), ['web-1']);
    assert.ok(res.headers.get('x-kre-verified-resource-version'));
    assert.ok(res.headers.get('x-kre-stream-resource-version'));
    assert.ok(Date.parse(res.headers.get('x-kre-verified-time')!) > 0);
    assert.ok(Number(res.headers.get('x-kre-staleness-seconds')) >= 0);

    const first = await bodyOf<KubeList<Pod>>(await get('/api/v1/pods?limit=3'));
    assert.equal(first.items.length, 3);
    assert.equal(first.metadata.remainingItemCount, 1);
    const rest = await bodyOf<KubeList<Pod>>(await get(`/api/v1/pods?limit=3&continue=${first.metadata.continue}`));
    assert.deepEqual([...first.items, ...rest.items].map((p) => `${p.metadata.namespace}/${p.metadata.name}`), ['team-a/db-1', 'team-a/web-1', 'team-a/web-2', 'team-b/web-1']);
    assert.equal(rest.metadata.continue, undefined);
    assert.equal((await get('/api/v1/pods?continue=bogus')).status, 410);

    const one = await get('/apis/apps/v1/namespaces/team-a/deployments/web');
    assert.equal((await bodyOf<Deployment>(one)).kind, 'Deployment');
    const missing = await get('/api/v1/namespaces/team-a/pods/nope');
    assert.equal(missing.status, 404);
    assert.equal((await bodyOf<Status>(missing)).reason, 'NotFound');
    const badField = await get('/api/v1/pods?fieldSelector=spec.colour%3Dred');
    assert.equal(badField.status, 400);
    assert.match((await bodyOf<Status>(badField)).message ?? '', /spec\.colour/);
    assert.equal((await get('/api/v1/secrets')).status, 404, 'secrets are never served');
  });

  it('are read by kubectl as from an API server (over HTTPS: kubectl sends a token only over TLS)', async () => {
    const kubectlHome = mkdtempSync(join(tmpdir(), 'kre-monitor-kubectl-home-'));
    const tlsMonitor = await startMonitor({
      config: parseMonitorConfig({ listen: '127.0.0.1:0', canaryIntervalSeconds: 0, tls: { selfSigned: true } }),
      token: TOKEN,
      kubeConfig: server.kubeConfig(),
    });
    try {
      assert.match(tlsMonitor.url, /^https:/);
      const env = { ...process.env, KUBECONFIG: '/dev/null', HOME: kubectlHome };
      const run = (token: string, ...args: string[]) =>
        promisify(execFile)('kubectl', ['--server', tlsMonitor.url, '--token', token, '--insecure-skip-tls-verify', ...args], { env });
      const { stdout } = await run(TOKEN, 'get', 'pods', '-A', '-o', 'json');
      const list: KubeList<Pod> = JSON.parse(stdout);
      assert.deepEqual(list.items.map((p) => `${p.metadata.namespace}/${p.metadata.name}`).sort(), ['team-a/db-1', 'team-a/web-1', 'team-a/web-2', 'team-b/web-1']);
      const table = await run(TOKEN, 'get', 'deployments', '-n', 'team-a', '-l', 'app=web');
      assert.match(table.stdout, /^NAME\s.*\nweb\s/);
      await assert.rejects(run('wrong', 'get', 'pods'));
    } finally {
      await tlsMonitor.stop();
      rmSync(kubectlHome, { recursive: true, force: true });
    }
  });

  it('are read by client-node as from an API server', async () => {
    const kc = monitorKubeConfig(monitor.url, TOKEN);
    const api = kc.makeApiClient(CoreV1Api);
    const list = await api.listPodForAllNamespaces({ labelSelector: 'app=web' });
    assert.deepEqual(list.items.map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`).sort(), ['team-a/web-1', 'team-a/web-2', 'team-b/web-1']);
    const pod = await api.readNamespacedPod({ namespace: 'team-a', name: 'db-1' });
    assert.equal(pod.spec?.nodeName, 'node-1');
  });

  it('follow changes through the stream', async () => {
    const client = new KubeClient(server.kubeConfig());
    await client.delete({ ...PODS, namespace: 'team-b', name: 'web-1' }, { gracePeriodSeconds: 0 });
    client.close();
    await eventually(async () => (await bodyOf<KubeList<Pod>>(await get('/api/v1/namespaces/team-b/pods'))).items.length === 0, 10_000, 'the deletion');
  });
});

describe('hostile requests', () => {
  // Each is the client's mistake: a 4xx naming it, never a 500, and the monitor serves on.
  const HOSTILE: [string, number][] = [
    ['/api/v1/namespaces/%zz/pods', 400],
    ['/api/v1/namespaces/team-a/pods/%', 400],
    ['/api/v1/namespaces/team-a/pods/a%2', 400],
    ['/api/v1/namespaces/team-a/pods/%E0%A4%A', 400],
    ['/apis/apps/v1/namespaces/te%ZZam-a/deployments', 400],
    ['/api/v1/pods?limit=%', 400],
    ['/api/v1/pods?labelSelector=%zz', 400],
    ['/api/v1/pods?fieldSelector=%', 400],
    ['/api/v1/pods?continue=%zz', 410],
    ['/api/v1/pods?%zz=1', 400],
    ['/pods?label_selector=%zz', 400],
    ['/pods?namespace=%zz', 200],
  ];
  for (const [path, status] of HOSTILE) {
    it(`${path}: ${status}`, async () => {
      const res = await get(path);
      const text = await res.text();
      assert.equal(res.status, status, text);
      if (status >= 400) assert.equal(JSON.parse(text).code, status);
    });
  }

  it('leave the monitor healthy', async () => {
    assert.equal((await get('/readyz', null)).status, 200);
    assert.equal((await get('/api/v1/namespaces/team-a/pods')).status, 200);
  });
});

describe('discovery and kube-state paths', () => {
  it('need the token, serve the cached pods, and name a resource that is not cached', async () => {
    assert.equal((await get('/metrics/kube-state', null)).status, 401);
    assert.equal((await get('/sd/pods', null)).status, 401);
    const text = await eventually(async () => {
      const t = await (await get('/metrics/kube-state')).text();
      return t.includes('kube_deployment_status_replicas_available{namespace="team-a",deployment="web"} 0') && t;
    }, 20_000, 'the deployment in /metrics/kube-state');
    assert.match(text, /^kube_pod_labels\{namespace="team-a",pod="db-1",uid="[^"]+"\} 1$/m, 'no allowlist: no label_ labels');
    assert.match(text, /^# TYPE kube_pod_info gauge$/m);
    const missing = await get('/sd/endpoints');
    assert.equal(missing.status, 404);
    assert.match((await bodyOf<Status>(missing)).message ?? '', /does not cache endpoints/);
  });
});

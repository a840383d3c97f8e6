/**
 * Watches through the monitor: `kubectl get pods -w` and a client-node informer pointed at the
 * monitor see the API server's changes, served from the monitor's cache over its one watch, with
 * resourceVersions that follow on from its lists, and bookmarks.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api, makeInformer, type V1Pod } from '@kubernetes/client-node';
import { startTestApiServer, type TestApiServer } from '../../test/support/apiserver.ts';
import { eventually } from '../devcluster/testing.ts';
import { PODS, KubeClient, type KubeList, type KubeObject, type WatchEvent } from '../kube/index.ts';
import { monitorKubeConfig } from './client.ts';
import { parseMonitorConfig } from './config.ts';
import { startMonitor, type Monitor } from './monitor.ts';
import { readWatchLines } from './watch-testing.ts';

const TOKEN = 'monitor-watch-token';
let server: TestApiServer;
let monitor: Monitor;
let client: KubeClient;

const pod = (name: string, labels: Record<string, string> = {}): KubeObject =>
  ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, labels }, spec: { containers: [{ name: 'main', image: 'busybox' }] } }) as KubeObject;

before(async () => {
  server = await startTestApiServer();
  client = new KubeClient(server.kubeConfig());
  await client.create({ group: '', version: 'v1', plural: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'w' } });
  await client.create({ ...PODS, namespace: 'w' }, pod('first', { app: 'web' }));
  monitor = await startMonitor({
    config: parseMonitorConfig({ listen: '127.0.0.1:0', defaultResources: false, resources: ['v1/pods'], verifyIntervalSeconds: 3600, canaryIntervalSeconds: 0 }),
    token: TOKEN,
    kubeConfig: server.kubeConfig(),
  });
  await eventually(async () => (await monitor.store.sizes('pods')).aggregated === 1, 10_000, 'the monitor holds the first pod');
});

after(async () => {
  client?.close();
  await monitor?.stop();
  await server?.stop();
});

/** Reads a watch's lines as they come. */
async function openWatch(path: string): Promise<{ events: WatchEvent[]; close(): void; status: number }> {
  const ac = new AbortController();
  const res = await fetch(monitor.url + path, { headers: { Authorization: `Bearer ${TOKEN}` }, signal: ac.signal });
  const events: WatchEvent[] = [];
  if (res.status === 200) readWatchLines<WatchEvent>(res, (e) => events.push(e));
  return { events, close: () => ac.abort(), status: res.status };
}

describe('watches through the monitor', () => {
  it('start from a list version with what changed after it, and without a version with every object then a bookmark', async () => {
    const list = (await (await fetch(`${monitor.url}/api/v1/namespaces/w/pods`, { headers: { Authorization: `Bearer ${TOKEN}` } })).json()) as KubeList;
    const rv = list.metadata.resourceVersion;
    assert.ok(rv);
    const fromList = await openWatch(`/api/v1/namespaces/w/pods?watch=1&resourceVersion=${rv}&allowWatchBookmarks=true`);
    const fresh = await openWatch('/api/v1/namespaces/w/pods?watch=1&allowWatchBookmarks=true&labelSelector=app%3Dweb');
    assert.equal(fromList.status, 200);
    await client.create({ ...PODS, namespace: 'w' }, pod('second', { app: 'db' }));
    await eventually(() => fromList.events.some((e) => e.type === 'ADDED' && e.object.metadata.name === 'second'), 10_000, 'the new pod on the watch');
    assert.ok(!fromList.events.some((e) => e.object.metadata.name === 'first'), 'what the list had is not sent again');
    const added = fromList.events.find((e) => e.object.metadata.name === 'second');
    assert.ok(Number(added?.object.metadata.resourceVersion) > Number(rv), 'versions follow on from the list');
    assert.equal(added?.object.metadata.annotations?.['kre.konstellation.io/monitor-source'], 'streamed');
    await eventually(() => fresh.events.length >= 2, 10_000, 'initial events and a bookmark');
    assert.deepEqual(fresh.events.slice(0, 2).map((e) => `${e.type} ${e.object.metadata.name ?? ''}`), ['ADDED first', 'BOOKMARK ']);
    assert.ok(!fresh.events.some((e) => e.object.metadata.name === 'second'), 'the label selector holds on the watch');
    await client.delete({ ...PODS, namespace: 'w', name: 'second' });
    await eventually(() => fromList.events.some((e) => e.type === 'DELETED' && e.object.metadata.name === 'second'), 10_000, 'the deletion on the watch');
    fromList.close();
    fresh.close();
  });

  it('feed a client-node informer', async () => {
    const kc = monitorKubeConfig(monitor.url, TOKEN);
    const api = kc.makeApiClient(CoreV1Api);
    const informer = makeInformer(kc, '/api/v1/namespaces/w/pods', () => api.listNamespacedPod({ namespace: 'w' }));
    const seen: string[] = [];
    informer.on('add', (p: V1Pod) => seen.push(`add ${p.metadata?.name}`));
    informer.on('delete', (p: V1Pod) => seen.push(`delete ${p.metadata?.name}`));
    informer.on('error', () => {});
    await informer.start();
    try {
      await eventually(() => seen.includes('add first'), 10_000, 'the informer lists the first pod');
      await client.create({ ...PODS, namespace: 'w' }, pod('third'));
      await eventually(() => seen.includes('add third'), 10_000, 'the informer hears the new pod');
      await client.delete({ ...PODS, namespace: 'w', name: 'third' });
      await eventually(() => seen.includes('delete third'), 10_000, 'the informer hears the deletion');
      assert.deepEqual(informer.list('w').map((p) => p.metadata?.name).sort(), ['first']);
    } finally {
      await informer.stop();
    }
  });

  it('feed kubectl get pods -w, in the columns the API server prints (over HTTPS: kubectl sends a token only over TLS)', async () => {
    const home = mkdtempSync(join(tmpdir(), 'kre-monitor-watch-home-'));
    const tls = await startMonitor({
      config: parseMonitorConfig({ listen: '127.0.0.1:0', defaultResources: false, resources: ['v1/pods'], canaryIntervalSeconds: 0, tls: { selfSigned: true } }),
      token: TOKEN,
      kubeConfig: server.kubeConfig(),
    });
    const env = { ...process.env, KUBECONFIG: '/dev/null', HOME: home };
    const viaMonitor = ['--server', tls.url, '--token', TOKEN, '--insecure-skip-tls-verify'];
    await eventually(async () => (await tls.store.sizes('pods')).aggregated >= 1, 10_000, 'the TLS monitor holds the pods');
    // The same table from the monitor and from the API server, but for AGE (taken a moment apart).
    const table = async (...args: string[]) => {
      const { stdout } = await promisify(execFile)('kubectl', [...args, 'get', 'pods', '-n', 'w', '-o', 'wide'], { env: { ...env, KUBECONFIG: server.kubeconfigPath } });
      return stdout.trim().split('\n').map((line) => line.split(/\s{2,}/).filter((_, i) => i !== 4));
    };
    const fromMonitor = await table(...viaMonitor);
    assert.deepEqual(fromMonitor[0], ['NAME', 'READY', 'STATUS', 'RESTARTS', 'IP', 'NODE', 'NOMINATED NODE', 'READINESS GATES']);
    assert.deepEqual(fromMonitor, await table());
    const kubectl = spawn('kubectl', [...viaMonitor, 'get', 'pods', '-n', 'w', '-w'], { env });
    let out = '';
    let err = '';
    kubectl.stdout.on('data', (c) => (out += c));
    kubectl.stderr.on('data', (c) => (err += c));
    const exited = new Promise((r) => kubectl.once('exit', r));
    try {
      await eventually(() => /first/.test(out), 20_000, `kubectl lists the first pod (stderr: ${err})`);
      await client.create({ ...PODS, namespace: 'w' }, pod('fourth'));
      await eventually(() => /\nfourth\s+0\/1\s+Pending\s+0\s/.test(out), 20_000, `kubectl shows the new pod's row (stderr: ${err}, stdout: ${out})`);
      assert.match(out, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\n/);
      assert.doesNotMatch(err, /error/i);
    } finally {
      kubectl.kill();
      await exited;
      await tls.stop();
      rmSync(home, { recursive: true, force: true });
    }
  });
});

/**
 * The monitor against a devcluster that loses watch events and cuts watches: whatever the stream
 * missed, the aggregated view equals the server's state after the first verification that starts
 * after the writes stop. A stream whose store writes fall behind collapses its backlog into one
 * snapshot and loses nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { devclusterOnly, startTestApiServer, type TestApiServer } from '../../test/support/apiserver.ts';
import { eventually } from '../devcluster/testing.ts';
import { KubeClient, type ConfigMap, type KubeObject, type ResourceRef } from '../kube/index.ts';
import { parseMonitorConfig } from './config.ts';
import { MemoryStore } from './memory-store.ts';
import { startMonitor, type Monitor } from './monitor.ts';
import type { View } from './store.ts';
import { Stream } from './stream.ts';

const NS = 'churn';
const KINDS: Record<string, { ref: ResourceRef; make(name: string, gen: number): KubeObject }> = {
  pods: {
    ref: { group: '', version: 'v1', plural: 'pods', namespace: NS },
    make: (name, gen) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: { app: 'churn', gen: String(gen) } }, spec: { containers: [{ name: 'main', image: 'busybox' }] } }),
  },
  services: {
    ref: { group: '', version: 'v1', plural: 'services', namespace: NS },
    make: (name, gen) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, labels: { app: 'churn', gen: String(gen) } }, spec: { selector: { app: name }, ports: [{ port: 80 }] } }),
  },
  'deployments.apps': {
    ref: { group: 'apps', version: 'v1', plural: 'deployments', namespace: NS },
    make: (name, gen) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, labels: { app: 'churn', gen: String(gen) } },
      spec: { replicas: 0, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'main', image: 'busybox' }] } } },
    }),
  },
};

let server: TestApiServer;
let client: KubeClient;
let monitor: Monitor;

before(async () => {
  // No simulated nodes: nothing but this test writes, so "the writes stopped" is true.
  server = await startTestApiServer({ devcluster: { bookmarkIntervalMs: 200 } });
  client = new KubeClient(server.kubeConfig());
  await client.create({ group: '', version: 'v1', plural: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  monitor = await startMonitor({
    config: parseMonitorConfig({ listen: '127.0.0.1:0', verifyIntervalSeconds: 0.4, canaryIntervalSeconds: 0.5 }),
    token: 'secret-token',
    kubeConfig: server.kubeConfig(),
  });
});

after(async () => {
  await monitor?.stop();
  client?.close();
  await server?.stop();
});

/** name → resourceVersion, as the server has it and as a view of the monitor has it. */
async function serverState(kind: string): Promise<Map<string, string>> {
  const list = await client.list(KINDS[kind].ref);
  return new Map(list.items.map((o) => [o.metadata.name!, o.metadata.resourceVersion!]));
}
async function viewState(kind: string, view: View): Promise<Map<string, string>> {
  const r = await monitor.store.list(kind, view, { namespace: NS });
  return new Map(r.items.map((i) => [i.object.metadata.name!, i.object.metadata.resourceVersion!]));
}
const same = (a: Map<string, string>, b: Map<string, string>) => a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);

/** Creates, changes and deletes (and re-creates) objects of each kind, a few at a time. */
async function churn(ops: number): Promise<void> {
  const existing = new Map<string, number>();
  let gen = 0;
  const one = async () => {
    const kind = Object.keys(KINDS)[Math.floor(Math.random() * 3)];
    const name = `obj-${Math.floor(Math.random() * 6)}`;
    const key = `${kind}/${name}`;
    const { ref, make } = KINDS[kind];
    try {
      if (!existing.has(key)) {
        await client.create(ref, make(name, ++gen));
        existing.set(key, gen);
      } else if (Math.random() < 0.5) {
        await client.patch({ ...ref, name }, { metadata: { labels: { gen: String(++gen) } } });
      } else {
        existing.delete(key);
        await client.delete({ ...ref, name }, { gracePeriodSeconds: 0 });
      }
    } catch (err) {
      // Two writers raced on one name; the server's state is what the check compares anyway.
      if (![404, 409].includes((err as { code?: number }).code ?? 0)) throw err;
    }
  };
  for (let i = 0; i < ops; i += 3) await Promise.all([one(), one(), one()]);
}

describe('monitor under lost watch events and cut watches', () => {
  it('converges to the server state at the first verification after the writes, every time', devclusterOnly('faults'), async () => {
    let streamWasWrong = 0;
    for (let round = 0; round < 4; round++) {
      server.devcluster!.faults.set({ dropWatchEvents: { '*': 0.3 }, closeWatches: 0.03 });
      await churn(60);
      const lastWrite = Date.now();
      for (const kind of Object.keys(KINDS)) {
        // The first verification that started after the last write.
        await eventually(async () => {
          const f = await monitor.store.freshness(kind, 'aggregated');
          return f.verifiedTime !== null && Date.parse(f.verifiedTime) > lastWrite;
        }, 20_000, `a verification of ${kind} after the writes`);
        const server = await serverState(kind);
        const aggregated = await viewState(kind, 'aggregated');
        assert.ok(same(server, aggregated), `round ${round}, ${kind}: aggregated ${JSON.stringify([...aggregated])} != server ${JSON.stringify([...server])}`);
        assert.ok(same(server, await viewState(kind, 'verified')), `round ${round}, ${kind}: verified view`);
        if (!same(server, await viewState(kind, 'streamed'))) streamWasWrong++;
      }
      server.devcluster?.faults.clear();
    }
    // With a third of the events dropped the stream alone cannot have been right every time,
    // and the verifications said what they fixed.
    assert.ok(streamWasWrong > 0, 'the streamed view differed from the server at least once');
    const metrics = await monitor.metrics.registry.metrics();
    const corrected = [...metrics.matchAll(/^kre_monitor_verification_corrections_total\{resource="(?:pods|services|deployments\.apps)",correction="(?:ghost|missed_add|stale_version)"\} (\d+)$/gm)]
      .reduce((n, m) => n + Number(m[1]), 0);
    assert.ok(corrected > 0, 'verifications reported corrections');
    assert.match(metrics, /kre_monitor_stream_events_total\{resource="pods",type="ADDED"\} [1-9]/);
  });

  it('says where each object comes from and how fresh each view is', async () => {
    server.devcluster?.faults.clear();
    const ref = KINDS.pods.ref;
    await client.create(ref, KINDS.pods.make('fresh', 1));
    // The stream brings it before any verification does: aggregated from the stream.
    const seen = await eventually(async () => {
      const r = await monitor.store.list('pods', 'aggregated', { namespace: NS, name: 'fresh' });
      return r.items[0];
    }, 10_000, 'the new pod in the aggregated view');
    const created = await client.get({ ...ref, name: 'fresh' });
    if (seen.source === 'streamed') {
      const verified = await monitor.store.freshness('pods', 'verified');
      assert.ok(verified.verifiedResourceVersion === null || Number(verified.verifiedResourceVersion) < Number(created.metadata.resourceVersion));
    }
    // After a verification it is verified, and the freshness names that list.
    await eventually(async () => (await monitor.store.list('pods', 'aggregated', { namespace: NS, name: 'fresh' })).items[0]?.source === 'verified', 10_000, 'verified');
    const f = await monitor.store.freshness('pods', 'aggregated');
    assert.ok(Number(f.verifiedResourceVersion) >= Number(created.metadata.resourceVersion));
    assert.ok(Number(f.streamResourceVersion) >= Number(created.metadata.resourceVersion));
    assert.ok(f.stalenessSeconds !== null && f.stalenessSeconds < 10, `staleness ${f.stalenessSeconds}`);
    assert.ok(Date.now() - Date.parse(f.verifiedTime!) < 10_000);
    const streamed = await monitor.store.list('pods', 'streamed', { namespace: NS, name: 'fresh' });
    assert.equal(streamed.items[0]?.source, 'streamed');
    const verifiedView = await monitor.store.list('pods', 'verified', { namespace: NS, name: 'fresh' });
    assert.equal(verifiedView.items[0]?.source, 'verified');
  });

  it('measures stream delay from object timestamps and from its canary', async () => {
    await eventually(async () => /kre_monitor_canary_delay_milliseconds_count [1-9]/.test(await monitor.metrics.registry.metrics()), 15_000, 'a canary measure');
    const text = await monitor.metrics.registry.metrics();
    assert.match(text, /kre_monitor_stream_delay_seconds_count\{resource="pods",event="ADDED"\} [1-9]/);
    assert.match(text, /kre_monitor_apiserver_requests_total\{verb="patch",resource="configmaps",code="200"\} [1-9]/);
  });
});

describe('a stream whose store writes fall behind', () => {
  it('collapses its backlog into one snapshot of what it knows, and loses nothing', async () => {
    const ns = 'backlog';
    const CONFIGMAPS = { group: '', version: 'v1', plural: 'configmaps', namespace: ns };
    await client.create({ group: '', version: 'v1', plural: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    const store = new MemoryStore();
    // Store writes after the first list wait until the gate opens: a store that cannot keep up.
    let blocked = false;
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const slow = async () => {
      if (blocked) await gate;
    };
    let lists = 0;
    let eventsWritten = 0;
    const stream = new Stream({
      client,
      resource: { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap' },
      id: 'configmaps',
      namespace: ns,
      pageSize: 100,
      record: () => undefined,
      maxBacklog: 3,
      listed: async (items, rv, at) => {
        await slow();
        lists++;
        await store.streamListed('configmaps', items, rv, at);
      },
      event: async (type, obj, at) => {
        await slow();
        eventsWritten++;
        await store.streamEvent('configmaps', { type: type === 'DELETED' ? 'delete' : 'upsert', object: obj, resourceVersion: obj.metadata.resourceVersion ?? '', receivedAt: at });
      },
      bookmark: async (rv, at) => {
        await slow();
        await store.streamProgress('configmaps', rv, at);
      },
    }).start();
    try {
      await stream.ready;
      blocked = true;
      for (let i = 0; i < 10; i++) await client.create(CONFIGMAPS, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${i}` }, data: { i: String(i) } });
      await client.patch({ ...CONFIGMAPS, name: 'cm-4' }, { data: { i: 'changed' } });
      await client.delete({ ...CONFIGMAPS, name: 'cm-7' });
      // The stream heard all of it; its store has none of it, and the backlog collapsed once.
      const changed = (): boolean => {
        const cm: ConfigMap | undefined = stream.reflector.store.get(ns, 'cm-4');
        return cm?.data?.i === 'changed';
      };
      await eventually(() => stream.reflector.store.size === 9 && changed(), 10_000, 'the stream hearing every change');
      assert.equal(stream.stats.collapsed, 1);
      assert.equal(stream.backlog, 4, 'three writes waiting, then the snapshot; nothing queued after it');
      assert.equal((await store.sizes('configmaps')).streamed, 0);
      open();
      const server = async () => (await client.list(CONFIGMAPS)).items.map((o) => `${o.metadata.name}@${o.metadata.resourceVersion}`).sort().join(',');
      const streamed = async () => (await store.list('configmaps', 'streamed')).items.map((i) => `${i.object.metadata.name}@${i.object.metadata.resourceVersion}`).sort().join(',');
      await eventually(async () => stream.backlog === 0 && (await streamed()) === (await server()), 10_000, 'the store holding what the server has');
      assert.equal(lists, 2, 'the first list, then the snapshot in place of the collapsed backlog');
      assert.ok(eventsWritten < 12, `the events after the backlog filled were not written one by one (${eventsWritten} written)`);
      assert.equal(stream.stats.collapsed, 1);
      // Once drained, facts are written one by one again.
      await client.create(CONFIGMAPS, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'after' } });
      await eventually(async () => (await streamed()).includes('after@'), 10_000, 'a later event written');
      assert.equal(lists, 2);
    } finally {
      await stream.stop();
    }
  });
});

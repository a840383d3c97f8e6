/**
 * The shared cache against an API server: one informer per kind for every controller of a
 * process, reads that see the process's own writes before the watch does, and indexes with
 * subscriptions.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { waitUntil } from '../../test/support/wait.ts';
import { startTestApiServer, type TestApiServer } from '../../test/support/apiserver.ts';
import { KubeClient, type KubeObject } from './client.ts';
import { Controller, type ReconcileKey } from './controller.ts';
import { BY_CONTROLLER, InformerCache } from './informers.ts';
import { setControllerOwner } from './apply.ts';
import { CONFIGMAPS, SECRETS } from './index.ts';

const NS = 'shared-cache';

describe('InformerCache against an API server', () => {
  let server: TestApiServer;
  let client: KubeClient;
  const logger = pino({ level: 'silent' });

  before(async () => {
    server = await startTestApiServer();
    client = new KubeClient(server.kubeConfig());
    await client.create({ group: '', version: 'v1', plural: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  });
  after(async () => {
    client?.close();
    await server?.stop();
  });

  test('two controllers of one cache share the informer of a kind both watch, and both are woken by it', async () => {
    const cache = new InformerCache(client, logger);
    const registry = new Registry();
    const seen: Record<string, string[]> = { a: [], b: [] };
    const controller = (name: 'a' | 'b', primary: typeof CONFIGMAPS) =>
      new Controller({
        name,
        cache,
        primary: { ...primary, namespace: NS },
        owns: [{ ...(primary === CONFIGMAPS ? SECRETS : CONFIGMAPS), namespace: NS }],
        reconciler: { reconcile: async (key: ReconcileKey) => void seen[name].push(key.name) },
        logger,
        registry,
      });
    const a = controller('a', CONFIGMAPS);
    const b = controller('b', SECRETS);
    assert.equal(a.primary, b.owned[0], 'the ConfigMaps are watched once');
    assert.equal(a.owned[0], b.primary, 'the Secrets are watched once');
    await cache.start();
    await Promise.all([a.start(), b.start()]);
    try {
      const cm = await client.create<KubeObject>({ ...CONFIGMAPS, namespace: NS }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'owner' } });
      await waitUntil('a reconciled its ConfigMap', () => seen.a.includes('owner'));
      const secret = setControllerOwner({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'child', namespace: NS } } as KubeObject, cm);
      await client.create({ ...SECRETS, namespace: NS }, secret);
      await waitUntil('b reconciled the Secret and a was woken by its child', () => seen.b.includes('child') && seen.a.filter((n) => n === 'owner').length >= 2);
      const metrics = await registry.metrics();
      assert.match(metrics, /kre_controller_reconcile_total\{controller="a",result="success"\} [1-9]/);
      assert.match(metrics, /kre_controller_reconcile_total\{controller="b",result="success"\} [1-9]/);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
      await cache.stop();
    }
  });

  test("reads see the process's own writes before the watch delivers them; indexes by controller list and notify", async () => {
    const cache = new InformerCache(client, logger);
    const configMaps = cache.for({ ...CONFIGMAPS, namespace: NS });
    const byOwner = configMaps.index('controller', BY_CONTROLLER);
    await cache.start();
    try {
      const owner = await client.create<KubeObject>({ ...CONFIGMAPS, namespace: NS }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'index-owner', labels: { app: 'x' } } });
      const heard: string[] = [];
      byOwner.subscribe(owner.metadata.uid!, (key) => heard.push(key));
      const child = setControllerOwner({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'index-child', namespace: NS, labels: { app: 'x' } } } as KubeObject, owner);
      const created = await client.create<KubeObject>({ ...CONFIGMAPS, namespace: NS }, child);
      configMaps.wrote(created);
      // At once, whether or not the watch has delivered it.
      assert.equal(configMaps.get(NS, 'index-child')?.metadata.uid, created.metadata.uid);
      assert.deepEqual(byOwner.list(owner.metadata.uid!).map((o) => o.metadata.name), ['index-child']);
      assert.ok(configMaps.list(NS, { matchLabels: { app: 'x' } }).some((o) => o.metadata.name === 'index-child'));
      await waitUntil('the index heard of the child', () => heard.includes(`${NS}/index-child`));

      await client.delete({ ...CONFIGMAPS, namespace: NS, name: 'index-child' });
      configMaps.deleted(created);
      assert.equal(configMaps.get(NS, 'index-child'), undefined, 'a deletion is seen at once too');
      assert.deepEqual(byOwner.list(owner.metadata.uid!), []);
      await waitUntil('the cache caught up with the deletion', () => configMaps.store.get(NS, 'index-child') === undefined && configMaps.pendingKeys().length === 0);
    } finally {
      await cache.stop();
    }
  });
});

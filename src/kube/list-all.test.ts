import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { devclusterOnly, startTestApiServer, type TestApiServer } from '../../test/support/apiserver.ts';
import { KubeClient } from './client.ts';
import { listAll } from './list-all.ts';
import { CONFIGMAPS } from './index.ts';

let server: TestApiServer;
const cluster = () => server.devcluster!;
let client: KubeClient;

before(async () => {
  server = await startTestApiServer();
  client = new KubeClient(server.kubeConfig());
  for (let i = 0; i < 7; i++) await client.create({ ...CONFIGMAPS, namespace: 'default' }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${i}` }, data: {} });
});
after(async () => {
  client?.close();
  await server?.stop();
});

test('every page, read as one list of cache-ready objects', async () => {
  let pages = 0;
  const { items, resourceVersion } = await listAll(client, { ...CONFIGMAPS, namespace: 'default' }, { pageSize: 2, request: (call) => (pages++, call()) });
  assert.equal(pages, 4);
  assert.deepEqual(items.map((i) => i.metadata?.name).filter((n) => n?.startsWith('cm-')), ['cm-0', 'cm-1', 'cm-2', 'cm-3', 'cm-4', 'cm-5', 'cm-6']);
  assert.ok(items.every((i) => i.kind === 'ConfigMap' && i.apiVersion === 'v1' && !i.metadata?.managedFields));
  assert.match(resourceVersion, /^\d+$/);
});

test('a continue token that expires mid-way restarts the list from the start, never mixing snapshots', devclusterOnly('faults'), async () => {
  let pages = 0;
  let restarts = 0;
  const { items } = await listAll(client, { ...CONFIGMAPS, namespace: 'default' }, {
    pageSize: 2,
    request: async (call) => {
      const page = await call();
      // After the first page, a new object and an expired history: the old token is now 410.
      if (++pages === 1) {
        await client.create({ ...CONFIGMAPS, namespace: 'default' }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm-late' }, data: {} });
        cluster().faults.expireHistory();
      }
      return page;
    },
    onRestart: () => restarts++,
  });
  assert.equal(restarts, 1);
  const names = items.map((i) => i.metadata?.name);
  assert.ok(names.includes('cm-late'), 'the restarted list is at the current state');
  assert.equal(new Set(names).size, names.length, 'no object twice');
});

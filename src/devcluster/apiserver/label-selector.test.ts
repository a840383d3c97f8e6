/**
 * Label selectors over HTTP, as a client meets them: every kind of term, alone and combined, in a
 * namespace and across namespaces, page by page, at an older resourceVersion, and on a watch;
 * after objects are relabelled and deleted. The expected objects come from the kube core's
 * selector matcher applied to the labels the test gave them, and the same file runs against a
 * real kube-apiserver (test/support/real-apiserver-files.txt), which must agree.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseLabelSelector } from '../../kube/index.ts';
import { startTestApiServer, type TestApiServer } from '../../../test/support/apiserver.ts';
import { openWatch, rawRequest } from '../testing.ts';
import { SELECTOR_CASES as SELECTORS } from './label-selector-testing.ts';

const SUITE = 'label-selector-test';
const NAMESPACES = ['sel-a', 'sel-b'];
const COUNT = 48;

/** The labels of object i: a spread of present, absent and shared values. */
function labelsOf(i: number): Record<string, string> {
  const labels: Record<string, string> = { suite: SUITE };
  if (i % 5 !== 0) labels.app = ['web', 'db', 'cache'][i % 3];
  if (i % 2 === 0) labels.tier = i % 4 === 0 ? 'front' : 'back';
  if (i % 3 !== 1) labels.shard = `s${i % 7}`;
  if (i % 4 !== 3) labels.size = String(i % 6);
  return labels;
}

let server: TestApiServer;
/** The test's own record of each object's labels, by `namespace/name`. */
const model = new Map<string, Record<string, string>>();

const req = (method: string, path: string, body?: object, headers?: Record<string, string>) => rawRequest(server, method, path, body, headers);

async function ok(method: string, path: string, body?: object, headers?: Record<string, string>): Promise<any> {
  const r = await req(method, path, body, headers);
  assert.ok(r.status >= 200 && r.status < 300, `${method} ${path}: ${r.status} ${r.text.slice(0, 300)}`);
  return r.json();
}

function expected(selector: string, namespace?: string, of = model): string[] {
  const sel = parseLabelSelector(`suite=${SUITE},${selector}`);
  return [...of.entries()]
    .filter(([key, labels]) => (namespace === undefined || key.startsWith(`${namespace}/`)) && sel.matches(labels))
    .map(([key]) => key)
    .sort();
}

function listPath(selector: string, namespace?: string, extra = ''): string {
  const base = namespace ? `/api/v1/namespaces/${namespace}/configmaps` : '/api/v1/configmaps';
  return `${base}?labelSelector=${encodeURIComponent(`suite=${SUITE},${selector}`)}${extra}`;
}

const keysOf = (list: any) => list.items.map((o: any) => `${o.metadata.namespace}/${o.metadata.name}`);

async function assertSelectors(of = model, extra = ''): Promise<void> {
  for (const selector of SELECTORS) {
    for (const namespace of [undefined, NAMESPACES[1]]) {
      const list = await ok('GET', listPath(selector, namespace, extra));
      assert.deepEqual(keysOf(list), expected(selector, namespace, of), `${selector} in ${namespace ?? 'all namespaces'}${extra}`);
    }
  }
}

before(async () => {
  server = await startTestApiServer();
  for (const ns of NAMESPACES) await ok('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  for (let i = 0; i < COUNT; i++) {
    const ns = NAMESPACES[i % 2];
    const name = `cm-${String(i).padStart(2, '0')}`;
    await ok('POST', `/api/v1/namespaces/${ns}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels: labelsOf(i) }, data: { i: String(i) } });
    model.set(`${ns}/${name}`, labelsOf(i));
  }
});
after(async () => {
  await server?.stop();
});

describe('label selectors', () => {
  test('every kind of term selects what the selector means, in a namespace and across namespaces', async () => {
    await assertSelectors();
  });

  test('a paginated list with a selector returns each match once, in order, across its pages', async () => {
    for (const selector of ['app in (web,db)', 'app!=web', 'shard=s3']) {
      const seen: string[] = [];
      let token = '';
      let pages = 0;
      do {
        const list = await ok('GET', listPath(selector, undefined, `&limit=3${token ? `&continue=${encodeURIComponent(token)}` : ''}`));
        assert.ok(list.items.length <= 3);
        seen.push(...keysOf(list));
        token = list.metadata.continue ?? '';
        pages++;
      } while (token && pages < 100);
      assert.deepEqual(seen, expected(selector), selector);
    }
  });

  test('relabelled and deleted objects leave and join the selections; an older resourceVersion still selects what matched then', async () => {
    const before = new Map(model);
    const rv = (await ok('GET', '/api/v1/configmaps?limit=1')).metadata.resourceVersion;
    const watch = openWatch(server, listPath('app=web', undefined, `&watch=1&resourceVersion=${rv}`));
    try {
      const changes: Array<[string, Record<string, string | null>]> = [
        ['sel-a/cm-00', { app: 'web', tier: null }],
        ['sel-b/cm-03', { app: 'db' }],
        ['sel-a/cm-06', { shard: null, size: '5' }],
        ['sel-b/cm-09', { app: null }],
      ];
      for (const [key, patch] of changes) {
        const [ns, name] = key.split('/');
        await ok('PATCH', `/api/v1/namespaces/${ns}/configmaps/${name}`, { metadata: { labels: patch } }, { 'Content-Type': 'application/merge-patch+json' });
        const labels = { ...model.get(key)! };
        for (const [k, v] of Object.entries(patch)) {
          if (v === null) delete labels[k];
          else labels[k] = v;
        }
        model.set(key, labels);
      }
      for (const key of ['sel-a/cm-12', 'sel-b/cm-15']) {
        const [ns, name] = key.split('/');
        await ok('DELETE', `/api/v1/namespaces/${ns}/configmaps/${name}`);
        model.delete(key);
      }
      await assertSelectors();
      await assertSelectors(before, `&resourceVersion=${rv}&resourceVersionMatch=Exact`);

      // The watch saw each change to the app=web selection: joins as ADDED, leaves as DELETED.
      const joined = expected('app=web').filter((k) => !expected('app=web', undefined, before).includes(k));
      const left = expected('app=web', undefined, before).filter((k) => !expected('app=web').includes(k));
      const key = (e: { object: any }) => `${e.object.metadata.namespace}/${e.object.metadata.name}`;
      await watch.until((events) => events.filter((e) => e.type === 'ADDED').length >= joined.length && events.filter((e) => e.type === 'DELETED').length >= left.length);
      assert.deepEqual(watch.events.filter((e) => e.type === 'ADDED').map(key).sort(), joined);
      assert.deepEqual(watch.events.filter((e) => e.type === 'DELETED').map(key).sort(), left);
      assert.ok(joined.length > 0 && left.length > 0, 'the changes move objects both into and out of the selection');
    } finally {
      watch.close();
    }
  });
});

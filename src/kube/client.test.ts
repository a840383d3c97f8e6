import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestApiServer, type TestApiServer } from '../../test/support/apiserver.ts';
import { KubeApiError, KubeClient, KubeConfigError, loadKubeConfig, resourcePath } from './client.ts';
import type { ConfigMap } from './kinds.ts';

function kubeconfig(server: string, context = 'c'): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    `current-context: ${context}`,
    'clusters: [{name: k, cluster: {server: "' + server + '"}}]',
    'users: [{name: u, user: {token: t}}]',
    'contexts: [{name: c, context: {cluster: k, user: u, namespace: team}}]',
  ].join('\n');
}

describe('loadKubeConfig', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'kre-kubeconfig-'));
    writeFileSync(join(dir, 'explicit'), kubeconfig('https://explicit:6443'));
    writeFileSync(join(dir, 'fromenv'), kubeconfig('https://fromenv:6443'));
    writeFileSync(join(dir, 'broken'), kubeconfig('https://broken:6443', 'missing'));
    mkdirSync(join(dir, 'home', '.kube'), { recursive: true });
    writeFileSync(join(dir, 'home', '.kube', 'config'), kubeconfig('https://home:6443'));
    mkdirSync(join(dir, 'sa'));
    writeFileSync(join(dir, 'sa', 'token'), 'tok');
    writeFileSync(join(dir, 'sa', 'ca.crt'), 'not really a certificate');
    writeFileSync(join(dir, 'sa', 'namespace'), 'kre\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const server = (r: ReturnType<typeof loadKubeConfig>) => r.kc.getCurrentCluster()?.server;

  test('takes --kubeconfig, then KUBECONFIG, then ~/.kube/config, then the service account', () => {
    const env = { KUBECONFIG: join(dir, 'fromenv'), KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' };
    const common = { homeDir: join(dir, 'home'), serviceAccountDir: join(dir, 'sa') };
    assert.equal(server(loadKubeConfig({ ...common, env, kubeconfig: join(dir, 'explicit') })), 'https://explicit:6443');
    assert.equal(server(loadKubeConfig({ ...common, env })), 'https://fromenv:6443');
    assert.equal(server(loadKubeConfig({ ...common, env: { KUBERNETES_SERVICE_HOST: '10.0.0.1' } })), 'https://home:6443');
    const inCluster = loadKubeConfig({ serviceAccountDir: join(dir, 'sa'), homeDir: join(dir, 'nohome'), env: { KUBERNETES_SERVICE_HOST: '10.0.0.1' } });
    assert.equal(server(inCluster), 'https://10.0.0.1:443');
    assert.match(inCluster.source, /in-cluster/);
    assert.equal(new KubeClient(inCluster.kc).defaultNamespace, 'kre');
  });

  test('a named but broken config is an error, never a fallback to the next source', () => {
    assert.throws(
      () => loadKubeConfig({ kubeconfig: join(dir, 'nope'), homeDir: join(dir, 'home'), env: {} }),
      (err: unknown) => err instanceof KubeConfigError && /--kubeconfig .*nope: does not exist/.test(err.message),
    );
    assert.throws(
      () => loadKubeConfig({ homeDir: join(dir, 'home'), env: { KUBECONFIG: join(dir, 'broken') } }),
      (err: unknown) => err instanceof KubeConfigError && /"missing" is not defined/.test(err.message),
    );
  });

  test('when nothing works, the error names every source tried and why', () => {
    assert.throws(
      () => loadKubeConfig({ homeDir: join(dir, 'nohome'), serviceAccountDir: join(dir, 'nosa'), env: {} }),
      (err: unknown) => {
        assert.ok(err instanceof KubeConfigError);
        assert.deepEqual(
          err.attempts.map((a) => a.problem),
          ['not set', 'does not exist', 'KUBERNETES_SERVICE_HOST is not set'],
        );
        return true;
      },
    );
  });

  test('builds API paths for core, grouped, namespaced and cluster-scoped resources', () => {
    assert.equal(resourcePath({ group: '', version: 'v1', plural: 'pods', namespace: 'a', name: 'p' }, 'status'), '/api/v1/namespaces/a/pods/p/status');
    assert.equal(resourcePath({ group: 'apps', version: 'v1', plural: 'deployments' }), '/apis/apps/v1/deployments');
    assert.equal(resourcePath({ group: '', version: 'v1', plural: 'nodes', name: 'n1' }), '/api/v1/nodes/n1');
  });
});

describe('KubeClient against an API server', () => {
  let server: TestApiServer;
  let client: KubeClient;
  const configmaps = { group: '', version: 'v1', plural: 'configmaps', namespace: 'default' };
  before(async () => {
    server = await startTestApiServer();
    client = new KubeClient(loadKubeConfig({ kubeconfig: server.kubeconfigPath }).kc);
  });
  after(async () => {
    client?.close();
    await server?.stop();
  });

  test('creates, reads, patches, applies and deletes; failures carry the Status fields', async () => {
    const created = await client.create(configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c1' }, data: { a: '1' } });
    assert.ok(created.metadata.uid);
    const got = await client.get<ConfigMap>({ ...configmaps, name: 'c1' });
    assert.equal(got.data?.a, '1');
    const patched = await client.patch({ ...configmaps, name: 'c1' }, { data: { b: '2' } });
    assert.deepEqual(patched.data, { a: '1', b: '2' });
    const applied = await client.apply<ConfigMap>({ ...configmaps, name: 'c2' }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c2' }, data: { x: 'y' } }, { fieldManager: 'test' });
    assert.equal(applied.data?.x, 'y');
    await assert.rejects(
      client.create(configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c1' } }),
      (err: unknown) => err instanceof KubeApiError && err.code === 409 && err.reason === 'AlreadyExists' && /c1/.test(err.message),
    );
    await client.delete({ ...configmaps, name: 'c1' });
    await assert.rejects(client.get({ ...configmaps, name: 'c1' }), (err: unknown) => err instanceof KubeApiError && err.code === 404 && err.reason === 'NotFound');
    assert.deepEqual(await client.resourceFor('coordination.k8s.io/v1', 'Lease'), {
      group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease', namespaced: true,
    });
  });

  test('a watch streams events from a resourceVersion and ends quietly on close', async () => {
    const list = await client.list(configmaps);
    const watch = await client.watch(configmaps, { resourceVersion: list.metadata.resourceVersion, allowWatchBookmarks: true });
    await client.create(configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'w1' } });
    const seen: string[] = [];
    for await (const e of watch) {
      if (e.type === 'BOOKMARK') continue;
      seen.push(`${e.type} ${e.object.metadata.name}`);
      watch.close();
    }
    assert.deepEqual(seen, ['ADDED w1']);
  });
});

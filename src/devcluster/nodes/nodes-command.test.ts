/**
 * `kre devcluster nodes --kubeconfig PATH --controllers` as a separate process serving an API
 * server that has no nodes or controllers of its own (a devcluster started with `nodes: 0`), as it
 * would serve a real cluster.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Deployment, KubeList, Node, Pod } from '../../kube/index.ts';
import { startDevCluster, type DevCluster } from '../index.ts';
import { eventually, rawRequest } from '../testing.ts';

let cluster: DevCluster;
let child: ChildProcess;
let output = '';
const root = join(import.meta.dirname, '..', '..', '..');

before(async () => {
  cluster = await startDevCluster({ nodes: 0 });
  child = spawn(process.execPath, [join(root, 'bin', 'kre.js'), 'devcluster', 'nodes', '--kubeconfig', cluster.kubeconfigPath, '--nodes', '2', '--controllers'], {
    env: { ...process.env, KRE_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
});
after(async () => {
  if (child.exitCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  await cluster.stop();
});

test('the nodes process registers its nodes and runs a Deployment on the other server', async () => {
  await eventually(() => /"msg":"ready"/.test(output), 60_000, `the ready line; output: ${output}`);
  const nodes: Node[] = (await rawRequest(cluster, 'GET', '/api/v1/nodes')).json<KubeList<Node>>().items;
  assert.deepEqual(nodes.map((n) => n.metadata.name), ['kre-node-1', 'kre-node-2']);
  const created = await rawRequest(cluster, 'POST', '/apis/apps/v1/namespaces/default/deployments', {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'remote' },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'remote' } },
      template: { metadata: { labels: { app: 'remote' } }, spec: { containers: [{ name: 'main', image: 'remote:1' }] } },
    },
  });
  assert.equal(created.status, 201, created.text);
  await eventually(async () => {
    const d: Deployment = (await rawRequest(cluster, 'GET', '/apis/apps/v1/namespaces/default/deployments/remote')).json();
    return d.status?.availableReplicas === 2;
  }, 60_000, 'two available replicas');
  const pods: Pod[] = (await rawRequest(cluster, 'GET', '/api/v1/namespaces/default/pods?labelSelector=app%3Dremote')).json<KubeList<Pod>>().items;
  assert.equal(pods.length, 2);
  for (const p of pods) {
    assert.equal(p.status?.phase, 'Running');
    assert.match(p.spec?.nodeName ?? '', /^kre-node-[12]$/);
  }
});

test('SIGTERM stops the process with status 0', async () => {
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  assert.equal(await exited, 0, output.slice(-2000));
});

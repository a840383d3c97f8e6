import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { startDevCluster, type DevCluster } from '../cluster.ts';
import { eventually, rawRequest } from '../testing.ts';
import type { KubeList, Node, Pod, ResourceRequirements } from '../../kube/index.ts';
import { podCgroup } from './cgroup-layout.ts';

let cluster: DevCluster;

before(async () => {
  cluster = await startDevCluster({ nodes: 1 });
});
after(async () => {
  await cluster?.stop();
});

/** kre-node-1's InternalIP, where its kubelet listens. */
const KUBELET_HOST = '127.0.1.1';

function kubelet(port: number, path: string, token?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: KUBELET_HOST, port, path, rejectUnauthorized: false, headers: token ? { Authorization: `Bearer ${token}` } : {} }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end();
  });
}

function kubectl(...args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('kubectl', args, { env: { ...process.env, KUBECONFIG: cluster.kubeconfigPath }, encoding: 'utf8', timeout: 60_000 }, (err, out, errOut) => (err ? reject(new Error(`${err.message}\n${errOut}`)) : resolve(out))),
  );
}

async function createPod(name: string, resources: ResourceRequirements, annotations: Record<string, string> = {}): Promise<Pod> {
  const r = await rawRequest(cluster, 'POST', '/api/v1/namespaces/default/pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name, annotations, labels: { app: name } }, spec: { containers: [{ name: 'main', image: 'model:1', resources }] } });
  assert.equal(r.status, 201, r.text);
  return eventually(async () => {
    const p: Pod = (await rawRequest(cluster, 'GET', `/api/v1/namespaces/default/pods/${name}`)).json();
    return p.status?.phase === 'Running' && p;
  }, 30_000, `pod ${name} running`);
}

test('kubelet endpoints, cgroup files and kubectl top', async () => {
  const pod = await createPod('worker', { requests: { cpu: '250m', memory: '64Mi' }, limits: { cpu: '1', memory: '256Mi' } }, { 'kre.konstellation.io/cpu-millicores': '400' });
  const node: Node = (await rawRequest(cluster, 'GET', '/api/v1/nodes/kre-node-1')).json();
  const port = node.status?.daemonEndpoints?.kubeletEndpoint?.Port ?? 0;
  assert.ok(port > 0 && port !== 10250, `port ${port}`);
  const address = node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
  assert.equal(address, KUBELET_HOST, 'the node has an address of its own, where its kubelet listens');

  assert.equal((await kubelet(port, '/pods')).status, 401);
  assert.equal((await kubelet(port, '/healthz')).text, 'ok');
  const list: KubeList<Pod> = JSON.parse((await kubelet(port, '/pods', cluster.token)).text);
  assert.equal(list.kind, 'PodList');
  assert.ok(list.items.some((p) => p.metadata.uid === pod.metadata.uid));

  const cadvisor = await eventually(async () => {
    const text = (await kubelet(port, '/metrics/cadvisor', cluster.token)).text;
    return /container_cpu_usage_seconds_total\{container="main",cpu="total",id="[^"]+",image="model:1",name="[0-9a-f]{64}",namespace="default",pod="worker"\} [0-9.e+-]+ \d+/.test(text) && text;
  }, 30_000, 'the container in /metrics/cadvisor');
  assert.match(cadvisor, /container_memory_working_set_bytes\{container="main",id="[^"]+",image="model:1",name="[0-9a-f]{64}",namespace="default",pod="worker"\} [0-9.e+]+ \d+\n/);
  assert.match(cadvisor, /container_spec_memory_limit_bytes\{container="main",[^}]*pod="worker"\} 2\.68435456e\+08 \d+\n/);
  assert.match(cadvisor, /container_cpu_usage_seconds_total\{container="",cpu="total",id="\/kubepods.slice\/kubepods-burstable.slice\/kubepods-burstable-pod[0-9a-f_]+\.slice",image="",name="",namespace="default",pod="worker"\} /);
  const resource = (await kubelet(port, '/metrics/resource', cluster.token)).text;
  assert.match(resource, /pod_cpu_usage_seconds_total\{namespace="default",pod="worker"\} [0-9.e+-]+ \d+\n/);
  assert.match(resource, /^node_cpu_usage_seconds_total [0-9.e+-]+ \d+$/m);
  const logs = (await kubelet(port, '/containerLogs/default/worker/main', cluster.token)).text;
  assert.match(logs, /simulated container main started from image model:1/);

  const root = cluster.nodes.list().find((n) => n.name === 'kre-node-1')?.cgroupRoot;
  assert.ok(root, 'the node writes cgroup files');
  const dir = join(root, podCgroup('systemd', 'Burstable', pod.metadata.uid!));
  assert.equal(readFileSync(join(dir, 'cpu.max'), 'utf8'), '100000 100000\n');
  assert.equal(readFileSync(join(dir, 'cpu.weight'), 'utf8'), '10\n');
  assert.ok(existsSync(join(dir, 'cpu.stat')));

  const top = await eventually(async () => {
    try {
      return await kubectl('top', 'pods', '--no-headers');
    } catch {
      return undefined;
    }
  }, 40_000, 'kubectl top pods');
  assert.match(top, /^worker\s+\d+m\s+\d+Mi\s*$/m);
  const nodes = await kubectl('top', 'nodes', '--no-headers');
  assert.match(nodes, /^kre-node-1\s+\d+m\s+\d+%\s+\d+Mi\s+\d+%\s*$/m);
});

test('memory over the limit: OOMKilled, exit code 137, restarted', async () => {
  await createPod('hog', { limits: { memory: '64Mi' } }, { 'kre.konstellation.io/memory-bytes': '128Mi', 'kre.konstellation.io/memory-ramp-seconds': '1' });
  const status = await eventually(async () => {
    const p: Pod = (await rawRequest(cluster, 'GET', '/api/v1/namespaces/default/pods/hog')).json();
    const s = p.status?.containerStatuses?.[0];
    return s?.lastState?.terminated?.reason === 'OOMKilled' && s;
  }, 45_000, 'an OOM kill');
  assert.equal(status.lastState?.terminated?.exitCode, 137);
  assert.ok(status.restartCount >= 1);
});

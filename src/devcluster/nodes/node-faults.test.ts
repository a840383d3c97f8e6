/**
 * Node faults on a devcluster of two nodes with a short node grace period: a kubelet that stops
 * answering makes its node Unknown (NotReady, tainted unreachable) and its pods not ready, and
 * all comes back when it answers again; crashed containers, from code and from the admin
 * endpoint; `kubectl logs` served by the kubelet; the cgroup files on tmpfs, removed on stop;
 * pods evicted from an unreachable node once their toleration runs out.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { connect } from 'node:net';
import type { Condition, Event, KubeList, Node, Pod, Status, Toleration } from '../../kube/index.ts';
import { startDevCluster, type DevCluster } from '../index.ts';
import { eventually, rawRequest } from '../testing.ts';
import { evictionTime } from '../controllers/node-lifecycle.ts';
import type { SimulatedNode } from './faults.ts';

let cluster: DevCluster;
let stopped = false;

before(async () => {
  cluster = await startDevCluster({ nodes: 2, nodeGracePeriodMs: 3000 });
});
after(async () => {
  if (!stopped) await cluster.stop();
});

function kubectl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile('kubectl', args, { env: { ...process.env, KUBECONFIG: cluster.kubeconfigPath }, encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

const getPod = async (name: string): Promise<Pod> => (await rawRequest(cluster, 'GET', `/api/v1/namespaces/default/pods/${name}`)).json();
const getNode = async (name: string): Promise<Node> => (await rawRequest(cluster, 'GET', `/api/v1/nodes/${name}`)).json();
const condition = (obj: Pod | Node, type: string): Condition | undefined => (obj.status?.conditions ?? []).find((c) => c.type === type);

async function runPod(name: string, node: string): Promise<Pod> {
  const r = await rawRequest(cluster, 'POST', '/api/v1/namespaces/default/pods', {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: { nodeSelector: { 'kubernetes.io/hostname': node }, containers: [{ name: 'main', image: 'model:1' }] },
  });
  assert.equal(r.status, 201, r.text);
  return eventually(async () => {
    const p = await getPod(name);
    return condition(p, 'Ready')?.status === 'True' && p;
  }, 30_000, `pod ${name} ready`);
}

/** Whether kre-node-2's kubelet (at the node's InternalIP) accepts connections on `port`. */
function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.1.2');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

test('a kubelet that stops answering: node Unknown and tainted, its pods not ready; back: Ready again', async () => {
  await runPod('away', 'kre-node-2');
  await runPod('stays', 'kre-node-1');
  const port = cluster.nodes.list().find((n) => n.name === 'kre-node-2')!.kubelet!.port;
  assert.equal(await portOpen(port), true);

  await cluster.nodes.setUnresponsive('kre-node-2', 'refuse');
  assert.equal(cluster.nodes.list().find((n) => n.name === 'kre-node-2')!.unresponsive, 'refuse');
  assert.equal(await portOpen(port), false, 'the kubelet refuses connections');
  const node = await eventually(async () => {
    const n = await getNode('kre-node-2');
    return condition(n, 'Ready')?.status === 'Unknown' && (n.spec?.taints ?? []).length === 2 && n;
  }, 30_000, 'kre-node-2 Unknown and tainted');
  const ready = condition(node, 'Ready');
  assert.equal(ready?.reason, 'NodeStatusUnknown');
  assert.equal(ready?.message, 'Kubelet stopped posting node status.');
  assert.equal(condition(node, 'MemoryPressure')?.status, 'Unknown');
  const taints = node.spec?.taints ?? [];
  assert.deepEqual(taints.map((t) => `${t.key}:${t.effect}`).sort(), ['node.kubernetes.io/unreachable:NoExecute', 'node.kubernetes.io/unreachable:NoSchedule']);
  assert.match(taints.find((t) => t.effect === 'NoExecute')?.timeAdded ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  const pod = await eventually(async () => {
    const p = await getPod('away');
    return condition(p, 'Ready')?.status === 'False' && p;
  }, 15_000, 'pod away not ready');
  assert.equal(pod.status?.phase, 'Running');
  const get = await kubectl('get', 'nodes', '--no-headers');
  assert.match(get.stdout, /^kre-node-2\s+NotReady\s/m);
  assert.match(get.stdout, /^kre-node-1\s+Ready\s/m);
  const events: KubeList<Event> = (await rawRequest(cluster, 'GET', '/api/v1/namespaces/default/events?fieldSelector=involvedObject.name=away,reason=NodeNotReady')).json();
  assert.ok(events.items.length >= 1, 'a NodeNotReady event on the pod');
  // The other node's pod is untouched.
  assert.equal(condition(await getPod('stays'), 'Ready')?.status, 'True');

  await cluster.nodes.setUnresponsive('kre-node-2', false);
  await eventually(async () => {
    const n = await getNode('kre-node-2');
    return condition(n, 'Ready')?.status === 'True' && (n.spec?.taints ?? []).length === 0;
  }, 30_000, 'kre-node-2 Ready without taints');
  await eventually(async () => condition(await getPod('away'), 'Ready')?.status === 'True', 15_000, 'pod away ready again');
  assert.equal(await portOpen(port), true, 'the kubelet listens again on its port');
  assert.equal(condition(await getNode('kre-node-1'), 'Ready')?.status, 'True');
});

test('an unreachable node: a pod tolerating it for 1 s is evicted, one with the default 300 s stays; back: the eviction completes', async () => {
  const r = await rawRequest(cluster, 'POST', '/api/v1/namespaces/default/pods', {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'evicted' },
    spec: {
      nodeSelector: { 'kubernetes.io/hostname': 'kre-node-2' },
      tolerations: [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 1 }],
      containers: [{ name: 'main', image: 'model:1' }],
    },
  });
  assert.equal(r.status, 201, r.text);
  await eventually(async () => condition(await getPod('evicted'), 'Ready')?.status === 'True', 30_000, 'pod evicted ready');
  await runPod('tolerant', 'kre-node-2');
  assert.equal((await getPod('tolerant')).spec?.tolerations?.find((t) => t.key === 'node.kubernetes.io/unreachable')?.tolerationSeconds, 300);

  await cluster.nodes.setUnresponsive('kre-node-2', 'refuse');
  const evicted = await eventually(async () => {
    const p = await getPod('evicted');
    return Boolean(p.metadata.deletionTimestamp) && p;
  }, 30_000, 'pod evicted marked for deletion');
  assert.equal(evicted.metadata.deletionGracePeriodSeconds, 30);
  const events: KubeList<Event> = (await rawRequest(cluster, 'GET', '/api/v1/namespaces/default/events?fieldSelector=involvedObject.name=evicted,reason=TaintManagerEviction')).json();
  assert.equal(events.items[0]?.message, 'Marking for deletion Pod default/evicted');
  const tolerant = await getPod('tolerant');
  assert.equal(tolerant.metadata.deletionTimestamp, undefined);
  assert.equal(condition(tolerant, 'Ready')?.status, 'False');

  await cluster.nodes.setUnresponsive('kre-node-2', false);
  await eventually(async () => (await rawRequest(cluster, 'GET', '/api/v1/namespaces/default/pods/evicted')).status === 404, 30_000, 'pod evicted gone');
  await eventually(async () => condition(await getPod('tolerant'), 'Ready')?.status === 'True', 30_000, 'pod tolerant ready again');
});

test('eviction times: at once without a toleration, after the shortest tolerationSeconds, never without one', () => {
  const taint = { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' };
  const pod = (tolerations?: Toleration[]): Pod => ({ metadata: { name: 'p' }, spec: { containers: [], tolerations } });
  assert.equal(evictionTime(pod(), taint, 1000), 1000);
  assert.equal(evictionTime(pod([{ key: 'other', operator: 'Exists' }]), taint, 1000), 1000);
  assert.equal(evictionTime(pod([{ key: taint.key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 5 }, { operator: 'Exists', tolerationSeconds: 2 }]), taint, 1000), 3000);
  assert.equal(evictionTime(pod([{ key: taint.key, operator: 'Exists', effect: 'NoExecute' }]), taint, 1000), undefined);
  assert.equal(evictionTime(pod([{ key: taint.key, operator: 'Exists', effect: 'NoSchedule', tolerationSeconds: 1 }]), taint, 1000), 1000);
});

test('admin endpoint: a hanging kubelet, then back; unknown nodes, bad bodies, no token', async () => {
  let r = await rawRequest(cluster, 'PUT', '/kre-admin/nodes/kre-node-1/fault', { unresponsive: 'hang' });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json(), { name: 'kre-node-1', unresponsive: 'hang' });
  r = await rawRequest(cluster, 'GET', '/kre-admin/nodes');
  const nodes = r.json<{ items: SimulatedNode[] }>().items;
  assert.equal(nodes.find((n) => n.name === 'kre-node-1')?.unresponsive, 'hang');
  await eventually(async () => condition(await getNode('kre-node-1'), 'Ready')?.status === 'Unknown', 30_000, 'kre-node-1 Unknown');
  r = await rawRequest(cluster, 'PUT', '/kre-admin/nodes/kre-node-1/fault', { unresponsive: false });
  assert.equal(r.status, 200, r.text);
  await eventually(async () => condition(await getNode('kre-node-1'), 'Ready')?.status === 'True', 30_000, 'kre-node-1 Ready');

  r = await rawRequest(cluster, 'PUT', '/kre-admin/nodes/no-such-node/fault', { unresponsive: 'hang' });
  assert.equal(r.status, 404);
  assert.equal(r.json().kind, 'Status');
  assert.match(r.json<Status>().message ?? '', /no-such-node/);
  for (const body of [{ unresponsive: 'sometimes' }, {}, 'not json', [1]]) {
    r = await rawRequest(cluster, 'PUT', '/kre-admin/nodes/kre-node-1/fault', body);
    assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
  }
  r = await rawRequest(cluster, 'POST', '/kre-admin/pods/default/no-such-pod/crash');
  assert.equal(r.status, 404);
  assert.match(r.json<Status>().message ?? '', /no-such-pod/);
  r = await rawRequest(cluster, 'PUT', '/kre-admin/nodes/kre-node-1/fault', { unresponsive: 'hang' }, { Authorization: 'Bearer wrong' });
  assert.equal(r.status, 401);
});

test('a crashed container, from code and from the admin endpoint: restarted with lastState terminated', async () => {
  await runPod('crashy', 'kre-node-1');
  await cluster.nodes.crashContainer('default', 'crashy', 'main');
  let s = await eventually(async () => {
    const st = (await getPod('crashy')).status?.containerStatuses?.[0];
    return st?.restartCount === 1 && st.lastState?.terminated && st;
  }, 15_000, 'a restart after the crash');
  assert.equal(s.lastState?.terminated?.exitCode, 1);
  assert.equal(s.lastState?.terminated?.reason, 'Error');

  await eventually(async () => (await getPod('crashy')).status?.containerStatuses?.[0]?.state?.running, 15_000, 'running again');
  const r = await rawRequest(cluster, 'POST', '/kre-admin/pods/default/crashy/crash?container=main');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json(), { namespace: 'default', pod: 'crashy', node: 'kre-node-1', container: 'main' });
  s = await eventually(async () => {
    const st = (await getPod('crashy')).status?.containerStatuses?.[0];
    return st?.restartCount === 2 && st;
  }, 30_000, 'a second restart');
  assert.equal(s.lastState?.terminated?.exitCode, 1);
  const bad = await rawRequest(cluster, 'POST', '/kre-admin/pods/default/crashy/crash?container=nope');
  assert.equal(bad.status, 400, bad.text);
});

test('kubectl logs comes from the kubelet', async () => {
  await runPod('talker', 'kre-node-1');
  const out = await kubectl('logs', 'talker');
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stdout, /^simulated container main started from image model:1 on node kre-node-1\n$/);
  const stamped = await kubectl('logs', 'talker', '--timestamps');
  assert.match(stamped.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z simulated container main started/);
  // Through the kubelet: when it refuses connections, so does `kubectl logs`.
  await cluster.nodes.setUnresponsive('kre-node-1', 'refuse');
  try {
    const failed = await kubectl('logs', 'talker');
    assert.notEqual(failed.code, 0);
    assert.match(failed.stderr, /connection refused/);
  } finally {
    await cluster.nodes.setUnresponsive('kre-node-1', false);
  }
});

test('the cgroup files are on tmpfs and removed on stop', async (t) => {
  const roots = cluster.nodes.list().map((n) => n.cgroupRoot!);
  assert.equal(roots.length, 2);
  try {
    accessSync('/dev/shm', constants.W_OK);
  } catch {
    t.skip('/dev/shm is not writable here');
    return;
  }
  for (const root of roots) {
    assert.match(root, /^\/dev\/shm\/kre-[^/]+\/kre-node-\d\/cgroup$/);
    assert.ok(existsSync(`${root}/cgroup.controllers`), root);
  }
  stopped = true;
  await cluster.stop();
  for (const root of roots) assert.equal(existsSync(root.replace(/\/kre-node-\d\/cgroup$/, '')), false);
});

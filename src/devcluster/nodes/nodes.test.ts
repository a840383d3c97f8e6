/**
 * Nodes, scheduling and kubelets on a devcluster with three nodes of 8 CPUs: Node objects and
 * their Leases, a pod that fits nowhere (FailedScheduling in `kubectl describe`), node selectors,
 * graceful deletion finished by the kubelet, and a crash loop.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Event, KubeList, Lease, Node, Pod } from '../../kube/index.ts';
import { startDevCluster, type DevCluster } from '../index.ts';
import { eventually, kubectlFor, rawRequest } from '../testing.ts';

let cluster: DevCluster;

const { ok } = kubectlFor(() => cluster.kubeconfigPath);

const getPod = async (name: string): Promise<Pod> => (await rawRequest(cluster, 'GET', `/api/v1/namespaces/default/pods/${name}`)).json();
const eventsOf = async (name: string): Promise<Event[]> => (await rawRequest(cluster, 'GET', `/api/v1/namespaces/default/events?fieldSelector=involvedObject.name=${name}`)).json<KubeList<Event>>().items;

function pod(name: string, spec: Record<string, unknown> = {}, annotations: Record<string, string> = {}) {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, annotations },
    spec: { containers: [{ name: 'main', image: 'registry.example/app:1' }], ...spec },
  });
}

before(async () => {
  cluster = await startDevCluster({ nodes: 3, maxPods: 50 });
});
after(async () => {
  await cluster.stop();
});

test('nodes are Ready with capacity, addresses and a Lease renewed with MicroTime', async () => {
  const nodes: Node[] = (await rawRequest(cluster, 'GET', '/api/v1/nodes')).json<KubeList<Node>>().items;
  assert.deepEqual(nodes.map((n) => n.metadata.name), ['kre-node-1', 'kre-node-2', 'kre-node-3']);
  const n1 = nodes[0].status;
  assert.equal(n1?.capacity?.cpu, '8');
  assert.equal(n1?.capacity?.memory, '32Gi');
  assert.equal(n1?.allocatable?.pods, '50');
  assert.deepEqual(n1?.addresses?.map((a) => a.type), ['InternalIP', 'Hostname']);
  assert.match(n1?.addresses?.[0].address ?? '', /^\d+\.\d+\.\d+\.\d+$/);
  const cond = Object.fromEntries((n1?.conditions ?? []).map((c) => [c.type, c.status]));
  assert.deepEqual(cond, { MemoryPressure: 'False', DiskPressure: 'False', PIDPressure: 'False', Ready: 'True' });
  const lease: Lease = (await rawRequest(cluster, 'GET', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/kre-node-1')).json();
  assert.match(lease.spec?.renewTime ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  assert.equal(lease.spec?.holderIdentity, 'kre-node-1');
  const out = await ok(['get', 'nodes']);
  assert.match(out, /kre-node-3\s+Ready/);
});

test('a pod that fits nowhere stays Pending with a FailedScheduling event in kubectl describe', async () => {
  await ok(['apply', '-f', '-'], pod('huge', { containers: [{ name: 'main', image: 'big:1', resources: { requests: { cpu: '9' } } }] }));
  const p = await eventually(async () => {
    const got = await getPod('huge');
    return got.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.status === 'False') && got;
  }, 30_000, 'PodScheduled=False');
  assert.equal(p.status?.phase, 'Pending');
  assert.equal(p.spec?.nodeName, undefined);
  const scheduled = p.status?.conditions?.find((c) => c.type === 'PodScheduled');
  assert.equal(scheduled?.reason, 'Unschedulable');
  assert.match(scheduled?.message ?? '', /^0\/3 nodes are available: 3 Insufficient cpu\./);
  const describe = await eventually(async () => {
    const out = await ok(['describe', 'pod', 'huge']);
    return /FailedScheduling/.test(out) && out;
  }, 30_000, 'the event in describe');
  assert.match(describe, /Warning\s+FailedScheduling\s+.*0\/3 nodes are available: 3 Insufficient cpu\./);
});

test('nodeSelector and node affinity pick the node', async () => {
  await ok(['apply', '-f', '-'], pod('pinned', { nodeSelector: { 'kubernetes.io/hostname': 'kre-node-2' } }));
  await ok(['apply', '-f', '-'], pod('by-field', {
    affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['kre-node-3'] }] }] } } },
  }));
  await ok(['apply', '-f', '-'], pod('nowhere', { nodeSelector: { disk: 'ssd' } }));
  await eventually(async () => (await getPod('pinned')).spec?.nodeName === 'kre-node-2', 30_000, 'pinned on kre-node-2');
  await eventually(async () => (await getPod('by-field')).spec?.nodeName === 'kre-node-3', 30_000, 'by-field on kre-node-3');
  const nowhere = await eventually(async () => {
    const got = await getPod('nowhere');
    return got.status?.conditions?.find((c) => c.type === 'PodScheduled')?.message;
  }, 30_000, 'unschedulable');
  assert.match(nowhere, /^0\/3 nodes are available: 3 node\(s\) didn't match Pod's node affinity\/selector\./);
  // A node that gets the label takes the pod.
  await ok(['label', 'node', 'kre-node-1', 'disk=ssd']);
  await eventually(async () => (await getPod('nowhere')).spec?.nodeName === 'kre-node-1', 30_000, 'the pod on the labelled node');
});

test('a running pod gets the status a kubelet reports, and Events from the scheduler and the kubelet', async () => {
  await ok(['apply', '-f', '-'], pod('status', {}, {}));
  const p = await eventually(async () => {
    const got = await getPod('status');
    return got.status?.phase === 'Running' && got;
  }, 30_000, 'Running');
  const types = (p.status?.conditions ?? []).map((c) => `${c.type}=${c.status}`).sort();
  assert.deepEqual(types, ['ContainersReady=True', 'Initialized=True', 'PodReadyToStartContainers=True', 'PodScheduled=True', 'Ready=True']);
  const cs = p.status?.containerStatuses?.[0];
  assert.equal(cs?.ready, true);
  assert.equal(cs?.started, true);
  assert.equal(cs?.restartCount, 0);
  assert.ok(cs?.state?.running?.startedAt);
  assert.equal(p.status?.qosClass, 'BestEffort');
  const index = Number(p.spec?.nodeName?.split('-').pop());
  assert.match(p.status?.hostIP ?? '', /^\d+\.\d+\.\d+\.\d+$/);
  assert.deepEqual(p.status?.hostIPs, [{ ip: p.status?.hostIP }]);
  assert.ok(p.status?.podIP?.startsWith(`10.244.${index}.`));
  const reasons = await eventually(async () => {
    const r = (await eventsOf('status')).map((e) => e.reason).sort();
    return r.length >= 4 && r;
  }, 30_000, 'events');
  assert.deepEqual(reasons, ['Created', 'Pulled', 'Scheduled', 'Started']);
});

test('graceful deletion: the pod stays Terminating until its containers stop, then the kubelet removes it', async () => {
  await ok(['apply', '-f', '-'], pod('graceful', { terminationGracePeriodSeconds: 30 }, { 'kre.konstellation.io/shutdown-seconds': '2' }));
  await eventually(async () => (await getPod('graceful')).status?.phase === 'Running', 30_000, 'Running');
  const started = Date.now();
  const del = await rawRequest(cluster, 'DELETE', '/api/v1/namespaces/default/pods/graceful');
  assert.equal(del.status, 200);
  const terminating = await getPod('graceful');
  assert.ok(terminating.metadata.deletionTimestamp);
  assert.equal(terminating.metadata.deletionGracePeriodSeconds, 30);
  await eventually(async () => (await rawRequest(cluster, 'GET', '/api/v1/namespaces/default/pods/graceful')).status === 404, 30_000, 'the pod to be removed');
  const took = Date.now() - started;
  assert.ok(took >= 1500, `removed after ${took} ms, before its containers stopped`);
  assert.ok(took < 25_000, `removed after ${took} ms: the grace period, not the shutdown time`);
  assert.ok((await eventsOf('graceful')).some((e) => e.reason === 'Killing'), 'a Killing event');
});

test('a crash-looping container restarts with a growing restartCount and waits in CrashLoopBackOff', async () => {
  await ok(['apply', '-f', '-'], pod('crashy', {}, { 'kre.konstellation.io/crash-loop': 'true' }));
  const p = await eventually(async () => {
    const got = await getPod('crashy');
    const cs = got.status?.containerStatuses?.[0];
    return cs && cs.restartCount >= 2 && cs.state?.waiting?.reason === 'CrashLoopBackOff' && got;
  }, 60_000, 'two restarts and CrashLoopBackOff');
  const cs = p.status?.containerStatuses?.[0];
  assert.equal(cs?.ready, false);
  assert.equal(cs?.lastState?.terminated?.exitCode, 1);
  assert.equal(p.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'False');
  const out = await ok(['get', 'pod', 'crashy']);
  assert.match(out, /crashy\s+0\/1\s+(CrashLoopBackOff|Error|Running)\s+\d/);
  await eventually(async () => {
    return (await eventsOf('crashy')).some((e) => e.reason === 'BackOff' && e.type === 'Warning');
  }, 30_000, 'a BackOff event');
});

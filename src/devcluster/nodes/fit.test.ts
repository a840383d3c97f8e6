/** The scheduler's filters and its FailedScheduling wording, as pure functions. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Node, NodeSpec, Pod, PodSpec } from '../../kube/index.ts';
import { podRequests, unfitReasons, unschedulableMessage, ZERO } from './fit.ts';

const node = (name: string, extra: { labels?: Record<string, string>; spec?: NodeSpec } = {}): Node => ({
  metadata: { name, labels: { 'kubernetes.io/hostname': name, ...(extra.labels ?? {}) } },
  spec: extra.spec ?? {},
  status: { allocatable: { cpu: '8', memory: '32Gi', pods: '2' }, conditions: [{ type: 'Ready', status: 'True' }] },
});
const pod = (spec: Partial<PodSpec>): Pod => ({ metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'i' }], ...spec } });

test('requests add up over containers, an init container counts when it is larger', () => {
  const p = pod({
    containers: [{ name: 'a', resources: { requests: { cpu: '250m', memory: '1Gi' } } }, { name: 'b', resources: { limits: { cpu: '1' } } }],
    initContainers: [{ name: 'i', resources: { requests: { cpu: '2' } } }],
  });
  assert.deepEqual(podRequests(p), { cpuMilli: 2000, memory: 2 ** 30, pods: 1 });
});

test('each filter names its reason as the real scheduler does', () => {
  assert.deepEqual(unfitReasons(pod({ containers: [{ name: 'c', resources: { requests: { cpu: '9' } } }] }), node('n'), ZERO), ['Insufficient cpu']);
  assert.deepEqual(unfitReasons(pod({}), node('n'), { cpuMilli: 0, memory: 0, pods: 2 }), ['Too many pods']);
  assert.deepEqual(unfitReasons(pod({ nodeSelector: { disk: 'ssd' } }), node('n'), ZERO), ["node(s) didn't match Pod's node affinity/selector"]);
  const tainted = node('n', { spec: { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] } });
  assert.deepEqual(unfitReasons(pod({}), tainted, ZERO), ['node(s) had untolerated taint {dedicated: gpu}']);
  assert.deepEqual(unfitReasons(pod({ tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }] }), tainted, ZERO), []);
  assert.deepEqual(unfitReasons(pod({}), node('n', { spec: { unschedulable: true } }), ZERO), ['node(s) were unschedulable']);
  const byName = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['a'] }] }] } } };
  assert.deepEqual(unfitReasons(pod({ affinity: byName }), node('a'), ZERO), []);
  assert.equal(unfitReasons(pod({ affinity: byName }), node('b'), ZERO).length, 1);
});

test('the FailedScheduling message counts reasons over nodes, sorted', () => {
  assert.equal(
    unschedulableMessage(3, [['Insufficient cpu'], ['Insufficient cpu'], ["node(s) didn't match Pod's node affinity/selector"]]),
    "0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 2 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.",
  );
});

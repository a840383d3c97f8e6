import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sanitizeLabelName, selectTasks, type TaskSelection } from './tasks.ts';

const selection: TaskSelection = { namespaces: [], excludeNamespaces: ['kube-system'], maxTasks: 100, podLabels: { maxLabels: 32, maxValueLength: 128 } };

function pod(ns: string, name: string, uid: string, o: { labels?: Record<string, string>; ready?: boolean[]; phase?: string } = {}) {
  const ready = o.ready ?? [true];
  return {
    metadata: { namespace: ns, name, uid, labels: o.labels ?? {} },
    spec: { containers: ready.map((_, i) => ({ name: `c${i}`, image: 'x', resources: { requests: { cpu: '100m', memory: '1Mi' } } })) },
    status: {
      phase: o.phase ?? 'Running',
      containerStatuses: ready.map((r, i) => ({ name: `c${i}`, ready: r, containerID: `containerd://${uid}${i}` })),
    },
  };
}

describe('sanitizeLabelName', () => {
  const cases: Array<[string, string]> = [
    ['app', 'app'],
    ['app.kubernetes.io/name', 'app_kubernetes_io__name'],
    ['pod-template-hash', 'pod_template_hash'],
    ['example.com/tier-1', 'example_com__tier_1'],
    ['9lives', 'label_9lives'],
    ['task_id', 'label_task_id'],
    ['weird key!', 'weird_key_'],
    ['__meta', 'label___meta'],
  ];
  for (const [key, want] of cases) test(`${key} → ${want}`, () => assert.equal(sanitizeLabelName(key), want));
});

describe('selectTasks', () => {
  test('ready pods in monitored namespaces, with identity, labels, QoS and containers', () => {
    const r = selectTasks(
      [
        pod('kre-demo', 'web-1', 'u2', { labels: { 'app.kubernetes.io/name': 'web', tier: 'front' } }),
        pod('kube-system', 'dns', 'u3'),
        pod('kre-demo', 'starting', 'u4', { ready: [true, false] }),
        pod('kre-demo', 'pending', 'u5', { phase: 'Pending' }),
        pod('default', 'job', 'u1'),
        { metadata: { name: 'no-uid' } },
        null,
      ],
      selection,
    );
    assert.deepEqual(r.skipped, { namespace: 1, notReady: 2, malformed: 2, overLimit: 0 });
    assert.deepEqual(r.tasks.map((t) => [t.id, t.name]), [['u1', 'default/job'], ['u2', 'kre-demo/web-1']]);
    const web = r.tasks[1];
    assert.deepEqual(web.labels, [['app_kubernetes_io__name', 'web'], ['tier', 'front']]);
    assert.deepEqual(web.podLabels, { 'app.kubernetes.io/name': 'web', tier: 'front' });
    assert.equal(web.qos, 'Burstable');
    assert.deepEqual(web.containerIds, ['containerd://u20']);
    assert.equal(web.resources.requests_cpus, 0.1);
  });

  test('only the configured namespaces', () => {
    const r = selectTasks([pod('a', 'x', '1'), pod('b', 'y', '2')], { ...selection, namespaces: ['b'] });
    assert.deepEqual(r.tasks.map((t) => t.name), ['b/y']);
    assert.equal(r.skipped.namespace, 1);
  });

  test('label cardinality is bounded: count, value length, allow list, collisions', () => {
    const labels: Record<string, string> = { 'a.b': '1', 'a-b': '2', long: 'x'.repeat(300) };
    for (let i = 0; i < 40; i++) labels[`k${String(i).padStart(2, '0')}`] = String(i);
    const r = selectTasks([pod('a', 'x', '1', { labels })], { ...selection, podLabels: { maxLabels: 4, maxValueLength: 10 } });
    assert.deepEqual(r.tasks[0].labels, [['a_b', '2'], ['k00', '0'], ['k01', '1'], ['k02', '2']]);
    assert.equal(r.droppedLabels, 43 - 4);
    const allowed = selectTasks([pod('a', 'x', '1', { labels })], { ...selection, podLabels: { maxLabels: 4, maxValueLength: 10, allow: ['long'] } });
    assert.deepEqual(allowed.tasks[0].labels, [['long', 'xxxxxxxxxx']]);
  });

  test('tasks beyond maxTasks are dropped and counted', () => {
    const r = selectTasks([pod('a', 'x', '3'), pod('a', 'y', '1'), pod('a', 'z', '2')], { ...selection, maxTasks: 2 });
    assert.deepEqual(r.tasks.map((t) => t.id), ['1', '2']);
    assert.equal(r.skipped.overLimit, 1);
  });
});

/** The kubelet's state machine for one pod, as a pure function of the pod, its run and the time. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Container, ObjectMeta, Pod } from '../../kube/index.ts';
import { CONFIG_RETRY_MS, syncPod, type PodRun } from './pod-lifecycle.ts';

const env = { hostIP: '10.0.0.1', allocateIP: () => '10.244.1.2' };
const pod = (annotations: Record<string, string> = {}, spec: { container?: Partial<Container>; restartPolicy?: string } = {}, meta: Partial<ObjectMeta> = {}): Pod => ({
  metadata: { name: 'p', namespace: 'ns', uid: 'u1', annotations, ...meta },
  spec: { containers: [{ name: 'main', image: 'app:1', ...(spec.container ?? {}) }], restartPolicy: spec.restartPolicy ?? 'Always' },
  status: { phase: 'Pending', qosClass: 'BestEffort' },
});

test('a new pod runs at once, ready, with the Events of a start', () => {
  const r = syncPod(pod(), undefined, 1_000_000, env);
  assert.equal(r.status.phase, 'Running');
  assert.equal(r.status.podIP, '10.244.1.2');
  assert.equal(r.status.qosClass, 'BestEffort');
  assert.deepEqual(r.events.map((e) => e.reason), ['Pulled', 'Created', 'Started']);
  assert.equal(r.status.containerStatuses?.[0].ready, true);
  assert.equal(r.nextAt, undefined);
});

test('a readiness probe delays readiness by its initial delay', () => {
  const p = pod({}, { container: { readinessProbe: { httpGet: { port: 80 }, initialDelaySeconds: 5 } } });
  const first = syncPod(p, undefined, 1_000_000, env);
  assert.equal(first.status.containerStatuses?.[0].ready, false);
  assert.equal(first.nextAt, 1_005_000);
  const later = syncPod(p, first.run, 1_005_000, env);
  assert.equal(later.status.containerStatuses?.[0].ready, true);
});

test('a crash loop restarts with a growing back-off and a BackOff event', () => {
  const p = pod({ 'kre.konstellation.io/crash-loop': 'true' });
  let run: PodRun | undefined;
  let now = 1_000_000;
  let restarts = 0;
  for (let i = 0; i < 6; i++) {
    const r = syncPod(p, run, now, env);
    run = r.run;
    restarts = r.status.containerStatuses?.[0].restartCount ?? 0;
    now = r.nextAt ?? now + 1000;
  }
  assert.ok(restarts >= 2, `restartCount ${restarts}`);
});

test('a Job pod (restartPolicy Never) succeeds after its run time', () => {
  const p = pod({ 'kre.konstellation.io/run-seconds': '3' }, { restartPolicy: 'Never' });
  const first = syncPod(p, undefined, 1_000_000, env);
  assert.equal(first.nextAt, 1_003_000);
  const done = syncPod({ ...p, status: first.status }, first.run, 1_003_000, env);
  assert.equal(done.status.phase, 'Succeeded');
  assert.equal(done.status.containerStatuses?.[0].state?.terminated?.reason, 'Completed');
});

test('deletion stops the containers after the shutdown time, capped by the grace period, then finishes', () => {
  const running = syncPod(pod({ 'kre.konstellation.io/shutdown-seconds': '60' }), undefined, 1_000_000, env);
  const deleting = pod({ 'kre.konstellation.io/shutdown-seconds': '60' }, {}, { deletionTimestamp: 'x', deletionGracePeriodSeconds: 2 });
  const first = syncPod(deleting, running.run, 1_000_000, env);
  assert.deepEqual(first.events.map((e) => e.reason), ['Killing']);
  assert.equal(first.finishDeletion, false);
  assert.equal(first.nextAt, 1_002_000);
  const last = syncPod(deleting, first.run, 1_002_000, env);
  assert.equal(last.finishDeletion, true);
  assert.equal(last.status.containerStatuses?.[0].state?.terminated?.exitCode, 137);
});

test('a pod deleted before it started finishes its deletion at once, with no Events', () => {
  const r = syncPod(pod({}, {}, { deletionTimestamp: 'x' }), undefined, 1_000_000, env);
  assert.equal(r.finishDeletion, true);
  assert.deepEqual(r.events, []);
  assert.deepEqual(r.status, { phase: 'Pending', qosClass: 'BestEffort' });
});

test('init containers complete before the containers start, and their Events come first', () => {
  const p = pod();
  p.spec!.initContainers = [{ name: 'setup', image: 'tool:1' }];
  const r = syncPod(p, undefined, 1_000_000, env);
  assert.deepEqual(
    r.events.map((e) => `${e.reason} ${e.fieldPath}`),
    ['Pulled', 'Created', 'Started'].map((x) => `${x} spec.initContainers{setup}`).concat(['Pulled', 'Created', 'Started'].map((x) => `${x} spec.containers{main}`)),
  );
  assert.equal(r.status.initContainerStatuses?.[0].state?.terminated?.reason, 'Completed');
  assert.equal(r.status.initContainerStatuses?.[0].ready, true);
  assert.equal(r.status.phase, 'Running');
});

test('a pod waiting for its configuration keeps no run and is looked at again', () => {
  const r = syncPod(pod(), undefined, 1_000_000, { ...env, configErrors: [{ kind: 'env', container: 'main', message: 'secret "s" not found' }] });
  assert.equal(r.notStarted, true);
  assert.equal(r.status.phase, 'Pending');
  assert.equal(r.status.containerStatuses?.[0].state?.waiting?.reason, 'CreateContainerConfigError');
  assert.deepEqual(r.events.map((e) => e.reason), ['Failed']);
  assert.equal(r.nextAt, 1_000_000 + CONFIG_RETRY_MS);
});

test('a Succeeded pod stays Succeeded: its containers are not restarted', () => {
  const p = pod({ 'kre.konstellation.io/run-seconds': '1' }, { restartPolicy: 'Always' });
  const first = syncPod(p, undefined, 1_000_000, env);
  const done = syncPod({ ...p, status: { ...first.status, phase: 'Succeeded' } }, first.run, 1_005_000, env);
  assert.equal(done.status.phase, 'Succeeded');
  assert.deepEqual(done.events, []);
  assert.equal(done.nextAt, undefined);
});

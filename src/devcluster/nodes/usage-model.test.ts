import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Container, Pod, ResourceRequirements } from '../../kube/index.ts';
import { UsageModel, containerTarget, memoryBreakdown, type OomKill } from './usage-model.ts';

const T0 = Date.parse('2026-01-01T00:00:00Z');

function pod(name: string, resources: ResourceRequirements, annotations: Record<string, string> = {}, restartCount = 0): Pod {
  return {
    metadata: { uid: `uid-${name}`, name, namespace: 'default', annotations, labels: { app: name } },
    spec: { containers: [{ name: 'main', image: 'img', resources }] },
    status: { containerStatuses: [{ name: 'main', ready: true, image: 'img', imageID: '', restartCount, containerID: `containerd://${name}-${restartCount}`, state: { running: { startedAt: new Date(T0).toISOString() } } }] },
  };
}

test('targets: annotations per pod and per container, defaults from requests', () => {
  const c: Container = { name: 'main', resources: { requests: { cpu: '500m', memory: '100Mi' } } };
  const cases: Array<[Record<string, string>, Container, { cpuMilli: number; memoryBytes: number; rampSeconds: number }]> = [
    [{}, c, { cpuMilli: 300, memoryBytes: Math.round(100 * 1048576 * 0.7), rampSeconds: 30 }],
    [{}, { name: 'main' }, { cpuMilli: 20, memoryBytes: 64 * 1048576, rampSeconds: 30 }],
    [{}, { name: 'main', resources: { limits: { memory: '200Mi' } } }, { cpuMilli: 20, memoryBytes: 200 * 1048576 * 0.7, rampSeconds: 30 }],
    [{ 'kre.konstellation.io/cpu-millicores': '250', 'kre.konstellation.io/memory-bytes': '1Gi' }, c, { cpuMilli: 250, memoryBytes: 1073741824, rampSeconds: 30 }],
    [{ 'kre.konstellation.io/cpu-millicores': '250', 'kre.konstellation.io/cpu-millicores.main': '750m', 'kre.konstellation.io/memory-ramp-seconds.main': '0' }, c, { cpuMilli: 750, memoryBytes: Math.round(100 * 1048576 * 0.7), rampSeconds: 0 }],
  ];
  for (const [annotations, container, want] of cases) assert.deepEqual(containerTarget({ metadata: { annotations } }, container), want);
});

test('deterministic for a seed and a clock; CPU within ±10 % of the target', () => {
  const pods = [pod('a', { requests: { cpu: '1' } }, { 'kre.konstellation.io/cpu-millicores': '400' })];
  const run = (seed: number) => {
    const m = new UsageModel({ nodeName: 'n', seed });
    const out = [];
    for (let i = 0; i <= 5; i++) out.push(m.advance(T0 + i * 1000, pods).pods[0].containers[0].cpuSeconds);
    return out;
  };
  assert.deepEqual(run(7), run(7));
  assert.notDeepEqual(run(7), run(8));
  const total = run(7)[5];
  assert.ok(total >= 5 * 0.36 && total <= 5 * 0.44, `cpu seconds ${total}`);
});

test('CPU is capped by the limit, throttled periods counted; a lower cap from the cgroup lowers it', () => {
  const p = pod('t', { requests: { cpu: '100m' }, limits: { cpu: '500m' } }, { 'kre.konstellation.io/cpu-millicores': '2000' });
  const m = new UsageModel({ nodeName: 'n', seed: 1 });
  m.advance(T0, [p]);
  let c = m.advance(T0 + 10_000, [p]).pods[0].containers[0];
  assert.equal(c.cpuMilli, 500);
  assert.equal(c.cpuSeconds, 5);
  assert.equal(c.nrPeriods, 100);
  assert.equal(c.nrThrottled, 100);
  c = m.advance(T0 + 20_000, [p], new Map([['uid-t', { podCpuMilli: 200, containers: { main: 500 } }]])).pods[0].containers[0];
  assert.equal(c.cpuMilli, 200);
  assert.equal(c.cpuSeconds, 7);
  // An unlimited container below its target is never throttled and counts no periods.
  const free = pod('f', {}, { 'kre.konstellation.io/cpu-millicores': '100' });
  m.advance(T0 + 30_000, [free]);
  const f = m.advance(T0 + 40_000, [free]).pods[0].containers[0];
  assert.equal(f.nrPeriods, 0);
  assert.equal(f.nrThrottled, 0);
});

test('memory grows to a plateau; over the limit it is an OOM kill, reported and called back', () => {
  const p = pod('m', { limits: { memory: '100Mi' } }, { 'kre.konstellation.io/memory-bytes': '200Mi', 'kre.konstellation.io/memory-ramp-seconds': '10' });
  const m = new UsageModel({ nodeName: 'n', seed: 3 });
  const seen: OomKill[] = [];
  m.onOomKill((k) => seen.push(k));
  const first = m.advance(T0 + 1000, [p]);
  assert.equal(first.oomKills.length, 0);
  const mem1 = first.pods[0].containers[0].memoryBytes;
  assert.ok(mem1 > 2 * 1048576 && mem1 < 100 * 1048576);
  assert.equal(mem1 % 4096, 0);
  const second = m.advance(T0 + 20_000, [p]);
  assert.deepEqual(second.oomKills, [{ namespace: 'default', pod: 'm', uid: 'uid-m', container: 'main', containerId: 'm-0', atMs: T0 + 20_000, memoryBytes: second.oomKills[0].memoryBytes, limitBytes: 104857600 }]);
  assert.ok(second.oomKills[0].memoryBytes > 104857600);
  assert.deepEqual(seen, second.oomKills);
  assert.deepEqual(second.pods[0].containers, []);
  // The pod's counters keep what the killed container used.
  assert.ok(second.pods[0].pgfault > 0);

  const plateau = pod('p', {}, { 'kre.konstellation.io/memory-bytes': '50Mi', 'kre.konstellation.io/memory-ramp-seconds': '5' });
  const m2 = new UsageModel({ nodeName: 'n', seed: 3 });
  const late = m2.advance(T0 + 600_000, [plateau]).pods[0].containers[0].memoryBytes;
  assert.ok(Math.abs(late - 50 * 1048576) <= 50 * 1048576 * 0.006, `plateau ${late}`);
});

test('a restarted container (new id) starts over; pod and node counters keep growing', () => {
  const m = new UsageModel({ nodeName: 'n', seed: 1, systemCpuMilli: 0 });
  const a = pod('r', {}, { 'kre.konstellation.io/cpu-millicores': '1000' });
  m.advance(T0, [a]);
  const before = m.advance(T0 + 10_000, [a]);
  const restarted = pod('r', {}, { 'kre.konstellation.io/cpu-millicores': '1000' }, 1);
  const after = m.advance(T0 + 20_000, [restarted]);
  assert.equal(after.pods[0].containers[0].cpuSeconds, 0);
  assert.ok(after.pods[0].cpuSeconds >= before.pods[0].cpuSeconds);
  assert.ok(after.cpuSeconds >= before.cpuSeconds);
});

test('memory breakdown: page-aligned parts that add up; working set excludes inactive file', () => {
  const b = memoryBreakdown(100 * 1048576);
  assert.deepEqual(b, { anon: 92274688, file: 10485760, kernel: 2097152, activeAnon: 87662592, inactiveAnon: 4612096, activeFile: 5242880, inactiveFile: 5242880, workingSet: 99614720 });
  assert.equal(b.anon + b.file + b.kernel, 100 * 1048576);
});

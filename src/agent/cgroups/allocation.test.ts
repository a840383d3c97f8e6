// Allocations on the simulated kubelet's cgroup file trees (cgroup v2 and both drivers; the real
// kernel's v1 is in kernel.test.ts): normalization, writes only where the kernel differs, the
// kubelet's sync overwritten again, and one failing type or pod leaving the others applied.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { kubePod, podRef, simulatedNode } from './simulated-node-testing.ts';
import { kernelShares, quotaUs, sharesToWeight, weightToShares } from './allocation.ts';
import {
  applyAllocation,
  containerCgroupPath,
  detectLayout,
  podCgroupPath,
  readAllocation,
  readNodeTopology,
  type CgroupDriver,
  type Allocation,
  type CgroupVersion,
  type PodRef,
} from './index.ts';

const PODS = [kubePod(1, 'Guaranteed', ['main']), kubePod(2, 'Burstable', ['main']), kubePod(3, 'BestEffort', ['main'])];
const ref = podRef;

async function simulated(version: CgroupVersion, driver: CgroupDriver) {
  const node = await simulatedNode(PODS, version, driver);
  const layout = await detectLayout({ root: node.root, mountinfo: '/nonexistent' });
  const read = (controller: 'cpu' | 'cpuset', pod: PodRef, file: string) => readFileSync(join(layout.dirs[controller], podCgroupPath(layout, pod), file), 'utf8').trim();
  return { ...node, layout, read };
}

test('normalized values to kernel units and back', () => {
  const cases: Array<[number, number, number, number | undefined]> = [
    // cpuQuota, period, cpus, cfs_quota_us
    [0.1, 100_000, 2, 20_000],
    [0.25, 100_000, 4, 100_000],
    [0.5, 50_000, 8, 200_000],
    [0, 100_000, 4, 1000],
    [0.000001, 100_000, 4, 1000],
    [0.999, 100_000, 1, 99_900],
    [1, 100_000, 4, undefined],
    [7, 100_000, 4, undefined],
  ];
  for (const [q, period, cpus, want] of cases) assert.equal(quotaUs(q, period, cpus), want, `${q} of ${cpus} CPUs`);
  assert.equal(kernelShares(0, 1000), 2);
  assert.equal(kernelShares(0.5, 1000), 500);
  assert.equal(kernelShares(1.024, 1000), 1024);
  assert.equal(kernelShares(0.001, 1000), 2);
  assert.equal(kernelShares(1000, 1000), 262_144);
  assert.equal(kernelShares(3, 100), 300);
  // The kubelet's conversion, and an inverse that converts back to the same weight.
  for (const [shares, weight] of [[2, 1], [256, 10], [512, 20], [1024, 39], [4096, 157], [262_144, 10_000]]) assert.equal(sharesToWeight(shares), weight);
  for (let w = 1; w <= 10_000; w++) assert.equal(sharesToWeight(weightToShares(w)), w);
});

test('v2 systemd: applied by difference, read back, and set again after the kubelet\'s sync', async () => {
  const node = await simulated('v2', 'systemd');
  try {
    const topo = await readNodeTopology(node.layout);
    assert.deepEqual(topo, { cpus: 4, cpuList: '0-3', memNodes: '0-1', cfsPeriodUs: 100_000 });
    const [g, b] = [ref(PODS[0]), ref(PODS[1])];
    // What the kubelet set, normalized: 50000 µs of 4 CPUs × 100000, weight 20 (512 shares).
    assert.deepEqual(await readAllocation(node.layout, g, topo), { cpuQuota: 0.125, cpuShares: weightToShares(20) / 1000 });

    const want = { cpuQuota: 0.25, cpuShares: 0.5, cpusetCpus: '2,3,0-1', cpusetMems: '1' };
    const first = await applyAllocation(node.layout, g, want, topo);
    assert.deepEqual(first.failures, []);
    assert.deepEqual(first.written.map((w) => [w.type, w.value]), [
      ['cpuQuota', '100000 100000'],
      ['cpuShares', `${sharesToWeight(500)}`],
      ['cpusetCpus', '0-3'],
      ['cpusetMems', '1'],
    ]);
    assert.equal(node.read('cpu', g, 'cpu.max'), '100000 100000');
    assert.equal(node.read('cpu', g, 'cpu.weight'), '19');
    assert.equal(node.read('cpuset', g, 'cpuset.cpus'), '0-3');
    assert.deepEqual((await applyAllocation(node.layout, g, want, topo)).written, [], 'nothing differs');
    const back = await readAllocation(node.layout, g, topo);
    assert.deepEqual((await applyAllocation(node.layout, g, back, topo)).written, [], 'what was read back is what is applied');
    assert.equal(back.cpuQuota, 0.25);
    assert.equal(back.cpusetCpus, '0-3');

    // The kubelet's sync sets the pod's CPU values back from the spec; the next apply restores them.
    assert.ok(node.files.sync(PODS) >= 2);
    assert.equal(node.read('cpu', g, 'cpu.max'), '50000 100000');
    const again = await applyAllocation(node.layout, g, want, topo);
    assert.deepEqual(again.written.map((w) => [w.type, w.value]), [['cpuQuota', '100000 100000'], ['cpuShares', '19']]);

    // No limit and the minimum.
    await applyAllocation(node.layout, b, { cpuQuota: 1, cpuShares: 0 }, topo);
    assert.equal(node.read('cpu', b, 'cpu.max'), 'max 100000');
    assert.equal(node.read('cpu', b, 'cpu.weight'), '1');
    assert.deepEqual(await readAllocation(node.layout, b, topo), { cpuQuota: 1, cpuShares: 0 });
    await applyAllocation(node.layout, b, { cpuQuota: 0 }, topo);
    assert.equal(node.read('cpu', b, 'cpu.max'), '1000 100000');
    assert.equal((await readAllocation(node.layout, b, topo)).cpuQuota, 0);
  } finally {
    node.remove();
  }
});

test('one invalid type fails alone, one vanished pod fails alone', async () => {
  const node = await simulated('v2', 'cgroupfs');
  try {
    const topo = await readNodeTopology(node.layout);
    const [g, b, be] = PODS.map(ref);
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ cpusetCpus: '0-7' }, 'cpusetCpus', /cpusetCpus "0-7": 4-7 not among the node's CPUs 0-3/],
      [{ cpusetCpus: '' }, 'cpusetCpus', /cpusetCpus is empty/],
      [{ cpusetCpus: '3-1' }, 'cpusetCpus', /runs backwards/],
      [{ cpusetCpus: '0;rm -rf /' }, 'cpusetCpus', /is not N or N-M/],
      [{ cpusetMems: '2' }, 'cpusetMems', /2 not among the node's memory nodes 0-1/],
      [{ cpuQuota: -0.5 }, 'cpuQuota', /cpuQuota -0.5 is not a finite number ≥ 0/],
      [{ cpuQuota: NaN }, 'cpuQuota', /not a finite number/],
      [{ cpuShares: Infinity }, 'cpuShares', /not a finite number/],
      [{ cpuShares: '5' }, 'cpuShares', /not a finite number/],
    ];
    for (const [bad, type, message] of cases) {
      const r = await applyAllocation(node.layout, g, { cpuQuota: 0.1, cpuShares: 0.3, cpusetCpus: '1', ...bad } as Allocation, topo);
      assert.equal(r.failures.length, 1, JSON.stringify(bad));
      assert.equal(r.failures[0].type, type);
      assert.match(r.failures[0].message, message);
    }
    const badUnit = await applyAllocation(node.layout, g, { cpuShares: 1, cpuQuota: 0.1 }, topo, { sharesUnit: 0 });
    assert.deepEqual(badUnit.failures.map((f) => [f.type, f.message]), [['cpuShares', 'sharesUnit 0 is not a finite number > 0']]);
    assert.equal(node.read('cpu', g, 'cpu.max'), '40000 100000');
    assert.equal(node.read('cpu', g, 'cpu.weight'), `${sharesToWeight(300)}`);
    assert.equal(node.read('cpuset', g, 'cpuset.cpus'), '1');

    rmSync(join(node.layout.dirs.cpu, podCgroupPath(node.layout, b)), { recursive: true });
    const gone = await applyAllocation(node.layout, b, { cpuQuota: 0.1, cpusetCpus: '1' }, topo);
    assert.deepEqual(gone.written, []);
    assert.deepEqual(gone.failures.map((f) => f.type), ['cpuQuota', 'cpusetCpus']);
    assert.match(gone.failures[0].message, /cpu\.max is missing \(the pod's cgroup is gone\?\)/);
    assert.deepEqual(await readAllocation(node.layout, b, topo), {}, 'nothing to read back');
    assert.deepEqual((await applyAllocation(node.layout, be, { cpuQuota: 0.1 }, topo)).failures, [], 'another pod is applied');
  } finally {
    node.remove();
  }
});

test('v1 cgroupfs tree: quota, shares and cpusets on the pod and its containers', async () => {
  const node = await simulated('v1', 'cgroupfs');
  try {
    const topo = await readNodeTopology(node.layout);
    assert.deepEqual(topo, { cpus: 4, cpuList: '0-3', memNodes: '0-1', cfsPeriodUs: 100_000 });
    const b = ref(PODS[1]);
    const r = await applyAllocation(node.layout, b, { cpuQuota: 0.5, cpuShares: 2, cpusetCpus: '1-2', cpusetMems: '0' }, topo);
    assert.deepEqual(r.failures, []);
    const container = join(node.layout.dirs.cpuset, containerCgroupPath(node.layout, b, b.containerIds[0]));
    assert.deepEqual(r.written.map((w) => [w.type, w.value, w.path.replace(node.root, '')]), [
      ['cpuQuota', '200000', `/cpu/${podCgroupPath(node.layout, b)}/cpu.cfs_quota_us`],
      ['cpuShares', '2000', `/cpu/${podCgroupPath(node.layout, b)}/cpu.shares`],
      // Narrowing: the container before the pod.
      ['cpusetCpus', '1-2', `${container}/cpuset.cpus`.replace(node.root, '')],
      ['cpusetCpus', '1-2', `/cpuset/${podCgroupPath(node.layout, b)}/cpuset.cpus`],
      ['cpusetMems', '0', `${container}/cpuset.mems`.replace(node.root, '')],
      ['cpusetMems', '0', `/cpuset/${podCgroupPath(node.layout, b)}/cpuset.mems`],
    ]);
    assert.deepEqual(await readAllocation(node.layout, b, topo), { cpuQuota: 0.5, cpuShares: 2, cpusetCpus: '1-2', cpusetMems: '0' });
    // Widening: the pod before the container.
    const wide = await applyAllocation(node.layout, b, { cpusetCpus: '0-3' }, topo);
    assert.deepEqual(wide.written.map((w) => w.path.replace(node.root, '')), [`/cpuset/${podCgroupPath(node.layout, b)}/cpuset.cpus`, `${container}/cpuset.cpus`.replace(node.root, '')]);
    node.files.sync(PODS);
    assert.equal(node.read('cpu', b, 'cpu.cfs_quota_us'), '100000', 'the kubelet set its limit back');
    const again = await applyAllocation(node.layout, b, { cpuQuota: 0.5, cpuShares: 2 }, topo);
    assert.deepEqual(again.written.map((w) => [w.type, w.value]), [['cpuQuota', '200000'], ['cpuShares', '2000']]);
  } finally {
    node.remove();
  }
});

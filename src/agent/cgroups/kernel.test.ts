// The cgroup module on the real kernel: cgroup v1 cpu, cpuacct, cpuset and memory hierarchies under
// /sys/fs/cgroup, a kubepods-shaped tree under a unique test root, real processes in container
// cgroups. When the hierarchies are not writable these tests fail, saying why.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { KernelTree, UNIFIED_ROOT, V1_ROOT } from './kernel-tree.ts';
import {
  applyAllocation,
  containerCgroupPath,
  detectLayout,
  measurePod,
  podCgroupPath,
  readAllocation,
  readNodeTopology,
  type CgroupDriver,
  type CgroupLayout,
  type PodRef,
  type QosClass,
  type TaskMeasurements,
} from './index.ts';

const MiB = 1024 * 1024;

function newTree(t: TestContext): KernelTree {
  const tree = new KernelTree();
  t.after(() => tree.remove());
  return tree;
}

/** A layout over a fresh kubepods tree for one driver, and a helper making a pod's cgroups with workers in its containers. */
async function setup(t: TestContext, driver: CgroupDriver) {
  const tree = newTree(t);
  tree.mkdir(driver === 'systemd' ? `${driver}/kubepods.slice` : `${driver}/kubepods`);
  const layout = await detectLayout({ parent: `${tree.name}/${driver}` });
  assert.equal(layout.driver, driver);
  /** A path the module gives, relative to the test tree's root. */
  const rel = (p: string) => {
    assert.ok(p.startsWith(`${tree.name}/`), p);
    return p.slice(tree.name.length + 1);
  };
  const makePod = async (qos: QosClass, runtimes: string[]) => {
    const pod: PodRef = { uid: randomUUID(), qos, containerIds: runtimes.map((r) => `${r}://${randomBytes(32).toString('hex')}`) };
    tree.mkdir(rel(podCgroupPath(layout, pod)));
    const workers = [];
    for (const id of pod.containerIds) {
      const c = rel(containerCgroupPath(layout, pod, id));
      tree.mkdir(c);
      workers.push(await tree.worker(c));
    }
    return { pod, podRel: rel(podCgroupPath(layout, pod)), workers };
  };
  return { tree, layout, rel, makePod };
}

async function measured(layout: CgroupLayout, pod: PodRef): Promise<Required<TaskMeasurements>> {
  const { measurements, failures } = await measurePod(layout, pod);
  assert.deepEqual(failures, [], 'no metric failed');
  return measurements as Required<TaskMeasurements>;
}

test('kernel: the host layout is detected from the mounts, and the driver from the tree', async (t) => {
  const tree = newTree(t);
  tree.mkdir('a/kubepods/burstable');
  tree.mkdir('b/kubepods.slice/kubepods-besteffort.slice');
  const a = await detectLayout({ parent: `${tree.name}/a` });
  assert.equal(a.version, 'v1');
  assert.equal(a.driver, 'cgroupfs');
  assert.equal(a.root, V1_ROOT);
  assert.deepEqual({ ...a.dirs }, { cpu: `${V1_ROOT}/cpu`, cpuacct: `${V1_ROOT}/cpuacct`, cpuset: `${V1_ROOT}/cpuset`, memory: `${V1_ROOT}/memory` });
  assert.equal((await detectLayout({ parent: `${tree.name}/b` })).driver, 'systemd');
  await assert.rejects(detectLayout({ parent: tree.name }), /neither kubepods\.slice \(systemd\) nor kubepods \(cgroupfs\)/);
  tree.mkdir('b/kubepods');
  await assert.rejects(detectLayout({ parent: `${tree.name}/b` }), /both kubepods\.slice and kubepods/);
  assert.equal((await detectLayout({ parent: `${tree.name}/b`, driver: 'cgroupfs' })).driver, 'cgroupfs');
});

test('kernel: a pod\'s CPU seconds are what its containers\' processes used (systemd, two runtimes)', async (t) => {
  const { tree, layout, rel, makePod } = await setup(t, 'systemd');
  const { pod, workers } = await makePod('Burstable', ['containerd', 'docker']);
  const r1 = await workers[0].run('burn 0.6');
  const r2 = await workers[1].run('burn 0.4');
  const m = await measured(layout, pod);
  const expected = r1.cpuSeconds + r2.cpuSeconds;
  t.diagnostic(`pod cpuUsageSeconds ${m.cpuUsageSeconds.toFixed(3)} s; the workers' own process.cpuUsage ${expected.toFixed(3)} s (${r1.cpuSeconds.toFixed(3)} + ${r2.cpuSeconds.toFixed(3)})`);
  assert.ok(Math.abs(m.cpuUsageSeconds - expected) <= 0.1 + 0.1 * expected, `pod CPU ${m.cpuUsageSeconds} s vs ${expected} s used`);
  // Why the pod level: a container that exits and loses its cgroup keeps its CPU time in the pod's
  // counter, which a sum over the containers still there would lose.
  await workers[0].stop();
  assert.deepEqual(await tree.removeDirs(rel(containerCgroupPath(layout, pod, pod.containerIds[0]))), []);
  const later = await measured(layout, pod);
  t.diagnostic(`after the first container's cgroup was removed: pod cpuUsageSeconds ${later.cpuUsageSeconds.toFixed(3)} s`);
  assert.ok(later.cpuUsageSeconds >= m.cpuUsageSeconds, 'the counter did not go back');
  // No quota: nothing throttled, and no memory limit.
  assert.equal(m.cpuThrottledPeriods, 0);
  assert.equal(m.memLimitBytes, Infinity);
  assert.equal(m.memSoftLimitBytes, Infinity);
  assert.ok(m.memUsageBytes > 0);
});

test('kernel: the memory of a process that touches 64 MiB (cgroupfs, guaranteed pod with a limit)', async (t) => {
  const { tree, layout, makePod } = await setup(t, 'cgroupfs');
  const { pod, podRel, workers } = await makePod('Guaranteed', ['containerd']);
  tree.write('memory', podRel, 'memory.limit_in_bytes', `${512 * MiB}`);
  const before = await measured(layout, pod);
  await workers[0].run(`alloc ${64 * MiB}`);
  const after = await measured(layout, pod);
  const grew = after.memUsageBytes - before.memUsageBytes;
  const pages = (m: TaskMeasurements) => Object.values(m.memNumaPages ?? {}).reduce((a, b) => a + b, 0);
  const faults = after.memPageFaults - before.memPageFaults;
  t.diagnostic(`memUsageBytes grew ${(grew / MiB).toFixed(1)} MiB for 64 MiB touched; max ${(after.memMaxUsageBytes / MiB).toFixed(1)} MiB; NUMA pages +${pages(after) - pages(before)}; page faults +${faults}`);
  assert.ok(grew >= 63 * MiB && grew <= 64 * MiB + 32 * MiB, `usage grew ${grew} bytes`);
  assert.ok(after.memMaxUsageBytes >= after.memUsageBytes);
  assert.equal(after.memLimitBytes, 512 * MiB);
  assert.equal(after.memSoftLimitBytes, Infinity);
  assert.ok(pages(after) - pages(before) >= 0.95 * ((64 * MiB) / 4096), 'NUMA pages hold the 64 MiB');
  assert.ok(faults >= 16, `page faults grew by ${faults}`);
  assert.deepEqual(Object.keys(after.memNumaPages), Object.keys(after.memNumaPages).filter((k) => /^N\d+$/.test(k)));
});

test('kernel: a cpuQuota allocation of 20% of one CPU throttles a busy loop', async (t) => {
  const { tree, layout, makePod } = await setup(t, 'cgroupfs');
  const { pod, podRel, workers } = await makePod('Burstable', ['cri-o']);
  const node = await readNodeTopology(layout);
  t.diagnostic(`node: ${JSON.stringify(node)}`);
  const quota = 0.2 / node.cpus;
  const want = String(Math.round(0.2 * node.cfsPeriodUs));
  const applied = await applyAllocation(layout, pod, { cpuQuota: quota }, node);
  assert.deepEqual(applied.failures, []);
  assert.deepEqual(applied.written.map((w) => [w.type, w.value]), [['cpuQuota', want]]);
  assert.equal(tree.read('cpu', podRel, 'cpu.cfs_quota_us'), want);

  const before = await measured(layout, pod);
  // 2 s of busy loop; on a machine so loaded that the loop never reaches its quota within a period
  // nothing is throttled, so spin again (at most twice more) until something is.
  const spin = { cpuSeconds: 0, wallMs: 0 };
  let after = before;
  for (let round = 0; round < 3; round++) {
    const r = await workers[0].run('spin 2000');
    spin.cpuSeconds += r.cpuSeconds;
    spin.wallMs += r.wallMs;
    after = await measured(layout, pod);
    if (after.cpuThrottledPeriods > before.cpuThrottledPeriods) break;
  }
  const used = after.cpuUsageSeconds - before.cpuUsageSeconds;
  const throttled = after.cpuThrottledPeriods - before.cpuThrottledPeriods;
  const throttledSeconds = after.cpuThrottledSeconds - before.cpuThrottledSeconds;
  const bound = 0.2 * (spin.wallMs / 1000);
  t.diagnostic(
    `busy loop for ${spin.wallMs} ms under a 20% quota: pod used ${used.toFixed(3)} s (bound ${bound.toFixed(3)} s, worker's own count ${spin.cpuSeconds.toFixed(3)} s); ` +
      `periods +${after.cpuPeriods - before.cpuPeriods}, throttled +${throttled}, throttled time +${throttledSeconds.toFixed(3)} s`,
  );
  assert.ok(used <= bound + 0.15, `used ${used} s, more than the quota allows (${bound} s)`);
  assert.ok(used >= 0.05, `used ${used} s: the loop hardly ran`);
  assert.ok(Math.abs(used - spin.cpuSeconds) <= 0.1, `pod ${used} s vs worker ${spin.cpuSeconds} s`);
  assert.ok(throttled >= 1, `nr_throttled grew by ${throttled}`);
  assert.ok(throttledSeconds > 0);

  // Stateless: what the kernel holds reads back as the same allocation, and re-applying it writes nothing.
  const back = await readAllocation(layout, pod, node);
  assert.ok(Math.abs((back.cpuQuota ?? NaN) - quota) < 1e-9, `read back ${back.cpuQuota}`);
  assert.deepEqual((await applyAllocation(layout, pod, back, node)).written, []);
  // No limit again.
  const lifted = await applyAllocation(layout, pod, { cpuQuota: 1 }, node);
  assert.deepEqual(lifted.written.map((w) => w.value), ['-1']);
  assert.equal(tree.read('cpu', podRel, 'cpu.cfs_quota_us'), '-1');
});

test('kernel: cpusets reach the pod and its containers in an order the kernel accepts; a refused or invalid type fails alone', async (t) => {
  const { tree, layout, makePod } = await setup(t, 'systemd');
  const { pod, podRel, workers } = await makePod('Guaranteed', ['containerd', 'containerd']);
  const node = await readNodeTopology(layout);
  assert.ok(node.cpus >= 2, `this test needs a node with 2 CPUs or more; the test tree has ${node.cpuList}`);
  const containers = pod.containerIds.map((id) => containerCgroupPath(layout, pod, id).slice(tree.name.length + 1));
  const allowed = (pid: number) => /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];

  // Narrowing: containers first, then the pod (the kernel refuses a parent narrower than a child).
  const narrow = await applyAllocation(layout, pod, { cpusetCpus: '1', cpusetMems: node.memNodes, cpuShares: 0.5 }, node);
  assert.deepEqual(narrow.failures, []);
  for (const rel of [podRel, ...containers]) assert.equal(tree.read('cpuset', rel, 'cpuset.cpus'), '1', rel);
  for (const w of workers) assert.equal(allowed(w.pid), '1');
  assert.equal(tree.read('cpu', podRel, 'cpu.shares'), '500');
  assert.deepEqual(narrow.written.filter((w) => w.type === 'cpusetMems'), [], 'mems already held');
  assert.deepEqual((await applyAllocation(layout, pod, { cpusetCpus: '1', cpusetMems: node.memNodes, cpuShares: 0.5 }, node)).written, []);

  // Widening: the pod first.
  const wide = await applyAllocation(layout, pod, { cpusetCpus: node.cpuList }, node);
  assert.deepEqual(wide.failures, []);
  for (const rel of [podRel, ...containers]) assert.equal(tree.read('cpuset', rel, 'cpuset.cpus'), node.cpuList, rel);
  for (const w of workers) assert.equal(allowed(w.pid), node.cpuList);

  // A CPU outside the node fails that type only.
  const invalid = await applyAllocation(layout, pod, { cpusetCpus: '0-63', cpuQuota: 0.5 }, node);
  assert.equal(invalid.failures.length, 1);
  assert.equal(invalid.failures[0].type, 'cpusetCpus');
  assert.match(invalid.failures[0].message, /not among the node's CPUs/);
  assert.equal(tree.read('cpu', podRel, 'cpu.cfs_quota_us'), String(Math.round(0.5 * node.cfsPeriodUs * node.cpus)));

  // A write the kernel refuses (the pods' root no longer holds CPU 1) fails that type only.
  await applyAllocation(layout, pod, { cpusetCpus: '0' }, node);
  tree.write('cpuset', 'systemd/kubepods.slice', 'cpuset.cpus', '0');
  const refused = await applyAllocation(layout, pod, { cpusetCpus: '1', cpuShares: 0.25 }, node);
  assert.equal(refused.failures.length, 1);
  assert.equal(refused.failures[0].type, 'cpusetCpus');
  assert.match(refused.failures[0].message, /EINVAL|EACCES|EBUSY/);
  assert.equal(tree.read('cpu', podRel, 'cpu.shares'), '250');
  assert.deepEqual(await readAllocation(layout, pod, node), { cpuQuota: 0.5, cpuShares: 0.25, cpusetCpus: '0', cpusetMems: node.memNodes });

  // A pod whose cgroup is gone fails every type, with the path.
  const gone = await applyAllocation(layout, { ...pod, uid: randomUUID() }, { cpuQuota: 0.1, cpusetCpus: '0' }, node);
  assert.deepEqual(gone.written, []);
  assert.deepEqual(gone.failures.map((f) => f.type), ['cpuQuota', 'cpusetCpus']);
  for (const f of gone.failures) assert.match(f.message, /missing/);
});

test('kernel, cgroup2 of this hybrid host: CPU seconds from cpu.stat; what the undelegated controllers lack fails per metric', async (t) => {
  const tree = new KernelTree({ unified: true });
  t.after(() => tree.remove());
  tree.mkdir('kubepods.slice');
  const layout = await detectLayout({ root: UNIFIED_ROOT, parent: tree.name });
  assert.equal(layout.version, 'v2');
  assert.equal(layout.driver, 'systemd');
  const pod: PodRef = { uid: randomUUID(), qos: 'BestEffort', containerIds: [`containerd://${randomBytes(32).toString('hex')}`] };
  const container = containerCgroupPath(layout, pod, pod.containerIds[0]).slice(tree.name.length + 1);
  tree.mkdir(container);
  const worker = await tree.worker(container);
  const r = await worker.run('burn 0.5');
  const { measurements, failures } = await measurePod(layout, pod);
  t.diagnostic(`cgroup2 pod cpuUsageSeconds ${measurements.cpuUsageSeconds?.toFixed(3)} s; the worker's own count ${r.cpuSeconds.toFixed(3)} s`);
  assert.ok(Math.abs((measurements.cpuUsageSeconds ?? NaN) - r.cpuSeconds) <= 0.1 + 0.1 * r.cpuSeconds, `pod CPU ${measurements.cpuUsageSeconds} s vs ${r.cpuSeconds} s`);
  // No cpu or memory controller here: the throttling lines and the memory files are missing, each on its own.
  assert.deepEqual(Object.keys(measurements), ['cpuUsageSeconds']);
  assert.equal(failures.length, 9);
  for (const f of failures) {
    assert.equal(f.reason, 'missing', `${f.metric}: ${f.message}`);
    assert.ok(f.path.startsWith(`${UNIFIED_ROOT}/${tree.name}/kubepods.slice/kubepods-besteffort.slice/`), f.path);
  }
  const node = { cpus: 2, cpuList: '0-1', memNodes: '0', cfsPeriodUs: 100_000 };
  const applied = await applyAllocation(layout, pod, { cpuQuota: 0.1 }, node);
  assert.deepEqual(applied.written, []);
  assert.match(applied.failures[0]?.message ?? '', /cpu\.max is missing/);
});

// Measurements on cgroup file trees in the kernel's formats, as the devcluster's simulated kubelet
// writes them (v2 and both drivers cannot be had from this machine's kernel), plus malformed
// fixtures. The simulated kubelet's writer is the reference the reader is checked against.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { memoryBreakdown, type PodUsage } from '../../devcluster/nodes/usage-model.ts';
import { kubePod, podRef, simulatedNode } from './simulated-node-testing.ts';
import {
  containerCgroupPath,
  detectLayout,
  measuredFiles,
  measurePod,
  podCgroupPath,
  type CgroupDriver,
  type CgroupLayout,
  type CgroupVersion,
  type PodRef,
  type ReadFailure,
} from './index.ts';

const PODS = [kubePod(1, 'Guaranteed'), kubePod(2, 'Burstable'), kubePod(3, 'BestEffort')];
const ref = podRef;
const simulated = (version: CgroupVersion, driver: CgroupDriver, numaNodes = 2) => simulatedNode(PODS, version, driver, numaNodes);

function expectedPages(version: CgroupVersion, bytes: number): number {
  const m = memoryBreakdown(bytes);
  return version === 'v1' ? Math.floor((m.anon + m.file) / 4096) : Math.floor(m.anon / 4096) + Math.floor(m.file / 4096);
}

for (const version of ['v1', 'v2'] as const) {
  for (const driver of ['systemd', 'cgroupfs'] as const) {
    test(`measurements from the simulated kubelet's ${version} ${driver} tree equal what it wrote`, async () => {
      const node = await simulated(version, driver);
      try {
        const layout = await detectLayout({ root: node.root, mountinfo: '/nonexistent' });
        assert.equal(layout.version, version);
        assert.equal(layout.driver, driver);
        for (const p of PODS) {
          const pod = ref(p);
          // The paths agree with where the simulated kubelet made the cgroups.
          assert.ok(existsSync(join(layout.dirs.memory, podCgroupPath(layout, pod))), podCgroupPath(layout, pod));
          for (const id of pod.containerIds) assert.ok(existsSync(join(layout.dirs.cpu, containerCgroupPath(layout, pod, id))), id);
          const u = node.usage.pods.find((x: PodUsage) => x.uid === pod.uid)!;
          assert.ok(u.cpuSeconds > 0 && u.memoryBytes > 0, 'the model ran');
          const { measurements: m, failures } = await measurePod(layout, pod);
          assert.deepEqual(failures, [], `${pod.qos}`);
          assert.ok(Math.abs(m.cpuUsageSeconds! - u.cpuSeconds) < 1e-5, `cpu ${m.cpuUsageSeconds} vs ${u.cpuSeconds}`);
          assert.equal(m.cpuPeriods, Math.floor(u.nrPeriods));
          assert.equal(m.cpuThrottledPeriods, Math.floor(u.nrThrottled));
          assert.ok(Math.abs(m.cpuThrottledSeconds! - u.throttledSeconds) < 1e-5);
          assert.equal(m.memUsageBytes, u.memoryBytes);
          assert.equal(m.memMaxUsageBytes, Math.max(u.peakBytes, u.memoryBytes));
          assert.equal(m.memPageFaults, Math.floor(u.pgfault));
          assert.equal(m.memLimitBytes, pod.qos === 'Guaranteed' ? 2 * 128 * 1048576 : Infinity);
          assert.equal(m.memSoftLimitBytes, version === 'v1' ? Infinity : 0);
          assert.deepEqual(Object.keys(m.memNumaPages!), ['N0', 'N1']);
          const pages = Object.values(m.memNumaPages!).reduce((a, b) => a + b, 0);
          assert.equal(pages, expectedPages(version, u.memoryBytes));
          const files = measuredFiles(layout, pod);
          assert.equal(files.length, version === 'v1' ? 8 : 7);
          for (const f of files) assert.ok(existsSync(f), f);
        }
      } finally {
        node.remove();
      }
    });
  }
}

/** Replaces one file of a pod's cgroup and returns the failures the pod then reports. */
async function failuresWith(layout: CgroupLayout, pod: PodRef, file: string, content: string | null): Promise<{ failures: ReadFailure[]; measured: string[]; path: string }> {
  const controller = file.startsWith('cpuacct') ? 'cpuacct' : file.startsWith('cpu') ? 'cpu' : 'memory';
  const path = join(layout.dirs[controller], podCgroupPath(layout, pod), file);
  if (content === null) unlinkSync(path);
  else if (content === 'DIR') {
    unlinkSync(path);
    mkdirSync(path);
  } else writeFileSync(path, content);
  const { measurements, failures } = await measurePod(layout, pod);
  return { failures, measured: Object.keys(measurements).sort(), path };
}

const ALL = ['cpuPeriods', 'cpuThrottledPeriods', 'cpuThrottledSeconds', 'cpuUsageSeconds', 'memLimitBytes', 'memMaxUsageBytes', 'memNumaPages', 'memPageFaults', 'memSoftLimitBytes', 'memUsageBytes'];
const without = (...m: string[]) => ALL.filter((x) => !m.includes(x));

test('a missing or malformed v2 file fails only its metrics of that pod, with the path and reason', async () => {
  const cases: Array<[string, string | null, string[], string, RegExp]> = [
    // file, content (null: removed), failed metrics, reason, message
    ['memory.current', 'abc\n', ['memUsageBytes'], 'malformed', /"abc" is not a non-negative integer/],
    ['memory.current', '', ['memUsageBytes'], 'malformed', /empty/],
    ['memory.current', 'max\n', ['memUsageBytes'], 'malformed', /"max" where a number belongs/],
    ['memory.current', '-5\n', ['memUsageBytes'], 'malformed', /not a non-negative integer/],
    ['memory.current', '1e9\n', ['memUsageBytes'], 'malformed', /not a non-negative integer/],
    ['memory.current', '12\n34\n', ['memUsageBytes'], 'malformed', /more than one line/],
    ['memory.current', '99999999999999999999\n', ['memUsageBytes'], 'malformed', /beyond 64 bits/],
    ['memory.current', '18446744073709551615\n', ['memUsageBytes'], 'malformed', /beyond any plausible value/],
    ['memory.current', '123456789012345678901234567890\n', ['memUsageBytes'], 'malformed', /not a non-negative integer/],
    ['memory.peak', null, ['memMaxUsageBytes'], 'missing', /ENOENT/],
    ['memory.max', 'unlimited\n', ['memLimitBytes'], 'malformed', /not a non-negative integer/],
    ['cpu.stat', 'usage_usec 12\nnr_periods x\nnr_throttled 1\nthrottled_usec 5\n', ['cpuPeriods'], 'malformed', /"x" is not a non-negative integer/],
    // Without the cpu controller a v2 cpu.stat has the usage only.
    ['cpu.stat', 'usage_usec 12\nuser_usec 10\nsystem_usec 2\nnice_usec 0\n', ['cpuPeriods', 'cpuThrottledPeriods', 'cpuThrottledSeconds'], 'missing', /cpu.stat: no (nr_periods|nr_throttled|throttled_usec) line/],
    ['cpu.stat', 'usage_usec 12\nuser_usec 10\nsystem_usec 2\nnr_peri', ['cpuPeriods', 'cpuThrottledPeriods', 'cpuThrottledSeconds'], 'malformed', /truncated/],
    ['cpu.stat', 'usage_usec 99999999999999999999999\nnr_periods 1\nnr_throttled 0\nthrottled_usec 0\n', ['cpuUsageSeconds'], 'malformed', /not a non-negative integer/],
    ['cpu.stat', null, ['cpuUsageSeconds', 'cpuPeriods', 'cpuThrottledPeriods', 'cpuThrottledSeconds'], 'missing', /ENOENT/],
    ['memory.stat', 'anon 1\nfile 2\n', ['memPageFaults'], 'missing', /no pgfault line/],
    ['memory.stat', '', ['memPageFaults'], 'malformed', /empty/],
    ['memory.numa_stat', 'anon N0=4096 N1=8192\nfile N0=4096 N1=81', ['memNumaPages'], 'malformed', /truncated/],
    ['memory.numa_stat', 'anon N0=4096 N1=8192\n', ['memNumaPages'], 'malformed', /no file line/],
    ['memory.numa_stat', 'anon N0=4096 N1=8192\nfile N0=4096 N1=\n', ['memNumaPages'], 'malformed', /"N1=" .* is not N<node>=<count>/],
    ['memory.numa_stat', 'anon N0=4096 N1=8192\nfile N0=4096\n', ['memNumaPages'], 'malformed', /different NUMA nodes/],
    ['memory.numa_stat', 'DIR', ['memNumaPages'], 'other', /EISDIR/],
  ];
  const [victim, bystander] = [ref(PODS[1]), ref(PODS[0])];
  for (const [file, content, failed, reason, message] of cases) {
    // Each case on a fresh simulated node.
    const node = await simulated('v2', 'systemd');
    try {
      const layout = await detectLayout({ root: node.root, mountinfo: '/nonexistent' });
      const label = `${file} = ${JSON.stringify(content)}`;
      const r = await failuresWith(layout, victim, file, content);
      assert.deepEqual(r.failures.map((f) => f.metric).sort(), [...failed].sort(), label);
      for (const f of r.failures) {
        assert.equal(f.path, r.path, label);
        assert.equal(f.reason, reason, label);
        assert.match(f.message, message, label);
      }
      assert.deepEqual(r.measured, without(...failed), label);
      const other = await measurePod(layout, bystander);
      assert.deepEqual(other.failures, [], `${label}: the other pod is measured`);
    } finally {
      node.remove();
    }
  }
});

test('malformed v1 files: numa_stat cut short, a negative counter, a limit beyond 64 bits; a vanished pod fails every metric as missing', async () => {
  const node = await simulated('v1', 'cgroupfs', 1);
  try {
    const layout = await detectLayout({ root: node.root, mountinfo: '/nonexistent' });
    const pod = ref(PODS[0]);
    let r = await failuresWith(layout, pod, 'memory.numa_stat', 'total=10 N0=10\nfile=5 N0=5\nanon=5 N0=5\nunevictable=0 N0=0\nhierarchical_total=10 N0=10\nhierarchical_file=5 N0');
    assert.deepEqual(r.failures.map((f) => [f.metric, f.reason]), [['memNumaPages', 'malformed']]);
    r = await failuresWith(layout, pod, 'memory.numa_stat', 'total=10 N0=10\nfile=5 N0=5\nhierarchical_file=5 N0=5\n');
    assert.match(r.failures[0].message, /no hierarchical_total line/);
    r = await failuresWith(layout, pod, 'memory.numa_stat', 'total=10 N0=10\nfile=5 N0=5\n');
    assert.deepEqual(r.failures, [], 'an older kernel without hierarchical lines: total');
    r = await failuresWith(layout, pod, 'cpuacct.usage', '-1\n');
    assert.deepEqual(r.failures.map((f) => [f.metric, f.reason]), [['cpuUsageSeconds', 'malformed']]);
    await failuresWith(layout, pod, 'cpuacct.usage', '5\n');
    r = await failuresWith(layout, pod, 'memory.limit_in_bytes', '18446744073709551616\n');
    assert.deepEqual(r.failures.map((f) => [f.metric, f.reason]), [['memLimitBytes', 'malformed']]);
    assert.match(r.failures[0].message, /beyond 64 bits/);
    r = await failuresWith(layout, pod, 'memory.limit_in_bytes', '9223372036854710272\n');
    assert.deepEqual(r.failures, [], 'the no-limit value of a 64 KiB-page kernel');

    for (const c of ['cpu,cpuacct', 'cpuset', 'memory']) rmSync(join(node.root, c, podCgroupPath(layout, pod)), { recursive: true });
    const { measurements, failures } = await measurePod(layout, pod);
    assert.deepEqual(measurements, {});
    assert.equal(failures.length, 10);
    assert.ok(failures.every((f) => f.reason === 'missing' && f.path.startsWith(node.root)));
    assert.deepEqual((await measurePod(layout, ref(PODS[1]))).failures, []);
  } finally {
    node.remove();
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CgroupFiles, cpusetSize, renderV1Stats, renderV2Stats } from './cgroup-files.ts';
import { containerCgroup, milliToQuota, milliToShares, podCgroup, podResources, qosCgroup, sharesToWeight } from './cgroup-layout.ts';
import { UsageModel } from './usage-model.ts';
import { type Pod, type ResourceRequirements, podQosClass } from '../../kube/index.ts';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const ID = 'ab'.repeat(32);
const UID = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';

function pod(uid: string, resources: ResourceRequirements, annotations: Record<string, string> = {}): Pod {
  return {
    metadata: { uid, name: `p-${uid.slice(0, 4)}`, namespace: 'default', annotations },
    spec: { containers: [{ name: 'main', image: 'img:1', resources }] },
    status: { containerStatuses: [{ name: 'main', ready: true, image: 'img:1', imageID: '', restartCount: 0, containerID: `containerd://${ID}`, state: { running: { startedAt: new Date(T0).toISOString() } } }] },
  };
}

const GUARANTEED = { requests: { cpu: '500m', memory: '128Mi' }, limits: { cpu: '500m', memory: '128Mi' } };
const BURSTABLE = { requests: { cpu: '250m', memory: '64Mi' }, limits: { cpu: '1' } };
const BEST_EFFORT = {};

test('cgroup paths by driver and QoS class', () => {
  const u = UID.replace(/-/g, '_');
  const cases: Array<[Parameters<typeof containerCgroup>, string]> = [
    [['systemd', 'Guaranteed', UID, ID], `/kubepods.slice/kubepods-pod${u}.slice/cri-containerd-${ID}.scope`],
    [['systemd', 'Burstable', UID, ID], `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${u}.slice/cri-containerd-${ID}.scope`],
    [['systemd', 'BestEffort', UID, ID, 'crio'], `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${u}.slice/crio-${ID}.scope`],
    [['cgroupfs', 'Guaranteed', UID, ID], `/kubepods/pod${UID}/${ID}`],
    [['cgroupfs', 'Burstable', UID, ID], `/kubepods/burstable/pod${UID}/${ID}`],
    [['cgroupfs', 'BestEffort', UID, ID], `/kubepods/besteffort/pod${UID}/${ID}`],
  ];
  for (const [args, want] of cases) assert.equal(containerCgroup(...args), want);
  assert.equal(podCgroup('systemd', 'Guaranteed', UID), `/kubepods.slice/kubepods-pod${u}.slice`);
  assert.equal(qosCgroup('cgroupfs', 'Guaranteed'), '/kubepods');
});

test('kubelet conversions: shares, weight, quota, pod resources', () => {
  const cases: Array<[number, number, number, number | undefined]> = [
    // milli, shares, weight, quota
    [0, 2, 1, undefined],
    [1, 2, 1, 1000],
    [10, 10, 1, 1000],
    [250, 256, 10, 25000],
    [500, 512, 20, 50000],
    [1000, 1024, 39, 100000],
    [4000, 4096, 157, 400000],
  ];
  for (const [milli, shares, weight, quota] of cases) {
    assert.equal(milliToShares(milli), shares, `shares of ${milli}`);
    assert.equal(sharesToWeight(shares), weight, `weight of ${shares}`);
    assert.equal(milliToQuota(milli || undefined), quota);
  }
  assert.deepEqual(
    podResources({
      initContainers: [{ name: 'init', resources: { requests: { cpu: '2' }, limits: { cpu: '2', memory: '1Gi' } } }],
      containers: [{ name: 'a', resources: { requests: { cpu: '100m', memory: '10Mi' }, limits: { cpu: '1', memory: '20Mi' } } }, { name: 'b', resources: { limits: { cpu: '500m', memory: '30Mi' } } }],
      overhead: { cpu: '10m', memory: '1Mi' },
    }),
    { cpuRequestMilli: 2010, cpuLimitMilli: 2010, memoryRequestBytes: 1025 * 1048576, memoryLimitBytes: 1025 * 1048576 },
  );
  assert.equal(cpusetSize('0-3,6'), 5);
  assert.equal(cpusetSize('\n'), undefined);
});

function read(root: string, path: string): string {
  return readFileSync(join(root, path), 'utf8');
}

test('the QoS class: as the API server set it, else as the spec makes it', () => {
  const guaranteed = pod(UID, GUARANTEED);
  assert.equal(podQosClass(guaranteed), 'Guaranteed');
  assert.equal(podQosClass({ ...guaranteed, status: { qosClass: 'BestEffort' } }), 'BestEffort');
  assert.equal(podQosClass(pod(UID, BURSTABLE)), 'Burstable');
  assert.equal(podQosClass(pod(UID, BEST_EFFORT)), 'BestEffort');
});

const PODS = [pod('11111111-aaaa-bbbb-cccc-000000000001', GUARANTEED), pod('22222222-aaaa-bbbb-cccc-000000000002', BURSTABLE, { 'kre.konstellation.io/cpu-millicores': '2000' }), pod('33333333-aaaa-bbbb-cccc-000000000003', BEST_EFFORT)];

test('cgroup v2, systemd and cgroupfs: values from the spec in each QoS class', async () => {
  for (const driver of ['systemd', 'cgroupfs'] as const) {
    const root = mkdtempSync(join(tmpdir(), 'kre-cg-'));
    try {
      const files = new CgroupFiles({ root, driver, cpus: 4, allocatableMemoryBytes: 8 * 1073741824 });
      files.sync(PODS);
      const qos = ['Guaranteed', 'Burstable', 'BestEffort'] as const;
      const [g, b, be] = PODS.map((p, i) => podCgroup(driver, qos[i], p.metadata.uid!));
      const cases: Array<[string, string]> = [
        [`${g}/cpu.weight`, '20\n'],
        [`${g}/cpu.max`, '50000 100000\n'],
        [`${g}/memory.max`, '134217728\n'],
        [`${b}/cpu.weight`, '10\n'],
        [`${b}/cpu.max`, '100000 100000\n'],
        [`${b}/memory.max`, 'max\n'],
        [`${be}/cpu.weight`, '1\n'],
        [`${be}/cpu.max`, 'max 100000\n'],
        [`${qosCgroup(driver, 'Burstable')}/cpu.weight`, '10\n'],
        [`${qosCgroup(driver, 'BestEffort')}/cpu.weight`, '1\n'],
        [`${qosCgroup(driver, 'Guaranteed')}/cpu.weight`, '157\n'],
        [`${qosCgroup(driver, 'Guaranteed')}/memory.max`, '8589934592\n'],
        [`${g}/memory.high`, 'max\n'],
        [`${g}/memory.low`, '0\n'],
        [`${g}/cpuset.cpus`, '\n'],
        [`${g}/cpuset.cpus.effective`, '0-3\n'],
        [`${g}/cpuset.mems.effective`, '0\n'],
        [`${containerCgroup(driver, 'Guaranteed', PODS[0].metadata.uid!, ID)}/cpu.max`, '50000 100000\n'],
        [`${containerCgroup(driver, 'Burstable', PODS[1].metadata.uid!, ID)}/cpu.weight`, '10\n'],
      ];
      for (const [path, want] of cases) assert.equal(read(root, path), want, `${driver} ${path}`);
      const model = new UsageModel({ nodeName: 'n', seed: 1 });
      await files.writePass(PODS, model, T0);
      await files.writePass(PODS, model, T0 + 10_000);
      const cpuStat = read(root, `${b}/cpu.stat`);
      assert.match(cpuStat, /^usage_usec 10000000\nuser_usec 8000000\nsystem_usec 2000000\nnr_periods 100\nnr_throttled 100\nthrottled_usec \d+\nnr_bursts 0\nburst_usec 0\n$/);
      for (const name of ['memory.current', 'memory.peak', 'memory.stat', 'memory.numa_stat']) assert.ok(existsSync(join(root, b, name)), name);
      assert.ok(!existsSync(join(root, b, '.cpu.stat.tmp')));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }
});

test('cgroup v1: per-controller hierarchies with the kubelet values', async () => {
  const root = mkdtempSync(join(tmpdir(), 'kre-cg-'));
  try {
    const files = new CgroupFiles({ root, version: 'v1', driver: 'cgroupfs', cpus: 2 });
    files.sync(PODS);
    assert.equal(readlinkSync(join(root, 'cpu')), 'cpu,cpuacct');
    assert.ok(lstatSync(join(root, 'cpuacct')).isSymbolicLink());
    const g = `/kubepods/pod${PODS[0].metadata.uid}`;
    const be = `/kubepods/besteffort/pod${PODS[2].metadata.uid}`;
    const cases: Array<[string, string]> = [
      [`cpu,cpuacct${g}/cpu.shares`, '512\n'],
      [`cpu,cpuacct${g}/cpu.cfs_quota_us`, '50000\n'],
      [`cpu,cpuacct${g}/cpu.cfs_period_us`, '100000\n'],
      [`memory${g}/memory.limit_in_bytes`, '134217728\n'],
      [`memory${g}/memory.soft_limit_in_bytes`, '9223372036854771712\n'],
      [`cpuset${g}/cpuset.cpus`, '0-1\n'],
      [`cpuset${g}/cpuset.mems`, '0\n'],
      [`cpu,cpuacct${be}/cpu.shares`, '2\n'],
      [`cpu,cpuacct${be}/cpu.cfs_quota_us`, '-1\n'],
      [`memory${be}/memory.limit_in_bytes`, '9223372036854771712\n'],
      [`cpu,cpuacct/kubepods/burstable/cpu.shares`, '256\n'],
    ];
    for (const [path, want] of cases) assert.equal(read(root, path), want, path);
    const model = new UsageModel({ nodeName: 'n', seed: 1 });
    await files.writePass(PODS, model, T0);
    await files.writePass(PODS, model, T0 + 10_000);
    const b = `/kubepods/burstable/pod${PODS[1].metadata.uid}`;
    assert.equal(read(root, `cpu,cpuacct${b}/cpuacct.usage`), '10000000000\n');
    assert.equal(read(root, `cpu,cpuacct${b}/cpuacct.stat`), 'user 800\nsystem 200\n');
    assert.match(read(root, `cpu,cpuacct${b}/cpu.stat`), /^nr_periods 100\nnr_throttled 100\nthrottled_time \d+\n$/);
    assert.match(read(root, `memory${b}/memory.usage_in_bytes`), /^\d+\n$/);
    assert.match(read(root, `memory${b}/memory.stat`), /^cache \d+\nrss \d+\n/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('stat file formats', () => {
  const s = { cpuSeconds: 1.5, userSeconds: 1.2, systemSeconds: 0.3, nrPeriods: 15.5, nrThrottled: 3.2, throttledSeconds: 0.25, memoryBytes: 10 * 1048576, peakBytes: 12 * 1048576, pgfault: 1234.7, pgmajfault: 2.2 };
  const v2 = new Map(renderV2Stats(s, 2));
  assert.equal(v2.get('cpu.stat'), 'usage_usec 1500000\nuser_usec 1200000\nsystem_usec 300000\nnr_periods 15\nnr_throttled 3\nthrottled_usec 250000\nnr_bursts 0\nburst_usec 0\n');
  assert.equal(v2.get('memory.current'), '10485760\n');
  assert.equal(v2.get('memory.peak'), '12582912\n');
  assert.match(v2.get('memory.stat')!, /^anon 9228288\nfile 1048576\nkernel 208896\nkernel_stack 49152\npagetables 49152\n/);
  assert.match(v2.get('memory.stat')!, /\npgfault 1234\npgmajfault 2\n/);
  assert.match(v2.get('memory.numa_stat')!, /^anon N0=4616192 N1=4612096\nfile N0=524288 N1=524288\n/);
  const v1 = new Map(renderV1Stats(s, 1));
  assert.equal(v1.get('cpuacct.usage'), '1500000000\n');
  assert.equal(v1.get('cpuacct.stat'), 'user 120\nsystem 30\n');
  assert.equal(v1.get('cpu.stat'), 'nr_periods 15\nnr_throttled 3\nthrottled_time 250000000\n');
  assert.equal(v1.get('memory.max_usage_in_bytes'), '12582912\n');
  assert.match(v1.get('memory.stat')!, /\nhierarchical_memory_limit 9223372036854771712\ntotal_cache 1048576\n/);
  assert.match(v1.get('memory.numa_stat')!, /^total=2509 N0=2509\nfile=256 N0=256\nanon=2253 N0=2253\n/);
});

test('a value written by another process lowers the usage until the next sync sets it back; counters grow', async () => {
  const root = mkdtempSync(join(tmpdir(), 'kre-cg-'));
  try {
    const files = new CgroupFiles({ root, driver: 'systemd' });
    const model = new UsageModel({ nodeName: 'n', seed: 1 });
    const p = pod(UID, BURSTABLE, { 'kre.konstellation.io/cpu-millicores': '2000' });
    const dir = podCgroup('systemd', 'Burstable', UID);
    files.sync([p]);
    await files.writePass([p], model, T0);
    let u = await files.writePass([p], model, T0 + 10_000);
    assert.equal(u.pods[0].cpuMilli, 1000);
    const usage1 = Number(/usage_usec (\d+)/.exec(read(root, `${dir}/cpu.stat`))![1]);
    writeFileSync(join(root, dir, 'cpu.max'), '25000 100000\n');
    u = await files.writePass([p], model, T0 + 20_000);
    assert.equal(u.pods[0].cpuMilli, 250);
    assert.equal(read(root, `${dir}/cpu.max`), '25000 100000\n', 'a write pass leaves the value alone');
    const usage2 = Number(/usage_usec (\d+)/.exec(read(root, `${dir}/cpu.stat`))![1]);
    assert.equal(usage2 - usage1, 2_500_000);
    assert.equal(files.sync([p]), 1, 'one file set back');
    assert.equal(read(root, `${dir}/cpu.max`), '100000 100000\n');
    u = await files.writePass([p], model, T0 + 30_000);
    assert.equal(u.pods[0].cpuMilli, 1000);
    const usage3 = Number(/usage_usec (\d+)/.exec(read(root, `${dir}/cpu.stat`))![1]);
    assert.equal(usage3 - usage2, 10_000_000);
    // A cpuset written on the container (left alone by the sync) caps it too.
    const c = containerCgroup('systemd', 'Burstable', UID, ID);
    writeFileSync(join(root, c, 'cpuset.cpus'), '0\n');
    files.sync([p]);
    assert.equal(read(root, `${c}/cpuset.cpus`), '0\n');
    u = await files.writePass([p], model, T0 + 40_000);
    assert.equal(u.pods[0].cpuMilli, 1000);
    // The pod is gone: its directories go.
    await files.writePass([], model, T0 + 50_000);
    assert.ok(!existsSync(join(root, dir)));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

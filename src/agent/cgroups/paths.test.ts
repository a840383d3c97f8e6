import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cgroupDir, validParent } from './paths.ts';
import {
  applyAllocation,
  CgroupPathError,
  containerCgroupPath,
  detectLayout,
  measurePod,
  podCgroupPath,
  type CgroupDriver,
  type CgroupLayout,
  type PodRef,
  type QosClass,
} from './index.ts';

const UID = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
const U = UID.replace(/-/g, '_');
const ID = 'ab'.repeat(32);

function layout(driver: CgroupDriver, parent = ''): CgroupLayout {
  const root = '/sys/fs/cgroup';
  return { version: 'v1', driver, root, parent, dirs: { cpu: `${root}/cpu`, cpuacct: `${root}/cpuacct`, cpuset: `${root}/cpuset`, memory: `${root}/memory` } };
}

const pod = (qos: QosClass, uid = UID): PodRef => ({ uid, qos, containerIds: [] });

test('pod and container cgroup paths by driver, QoS class and runtime', () => {
  const cases: Array<[CgroupDriver, QosClass, string, string, string]> = [
    // driver, qos, container id, pod path, container path
    ['cgroupfs', 'Guaranteed', `containerd://${ID}`, `kubepods/pod${UID}`, `kubepods/pod${UID}/${ID}`],
    ['cgroupfs', 'Burstable', `docker://${ID}`, `kubepods/burstable/pod${UID}`, `kubepods/burstable/pod${UID}/${ID}`],
    ['cgroupfs', 'BestEffort', `cri-o://${ID}`, `kubepods/besteffort/pod${UID}`, `kubepods/besteffort/pod${UID}/crio-${ID}`],
    ['systemd', 'Guaranteed', `containerd://${ID}`, `kubepods.slice/kubepods-pod${U}.slice`, `kubepods.slice/kubepods-pod${U}.slice/cri-containerd-${ID}.scope`],
    [
      'systemd',
      'Burstable',
      `docker://${ID}`,
      `kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${U}.slice`,
      `kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${U}.slice/docker-${ID}.scope`,
    ],
    [
      'systemd',
      'BestEffort',
      `cri-o://${ID}`,
      `kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${U}.slice`,
      `kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${U}.slice/crio-${ID}.scope`,
    ],
  ];
  for (const [driver, qos, id, podPath, containerPath] of cases) {
    assert.equal(podCgroupPath(layout(driver), pod(qos)), podPath, `${driver} ${qos}`);
    assert.equal(containerCgroupPath(layout(driver), pod(qos), id), containerPath, `${driver} ${qos} ${id}`);
  }
  assert.equal(podCgroupPath(layout('cgroupfs', 'test/x'), pod('Guaranteed')), `test/x/kubepods/pod${UID}`);
});

test('hostile pod uids, QoS classes and container ids never become paths', () => {
  const badUids: unknown[] = [
    '../../../etc',
    `${UID}/../..`,
    `${UID}/x`,
    `${UID}\0`,
    'a'.repeat(100_000),
    UID.toUpperCase(),
    '',
    undefined,
    42,
    `../${UID}`,
  ];
  for (const uid of badUids) {
    assert.throws(() => podCgroupPath(layout('cgroupfs'), { uid: uid as string, qos: 'Burstable', containerIds: [] }), (err: Error) => {
      assert.ok(err instanceof CgroupPathError);
      assert.match(err.message, /pod uid .* is not a UUID/);
      assert.ok(err.message.length < 200, 'the message does not echo a huge value');
      return true;
    });
  }
  for (const qos of ['../x', 'guaranteed', '', 'Burstable/..']) {
    assert.throws(() => podCgroupPath(layout('systemd'), { uid: UID, qos: qos as QosClass, containerIds: [] }), /QoS class/);
  }
  const badIds: Array<[unknown, RegExp]> = [
    [ID, /no runtime scheme/],
    [`containerd://../../${ID}`, /lowercase hex/],
    [`containerd://${ID}/..`, /lowercase hex/],
    [`containerd://${ID}\0`, /lowercase hex/],
    [`containerd://${ID.toUpperCase()}`, /lowercase hex/],
    [`containerd://abc`, /lowercase hex/],
    [`containerd://${'a'.repeat(129)}`, /lowercase hex/],
    [`containerd://${'a'.repeat(1_000_000)}`, /lowercase hex/],
    [`rkt://${ID}`, /unknown runtime scheme/],
    [`__proto__://${ID}`, /unknown runtime scheme/],
    [`constructor://${ID}`, /unknown runtime scheme/],
    ['', /no runtime scheme/],
    [null, /not a string/],
  ];
  for (const [id, why] of badIds) {
    assert.throws(() => containerCgroupPath(layout('systemd'), pod('Burstable'), id as string), (err: Error) => err instanceof CgroupPathError && why.test(err.message), String(id).slice(0, 60));
  }
});

test('the layout parent is a relative path without .. and every directory stays in its hierarchy', () => {
  assert.equal(validParent(''), '');
  assert.equal(validParent('kre-test/a'), 'kre-test/a');
  for (const p of ['..', 'a/../..', 'a//b', 'a/./b', 'a\0b', 'a b', 'x'.repeat(2000)]) assert.throws(() => validParent(p), CgroupPathError, p);
  const l = layout('cgroupfs');
  assert.equal(cgroupDir(l, 'memory', 'kubepods/x'), '/sys/fs/cgroup/memory/kubepods/x');
  assert.throws(() => cgroupDir(l, 'memory', '../cpu/kubepods'), /leaves the memory hierarchy/);
  assert.throws(() => cgroupDir(l, 'memory', '/etc'), /not relative/);
  assert.throws(() => cgroupDir(l, 'memory', 'a\0b'), /not relative/);
});

test('a hostile pod costs its own metrics and allocations and touches no file', async () => {
  const root = mkdtempSync(join(tmpdir(), 'kre-cg-paths-'));
  try {
    mkdirSync(join(root, 'kubepods.slice'), { recursive: true });
    writeFileSync(join(root, 'cgroup.controllers'), 'cpu memory cpuset\n');
    // A file the hostile uid would reach if it were joined as given.
    writeFileSync(join(root, 'memory.current'), '123\n');
    const l = await detectLayout({ root });
    assert.equal(l.version, 'v2');
    const hostile = { uid: '../..', qos: 'Burstable', containerIds: [] } as unknown as PodRef;
    const { measurements, failures } = await measurePod(l, hostile);
    assert.deepEqual(measurements, {});
    assert.equal(failures.length, 10);
    for (const f of failures) {
      assert.equal(f.reason, 'other');
      assert.equal(f.path, '');
      assert.match(f.message, /not a UUID/);
    }
    const node = { cpus: 1, cpuList: '0', memNodes: '0', cfsPeriodUs: 100000 };
    const applied = await applyAllocation(l, hostile, { cpuQuota: 0.5, cpusetCpus: '0' }, node);
    assert.deepEqual(applied.written, []);
    assert.deepEqual(applied.failures.map((f) => f.type), ['cpuQuota', 'cpusetCpus']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

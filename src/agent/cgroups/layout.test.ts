import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kernelTreeProblem } from './kernel-tree.ts';
import { parseMountinfo } from './layout.ts';
import { CgroupLayoutError, CgroupPathError, detectLayout, formatCpuList, parseCpuList, CpuListError } from './index.ts';

// Mount tables as the kernel prints them, for the three kinds of node.
const HYBRID = `30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct
33 30 0:30 / /sys/fs/cgroup/cpuset rw,relatime shared:10 - cgroup cgroup rw,cpuset
34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
`;
const UNIFIED = `25 22 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
26 22 0:24 / /proc rw - proc proc rw
`;
const SPACED = `31 30 0:28 / /host\\040root/cgroup/cpu rw - cgroup cgroup rw,cpu
32 30 0:29 / /host\\040root/cgroup/cpuacct rw - cgroup cgroup rw,cpuacct
33 30 0:30 / /host\\040root/cgroup/cpuset rw - cgroup cgroup rw,cpuset
34 30 0:31 / /host\\040root/cgroup/memory rw - cgroup cgroup rw,memory
`;

function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'kre-cg-layout-'));
  return fn(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

test('the version and controller directories from the mount table', async () => {
  await withDir(async (dir) => {
    const mi = join(dir, 'mountinfo');
    writeFileSync(mi, HYBRID);
    const hybrid = await detectLayout({ root: '/sys/fs/cgroup', mountinfo: mi, driver: 'systemd' });
    assert.equal(hybrid.version, 'v1');
    assert.deepEqual({ ...hybrid.dirs }, { cpu: '/sys/fs/cgroup/cpu,cpuacct', cpuacct: '/sys/fs/cgroup/cpu,cpuacct', cpuset: '/sys/fs/cgroup/cpuset', memory: '/sys/fs/cgroup/memory' });
    writeFileSync(mi, UNIFIED);
    const unified = await detectLayout({ root: '/sys/fs/cgroup/', mountinfo: mi, driver: 'cgroupfs' });
    assert.equal(unified.version, 'v2');
    assert.equal(unified.root, '/sys/fs/cgroup');
    assert.deepEqual(new Set(Object.values(unified.dirs)), new Set(['/sys/fs/cgroup']));
    assert.equal(parseMountinfo(SPACED)[0].mountPoint, '/host root/cgroup/cpu');
    writeFileSync(mi, SPACED);
    const spaced = await detectLayout({ root: '/host root/cgroup', mountinfo: mi, driver: 'cgroupfs', parent: 'a/b' });
    assert.equal(spaced.dirs.memory, '/host root/cgroup/memory');
    assert.equal(spaced.parent, 'a/b');
    // A container's own cgroup namespace: the mount shows a subtree, and no kubepods is found.
    writeFileSync(mi, '25 22 0:23 /kubepods.slice/kubepods-pod1.slice/cri-containerd-ab.scope /sys/fs/cgroup ro - cgroup2 cgroup2 rw\n');
    await assert.rejects(detectLayout({ root: dir, mountinfo: mi, version: 'v2' }), /neither kubepods.slice .* nor kubepods/);
    writeFileSync(mi, `25 22 0:23 /kubepods.slice/kubepods-pod1.slice ${dir} ro - cgroup2 cgroup2 rw\n`);
    await assert.rejects(detectLayout({ root: dir, mountinfo: mi }), /shows only \/kubepods.slice\/kubepods-pod1.slice of its hierarchy \(a cgroup namespace\?\): mount the host's cgroup tree/);
  });
});

test('a tree that is no mount is judged by its contents; a missing hierarchy or kubepods is an error saying what was looked for', async () => {
  await withDir(async (dir) => {
    const none = join(dir, 'none');
    mkdirSync(none);
    await assert.rejects(detectLayout({ root: none, mountinfo: '/nonexistent' }), (err: Error) => {
      assert.ok(err instanceof CgroupLayoutError);
      assert.match(err.message, /not a cgroup2 mount \(no cgroup.controllers\) and no cgroup v1 hierarchy for cpu, cpuacct, cpuset, memory/);
      return true;
    });
    const v1 = join(dir, 'v1');
    for (const c of ['cpu,cpuacct', 'cpuset']) mkdirSync(join(v1, c, 'kubepods'), { recursive: true });
    await assert.rejects(detectLayout({ root: v1, mountinfo: '/nonexistent' }), /no cgroup v1 hierarchy for memory/);
    await assert.rejects(detectLayout({ root: v1, mountinfo: '/nonexistent', version: 'v1' }), /cgroup v1 at .* has no hierarchy for memory/);
    mkdirSync(join(v1, 'memory'));
    symlinkSync('cpu,cpuacct', join(v1, 'cpuacct'));
    const l = await detectLayout({ root: v1, mountinfo: '/nonexistent' });
    assert.equal(l.version, 'v1');
    assert.equal(l.driver, 'cgroupfs');
    assert.equal(l.dirs.cpu, join(v1, 'cpu,cpuacct'));
    assert.equal(l.dirs.cpuacct, join(v1, 'cpuacct'));
    await assert.rejects(detectLayout({ root: v1, mountinfo: '/nonexistent', parent: '../..' }), CgroupPathError);
  });
});

test('cpu lists in kernel syntax', () => {
  const cases: Array<[string, number[], string]> = [
    ['0-3,8', [0, 1, 2, 3, 8], '0-3,8'],
    ['8,0-3', [0, 1, 2, 3, 8], '0-3,8'],
    [' 0 , 2-3\n', [0, 2, 3], '0,2-3'],
    ['5', [5], '5'],
    ['1-1', [1], '1'],
    ['', [], ''],
    ['\n', [], ''],
  ];
  for (const [text, ids, canonical] of cases) {
    assert.deepEqual(parseCpuList(text), ids, text);
    assert.equal(formatCpuList(ids), canonical);
  }
  for (const bad of ['a', '1-', '-1', '3-1', '0,,1', '1:2', '0-99999', '0-8192', '1 2']) assert.throws(() => parseCpuList(bad), CpuListError, bad);
});

test('the kernel tests say why when there is no writable cgroup v1 tree', async () => {
  await withDir(async (dir) => {
    assert.match(kernelTreeProblem(dir) ?? '', /cpu is not a cgroup hierarchy \(ENOENT\): these tests need cgroup v1 cpu, cpuacct, cpuset and memory mounted under/);
  });
});

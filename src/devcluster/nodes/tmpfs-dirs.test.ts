/**
 * Tmpfs directories left by a killed devcluster are removed by the next one; live owners' and
 * unowned ones are kept. With the real /dev/shm and real processes (skipped where /dev/shm is not
 * writable).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startDevCluster } from '../index.ts';
import { OWNER_FILE, removeStaleTmpfsDirs, TMPFS_PREFIX } from './tmpfs-dirs.ts';

const SHM = '/dev/shm';
const ROOT = new URL('../../..', import.meta.url).pathname;

function shmWritable(): boolean {
  try {
    accessSync(SHM, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** The pid of a process that has exited. */
function deadPid(): number {
  const pid = Number(execFileSync('sh', ['-c', 'sh -c "echo \\$\\$"'], { encoding: 'utf8' }).trim());
  assert.ok(pid > 0);
  return pid;
}

/** The tmpfs directories whose owner file names `pid`. */
function dirsOwnedBy(pid: number): string[] {
  return readdirSync(SHM)
    .filter((n) => n.startsWith(TMPFS_PREFIX))
    .map((n) => join(SHM, n))
    .filter((d) => {
      try {
        return JSON.parse(readFileSync(join(d, OWNER_FILE), 'utf8')).pid === pid;
      } catch {
        return false;
      }
    });
}

test('only directories whose owner is dead are removed', { skip: !shmWritable() && '/dev/shm is not writable' }, () => {
  const dead = mkdtempSync(join(SHM, TMPFS_PREFIX));
  const live = mkdtempSync(join(SHM, TMPFS_PREFIX));
  const unowned = mkdtempSync(join(SHM, TMPFS_PREFIX));
  const reused = mkdtempSync(join(SHM, TMPFS_PREFIX));
  try {
    writeFileSync(join(dead, OWNER_FILE), JSON.stringify({ pid: deadPid() }));
    writeFileSync(join(dead, 'cgroup.file'), 'x');
    writeFileSync(join(live, OWNER_FILE), JSON.stringify({ pid: process.pid }));
    // Our parent's pid, with a start time that is not its own: the pid was reused.
    writeFileSync(join(reused, OWNER_FILE), JSON.stringify({ pid: process.ppid, started: 1 }));
    const removed = removeStaleTmpfsDirs(SHM);
    assert.ok(removed.includes(dead) && removed.includes(reused), `removed: ${removed}`);
    assert.ok(!existsSync(dead) && !existsSync(reused));
    assert.ok(existsSync(live), 'a live owner’s directory is kept');
    assert.ok(existsSync(unowned), 'a directory with no owner recorded is kept');
  } finally {
    for (const d of [dead, live, unowned, reused]) rmSync(d, { recursive: true, force: true });
  }
});

test('the directory of a kre devcluster killed with -9 is removed by the next devcluster', { skip: !shmWritable() && '/dev/shm is not writable' }, async () => {
  const work = mkdtempSync(join(tmpdir(), 'kre-tmpfs-'));
  const child = spawn(process.execPath, [join(ROOT, 'bin/kre.js'), 'devcluster', '--state-dir', join(work, 'killed'), '--nodes', '1'], {
    cwd: ROOT,
    env: { ...process.env, HOME: work, KRE_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const exited = new Promise((r) => child.once('exit', r));
  let left: string[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('kre devcluster not ready within 120 s')), 120_000);
      createInterface({ input: child.stdout! }).on('line', (line) => {
        if (!line.includes('"msg":"ready"')) return;
        clearTimeout(timer);
        resolve();
      });
    });
    // The kubelet makes its directory when it first writes cgroup files.
    for (let i = 0; i < 200 && dirsOwnedBy(child.pid!).length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    left = dirsOwnedBy(child.pid!);
    assert.equal(left.length, 1, 'the killed devcluster had one tmpfs directory');
    child.kill('SIGKILL');
    await exited;
    assert.ok(existsSync(left[0]), 'a kill -9 leaves it behind');

    const cluster = await startDevCluster({ nodes: 1 });
    try {
      for (let i = 0; i < 200 && existsSync(left[0]); i++) await new Promise((r) => setTimeout(r, 100));
      assert.ok(!existsSync(left[0]), `${left[0]} is still there`);
      assert.equal(dirsOwnedBy(process.pid).length, 1, 'the new devcluster’s own directory, with its owner recorded');
    } finally {
      await cluster.stop();
    }
    assert.equal(dirsOwnedBy(process.pid).length, 0, 'removed on stop');
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    for (const d of left) rmSync(d, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  }
});

/**
 * One state dir, one devcluster: a lock left by a killed `kre devcluster` is taken over, a second
 * start in one process is refused; the directory is 0700 and its files 0600, also when it existed
 * before with looser modes. (Two processes on one dir: state-dir-two-processes.test.ts.)
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startDevCluster } from './index.ts';
import { LOCK_FILE, lockStateDir, StateDirLockedError } from './state-dir.ts';
import type { ReadyLine } from './testing.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const KRE = join(ROOT, 'bin/kre.js');
const work = mkdtempSync(join(tmpdir(), 'kre-state-dir-'));
after(() => rmSync(work, { recursive: true, force: true }));

interface Running {
  child: ChildProcess;
  ready: ReadyLine;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

async function startProcess(args: string[]): Promise<Running> {
  const child = spawn(process.execPath, [KRE, 'devcluster', ...args], { cwd: ROOT, env: { ...process.env, HOME: join(work, 'home'), KRE_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const ready = await new Promise<ReadyLine>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready after 170 s; stderr: ${stderr}`)), 170_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!line.includes('"msg":"ready"')) return;
      clearTimeout(timer);
      resolve(JSON.parse(line));
    });
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before ready; stderr: ${stderr}`));
    });
  });
  return { child, ready, exited };
}

/** Every file and directory under `dir`: its mode, and for files its bytes and modification time. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      const st = statSync(p);
      if (e.isDirectory()) {
        out[p] = `dir ${(st.mode & 0o777).toString(8)}`;
        walk(p);
      } else out[p] = `file ${(st.mode & 0o777).toString(8)} ${st.mtimeMs} ${readFileSync(p).toString('base64')}`;
    }
  };
  walk(dir);
  return out;
}

describe('one devcluster per state dir', () => {
  test('a lock left by a killed devcluster is taken over', async () => {
    const dir = join(work, 'killed');
    const first = await startProcess(['--state-dir', dir, '--nodes', '0']);
    first.child.kill('SIGKILL');
    await first.exited;
    assert.equal(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')).pid, first.child.pid, 'the lock is left behind');
    const second = await startDevCluster({ stateDir: dir, nodes: 0 });
    try {
      assert.equal(second.url, first.ready.url);
      const lock = JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8'));
      assert.deepEqual([lock.pid, lock.url], [process.pid, second.url]);
    } finally {
      await second.stop();
    }
    assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith(LOCK_FILE)), [], 'a clean stop removes the lock');
  });

  test('in one process: a second start on a held dir is refused until the first stops', async () => {
    const dir = join(work, 'in-process');
    const cluster = await startDevCluster({ stateDir: dir, nodes: 0 });
    try {
      await assert.rejects(startDevCluster({ stateDir: dir, nodes: 0 }), (err: unknown) => err instanceof StateDirLockedError && err.pid === process.pid && err.url === cluster.url);
      await cluster.restart();
      await assert.rejects(startDevCluster({ stateDir: dir, nodes: 0 }), StateDirLockedError);
    } finally {
      await cluster.stop();
    }
    const again = await startDevCluster({ stateDir: dir, nodes: 0 });
    await again.stop();
  });

  test('a lock of a pid that is not running, or not a lock at all, is taken over', () => {
    const dir = join(work, 'stale');
    mkdirSync(dir, { recursive: true });
    for (const content of [JSON.stringify({ pid: 2 ** 22 + 7 }), JSON.stringify({ pid: process.ppid, started: 1 }), 'garbage', '']) {
      writeFileSync(join(dir, LOCK_FILE), content);
      const lock = lockStateDir(dir);
      assert.equal(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')).pid, process.pid, content);
      lock.release();
    }
    assert.deepEqual(readdirSync(dir), []);
  });
});

describe('permissions', () => {
  test('the state dir is 0700 and every file in it 0600, also when it existed with looser modes', async () => {
    const dir = join(work, 'loose');
    mkdirSync(join(dir, 'data'), { recursive: true, mode: 0o755 });
    chmodSync(dir, 0o755);
    chmodSync(join(dir, 'data'), 0o755);
    writeFileSync(join(dir, 'data', 'objects.log'), '', { mode: 0o644 });
    writeFileSync(join(dir, 'port'), '0\n', { mode: 0o644 });
    const cluster = await startDevCluster({ stateDir: dir, nodes: 0 });
    try {
      const modes = Object.entries(snapshot(dir)).map(([p, v]) => `${p.slice(dir.length)} ${v.split(' ').slice(0, 2).join(' ')}`);
      assert.equal((statSync(dir).mode & 0o777).toString(8), '700');
      for (const m of modes) assert.match(m, / (dir 700|file 600)$/, m);
      assert.ok(modes.some((m) => m.startsWith('/data/objects.log ')));
      assert.ok(modes.some((m) => m.startsWith('/kubeconfig ')));
    } finally {
      await cluster.stop();
    }
    // A fresh state dir too.
    const fresh = join(work, 'fresh');
    const second = await startDevCluster({ stateDir: fresh, nodes: 0 });
    try {
      assert.equal((statSync(fresh).mode & 0o777).toString(8), '700');
      for (const [p, v] of Object.entries(snapshot(fresh))) assert.match(v, /^(dir 700|file 600)/, p);
    } finally {
      await second.stop();
    }
  });
});

/**
 * Two `kre devcluster` processes on one state dir: the second exits 2 naming the running one's pid
 * and URL, and changes nothing on disk (every file's bytes, mode and modification time compared);
 * `kre dev` on it is refused the same way.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { ReadyLine } from './testing.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const KRE = join(ROOT, 'bin/kre.js');
const work = mkdtempSync(join(tmpdir(), 'kre-state-dir-two-'));
after(() => rmSync(work, { recursive: true, force: true }));

async function startProcess(args: string[]): Promise<{ child: ChildProcess; ready: ReadyLine; exited: Promise<unknown> }> {
  const child = spawn(process.execPath, [KRE, 'devcluster', ...args], { cwd: ROOT, env: { ...process.env, HOME: join(work, 'home'), KRE_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const ready = await new Promise<ReadyLine>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready after 170 s; stderr: ${stderr}`)), 170_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!line.includes('"msg":"ready"')) return;
      clearTimeout(timer);
      resolve(JSON.parse(line));
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`exited before ready; stderr: ${stderr}`));
    });
  });
  return { child, ready, exited };
}

function runKre(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [KRE, ...args], { cwd: ROOT, env: { ...process.env, HOME: join(work, 'home') }, timeout: 170_000 }, (err, _stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }),
    );
  });
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

test('a second kre devcluster on the same state dir exits 2, names the running one, and changes nothing on disk', async () => {
  const dir = join(work, 'shared');
  const first = await startProcess(['--state-dir', dir, '--nodes', '0']);
  try {
    const before = snapshot(dir);
    assert.ok(Object.keys(before).some((p) => p.endsWith('objects.log')));
    const second = await runKre(['devcluster', '--state-dir', dir, '--nodes', '0', '--listen', '127.0.0.1:0']);
    assert.equal(second.code, 2, second.stderr);
    assert.ok(second.stderr.includes(`pid ${first.child.pid}`), second.stderr);
    assert.ok(second.stderr.includes(first.ready.url), second.stderr);
    assert.deepEqual(snapshot(dir), before);
    // `kre dev` on the same dir is refused the same way.
    const dev = await runKre(['dev', '--state-dir', dir]);
    assert.equal(dev.code, 2, dev.stderr);
    assert.deepEqual(snapshot(dir), before);
  } finally {
    first.child.kill('SIGKILL');
    await first.exited;
  }
});

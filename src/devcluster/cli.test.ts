/**
 * `kre devcluster` as a user runs it: the ready line with the API URL and the kubeconfig path,
 * kubectl through that kubeconfig, SIGTERM and SIGINT stopping it with status 0, a kubeconfig
 * written where asked and never to ~/.kube/config, and status 2 for a bad --listen.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { eventually, type ReadyLine } from './testing.ts';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = new URL('../..', import.meta.url).pathname;
const KRE = join(ROOT, 'bin/kre.js');
const work = mkdtempSync(join(tmpdir(), 'kre-cli-'));
const home = join(work, 'home');
const kubeconfigPath = join(work, 'elsewhere', 'devcluster.kubeconfig');

interface Running {
  child: ChildProcess;
  ready: ReadyLine;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `kre devcluster ARGS` with HOME set to a temporary directory and waits for its ready line. */
async function startProcess(args: string[]): Promise<Running> {
  const child = spawn(process.execPath, [KRE, 'devcluster', ...args], { cwd: ROOT, env: { ...process.env, HOME: home, KRE_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const lines = createInterface({ input: child.stdout! });
  const ready = await new Promise<ReadyLine>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready after 60 s; stderr: ${stderr}`)), 60_000);
    lines.on('line', (line) => {
      if (!line.includes('"msg":"ready"')) return;
      clearTimeout(timer);
      resolve(JSON.parse(line));
    });
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before ready; stderr: ${stderr}`));
    });
  });
  return { child, ready, exited, stderr: () => stderr };
}

async function exitOf(p: Running, ms = 30_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`did not exit within ${ms} ms; stderr: ${p.stderr()}`)), ms)));
  try {
    return await Promise.race([p.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

let devcluster: Running;

before(async () => {
  devcluster = await startProcess(['--state-dir', join(work, 'state'), '--listen', '127.0.0.1:0', '--write-kubeconfig', kubeconfigPath]);
});
after(async () => {
  if (devcluster.child.exitCode === null && devcluster.child.signalCode === null) {
    devcluster.child.kill('SIGKILL');
    await devcluster.exited;
  }
  rmSync(work, { recursive: true, force: true });
});

test('the ready line names the API URL and the kubeconfig path', async () => {
  assert.match(devcluster.ready.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(devcluster.ready.kubeconfig, kubeconfigPath);
  assert.equal(devcluster.ready.part, 'devcluster');
  // stderr is another pipe: its lines may arrive after the ready line.
  await eventually(() => devcluster.stderr().includes(devcluster.ready.url) && devcluster.stderr().includes(kubeconfigPath), 10_000, 'the hint on stderr');
});

test('KUBECONFIG=<path> kubectl get ns works', async () => {
  // kubectl keeps a discovery cache under its own ~/.kube: give it another home than the devcluster's.
  const { stdout } = await run('kubectl', ['get', 'ns', '-o', 'name'], { env: { ...process.env, HOME: join(work, 'kubectl-home'), KUBECONFIG: kubeconfigPath } });
  for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) assert.ok(stdout.split('\n').includes(`namespace/${ns}`), stdout);
});

test('--write-kubeconfig writes there, and ~/.kube/config is never touched', () => {
  assert.match(readFileSync(kubeconfigPath, 'utf8'), new RegExp(devcluster.ready.url.replace(/[.]/g, '\\.')));
  assert.ok(!existsSync(join(work, 'state', 'kubeconfig')), 'not in the state dir either');
  assert.ok(!existsSync(join(home, '.kube')), `~/.kube exists: ${existsSync(join(home, '.kube')) ? readdirSync(join(home, '.kube')).join(',') : ''}`);
});

test('SIGTERM stops it with status 0', async () => {
  devcluster.child.kill('SIGTERM');
  assert.deepEqual(await exitOf(devcluster), { code: 0, signal: null });
  assert.ok(!existsSync(join(home, '.kube')));
});

test('SIGINT stops it with status 0', async () => {
  // A second run from the same state dir, with the kubeconfig in its default place.
  const again = await startProcess(['--state-dir', join(work, 'state')]);
  assert.equal(again.ready.url, devcluster.ready.url, 'the port kept in the state dir');
  assert.equal(again.ready.kubeconfig, join(work, 'state', 'kubeconfig'));
  again.child.kill('SIGINT');
  assert.deepEqual(await exitOf(again), { code: 0, signal: null });
  assert.ok(!existsSync(join(home, '.kube')));
});

test('a bad --listen exits 2 with a message naming it', async () => {
  for (const listen of ['nonsense', '127.0.0.1:99999']) {
    const err: { code?: number; stderr: string } = await run(process.execPath, [KRE, 'devcluster', '--state-dir', join(work, 'bad'), '--listen', listen], { cwd: ROOT, env: { ...process.env, HOME: home } }).then(
      () => assert.fail(`--listen ${listen} was accepted`),
      (e) => e,
    );
    assert.equal(err.code, 2, `--listen ${listen}: status ${err.code}; stderr: ${err.stderr}`);
    assert.match(err.stderr, /listen/);
    assert.ok(err.stderr.includes(listen), err.stderr);
  }
});

test('kre --help lists devcluster', async () => {
  const { stdout } = await run(process.execPath, [KRE, '--help'], { cwd: ROOT });
  assert.match(stdout, /^\s+devcluster\b/m);
});

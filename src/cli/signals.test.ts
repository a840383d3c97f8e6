/**
 * Stopping on SIGTERM as a supervisor sends it: to the pid it started, while the part is busy.
 * `kre devcluster nodes` scheduling and running a burst of pods exits within 2 s; started through
 * `npx kre` from the repository (npm → sh → node), the signal sent to npx's pid stops the node
 * process doing the work too, and no process of the command is left.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDevCluster, type DevCluster } from '../devcluster/index.ts';
import { eventually, rawRequest } from '../devcluster/testing.ts';
import type { KubeList, Pod } from '../kube/index.ts';

const root = join(import.meta.dirname, '..', '..');
/** The 2 s the parts promise, and what this loaded test machine may add to reach the test. */
const STOP_WITHIN_MS = 2000;
const SLACK_MS = 1000;

let cluster: DevCluster;

before(async () => {
  cluster = await startDevCluster({ nodes: 0 });
});
after(async () => {
  await cluster?.stop();
});

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

/** Starts a command in a process group of its own, so that what it leaves behind can be found. */
function start(command: string, args: string[]): Started {
  const child = spawn(command, args, { cwd: root, env: { ...process.env, KRE_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })));
  return { child, output: () => output, exited };
}

/** Pids whose process group is `pgid` (the command and everything it started). */
function groupMembers(pgid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command (in parentheses): state, ppid, pgrp.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') pids.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** When the process logged `msg` (its pino `time`). */
function logTime(output: string, msg: string): number {
  const line = output.split('\n').find((l) => l.includes(`"msg":"${msg}"`));
  assert.ok(line, `a "${msg}" line in ${output.slice(-1000)}`);
  const time = JSON.parse(line).time;
  return typeof time === 'number' ? time : Date.parse(time);
}

async function busyDeployment(name: string): Promise<void> {
  const created = await rawRequest(cluster, 'POST', '/apis/apps/v1/namespaces/default/deployments', {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas: 300,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'main', image: 'model:1' }] } },
    },
  });
  assert.equal(created.status, 201, created.text);
  // Busy: pods being created, scheduled and started while the signal comes.
  await eventually(async () => {
    const pods: KubeList<Pod> = (await rawRequest(cluster, 'GET', `/api/v1/namespaces/default/pods?labelSelector=app%3D${name}`)).json();
    return pods.items.some((p) => p.status?.phase === 'Running');
  }, 120_000, 'the first pod running');
}

test('kre devcluster nodes, busy, exits 0 within 2 s of SIGTERM', async () => {
  const nodes = start(process.execPath, [join(root, 'bin', 'kre.js'), 'devcluster', 'nodes', '--kubeconfig', cluster.kubeconfigPath, '--nodes', '2', '--max-pods', '500', '--controllers']);
  try {
    await eventually(() => /"msg":"ready"/.test(nodes.output()), 120_000, 'the ready line');
    await busyDeployment('busy');
    const sent = Date.now();
    nodes.child.kill('SIGTERM');
    const { code } = await nodes.exited;
    assert.equal(code, 0, nodes.output().slice(-2000));
    // Timed by the process's own log: this test's process, which serves the API, is busy too and
    // may see the exit late.
    const stopped = logTime(nodes.output(), 'stopped');
    assert.ok(stopped - sent <= STOP_WITHIN_MS + SLACK_MS, `stopped ${stopped - sent} ms after SIGTERM (stopping after ${logTime(nodes.output(), 'stopping') - sent} ms)`);
    assert.deepEqual(groupMembers(nodes.child.pid!), []);
  } finally {
    killGroup(nodes.child.pid!);
  }
});

test('npx kre passes SIGTERM on to the process doing the work; nothing is left', async () => {
  await rawRequest(cluster, 'DELETE', '/apis/apps/v1/namespaces/default/deployments/busy');
  const npx = start('npx', ['kre', 'devcluster', 'nodes', '--kubeconfig', cluster.kubeconfigPath, '--nodes', '1', '--max-pods', '500', '--controllers']);
  try {
    await eventually(() => /"msg":"ready"/.test(npx.output()), 150_000, 'the ready line');
    const argv = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const worker = groupMembers(npx.child.pid!).find((pid) => /node$/.test(argv(pid)[0]) && /\/kre(\.js)?$/.test(argv(pid)[1] ?? ''));
    assert.ok(worker, `the node process running kre among ${groupMembers(npx.child.pid!).map((p) => argv(p).join(' ')).join('; ')}`);
    const sent = Date.now();
    npx.child.kill('SIGTERM');
    await npx.exited;
    await eventually(() => groupMembers(npx.child.pid!).length === 0, 30_000, 'every process of the command gone');
    const stopped = logTime(npx.output(), 'stopped');
    assert.ok(stopped - sent <= STOP_WITHIN_MS + SLACK_MS, `stopped ${stopped - sent} ms after SIGTERM`);
  } finally {
    killGroup(npx.child.pid!);
  }
});

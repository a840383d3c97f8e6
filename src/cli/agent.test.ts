import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createPod, ensureNamespace, sample, startSimulatedNode, waitRunning, type SimulatedNode } from '../agent/testing.ts';
import { eventually } from '../devcluster/testing.ts';

const bin = new URL('../../bin/kre.js', import.meta.url).pathname;
let node: SimulatedNode;

before(async () => {
  node = await startSimulatedNode();
  await ensureNamespace(node.client, 'team-a');
  await createPod(node.client, { namespace: 'team-a', name: 'web', labels: { app: 'web' } });
  await waitRunning(node, [{ namespace: 'team-a', name: 'web' }]);
});

after(async () => {
  await node?.stop();
});

function run(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [bin, 'agent', ...args], { env: { ...process.env, KRE_LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, out: () => out, err: () => err };
}

describe('kre agent', () => {
  it('exits 2 naming the rule and field of an invalid allocation rule', async () => {
    const config = join(node.dir, 'bad.yaml');
    writeFileSync(config, 'mode: allocation\nallocation:\n  rules:\n    - name: ok\n      allocations: {cpu_quota: 0.5}\n    - name: pin\n      allocations: {cpuset_cpus: "3-1"}\n');
    const p = run(['--config', config], { NODE_NAME: 'kre-node-1' });
    assert.equal(await p.exited, 2);
    assert.match(p.err(), /invalid configuration: allocation\.rules\.1 \(pin\)\.allocations\.cpuset_cpus: range 3-1 goes backwards/);
  });

  it('logs ready with its URLs, serves the node\'s tasks on /metrics, and exits 0 on SIGTERM', async () => {
    const p = run(['--listen', '127.0.0.1:0', '--kubelet-url', node.kubeletUrl, '--kubelet-ca-file', node.caFile, '--kubelet-token-file', node.tokenFile, '--cgroup-root', node.cgroupRoot], {
      NODE_NAME: node.name,
      KRE_AGENT_TOKEN: 'scrape-token',
    });
    try {
      const ready = await eventually(() => {
        const line = p.out().split('\n').find((l) => l.includes('"msg":"ready"'));
        return line ? (JSON.parse(line) as { metrics: string; node: string; mode: string }) : undefined;
      }, 60_000, `the ready line; stderr: ${p.err()}`);
      assert.equal(ready.node, node.name);
      assert.equal(ready.mode, 'monitoring');
      const text = await eventually(async () => {
        const res = await fetch(ready.metrics, { headers: { Authorization: 'Bearer scrape-token' } });
        const t = await res.text();
        return sample(t, 'wca_tasks') === 1 && t;
      }, 30_000, 'the first iteration');
      assert.equal(sample(text, 'task_up', { task_name: 'team-a/web', app: 'web' }), 1);
      p.child.kill('SIGTERM');
      assert.equal(await p.exited, 0);
    } finally {
      p.child.kill('SIGKILL');
    }
  });
});

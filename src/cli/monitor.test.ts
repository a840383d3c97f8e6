import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { startDevCluster, type DevCluster, type DevClusterOptions } from '../devcluster/index.ts';

let cluster: DevCluster;

before(async () => {
  cluster = await startDevCluster({ nodes: 0 } as DevClusterOptions);
});

after(async () => {
  await cluster?.stop();
});

describe('kre monitor', () => {
  it('logs ready with its URL, serves, and exits 0 on SIGTERM', async () => {
    const bin = new URL('../../bin/kre.js', import.meta.url).pathname;
    const child = spawn(process.execPath, [bin, 'monitor', '--kubeconfig', cluster.kubeconfigPath, '--listen', '127.0.0.1:0'], {
      env: { ...process.env, KRE_MONITOR_TOKEN: 'cli-token', KRE_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let out = '';
    const ready = await new Promise<{ url: string }>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        for (const line of out.split('\n')) {
          if (line.includes('"msg":"ready"')) resolve(JSON.parse(line) as { url: string });
        }
      });
      void exited.then((code) => reject(new Error(`exited ${code} before ready: ${out}`)));
    });
    const res = await fetch(`${ready.url}/pods`, { headers: { Authorization: 'Bearer cli-token' } });
    assert.equal(res.status, 200);
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  });
});

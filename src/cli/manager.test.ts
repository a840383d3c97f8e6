import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { startDevCluster, type DevCluster } from '../devcluster/index.ts';
import { eventually } from '../devcluster/testing.ts';
import { RuntimeServiceClient } from '../gen/runtime/runtime.ts';
import { renderManagerManifests } from '../manager/deploy.ts';
import { operatorRules } from '../operator/deploy.ts';
import { installCustomResourceDefinitions } from '../operator/index.ts';
import { KubeClient } from '../kube/index.ts';

const bin = new URL('../../bin/kre.js', import.meta.url).pathname;
const run = promisify(execFile);
let cluster: DevCluster;

before(async () => {
  cluster = await startDevCluster({ nodes: 0 });
  const kube = new KubeClient(cluster.kubeConfig());
  await installCustomResourceDefinitions(kube);
  kube.close();
});

after(async () => {
  await cluster?.stop();
});

describe('kre manager', () => {
  it('logs ready with its URLs, serves gRPC with the token and /readyz, and exits 0 on SIGTERM', async () => {
    const child = spawn(process.execPath, [bin, 'manager', '--kubeconfig', cluster.kubeconfigPath, '--listen', '127.0.0.1:0'], {
      env: { ...process.env, KRE_MANAGER_TOKEN: 'cli-token', KRE_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let out = '';
    try {
      const ready = await new Promise<{ grpc: string; readyz: string; metrics: string }>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          for (const line of out.split('\n')) if (line.includes('"msg":"ready"')) resolve(JSON.parse(line));
        });
        void exited.then((code) => reject(new Error(`exited ${code} before ready: ${out}`)));
      });
      assert.match(ready.grpc, /^grpc:\/\/127\.0\.0\.1:\d+$/);
      await eventually(async () => (await fetch(ready.readyz)).status === 200, 30_000, '/readyz 200');
      const client = new RuntimeServiceClient(ready.grpc.replace('grpc://', ''), credentials.createInsecure());
      const md = new Metadata();
      md.set('authorization', 'Bearer cli-token');
      const err = await new Promise<ServiceError | null>((resolve) =>
        client.runtimeStatus({ runtime: { name: 'a', namespace: 'kre-none', mongo: undefined, minio: undefined } }, md, (e) => resolve(e)),
      );
      client.close();
      assert.equal(err?.code, 5, 'NOT_FOUND from a served, authenticated call');
      assert.match(await (await fetch(ready.metrics)).text(), /kre_manager_grpc_calls_total\{method="\/runtime.RuntimeService\/RuntimeStatus",code="NOT_FOUND"\} 1/);
      assert.doesNotMatch(out, /cli-token/, 'the token is never logged');
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0);
  });

  it('exits 2 naming the field when the configuration is bad or the token is missing', async () => {
    const bad = await run(process.execPath, [bin, 'manager', '--kubeconfig', cluster.kubeconfigPath, '--operator-mode', 'everywhere'], { env: { ...process.env, KRE_MANAGER_TOKEN: 't' } }).catch((e) => e);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /operator\.mode/);
    const env = { ...process.env };
    delete env.KRE_MANAGER_TOKEN;
    const noToken = await run(process.execPath, [bin, 'manager', '--kubeconfig', cluster.kubeconfigPath], { env }).catch((e) => e);
    assert.equal(noToken.code, 2);
    assert.match(noToken.stderr, /token: give --token-file PATH or set KRE_MANAGER_TOKEN/);
  });

  it('deploy/manager.yaml is what kre manager manifests renders', () => {
    const committed = readFileSync(new URL('../../deploy/manager.yaml', import.meta.url), 'utf8');
    assert.equal(committed, renderManagerManifests(operatorRules())['manager.yaml']);
    // Least privilege: the manager can grant no more than it holds.
    assert.doesNotMatch(committed, /- (bind|escalate|impersonate)$|"\*"/m);
  });
});

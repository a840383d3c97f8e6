/**
 * The devcluster through kubectl as a user types it: the machine's kubectl (a dispatcher that runs
 * the bundled kubectl matching the server's version) and the bundled 1.32 and 1.33 called directly.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConfigMap } from '../kube/index.ts';
import { startDevCluster, type DevCluster } from './index.ts';
import { managedFields } from './testing.ts';

let cluster: DevCluster;
const BUNDLED = '/usr/lib/google-cloud-sdk/bin';

function kubectl(args: string[], opts: { bin?: string; input?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(opts.bin ?? 'kubectl', args, { env: { ...process.env, KUBECONFIG: cluster.kubeconfigPath, HOME: tmpHome }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
  });
}

async function ok(args: string[], opts: { bin?: string; input?: string } = {}): Promise<string> {
  const r = await kubectl(args, opts);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

let tmpHome: string;

before(async () => {
  tmpHome = mkdtempSync(join(tmpdir(), 'kre-kubectl-home-'));
  cluster = await startDevCluster();
});
const tempDirs: string[] = [];

after(async () => {
  await cluster.stop();
  for (const dir of [tmpHome, ...tempDirs]) rmSync(dir, { recursive: true, force: true });
});

describe('kubectl', () => {
  test('create namespace, then get it as JSON', async () => {
    assert.match(await ok(['create', 'namespace', 'demo']), /namespace\/demo created/);
    const ns = JSON.parse(await ok(['get', 'namespace', 'demo', '-o', 'json']));
    assert.equal(ns.metadata.name, 'demo');
    assert.equal(ns.status.phase, 'Active');
    assert.match(await ok(['get', 'namespaces']), /demo\s+Active/);
  });

  for (const minor of ['1.32', '1.33']) {
    test(`kubectl ${minor} (protobuf bodies): create namespace, configmap, secret and deployment`, { skip: !existsSync(`${BUNDLED}/kubectl.${minor}`) }, async () => {
      const bin = `${BUNDLED}/kubectl.${minor}`;
      const ns = `pb-${minor.replace('.', '-')}`;
      await ok(['create', 'namespace', ns], { bin });
      await ok(['-n', ns, 'create', 'configmap', 'cfg', '--from-literal=a=1', '--from-literal=b=2'], { bin });
      await ok(['-n', ns, 'create', 'secret', 'generic', 'sec', '--from-literal=password=s3cret'], { bin });
      await ok(['-n', ns, 'create', 'deployment', 'web', '--image=nginx:1.27', '--replicas=2', '--port=80'], { bin });
      const cm = JSON.parse(await ok(['-n', ns, 'get', 'configmap', 'cfg', '-o', 'json'], { bin }));
      assert.deepEqual(cm.data, { a: '1', b: '2' });
      const sec = JSON.parse(await ok(['-n', ns, 'get', 'secret', 'sec', '-o', 'json'], { bin }));
      assert.equal(Buffer.from(sec.data.password, 'base64').toString(), 's3cret');
      const d = JSON.parse(await ok(['-n', ns, 'get', 'deployment', 'web', '-o', 'json'], { bin }));
      assert.equal(d.spec.replicas, 2);
      assert.equal(d.spec.template.spec.containers[0].image, 'nginx:1.27');
      assert.equal(d.spec.template.spec.containers[0].ports[0].containerPort, 80);
    });
  }

  test('apply -f of a multi-document manifest, twice', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kre-apply-'));
    tempDirs.push(dir);
    const file = join(dir, 'app.yaml');
    const manifest = (image: string) => `apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: shop
data:
  mode: fast
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: cart
  namespace: shop
  labels: {app: cart}
spec:
  replicas: 2
  selector: {matchLabels: {app: cart}}
  template:
    metadata: {labels: {app: cart}}
    spec:
      containers:
      - name: cart
        image: ${image}
        env: [{name: MODE, value: fast}]
`;
    writeFileSync(file, manifest('shop/cart:1'));
    const first = await ok(['apply', '-f', file]);
    assert.match(first, /namespace\/shop created/);
    assert.match(first, /configmap\/settings created/);
    assert.match(first, /deployment.apps\/cart created/);
    writeFileSync(file, manifest('shop/cart:2'));
    const second = await ok(['apply', '-f', file]);
    assert.match(second, /deployment.apps\/cart configured/);
    assert.match(second, /configmap\/settings unchanged/);
    const d = JSON.parse(await ok(['-n', 'shop', 'get', 'deploy', 'cart', '-o', 'json']));
    assert.equal(d.spec.template.spec.containers[0].image, 'shop/cart:2');
    assert.equal(d.metadata.generation, 2);
  });

  test('apply --server-side', async () => {
    const doc = `apiVersion: v1
kind: ConfigMap
metadata: {name: ssa, namespace: shop}
data: {a: "1"}
`;
    assert.match(await ok(['apply', '--server-side', '-f', '-'], { input: doc }), /configmap\/ssa serverside-applied/);
    const cm: ConfigMap = JSON.parse(await ok(['-n', 'shop', 'get', 'cm', 'ssa', '-o', 'json', '--show-managed-fields']));
    assert.ok(managedFields(cm).some((m) => m.manager === 'kubectl' && m.operation === 'Apply'));
  });

  test('label, get -w sees the change, delete, wait --for=delete', async () => {
    await ok(['-n', 'shop', 'create', 'configmap', 'watched', '--from-literal=x=1']);
    const watch = spawn('kubectl', ['-n', 'shop', 'get', 'configmap', 'watched', '-w', '-o', 'jsonpath={.metadata.labels.color}{"\\n"}'], {
      env: { ...process.env, KUBECONFIG: cluster.kubeconfigPath, HOME: tmpHome },
    });
    let out = '';
    watch.stdout.on('data', (c) => (out += c));
    await new Promise((r) => setTimeout(r, 1500));
    assert.match(await ok(['-n', 'shop', 'label', 'configmap', 'watched', 'color=blue']), /labeled/);
    const deadline = Date.now() + 10_000;
    while (!out.includes('blue') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    watch.kill();
    assert.match(out, /blue/, 'kubectl get -w printed the new label');

    const waiter = kubectl(['-n', 'shop', 'wait', '--for=delete', 'configmap/watched', '--timeout=20s']);
    await new Promise((r) => setTimeout(r, 500));
    await ok(['-n', 'shop', 'delete', 'configmap', 'watched']);
    const waited = await waiter;
    assert.equal(waited.code, 0, waited.stderr);
  });

  test('api-resources lists the served kinds', async () => {
    const out = await ok(['api-resources']);
    for (const line of [/^pods\s+po\s+v1\s+true\s+Pod$/m, /^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment$/m, /^leases\s+coordination.k8s.io\/v1\s+true\s+Lease$/m, /^namespaces\s+ns\s+v1\s+false\s+Namespace$/m]) {
      assert.match(out, line);
    }
  });

  test('deleting a namespace empties it, then removes it', async () => {
    await ok(['create', 'namespace', 'doomed']);
    await ok(['-n', 'doomed', 'create', 'configmap', 'a']);
    await ok(['delete', 'namespace', 'doomed', '--timeout=30s']);
    const r = await kubectl(['get', 'namespace', 'doomed']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /NotFound|not found/);
  });
});

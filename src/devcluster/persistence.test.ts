/**
 * What a state directory keeps: objects, the resourceVersion counter, the CA, the token and the
 * port survive restart(), a stop and start, and a KILL of `kre devcluster`; a log whose last line
 * was cut short still loads.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import * as k8s from '@kubernetes/client-node';
import { startDevCluster, type DevCluster } from './index.ts';
import { eventually } from './testing.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'kre-persistence-'));
const stateDir = join(work, 'state');
let cluster: DevCluster;

before(async () => {
  cluster = await startDevCluster({ stateDir });
});
after(async () => {
  await cluster?.stop();
  rmSync(work, { recursive: true, force: true });
});

function coreOf(kc: k8s.KubeConfig): k8s.CoreV1Api {
  return kc.makeApiClient(k8s.CoreV1Api);
}

/** A KubeConfig read from a file, the way a client in another process reads it. */
function kubeConfigFrom(path: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

async function currentRv(core: k8s.CoreV1Api): Promise<number> {
  return Number((await core.listNamespace()).metadata?.resourceVersion);
}

describe('in process, with a state dir', () => {
  test('restart() keeps objects, the resourceVersion, the credentials and the port', async () => {
    const core = coreOf(cluster.kubeConfig());
    await core.createNamespace({ body: { metadata: { name: 'kept' } } });
    const cm = await core.createNamespacedConfigMap({ namespace: 'kept', body: { metadata: { name: 'cm' }, data: { a: '1' } } });
    const secret = await core.createNamespacedSecret({ namespace: 'kept', body: { metadata: { name: 's' }, stringData: { p: 'x' } } });
    await core.deleteNamespacedSecret({ namespace: 'kept', name: 's' });
    const rvBefore = await currentRv(core);
    const kubeconfig = readFileSync(cluster.kubeconfigPath, 'utf8');
    const { url, token, caCert } = cluster;

    await cluster.restart();

    assert.equal(cluster.url, url);
    assert.equal(cluster.token, token);
    assert.equal(cluster.caCert, caCert);
    assert.equal(readFileSync(cluster.kubeconfigPath, 'utf8'), kubeconfig);
    const got = await core.readNamespacedConfigMap({ namespace: 'kept', name: 'cm' });
    assert.equal(got.metadata?.uid, cm.metadata?.uid);
    assert.equal(got.metadata?.resourceVersion, cm.metadata?.resourceVersion);
    assert.deepEqual(got.data, { a: '1' });
    await assert.rejects(core.readNamespacedSecret({ namespace: 'kept', name: 's' }), (err: { code?: number }) => err.code === 404);
    assert.ok(Number(secret.metadata?.resourceVersion) < rvBefore);
    assert.ok((await currentRv(core)) >= rvBefore, 'the resourceVersion does not go backwards');
    const next = await core.createNamespacedConfigMap({ namespace: 'kept', body: { metadata: { name: 'after-restart' }, data: {} } });
    assert.ok(Number(next.metadata?.resourceVersion) > rvBefore);
  });

  test('stop, then start with the same state dir: the same kubeconfig works unchanged', async () => {
    const kubeconfigPath = cluster.kubeconfigPath;
    const kubeconfig = readFileSync(kubeconfigPath, 'utf8');
    const core = coreOf(kubeConfigFrom(kubeconfigPath));
    await core.createNamespacedConfigMap({ namespace: 'kept', body: { metadata: { name: 'before-stop' }, data: { b: '2' } } });
    const rvBefore = await currentRv(core);
    const { url, token, caCert } = cluster;

    await cluster.stop();
    await assert.rejects(core.listNamespace());
    cluster = await startDevCluster({ stateDir });

    assert.equal(cluster.url, url, 'the same port');
    assert.equal(cluster.token, token);
    assert.equal(cluster.caCert, caCert);
    assert.equal(readFileSync(cluster.kubeconfigPath, 'utf8'), kubeconfig);
    // The client made from the kubeconfig before the stop goes on working.
    const cms = await core.listNamespacedConfigMap({ namespace: 'kept' });
    assert.deepEqual(cms.items.map((i) => i.metadata?.name).sort(), ['after-restart', 'before-stop', 'cm']);
    assert.ok((await currentRv(core)) >= rvBefore);
    const next = await core.createNamespacedConfigMap({ namespace: 'kept', body: { metadata: { name: 'after-start' }, data: {} } });
    assert.ok(Number(next.metadata?.resourceVersion) > rvBefore);
  });

  test('a log whose last line was cut short still loads', async () => {
    const core = coreOf(cluster.kubeConfig());
    await core.createNamespacedConfigMap({ namespace: 'kept', body: { metadata: { name: 'whole' }, data: { c: '3' } } });
    const rvBefore = await currentRv(core);
    await cluster.stop();
    // What a kill in the middle of a write leaves: half of a record, no newline.
    const half = JSON.stringify({ rv: rvBefore + 1, c: 'configmaps', k: 'kept/torn', o: { metadata: { name: 'torn', namespace: 'kept' }, data: { d: '4' } } });
    appendFileSync(join(stateDir, 'data', 'objects.log'), half.slice(0, Math.floor(half.length / 2)));
    cluster = await startDevCluster({ stateDir });

    const cms = await core.listNamespacedConfigMap({ namespace: 'kept' });
    const names = cms.items.map((i) => i.metadata?.name);
    assert.ok(names.includes('whole'));
    assert.ok(!names.includes('torn'));
    assert.ok((await currentRv(core)) >= rvBefore);
    const next = await core.createNamespacedConfigMap({ namespace: 'kept', body: { metadata: { name: 'after-torn' }, data: {} } });
    assert.ok(Number(next.metadata?.resourceVersion) > rvBefore);
    // The compacted log loads again.
    await cluster.restart();
    assert.equal((await core.readNamespacedConfigMap({ namespace: 'kept', name: 'after-torn' })).metadata?.uid, next.metadata?.uid);
  });

  test('a pod marked for deletion on a node that does not exist goes when its grace period ends, also after a restart', async () => {
    const core = coreOf(cluster.kubeConfig());
    await core.createNamespace({ body: { metadata: { name: 'grace' } } });
    // No kubelet answers for this node, so the server finishes the deletions itself.
    const pod = (name: string) => ({ metadata: { name }, spec: { nodeName: 'no-such-node', containers: [{ name: 'c', image: 'x' }] } });
    await core.createNamespacedPod({ namespace: 'grace', body: pod('graceful') });
    await core.createNamespacedPod({ namespace: 'grace', body: pod('graceful-restarted') });
    await core.createNamespacedPod({ namespace: 'grace', body: pod('stays') });
    await core.deleteNamespacedPod({ namespace: 'grace', name: 'graceful', gracePeriodSeconds: 1 });
    await core.deleteNamespacedPod({ namespace: 'grace', name: 'graceful-restarted', gracePeriodSeconds: 2 });
    const marked = await core.readNamespacedPod({ namespace: 'grace', name: 'graceful-restarted' });
    assert.ok(marked.metadata?.deletionTimestamp, 'marked, not yet removed');
    // The restart loads the marked pod from the log: its deletion is finished all the same.
    await cluster.restart();
    const gone = async (name: string) => {
      try {
        await core.readNamespacedPod({ namespace: 'grace', name });
        return false;
      } catch (err) {
        if ((err as { code?: number }).code === 404) return true;
        throw err;
      }
    };
    await eventually(() => gone('graceful'), 10_000, 'the pod deleted before the restart to be removed');
    await eventually(() => gone('graceful-restarted'), 10_000, 'the pod marked before the restart to be removed');
    assert.equal((await core.readNamespacedPod({ namespace: 'grace', name: 'stays' })).metadata?.deletionTimestamp, undefined);
  });
});

interface Running {
  child: ChildProcess;
  ready: { url: string; kubeconfig: string };
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `kre devcluster` and waits for its ready line. */
async function startProcess(args: string[], home: string): Promise<Running> {
  const child = spawn(process.execPath, [join(ROOT, 'bin/kre.js'), 'devcluster', ...args], {
    cwd: ROOT,
    env: { ...process.env, HOME: home, KRE_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const lines = createInterface({ input: child.stdout! });
  const ready = await new Promise<{ url: string; kubeconfig: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kre devcluster not ready after 60 s; stderr: ${stderr}`)), 60_000);
    lines.on('line', (line) => {
      if (!line.includes('"msg":"ready"')) return;
      clearTimeout(timer);
      resolve(JSON.parse(line));
    });
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`kre devcluster exited with ${code} before ready; stderr: ${stderr}`));
    });
  });
  return { child, ready, exited };
}

describe('kre devcluster, killed', () => {
  test('a KILL loses nothing: same port, same objects, the resourceVersion goes on', async () => {
    const dir = join(work, 'killed');
    const home = join(work, 'home');
    const first = await startProcess(['--state-dir', dir, '--listen', '127.0.0.1:0'], home);
    const kubeconfig = readFileSync(first.ready.kubeconfig, 'utf8');
    let core = coreOf(kubeConfigFrom(first.ready.kubeconfig));
    await core.createNamespace({ body: { metadata: { name: 'survivors' } } });
    for (let i = 0; i < 20; i++) await core.createNamespacedConfigMap({ namespace: 'survivors', body: { metadata: { name: `cm-${i}` }, data: { i: String(i) } } });
    await core.patchNamespacedConfigMap({ namespace: 'survivors', name: 'cm-3', body: [{ op: 'replace', path: '/data/i', value: 'three' }] });
    await core.deleteNamespacedConfigMap({ namespace: 'survivors', name: 'cm-7' });
    const last = await core.createNamespacedSecret({ namespace: 'survivors', body: { metadata: { name: 'last' }, stringData: { k: 'v' } } });
    const rvBefore = await currentRv(core);
    assert.ok(rvBefore >= Number(last.metadata?.resourceVersion));

    first.child.kill('SIGKILL');
    assert.equal((await first.exited).signal, 'SIGKILL');

    const second = await startProcess(['--state-dir', dir], home);
    try {
      assert.equal(second.ready.url, first.ready.url, 'the same port without --listen');
      assert.equal(readFileSync(second.ready.kubeconfig, 'utf8'), kubeconfig);
      core = coreOf(kubeConfigFrom(second.ready.kubeconfig));
      const cms = await core.listNamespacedConfigMap({ namespace: 'survivors' });
      assert.equal(cms.items.length, 19);
      assert.ok(!cms.items.some((i) => i.metadata?.name === 'cm-7'));
      assert.equal(cms.items.find((i) => i.metadata?.name === 'cm-3')?.data?.i, 'three');
      const secret = await core.readNamespacedSecret({ namespace: 'survivors', name: 'last' });
      assert.equal(secret.metadata?.uid, last.metadata?.uid);
      assert.equal(secret.metadata?.resourceVersion, last.metadata?.resourceVersion);
      assert.ok(Number(cms.metadata?.resourceVersion) >= rvBefore, `the resourceVersion went backwards: ${cms.metadata?.resourceVersion} < ${rvBefore}`);
      const next = await core.createNamespacedConfigMap({ namespace: 'survivors', body: { metadata: { name: 'after-kill' }, data: {} } });
      assert.ok(Number(next.metadata?.resourceVersion) > rvBefore);
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  });
});

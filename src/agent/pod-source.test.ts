import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { eventually } from '../devcluster/testing.ts';
import { createLogger } from '../kube/logger.ts';
import { ApiServerPodSource, KubeletPodSource, type KubeletSourceOptions } from './pod-source.ts';
import { createPod, ensureNamespace, startSimulatedNode, waitRunning, type SimulatedNode } from './testing.ts';

let node: SimulatedNode;

before(async () => {
  node = await startSimulatedNode();
  await ensureNamespace(node.client, 'team-a');
  await createPod(node.client, { namespace: 'team-a', name: 'web' });
  await waitRunning(node, [{ namespace: 'team-a', name: 'web' }]);
});

after(async () => {
  await node?.stop();
});

const base = { timeoutMs: 5000, maxResponseBytes: 1 << 24, staleAfterMs: 60_000 };

async function answer(o: Partial<KubeletSourceOptions>) {
  const source = new KubeletPodSource({ ...base, url: node.kubeletUrl, ...o });
  try {
    return await source.pods();
  } finally {
    await source.stop();
  }
}

describe("kubelet /pods over HTTPS", () => {
  test("the kubelet's CA and the token: the node's pods", async () => {
    const a = await answer({ caFile: node.caFile, tokenFile: node.tokenFile });
    assert.equal(a.error, undefined);
    assert.deepEqual(a.pods.map((p) => `${p.metadata.namespace}/${p.metadata.name}`), ['team-a/web']);
    assert.ok(a.lastSuccessMs! > 0);
  });

  test('explicitly insecure: the pods, without checking the certificate', async () => {
    const a = await answer({ insecure: true, tokenFile: node.tokenFile });
    assert.equal(a.pods.length, 1);
  });

  test('another CA: a TLS error, no pods', async () => {
    const wrongCa = join(node.dir, 'cluster-ca.crt');
    writeFileSync(wrongCa, node.cluster.caCert, { mode: 0o600 });
    const a = await answer({ caFile: wrongCa, tokenFile: node.tokenFile });
    assert.equal(a.error?.reason, 'tls', a.error?.message);
    assert.deepEqual(a.pods, []);
  });

  test('no token: unauthorized', async () => {
    const a = await answer({ caFile: node.caFile });
    assert.equal(a.error?.reason, 'unauthorized');
    assert.match(a.error!.message, /401/);
  });
});

describe('broken kubelet answers are counted, never thrown', () => {
  let server: http.Server;
  let reply: (res: http.ServerResponse) => void = (res) => res.end('{}');
  let url: string;
  before(async () => {
    server = http.createServer((_req, res) => reply(res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const good = JSON.stringify({ kind: 'PodList', apiVersion: 'v1', items: [{ metadata: { name: 'a', namespace: 'n', uid: 'u' } }] });
  const cases: Array<{ name: string; reply: (res: http.ServerResponse) => void; reason?: string; pods?: number }> = [
    { name: 'a PodList', reply: (res) => res.end(good), pods: 1 },
    { name: 'items null', reply: (res) => res.end('{"kind":"PodList","items":null}'), pods: 0 },
    { name: 'not JSON', reply: (res) => res.end('<html>oops'), reason: 'malformed' },
    { name: 'a Status instead of a PodList', reply: (res) => res.end('{"kind":"Status","status":"Failure"}'), reason: 'malformed' },
    { name: 'items not a list', reply: (res) => res.end('{"items":5}'), reason: 'malformed' },
    { name: 'a JSON array', reply: (res) => res.end('[]'), reason: 'malformed' },
    { name: 'a 500', reply: (res) => res.writeHead(500).end('boom'), reason: 'status' },
    { name: 'a 403', reply: (res) => res.writeHead(403).end('forbidden'), reason: 'unauthorized' },
    { name: 'larger than allowed', reply: (res) => res.end(`{"items":[${'{},'.repeat(2000)}{}]}`), reason: 'too_large' },
    { name: 'cut off midway', reply: (res) => {
        res.writeHead(200, { 'Content-Length': '100' }).write('{"items":[', () => res.socket?.destroy());
      },
      reason: 'connection',
    },
    { name: 'no answer in time', reply: () => undefined, reason: 'timeout' },
  ];
  for (const k of cases) {
    test(k.name, async () => {
      reply = k.reply;
      const source = new KubeletPodSource({ url, timeoutMs: 300, maxResponseBytes: 4096, staleAfterMs: 0 });
      const a = await source.pods();
      await source.stop();
      assert.equal(a.error?.reason, k.reason, a.error?.message);
      assert.equal(a.pods.length, k.pods ?? 0);
    });
  }

  test('the last good list stands in for staleAfter, then goes', async () => {
    let clock = 1_000_000;
    const source = new KubeletPodSource({ url, timeoutMs: 300, maxResponseBytes: 4096, staleAfterMs: 30_000, now: () => clock });
    reply = (res) => res.end(good);
    assert.equal((await source.pods()).pods.length, 1);
    reply = (res) => res.writeHead(502).end();
    clock += 30_000;
    const stale = await source.pods();
    assert.deepEqual([stale.pods.length, stale.stale, stale.error?.reason, stale.lastSuccessMs], [1, true, 'status', 1_000_000]);
    clock += 1;
    const gone = await source.pods();
    assert.deepEqual([gone.pods.length, gone.stale, gone.lastSuccessMs], [0, false, 1_000_000]);
    await source.stop();
  });
});

describe('API server source', () => {
  test("the node's pods through a watch: a new pod appears without polling, other nodes' pods never", async () => {
    const source = new ApiServerPodSource(node.client, node.name, createLogger('agent', 'silent'));
    try {
      await source.waitForSync();
      assert.deepEqual((await source.pods()).pods.map((p) => p.metadata.name), ['web']);
      await createPod(node.client, { namespace: 'team-a', name: 'elsewhere', nodeName: 'another-node' });
      await createPod(node.client, { namespace: 'team-a', name: 'api' });
      await eventually(async () => (await source.pods()).pods.some((p) => p.metadata.name === 'api' && p.spec?.nodeName === node.name), 30_000, 'the new pod in the watch');
      const names = (await source.pods()).pods.map((p) => p.metadata.name).sort();
      assert.deepEqual(names, ['api', 'web']);
    } finally {
      await source.stop();
    }
  });
});

/**
 * The API server's edges a hostile or careless client reaches: the request metric's labels stay
 * bounded whatever paths are asked for, forged continue tokens and versions the server has not
 * reached are answered as kube-apiserver answers them, injected faults never reach the health and
 * admin endpoints, and the bearer scheme is matched in any case.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDevCluster, type DevCluster } from '../index.ts';
import { rawRequest } from '../testing.ts';

let cluster: DevCluster;

before(async () => {
  cluster = await startDevCluster({ nodes: 0 });
  assert.equal((await rawRequest(cluster, 'POST', '/api/v1/namespaces', { metadata: { name: 'edges' } })).status, 201);
  for (let i = 0; i < 3; i++) {
    assert.equal((await rawRequest(cluster, 'POST', '/api/v1/namespaces/edges/configmaps', { metadata: { name: `cm-${i}` } })).status, 201);
  }
});
after(async () => {
  await cluster.stop();
});
afterEach(() => cluster.faults.clear());

async function requestSeries(): Promise<string[]> {
  return (await cluster.metrics()).split('\n').filter((l) => l.startsWith('devcluster_requests_total{'));
}

/** A continue token with the given fields, encoded as the server encodes its own. */
function token(fields: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(fields)).toString('base64url');
}

async function currentRv(): Promise<number> {
  return Number((await rawRequest(cluster, 'GET', '/api/v1/namespaces/edges/configmaps')).json<any>().metadata.resourceVersion);
}

describe('the request metric', () => {
  test('2,000 requests to unknown paths add a bounded number of series', async () => {
    const before = (await requestSeries()).length;
    for (let i = 0; i < 2000; i++) {
      const path = [`/api/v1/nothings-${i}`, `/apis/group-${i}.example.com/v1/things`, `/nowhere-${i}/x`, `/api/v1/namespaces/edges/configmaps/cm-0/sub-${i}`][i % 4];
      assert.equal((await rawRequest(cluster, 'GET', path)).status, 404, path);
    }
    const series = await requestSeries();
    assert.ok(series.length - before <= 4, `${series.length - before} new series:\n${series.slice(0, 20).join('\n')}`);
    assert.ok(!series.some((l) => /nothings|group-|nowhere|sub-/.test(l)), series.join('\n'));
  });

  test('known resources are labelled by resource and verb', async () => {
    await rawRequest(cluster, 'GET', '/api/v1/namespaces/edges/configmaps');
    await rawRequest(cluster, 'GET', '/api/v1/namespaces/edges/configmaps/cm-1');
    const series = await requestSeries();
    assert.ok(series.some((l) => l.startsWith('devcluster_requests_total{verb="list",resource="configmaps",code="200"}')), series.join('\n'));
    assert.ok(series.some((l) => l.startsWith('devcluster_requests_total{verb="get",resource="configmaps",code="200"}')), series.join('\n'));
  });
});

describe('forged positions', () => {
  test('a forged continue token is a 400, as kube-apiserver answers it', async () => {
    const cases: Array<[string, RegExp]> = [
      ['garbage', /^invalid continue token: continue key is not valid/],
      [token({ v: 'meta.k8s.io/v1', rv: 1e308, start: 'edges/x' }), /^invalid continue token: continue key is not valid/],
      [token({ v: 'meta.k8s.io/v1', rv: 1.5, start: 'edges/x' }), /^invalid continue token: continue key is not valid/],
      [token({ v: 'meta.k8s.io/v1', rv: 0, start: 'edges/x' }), /incorrect encoded start resourceVersion/],
      [token({ v: 'meta.k8s.io/v1', rv: 2, start: '../x' }), /^invalid continue token: continue key is not valid: \.\.\/x$/],
      [token({ v: 'other/v9', rv: 2, start: 'edges/x' }), /^invalid continue token: continue key is not valid/],
    ];
    for (const [t, message] of cases) {
      const res = await rawRequest(cluster, 'GET', `/api/v1/namespaces/edges/configmaps?limit=1&continue=${t}`);
      assert.equal(res.status, 400, `${Buffer.from(t, 'base64url').toString()}: ${res.text}`);
      assert.equal(res.json<any>().reason, 'BadRequest');
      assert.match(res.json<any>().message, message);
    }
  });

  test('a list from a version the server has not reached is a 504 Too large resource version', async () => {
    const rv = await currentRv();
    const paths = [
      `?resourceVersion=99999999999`,
      `?resourceVersion=99999999999&resourceVersionMatch=NotOlderThan`,
      `?resourceVersion=99999999999&resourceVersionMatch=Exact`,
      `?limit=1&continue=${token({ v: 'meta.k8s.io/v1', rv: 99999999999, start: 'edges/x' })}`,
    ];
    for (const p of paths) {
      const res = await rawRequest(cluster, 'GET', `/api/v1/namespaces/edges/configmaps${p}`);
      assert.equal(res.status, 504, `${p}: ${res.text}`);
      const status = res.json<any>();
      assert.equal(status.reason, 'Timeout');
      assert.equal(status.message, `Timeout: Too large resource version: 99999999999, current: ${rv}`);
      assert.deepEqual(status.details.causes, [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }]);
      assert.equal(status.details.retryAfterSeconds, 1);
    }
  });
});

describe('faults spare the health and admin endpoints', () => {
  test('errors at a fraction of 1 never reach /readyz, /livez, /healthz, /metrics or /kre-admin', async () => {
    cluster.faults.set({ errors: { fraction: 1, code: 500 } });
    assert.equal((await rawRequest(cluster, 'GET', '/api/v1/namespaces/edges/configmaps')).status, 500, 'the fault is on');
    for (const path of ['/readyz', '/livez', '/healthz', '/metrics', '/kre-admin/faults']) {
      assert.equal((await rawRequest(cluster, 'GET', path)).status, 200, path);
    }
    assert.equal((await rawRequest(cluster, 'DELETE', '/kre-admin/faults')).status, 200);
    assert.equal((await rawRequest(cluster, 'GET', '/api/v1/namespaces/edges/configmaps')).status, 200);
  });

  test('the longest latency never delays /readyz, /livez or /kre-admin: a test can always clear it', async () => {
    // One minute per request: anything that answers within the 20 s below was not delayed.
    cluster.faults.set({ latencyMs: 60_000 });
    const within = <T>(p: Promise<T>, what: string) =>
      Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} was delayed by the latency fault`)), 20_000).unref())]);
    for (const path of ['/readyz', '/livez', '/healthz', '/kre-admin/faults']) {
      assert.equal((await within(rawRequest(cluster, 'GET', path), path)).status, 200, path);
    }
    assert.equal((await within(rawRequest(cluster, 'DELETE', '/kre-admin/faults'), 'DELETE /kre-admin/faults')).status, 200);
    assert.equal((await within(rawRequest(cluster, 'GET', '/api/v1/namespaces/edges/configmaps'), 'a list after clearing')).status, 200);
  });
});

describe('authentication', () => {
  test('the bearer scheme is matched in any case, as real servers do', async () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) {
      const res = await rawRequest(cluster, 'GET', '/api/v1/namespaces', undefined, { Authorization: `${scheme} ${cluster.token}` });
      assert.equal(res.status, 200, scheme);
    }
    for (const auth of [`Basic ${cluster.token}`, 'bearer ', `bearer${cluster.token}`, `bearer ${cluster.token}x`]) {
      assert.equal((await rawRequest(cluster, 'GET', '/api/v1/namespaces', undefined, { Authorization: auth })).status, 401, auth);
    }
  });
});

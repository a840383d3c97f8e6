import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { exportCa, generateCa, generateServing } from '../../devcluster/pki.ts';
import { PrometheusClient, PrometheusError, type PrometheusErrorReason } from './prometheus-client.ts';
import { renderQuery } from './promql.ts';
import { freePort, startTestPrometheus, type TestPrometheus } from './prometheus-testing.ts';

const base = { timeoutSeconds: 10, maxResponseBytes: 16 * 1024 * 1024, insecureSkipVerify: false };

async function rejects(p: Promise<unknown>, reason: PrometheusErrorReason, message: RegExp): Promise<void> {
  await assert.rejects(p, (e) => {
    assert.ok(e instanceof PrometheusError, String(e));
    assert.equal(e.reason, reason, e.message);
    assert.match(e.message, message);
    return true;
  });
}

/**
 * A front that asks for credentials before passing requests to Prometheus, as kube-rbac-proxy
 * does, and serves it under `/prom/` (what it gets elsewhere is a 404).
 */
function authProxy(target: string, accept: (authorization: string | undefined) => boolean): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (!req.url?.startsWith('/prom/')) {
      res.writeHead(404);
      res.end();
      return;
    }
    if (!accept(req.headers.authorization)) {
      res.writeHead(401, { 'Content-Type': 'text/plain' });
      res.end('Unauthorized');
      return;
    }
    const up = http.request(new URL(req.url.slice('/prom'.length), target), { method: req.method, headers: { 'content-type': req.headers['content-type'] ?? '' } }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as { port: number }).port}/prom`,
        close: () => new Promise<void>((r) => server.close(() => r())),
      }),
    ),
  );
}

describe('Prometheus client against a real Prometheus', () => {
  let prom: TestPrometheus;
  let tlsProm: TestPrometheus;
  let caPem: string;
  const dir = mkdtempSync(join(tmpdir(), 'kre-prom-client-'));
  const closers: Array<() => unknown> = [];

  before(async () => {
    const ca = await generateCa('test-prometheus-ca');
    caPem = (await exportCa(ca)).cert;
    [prom, tlsProm] = await Promise.all([startTestPrometheus(), startTestPrometheus({ tls: await generateServing(ca, ['127.0.0.1', 'localhost'], 'prometheus') })]);
  });

  after(async () => {
    for (const c of closers) await c();
    await Promise.all([prom?.stop(), tlsProm?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  const client = (o: Partial<ConstructorParameters<typeof PrometheusClient>[0]> = {}) => {
    const c = new PrometheusClient({ ...base, url: prom.url, ...o });
    closers.push(() => c.close());
    return c;
  };

  test('range and instant queries come back as numbers at the asked instants', async () => {
    const c = client();
    const series = await c.queryRange('vector(42)', 1000, 1060, 15);
    assert.equal(series.length, 1);
    assert.deepEqual(series[0].values, [[1000, 42], [1015, 42], [1030, 42], [1045, 42], [1060, 42]]);
    const v = await c.query('vector(7) * 3', 1000);
    assert.deepEqual(v, [{ metric: {}, value: [1000, 21] }]);
    assert.deepEqual(await c.query('scalar(vector(2))', 1000), [{ metric: {}, value: [1000, 2] }]);
  });

  test('a name rendered into a template cannot change the query', async () => {
    const c = client();
    const hostile = 'x"} or vector(1) or {__name__=~".+';
    const q = renderQuery('sum(kube_pod_labels{namespace={{namespace}}, label_version_name={{version}}}) or vector(0)', { version: hostile, namespace: 'ns\\"', window: '5m' });
    // Prometheus parses it, and the name is matched as a value: nothing but the `or vector(0)`.
    assert.deepEqual(await c.query(q, 1000), [{ metric: {}, value: [1000, 0] }]);
  });

  test('a bad query, an unreachable Prometheus and a silent one are told apart', async () => {
    await rejects(client().queryRange('sum(', 1000, 1060, 15), 'bad-query', /rejected the query: .*parse error/);
    const closed = await freePort();
    await rejects(client({ url: `http://127.0.0.1:${closed}` }).query('vector(1)'), 'unreachable', new RegExp(`Prometheus at http://127.0.0.1:${closed} is unreachable: ECONNREFUSED`));
    // Accepts connections, never answers.
    const sockets = new Set<Socket>();
    const silent: Server = createServer((s) => sockets.add(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    closers.push(() => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => silent.close(() => r()));
    });
    const port = (silent.address() as { port: number }).port;
    await rejects(client({ url: `http://127.0.0.1:${port}`, timeoutSeconds: 0.5 }).query('vector(1)'), 'timeout', /did not answer within 0.5s/);
  });

  test('an answer larger than maxResponseBytes is cut off', async () => {
    await rejects(client({ maxResponseBytes: 1000 }).queryRange('vector(1)', 1000, 100_000, 60), 'bad-response', /more than 1000 bytes/);
  });

  test('HTTPS: with the CA file, without verification, and a certificate it cannot trust', async () => {
    const caFile = join(dir, 'ca.crt');
    writeFileSync(caFile, caPem);
    const withCa = client({ url: tlsProm.url, caFile });
    assert.deepEqual(await withCa.query('vector(1)', 1000), [{ metric: {}, value: [1000, 1] }]);
    const insecure = client({ url: tlsProm.url, insecureSkipVerify: true });
    assert.equal((await insecure.query('vector(1)', 1000)).length, 1);
    await rejects(client({ url: tlsProm.url }).query('vector(1)'), 'unreachable', /is unreachable: .*(certificate|UNABLE_TO_VERIFY|SELF_SIGNED)/i);
  });

  test('bearer token and basic auth from files, behind a path prefix; refused credentials are told', async () => {
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'secret-token\n', { mode: 0o600 });
    const passwordFile = join(dir, 'password');
    writeFileSync(passwordFile, 'pa55', { mode: 0o600 });
    const bearer = await authProxy(prom.url, (h) => h === 'Bearer secret-token');
    closers.push(bearer.close);
    const basic = await authProxy(prom.url, (h) => h === `Basic ${Buffer.from('reader:pa55').toString('base64')}`);
    closers.push(basic.close);
    assert.equal((await client({ url: bearer.url, bearerTokenFile: tokenFile }).query('vector(1)', 1000)).length, 1);
    assert.equal((await client({ url: basic.url, username: 'reader', passwordFile }).query('vector(1)', 1000)).length, 1);
    await rejects(client({ url: bearer.url }).query('vector(1)'), 'unauthorized', /refused the credentials \(HTTP 401\)/);
    await rejects(client({ url: bearer.url, bearerTokenFile: join(dir, 'missing') }).query('vector(1)'), 'unauthorized', /cannot read the Prometheus bearer token file .*missing: ENOENT/);
  });
});

/**
 * The dashboard's server over HTTP, without a browser: logging in, the cookie, what protects the
 * actions, bounded sessions and event streams, how an unreachable monitor or manager shows, the
 * configuration's errors, and `kre dashboard` as a command.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort } from '../../test/support/free-port.ts';
import { eventually } from '../devcluster/testing.ts';
import { createLogger } from '../kube/index.ts';
import { loadBundle } from './bundle.ts';
import { loadDashboardConfig, parseDashboardConfig } from './config.ts';
import { EventStreams } from './events.ts';
import { startDashboard, type Dashboard } from './server.ts';
import { CSRF_HEADER } from './view.ts';

const TOKEN = 'server-test-login-token';

describe('the dashboard server, with its monitor and manager unreachable', () => {
  let dashboard: Dashboard;
  let origin: string;
  let monitorPort: number;
  let managerPort: number;

  before(async () => {
    monitorPort = await freePort();
    managerPort = await freePort();
    dashboard = await startDashboard({
      config: parseDashboardConfig({ listen: '127.0.0.1:0', maxSessions: 2, monitor: { url: `http://127.0.0.1:${monitorPort}`, pollIntervalMs: 200 }, manager: { address: `127.0.0.1:${managerPort}`, actionTimeoutSeconds: 5 } }),
      tokens: { login: TOKEN, monitor: 'm', manager: 'g' },
      bundle: await loadBundle(),
      logger: createLogger('dashboard', 'silent'),
    });
    origin = dashboard.url;
  });

  after(async () => {
    await dashboard?.stop();
  });

  const login = async (token: string) =>
    fetch(`${origin}/api/login`, { method: 'POST', headers: { 'Content-Type': 'application/json', Origin: origin }, body: JSON.stringify({ token }) });
  const cookieOf = (res: Response) => res.headers.get('set-cookie')!.split(';')[0];
  const action = (cookie: string, headers: Record<string, string>, body: unknown) =>
    fetch(`${origin}/api/action`, { method: 'POST', headers: { 'Content-Type': 'application/json', Cookie: cookie, ...headers }, body: JSON.stringify(body) });

  test('the page and its bundle are served from the package, compressed when asked', async () => {
    const page = await fetch(origin);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<script src="\/app.js"/);
    assert.match(page.headers.get('content-security-policy')!, /default-src 'self'/);
    const js = await fetch(`${origin}/app.js`, { headers: { 'Accept-Encoding': 'gzip' } });
    assert.equal(js.headers.get('content-encoding'), 'gzip');
    assert.ok((await js.text()).length > 10_000, 'preact and uPlot are in the bundle');
    assert.equal((await fetch(`${origin}/livez`)).status, 200);
    assert.match(await (await fetch(`${origin}/metrics`)).text(), /kre_dashboard_event_streams 0/);
  });

  test('a wrong token is refused; the right one gets an HttpOnly SameSite=Strict cookie and a CSRF token', async () => {
    const wrong = await login('nope');
    assert.equal(wrong.status, 401);
    assert.deepEqual(await wrong.json(), { error: 'wrong token' });
    assert.equal(wrong.headers.get('set-cookie'), null);
    const ok = await login(TOKEN);
    assert.equal(ok.status, 200);
    const cookie = ok.headers.get('set-cookie')!;
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    const { csrf } = (await ok.json()) as { csrf: string };
    const session = await fetch(`${origin}/api/session`, { headers: { Cookie: cookieOf(ok) } });
    assert.deepEqual(await session.json(), { csrf });
    assert.equal((await fetch(`${origin}/api/session`)).status, 401);
  });

  test('actions need the same origin, the session and its CSRF header', async () => {
    const res = await login(TOKEN);
    const cookie = cookieOf(res);
    const { csrf } = (await res.json()) as { csrf: string };
    const body = { action: 'publish', namespace: 'demo', version: 'v1' };
    assert.equal((await action(cookie, { [CSRF_HEADER]: csrf }, body)).status, 403, 'no Origin');
    assert.equal((await action(cookie, { Origin: 'http://evil.example', [CSRF_HEADER]: csrf }, body)).status, 403, 'another origin');
    const noHeader = await action(cookie, { Origin: origin }, body);
    assert.equal(noHeader.status, 403);
    assert.match(((await noHeader.json()) as { error: string }).error, /x-kre-csrf/);
    assert.equal((await action('kre_dashboard=forged', { Origin: origin, [CSRF_HEADER]: csrf }, body)).status, 401);
    const bad = await action(cookie, { Origin: origin, [CSRF_HEADER]: csrf }, { ...body, action: 'delete' });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: string }).error, /action: expected one of start, stop, publish, unpublish/);
    // Everything right: the manager is down, and the answer says so with gRPC's reason.
    const down = await action(cookie, { Origin: origin, [CSRF_HEADER]: csrf }, body);
    assert.equal(down.status, 502);
    assert.match(((await down.json()) as { error: string }).error, /ECONNREFUSED|No connection established|connect/i);
  });

  test('sessions are bounded: past maxSessions the oldest is dropped', async () => {
    const first = cookieOf(await login(TOKEN));
    await login(TOKEN);
    await login(TOKEN);
    assert.equal((await fetch(`${origin}/api/session`, { headers: { Cookie: first } })).status, 401);
  });

  test('an unreachable monitor shows on the page as an error naming it, and the server is not ready', async () => {
    const cookie = cookieOf(await login(TOKEN));
    const res = await fetch(`${origin}/api/events`, { headers: { Cookie: cookie } });
    const reader = res.body!.getReader();
    const { value } = await reader.read();
    let text = Buffer.from(value!).toString();
    while (!text.includes('event: state')) text += Buffer.from((await reader.read()).value!).toString();
    await reader.cancel();
    await eventually(() => dashboard.state.current().error.includes(`127.0.0.1:${monitorPort}`), 10_000, 'the monitor error');
    assert.equal((await fetch(`${origin}/readyz`)).status, 503);
    await eventually(() => dashboard.streams() === 0, 10_000, 'the stream closed');
  });
});

describe('event streams', () => {
  let server: Server;
  let streams: EventStreams;
  let slow: number[];

  before(async () => {
    slow = [];
    streams = new EventStreams({ maxBufferBytes: 64 * 1024, onSlowClient: (w) => slow.push(w) });
    server = createServer((req, res) => {
      const send = streams.start(req, res, () => {});
      // Far more than a socket's buffers hold: a client that does not read falls behind.
      const big = 'x'.repeat(256 * 1024);
      let i = 0;
      const timer = setInterval(() => {
        send('state', { i: i++, big });
        if (res.destroyed || i > 400) clearInterval(timer);
      }, 2);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });

  after(async () => {
    streams.closeAll();
    await new Promise((resolve) => server.close(resolve));
  });

  test('a client that does not read is cut off once its backlog passes the limit', async () => {
    const port = (server.address() as AddressInfo).port;
    const req = request({ host: '127.0.0.1', port, path: '/' }, (res) => res.pause()); // never reads
    req.on('error', () => {});
    req.end();
    await eventually(() => slow.length === 1, 30_000, 'the slow client cut off');
    assert.ok(slow[0] > 64 * 1024, `${slow[0]} bytes were waiting`);
    req.destroy();
    await eventually(() => streams.size() === 0, 10_000, 'the stream forgotten');
  });
});

describe('configuration and the command', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'kre-dashboard-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('errors name the field', () => {
    assert.throws(() => parseDashboardConfig({ listen: 'nope' }), /listen: expected HOST:PORT/);
    assert.throws(() => parseDashboardConfig({ monitor: { url: 'ftp://x' } }), /monitor\.url: expected http/);
    assert.throws(() => parseDashboardConfig({ colour: 'blue' }), /unknown field\(s\) colour/);
    assert.throws(() => loadDashboardConfig({ flags: {}, env: {} }), /tokenFile: give a token file or set KRE_DASHBOARD_TOKEN/);
    assert.throws(() => loadDashboardConfig({ flags: { tokenFile: join(dir, 'missing') }, env: {} }), /tokenFile: cannot read .*missing/);
    const file = join(dir, 'login');
    writeFileSync(file, 'from-file\n', { mode: 0o600 });
    const { config, tokens } = loadDashboardConfig({ flags: { tokenFile: file, monitorUrl: 'http://m:1' }, env: { KRE_MONITOR_TOKEN: 'mt', KRE_MANAGER_TOKEN: 'gt', KRE_DASHBOARD_MANAGER_ADDRESS: 'g:2' } });
    assert.deepEqual(tokens, { login: 'from-file', monitor: 'mt', manager: 'gt' });
    assert.equal(config.monitor.url, 'http://m:1');
    assert.equal(config.manager.address, 'g:2');
  });

  test('kre dashboard: bad configuration exits 2; it logs ready with its URL and exits 0 on SIGTERM', async () => {
    const bin = new URL('../../bin/kre.js', import.meta.url).pathname;
    const bad = spawn(process.execPath, [bin, 'dashboard', '--listen', 'nowhere'], { env: { ...process.env, KRE_DASHBOARD_TOKEN: 't', KRE_MONITOR_TOKEN: 'm', KRE_MANAGER_TOKEN: 'g' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    bad.stderr.on('data', (d: Buffer) => (err += d.toString()));
    assert.equal(await new Promise((resolve) => bad.on('exit', resolve)), 2);
    assert.match(err, /listen: expected HOST:PORT/);

    const child = spawn(process.execPath, [bin, 'dashboard', '--listen', '127.0.0.1:0', '--monitor-url', `http://127.0.0.1:${await freePort()}`], {
      env: { ...process.env, KRE_DASHBOARD_TOKEN: 't', KRE_MONITOR_TOKEN: 'm', KRE_MANAGER_TOKEN: 'g', KRE_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const line = await eventually(() => out.split('\n').find((l) => l.includes('"msg":"ready"')), 120_000, 'the ready line');
    const ready = JSON.parse(line) as { url: string };
    assert.equal((await fetch(`${ready.url}/livez`)).status, 200);
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  });
});

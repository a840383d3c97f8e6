/**
 * `kre dashboard`'s server: one HTTP port for the page, its event streams, its actions, and
 * `/livez`, `/readyz`, `/metrics`.
 *
 * - `GET /`, `/app.js`, `/app.css`: the page (no secrets in it; it asks `/api/session` who is there).
 * - `POST /api/login` `{token}`: a session cookie (sessions.ts); `POST /api/logout`.
 * - `GET /api/events`: Server-Sent Events, a `state` event with everything shown now and again on
 *   every change read from the monitor.
 * - `GET /api/graph?namespace&version`: Server-Sent Events of the version's points, from the one
 *   WatchVersion the server keeps for all viewers of that version (graphs.ts).
 * - `GET /api/history?namespace&version&from&to&step`: GetVersion, for the time range picker.
 * - `POST /api/action` `{action, namespace, version}`: start, stop, publish or unpublish through the
 *   manager; answers the manager's message, or its error with the manager's reason.
 *
 * A browser that does not keep up with an event stream (more than `clientBufferBytes` waiting) has
 * that stream closed; EventSource reconnects and starts again from a whole state.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import type { Logger } from 'pino';
import { Counter, Gauge, Registry } from 'prom-client';
import { servePartHttp, type PartHttp } from '../kube/index.ts';
import type { Bundle } from './bundle.ts';
import type { DashboardConfig, DashboardTokens } from './config.ts';
import { EventStreams } from './events.ts';
import { GraphHub } from './graphs.ts';
import { ManagerCallError, ManagerLink, versionMessageFromSpec } from './manager.ts';
import { clearedCookie, csrfMatches, sameOrigin, Sessions, type Session } from './sessions.ts';
import { StateReader } from './state.ts';
import { ACTIONS, CSRF_HEADER, type ActionName } from './view.ts';

const MAX_BODY_BYTES = 16 * 1024;
const NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export interface StartDashboardOptions {
  config: DashboardConfig;
  tokens: DashboardTokens;
  bundle: Bundle;
  logger: Logger;
  registry?: Registry;
}

export interface Dashboard {
  url: string;
  state: StateReader;
  graphs: GraphHub;
  registry: Registry;
  /** Event streams open now. */
  streams(): number;
  stop(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

function dashboardMetrics(registry: Registry, live: { streams(): number; graphs: GraphHub; sessions: Sessions }) {
  return {
    actions: new Counter({ name: 'kre_dashboard_actions_total', help: 'Actions asked of the manager, by action and outcome', labelNames: ['action', 'outcome'], registers: [registry] }),
    logins: new Counter({ name: 'kre_dashboard_logins_total', help: 'Logins, by outcome', labelNames: ['outcome'], registers: [registry] }),
    slowClients: new Counter({ name: 'kre_dashboard_slow_clients_total', help: 'Event streams closed because the browser did not keep up (clientBufferBytes)', registers: [registry] }),
    streams: new Gauge({ name: 'kre_dashboard_event_streams', help: 'Event streams open to browsers', registers: [registry], collect() { this.set(live.streams()); } }),
    graphStreams: new Gauge({ name: 'kre_dashboard_graph_streams', help: "WatchVersion streams open to the manager", registers: [registry], collect() { this.set(live.graphs.stats().streams); } }),
    sessions: new Gauge({ name: 'kre_dashboard_sessions', help: 'Sessions kept', registers: [registry], collect() { this.set(live.sessions.size()); } }),
  };
}

export async function startDashboard(o: StartDashboardOptions): Promise<Dashboard> {
  const { config, logger } = o;
  const registry = o.registry ?? new Registry();
  const sessions = new Sessions(o.tokens.login, config.sessionHours * 3600_000, config.maxSessions);
  const state = new StateReader({ url: config.monitor.url, token: o.tokens.monitor, pollIntervalMs: config.monitor.pollIntervalMs, timeoutMs: config.monitor.timeoutMs, logger });
  const manager = new ManagerLink({ address: config.manager.address, token: o.tokens.manager, caFile: config.manager.caFile, actionTimeoutSeconds: config.manager.actionTimeoutSeconds });
  const graphs = new GraphHub({ manager, logger, maxPoints: config.graphPoints, windowSeconds: config.graphWindowSeconds, stepSeconds: config.graphStepSeconds, lingerMs: config.graphLingerMs });
  const streams = new EventStreams({
    maxBufferBytes: config.clientBufferBytes,
    onSlowClient: (waiting) => {
      m.slowClients.inc();
      logger.warn({ waiting, limit: config.clientBufferBytes }, 'closed the event stream of a browser that does not keep up (clientBufferBytes)');
    },
  });
  const m = dashboardMetrics(registry, { streams: () => streams.size(), graphs, sessions });
  // The page is served over plain HTTP unless a proxy in front terminates TLS.
  const secure = false;

  const json = (res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}) =>
    void res.writeHead(code, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...headers }).end(JSON.stringify(body));

  const readJson = async (req: IncomingMessage): Promise<Record<string, unknown>> => {
    let size = 0;
    const chunks: Buffer[] = [];
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > MAX_BODY_BYTES) throw new HttpError(413, `the request body is larger than ${MAX_BODY_BYTES} bytes`);
      chunks.push(c as Buffer);
    }
    try {
      const v = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
      return v as Record<string, unknown>;
    } catch {
      throw new HttpError(400, 'the request body must be a JSON object');
    }
  };

  const need = (req: IncomingMessage): Session => {
    const s = sessions.of(req);
    if (!s) throw new HttpError(401, 'not logged in');
    return s;
  };

  const nameParam = (params: URLSearchParams | Record<string, unknown>, key: string): string => {
    const v = params instanceof URLSearchParams ? params.get(key) : params[key];
    if (typeof v !== 'string' || !NAME.test(v)) throw new HttpError(400, `${key}: expected a DNS label, got ${JSON.stringify(v ?? null)}`);
    return v;
  };

  // Compressed once: the script is most of what a first load transfers.
  const gzipped = { 'app.js': gzipSync(o.bundle['app.js']), 'app.css': gzipSync(o.bundle['app.css']), 'index.html': gzipSync(o.bundle['index.html']) };
  const staticFile = (req: IncomingMessage, res: ServerResponse, name: keyof Bundle, type: string, headers: Record<string, string> = {}) => {
    const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    res
      .writeHead(200, { 'Content-Type': type, 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff', Vary: 'Accept-Encoding', ...(gzip ? { 'Content-Encoding': 'gzip' } : {}), ...headers })
      .end(req.method === 'HEAD' ? undefined : gzip ? gzipped[name] : o.bundle[name]);
  };

  const runAction = async (action: ActionName, namespace: string, version: string): Promise<string> => {
    if (action !== 'start') return manager.action(action, { name: version, namespace });
    const spec = state.versionSpec(namespace, version);
    if (!spec) throw new HttpError(404, `version ${version} in namespace ${namespace} is not in the monitor's cache`);
    return manager.action('start', versionMessageFromSpec(namespace, version, spec));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://dashboard');
    const path = url.pathname;
    const post = req.method === 'POST';
    if (!post && req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, `${req.method} is not allowed`);
    if (post && !sameOrigin(req, secure)) throw new HttpError(403, 'cross-origin request refused: Origin must be this server');
    if (!post) {
      if (path === '/' || path === '/index.html') {
        return staticFile(req, res, 'index.html', 'text/html; charset=utf-8', {
          'Content-Security-Policy': "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
          'X-Frame-Options': 'DENY',
        });
      }
      if (path === '/app.js') return staticFile(req, res, 'app.js', 'text/javascript; charset=utf-8');
      if (path === '/app.css') return staticFile(req, res, 'app.css', 'text/css; charset=utf-8');
      if (path === '/api/session') return json(res, 200, { csrf: need(req).csrf });
      if (path === '/api/events') {
        need(req);
        let unsubscribe = () => {};
        const send = streams.start(req, res, () => unsubscribe());
        send('state', state.current());
        unsubscribe = state.subscribe((v) => send('state', v));
        return;
      }
      if (path === '/api/graph') {
        need(req);
        const namespace = nameParam(url.searchParams, 'namespace');
        const version = nameParam(url.searchParams, 'version');
        let stopViewing = () => {};
        const send = streams.start(req, res, () => stopViewing());
        stopViewing = graphs.view(namespace, version, { points: (p) => send('points', p), error: (message) => send('failure', { message }) });
        return;
      }
      if (path === '/api/history') {
        need(req);
        const from = Number(url.searchParams.get('from'));
        const to = Number(url.searchParams.get('to'));
        const step = Number(url.searchParams.get('step'));
        if (!Number.isFinite(from) || !Number.isFinite(to) || !(from < to)) throw new HttpError(400, 'from and to: expected ms since the epoch, from before to');
        if (!Number.isInteger(step) || step <= 0) throw new HttpError(400, 'step: expected a positive whole number of seconds');
        const points = await manager.getVersion({ versionName: nameParam(url.searchParams, 'version'), namespace: nameParam(url.searchParams, 'namespace'), fromDate: new Date(from).toISOString(), toDate: new Date(to).toISOString(), step });
        return json(res, 200, { points });
      }
      throw new HttpError(404, 'not found');
    }
    if (path === '/api/login') {
      const body = await readJson(req);
      const s = typeof body.token === 'string' ? sessions.login(body.token.trim()) : undefined;
      m.logins.inc({ outcome: s ? 'ok' : 'wrong-token' });
      if (!s) throw new HttpError(401, 'wrong token');
      return json(res, 200, { csrf: s.csrf }, { 'Set-Cookie': sessions.cookie(s, secure) });
    }
    if (path === '/api/logout') {
      sessions.logout(req);
      return json(res, 200, {}, { 'Set-Cookie': clearedCookie });
    }
    if (path === '/api/action') {
      const s = need(req);
      if (!csrfMatches(req, s, CSRF_HEADER)) throw new HttpError(403, `missing or wrong ${CSRF_HEADER} header`);
      const body = await readJson(req);
      const action = body.action as ActionName;
      if (!ACTIONS.includes(action)) throw new HttpError(400, `action: expected one of ${ACTIONS.join(', ')}, got ${JSON.stringify(body.action ?? null)}`);
      const namespace = nameParam(body, 'namespace');
      const version = nameParam(body, 'version');
      try {
        const message = await runAction(action, namespace, version);
        m.actions.inc({ action, outcome: 'ok' });
        logger.info({ action, namespace, version }, 'action done');
        return json(res, 200, { message });
      } catch (err) {
        m.actions.inc({ action, outcome: 'error' });
        if (err instanceof ManagerCallError) return json(res, 502, { error: err.message, code: err.code });
        throw err;
      }
    }
    throw new HttpError(404, 'not found');
  };

  state.start();
  let http: PartHttp;
  try {
    http = await servePartHttp({ listen: config.listen, ready: () => state.ready(), metrics: registry, other: (req, res) => {
      handle(req, res).catch((err: unknown) => {
        if (res.headersSent) return void res.destroy();
        if (err instanceof HttpError) return json(res, err.code, { error: err.message });
        if (err instanceof ManagerCallError) return json(res, 502, { error: err.message, code: err.code });
        logger.error({ err: (err as Error).message, path: req.url }, 'request failed');
        json(res, 500, { error: (err as Error).message });
      });
    } });
  } catch (err) {
    state.stop();
    manager.close();
    throw err;
  }
  return {
    url: http.url,
    state,
    graphs,
    registry,
    streams: () => streams.size(),
    async stop() {
      state.stop();
      streams.closeAll();
      graphs.close();
      await http.close();
      manager.close();
    },
  };
}

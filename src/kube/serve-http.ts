/**
 * A part's HTTP endpoints, the same for every part: `/livez` and `/readyz` are open, as the
 * kubelet's probes need them; `/metrics` asks for `Authorization: Bearer <token>` when the part has
 * a token (Prometheus' `authorization.credentials_file`) and is open without one. GET and HEAD only.
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { ConfigError } from './config-error.ts';
import { parseHostPort, urlHost } from './config-file.ts';

export interface PartHttpOptions {
  /** `HOST:PORT`; port 0 picks a free one. */
  listen: string;
  ready(): boolean;
  /** What `/readyz` says while not ready. */
  notReady?: string;
  /** The part's metrics: a prom-client registry, or the exposition text as the part keeps it. */
  metrics: Registry | (() => string);
  /** The bearer token `/metrics` asks for; open when unset. */
  token?: string;
  /** Answers paths other than the three, for a part that serves more on the same port (the dashboard); else 404. */
  other?: PathHandler;
}

/** A listen address that cannot be served (in use, not this machine's, privileged) is bad configuration. */
export async function listening<T>(field: string, address: string, serve: () => Promise<T>): Promise<T> {
  try {
    return await serve();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
      throw new ConfigError(`invalid configuration: ${field}: cannot serve on ${address}: ${(err as Error).message}`, field);
    }
    throw err;
  }
}

/** Answers a request for a path other than `/livez`, `/readyz` and `/metrics`; it checks its own methods and auth. */
export type PathHandler = (req: IncomingMessage, res: ServerResponse) => void;

const OWN_PATHS = new Set(['/livez', '/readyz', '/metrics']);

export interface PartHttp {
  url: string;
  /** Stops accepting, lets requests in flight finish for up to 2 s, then closes what is left. */
  close(): Promise<void>;
}

const TEXT = 'text/plain; charset=utf-8';
const EXPOSITION = 'text/plain; version=0.0.4; charset=utf-8';
const CLOSE_GRACE_MS = 2000;

/** Whether a request carries `Authorization: Bearer <token>`, compared in constant time. */
export function bearerMatches(req: IncomingMessage, token: Buffer): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
  if (!m) return false;
  const given = Buffer.from(m[1].trim());
  return given.length === token.length && timingSafeEqual(given, token);
}

export async function servePartHttp(o: PartHttpOptions): Promise<PartHttp> {
  const address = parseHostPort(o.listen);
  if (!address) throw new ConfigError(`invalid configuration: listen: expected HOST:PORT, got ${JSON.stringify(o.listen)}`, 'listen');
  const token = o.token === undefined ? undefined : Buffer.from(o.token);
  const metrics = o.metrics;
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://part').pathname.replace(/\/+$/, '') || '/';
    if (o.other && !OWN_PATHS.has(path)) return o.other(req, res);
    if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405, { 'Content-Type': TEXT, Allow: 'GET, HEAD' }).end('method not allowed\n');
    if (path === '/livez') return void res.writeHead(200, { 'Content-Type': TEXT }).end('ok\n');
    if (path === '/readyz') {
      const ready = o.ready();
      return void res.writeHead(ready ? 200 : 503, { 'Content-Type': TEXT }).end(ready ? 'ok\n' : `${o.notReady ?? 'not ready'}\n`);
    }
    if (path === '/metrics') {
      if (token && !bearerMatches(req, token)) return void res.writeHead(401, { 'Content-Type': TEXT, 'WWW-Authenticate': 'Bearer' }).end('Unauthorized\n');
      if (typeof metrics === 'function') return void res.writeHead(200, { 'Content-Type': EXPOSITION }).end(metrics());
      metrics.metrics().then(
        (text) => res.writeHead(200, { 'Content-Type': metrics.contentType }).end(text),
        (err: Error) => res.writeHead(500, { 'Content-Type': TEXT }).end(`${err.message}\n`),
      );
      return;
    }
    res.writeHead(404, { 'Content-Type': TEXT }).end('not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${urlHost(address.host)}:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS).unref();
      }),
  };
}

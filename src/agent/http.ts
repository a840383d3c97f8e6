/**
 * The agent's HTTP endpoints: `/metrics` (the last iteration's text), `/livez` and `/readyz`.
 * `/livez` and `/readyz` are open, as the kubelet's probes need them. `/metrics` carries the node's
 * pod names and labels: with a token (`tokenFile` or `KRE_AGENT_TOKEN`) it asks for
 * `Authorization: Bearer <token>` (Prometheus' `authorization.credentials_file`), as the monitor's
 * API does; without one it is open, as the other parts' `/metrics` are.
 */
import { timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface AgentHttpOptions {
  listen: string;
  token?: string;
  metrics(): string;
  ready(): boolean;
}

export interface AgentHttp {
  url: string;
  close(): Promise<void>;
}

const TEXT = 'text/plain; charset=utf-8';
const EXPOSITION = 'text/plain; version=0.0.4; charset=utf-8';

export async function serveAgentHttp(o: AgentHttpOptions): Promise<AgentHttp> {
  const i = o.listen.lastIndexOf(':');
  const host = o.listen.slice(0, i).replace(/^\[(.*)\]$/, '$1') || '0.0.0.0';
  const port = Number(o.listen.slice(i + 1));
  const token = o.token === undefined ? undefined : Buffer.from(o.token);
  const authorized = (req: http.IncomingMessage) => {
    if (!token) return true;
    const h = req.headers.authorization;
    if (!h?.startsWith('Bearer ')) return false;
    const given = Buffer.from(h.slice(7).trim());
    return given.length === token.length && timingSafeEqual(given, token);
  };
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://agent').pathname.replace(/\/+$/, '') || '/';
    if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405, { 'Content-Type': TEXT, Allow: 'GET, HEAD' }).end('method not allowed\n');
    if (path === '/livez') return void res.writeHead(200, { 'Content-Type': TEXT }).end('ok\n');
    if (path === '/readyz') {
      const ready = o.ready();
      return void res.writeHead(ready ? 200 : 503, { 'Content-Type': TEXT }).end(ready ? 'ok\n' : 'not ready: no iteration with tasks yet\n');
    }
    if (path === '/metrics') {
      if (!authorized(req)) return void res.writeHead(401, { 'Content-Type': TEXT, 'WWW-Authenticate': 'Bearer' }).end('Unauthorized\n');
      return void res.writeHead(200, { 'Content-Type': EXPOSITION }).end(o.metrics());
    }
    res.writeHead(404, { 'Content-Type': TEXT }).end('not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${addr.port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 2000).unref();
      }),
  };
}

/**
 * A part's HTTP endpoints: `/metrics` (Prometheus), `/livez` and `/readyz` (the operator's, the
 * manager's), and, for a part that serves more over the same port (the dashboard), its other paths.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface PartHttp {
  url: string;
  close(): Promise<void>;
}

/** Answers a request for a path other than the three; the default is a 404. */
export type PathHandler = (req: IncomingMessage, res: ServerResponse) => void;

export async function serveHealthAndMetrics(op: { ready(): boolean; registry: Registry }, listen: string, other?: PathHandler): Promise<PartHttp> {
  const i = listen.lastIndexOf(':');
  const host = listen.slice(0, i).replace(/^\[(.*)\]$/, '$1') || '0.0.0.0';
  const port = Number(listen.slice(i + 1));
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/livez') return void res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok\n');
    if (path === '/readyz') {
      const ready = op.ready();
      return void res.writeHead(ready ? 200 : 503, { 'Content-Type': 'text/plain' }).end(ready ? 'ok\n' : 'not ready\n');
    }
    if (path === '/metrics') {
      op.registry.metrics().then(
        (text) => res.writeHead(200, { 'Content-Type': op.registry.contentType }).end(text),
        (err: Error) => res.writeHead(500).end(`${err.message}\n`),
      );
      return;
    }
    if (other) return other(req, res);
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${addr.port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

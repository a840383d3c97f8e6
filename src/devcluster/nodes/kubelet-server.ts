/**
 * A simulated kubelet's HTTPS server, on its own port: `/pods` (the node's PodList as a kubelet
 * returns it), `/metrics/cadvisor`, `/metrics/resource`, `/containerLogs/<ns>/<pod>/<container>`
 * and `/healthz`, with bearer-token authentication (401 `Unauthorized` otherwise; `/healthz` is
 * open, as a kubelet's health check usually is).
 *
 * The certificate is the kubelet's own, as a kubelet without server TLS bootstrap makes it: a
 * self-signed `<node>-ca@<time>` issuing `<node>@<time>` for the node's name and 127.0.0.1;
 * `caCert` is what a client trusts.
 *
 * Faults: `hang` accepts connections and never answers; `refuse` closes the port (connection
 * refused) until the fault is cleared, then listens on the same port again.
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { exportCa, generateCa, generateServing } from '../pki.ts';
import { renderCadvisor, renderResource, type CadvisorContext } from './node-metrics.ts';
import type { NodeUsage } from './usage-model.ts';
import { decodePathSegment, MalformedPathError, type Pod } from '../../kube/index.ts';

export type KubeletFault = 'hang' | 'refuse';

export interface KubeletSource {
  /** The node's pods as the kubelet has them (spec and the status it reports). */
  pods(): readonly Pod[];
  /** The latest usage, if any was computed yet. */
  usage(): NodeUsage | undefined;
  /** What `/metrics/cadvisor` needs beyond the usage: cgroup driver, CPUs, memory. */
  cadvisor: CadvisorContext;
}

export interface KubeletServerOptions {
  nodeName: string;
  token: string;
  source: KubeletSource;
  /** Default 127.0.0.1, port 0 (a free one). */
  host?: string;
  port?: number;
}

export interface KubeletServer {
  readonly nodeName: string;
  readonly address: string;
  readonly port: number;
  readonly url: string;
  /** The certificate that signed the serving certificate: what clients trust. */
  readonly caCert: string;
  readonly fault: KubeletFault | undefined;
  setFault(f: KubeletFault | undefined): Promise<void>;
  /** The Node status fields a kubelet publishes about its endpoint. */
  nodeStatusFields(): { addresses: Array<{ type: string; address: string }>; daemonEndpoints: { kubeletEndpoint: { Port: number } } };
  stop(): Promise<void>;
}

/** A kubelet's self-signed CA and serving certificate, as a kubelet without a signed certificate makes. */
export async function kubeletCertificate(nodeName: string, ips: string[]): Promise<{ caCert: string; cert: string; key: string }> {
  const stamp = Math.floor(Date.now() / 1000);
  const ca = await generateCa(`${nodeName}-ca@${stamp}`);
  const serving = await generateServing(ca, [nodeName, 'localhost', ...ips], `${nodeName}@${stamp}`);
  return { caCert: (await exportCa(ca)).cert, ...serving };
}

/** The Node status fields for a kubelet at `address:port`. */
export function kubeletStatusFields(nodeName: string, address: string, port: number) {
  return {
    addresses: [
      { type: 'InternalIP', address },
      { type: 'Hostname', address: nodeName },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: port } },
  };
}

/** Simulated log lines of a container: what it would have printed since it started. */
export function containerLogLines(pod: Pod, container: string, nowMs: number): string[] {
  const spec = (pod.spec?.containers ?? []).find((c) => c.name === container);
  const status = (pod.status?.containerStatuses ?? []).find((s) => s.name === container);
  const startedAt = status?.state?.running?.startedAt ?? status?.state?.terminated?.startedAt;
  if (!spec || !startedAt) return [];
  const start = Date.parse(startedAt);
  const lines = [`simulated container ${container} started from image ${spec.image} on node ${pod.spec?.nodeName ?? ''}`];
  // One heartbeat line per minute of running, at most 100.
  const minutes = Math.min(100, Math.max(0, Math.floor((nowMs - start) / 60_000)));
  for (let i = 1; i <= minutes; i++) lines.push(`heartbeat ${i}: running for ${i}m`);
  return lines.map((l, i) => `${new Date(start + (i === 0 ? 0 : i * 60_000)).toISOString()} ${l}`);
}

function send(res: ServerResponse, code: number, body: string, type = 'application/json'): void {
  res.writeHead(code, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

export async function startKubeletServer(o: KubeletServerOptions): Promise<KubeletServer> {
  const host = o.host ?? '127.0.0.1';
  const { caCert, cert, key } = await kubeletCertificate(o.nodeName, [host]);
  const token = Buffer.from(o.token);
  const sockets = new Set<Socket>();
  const hanging = new Set<ServerResponse>();
  let fault: KubeletFault | undefined;
  let server: Server;
  let port = o.port ?? 0;
  let stopped = false;

  const authenticated = (req: IncomingMessage) => {
    const h = req.headers.authorization;
    if (!h?.startsWith('Bearer ')) return false;
    const given = Buffer.from(h.slice(7).trim());
    return given.length === token.length && timingSafeEqual(given, token);
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    if (fault === 'hang') {
      hanging.add(res);
      res.on('close', () => hanging.delete(res));
      return;
    }
    const url = new URL(req.url ?? '/', 'https://kubelet');
    const path = url.pathname;
    if (path === '/healthz') return send(res, 200, 'ok', 'text/plain; charset=utf-8');
    if (!authenticated(req)) return send(res, 401, 'Unauthorized', 'text/plain; charset=utf-8');
    if ((req.method ?? 'GET') !== 'GET') return send(res, 405, 'Method Not Allowed', 'text/plain; charset=utf-8');
    const text = 'text/plain; version=0.0.4; charset=utf-8';
    if (path === '/pods' || path === '/pods/') {
      const items = o.source.pods();
      return send(res, 200, `{"kind":"PodList","apiVersion":"v1","metadata":{},"items":${JSON.stringify(items)}}\n`);
    }
    if (path === '/metrics/cadvisor' || path === '/metrics/resource') {
      const u = o.source.usage() ?? emptyUsage(o.nodeName);
      return send(res, 200, path === '/metrics/cadvisor' ? renderCadvisor(u, o.source.cadvisor) : renderResource(u), text);
    }
    const logs = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(path);
    if (logs) {
      let ns: string, name: string, container: string;
      try {
        [ns, name, container] = logs.slice(1).map(decodePathSegment);
      } catch (err) {
        if (err instanceof MalformedPathError) return send(res, 400, '400 Bad Request', 'text/plain; charset=utf-8');
        throw err;
      }
      const pod = o.source.pods().find((p) => p.metadata?.namespace === ns && p.metadata?.name === name);
      if (!pod) return send(res, 404, `pod ${ns}/${name} not found`, 'text/plain; charset=utf-8');
      if (!(pod.spec?.containers ?? []).some((c) => c.name === container)) {
        return send(res, 404, `container ${container} is not valid for pod ${name}`, 'text/plain; charset=utf-8');
      }
      let lines = containerLogLines(pod, container, Date.now());
      const timestamps = url.searchParams.get('timestamps') === 'true';
      if (!timestamps) lines = lines.map((l) => l.slice(l.indexOf(' ') + 1));
      const tail = Number(url.searchParams.get('tailLines') ?? NaN);
      if (Number.isInteger(tail) && tail >= 0) lines = tail === 0 ? [] : lines.slice(-tail);
      return send(res, 200, lines.map((l) => `${l}\n`).join(''), 'text/plain; charset=utf-8');
    }
    return send(res, 404, '404 page not found', 'text/plain; charset=utf-8');
  };

  const listen = async () => {
    server = createServer({ cert, key }, handle);
    server.on('connection', (s: Socket) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const addr = server.address();
    if (typeof addr === 'object' && addr) port = addr.port;
  };
  const close = async () => {
    const closed = new Promise<void>((r) => server.close(() => r()));
    for (const res of hanging) res.destroy();
    hanging.clear();
    for (const s of sockets) s.destroy();
    await closed;
  };
  await listen();

  return {
    nodeName: o.nodeName,
    address: host,
    get port() {
      return port;
    },
    get url() {
      return `https://${host}:${port}`;
    },
    caCert,
    get fault() {
      return fault;
    },
    async setFault(f) {
      if (stopped || f === fault) return;
      const was = fault;
      fault = f;
      if (f === 'refuse') await close();
      else if (was === 'refuse') await listen();
      if (was === 'hang') {
        for (const res of hanging) res.destroy();
        hanging.clear();
      }
    },
    nodeStatusFields: () => kubeletStatusFields(o.nodeName, host, port),
    async stop() {
      if (stopped) return;
      stopped = true;
      if (fault !== 'refuse') await close();
    },
  };
}

function emptyUsage(nodeName: string): NodeUsage {
  const zero = { cpuSeconds: 0, userSeconds: 0, systemSeconds: 0, nrPeriods: 0, nrThrottled: 0, throttledSeconds: 0, memoryBytes: 0, peakBytes: 0, pgfault: 0, pgmajfault: 0 };
  return { ...zero, nodeName, timestampMs: Date.now(), windowSeconds: 0, cpuMilli: 0, pods: [], qos: { Guaranteed: { ...zero }, Burstable: { ...zero }, BestEffort: { ...zero } } };
}

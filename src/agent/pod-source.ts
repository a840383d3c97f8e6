/**
 * Where the node's pods come from, each iteration:
 *
 * - `KubeletPodSource`: `GET {kubelet}/pods` over HTTPS, trusting the kubelet's CA (or, asked
 *   explicitly, nothing), authenticated by a client certificate or a bearer token (a rotating
 *   ServiceAccount token is re-read every minute). The answer is bounded in time and size. A failed
 *   or malformed answer is counted by reason and never thrown: the last good pod list stands in
 *   for at most `staleAfterMs`, then the node has no tasks until the kubelet answers again.
 * - `ApiServerPodSource`: the pods with `spec.nodeName=<node>` through the kube core's reflector
 *   (list, then watch; no polling), for clusters where the kubelet's API is out of reach.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { Logger } from 'pino';
import { KubeClient, PODS, Reflector, type KubeObject, type Pod } from '../kube/index.ts';

export interface PodsAnswer {
  /** As the source answered: a kubelet's items are not checked here, `selectTasks` checks each. */
  pods: readonly Pod[];
  /** The pods are an earlier answer standing in for a failed one. */
  stale: boolean;
  /** Why this read failed (a bounded set of reasons), if it did. */
  error?: { reason: SourceErrorReason; message: string };
  /** When the source last answered well (ms since the epoch). */
  lastSuccessMs?: number;
}

export type SourceErrorReason = 'timeout' | 'connection' | 'tls' | 'unauthorized' | 'status' | 'too_large' | 'malformed' | 'not_synced' | 'watch';

export interface PodSource {
  pods(): Promise<PodsAnswer>;
  stop(): Promise<void>;
}

export interface KubeletSourceOptions {
  url: string;
  caFile?: string;
  insecure?: boolean;
  certFile?: string;
  keyFile?: string;
  tokenFile?: string;
  timeoutMs: number;
  maxResponseBytes: number;
  staleAfterMs: number;
  now?(): number;
}

class SourceError extends Error {
  constructor(
    readonly reason: SourceErrorReason,
    message: string,
  ) {
    super(message);
  }
}

/** How often credentials are read again from their files (tokens and certificates rotate). */
const CREDENTIALS_REFRESH_MS = 60_000;

const TLS_CODES = /^(ERR_TLS_|ERR_SSL_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|CERT_|HOSTNAME_MISMATCH)/;

function classify(err: unknown): SourceError {
  if (err instanceof SourceError) return err;
  const e = err as NodeJS.ErrnoException;
  const code = e?.code ?? '';
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError' || code === 'ETIMEDOUT' || code === 'ABORT_ERR') return new SourceError('timeout', e.message);
  if (TLS_CODES.test(code)) return new SourceError('tls', `${code}: ${e.message}`);
  return new SourceError('connection', `${code ? `${code}: ` : ''}${e?.message ?? String(err)}`);
}

export class KubeletPodSource implements PodSource {
  private readonly url: URL;
  private credentials: { at: number; agent: http.Agent; token?: string; key: string } | undefined;
  private last: { pods: Pod[]; atMs: number } | undefined;

  constructor(private readonly o: KubeletSourceOptions) {
    this.url = new URL('/pods', o.url);
  }

  private now(): number {
    return this.o.now?.() ?? Date.now();
  }

  /** The agent (TLS material) and token, read again from their files at most once a minute. */
  private current(): { agent: http.Agent; token?: string } {
    const now = Date.now();
    if (this.credentials && now - this.credentials.at < CREDENTIALS_REFRESH_MS) return this.credentials;
    const read = (p?: string) => (p ? readFileSync(p, 'utf8') : undefined);
    const ca = read(this.o.caFile);
    const cert = read(this.o.certFile);
    const key = read(this.o.keyFile);
    const token = read(this.o.tokenFile)?.trim() || undefined;
    const material = `${ca}\0${cert}\0${key}`;
    if (this.credentials?.key === material) {
      this.credentials = { ...this.credentials, at: now, token };
      return this.credentials;
    }
    this.credentials?.agent.destroy();
    const agent =
      this.url.protocol === 'https:'
        ? new https.Agent({ keepAlive: true, maxSockets: 2, ca, cert, key, rejectUnauthorized: !this.o.insecure })
        : new http.Agent({ keepAlive: true, maxSockets: 2 });
    this.credentials = { at: now, agent, token, key: material };
    return this.credentials;
  }

  async pods(): Promise<PodsAnswer> {
    try {
      const body = await this.fetch();
      const pods = parsePodList(body);
      const atMs = this.now();
      this.last = { pods, atMs };
      return { pods, stale: false, lastSuccessMs: atMs };
    } catch (err) {
      const e = classify(err);
      const error = { reason: e.reason, message: e.message };
      const last = this.last;
      if (last && this.now() - last.atMs <= this.o.staleAfterMs) return { pods: last.pods, stale: true, error, lastSuccessMs: last.atMs };
      return { pods: [], stale: false, error, ...(last && { lastSuccessMs: last.atMs }) };
    }
  }

  private fetch(): Promise<string> {
    let creds: { agent: http.Agent; token?: string };
    try {
      creds = this.current();
    } catch (err) {
      return Promise.reject(new SourceError('connection', `cannot read the kubelet credentials: ${(err as Error).message}`));
    }
    const transport = this.url.protocol === 'https:' ? https : http;
    return new Promise<string>((resolve, reject) => {
      const req = transport.get(
        this.url,
        {
          agent: creds.agent,
          headers: { Accept: 'application/json', ...(creds.token && { Authorization: `Bearer ${creds.token}` }) },
          signal: AbortSignal.timeout(this.o.timeoutMs),
        },
        (res) => {
          const code = res.statusCode ?? 0;
          if (code !== 200) {
            res.resume();
            const reason = code === 401 || code === 403 ? 'unauthorized' : 'status';
            return reject(new SourceError(reason, `kubelet answered ${code} ${res.statusMessage ?? ''} to GET /pods`.trim()));
          }
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > this.o.maxResponseBytes) {
              req.destroy();
              reject(new SourceError('too_large', `kubelet /pods answer exceeds ${this.o.maxResponseBytes} bytes`));
              return;
            }
            chunks.push(c);
          });
          res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
          res.on('error', (err) => reject(err));
        },
      );
      req.on('error', (err) => reject(err));
    });
  }

  async stop(): Promise<void> {
    this.credentials?.agent.destroy();
    this.credentials = undefined;
  }
}

/** The items of a PodList answer; anything else is `malformed`. Items are checked one by one later. */
export function parsePodList(body: string): Pod[] {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch (err) {
    throw new SourceError('malformed', `kubelet /pods answer is not JSON: ${(err as Error).message}`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new SourceError('malformed', 'kubelet /pods answer is not a PodList object');
  const { kind, items } = doc as { kind?: unknown; items?: unknown };
  if (kind !== undefined && kind !== 'PodList') throw new SourceError('malformed', `kubelet /pods answer is a ${String(kind)}, not a PodList`);
  if (items === null || items === undefined) return [];
  if (!Array.isArray(items)) throw new SourceError('malformed', 'kubelet /pods answer has no items list');
  return items;
}


/** The node's pods from the API server: one reflector with `spec.nodeName=<node>`. */
export class ApiServerPodSource implements PodSource {
  private readonly reflector: Reflector<KubeObject>;
  private errorsSeen = 0;
  private lastSuccessMs: number | undefined;

  constructor(
    private readonly client: KubeClient,
    node: string,
    logger?: Logger,
  ) {
    this.reflector = new Reflector({
      client,
      resource: PODS,
      fieldSelector: `spec.nodeName=${node}`,
      name: `pods on ${node}`,
      logger,
      onList: (_items, _rv, at) => (this.lastSuccessMs = at),
      onWatchEvent: (_t, _o, at) => (this.lastSuccessMs = at),
      onBookmark: (_rv, at) => (this.lastSuccessMs = at),
    });
    this.reflector.start();
  }

  /** Resolves once the first list is in (or rejects when stopped first). */
  waitForSync(signal?: AbortSignal): Promise<void> {
    return this.reflector.waitForSync(signal);
  }

  async pods(): Promise<PodsAnswer> {
    const errors = this.reflector.stats.errors;
    const failed = errors > this.errorsSeen;
    this.errorsSeen = errors;
    if (!this.reflector.hasSynced()) return { pods: [], stale: false, error: { reason: 'not_synced', message: 'the pod list has not been received yet' } };
    // The reflector retries by itself; its cache is what the watch last delivered.
    return {
      pods: this.reflector.store.list(),
      stale: failed,
      ...(failed && { error: { reason: 'watch' as const, message: `${errors} list or watch failures so far; retrying with backoff` } }),
      ...(this.lastSuccessMs !== undefined && { lastSuccessMs: this.lastSuccessMs }),
    };
  }

  async stop(): Promise<void> {
    await this.reflector.stop();
  }
}

/**
 * A client of Prometheus' HTTP API (`/api/v1/query_range`, `/api/v1/query`) as a user of a secured
 * Prometheus needs it: a base URL (with a path prefix, as behind a proxy), a timeout per query,
 * bearer-token or basic auth read from files, HTTPS with a CA file or without verification.
 *
 * Its errors say which of these happened, because a caller reacts differently to each: Prometheus
 * could not be reached (`unreachable`), did not answer in time (`timeout`), refused the credentials
 * (`unauthorized`), rejected the query (`bad-query` — a configuration problem, not an outage), failed
 * otherwise (`failed`), or sent something that is not its API's JSON or is larger than
 * `maxResponseBytes` (`bad-response`).
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { ConfigError } from '../../kube/index.ts';
import type { PrometheusConfig } from './config.ts';

export type PrometheusErrorReason = 'unreachable' | 'timeout' | 'unauthorized' | 'bad-query' | 'failed' | 'bad-response';

export class PrometheusError extends Error {
  constructor(
    readonly reason: PrometheusErrorReason,
    message: string,
  ) {
    super(message);
  }
}

/** One series of a range query: its labels and `[unix seconds, value]` samples. */
export interface RangeSeries {
  metric: Record<string, string>;
  values: Array<[number, number]>;
}

export interface InstantSample {
  metric: Record<string, string>;
  value: [number, number];
}

/** One series as the HTTP API sends it: sample values are strings ("NaN", "+Inf" among them). */
interface WireSeries {
  metric?: Record<string, string>;
  values?: [number, string][];
  value?: [number, string];
}

/** A query's `data`: `resultType` says which of the shapes `result` has (`{}` when it is missing). */
type QueryData = { resultType: 'matrix' | 'vector'; result: WireSeries[] } | { resultType: 'scalar' | 'string'; result: [number, string] } | { resultType?: undefined; result?: undefined };

/** The API's envelope, fields unchecked until `interpret` looks at them. */
interface Envelope {
  status?: unknown;
  data?: QueryData;
  errorType?: unknown;
  error?: unknown;
}

export interface PrometheusClientOptions extends Pick<PrometheusConfig, 'url' | 'timeoutSeconds' | 'maxResponseBytes' | 'insecureSkipVerify'> {
  bearerTokenFile?: string;
  username?: string;
  passwordFile?: string;
  caFile?: string;
  /** Called after each request, for the manager's own metrics. */
  onRequest?(endpoint: 'query' | 'query_range', outcome: 'ok' | PrometheusErrorReason, seconds: number): void;
}

export class PrometheusClient {
  readonly url: URL;
  private readonly agent: http.Agent;
  private readonly transport: typeof http | typeof https;

  constructor(private readonly o: PrometheusClientOptions) {
    this.url = new URL(o.url.endsWith('/') ? o.url : `${o.url}/`);
    this.transport = this.url.protocol === 'https:' ? https : http;
    let ca: string | undefined;
    try {
      ca = o.caFile ? readFileSync(o.caFile, 'utf8') : undefined;
    } catch (err) {
      throw new ConfigError(`invalid configuration: metrics.prometheus.caFile: cannot read ${o.caFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    this.agent =
      this.transport === https
        ? new https.Agent({ keepAlive: true, maxSockets: 16, ...(ca ? { ca } : {}), rejectUnauthorized: !o.insecureSkipVerify })
        : new http.Agent({ keepAlive: true, maxSockets: 16 });
  }

  /** Where this client sends its queries, without credentials: for messages and logs. */
  get where(): string {
    return this.url.origin + this.url.pathname.replace(/\/$/, '');
  }

  /** A range query; `start`, `end` in unix seconds, `step` in seconds. */
  async queryRange(query: string, start: number, end: number, step: number): Promise<RangeSeries[]> {
    const data = await this.call('query_range', { query, start: String(start), end: String(end), step: String(step) });
    if (data.resultType !== 'matrix' || !Array.isArray(data.result)) throw new PrometheusError('bad-response', `Prometheus at ${this.where} answered a range query with ${String(data.resultType)}, not a matrix`);
    return data.result.map((s) => ({ metric: s.metric ?? {}, values: (s.values ?? []).map((v): [number, number] => [Number(v[0]), Number(v[1])]) }));
  }

  /** An instant query at `time` (unix seconds; now when left out). */
  async query(query: string, time?: number): Promise<InstantSample[]> {
    const data = await this.call('query', { query, ...(time !== undefined ? { time: String(time) } : {}) });
    if (data.resultType !== 'vector' || !Array.isArray(data.result)) {
      if (data.resultType === 'scalar' && Array.isArray(data.result)) return [{ metric: {}, value: [Number(data.result[0]), Number(data.result[1])] }];
      throw new PrometheusError('bad-response', `Prometheus at ${this.where} answered an instant query with ${String(data.resultType)}, not a vector`);
    }
    return data.result.map((s) => ({ metric: s.metric ?? {}, value: [Number(s.value?.[0]), Number(s.value?.[1])] }));
  }

  close(): void {
    this.agent.destroy();
  }

  private headers(): Record<string, string> {
    const h: Record<string, string> = { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' };
    if (this.o.bearerTokenFile) h.Authorization = `Bearer ${readSecret(this.o.bearerTokenFile, 'bearer token')}`;
    else if (this.o.username) {
      const password = this.o.passwordFile ? readSecret(this.o.passwordFile, 'password') : '';
      h.Authorization = `Basic ${Buffer.from(`${this.o.username}:${password}`).toString('base64')}`;
    }
    return h;
  }

  private async call(endpoint: 'query' | 'query_range', params: Record<string, string>): Promise<QueryData> {
    const started = performance.now();
    try {
      const data = await this.post(endpoint, params);
      this.o.onRequest?.(endpoint, 'ok', (performance.now() - started) / 1000);
      return data;
    } catch (err) {
      const reason = err instanceof PrometheusError ? err.reason : 'failed';
      this.o.onRequest?.(endpoint, reason, (performance.now() - started) / 1000);
      throw err;
    }
  }

  /** POST with a form body, so that long queries never meet a URL length limit. */
  private post(endpoint: 'query' | 'query_range', params: Record<string, string>): Promise<QueryData> {
    const timeoutMs = this.o.timeoutSeconds * 1000;
    // Prometheus stops evaluating at its own timeout too, so an abandoned query does not go on costing it.
    const body = new URLSearchParams({ ...params, timeout: `${this.o.timeoutSeconds}s` }).toString();
    const target = new URL(`api/v1/${endpoint}`, this.url);
    const where = this.where;
    let headers: Record<string, string>;
    try {
      headers = this.headers();
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (e: PrometheusError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.destroy();
        reject(e);
      };
      const req = this.transport.request(target, { method: 'POST', agent: this.agent, headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)) } }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > this.o.maxResponseBytes) {
            fail(new PrometheusError('bad-response', `Prometheus at ${where} answered more than ${this.o.maxResponseBytes} bytes: the query matches too many series`));
            return;
          }
          chunks.push(c);
        });
        res.on('error', (e) => fail(new PrometheusError('unreachable', `Prometheus at ${where}: the connection broke while answering: ${e.message}`)));
        res.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          try {
            resolve(interpret(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'), where, this.o.timeoutSeconds));
          } catch (e) {
            reject(e);
          }
        });
      });
      const timer = setTimeout(() => fail(new PrometheusError('timeout', `Prometheus at ${where} did not answer within ${this.o.timeoutSeconds}s`)), timeoutMs);
      req.on('error', (e: NodeJS.ErrnoException) => fail(new PrometheusError('unreachable', `Prometheus at ${where} is unreachable: ${e.code ? `${e.code} ` : ''}${e.message}`)));
      req.end(body);
    });
  }
}

function readSecret(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw new PrometheusError('unauthorized', `cannot read the Prometheus ${what} file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** The API's envelope: `{status, data}` on success, `{status: "error", errorType, error}` otherwise. */
function interpret(status: number, text: string, where: string, timeoutSeconds: number): QueryData {
  let body: Envelope | undefined;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (status === 401 || status === 403) throw new PrometheusError('unauthorized', `Prometheus at ${where} refused the credentials (HTTP ${status})`);
  if (!body || typeof body !== 'object' || typeof body.status !== 'string') {
    const reason: PrometheusErrorReason = status >= 500 || status === 0 ? 'failed' : 'bad-response';
    throw new PrometheusError(reason, `Prometheus at ${where} answered HTTP ${status} without its API's JSON${text ? `: ${text.slice(0, 200).trim()}` : ''}`);
  }
  if (body.status === 'success' && status < 300) return body.data ?? {};
  const detail = typeof body.error === 'string' ? body.error : `HTTP ${status}`;
  if (body.errorType === 'timeout' || /query timed out/.test(detail)) throw new PrometheusError('timeout', `Prometheus at ${where} gave up on the query after ${timeoutSeconds}s: ${detail}`);
  if (body.errorType === 'bad_data' || status === 400 || status === 422) throw new PrometheusError('bad-query', `Prometheus at ${where} rejected the query: ${detail}`);
  throw new PrometheusError('failed', `Prometheus at ${where} failed the query (${body.errorType ?? `HTTP ${status}`}): ${detail}`);
}

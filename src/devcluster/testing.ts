/**
 * Small helpers for tests that talk to a devcluster over raw HTTPS, to check exactly what the
 * server answers (status codes, headers, Status bodies) where a client library would hide it.
 */
import { execFile } from 'node:child_process';
import { request as httpsRequest } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import type { DevCluster } from './cluster.ts';
import type { KubeObject, Status } from '../kube/index.ts';

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /**
   * The body parsed as JSON, typed by the caller (`json<Status>()`, `json<KubeList<Pod>>()`); an
   * object without one. The API server's own tests, which poke at arbitrary answers, say `json<any>()`.
   */
  json<T = KubeObject>(): T;
}

/** A cause of a Status, as the server lists them for 422 Invalid and 409 Conflict answers. */
export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

/** A Status answer with its causes typed (the kube core's `Status` leaves them open). */
export interface StatusBody extends Omit<Status, 'details'> {
  details?: Omit<NonNullable<Status['details']>, 'causes'> & { causes?: StatusCause[] };
}

/** One entry of `metadata.managedFields`: who owns which fields, by which operation. */
export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update' | string;
  apiVersion?: string;
  time?: string;
  subresource?: string;
  fieldsType?: string;
  fieldsV1?: FieldsV1;
}

/** The field set of a managedFields entry: `f:name`/`k:{…}`/`v:…` keys down to empty leaves. */
export interface FieldsV1 {
  [key: string]: FieldsV1 | undefined;
}

/** An object's managedFields, typed: the kube core keeps them opaque as nothing in KRE reads them. */
export function managedFields(obj: KubeObject): ManagedFieldsEntry[] {
  return (obj.metadata.managedFields ?? []) as ManagedFieldsEntry[];
}

/** The ready line a devcluster process logs: the fields its tests read. */
export interface ReadyLine {
  part: string;
  url: string;
  kubeconfig: string;
  [field: string]: unknown;
}

export function rawRequest(
  cluster: Pick<DevCluster, 'url' | 'token' | 'caCert'>,
  method: string,
  path: string,
  body?: string | Buffer | object,
  headers: Record<string, string> = {},
): Promise<RawResponse> {
  const url = new URL(path, cluster.url);
  const payload = body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        method,
        ca: cluster.caCert,
        headers: {
          Authorization: `Bearer ${cluster.token}`,
          // A length, not chunks: Node sends a DELETE's body unframed otherwise, and the server reads none.
          ...(payload !== undefined ? { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(payload)) } : {}),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

export interface WatchStream {
  events: Array<{ type: string; object: KubeObject }>;
  /** Resolves when `predicate` holds for the events received so far. */
  until(predicate: (events: Array<{ type: string; object: KubeObject }>) => boolean, timeoutMs?: number): Promise<void>;
  closed: Promise<void>;
  close(): void;
  status: Promise<number>;
}

/** Opens a watch and collects its events. */
export function openWatch(cluster: Pick<DevCluster, 'url' | 'token' | 'caCert'>, path: string): WatchStream {
  const events: Array<{ type: string; object: KubeObject }> = [];
  const waiters: Array<() => void> = [];
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  let resolveStatus!: (n: number) => void;
  const status = new Promise<number>((r) => (resolveStatus = r));
  const req = httpsRequest(new URL(path, cluster.url), { ca: cluster.caCert, headers: { Authorization: `Bearer ${cluster.token}` } }, (res) => {
    resolveStatus(res.statusCode ?? 0);
    let buf = '';
    res.on('data', (c: Buffer) => {
      buf += c.toString('utf8');
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line.trim()) events.push(JSON.parse(line));
      }
      for (const w of waiters.splice(0)) w();
    });
    res.on('end', () => {
      resolveClosed();
      for (const w of waiters.splice(0)) w();
    });
    res.on('error', () => resolveClosed());
  });
  req.on('error', () => resolveClosed());
  req.end();
  let ended = false;
  void closed.then(() => (ended = true));
  return {
    events,
    closed,
    status,
    close: () => req.destroy(),
    async until(predicate, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(events)) {
        if (ended) throw new Error(`watch ${path} closed before the expected events; got ${JSON.stringify(events.map((e) => e.type))}`);
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`timed out waiting for watch events on ${path}; got ${JSON.stringify(events.map((e) => `${e.type} ${e.object?.metadata?.name ?? ''}`))}`);
        await new Promise<void>((r) => {
          const t = setTimeout(r, Math.min(left, 200));
          waiters.push(() => {
            clearTimeout(t);
            r();
          });
        });
      }
    },
  };
}

/** Polls `check` until it returns a truthy value, or fails with what it last saw. */
export async function eventually<T>(check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * kubectl against a cluster, as a user runs it: `run` reports the exit code and output, `ok`
 * fails with kubectl's own message unless it exits 0. `kubeconfig` is read when a command runs,
 * so it may be given before the cluster has started.
 */
export function kubectlFor(kubeconfig: () => string, opts: { bin?: string; timeoutMs?: number } = {}) {
  const run = (args: string[], input?: string): Promise<KubectlResult> =>
    new Promise((resolve) => {
      const child = execFile(opts.bin ?? 'kubectl', args, { env: { ...process.env, KUBECONFIG: kubeconfig() }, timeout: opts.timeoutMs ?? 120_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
      if (input !== undefined) child.stdin!.end(input);
    });
  const ok = async (args: string[], input?: string): Promise<string> => {
    const r = await run(args, input);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return r.stdout;
  };
  return { run, ok };
}

/** Writes (create, update, patch, delete) by `<verb> <resource>` from the devcluster's `devcluster_requests_total`. */
export function devclusterWrites(metricsText: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of metricsText.split('\n')) {
    const m = /^devcluster_requests_total\{verb="(create|update|patch|delete)",resource="([^"]+)",code="(\d+)"\} (\d+)/.exec(line);
    if (m) out[`${m[1]} ${m[2]}`] = (out[`${m[1]} ${m[2]}`] ?? 0) + Number(m[4]);
  }
  return out;
}

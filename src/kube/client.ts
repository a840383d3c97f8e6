/**
 * The one way KRE talks to an API server: where the kubeconfig comes from (`loadKubeConfig`) and a
 * small REST client over it (`KubeClient`). The client is raw JSON over node:https rather than
 * client-node's generated APIs because the reflector needs watch with bookmarks and exact control of
 * query parameters, and custom resources are first-class here.
 */
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { ConfigError } from './config-error.ts';

// ---------------------------------------------------------------------------------------------
// Loading the kubeconfig

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** No usable cluster configuration: `attempts` says, in order, what was tried and why it failed. */
export class KubeConfigError extends ConfigError {
  override name = 'KubeConfigError';
  constructor(readonly attempts: { source: string; problem: string }[]) {
    super(`no usable Kubernetes configuration: ${attempts.map((a) => `${a.source}: ${a.problem}`).join('; ')}`, 'kubeconfig');
  }
}

export interface LoadKubeConfigOptions {
  /** `--kubeconfig PATH`: when given it is the only source considered. */
  kubeconfig?: string;
  env?: NodeJS.ProcessEnv;
  /** true: only the in-cluster service account; false: never it; unset: last in the chain. */
  inCluster?: boolean;
  /** For tests: where `~/.kube/config` and the service account files are looked for. */
  homeDir?: string;
  serviceAccountDir?: string;
}

/**
 * Finds the cluster in kubectl's order: `--kubeconfig`, `KUBECONFIG`, `~/.kube/config`, the
 * in-cluster service account. A source that is absent is skipped; a source that is present but
 * broken stops the search, because silently moving on to the next one would talk to another
 * cluster than the user named. Never falls back to localhost as client-node's loadFromDefault does.
 */
export function loadKubeConfig(opts: LoadKubeConfigOptions = {}): { kc: KubeConfig; source: string } {
  const env = opts.env ?? process.env;
  const attempts: { source: string; problem: string }[] = [];
  const fail = (source: string, problem: string): never => {
    attempts.push({ source, problem });
    throw new KubeConfigError(attempts);
  };

  if (opts.inCluster !== true) {
    if (opts.kubeconfig) {
      const source = `--kubeconfig ${opts.kubeconfig}`;
      const problem = problemLoading(opts.kubeconfig);
      if (problem) fail(source, problem);
      return { kc: fromFiles([opts.kubeconfig]), source };
    }

    const envPaths = (env.KUBECONFIG ?? '').split(':').filter((p) => p !== '');
    if (envPaths.length > 0) {
      // Like kubectl: KUBECONFIG may list several files, missing ones are ignored, the rest merged.
      const source = `KUBECONFIG=${env.KUBECONFIG}`;
      const present = envPaths.filter((p) => existsSync(p));
      if (present.length === 0) fail(source, 'none of its files exist');
      for (const p of present) {
        const problem = problemLoading(p);
        if (problem) fail(source, `${p}: ${problem}`);
      }
      const kc = fromFiles(present);
      const problem = problemWithContext(kc);
      if (problem) fail(source, problem);
      return { kc, source };
    }
    attempts.push({ source: 'KUBECONFIG', problem: 'not set' });

    const home = opts.homeDir ?? env.HOME ?? homedir();
    const homeConfig = join(home, '.kube', 'config');
    if (existsSync(homeConfig)) {
      const problem = problemLoading(homeConfig);
      if (problem) fail(homeConfig, problem);
      return { kc: fromFiles([homeConfig]), source: homeConfig };
    }
    attempts.push({ source: homeConfig, problem: 'does not exist' });
  }

  if (opts.inCluster !== false) {
    const dir = opts.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
    const source = `in-cluster service account (${dir})`;
    const host = env.KUBERNETES_SERVICE_HOST;
    const port = env.KUBERNETES_SERVICE_PORT ?? '443';
    if (!host) attempts.push({ source, problem: 'KUBERNETES_SERVICE_HOST is not set' });
    else if (!existsSync(join(dir, 'token'))) attempts.push({ source, problem: `${join(dir, 'token')} does not exist` });
    else if (!existsSync(join(dir, 'ca.crt'))) attempts.push({ source, problem: `${join(dir, 'ca.crt')} does not exist` });
    else {
      const kc = new KubeConfig();
      const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
      const nsFile = join(dir, 'namespace');
      kc.loadFromOptions({
        clusters: [{ name: 'in-cluster', server, caFile: join(dir, 'ca.crt'), skipTLSVerify: false }],
        // The tokenFile provider rereads the file, so the kubelet's token rotation is followed.
        users: [{ name: 'service-account', authProvider: { name: 'tokenFile', config: { tokenFile: join(dir, 'token') } } }],
        contexts: [
          {
            name: 'in-cluster',
            cluster: 'in-cluster',
            user: 'service-account',
            namespace: existsSync(nsFile) ? readFileSync(nsFile, 'utf8').trim() : undefined,
          },
        ],
        currentContext: 'in-cluster',
      });
      return { kc, source };
    }
  }
  throw new KubeConfigError(attempts);
}

function fromFiles(paths: string[]): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(paths[0]);
  for (const p of paths.slice(1)) {
    const more = new KubeConfig();
    more.loadFromFile(p);
    kc.mergeConfig(more, true);
  }
  return kc;
}

/** Why a kubeconfig file is unusable, or undefined when it is fine. */
function problemLoading(path: string): string | undefined {
  if (!existsSync(path)) return 'does not exist';
  let kc: KubeConfig;
  try {
    kc = new KubeConfig();
    kc.loadFromFile(path);
  } catch (err) {
    return `cannot be read: ${(err as Error).message}`;
  }
  return problemWithContext(kc);
}

function problemWithContext(kc: KubeConfig): string | undefined {
  if (!kc.getCurrentContext()) return 'has no current-context';
  if (!kc.getContextObject(kc.getCurrentContext())) return `its current-context "${kc.getCurrentContext()}" is not defined`;
  const cluster = kc.getCurrentCluster();
  if (!cluster) return `the cluster of context "${kc.getCurrentContext()}" is not defined`;
  if (!cluster.server) return `cluster "${cluster.name}" has no server`;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Objects and errors

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  managedFields?: unknown[];
  [field: string]: unknown;
}

/** Any Kubernetes object as JSON: what the client sends and returns, what the store caches. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

export interface KubeList<T extends KubeObject = KubeObject> {
  apiVersion?: string;
  kind?: string;
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  items: T[];
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
export interface WatchEvent<T extends KubeObject = KubeObject> {
  type: WatchEventType;
  object: T;
}

/** The `Status` object a server answers a failed request with. */
export interface Status {
  kind?: 'Status';
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: { name?: string; group?: string; kind?: string; causes?: unknown[]; retryAfterSeconds?: number };
}

/**
 * A request the API server refused. `code` is the HTTP status (a watch ERROR event carries it in its
 * Status, so 410 Expired looks the same either way), `reason` the machine-readable cause to branch
 * on (`NotFound`, `Conflict`, `AlreadyExists`, `Expired`, `TooManyRequests`…), `message` the
 * server's own words, `retryAfterSeconds` the server's hint on 429/5xx.
 */
export class KubeApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly status?: Status,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }

  static fromStatus(status: Status, httpCode?: number, retryAfterHeader?: string): KubeApiError {
    const code = status.code ?? httpCode ?? 0;
    const headerRetry = retryAfterHeader !== undefined ? Number(retryAfterHeader) : NaN;
    const retry = status.details?.retryAfterSeconds ?? (Number.isFinite(headerRetry) ? headerRetry : undefined);
    return new KubeApiError(code, status.reason ?? reasonForCode(code), status.message ?? `HTTP ${code}`, status, retry);
  }
}

function reasonForCode(code: number): string {
  const reasons: Record<number, string> = {
    400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 405: 'MethodNotAllowed',
    409: 'Conflict', 410: 'Gone', 415: 'UnsupportedMediaType', 422: 'Invalid', 429: 'TooManyRequests',
    500: 'InternalError', 503: 'ServiceUnavailable', 504: 'Timeout',
  };
  return reasons[code] ?? 'Unknown';
}

export const isNotFound = (err: unknown): boolean => err instanceof KubeApiError && err.code === 404;
export const isConflict = (err: unknown): boolean => err instanceof KubeApiError && err.code === 409 && err.reason === 'Conflict';
export const isAlreadyExists = (err: unknown): boolean => err instanceof KubeApiError && err.reason === 'AlreadyExists';
/** 410: the resourceVersion asked for is older than the server's history (`Expired` or `Gone`). */
export const isExpired = (err: unknown): boolean => err instanceof KubeApiError && err.code === 410;

// ---------------------------------------------------------------------------------------------
// Addressing resources

/** A kind as the API addresses it. `kind` and `namespaced` are needed only where noted. */
export interface ResourceType {
  /** '' for the core group. */
  group: string;
  version: string;
  plural: string;
  kind?: string;
  namespaced?: boolean;
}

export interface ResourceRef extends ResourceType {
  namespace?: string;
  name?: string;
}

export function apiVersionOf(t: Pick<ResourceType, 'group' | 'version'>): string {
  return t.group === '' ? t.version : `${t.group}/${t.version}`;
}

export function groupVersionOf(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.indexOf('/');
  return i < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

/** `/api/v1/namespaces/ns/pods/name/status` from its parts. */
export function resourcePath(ref: ResourceRef, subresource?: string): string {
  let path = ref.group === '' ? `/api/${ref.version}` : `/apis/${ref.group}/${ref.version}`;
  if (ref.namespace) path += `/namespaces/${encodeURIComponent(ref.namespace)}`;
  path += `/${ref.plural}`;
  if (ref.name !== undefined) path += `/${encodeURIComponent(ref.name)}`;
  if (subresource) path += `/${subresource}`;
  return path;
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: 'NotOlderThan' | 'Exact';
}

export interface WatchOptions {
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  allowWatchBookmarks?: boolean;
  timeoutSeconds?: number;
  signal?: AbortSignal;
}

export interface WriteOptions {
  fieldManager?: string;
  dryRun?: boolean;
  subresource?: string;
}

export type PatchType = 'merge' | 'json' | 'strategic';
const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
};

export interface DeleteOptions {
  propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
}

/** An open watch: iterate its events; `close()` ends it (the iteration then finishes quietly). */
export interface WatchStream<T extends KubeObject = KubeObject> extends AsyncIterable<WatchEvent<T>> {
  close(): void;
}

// ---------------------------------------------------------------------------------------------
// The client

export interface KubeClientOptions {
  /** Per-request timeout for everything but watches. */
  requestTimeoutMs?: number;
  userAgent?: string;
}

interface RequestArgs {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
}

/** How long the credentials read from the kubeconfig are reused before being read again. */
const AUTH_REFRESH_MS = 30_000;

/**
 * A typed REST client over one kubeconfig context. One keep-alive Agent carries every request, so
 * a controller's reads and writes reuse a few TLS connections instead of one handshake each.
 */
export class KubeClient {
  readonly server: URL;
  /** The context's namespace, for callers that default to it. */
  readonly defaultNamespace: string;
  private readonly agent: http.Agent;
  private readonly transport: typeof http | typeof https;
  private authHeaders: { value: Record<string, string>; at: number } | undefined;
  private tls: https.RequestOptions | undefined;
  private readonly discovery = new Map<string, Promise<Map<string, ResourceType>>>();

  constructor(
    readonly kc: KubeConfig,
    private readonly opts: KubeClientOptions = {},
  ) {
    const cluster = kc.getCurrentCluster();
    if (!cluster?.server) throw new KubeConfigError([{ source: `context "${kc.getCurrentContext()}"`, problem: 'has no cluster server' }]);
    this.server = new URL(cluster.server);
    const ctx = kc.getContextObject(kc.getCurrentContext());
    this.defaultNamespace = ctx?.namespace ?? 'default';
    this.transport = this.server.protocol === 'http:' ? http : https;
    this.agent = new this.transport.Agent({ keepAlive: true, maxSockets: 64 });
  }

  // --- verbs

  get<T extends KubeObject = KubeObject>(ref: ResourceRef & { name: string }, subresource?: string): Promise<T> {
    return this.request<T>('GET', resourcePath(ref, subresource));
  }

  list<T extends KubeObject = KubeObject>(ref: ResourceRef, opts: ListOptions = {}): Promise<KubeList<T>> {
    return this.request<KubeList<T>>('GET', resourcePath({ ...ref, name: undefined }), { query: { ...opts } });
  }

  create<T extends KubeObject = KubeObject>(ref: ResourceRef, obj: KubeObject, opts: WriteOptions = {}): Promise<T> {
    return this.request<T>('POST', resourcePath({ ...ref, name: undefined }, opts.subresource), {
      body: obj,
      query: writeQuery(opts),
    });
  }

  /** PUT: the object must carry the resourceVersion it was read at (optimistic concurrency). */
  update<T extends KubeObject = KubeObject>(ref: ResourceRef & { name: string }, obj: KubeObject, opts: WriteOptions = {}): Promise<T> {
    return this.request<T>('PUT', resourcePath(ref, opts.subresource), { body: obj, query: writeQuery(opts) });
  }

  patch<T extends KubeObject = KubeObject>(
    ref: ResourceRef & { name: string },
    patch: unknown,
    opts: WriteOptions & { type?: PatchType } = {},
  ): Promise<T> {
    return this.request<T>('PATCH', resourcePath(ref, opts.subresource), {
      body: patch,
      contentType: PATCH_CONTENT_TYPES[opts.type ?? 'merge'],
      query: writeQuery(opts),
    });
  }

  /** Server-side apply: `obj` is the full intent of `fieldManager` for this object. */
  apply<T extends KubeObject = KubeObject>(
    ref: ResourceRef & { name: string },
    obj: KubeObject,
    opts: WriteOptions & { fieldManager: string; force?: boolean },
  ): Promise<T> {
    return this.request<T>('PATCH', resourcePath(ref, opts.subresource), {
      body: obj,
      // JSON is valid YAML, so the apply content type takes the object as it is.
      contentType: 'application/apply-patch+yaml',
      query: { ...writeQuery(opts), force: opts.force ? true : undefined },
    });
  }

  delete<T extends KubeObject = KubeObject>(ref: ResourceRef & { name: string }, opts: DeleteOptions = {}): Promise<T | Status> {
    const hasBody = opts.propagationPolicy || opts.gracePeriodSeconds !== undefined || opts.preconditions;
    return this.request<T | Status>('DELETE', resourcePath(ref), {
      body: hasBody ? { kind: 'DeleteOptions', apiVersion: 'v1', ...opts } : undefined,
    });
  }

  /**
   * Opens a watch. Resolves once the server has answered 200 (a refusal such as 410 Expired rejects
   * here as a KubeApiError); the events then stream until the server ends the watch, the connection
   * fails (the iteration throws) or `close()`/the signal ends it (the iteration just finishes).
   */
  async watch<T extends KubeObject = KubeObject>(ref: ResourceRef, opts: WatchOptions = {}): Promise<WatchStream<T>> {
    const abort = new AbortController();
    const onOuterAbort = () => abort.abort();
    // An already aborted signal never fires its listeners again: abort now instead.
    if (opts.signal?.aborted) abort.abort();
    opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
    const query = {
      watch: true,
      resourceVersion: opts.resourceVersion || undefined,
      allowWatchBookmarks: opts.allowWatchBookmarks || undefined,
      timeoutSeconds: opts.timeoutSeconds,
      labelSelector: opts.labelSelector || undefined,
      fieldSelector: opts.fieldSelector || undefined,
    };
    let res: http.IncomingMessage;
    try {
      res = await this.send('GET', resourcePath({ ...ref, name: undefined }), { query, signal: abort.signal }, 0);
    } catch (err) {
      opts.signal?.removeEventListener('abort', onOuterAbort);
      throw err;
    }
    if (res.statusCode !== 200) {
      opts.signal?.removeEventListener('abort', onOuterAbort);
      throw await errorFromResponse(res);
    }
    const close = () => {
      abort.abort();
      res.destroy();
    };
    return {
      close,
      [Symbol.asyncIterator]: () => watchEvents<T>(res, abort.signal, () => opts.signal?.removeEventListener('abort', onOuterAbort)),
    };
  }

  /**
   * The resource behind an apiVersion and kind, from the server's discovery (cached per group
   * version; asked again once when the kind is missing, since a CRD may have been added since).
   */
  async resourceFor(apiVersion: string, kind: string): Promise<ResourceType> {
    for (let attempt = 0; attempt < 2; attempt++) {
      if (attempt === 1) this.discovery.delete(apiVersion);
      let kinds = this.discovery.get(apiVersion);
      if (!kinds) {
        kinds = this.discover(apiVersion);
        this.discovery.set(apiVersion, kinds);
        kinds.catch(() => this.discovery.delete(apiVersion));
      }
      const found = (await kinds).get(kind);
      if (found) return found;
    }
    throw new KubeApiError(404, 'NotFound', `the server has no resource for kind "${kind}" in "${apiVersion}"`);
  }

  /** The ref of an object, found by its apiVersion and kind. */
  async refFor(obj: KubeObject): Promise<ResourceRef & { name: string }> {
    if (!obj.apiVersion || !obj.kind) throw new Error(`object ${obj.metadata?.name ?? ''} has no apiVersion or kind`);
    if (!obj.metadata?.name) throw new Error(`${obj.kind} has no metadata.name`);
    const type = await this.resourceFor(obj.apiVersion, obj.kind);
    return { ...type, namespace: type.namespaced ? obj.metadata.namespace ?? this.defaultNamespace : undefined, name: obj.metadata.name };
  }

  private async discover(apiVersion: string): Promise<Map<string, ResourceType>> {
    const { group, version } = groupVersionOf(apiVersion);
    const path = group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
    const list = await this.request<{ resources: { name: string; kind: string; namespaced: boolean }[] }>('GET', path);
    const kinds = new Map<string, ResourceType>();
    for (const r of list.resources ?? []) {
      if (r.name.includes('/')) continue; // subresources
      kinds.set(r.kind, { group, version, plural: r.name, kind: r.kind, namespaced: r.namespaced });
    }
    return kinds;
  }

  /** Any request with a JSON answer; a non-2xx answer rejects with KubeApiError. */
  async request<T>(method: string, path: string, args: RequestArgs = {}): Promise<T> {
    const res = await this.send(method, path, args, this.opts.requestTimeoutMs ?? 30_000);
    if (res.statusCode === undefined || res.statusCode < 200 || res.statusCode >= 300) throw await errorFromResponse(res);
    const text = await readBody(res);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** Ends the keep-alive connections; in-flight requests and watches are not waited for. */
  close(): void {
    this.agent.destroy();
  }

  private async send(method: string, path: string, args: RequestArgs, timeoutMs: number): Promise<http.IncomingMessage> {
    const url = new URL(path, this.server);
    for (const [k, v] of Object.entries(args.query ?? {})) if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
    const headers: Record<string, string> = {
      Accept: 'application/json',
      'User-Agent': this.opts.userAgent ?? 'kre',
      ...(await this.credentials()),
    };
    let payload: Buffer | undefined;
    if (args.body !== undefined) {
      payload = Buffer.from(JSON.stringify(args.body));
      headers['Content-Type'] = args.contentType ?? 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    return new Promise((resolve, reject) => {
      // The TLS options are the same on every request, so the Agent pools all of them together.
      const req = this.transport.request(url, { ...this.tls, method, headers, agent: this.agent, signal: args.signal }, resolve);
      req.on('error', reject);
      if (timeoutMs > 0) {
        req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${url.pathname}: no answer within ${timeoutMs} ms`)));
        // The timeout covers waiting for the answer; reading a long body is not cut short by it.
        req.on('response', () => req.setTimeout(0));
      }
      req.end(payload);
    });
  }

  /**
   * Headers (bearer token, basic auth, impersonation) from the kubeconfig, reread now and then so
   * that rotated token files are followed. The TLS material is read once.
   */
  private async credentials(): Promise<Record<string, string>> {
    const now = Date.now();
    if (this.authHeaders && now - this.authHeaders.at < AUTH_REFRESH_MS) return this.authHeaders.value;
    const opts: https.RequestOptions = { headers: {} };
    await this.kc.applyToHTTPSOptions(opts);
    if (!this.tls) {
      this.tls = {};
      for (const k of ['ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'servername'] as const) {
        if (opts[k] !== undefined) (this.tls as Record<string, unknown>)[k] = opts[k];
      }
    }
    const value: Record<string, string> = {};
    for (const [k, v] of Object.entries(opts.headers ?? {})) if (v !== undefined) value[k] = Array.isArray(v) ? v.join(', ') : String(v);
    if (opts.auth) value.Authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
    this.authHeaders = { value, at: now };
    return value;
  }
}

function writeQuery(opts: WriteOptions): Record<string, string | undefined> {
  return { fieldManager: opts.fieldManager, dryRun: opts.dryRun ? 'All' : undefined };
}

async function readBody(res: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function errorFromResponse(res: http.IncomingMessage): Promise<KubeApiError> {
  const code = res.statusCode ?? 0;
  const retryAfter = res.headers['retry-after'] as string | undefined;
  let text = '';
  try {
    text = await readBody(res);
    const body = JSON.parse(text) as Status;
    if (body && body.kind === 'Status') return KubeApiError.fromStatus(body, code, retryAfter);
  } catch {
    // Not a Status (a proxy's HTML page, a cut connection): keep what text there is.
  }
  return KubeApiError.fromStatus({ code, message: text.slice(0, 500) || `HTTP ${code}` }, code, retryAfter);
}

/** Newline-delimited JSON watch events from a response body. */
async function* watchEvents<T extends KubeObject>(
  res: http.IncomingMessage,
  signal: AbortSignal,
  cleanup: () => void,
): AsyncGenerator<WatchEvent<T>> {
  let buffered = '';
  try {
    for await (const chunk of res) {
      buffered += (chunk as Buffer).toString('utf8');
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (line) yield JSON.parse(line) as WatchEvent<T>;
      }
    }
    if (!res.complete && !signal.aborted) throw new Error('watch connection closed before the response was complete');
  } catch (err) {
    if (signal.aborted) return;
    throw err;
  } finally {
    cleanup();
    res.destroy();
  }
}

/**
 * The HTTP face of the devcluster's API server: authentication, routing of `/api` and `/apis`
 * paths to the object service, lists, watches, patches, subresources, discovery and OpenAPI, the
 * admin endpoints for faults, and /metrics. Every failure is answered with a Status object.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { timingSafeEqual } from 'node:crypto';
import { Counter, Gauge, Registry } from 'prom-client';
import { decodeObject, mediaType, parseJson, parseYaml, readBody } from './body.ts';
import { shapeProblem } from './shapes.ts';
import { decodePathSegment, MalformedPathError, parseIncludeObject, parseTableAccept, toTable, withSortedKeys, type IncludeObject } from '../../kube/index.ts';
import { apiGroupList, apiResourceList, apiVersions } from './discovery.ts';
import { ApiError, errors, cause } from './errors.ts';
import { Faults, validateFaultSpec } from './faults.ts';
import { ObjectService, type DeleteOptions } from './objects.ts';
import { OPENAPI_V2_CONTENT_TYPE, openapiV2Document, openapiV3Document, openapiV3Index } from './openapi.ts';
import { applyPatch, patchTypeOf, serverSideApply } from './patch/index.ts';
import { compileFilter, decodeContinue, encodeContinue, type Filter } from './query.ts';
import { boolParam, intParam, optionalBoolParam } from './query-params.ts';
import { bindPod } from './binding.ts';
import { parseApiPath, type ResourceRequest } from './request-info.ts';
import { apiVersionOf, collectionKey, type ResourceRegistry, type ResourceType } from './resources.ts';
import { HistoryExpiredError, type Entry, type Storage } from './storage.ts';
import { serveWatch } from './watch.ts';
import { pruneCustomResource, defaultCustomResource } from './crd-schema.ts';
import { pruneBuiltin } from './builtin-fields.ts';
import { nowRfc3339 } from './objects.ts';
import { METRICS_GROUP, NodeMetricsStore, serveMetrics } from './metrics-api.ts';

export const KUBERNETES_VERSION = { major: '1', minor: '32', gitVersion: 'v1.32.13' };

export interface ApiServerOptions {
  storage: Storage;
  registry: ResourceRegistry;
  objects: ObjectService;
  token: string;
  /** Called by POST /kre-admin/restart. */
  restart?: () => Promise<void>;
  bookmarkIntervalMs?: number;
  /** Where the nodes report usage for metrics.k8s.io; default an empty one of its own. */
  nodeMetrics?: NodeMetricsStore;
  /** The simulated nodes of this process, if any (they start after the server). */
  nodes?: () => NodeAdmin | undefined;
  /** The most bytes one watcher may fall behind before it is closed; default 8 MiB. */
  watchBufferBytes?: number;
  /** More metrics served on /metrics: those of the controllers run in this process, once started. */
  moreMetrics?: () => Registry | undefined;
}

/**
 * The simulated nodes run in this process, for the admin endpoints of node faults and for
 * `pods/log`. Errors carry a `reason`: NotFound, BadRequest or Conflict.
 */
export interface NodeAdmin {
  has(name: string): boolean;
  list(): unknown[];
  setUnresponsive(name: string, mode: false | 'hang' | 'refuse'): Promise<void>;
  crashContainer(namespace: string, pod: string, container?: string): { node: string; container: string };
  endpoint(name: string): { host: string; port: number; caCert: string } | undefined;
}

/** How long `pods/log` waits for a kubelet. */
const KUBELET_TIMEOUT_MS = 10_000;

function send(res: ServerResponse, code: number, body: string | Buffer, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

function sendJson(res: ServerResponse, code: number, obj: unknown, headers?: Record<string, string>): void {
  send(res, code, JSON.stringify(obj), headers);
}

/** Lists up to this many items are sent in one piece, with a Content-Length. */
const SMALL_LIST = 500;
const LIST_CHUNK_CHARS = 1 << 20;

/**
 * A list's JSON around its items: `head` up to the items' `[`, `tail` from their `]`. A list of
 * custom resources is an unstructured map on a real server, written with its keys sorted (so the
 * items come before kind and metadata); a built-in list has its Go struct's order.
 */
function listFrame(t: ResourceType, metadata: Record<string, unknown>): { head: string; tail: string } {
  if (t.crd) return { head: `{"apiVersion":"${apiVersionOf(t)}","items":[`, tail: `],"kind":"${t.kind}List","metadata":${JSON.stringify(withSortedKeys(metadata))}}` };
  return { head: `{"kind":"${t.kind}List","apiVersion":"${apiVersionOf(t)}","metadata":${JSON.stringify(metadata)},"items":[`, tail: ']}' };
}

/**
 * The bytes of items `from` up to `to` of a list, each item's stored JSON after a comma but the
 * list's first, with `head` before them and `tail` after. Written into one buffer sized from the
 * parts: a string of the whole answer would be one large allocation, then scanned for its length
 * and copied again to encode it, which costs several times the copy of the bytes.
 */
function listBytes(page: Entry[], from: number, to: number, head: string, tail: string): Buffer {
  let size = Buffer.byteLength(head) + Buffer.byteLength(tail);
  for (let k = from; k < to; k++) size += Buffer.byteLength(page[k].json) + (k > 0 ? 1 : 0);
  const buf = Buffer.allocUnsafe(size);
  let at = buf.write(head, 0);
  for (let k = from; k < to; k++) {
    if (k > 0) buf[at++] = 0x2c; // ','
    at += buf.write(page[k].json, at);
  }
  buf.write(tail, at);
  return buf;
}

/**
 * Writes a list from the stored JSON of its items. A large list goes out in chunks of about
 * 1 MiB as it is built, honouring backpressure, so no single huge buffer is made and the client
 * starts reading at once; the entries are an immutable snapshot, so writing later is safe.
 */
function sendList(res: ServerResponse, { head, tail }: { head: string; tail: string }, page: Entry[]): void {
  if (page.length <= SMALL_LIST) {
    return send(res, 200, listBytes(page, 0, page.length, head, tail));
  }
  res.writeHead(200, { 'Content-Type': 'application/json' });
  let k = 0;
  const pump = (): void => {
    while (k < page.length) {
      const from = k;
      let chars = 0;
      while (k < page.length && chars < LIST_CHUNK_CHARS) chars += page[k++].json.length + 1;
      const chunk = listBytes(page, from, k, from === 0 ? head : '', k === page.length ? tail : '');
      if (!res.write(chunk)) {
        if (k < page.length) res.once('drain', pump);
        else res.end();
        return;
      }
    }
    res.end();
  };
  pump();
}

const UNAUTHENTICATED_PATHS = new Set(['/version', '/livez', '/readyz', '/healthz']);
/** Injected faults never reach these (nor `/kre-admin/…`): a test can always check health and clear its faults. */
const FAULT_FREE_PATHS = new Set(['/livez', '/readyz', '/healthz', '/metrics']);
/** Subresources named in the request metric; any other is counted as `other`. */
const KNOWN_SUBRESOURCES = new Set(['status', 'scale', 'log', 'exec', 'attach', 'portforward', 'finalize', 'binding', 'eviction', 'ephemeralcontainers', 'proxy', 'token']);

export class ApiServer {
  readonly metrics = new Registry();
  readonly faults: Faults;
  private readonly requests: Counter<'verb' | 'resource' | 'code'>;
  private readonly watchEvents: Counter<'collection'>;
  readonly watchers = new Set<ServerResponse>();
  private readonly watchBuffered = new Map<ServerResponse, () => number>();
  private readonly watchesTooSlow: Counter<'collection'>;
  private readonly token: Buffer;
  private openapiCache = new Map<string, string>();
  readonly nodeMetrics: NodeMetricsStore;

  constructor(private readonly o: ApiServerOptions) {
    this.token = Buffer.from(o.token);
    this.nodeMetrics = o.nodeMetrics ?? new NodeMetricsStore();
    this.requests = new Counter({ name: 'devcluster_requests_total', help: 'API requests served, by verb, resource and code', labelNames: ['verb', 'resource', 'code'], registers: [this.metrics] });
    this.watchEvents = new Counter({ name: 'devcluster_watch_events_sent_total', help: 'Watch events sent, by collection', labelNames: ['collection'], registers: [this.metrics] });
    const injected = new Counter({ name: 'devcluster_faults_injected_total', help: 'Faults injected, by kind of fault and collection', labelNames: ['fault', 'collection'], registers: [this.metrics] });
    this.faults = new Faults(injected);
    const watchers = this.watchers;
    new Gauge({ name: 'devcluster_watches', help: 'Open watch streams', registers: [this.metrics], collect() { this.set(watchers.size); } });
    this.watchesTooSlow = new Counter({ name: 'devcluster_watches_closed_too_slow_total', help: 'Watch streams closed because their client fell too far behind, by collection', labelNames: ['collection'], registers: [this.metrics] });
    const buffered = this.watchBuffered;
    new Gauge({
      name: 'devcluster_watch_buffered_bytes',
      help: 'Bytes waiting to be sent to watchers (queued events and socket buffers)',
      registers: [this.metrics],
      collect() {
        let n = 0;
        for (const f of buffered.values()) n += f();
        this.set(n);
      },
    });
    const storage = o.storage;
    new Gauge({ name: 'devcluster_resource_version', help: 'The current global resourceVersion', registers: [this.metrics], collect() { this.set(storage.resourceVersion); } });
    new Gauge({ name: 'devcluster_object_log_bytes', help: 'Size of the object log in the state dir', registers: [this.metrics], collect() { this.set(storage.logBytes); } });
    const compactions = new Counter({ name: 'devcluster_object_log_compactions_total', help: 'Compactions of the object log (at start and while running)', registers: [this.metrics] });
    if (storage.compactions > 0) compactions.inc(storage.compactions);
    storage.onCompaction(() => compactions.inc());
    o.registry.onChange(() => this.openapiCache.clear());
  }

  /** Closes every open watch stream (on stop and restart). */
  closeWatches(): void {
    for (const res of [...this.watchers]) res.end();
    this.watchers.clear();
  }

  expireHistory(): void {
    this.o.storage.expireHistory();
    this.faults.countExpire();
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://devcluster');
    let verb = (req.method ?? 'GET').toLowerCase();
    let resource = '';
    try {
      if (!UNAUTHENTICATED_PATHS.has(url.pathname) && !this.authenticated(req)) throw errors.unauthorized();
      const info = parseApiPath(url.pathname);
      // Only a served resource names the series, so that no client can grow the metric's labels.
      if (info.type === 'resource') resource = this.resourceLabel(info.req);
      if (!FAULT_FREE_PATHS.has(url.pathname) && !url.pathname.startsWith('/kre-admin/')) {
        const collection = info.type === 'resource' ? collectionKey({ group: info.req.group, plural: info.req.plural }) : undefined;
        const latency = this.faults.latencyMs(collection);
        if (latency > 0) await new Promise((r) => setTimeout(r, latency));
        const code = this.faults.errorFor(collection);
        if (code === 429) throw errors.tooManyRequests(1);
        if (code === 500) throw errors.internal('injected fault');
      }
      if (info.type === 'resource') {
        verb = await this.serveResource(req, res, url, info.req);
      } else {
        await this.serveOther(req, res, url, info);
      }
      this.requests.inc({ verb, resource, code: String(res.statusCode) });
    } catch (err) {
      const apiErr = err instanceof ApiError ? err : err instanceof MalformedPathError ? errors.badRequest(err.message) : errors.internal((err as Error).message ?? String(err));
      if (!(err instanceof ApiError) && !(err instanceof MalformedPathError)) console.error('devcluster: unexpected error', err);
      const headers: Record<string, string> = {};
      if (apiErr.code === 429) headers['Retry-After'] = '1';
      if (apiErr.code === 401) headers['WWW-Authenticate'] = 'Bearer realm="kre-devcluster"';
      send(res, apiErr.code, JSON.stringify(apiErr.toStatus()), headers);
      this.requests.inc({ verb, resource, code: String(apiErr.code) });
    }
  }

  /** `plural` or `plural/subresource` of a served resource; '' for anything else. */
  private resourceLabel(r: ResourceRequest): string {
    const t = this.o.registry.get(r.group, r.version, r.plural);
    if (!t) return '';
    if (!r.subresource) return t.plural;
    return KNOWN_SUBRESOURCES.has(r.subresource) ? `${t.plural}/${r.subresource}` : `${t.plural}/other`;
  }

  /** `Authorization: Bearer <token>`, the scheme in any case (RFC 7235), as kube-apiserver reads it. */
  private authenticated(req: IncomingMessage): boolean {
    const h = req.headers.authorization;
    const m = h ? /^bearer +(\S+) *$/i.exec(h) : null;
    if (!m) return false;
    const given = Buffer.from(m[1]);
    return given.length === this.token.length && timingSafeEqual(given, this.token);
  }

  private async serveOther(req: IncomingMessage, res: ServerResponse, url: URL, info: ReturnType<typeof parseApiPath>): Promise<void> {
    const method = req.method ?? 'GET';
    const reg = this.o.registry;
    const path = url.pathname.replace(/\/+$/, '') || '/';
    if (info.type === 'groupVersion' || info.type === 'group') {
      if (method !== 'GET') throw errors.methodNotAllowed(method);
      if (info.type === 'group') {
        const group = (apiGroupList(reg) as any).groups.find((g: any) => g.name === info.group);
        if (!group) throw errors.pathNotFound();
        return sendJson(res, 200, { kind: 'APIGroup', apiVersion: 'v1', ...group });
      }
      const list = apiResourceList(reg, info.group, info.version);
      if (!list) throw errors.pathNotFound();
      return sendJson(res, 200, list);
    }
    if (path === '/kre-admin/faults') return this.serveFaults(req, res);
    if (path === '/kre-admin/nodes' || path.startsWith('/kre-admin/nodes/') || path.startsWith('/kre-admin/pods/')) return this.serveNodeAdmin(req, res, url, path);
    if (path === '/kre-admin/expire-history' && method === 'POST') {
      this.expireHistory();
      return sendJson(res, 200, { resourceVersion: String(this.o.storage.resourceVersion) });
    }
    if (path === '/kre-admin/restart' && method === 'POST') {
      if (!this.o.restart) throw errors.methodNotAllowed(method);
      // Restart once this answer has reached the client: a restart drops every connection.
      const restart = () => void this.o.restart?.();
      req.socket.once('close', restart);
      sendJson(res, 202, { restarting: true }, { Connection: 'close' });
      return;
    }
    if (method !== 'GET') throw errors.methodNotAllowed(method);
    switch (path) {
      case '/version':
        return sendJson(res, 200, { ...KUBERNETES_VERSION, gitCommit: '0000000000000000000000000000000000000000', gitTreeState: 'clean', buildDate: '2026-01-01T00:00:00Z', goVersion: 'go1.23.5', compiler: 'gc', platform: 'linux/amd64' });
      case '/livez':
      case '/readyz':
      case '/healthz':
        return send(res, 200, 'ok', { 'Content-Type': 'text/plain' });
      case '/api':
        return sendJson(res, 200, apiVersions(req.socket.localAddress ?? '127.0.0.1'));
      case '/apis':
        return sendJson(res, 200, apiGroupList(reg));
      case '/openapi/v3':
        return sendJson(res, 200, openapiV3Index(reg));
      case '/openapi/v2': {
        // kubectl 1.27 and 1.28 fetch it on every apply; an empty document is enough for them.
        const doc = openapiV2Document();
        res.writeHead(200, { 'Content-Type': OPENAPI_V2_CONTENT_TYPE, 'Content-Length': doc.length });
        res.end(doc);
        return;
      }
      case '/metrics': {
        const more = this.o.moreMetrics?.();
        const text = (await this.metrics.metrics()) + (more ? await more.metrics() : '');
        return send(res, 200, text, { 'Content-Type': this.metrics.contentType });
      }
    }
    const m = /^\/openapi\/v3\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))$/.exec(path);
    if (m) {
      const group = m[1] ? '' : m[2];
      const version = m[1] ?? m[3];
      const key = `${group}/${version}`;
      let doc = this.openapiCache.get(key);
      if (!doc) {
        const d = openapiV3Document(reg, group, version);
        if (!d) throw errors.pathNotFound();
        doc = JSON.stringify(d);
        this.openapiCache.set(key, doc);
      }
      return send(res, 200, doc);
    }
    throw errors.pathNotFound();
  }

  private async serveFaults(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    if (method === 'GET') return sendJson(res, 200, this.faults.current);
    if (method === 'DELETE') {
      this.faults.clear();
      return sendJson(res, 200, {});
    }
    if (method !== 'PUT' && method !== 'POST') throw errors.methodNotAllowed(method);
    const spec = parseJson(await readBody(req));
    try {
      validateFaultSpec(spec);
    } catch (err) {
      throw errors.badRequest((err as Error).message);
    }
    this.faults.set(spec);
    return sendJson(res, 200, this.faults.current);
  }

  /**
   * Node faults: `GET /kre-admin/nodes`, `PUT /kre-admin/nodes/<name>/fault` with
   * `{"unresponsive": "hang"|"refuse"|false}`, `POST /kre-admin/pods/<ns>/<name>/crash[?container=]`.
   */
  private async serveNodeAdmin(req: IncomingMessage, res: ServerResponse, url: URL, path: string): Promise<void> {
    const method = req.method ?? 'GET';
    const nodes = this.o.nodes?.();
    const elsewhere = nodes
      ? 'its kubelet is not one of the simulated nodes this devcluster runs'
      : 'this devcluster runs no simulated nodes (started with nodes: 0); its nodes are served by another process';
    const nodeType = this.o.registry.get('', 'v1', 'nodes')!;
    const podType = this.o.registry.get('', 'v1', 'pods')!;
    if (path === '/kre-admin/nodes') {
      if (method !== 'GET') throw errors.methodNotAllowed(method);
      return sendJson(res, 200, { items: nodes?.list() ?? [] });
    }
    const fault = /^\/kre-admin\/nodes\/([^/]+)\/fault$/.exec(path);
    if (fault) {
      if (method !== 'PUT') throw errors.methodNotAllowed(method);
      const name = decodePathSegment(fault[1]);
      const body = parseJson(await readBody(req));
      const mode = body?.unresponsive;
      if (typeof body !== 'object' || body === null || Array.isArray(body) || !('unresponsive' in body) || (mode !== false && mode !== 'hang' && mode !== 'refuse')) {
        throw errors.badRequest('the body must be {"unresponsive": "hang" | "refuse" | false}');
      }
      if (!nodes?.has(name)) {
        if (!this.o.objects.find(nodeType, undefined, name)) throw errors.notFound('nodes', '', name);
        throw new ApiError(nodes ? 409 : 501, nodes ? 'Conflict' : 'NotImplemented', `node "${name}" cannot be made unresponsive here: ${elsewhere}`);
      }
      await nodeAdminCall(() => nodes.setUnresponsive(name, mode));
      return sendJson(res, 200, { name, unresponsive: mode });
    }
    const crash = /^\/kre-admin\/pods\/([^/]+)\/([^/]+)\/crash$/.exec(path);
    if (crash) {
      if (method !== 'POST') throw errors.methodNotAllowed(method);
      const [namespace, name] = [decodePathSegment(crash[1]), decodePathSegment(crash[2])];
      const pod = this.o.objects.find(podType, namespace, name)?.obj;
      if (!pod) throw errors.notFound('pods', '', name);
      const nodeName: string | undefined = pod.spec?.nodeName;
      if (!nodeName) throw errors.conflict('pods', '', name, `pod "${name}" is not scheduled to a node yet`);
      if (!nodes?.has(nodeName)) throw new ApiError(nodes ? 409 : 501, nodes ? 'Conflict' : 'NotImplemented', `pod "${name}" runs on node "${nodeName}": ${elsewhere}`);
      const done = await nodeAdminCall(async () => nodes.crashContainer(namespace, name, url.searchParams.get('container') ?? undefined));
      return sendJson(res, 200, { namespace, pod: name, ...done });
    }
    throw errors.pathNotFound();
  }

  private typeOf(r: ResourceRequest): ResourceType {
    const t = this.o.registry.get(r.group, r.version, r.plural);
    if (!t) throw errors.pathNotFound();
    if (!t.namespaced && r.namespace !== undefined) throw errors.pathNotFound();
    return t;
  }

  /** Serves one request on a resource path; returns the verb for metrics. */
  private async serveResource(req: IncomingMessage, res: ServerResponse, url: URL, r: ResourceRequest): Promise<string> {
    const t = this.typeOf(r);
    const q = url.searchParams;
    const method = req.method ?? 'GET';
    if (t.group === METRICS_GROUP) {
      if (method !== 'GET' || r.subresource || boolParam(q, 'watch')) throw errors.methodNotAllowed(method);
      sendJson(res, 200, serveMetrics(this.nodeMetrics, t.plural, r.namespace, r.name, q));
      return r.name === undefined ? 'list' : 'get';
    }
    if (r.subresource) return this.serveSubresource(req, res, url, t, r);
    if (r.name === undefined) {
      switch (method) {
        case 'GET':
          if (boolParam(q, 'watch')) {
            this.watch(req, res, t, r.namespace, q);
            return 'watch';
          }
          this.list(req, res, t, r.namespace, q);
          return 'list';
        case 'POST':
          await this.create(req, res, t, r.namespace, q);
          return 'create';
        case 'DELETE':
          await this.deleteCollection(req, res, t, r.namespace, q);
          return 'deletecollection';
        default:
          throw errors.methodNotAllowed(method);
      }
    }
    switch (method) {
      case 'GET':
        this.respondEntry(req, res, 200, t, this.o.objects.get(t, r.namespace, r.name));
        return 'get';
      case 'PUT': {
        const body = await this.decodeWrite(req, t, q, res);
        const { entry, created } = this.o.objects.update(t, r.namespace, r.name, body, this.writeOptions(req, q));
        this.respondEntry(req, res, created ? 201 : 200, t, entry);
        return 'update';
      }
      case 'PATCH':
        await this.patch(req, res, t, r, q);
        return 'patch';
      case 'DELETE': {
        const opts = await this.deleteOptions(req, q);
        const { entry, removed } = this.o.objects.delete(t, r.namespace, r.name, opts);
        if (removed && !(t.group === '' && t.plural === 'pods')) {
          sendJson(res, 200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name: r.name, group: t.group || undefined, kind: t.plural, uid: entry.obj.metadata.uid } });
        } else {
          this.respondObject(req, res, 200, t, entry.obj);
        }
        return 'delete';
      }
      default:
        throw errors.methodNotAllowed(method);
    }
  }

  private writeOptions(req: IncomingMessage, q: URLSearchParams, subresource?: string) {
    const dryRun = q.getAll('dryRun');
    if (dryRun.some((d) => d !== 'All')) throw errors.badRequest(`dryRun: Unsupported value: ${JSON.stringify(dryRun)}: supported values: "All"`);
    return { dryRun: dryRun.length > 0, fieldManager: q.get('fieldManager') ?? userAgentManager(req), subresource };
  }

  /** Decodes a create or update body and applies `fieldValidation` to custom resources' unknown fields. */
  private async decodeWrite(req: IncomingMessage, t: ResourceType, q: URLSearchParams, res?: ServerResponse): Promise<any> {
    const body = decodeObject(await readBody(req), req.headers['content-type'], t.kind);
    this.checkUnknownFields(t, body, q, res);
    return body;
  }

  private checkUnknownFields(t: ResourceType, body: any, q: URLSearchParams, res?: ServerResponse): void {
    if (typeof body !== 'object' || body === null) return;
    // Without the parameter a real server warns (kubectl sends Strict itself).
    const validation = q.get('fieldValidation') ?? 'Warn';
    if (!['Strict', 'Warn', 'Ignore'].includes(validation)) {
      const method = res?.req?.method;
      const options = method === 'POST' ? 'CreateOptions' : method === 'PATCH' ? 'PatchOptions' : 'UpdateOptions';
      throw errors.invalid(options, 'meta.k8s.io', '', [cause.notSupported('fieldValidation', validation, ['', 'Ignore', 'Strict', 'Warn'])]);
    }
    const unknown = t.crd ? pruneCustomResource(t, body) : pruneBuiltin(t, body);
    if (unknown.length > 0 && validation === 'Strict') {
      throw errors.badRequest(`${t.kind} in version ${JSON.stringify(t.version)} cannot be handled as a ${t.kind}: strict decoding error: ${unknown.map((f: string) => `unknown field "${f}"`).join(', ')}`);
    }
    if (unknown.length > 0 && validation === 'Warn' && res) {
      res.setHeader('Warning', unknown.map((f: string) => `299 - "unknown field \\"${f}\\""`));
    }
    if (t.crd) defaultCustomResource(t, body);
  }

  private async create(req: IncomingMessage, res: ServerResponse, t: ResourceType, namespace: string | undefined, q: URLSearchParams): Promise<void> {
    const body = await this.decodeWrite(req, t, q, res);
    const entry = this.o.objects.create(t, namespace, body, this.writeOptions(req, q));
    this.respondEntry(req, res, 201, t, entry);
  }

  private async patch(req: IncomingMessage, res: ServerResponse, t: ResourceType, r: ResourceRequest, q: URLSearchParams, subresource?: string): Promise<Entry> {
    const type = patchTypeOf(mediaType(req.headers['content-type']));
    const raw = await readBody(req);
    const patch = type === 'apply' ? parseYaml(raw) : parseJson(raw);
    const opts = this.writeOptions(req, q, subresource);
    const name = r.name!;
    const current = this.o.objects.find(t, r.namespace, name);
    const base = { kind: t.kind, apiVersion: apiVersionOf(t), isCustom: !!t.crd };
    let entry: Entry;
    if (type === 'apply') {
      const manager = q.get('fieldManager');
      if (!manager) {
        throw errors.invalid('PatchOptions', 'meta.k8s.io', '', [cause.required('fieldManager', 'is required for apply patch')]);
      }
      if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) throw errors.badRequest('the apply configuration must be an object');
      if (patch.metadata?.name !== undefined && patch.metadata.name !== name) {
        throw errors.badRequest(`the name of the object (${patch.metadata.name}) does not match the name on the URL (${name})`);
      }
      patch.metadata ??= {};
      patch.metadata.name = name;
      if (t.namespaced) patch.metadata.namespace ??= r.namespace;
      this.checkUnknownFields(t, patch, q, res);
      const { object } = serverSideApply(current?.obj, patch, { ...base, manager, force: boolParam(q, 'force'), now: nowRfc3339(), subresource });
      if (!current) {
        if (subresource) throw errors.notFound(t.plural, t.group, name);
        entry = this.o.objects.create(t, r.namespace, object, { ...opts, fieldManager: manager, tracked: true });
        this.respondObject(req, res, 201, t, entry.obj);
        return entry;
      }
      entry = this.o.objects.replace(t, current, object, { ...opts, fieldManager: manager, tracked: true });
    } else {
      if (!current) throw errors.notFound(t.plural, t.group, name);
      const next = applyPatch(type, current.obj, patch, base);
      this.checkUnknownFields(t, next, q, res);
      const rv = next.metadata?.resourceVersion;
      if (rv !== undefined && rv !== current.obj.metadata.resourceVersion) throw errors.conflict(t.plural, t.group, name);
      entry = this.o.objects.replace(t, current, next, opts);
    }
    this.respondEntry(req, res, 200, t, entry);
    return entry;
  }

  private async deleteOptions(req: IncomingMessage, q: URLSearchParams): Promise<DeleteOptions> {
    const raw = await readBody(req);
    const body = raw.length > 0 ? parseJson(raw, 'DeleteOptions') : {};
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw errors.badRequest('the body of a DELETE must be a DeleteOptions object');
    // A real server answers these with 500 (a decoding error it does not classify); they are the client's.
    const problem = shapeProblem('DeleteOptions', body);
    if (problem) throw errors.badRequest(problem);
    const grace = body.gracePeriodSeconds ?? intParam(q, 'gracePeriodSeconds');
    let policy = body.propagationPolicy ?? q.get('propagationPolicy') ?? undefined;
    if (policy === undefined && (body.orphanDependents === true || boolParam(q, 'orphanDependents'))) policy = 'Orphan';
    if (policy !== undefined && !['Background', 'Foreground', 'Orphan'].includes(policy)) {
      throw errors.badRequest(`propagationPolicy: Unsupported value: ${JSON.stringify(policy)}: supported values: "Foreground", "Background", "Orphan"`);
    }
    const dryRun = [...(body.dryRun ?? []), ...q.getAll('dryRun')];
    return { gracePeriodSeconds: grace, propagationPolicy: policy, preconditions: body.preconditions, dryRun: dryRun.includes('All') };
  }

  private async deleteCollection(req: IncomingMessage, res: ServerResponse, t: ResourceType, namespace: string | undefined, q: URLSearchParams): Promise<void> {
    const filter = compileFilter(t, namespace, q.get('labelSelector'), q.get('fieldSelector'));
    const opts = await this.deleteOptions(req, q);
    const items: any[] = [];
    for (const e of this.o.storage.list(collectionKey(t), namespace, undefined, filter.labelTerms)) {
      if (!filter.matches(e)) continue;
      try {
        items.push(this.o.objects.delete(t, e.obj.metadata.namespace, e.obj.metadata.name, opts).entry.obj);
      } catch (err) {
        if (!(err instanceof ApiError && err.code === 404)) throw err;
      }
    }
    const list = { kind: `${t.kind}List`, apiVersion: apiVersionOf(t), metadata: { resourceVersion: String(this.o.storage.resourceVersion) }, items };
    sendJson(res, 200, t.crd ? withSortedKeys(list) : list);
  }

  private respondObject(req: IncomingMessage, res: ServerResponse, code: number, t: ResourceType, obj: any): void {
    if (parseTableAccept(req.headers.accept)) {
      return sendJson(res, code, toTable(t, [obj], { includeObject: includeObjectParam(req), now: new Date() }));
    }
    send(res, code, JSON.stringify(obj));
  }

  /** A stored object: its JSON is already built. */
  private respondEntry(req: IncomingMessage, res: ServerResponse, code: number, t: ResourceType, entry: Entry): void {
    if (parseTableAccept(req.headers.accept)) return this.respondObject(req, res, code, t, entry.obj);
    send(res, code, entry.json);
  }

  private list(req: IncomingMessage, res: ServerResponse, t: ResourceType, namespace: string | undefined, q: URLSearchParams): void {
    const filter = compileFilter(t, namespace, q.get('labelSelector'), q.get('fieldSelector'));
    const limit = intParam(q, 'limit');
    const token = q.get('continue');
    const storage = this.o.storage;
    let at: number | undefined;
    let start = '';
    if (token) {
      const c = decodeContinue(token);
      at = c.rv;
      start = c.start;
      if (at > storage.resourceVersion) throw errors.tooLargeResourceVersion(at, storage.resourceVersion);
      if (at < storage.compactedRevision) {
        throw errors.expired('The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.');
      }
    } else {
      const rv = q.get('resourceVersion');
      const match = q.get('resourceVersionMatch');
      if (match && !['Exact', 'NotOlderThan'].includes(match)) {
        throw errors.badRequest(`resourceVersionMatch: Unsupported value: ${JSON.stringify(match)}: supported values: "Exact", "NotOlderThan"`);
      }
      if (match && !rv) throw errors.invalid('ListOptions', 'meta.k8s.io', '', [cause.forbidden('resourceVersionMatch', 'resourceVersionMatch is forbidden unless resourceVersion is provided')]);
      if (rv && rv !== '0') {
        const n = Number(rv);
        if (!Number.isInteger(n) || n < 0) throw errors.badRequest(`invalid resource version: ${JSON.stringify(rv)}`);
        // kube-apiserver answers Exact from a future revision with etcd's 500; the devcluster
        // answers every list from a version it has not reached as it answers NotOlderThan.
        if (n > storage.resourceVersion) throw errors.tooLargeResourceVersion(n, storage.resourceVersion);
        if (match === 'Exact') at = n;
      }
    }
    const snapshotRv = at ?? storage.resourceVersion;
    let entries: Entry[];
    try {
      entries = storage.list(collectionKey(t), namespace, at, filter.labelTerms);
    } catch (err) {
      if (err instanceof HistoryExpiredError) throw errors.expired(`The resourceVersion for the provided list is too old.`);
      throw err;
    }
    let i = 0;
    if (start) {
      let lo = 0;
      let hi = entries.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (entries[mid].key < start) lo = mid + 1;
        else hi = mid;
      }
      i = lo;
    }
    const page: Entry[] = [];
    const max = limit && limit > 0 ? limit : Infinity;
    for (; i < entries.length && page.length < max; i++) if (filter.matches(entries[i])) page.push(entries[i]);
    // Look ahead for another match, so that `continue` is only set when there is more to read.
    let more = false;
    if (page.length === max) {
      for (let j = i; j < entries.length; j++) {
        if (filter.matches(entries[j])) {
          more = true;
          break;
        }
      }
    }
    const metadata: Record<string, unknown> = { resourceVersion: String(snapshotRv) };
    if (more) {
      metadata.continue = encodeContinue(snapshotRv, page[page.length - 1].key);
      if (!filter.selective) metadata.remainingItemCount = entries.length - i;
    }
    if (parseTableAccept(req.headers.accept)) {
      return sendJson(res, 200, toTable(t, page.map((e) => e.obj), { includeObject: includeObjectParam(req), listMeta: metadata as any, now: new Date() }));
    }
    sendList(res, listFrame(t, metadata), page);
  }

  private watch(req: IncomingMessage, res: ServerResponse, t: ResourceType, namespace: string | undefined, q: URLSearchParams): void {
    const filter: Filter = compileFilter(t, namespace, q.get('labelSelector'), q.get('fieldSelector'));
    const allowBookmarks = boolParam(q, 'allowWatchBookmarks');
    const sendInitial = String(optionalBoolParam(q, 'sendInitialEvents') ?? '') || null;
    const rv = q.get('resourceVersion') ?? undefined;
    if (sendInitial === 'true') {
      const causes = [];
      if (!allowBookmarks) causes.push(cause.forbidden('allowWatchBookmarks', 'allowWatchBookmarks required when sendInitialEvents is set'));
      if (q.get('resourceVersionMatch') !== 'NotOlderThan') causes.push(cause.forbidden('resourceVersionMatch', "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"));
      if (causes.length > 0) throw errors.invalid('ListOptions', 'meta.k8s.io', '', causes);
    }
    const timeoutSeconds = intParam(q, 'timeoutSeconds');
    const table = parseTableAccept(req.headers.accept);
    const includeObject = includeObjectParam(req);
    serveWatch(
      res,
      {
        t,
        filter,
        resourceVersion: rv,
        allowBookmarks,
        initialEvents: sendInitial === 'true' || ((!rv || rv === '0') && sendInitial !== 'false'),
        initialEventsEnd: sendInitial === 'true',
        timeoutSeconds,
        bookmarkIntervalMs: this.o.bookmarkIntervalMs ?? 5000,
        render: table ? (e) => JSON.stringify(toTable(t, [e.obj], { includeObject, now: new Date() })) : undefined,
      },
      {
        storage: this.o.storage,
        faults: this.faults,
        watchers: this.watchers,
        onEvent: (c) => this.watchEvents.inc({ collection: c }),
        maxBufferedBytes: this.o.watchBufferBytes ?? 8 * 1024 * 1024,
        onTooSlow: (c) => this.watchesTooSlow.inc({ collection: c }),
        buffered: this.watchBuffered,
      },
    );
  }

  private async serveSubresource(req: IncomingMessage, res: ServerResponse, url: URL, t: ResourceType, r: ResourceRequest): Promise<string> {
    const method = req.method ?? 'GET';
    const q = url.searchParams;
    const sub = r.subresource!;
    const name = r.name!;
    if (sub === 'status' && t.status) {
      if (method === 'GET') {
        this.respondObject(req, res, 200, t, this.o.objects.get(t, r.namespace, name).obj);
        return 'get';
      }
      if (method === 'PUT') {
        const body = await this.decodeWrite(req, t, q);
        const { entry } = this.o.objects.update(t, r.namespace, name, body, this.writeOptions(req, q, 'status'));
        this.respondObject(req, res, 200, t, entry.obj);
        return 'update';
      }
      if (method === 'PATCH') {
        await this.patch(req, res, t, r, q, 'status');
        return 'patch';
      }
      throw errors.methodNotAllowed(method);
    }
    if (sub === 'scale' && t.scale) return this.serveScale(req, res, q, t, r);
    if (t.group === '' && t.plural === 'pods' && sub === 'binding' && method === 'POST') {
      bindPod(this.o.objects, t, r.namespace!, name, decodeObject(await readBody(req), req.headers['content-type']));
      sendJson(res, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
      return 'create';
    }
    if (t.group === '' && t.plural === 'pods' && (sub === 'log' || sub === 'exec' || sub === 'attach' || sub === 'portforward')) {
      const pod = this.o.objects.get(t, r.namespace, name).obj;
      if (sub === 'log') return await this.servePodLog(res, pod, q);
      throw errors.badRequest(`${sub} is not available on the kre devcluster: pod "${name}" runs on a simulated node whose containers run no processes`);
    }
    if (t.group === '' && t.plural === 'namespaces' && sub === 'finalize' && method === 'PUT') {
      const body = await this.decodeWrite(req, t, q);
      const current = this.o.objects.get(t, undefined, name);
      const next = structuredClone(current.obj);
      next.spec = { ...next.spec, finalizers: body.spec?.finalizers ?? [] };
      const entry = this.o.objects.replace(t, current, next, this.writeOptions(req, q, 'finalize'));
      this.respondObject(req, res, 200, t, entry.obj);
      return 'update';
    }
    throw errors.pathNotFound();
  }

  /**
   * `kubectl logs`: from the kubelet's `/containerLogs` when the pod runs on a simulated node of
   * this process (as a real server proxies to the kubelet), else what a simulated container would
   * print; its pod must have started.
   */
  private async servePodLog(res: ServerResponse, pod: any, q: URLSearchParams): Promise<string> {
    const containers: any[] = pod.spec?.containers ?? [];
    const name = q.get('container') ?? (containers.length === 1 ? containers[0].name : undefined);
    if (!name) {
      throw errors.badRequest(`a container name must be specified for pod ${pod.metadata.name}, choose one of: [${containers.map((c) => c.name).join(' ')}]`);
    }
    const container = containers.find((c) => c.name === name);
    if (!container) throw errors.badRequest(`container ${name} is not valid for pod ${pod.metadata.name}`);
    const status = (pod.status?.containerStatuses ?? []).find((s: any) => s.name === name);
    if (!status?.state?.running && !status?.state?.terminated) {
      throw errors.badRequest(`container "${name}" in pod "${pod.metadata.name}" is waiting to start: ${status?.state?.waiting?.reason ?? 'ContainerCreating'}`);
    }
    const kubelet = pod.spec?.nodeName ? this.o.nodes?.()?.endpoint(pod.spec.nodeName) : undefined;
    if (kubelet) {
      await this.proxyContainerLogs(res, kubelet, pod, name, q);
      return 'get';
    }
    const started = status.state.running?.startedAt ?? status.state.terminated?.startedAt;
    const lines = [
      `${started} simulated container ${name} started from image ${container.image} on node ${pod.spec.nodeName}`,
      `${started} this pod runs on a kre devcluster node: its containers are simulated and run no processes`,
    ];
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end(lines.join('\n') + '\n');
    return 'get';
  }

  private proxyContainerLogs(res: ServerResponse, kubelet: { host: string; port: number; caCert: string }, pod: any, container: string, q: URLSearchParams): Promise<void> {
    const query = new URLSearchParams();
    for (const k of ['follow', 'previous', 'timestamps', 'tailLines', 'limitBytes', 'sinceSeconds', 'sinceTime']) {
      const v = q.get(k);
      if (v !== null) query.set(k, v);
    }
    const path = `/containerLogs/${encodeURIComponent(pod.metadata.namespace)}/${encodeURIComponent(pod.metadata.name)}/${encodeURIComponent(container)}${query.size ? `?${query}` : ''}`;
    const target = `https://${kubelet.host}:${kubelet.port}${path}`;
    return new Promise((resolve, reject) => {
      const upstream = httpsRequest(
        { host: kubelet.host, port: kubelet.port, path, ca: kubelet.caCert, headers: { Authorization: `Bearer ${this.o.token}` }, timeout: KUBELET_TIMEOUT_MS },
        (answer) => {
          const chunks: Buffer[] = [];
          answer.on('data', (c: Buffer) => chunks.push(c));
          answer.on('error', (err) => reject(errors.internal(`Get "${target}": ${err.message}`)));
          answer.on('end', () => {
            const body = Buffer.concat(chunks);
            const code = answer.statusCode ?? 500;
            if (code !== 200) return reject(new ApiError(code >= 500 ? 500 : code, code === 404 ? 'NotFound' : 'InternalError', body.toString('utf8').trim() || `kubelet answered ${code}`));
            res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length });
            res.end(body);
            resolve();
          });
        },
      );
      upstream.on('timeout', () => upstream.destroy(new Error('context deadline exceeded')));
      upstream.on('error', (err: NodeJS.ErrnoException) => {
        const why = err.code === 'ECONNREFUSED' ? `dial tcp ${kubelet.host}:${kubelet.port}: connect: connection refused` : err.message;
        reject(errors.internal(`Get "${target}": ${why}`));
      });
      upstream.end();
    });
  }

  private async serveScale(req: IncomingMessage, res: ServerResponse, q: URLSearchParams, t: ResourceType, r: ResourceRequest): Promise<string> {
    const method = req.method ?? 'GET';
    const scale = t.scale!;
    const current = this.o.objects.get(t, r.namespace, r.name!);
    const read = (obj: any, path: string) => path.split('.').filter(Boolean).reduce((o, k) => o?.[k], obj);
    const toScale = (obj: any) => ({
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: { name: obj.metadata.name, namespace: obj.metadata.namespace, uid: obj.metadata.uid, resourceVersion: obj.metadata.resourceVersion, creationTimestamp: obj.metadata.creationTimestamp },
      spec: { replicas: read(obj, scale.specReplicasPath) ?? 0 },
      status: { replicas: read(obj, scale.statusReplicasPath) ?? 0, ...(scale.labelSelectorPath && read(obj, scale.labelSelectorPath) ? { selector: read(obj, scale.labelSelectorPath) } : scaleSelector(obj)) },
    });
    if (method === 'GET') {
      sendJson(res, 200, toScale(current.obj));
      return 'get';
    }
    let replicas: unknown;
    const raw = await readBody(req);
    if (method === 'PUT') {
      const body = parseJson(raw);
      if (body.metadata?.resourceVersion && body.metadata.resourceVersion !== current.obj.metadata.resourceVersion) throw errors.conflict(t.plural, t.group, r.name!);
      replicas = body.spec?.replicas;
    } else if (method === 'PATCH') {
      const type = patchTypeOf(mediaType(req.headers['content-type']));
      if (type === 'apply') throw errors.unsupportedMediaType('application/apply-patch+yaml');
      replicas = applyPatch(type, toScale(current.obj), parseJson(raw), { kind: 'Scale', apiVersion: 'autoscaling/v1', isCustom: false }).spec?.replicas;
    } else throw errors.methodNotAllowed(method);
    if (!Number.isInteger(replicas) || (replicas as number) < 0) {
      throw errors.invalid('Scale', 'autoscaling', r.name!, [cause.invalid('spec.replicas', replicas, 'must be greater than or equal to 0')]);
    }
    const next = structuredClone(current.obj);
    const parts = scale.specReplicasPath.split('.').filter(Boolean);
    let o = next;
    for (const p of parts.slice(0, -1)) o = o[p] ??= {};
    o[parts[parts.length - 1]] = replicas;
    const entry = this.o.objects.replace(t, current, next, this.writeOptions(req, q));
    sendJson(res, 200, toScale(entry.obj));
    return method === 'PUT' ? 'update' : 'patch';
  }
}

/** Maps the node admin's errors (with a `reason`) to Status errors. */
async function nodeAdminCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    const reason = (err as { reason?: string }).reason;
    const message = (err as Error).message;
    if (reason === 'NotFound') throw new ApiError(404, 'NotFound', message);
    if (reason === 'BadRequest') throw errors.badRequest(message);
    if (reason === 'Conflict') throw new ApiError(409, 'Conflict', message);
    throw err;
  }
}

/** Built-in workloads keep the selector in spec; Scale reports it as a string. */
function scaleSelector(obj: any): Record<string, string> {
  const ml = obj.spec?.selector?.matchLabels;
  if (!ml) return {};
  return { selector: Object.entries(ml).map(([k, v]) => `${k}=${v}`).join(',') };
}

function includeObjectParam(req: IncomingMessage): IncludeObject {
  return parseIncludeObject(new URL(req.url ?? '/', 'https://x').searchParams.get('includeObject'));
}

/** A write without ?fieldManager is recorded under the client's name, as a real server does. */
function userAgentManager(req: IncomingMessage): string {
  const ua = req.headers['user-agent'] ?? 'unknown';
  return ua.split('/')[0] || 'unknown';
}

/**
 * The monitor's read-only HTTP API.
 *
 * - The seed's endpoints: `GET /pods|/nodes|/services|/ingress|/pvcs|/deployments` with `name`,
 *   `namespace`, `node` (pods), `label_selector` (full Kubernetes syntax) and `view`, answering
 *   `{"items": [...], "freshness": {...}}`. Any other parameter is a 400 naming it.
 * - Kubernetes-shaped reads (`/api/v1/pods`, `/apis/apps/v1/namespaces/x/deployments/y`, …) with
 *   labelSelector, fieldSelector and limit/continue, plus discovery for the cached kinds, so that
 *   kubectl and client libraries read the cache as they read an API server. Lists are plain JSON:
 *   kubectl asks for a Table and, given a list, prints it itself. Freshness goes in
 *   `X-Kre-*` response headers there. Watches (`?watch=1`) are served from the cache with the
 *   in-memory store (watch-hub.ts). Writes are refused with a Status.
 *
 * - Prometheus HTTP service discovery (`/sd/kubelets`, `/sd/pods`, and `/sd/endpoints` when
 *   `v1/endpoints` is among the cached resources; see sd.ts) and
 *   kube-state-metrics-compatible series (`/metrics/kube-state`; see kube-state.ts), from the
 *   aggregated view, behind the same token (Prometheus sends it with `authorization`).
 *
 * Every served object carries the annotation `kre.konstellation.io/monitor-source` (`verified` or
 * `streamed`). `/livez`, `/readyz` and `/metrics` are open; everything else needs the bearer token.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { bearerMatches, decodePathSegment, fieldMatcher, keyOf, MalformedPathError, parseFieldSelector, parseIncludeObject, parseLabelSelector, parseTableAccept, SelectorError, toTable, urlHost, type IncludeObject, type KubeObject, type ListMeta } from '../kube/index.ts';
import { kubeStateFamilies, renderFamilies } from './kube-state.ts';
import type { MonitorMetrics } from './metrics.ts';
import type { MonitoredResource } from './resources.ts';
import { resourceId } from './resources.ts';
import type { Entry } from './entry.ts';
import { MemoryStore } from './memory-store.ts';
import { acceptsGzip, GZIP_MIN_BYTES, sendBody, sendJsonList, servedBytes, servedObject, type WholeAnswer } from './serve-json.ts';
import { AnswerCache, type AnswerCacheLimits } from './answer-cache.ts';
import { TooOldError, WatchHub } from './watch-hub.ts';
import { endpointsTargetGroups, nodeTargetGroups, podTargetGroups } from './sd.ts';
import { StoreUnavailableError, VIEWS, type CachedObject, type Freshness, type MonitorStore, type View } from './store.ts';

export { SOURCE_ANNOTATION } from './entry.ts';
export const KUBERNETES_VERSION = { major: '1', minor: '32', gitVersion: 'v1.32.0-kre-monitor', platform: 'linux/amd64' };

export interface MonitorHttpOptions {
  store: MonitorStore;
  resources: MonitoredResource[];
  token: string;
  metrics: MonitorMetrics;
  ready(): boolean;
  /** Readiness with its reason, preferred to `ready` when given. */
  readiness?(): { ready: boolean; reason?: string; degraded?: string };
  logger?: Logger;
  tls?: { cert: string; key: string };
  /** Pod label keys `kube_pod_labels` carries on `/metrics/kube-state`. */
  podLabelsAllowlist?: readonly string[];
  /** A watcher's unsent bytes beyond which its watch is closed (watch-hub.ts; default 16 MiB). */
  watchMaxQueuedBytes?: number;
  /** Bounds of the list answers kept for repeated queries (answer-cache.ts). */
  answerCache?: AnswerCacheLimits;
}

class HttpError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: object,
  ) {
    super(message);
  }
}

const SEED_PARAMS = new Set(['name', 'namespace', 'label_selector', 'view']);
/** What a real server accepts on a list; the monitor honours the first four and ignores the rest. */
const LIST_PARAMS = new Set([
  'labelSelector', 'fieldSelector', 'limit', 'continue', 'view',
  'resourceVersion', 'resourceVersionMatch', 'timeoutSeconds', 'allowWatchBookmarks', 'sendInitialEvents', 'pretty', 'watch', 'includeObject',
]);
const CONTINUE_TTL_MS = 60_000;
const CONTINUE_SNAPSHOTS = 32;

interface ListSnapshot {
  items: CachedObject[];
  resourceVersion: string;
  freshness: Freshness;
  expires: number;
}

export class MonitorHttp {
  readonly server: http.Server;
  private readonly token: Buffer;
  /** Lists being paged through with `continue`, each served from the snapshot of its first page. */
  private readonly snapshots = new Map<string, ListSnapshot>();

  /** Per resource id, the watches served from the cache (with a store that tells its changes). */
  private readonly hubs = new Map<string, WatchHub>();
  private readonly unsubscribe: (() => void)[] = [];
  /** The in-memory store, when it is one: its lists are synchronous and tell their revision. */
  private readonly memory: MemoryStore | undefined;
  private readonly answers: AnswerCache;

  constructor(private readonly o: MonitorHttpOptions) {
    const store = o.store;
    this.memory = store instanceof MemoryStore ? store : undefined;
    this.answers = new AnswerCache(o.answerCache);
    if (store instanceof MemoryStore) {
      for (const r of o.resources) {
        const id = resourceId(r);
        const hub = new WatchHub({
          kind: r.kind,
          apiVersion: r.group ? `${r.group}/${r.version}` : r.version,
          logger: o.logger,
          resource: id,
          maxQueuedBytes: o.watchMaxQueuedBytes,
          onClosedTooSlow: () => o.metrics.watchesClosedTooSlow.inc({ resource: id }),
        });
        this.hubs.set(id, hub);
        this.unsubscribe.push(store.onChange(id, (c) => hub.publish(c)));
      }
    }
    this.token = Buffer.from(o.token);
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => void this.handle(req, res);
    this.server = o.tls ? https.createServer({ cert: o.tls.cert, key: o.tls.key }, handler) : http.createServer(handler);
    this.server.on('connection', (s) => s.setNoDelay(true));
    // Longer than clients keep idle connections (client-go 90 s, Node agents until closed): a server
    // closing first races the client's next request on that socket, which then fails with a reset.
    this.server.keepAliveTimeout = 120_000;
  }

  async listen(host: string, port: number): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve());
    });
    const addr = this.server.address() as AddressInfo;
    return `${this.o.tls ? 'https' : 'http'}://${urlHost(host)}:${addr.port}`;
  }

  /** Stops accepting, lets requests in flight finish (up to `graceMs`), then closes what is left. */
  async close(graceMs = 5000): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const u of this.unsubscribe) u();
    for (const hub of this.hubs.values()) hub.closeAll();
    this.server.closeIdleConnections();
    const timer = setTimeout(() => this.server.closeAllConnections(), graceMs);
    await closed;
    clearTimeout(timer);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://monitor');
    let route = 'other';
    try {
      const path = url.pathname.replace(/\/+$/, '') || '/';
      if (path === '/livez') return this.send(res, (route = path), 200, 'ok', 'text/plain');
      if (path === '/readyz') {
        const r = this.o.readiness?.() ?? { ready: this.o.ready() };
        const body = !r.ready ? `not ready: ${r.reason ?? 'starting'}` : r.degraded ? `ok, degraded: ${r.degraded}` : 'ok';
        return this.send(res, (route = path), r.ready ? 200 : 503, body, 'text/plain');
      }
      if (path === '/metrics') {
        route = path;
        return this.send(res, route, 200, await this.o.metrics.registry.metrics(), this.o.metrics.registry.contentType);
      }
      if (!this.authorized(req)) throw new HttpError(401, 'Unauthorized', 'Unauthorized');
      if (req.method !== 'GET') {
        throw new HttpError(405, 'MethodNotAllowed', `the monitor serves reads of its cache only; ${req.method} is not allowed`);
      }
      if (path === '/sd/kubelets' || path === '/sd/pods') {
        route = path;
        const objects = await this.cached(path === '/sd/kubelets' ? 'nodes' : 'pods');
        return this.json(res, route, 200, path === '/sd/kubelets' ? nodeTargetGroups(objects) : podTargetGroups(objects));
      }
      if (path === '/sd/endpoints') {
        route = path;
        const [endpoints, services, pods] = await Promise.all([this.cached('endpoints'), this.cached('services'), this.cached('pods')]);
        return this.json(res, route, 200, endpointsTargetGroups(endpoints, services, pods));
      }
      if (path === '/metrics/kube-state') {
        route = path;
        const [pods, deployments, nodes] = await Promise.all([this.cached('pods'), this.cached('deployments.apps'), this.cached('nodes')]);
        const families = kubeStateFamilies({ pods, deployments, nodes }, { podLabelsAllowlist: this.o.podLabelsAllowlist ?? [] });
        return this.send(res, route, 200, renderFamilies(families), 'text/plain; version=0.0.4; charset=utf-8');
      }
      const seed = this.o.resources.find((r) => r.seedPath === path);
      if (seed) {
        route = path;
        return await this.seedList(seed, url.searchParams, res, route);
      }
      const discovery = this.discovery(path);
      if (discovery) return this.json(res, (route = discovery.route), 200, discovery.body);
      const target = this.parseResourcePath(path);
      if (target) {
        route = target.route;
        return await this.kubeRead(target, url.searchParams, res, route, parseTableAccept(req.headers.accept), acceptsGzip(req.headers['accept-encoding']));
      }
      throw new HttpError(404, 'NotFound', 'the server could not find the requested resource');
    } catch (caught) {
      const err = caught instanceof MalformedPathError ? badRequest(caught.message) : caught;
      if (err instanceof StoreUnavailableError) {
        return this.json(res, route, 503, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: err.message, reason: 'ServiceUnavailable', code: 503 });
      }
      if (!(err instanceof HttpError)) this.o.logger?.error({ err: (err as Error).message, path: url.pathname }, 'request failed');
      const e = err instanceof HttpError ? err : new HttpError(500, 'InternalError', (err as Error).message);
      this.json(res, route, e.code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: e.message, reason: e.reason, ...(e.details ? { details: e.details } : {}), code: e.code });
    }
  }

  private authorized(req: http.IncomingMessage): boolean {
    return bearerMatches(req, this.token);
  }

  /** Every object of a cached resource (aggregated view); 404 naming it when it is not cached. */
  private async cached(id: string): Promise<KubeObject[]> {
    if (!this.o.resources.some((r) => resourceId(r) === id)) throw new HttpError(404, 'NotFound', `the monitor does not cache ${id}; add it to "resources"`);
    return (await this.o.store.list(id, 'aggregated')).items.map((i) => i.object);
  }

  // --- the seed's endpoints

  private async seedList(r: MonitoredResource, params: URLSearchParams, res: http.ServerResponse, route: string): Promise<void> {
    for (const key of params.keys()) {
      if (!SEED_PARAMS.has(key) && !(key === 'node' && r.plural === 'pods')) throw badRequest(`unknown parameter "${key}"`);
    }
    const view = parseView(params.get('view'));
    const labelSelector = checkedLabelSelector(params.get('label_selector') ?? undefined, 'label_selector');
    const node = params.get('node') ?? undefined;
    const result = await this.o.store.list(resourceId(r), view, {
      namespace: params.get('namespace') ?? undefined,
      name: params.get('name') ?? undefined,
      labelSelector,
      nodeName: node,
    });
    await this.list(res, route, '{"items":[', result.items, `],"freshness":${JSON.stringify(result.freshness)}}`, result.freshness);
  }

  // --- Kubernetes-shaped reads

  private parseResourcePath(path: string): { r: MonitoredResource; namespace?: string; name?: string; route: string } | undefined {
    const parts = path.split('/').slice(1).map(decodePathSegment);
    let group: string;
    let rest: string[];
    if (parts[0] === 'api' && parts.length >= 3) {
      group = '';
      rest = parts.slice(1);
    } else if (parts[0] === 'apis' && parts.length >= 4) {
      group = parts[1];
      rest = parts.slice(2);
    } else return undefined;
    const [version, ...tail] = rest;
    let namespace: string | undefined;
    let nsRoute = '';
    if (tail[0] === 'namespaces' && tail.length >= 3) {
      namespace = tail[1];
      nsRoute = '/namespaces/{namespace}';
      tail.splice(0, 2);
    }
    if (tail.length < 1 || tail.length > 2) return undefined;
    const r = this.o.resources.find((x) => x.group === group && x.version === version && x.plural === tail[0]);
    if (!r || (namespace !== undefined && !r.namespaced)) return undefined;
    const base = group ? `/apis/${group}/${version}` : `/api/${version}`;
    return { r, namespace, name: tail[1], route: `${base}${nsRoute}/${r.plural}${tail[1] !== undefined ? '/{name}' : ''}` };
  }

  private async kubeRead(
    t: { r: MonitoredResource; namespace?: string; name?: string },
    params: URLSearchParams,
    res: http.ServerResponse,
    route: string,
    asTable: boolean,
    gzipOk: boolean,
  ): Promise<void> {
    const view = parseView(params.get('view'));
    const table = asTable ? this.tableOf(t.r, parseIncludeObject(params.get('includeObject'))) : undefined;
    const id = resourceId(t.r);
    const apiVersion = t.r.group ? `${t.r.group}/${t.r.version}` : t.r.version;
    if (t.name !== undefined) {
      const { item, freshness } = await this.o.store.get(id, view, t.r.namespaced ? t.namespace : undefined, t.name);
      if (!item) {
        throw new HttpError(404, 'NotFound', `${t.r.plural}${t.r.group ? `.${t.r.group}` : ''} "${t.name}" not found`, { name: t.name, group: t.r.group, kind: t.r.plural });
      }
      if (table) return this.json(res, route, 200, table([item]), freshness);
      this.o.metrics.served.inc({ path: route, code: '200' });
      const body = servedBytes(item);
      res.writeHead(200, { ...freshnessHeaders(freshness), 'Content-Type': 'application/json', 'Content-Length': body.length, 'Cache-Control': 'no-cache, private' });
      res.end(body);
      return;
    }
    for (const key of params.keys()) if (!LIST_PARAMS.has(key)) throw badRequest(`unknown parameter "${key}"`);
    if (params.get('watch') === 'true' || params.get('watch') === '1') return this.watch(t, id, view, params, res, route, table);
    const limit = parseLimit(params.get('limit'));
    const token = params.get('continue');
    let snapshot: ListSnapshot;
    let offset = 0;
    let keep: { key: string; revision: number } | undefined;
    if (token) {
      const c = decodeContinue(token);
      const found = c && this.snapshots.get(c.id);
      if (!c || !found || found.expires < Date.now()) {
        throw new HttpError(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.');
      }
      snapshot = found;
      offset = c.offset;
    } else {
      const labelParam = params.get('labelSelector') ?? undefined;
      const fieldParam = params.get('fieldSelector');
      // A whole list (not a Table) from the in-memory store: kept for the same query while the
      // resource's revision holds. A first page counts when it is the whole list: kubectl and
      // client-go's informers ask with limit=500. A kept answer's selectors were checked when it
      // was made.
      keep = this.memory && !table ? { key: JSON.stringify([id, view, t.namespace ?? null, labelParam ?? null, fieldParam, limit ?? null]), revision: this.memory.revision(id) } : undefined;
      const kept = keep && this.answers.get(keep.key, keep.revision, res);
      if (keep && kept) {
        this.o.metrics.served.inc({ path: route, code: '200' });
        const headers = { ...freshnessHeaders(this.memory!.freshnessNow(id, view)), 'Cache-Control': 'no-cache, private', Vary: 'Accept-Encoding' };
        const gz = gzipOk && kept.length >= GZIP_MIN_BYTES ? await this.answers.gzipped(keep.key, keep.revision) : undefined;
        this.o.metrics.listAnswers.inc({ answer: gz ? 'kept_gzip' : 'kept' });
        return sendBody(res, 200, gz ? { ...headers, 'Content-Encoding': 'gzip' } : headers, gz ?? kept);
      }
      const labelSelector = checkedLabelSelector(labelParam, 'labelSelector');
      const filter = this.fieldFilter(t.r, fieldParam);
      const query = { namespace: t.namespace, labelSelector, filter };
      // From the in-memory store synchronously, so that the answer is the one of `keep.revision`.
      const result = this.memory ? this.memory.listNow(id, view, query) : await this.o.store.list(id, view, query);
      snapshot = {
        items: sortByKey(result.items),
        resourceVersion: result.freshness.streamResourceVersion ?? result.freshness.verifiedResourceVersion ?? '',
        freshness: result.freshness,
        expires: Date.now() + CONTINUE_TTL_MS,
      };
    }
    const end = limit ? Math.min(snapshot.items.length, offset + limit) : snapshot.items.length;
    const metadata: Record<string, unknown> = { resourceVersion: snapshot.resourceVersion };
    if (end < snapshot.items.length) {
      metadata.continue = this.keepSnapshot(snapshot, end, token);
      metadata.remainingItemCount = snapshot.items.length - end;
    }
    const items = offset === 0 && end === snapshot.items.length ? snapshot.items : snapshot.items.slice(offset, end);
    if (table) return this.json(res, route, 200, table(items, metadata as unknown as ListMeta), snapshot.freshness);
    const head = JSON.stringify({ kind: `${t.r.kind}List`, apiVersion, metadata, items: [] }).slice(0, -2);
    const answers = this.answers;
    const whole = keep && metadata.continue === undefined ? { room: (n: number) => answers.room(keep.key, n), made: (body: Buffer, room: Buffer) => answers.set(keep.key, keep.revision, body, room, res) } : undefined;
    if (whole) this.o.metrics.listAnswers.inc({ answer: 'made' });
    await this.list(res, route, head, items, ']}', snapshot.freshness, whole);
  }

  /** Renders cached objects as a meta.k8s.io/v1 Table, the columns the API server prints (kubectl get). */
  private tableOf(r: MonitoredResource, includeObject: IncludeObject): (items: readonly CachedObject[], listMeta?: ListMeta) => object {
    return (items, listMeta) => toTable(r, items.map(servedObject), { includeObject, listMeta, now: new Date() });
  }

  private watch(
    t: { r: MonitoredResource; namespace?: string },
    id: string,
    view: View,
    params: URLSearchParams,
    res: http.ServerResponse,
    route: string,
    table?: (items: readonly CachedObject[]) => object,
  ): void {
    const hub = this.hubs.get(id);
    const store = this.o.store;
    if (!hub || !(store instanceof MemoryStore)) {
      throw new HttpError(405, 'MethodNotAllowed', 'this monitor reads its cache from Redis and does not serve watches; watch a monitor with the in-memory store, or the API server');
    }
    if (view !== 'aggregated') throw badRequest(`invalid parameter "view": watches follow the aggregated view, not ${JSON.stringify(view)}`);
    const labelSelector = checkedLabelSelector(params.get('labelSelector') ?? undefined, 'labelSelector');
    const filter = this.fieldFilter(t.r, params.get('fieldSelector'));
    const selector = labelSelector ? parseLabelSelector(labelSelector) : undefined;
    const matches = (e: Entry) =>
      (t.namespace === undefined || e.namespace === t.namespace) && (!selector || selector.matches(e.labels ?? {})) && (!filter || filter(e.object()));
    const rv = params.get('resourceVersion') ?? '';
    const timeout = params.get('timeoutSeconds');
    const timeoutSeconds = timeout ? Number(timeout) : undefined;
    if (timeoutSeconds !== undefined && !(Number.isInteger(timeoutSeconds) && timeoutSeconds >= 0)) throw badRequest(`invalid parameter "timeoutSeconds": ${JSON.stringify(timeout)}`);
    try {
      hub.watch(res, {
        matches,
        resourceVersion: rv === '' || rv === '0' ? undefined : rv,
        bookmarks: params.get('allowWatchBookmarks') === 'true',
        timeoutSeconds,
        current: () => store.listNow(id, view, { namespace: t.namespace, labelSelector, filter }).items.map((c) => ({ entry: c.entry!, source: c.source })),
        version: () => store.version(id),
        render: table && ((c) => Buffer.from(`${JSON.stringify({ type: c.type, object: table([{ entry: c.entry, source: c.source, object: c.entry.object() }]) })}\n`)),
      });
      this.o.metrics.served.inc({ path: route, code: '200' });
    } catch (err) {
      if (err instanceof TooOldError) throw new HttpError(410, 'Expired', err.message);
      throw err;
    }
  }

  private fieldFilter(r: MonitoredResource, fieldSelector: string | null): ((o: KubeObject) => boolean) | undefined {
    if (!fieldSelector) return undefined;
    try {
      return fieldMatcher(r.kind, parseFieldSelector(fieldSelector));
    } catch (err) {
      if (err instanceof SelectorError) throw badRequest(`invalid fieldSelector: ${err.message}`);
      throw err;
    }
  }

  private keepSnapshot(snapshot: ListSnapshot, offset: number, previousToken: string | null): string {
    const now = Date.now();
    for (const [k, s] of this.snapshots) if (s.expires < now) this.snapshots.delete(k);
    let id = previousToken ? decodeContinue(previousToken)?.id : undefined;
    if (!id) {
      id = randomBytes(9).toString('base64url');
      if (this.snapshots.size >= CONTINUE_SNAPSHOTS) this.snapshots.delete(this.snapshots.keys().next().value!);
      this.snapshots.set(id, snapshot);
    }
    snapshot.expires = now + CONTINUE_TTL_MS;
    return Buffer.from(JSON.stringify({ id, offset })).toString('base64url');
  }

  // --- discovery

  private discovery(path: string): { route: string; body: object } | undefined {
    const rs = this.o.resources;
    if (path === '/version') return { route: path, body: KUBERNETES_VERSION };
    if (path === '/api') {
      return { route: path, body: { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] } };
    }
    const groups = new Map<string, string[]>();
    for (const r of rs) {
      if (!r.group) continue;
      const versions = groups.get(r.group) ?? [];
      if (!versions.includes(r.version)) versions.push(r.version);
      groups.set(r.group, versions);
    }
    const groupDoc = (name: string, versions: string[]) => {
      const list = versions.map((version) => ({ groupVersion: `${name}/${version}`, version }));
      return { name, versions: list, preferredVersion: list[0] };
    };
    if (path === '/apis') {
      return { route: path, body: { kind: 'APIGroupList', apiVersion: 'v1', groups: [...groups].map(([n, v]) => groupDoc(n, v)) } };
    }
    const m = /^\/(?:api\/([^/]+)|apis\/([^/]+)(?:\/([^/]+))?)$/.exec(path);
    if (!m) return undefined;
    if (m[2] !== undefined && m[3] === undefined) {
      const versions = groups.get(m[2]);
      return versions ? { route: '/apis/{group}', body: { kind: 'APIGroup', apiVersion: 'v1', ...groupDoc(m[2], versions) } } : undefined;
    }
    const group = m[2] ?? '';
    const version = m[1] ?? m[3];
    const inGv = rs.filter((r) => r.group === group && r.version === version);
    if (inGv.length === 0) return undefined;
    const groupVersion = group ? `${group}/${version}` : version;
    return {
      route: group ? '/apis/{group}/{version}' : path,
      body: {
        kind: 'APIResourceList',
        ...(group ? { apiVersion: 'v1' } : {}),
        groupVersion,
        resources: inGv.map((r) => ({
          name: r.plural,
          singularName: r.kind.toLowerCase(),
          namespaced: r.namespaced,
          kind: r.kind,
          verbs: ['get', 'list'],
          ...(r.shortNames?.length ? { shortNames: r.shortNames } : {}),
        })),
      },
    };
  }

  // --- answers

  private json(res: http.ServerResponse, route: string, code: number, body: unknown, freshness?: Freshness): void {
    if (freshness) for (const [k, v] of Object.entries(freshnessHeaders(freshness))) res.setHeader(k, v);
    this.send(res, route, code, JSON.stringify(body), 'application/json');
  }

  /** A list of cached objects between `head` and `tail`, from their serialized bytes. */
  private async list(res: http.ServerResponse, route: string, head: string, items: readonly CachedObject[], tail: string, freshness: Freshness, whole?: WholeAnswer): Promise<void> {
    this.o.metrics.served.inc({ path: route, code: '200' });
    await sendJsonList(res, 200, { ...freshnessHeaders(freshness), 'Cache-Control': 'no-cache, private', Vary: 'Accept-Encoding' }, head, items, tail, whole);
  }

  private send(res: http.ServerResponse, route: string, code: number, body: string, contentType: string): void {
    this.o.metrics.served.inc({ path: route, code: String(code) });
    res.writeHead(code, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-cache, private' });
    res.end(body);
  }
}

function badRequest(message: string): HttpError {
  return new HttpError(400, 'BadRequest', message);
}

function parseView(v: string | null): View {
  if (v === null || v === '') return 'aggregated';
  if (!(VIEWS as string[]).includes(v)) throw badRequest(`invalid parameter "view": ${JSON.stringify(v)} is not one of ${VIEWS.join(', ')}`);
  return v as View;
}

function checkedLabelSelector(s: string | undefined, param: string): string | undefined {
  if (!s) return undefined;
  try {
    parseLabelSelector(s);
  } catch (err) {
    if (err instanceof SelectorError) throw badRequest(`invalid parameter "${param}": ${err.message}`);
    throw err;
  }
  return s;
}

function parseLimit(s: string | null): number | undefined {
  if (s === null || s === '') return undefined;
  const n = Number(s);
  if (!Number.isInteger(n) || n < 0) throw badRequest(`invalid parameter "limit": ${JSON.stringify(s)}`);
  return n || undefined;
}

function decodeContinue(token: string): { id: string; offset: number } | undefined {
  try {
    const c = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { id?: unknown; offset?: unknown };
    if (typeof c.id === 'string' && typeof c.offset === 'number' && Number.isInteger(c.offset) && c.offset >= 0) return { id: c.id, offset: c.offset };
  } catch {
    // Not one of ours: answered as an expired token, as a real server answers a foreign one.
  }
  return undefined;
}

function freshnessHeaders(f: Freshness): Record<string, string> {
  return {
    'X-Kre-View': f.view,
    'X-Kre-Verified-Time': f.verifiedTime ?? '',
    'X-Kre-Verified-Resource-Version': f.verifiedResourceVersion ?? '',
    'X-Kre-Stream-Resource-Version': f.streamResourceVersion ?? '',
    'X-Kre-Staleness-Seconds': f.stalenessSeconds === null ? '' : f.stalenessSeconds.toFixed(3),
  };
}

/** In key order (namespace/name), as a real server lists; the in-memory store's lists already are. */
function sortByKey(items: CachedObject[]): CachedObject[] {
  const keyed = items.map((c) => ({ k: c.entry?.key ?? keyOf(c.object.metadata.namespace, c.object.metadata.name ?? ''), c }));
  let sorted = true;
  for (let i = 1; i < keyed.length && sorted; i++) sorted = keyed[i - 1].k <= keyed[i].k;
  if (sorted) return items;
  keyed.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
  return keyed.map((x) => x.c);
}

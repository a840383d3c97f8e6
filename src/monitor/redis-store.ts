/**
 * The Redis MonitorStore, shared by the replicas of one monitor group.
 *
 * Layout, under the group's prefix (`kre:monitor:<group>`), per resource:
 * - `<prefix>:<resource>:streamed`, `:verified`, `:aggregated`: one hash per view, one field per
 *   object keyed by namespace/name, the object as JSON (in the aggregated view prefixed by its
 *   source: `v` verified, `s` streamed);
 * - `<prefix>:<resource>:meta`: a hash of what freshness is made of (stream version and last
 *   contact, verified time and version) and the writer's identity;
 * - `<prefix>:writer`: the identity of the replica that last published its full state.
 *
 * One replica writes (the one holding the group's Lease, see monitor.ts); the others only read.
 * The writer keeps the whole state in memory (a MemoryStore) and mirrors each change to Redis as
 * the keys it changed: a watch event is one MULTI/EXEC of its object in the streamed and
 * aggregated hashes and the meta fields; a verification is one MULTI/EXEC of exactly the fields
 * whose object or source changed in any view. Nothing is written per frame.
 *
 * Writes are idempotent: each field is the object at a resourceVersion, so writing it twice is
 * writing it once. The writer publishes its full state (one MULTI/EXEC per resource replacing the
 * hashes) when it starts writing, after it has listed and verified, and again whenever Redis
 * missed a write (it went away, or a write failed): until then incremental writes are not sent,
 * since they would land on a state that lacks what came before them.
 *
 * Reads: the writer answers from its memory (so it keeps serving while Redis is away); a reader
 * answers from Redis, one MULTI of the view and the meta so both are of one moment, and throws
 * StoreUnavailableError (HTTP 503) with the reason while Redis is unreachable.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { createClient } from 'redis';
import { objectKey, parseLabelSelector, type KubeObject } from '../kube/index.ts';
import { freshnessFrom, MemoryStore, type StoreMeta } from './memory-store.ts';
import {
  StoreUnavailableError,
  type CachedObject,
  type Corrections,
  type Freshness,
  type MonitorStore,
  type QueryResult,
  type StoreQuery,
  type StreamChange,
  type VerifiedList,
  type View,
} from './store.ts';

export type RedisClient = ReturnType<typeof createClient>;

const ALL_VIEWS: View[] = ['streamed', 'verified', 'aggregated'];

export interface RedisConnectionOptions {
  /** `redis://[user[:password]@]host:port[/db]` or `rediss://…` for TLS. */
  url: string;
  username?: string;
  /** Overrides a password in the URL. */
  password?: string;
  /** PEM: the CA to trust (TLS), and a client certificate and key. */
  ca?: string;
  cert?: string;
  key?: string;
  connectTimeoutMs?: number;
}

/** The URL with its password replaced, for logs. */
export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable redis URL)';
  }
}

/** Reads the PEM files a configuration names. */
export function readTlsFiles(o: { caFile?: string; certFile?: string; keyFile?: string }): Pick<RedisConnectionOptions, 'ca' | 'cert' | 'key'> {
  const read = (f?: string) => (f ? readFileSync(f, 'utf8') : undefined);
  return { ca: read(o.caFile), cert: read(o.certFile), key: read(o.keyFile) };
}

/**
 * A node-redis client for the store: commands fail at once while disconnected (no offline queue,
 * so a reader answers 503 rather than hanging, and the writer knows what Redis missed), and it
 * reconnects by itself with capped backoff.
 */
export function createRedisClient(o: RedisConnectionOptions): RedisClient {
  const tls = o.url.startsWith('rediss:');
  const socket = {
    connectTimeout: o.connectTimeoutMs ?? 5000,
    reconnectStrategy: (retries: number) => Math.min(50 * 2 ** Math.min(retries, 10), 2000) * (0.75 + Math.random() * 0.5),
    ...(tls ? { tls: true as const, ca: o.ca, cert: o.cert, key: o.key } : {}),
  };
  return createClient({
    url: o.url,
    ...(o.username !== undefined ? { username: o.username } : {}),
    ...(o.password !== undefined ? { password: o.password } : {}),
    disableOfflineQueue: true,
    socket,
  });
}

export interface RedisStoreOptions {
  client: RedisClient;
  /** The group's key prefix, e.g. `kre:monitor:default`. */
  prefix: string;
  /** This replica's identity, recorded as the writer. */
  identity: string;
  logger?: Logger;
  now?: () => number;
  /** Incremental writes sent and not yet answered at most; beyond it writers wait. */
  maxInFlight?: number;
}

export interface RedisStoreStatus {
  up: boolean;
  /** Why Redis is not usable (when not up). */
  reason?: string;
  errors: number;
  writing: boolean;
  /** Whether the writer's full state is in Redis (always false for a reader). */
  published: boolean;
  /** Whether a writer has published into this group (as last checked; readers only). */
  writerSeen: boolean;
}

export class RedisStore implements MonitorStore {
  private readonly client: RedisClient;
  private readonly now: () => number;
  private local: MemoryStore | undefined;
  /** The writer's state has been published (it then serves reads from memory). */
  private published = false;
  /** Redis lacks some of the writer's changes: incremental writes wait for a full write. */
  private dirty = true;
  private up = false;
  private reason: string | undefined = 'not connected yet';
  private errors = 0;
  private writerSeen = false;
  private readonly inFlight = new Set<Promise<unknown>>();
  private writingBack: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly o: RedisStoreOptions) {
    this.client = o.client;
    this.now = o.now ?? Date.now;
    this.client.on('error', (err: Error) => this.down(err.message));
    this.client.on('ready', () => {
      this.up = true;
      this.reason = undefined;
      this.o.logger?.info({ prefix: o.prefix }, 'redis connected');
      void this.probe();
      if (this.local && this.published && this.dirty) void this.writeBack();
    });
    this.client.on('reconnecting', () => this.down(this.reason ?? 'reconnecting'));
    this.client.on('end', () => this.down('connection closed'));
  }

  /** Connects (retrying in the background if Redis is not there yet) and starts the probe. */
  async connect(): Promise<void> {
    this.client.connect().catch((err: Error) => this.down(err.message));
    const probe = () => {
      if (this.closed) return;
      this.probeTimer = setTimeout(() => void this.probe().finally(probe), 1000);
    };
    probe();
    // Wait a moment for the first connection, not for ever: an outage at start is an outage.
    const deadline = Date.now() + 3000;
    while (!this.client.isReady && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    if (this.client.isReady) await this.probe();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.probeTimer);
    await Promise.allSettled([...this.inFlight]);
    await this.writingBack?.catch(() => undefined);
    if (this.client.isOpen) this.client.destroy();
  }

  status(): RedisStoreStatus {
    return { up: this.up, reason: this.up ? undefined : `redis unavailable: ${this.reason ?? 'unknown'}`, errors: this.errors, writing: this.local !== undefined, published: this.published, writerSeen: this.writerSeen };
  }

  // --- roles

  /** Starts writing with empty memory; Redis keeps the previous state until `publish`. */
  becomeWriter(): void {
    this.local = new MemoryStore(this.now);
    this.published = false;
    this.dirty = true;
  }

  /** The writer's state is complete (listed and verified): write it all, and serve from memory. */
  async publish(): Promise<void> {
    if (!this.local) throw new Error('publish: not the writer');
    this.published = true;
    this.dirty = true;
    await this.writeBack();
  }

  /** Stops writing; reads come from Redis again. */
  becomeReader(): void {
    this.local = undefined;
    this.published = false;
    this.dirty = true;
  }

  /** Resolves when the writes sent so far have been answered. */
  async flush(): Promise<void> {
    await this.writingBack?.catch(() => undefined);
    await Promise.allSettled([...this.inFlight]);
  }

  // --- writes (the writer's)

  async streamEvent(resource: string, change: StreamChange): Promise<void> {
    const local = this.local;
    if (!local) return;
    const keys = [objectKey(change.object)];
    const before = snapshot(local, resource, keys);
    await local.streamEvent(resource, change);
    await this.mirror(resource, before, keys);
  }

  async streamListed(resource: string, items: KubeObject[], resourceVersion: string, receivedAt: number): Promise<void> {
    const local = this.local;
    if (!local) return;
    const before = snapshot(local, resource);
    await local.streamListed(resource, items, resourceVersion, receivedAt);
    await this.mirror(resource, before);
  }

  async streamProgress(resource: string, resourceVersion: string, receivedAt: number): Promise<void> {
    const local = this.local;
    if (!local) return;
    await local.streamProgress(resource, resourceVersion, receivedAt);
    await this.mirror(resource, emptySnapshot(), []);
  }

  async verified(resource: string, list: VerifiedList): Promise<Corrections> {
    const local = this.local;
    if (!local) return { missedAdds: 0, ghosts: 0, staleVersions: 0 };
    const before = snapshot(local, resource);
    const corrections = await local.verified(resource, list);
    await this.mirror(resource, before);
    return corrections;
  }

  /**
   * Sends what changed in `resource` since `before`, in one MULTI/EXEC: the fields of `keys` (all
   * keys of both snapshots when unset) whose object or source changed, and the meta.
   */
  private async mirror(resource: string, before: Snapshot, keys?: string[]): Promise<void> {
    if (!this.canWrite()) return;
    const local = this.local!;
    const m = this.client.multi();
    for (const view of ALL_VIEWS) {
      const hash = this.key(resource, view);
      const set: Record<string, string> = {};
      const del: string[] = [];
      const candidates = keys ?? new Set([...before[view].keys(), ...local.entries(resource, view).keys()]);
      for (const key of candidates) {
        const was = before[view].get(key);
        const now = local.entry(resource, view, key);
        if (!now) {
          if (was) del.push(key);
        } else if (!was || !sameEntry(was, now)) set[key] = encode(view, now);
      }
      if (Object.keys(set).length) m.hSet(hash, set);
      if (del.length) m.hDel(hash, del);
    }
    m.hSet(this.key(resource, 'meta'), metaFields(local.meta(resource), this.o.identity));
    await this.send(m.exec());
  }

  private canWrite(): boolean {
    return this.local !== undefined && this.published && !this.dirty && this.up && !this.closed;
  }

  /** Tracks a write; waits when too many are unanswered (the backlog's bound). */
  private async send(p: Promise<unknown>): Promise<void> {
    const tracked = p.then(
      () => undefined,
      (err: Error) => this.failed(err),
    );
    this.inFlight.add(tracked);
    void tracked.finally(() => this.inFlight.delete(tracked));
    if (this.inFlight.size >= (this.o.maxInFlight ?? 1000)) await Promise.race(this.inFlight);
  }

  /** Writes the writer's whole state, one MULTI/EXEC per resource replacing its keys. */
  private writeBack(): Promise<void> {
    if (this.writingBack) return this.writingBack;
    this.writingBack = (async () => {
      const local = this.local;
      if (!local || !this.published || this.closed) return;
      if (!this.client.isReady) return; // the 'ready' event brings us back
      // Built and sent in one tick, so incremental writes allowed from now on queue after them.
      const sends: Promise<unknown>[] = [];
      for (const resource of local.resources()) {
        const m = this.client.multi();
        for (const view of ALL_VIEWS) m.del(this.key(resource, view));
        m.del(this.key(resource, 'meta'));
        for (const view of ALL_VIEWS) {
          let chunk: Record<string, string> = {};
          let n = 0;
          for (const [key, entry] of local.entries(resource, view)) {
            chunk[key] = encode(view, entry);
            if (++n % 1000 === 0) {
              m.hSet(this.key(resource, view), chunk);
              chunk = {};
            }
          }
          if (n % 1000) m.hSet(this.key(resource, view), chunk);
        }
        m.hSet(this.key(resource, 'meta'), metaFields(local.meta(resource), this.o.identity));
        sends.push(m.exec());
      }
      sends.push(this.client.set(`${this.o.prefix}:writer`, this.o.identity));
      this.dirty = false;
      try {
        await Promise.all(sends);
        this.writerSeen = true;
        this.o.logger?.info({ prefix: this.o.prefix, resources: local.resources().length }, 'wrote the full state to redis');
      } catch (err) {
        this.failed(err as Error);
      }
    })().finally(() => (this.writingBack = undefined));
    return this.writingBack;
  }

  private failed(err: Error): void {
    this.errors++;
    if (!this.dirty) this.o.logger?.warn({ err: err.message }, 'redis write failed; the full state will be written again');
    this.dirty = true;
    if (!this.client.isReady) this.down(err.message);
    // Connected but a write failed: try the full write again shortly.
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      if (this.local && this.published && this.dirty && this.client.isReady) void this.writeBack();
    }, 1000);
  }

  private down(reason: string): void {
    if (this.up) this.o.logger?.warn({ reason }, 'redis unavailable');
    if (this.up || reason !== this.reason) this.errors++;
    this.up = false;
    this.reason = reason;
    this.dirty = true;
  }

  /** Checks that Redis answers and whether a writer has published. */
  private async probe(): Promise<void> {
    if (!this.client.isReady) {
      if (this.up) this.down('not connected');
      return;
    }
    try {
      this.writerSeen = (await this.client.get(`${this.o.prefix}:writer`)) !== null;
      if (!this.up) {
        this.up = true;
        this.reason = undefined;
        if (this.local && this.published && this.dirty) void this.writeBack();
      }
    } catch (err) {
      this.down((err as Error).message);
    }
  }

  // --- reads

  private reader(): void {
    if (!this.client.isReady || !this.up) throw new StoreUnavailableError(`redis unavailable: ${this.reason ?? 'not connected'}`);
  }

  private serveLocal(): MemoryStore | undefined {
    return this.local && this.published ? this.local : undefined;
  }

  async list(resource: string, view: View, query: StoreQuery = {}): Promise<QueryResult> {
    const local = this.serveLocal();
    if (local) return local.list(resource, view, query);
    this.reader();
    const hash = this.key(resource, view);
    const metaKey = this.key(resource, 'meta');
    let values: string[];
    let meta: Record<string, string>;
    try {
      if (query.name !== undefined && query.namespace !== undefined) {
        const [one, m] = (await this.client.multi().hGet(hash, keyFor(query.namespace, query.name)).hGetAll(metaKey).exec()) as unknown as [string | null, Record<string, string>];
        values = one === null ? [] : [one];
        meta = m;
      } else if (query.namespace) {
        values = [];
        let cursor = '0';
        do {
          const r = await this.client.hScan(hash, cursor, { MATCH: `${globEscape(query.namespace)}/*`, COUNT: 10_000 });
          cursor = r.cursor;
          for (const e of r.entries) values.push(e.value);
        } while (cursor !== '0');
        meta = await this.client.hGetAll(metaKey);
      } else {
        const [all, m] = (await this.client.multi().hVals(hash).hGetAll(metaKey).exec()) as unknown as [string[], Record<string, string>];
        values = all;
        meta = m;
      }
    } catch (err) {
      throw new StoreUnavailableError(`redis unavailable: ${(err as Error).message}`);
    }
    const selector = query.labelSelector ? parseLabelSelector(query.labelSelector) : undefined;
    const items: CachedObject[] = [];
    for (const v of values) {
      const c = decode(view, v);
      const md = c.object.metadata;
      if (query.name !== undefined && md.name !== query.name) continue;
      if (selector && !selector.matches(md.labels ?? {})) continue;
      if (query.filter && !query.filter(c.object)) continue;
      items.push(c);
    }
    return { items, freshness: freshnessFrom(parseMeta(meta), view, this.now()) };
  }

  async get(resource: string, view: View, namespace: string | undefined, name: string): Promise<{ item?: CachedObject; freshness: Freshness }> {
    const local = this.serveLocal();
    if (local) return local.get(resource, view, namespace, name);
    this.reader();
    try {
      const [one, m] = (await this.client.multi().hGet(this.key(resource, view), keyFor(namespace, name)).hGetAll(this.key(resource, 'meta')).exec()) as unknown as [string | null, Record<string, string>];
      return { item: one === null ? undefined : decode(view, one), freshness: freshnessFrom(parseMeta(m), view, this.now()) };
    } catch (err) {
      throw new StoreUnavailableError(`redis unavailable: ${(err as Error).message}`);
    }
  }

  async freshness(resource: string, view: View): Promise<Freshness> {
    const local = this.serveLocal();
    if (local) return local.freshness(resource, view);
    this.reader();
    try {
      return freshnessFrom(parseMeta(await this.client.hGetAll(this.key(resource, 'meta'))), view, this.now());
    } catch (err) {
      throw new StoreUnavailableError(`redis unavailable: ${(err as Error).message}`);
    }
  }

  async sizes(resource: string): Promise<Record<View, number>> {
    const local = this.serveLocal();
    if (local) return local.sizes(resource);
    if (!this.client.isReady) return { streamed: 0, verified: 0, aggregated: 0 };
    try {
      const [streamed, verified, aggregated] = (await this.client
        .multi()
        .hLen(this.key(resource, 'streamed'))
        .hLen(this.key(resource, 'verified'))
        .hLen(this.key(resource, 'aggregated'))
        .exec()) as unknown as number[];
      return { streamed, verified, aggregated };
    } catch {
      return { streamed: 0, verified: 0, aggregated: 0 };
    }
  }

  private key(resource: string, part: View | 'meta'): string {
    return `${this.o.prefix}:${resource}:${part}`;
  }
}

type Snapshot = Record<View, Map<string, CachedObject>>;

function emptySnapshot(): Snapshot {
  return { streamed: new Map(), verified: new Map(), aggregated: new Map() };
}

/** The entries of every view, for all keys or only `keys`. */
function snapshot(local: MemoryStore, resource: string, keys?: string[]): Snapshot {
  if (!keys) return { streamed: local.entries(resource, 'streamed'), verified: local.entries(resource, 'verified'), aggregated: local.entries(resource, 'aggregated') };
  const out = emptySnapshot();
  for (const view of ALL_VIEWS) {
    for (const key of keys) {
      const e = local.entry(resource, view, key);
      if (e) out[view].set(key, e);
    }
  }
  return out;
}

/** The same served entry: one object (or the same version of it) from the same source. */
function sameEntry(a: CachedObject, b: CachedObject): boolean {
  if (a.source !== b.source) return false;
  if (a.object === b.object) return true;
  const ra = a.object.metadata.resourceVersion;
  return ra !== undefined && ra !== '' && ra === b.object.metadata.resourceVersion;
}

function encode(view: View, c: CachedObject): string {
  const json = JSON.stringify(c.object);
  return view === 'aggregated' ? (c.source === 'streamed' ? 's' : 'v') + json : json;
}

function decode(view: View, s: string): CachedObject {
  if (view === 'aggregated') return { source: s[0] === 's' ? 'streamed' : 'verified', object: JSON.parse(s.slice(1)) as KubeObject };
  return { source: view === 'streamed' ? 'streamed' : 'verified', object: JSON.parse(s) as KubeObject };
}

function metaFields(m: StoreMeta, writer: string): Record<string, string> {
  const out: Record<string, string> = { writer };
  if (m.streamResourceVersion) out.streamResourceVersion = m.streamResourceVersion;
  if (m.lastContact !== undefined) out.lastContact = String(m.lastContact);
  if (m.verifiedAt !== undefined) out.verifiedAt = String(m.verifiedAt);
  if (m.verifiedResourceVersion !== undefined) out.verifiedResourceVersion = m.verifiedResourceVersion;
  return out;
}

function parseMeta(h: Record<string, string>): StoreMeta {
  return {
    streamResourceVersion: h.streamResourceVersion || undefined,
    lastContact: h.lastContact !== undefined ? Number(h.lastContact) : undefined,
    verifiedAt: h.verifiedAt !== undefined ? Number(h.verifiedAt) : undefined,
    verifiedResourceVersion: h.verifiedResourceVersion,
  };
}

function keyFor(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

function globEscape(s: string): string {
  return s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

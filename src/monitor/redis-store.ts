/**
 * The Redis MonitorStore, shared by the replicas of one monitor group.
 *
 * Layout, under the group's prefix (`kre:monitor:<group>`), per resource and per view (`<v>` is
 * `<prefix>:<resource>:<view>`, the view `streamed`, `verified` or `aggregated`):
 * - `<v>:o:<namespace>`: a hash of the view's objects in one namespace (cluster-scoped objects under
 *   the empty namespace), one field per object name; the value is the object's source (`s`
 *   streamed, `v` verified), resourceVersion and key on two header lines, then its JSON;
 * - `<v>:ns`: the set of namespaces the view has objects in;
 * - `<v>:l:<namespace>:<label>=<value>`: the set of names in that namespace carrying that label;
 * - `<prefix>:<resource>:meta`: a hash of what freshness is made of (stream version and last
 *   contact, verified time and version) and the writer's identity;
 * - `<prefix>:writer`: the identity of the replica that last published its full state.
 *
 * So a read touches only what it needs: a namespace's hash, or, for a label selector, the
 * intersection of the sets of its exact-match pairs (`app=web`, `tier in (front)`) and those names
 * from the hash; the rest of the selector is applied in the process. A query is one Lua script
 * (one round trip, atomic with the meta). Scripts build key names from the prefix, so the store
 * needs a standalone Redis (or a proxy that keeps a group's keys together), not Redis Cluster.
 *
 * One replica writes (the one holding the group's Lease, see monitor.ts); the others only read.
 * The writer keeps the whole state in memory (a MemoryStore) and mirrors each change to Redis as
 * the keys it changed: a watch event is one MULTI/EXEC of its object in the streamed and
 * aggregated hashes, the label sets whose membership changed (none when the labels did not), the
 * namespace set when a namespace gains its first or loses its last object, and the meta fields; a
 * verification is one MULTI/EXEC of exactly the fields whose object or source changed in any view,
 * with their label and namespace sets. Nothing is written per frame.
 *
 * Writes are idempotent: each field is the object at a resourceVersion, so writing it twice is
 * writing it once. The writer publishes its full state (one MULTI/EXEC per resource replacing all
 * its keys) when it starts writing, after it has listed and verified, and again whenever Redis
 * missed a write (it went away, or a write failed): until then incremental writes are not sent,
 * since they would land on a state that lacks what came before them.
 *
 * Reads: the writer answers from its memory (so it keeps serving while Redis is away); a reader
 * answers from Redis and throws StoreUnavailableError (HTTP 503) with the reason while Redis is
 * unreachable. A reader keeps the objects it has parsed, by key and resourceVersion (an object at
 * one resourceVersion is one object, whichever view holds it), so an unchanged object is not
 * parsed again.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { createClient } from 'redis';
import { objectKey, parseLabelSelector, splitKey, type KubeObject } from '../kube/index.ts';
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
  /** Parsed objects a reader keeps at most (the oldest go first); 0 keeps none. */
  parsedCacheSize?: number;
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
  /** The writer's objects per namespace, per resource and view (`<resource> <view>`), as in Redis. */
  private readonly counts = new Map<string, Map<string, number>>();
  /** A reader's parsed objects by `<resource> <key>`, with the resourceVersion they were parsed at. */
  private readonly parsed = new Map<string, { resourceVersion: string; object: KubeObject }>();

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
   * keys of both snapshots when unset) whose object or source changed, the label and namespace
   * sets that changed with them, and the meta.
   */
  private async mirror(resource: string, before: Snapshot, keys?: string[]): Promise<void> {
    if (!this.canWrite()) return;
    const local = this.local!;
    const m = this.client.multi();
    for (const view of ALL_VIEWS) {
      const base = this.base(resource, view);
      const counts = this.countsOf(resource, view);
      const set = new Map<string, Record<string, string>>();
      const del = new Map<string, string[]>();
      const add = new Map<string, string[]>();
      const rem = new Map<string, string[]>();
      /** Namespaces whose count changed, with whether they had objects before. */
      const touched = new Map<string, boolean>();
      const count = (namespace: string, by: number) => {
        const n = counts.get(namespace) ?? 0;
        if (!touched.has(namespace)) touched.set(namespace, n > 0);
        if (n + by > 0) counts.set(namespace, n + by);
        else counts.delete(namespace);
      };
      const candidates = keys ?? new Set([...before[view].keys(), ...local.entries(resource, view).keys()]);
      for (const key of candidates) {
        const was = before[view].get(key);
        const now = local.entry(resource, view, key);
        const { namespace = '', name } = splitKey(key);
        const hash = objectsKey(base, namespace);
        if (!now) {
          if (!was) continue;
          push(del, hash, name);
          for (const pair of labelPairs(was)) push(rem, labelKey(base, namespace, pair), name);
          count(namespace, -1);
          continue;
        }
        if (was && sameEntry(was, now)) continue;
        let fields = set.get(hash);
        if (!fields) set.set(hash, (fields = {}));
        fields[name] = encode(key, now);
        const old = was ? labelPairs(was) : new Set<string>();
        const cur = labelPairs(now);
        for (const pair of old) if (!cur.has(pair)) push(rem, labelKey(base, namespace, pair), name);
        for (const pair of cur) if (!old.has(pair)) push(add, labelKey(base, namespace, pair), name);
        if (!was) count(namespace, 1);
      }
      for (const [hash, fields] of set) m.hSet(hash, fields);
      for (const [hash, names] of del) m.hDel(hash, names);
      for (const [k, names] of rem) m.sRem(k, names);
      for (const [k, names] of add) m.sAdd(k, names);
      const nsAdd: string[] = [];
      const nsRem: string[] = [];
      for (const [namespace, had] of touched) {
        const has = counts.has(namespace);
        if (has && !had) nsAdd.push(namespace);
        else if (!has && had) nsRem.push(namespace);
      }
      if (nsAdd.length) m.sAdd(namespacesKey(base), nsAdd);
      if (nsRem.length) m.sRem(namespacesKey(base), nsRem);
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
      if (!this.local || !this.published || this.closed) return;
      if (!this.client.isReady) return; // the 'ready' event brings us back
      try {
        // The keys there now (a previous writer's, or an older layout's), to be replaced.
        const there = new Map<string, string[]>();
        for (const resource of this.local.resources()) {
          const found: string[] = [];
          for await (const batch of this.client.scanIterator({ MATCH: `${globEscape(`${this.o.prefix}:${resource}`)}:*`, COUNT: 1000 })) found.push(...batch);
          there.set(resource, found);
        }
        const local = this.local;
        if (!local || !this.published || this.closed) return;
        // Built and sent in one tick, so incremental writes allowed from now on queue after them.
        const sends: Promise<unknown>[] = [];
        for (const resource of local.resources()) {
          const m = this.client.multi();
          const old = there.get(resource) ?? [];
          for (let i = 0; i < old.length; i += CHUNK) m.del(old.slice(i, i + CHUNK));
          for (const view of ALL_VIEWS) {
            const base = this.base(resource, view);
            const objects = new Map<string, Record<string, string>>();
            const labels = new Map<string, string[]>();
            const counts = new Map<string, number>();
            for (const [key, entry] of local.entries(resource, view)) {
              const { namespace = '', name } = splitKey(key);
              const hash = objectsKey(base, namespace);
              let fields = objects.get(hash);
              if (!fields) objects.set(hash, (fields = {}));
              fields[name] = encode(key, entry);
              counts.set(namespace, (counts.get(namespace) ?? 0) + 1);
              for (const pair of labelPairs(entry)) push(labels, labelKey(base, namespace, pair), name);
            }
            for (const [hash, fields] of objects) {
              const names = Object.keys(fields);
              for (let i = 0; i < names.length; i += CHUNK) m.hSet(hash, Object.fromEntries(names.slice(i, i + CHUNK).map((n) => [n, fields[n]])));
            }
            for (const [k, names] of labels) for (let i = 0; i < names.length; i += CHUNK) m.sAdd(k, names.slice(i, i + CHUNK));
            if (counts.size) m.sAdd(namespacesKey(base), [...counts.keys()]);
            this.counts.set(`${resource} ${view}`, counts);
          }
          m.hSet(this.key(resource, 'meta'), metaFields(local.meta(resource), this.o.identity));
          sends.push(m.exec());
        }
        sends.push(this.client.set(`${this.o.prefix}:writer`, this.o.identity));
        this.dirty = false;
        await Promise.all(sends);
        this.writerSeen = true;
        this.o.logger?.info({ prefix: this.o.prefix, resources: local.resources().length }, 'wrote the full state to redis');
      } catch (err) {
        this.failed(err as Error);
      }
    })().finally(() => (this.writingBack = undefined));
    return this.writingBack;
  }

  /** The writer's count of objects per namespace of a view, as Redis has them. */
  private countsOf(resource: string, view: View): Map<string, number> {
    const k = `${resource} ${view}`;
    let c = this.counts.get(k);
    if (!c) this.counts.set(k, (c = new Map()));
    return c;
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
    const selector = query.labelSelector ? parseLabelSelector(query.labelSelector) : undefined;
    const pairs = selector && query.name === undefined ? Object.entries(selector.exactMatchPairs()).map(([k, v]) => `${k}=${v}`) : [];
    let values: string[];
    let meta: string[];
    try {
      [values, meta] = (await this.script(QUERY, [this.key(resource, 'meta')], [
        this.base(resource, view),
        query.namespace !== undefined ? '1' : '0',
        query.namespace ?? '',
        query.name !== undefined ? '1' : '0',
        query.name ?? '',
        ...pairs,
      ])) as [string[], string[]];
    } catch (err) {
      throw new StoreUnavailableError(`redis unavailable: ${(err as Error).message}`);
    }
    const items: CachedObject[] = [];
    for (const v of values) {
      const c = this.decode(resource, v);
      if (selector && !selector.matches(c.object.metadata.labels ?? {})) continue;
      if (query.filter && !query.filter(c.object)) continue;
      items.push(c);
    }
    return { items, freshness: freshnessFrom(parseMeta(pairsToRecord(meta)), view, this.now()) };
  }

  async get(resource: string, view: View, namespace: string | undefined, name: string): Promise<{ item?: CachedObject; freshness: Freshness }> {
    const local = this.serveLocal();
    if (local) return local.get(resource, view, namespace, name);
    this.reader();
    try {
      const [one, m] = (await this.client
        .multi()
        .hGet(objectsKey(this.base(resource, view), namespace ?? ''), name)
        .hGetAll(this.key(resource, 'meta'))
        .exec()) as unknown as [string | null, Record<string, string>];
      return { item: one === null ? undefined : this.decode(resource, one), freshness: freshnessFrom(parseMeta(m), view, this.now()) };
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
      const [streamed, verified, aggregated] = (await this.script(SIZES, [], ALL_VIEWS.map((v) => this.base(resource, v)))) as number[];
      return { streamed, verified, aggregated };
    } catch {
      return { streamed: 0, verified: 0, aggregated: 0 };
    }
  }

  /** Runs a script by its digest, sending its text only when Redis does not have it yet. */
  private async script(s: Script, keys: string[], args: string[]): Promise<unknown> {
    try {
      return await this.client.evalSha(s.sha, { keys, arguments: args });
    } catch (err) {
      if (!/NOSCRIPT/.test((err as Error).message)) throw err;
      return this.client.eval(s.text, { keys, arguments: args });
    }
  }

  /** An object as stored, parsed unless the same version of it was parsed before. */
  private decode(resource: string, value: string): CachedObject {
    const source = value[0] === 's' ? 'streamed' : 'verified';
    const i = value.indexOf('\n');
    const j = value.indexOf('\n', i + 1);
    const resourceVersion = value.slice(1, i);
    const max = this.o.parsedCacheSize ?? 200_000;
    if (!resourceVersion || max <= 0) return { source, object: JSON.parse(value.slice(j + 1)) as KubeObject };
    const k = `${resource} ${value.slice(i + 1, j)}`;
    const hit = this.parsed.get(k);
    if (hit?.resourceVersion === resourceVersion) return { source, object: hit.object };
    const object = JSON.parse(value.slice(j + 1)) as KubeObject;
    if (hit) this.parsed.delete(k);
    this.parsed.set(k, { resourceVersion, object });
    if (this.parsed.size > max) this.parsed.delete(this.parsed.keys().next().value!);
    return { source, object };
  }

  private key(resource: string, part: 'meta'): string {
    return `${this.o.prefix}:${resource}:${part}`;
  }

  /** The prefix of a view's keys. */
  private base(resource: string, view: View): string {
    return `${this.o.prefix}:${resource}:${view}`;
  }
}

/** Objects written or read per command at most, in full writes and reads. */
const CHUNK = 1000;

interface Script {
  text: string;
  sha: string;
}

function script(text: string): Script {
  return { text, sha: createHash('sha1').update(text).digest('hex') };
}

/**
 * A query of one view: KEYS[1] the meta; ARGV the view's key prefix, whether a namespace is given
 * and which, whether a name is given and which, then the selector's exact-match pairs
 * (`label=value`). Answers the stored objects that may match (the caller applies the whole
 * selector) and the meta, of one moment.
 */
const QUERY = script(`
local base = ARGV[1]
local namespaces
if ARGV[2] == '1' then namespaces = { ARGV[3] } else namespaces = redis.call('SMEMBERS', base .. ':ns') end
local out = {}
for _, ns in ipairs(namespaces) do
  local hash = base .. ':o:' .. ns
  if ARGV[4] == '1' then
    local v = redis.call('HGET', hash, ARGV[5])
    if v then out[#out + 1] = v end
  else
    local names
    if #ARGV > 5 then
      local sets = {}
      for i = 6, #ARGV do sets[#sets + 1] = base .. ':l:' .. ns .. ':' .. ARGV[i] end
      names = redis.call('SINTER', unpack(sets))
      for i = 1, #names, ${CHUNK} do
        local vs = redis.call('HMGET', hash, unpack(names, i, math.min(i + ${CHUNK - 1}, #names)))
        for _, v in ipairs(vs) do if v then out[#out + 1] = v end end
      end
    else
      for _, v in ipairs(redis.call('HVALS', hash)) do out[#out + 1] = v end
    end
  end
end
return { out, redis.call('HGETALL', KEYS[1]) }
`);

/** The objects held per view: ARGV the views' key prefixes. */
const SIZES = script(`
local out = {}
for i, base in ipairs(ARGV) do
  local n = 0
  for _, ns in ipairs(redis.call('SMEMBERS', base .. ':ns')) do n = n + redis.call('HLEN', base .. ':o:' .. ns) end
  out[i] = n
end
return out
`);

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
  if (a.entry ? a.entry === b.entry : a.object === b.object) return true;
  const ra = versionOf(a);
  return ra !== undefined && ra !== '' && ra === versionOf(b);
}

/** From the entry when the local store keeps one, so that comparing does not parse. */
function versionOf(c: CachedObject): string | undefined {
  return c.entry ? c.entry.resourceVersion : c.object.metadata.resourceVersion;
}

/** An object as stored: its source and resourceVersion, its key, then its JSON. */
function encode(key: string, c: CachedObject): string {
  return `${c.source === 'streamed' ? 's' : 'v'}${c.object.metadata.resourceVersion ?? ''}\n${key}\n${JSON.stringify(c.object)}`;
}

function objectsKey(base: string, namespace: string): string {
  return `${base}:o:${namespace}`;
}

function namespacesKey(base: string): string {
  return `${base}:ns`;
}

function labelKey(base: string, namespace: string, pair: string): string {
  return `${base}:l:${namespace}:${pair}`;
}

function labelPairs(c: CachedObject): Set<string> {
  return new Set(Object.entries((c.entry ? c.entry.labels : c.object.metadata.labels) ?? {}).map(([k, v]) => `${k}=${v}`));
}

function push(m: Map<string, string[]>, k: string, v: string): void {
  const a = m.get(k);
  if (a) a.push(v);
  else m.set(k, [v]);
}

function pairsToRecord(flat: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]] = flat[i + 1];
  return out;
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

function globEscape(s: string): string {
  return s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

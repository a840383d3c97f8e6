/**
 * The in-memory MonitorStore. Per resource it keeps the stream's own state, the verified list,
 * the streamed changes since that list (the latest per key), and the aggregated view materialized
 * from those two, so that a query is an index lookup rather than a merge. The aggregated view is
 * rebuilt at each verification (one pass over the list, which was just read anyway) and updated
 * in place by each streamed change that counts.
 */
import { classifyAgainstList, keyOf, objectKey, parseLabelSelector, type KubeObject } from '../kube/index.ts';
import { changeCounts, coveredBySnapshot } from './aggregate.ts';
import { entryOf, type Entry } from './entry.ts';
import { EntryIndex } from './entry-index.ts';
import type { ViewChange } from './watch-hub.ts';
import type { CachedObject, Corrections, Freshness, MonitorStore, QueryResult, Source, StoreQuery, StreamChange, VerifiedList, View } from './store.ts';

/** A streamed change as kept: the entry (its object serialized once) instead of the object. */
interface HeldChange {
  type: StreamChange['type'];
  entry: Entry;
  resourceVersion: string;
  receivedAt: number;
}

class ResourceState {
  /** What the stream alone knows; its resourceVersion is the stream's. */
  streamed = new EntryIndex();
  lastContact: number | undefined;
  verified = new EntryIndex();
  verifiedAt: number | undefined;
  verifiedVersion: string | undefined;
  /** Streamed changes newer than the verified list, the latest per key. */
  changes = new Map<string, HeldChange>();
  aggregated = new EntryIndex();
  /** Keys whose object in the aggregated view came from the stream. */
  fromStream = new Set<string>();
  /** Counts the calls that may have changed what a list answers (see `MemoryStore.revision`). */
  revision = 0;

  constructor(public emit: (change: ViewChange) => void) {}

  /** Lays a streamed change over the aggregated view if it counts. */
  overlay(key: string, change: HeldChange): void {
    const held = this.aggregated.get(key);
    const snapshot = { resourceVersion: this.verifiedVersion, listedAt: this.verifiedAt };
    if (!changeCounts(change, snapshot, held && { metadata: { resourceVersion: held.resourceVersion } }, held !== undefined && !this.fromStream.has(key))) return;
    if (change.type === 'delete') {
      this.aggregated.remove(key);
      this.fromStream.delete(key);
      if (held) this.emit({ type: 'DELETED', entry: held, source: 'streamed', resourceVersion: change.resourceVersion });
    } else {
      this.aggregated.upsert(change.entry);
      this.fromStream.add(key);
      if (held !== change.entry) this.emit({ type: held ? 'MODIFIED' : 'ADDED', entry: change.entry, source: 'streamed', resourceVersion: change.resourceVersion });
    }
  }

  record(change: HeldChange): void {
    this.changes.set(change.entry.key, change);
    this.overlay(change.entry.key, change);
  }

  /**
   * The entry for an object: the one a view already holds for the same version (so the views
   * share it and it is serialized once), else a new one.
   */
  entryFor(object: KubeObject): Entry {
    const rv = object.metadata.resourceVersion;
    if (rv) {
      const key = objectKey(object);
      for (const view of [this.streamed, this.aggregated, this.verified]) {
        const held = view.get(key);
        if (held?.resourceVersion === rv) return held;
      }
    }
    return entryOf(object);
  }
}

export class MemoryStore implements MonitorStore {
  private readonly states = new Map<string, ResourceState>();
  private readonly listeners = new Map<string, Set<(change: ViewChange) => void>>();

  constructor(private readonly now: () => number = Date.now) {}

  private state(resource: string): ResourceState {
    let s = this.states.get(resource);
    if (!s) this.states.set(resource, (s = new ResourceState((change) => this.listeners.get(resource)?.forEach((l) => l(change)))));
    return s;
  }

  /** Hears every change of a resource's aggregated view, as watch events; returns the unsubscribe. */
  onChange(resource: string, listener: (change: ViewChange) => void): () => void {
    let set = this.listeners.get(resource);
    if (!set) this.listeners.set(resource, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  /** The version a view is at: what its lists say and its watches resume from. */
  version(resource: string): string {
    const s = this.state(resource);
    return s.streamed.resourceVersion || s.verifiedVersion || '';
  }

  /**
   * A number that changes whenever anything a list of the resource answers may have changed (its
   * objects, where they come from, the versions): equal revisions, equal answers, so an answer
   * may be kept and served again while the revision holds. Freshness's staleness is not covered:
   * it changes with the clock.
   */
  revision(resource: string): number {
    return this.state(resource).revision;
  }

  async streamEvent(resource: string, change: StreamChange): Promise<void> {
    const s = this.state(resource);
    s.revision++;
    const entry = s.entryFor(change.object);
    if (change.type === 'delete') s.streamed.remove(entry.key);
    else s.streamed.upsert(entry);
    s.streamed.resourceVersion = change.resourceVersion;
    s.lastContact = change.receivedAt;
    s.record({ type: change.type, entry, resourceVersion: change.resourceVersion, receivedAt: change.receivedAt });
  }

  async streamListed(resource: string, items: KubeObject[], resourceVersion: string, receivedAt: number): Promise<void> {
    const s = this.state(resource);
    s.revision++;
    const entries = items.map((o) => s.entryFor(o));
    const listed = new Set<string>();
    for (const entry of entries) {
      listed.add(entry.key);
      s.streamed.upsert(entry);
    }
    const deleted: Entry[] = [];
    for (const key of [...s.streamed.keys()]) if (!listed.has(key)) deleted.push(s.streamed.remove(key)!);
    s.streamed.resourceVersion = resourceVersion;
    s.lastContact = receivedAt;
    for (const entry of entries) s.record({ type: 'upsert', entry, resourceVersion: entry.resourceVersion ?? '', receivedAt });
    // The list proves these gone as of its own version.
    for (const entry of deleted) s.record({ type: 'delete', entry, resourceVersion, receivedAt });
  }

  async streamProgress(resource: string, resourceVersion: string, receivedAt: number): Promise<void> {
    const s = this.state(resource);
    if (s.streamed.resourceVersion !== resourceVersion) s.revision++;
    s.streamed.resourceVersion = resourceVersion;
    s.lastContact = receivedAt;
  }

  async verified(resource: string, list: VerifiedList): Promise<Corrections> {
    const s = this.state(resource);
    s.revision++;
    const deletedAt = (key: string) => {
      const c = s.changes.get(key);
      return c?.type === 'delete' ? c.resourceVersion : undefined;
    };
    const version = (e: Entry | undefined) => e && { metadata: { resourceVersion: e.resourceVersion } };
    // The aggregated view is the cache being verified, at the stream's version.
    const found = classifyAgainstList({
      listed: list.items,
      listVersion: list.resourceVersion,
      cacheVersion: s.streamed.resourceVersion || undefined,
      cachedKeys: s.aggregated.keys(),
      cached: (key) => version(s.aggregated.get(key)),
      keyOf: objectKey,
      deletedAt,
    });
    const corrections: Corrections = { missedAdds: found?.missedAdds.length ?? 0, ghosts: found?.ghosts.length ?? 0, staleVersions: found?.staleVersions.length ?? 0 };
    const verified = new EntryIndex();
    for (const obj of list.items) verified.upsert(s.entryFor(obj));
    verified.resourceVersion = list.resourceVersion;
    s.verified = verified;
    s.verifiedVersion = list.resourceVersion;
    s.verifiedAt = list.listedAt;
    for (const [key, change] of s.changes) if (coveredBySnapshot(change, list)) s.changes.delete(key);
    const before = s.aggregated;
    const beforeFromStream = s.fromStream;
    s.aggregated = new EntryIndex();
    s.fromStream = new Set();
    for (const entry of verified.values()) s.aggregated.upsert(entry);
    const quiet = s.emit;
    s.emit = () => {};
    for (const [key, change] of s.changes) s.overlay(key, change);
    s.emit = quiet;
    // What the verification changed in the view, as events: corrections, mostly none.
    for (const old of before.values()) {
      if (!s.aggregated.get(old.key)) s.emit({ type: 'DELETED', entry: old, source: beforeFromStream.has(old.key) ? 'streamed' : 'verified', resourceVersion: list.resourceVersion });
    }
    for (const entry of s.aggregated.values()) {
      const old = before.get(entry.key);
      if (old === entry) continue;
      const source = s.fromStream.has(entry.key) ? 'streamed' : 'verified';
      s.emit({ type: old ? 'MODIFIED' : 'ADDED', entry, source, resourceVersion: entry.resourceVersion ?? list.resourceVersion });
    }
    return corrections;
  }

  async list(resource: string, view: View, query: StoreQuery = {}): Promise<QueryResult> {
    return this.listNow(resource, view, query);
  }

  /** `list`, synchronously: what a watch starting now begins with. */
  listNow(resource: string, view: View, query: StoreQuery = {}): QueryResult {
    const s = this.state(resource);
    const index = indexOf(s, view);
    let entries: Entry[];
    if (query.name !== undefined && query.namespace !== undefined) {
      const one = index.get(keyOf(query.namespace || undefined, query.name));
      entries = one && (!query.labelSelector || parseLabelSelector(query.labelSelector).matches(one.labels ?? {})) ? [one] : [];
    } else {
      entries = index.list({ namespace: query.namespace, labelSelector: query.labelSelector });
      if (query.name !== undefined) entries = entries.filter((e) => e.key === keyOf(e.namespace, query.name!));
    }
    if (query.nodeName !== undefined) entries = entries.filter((e) => e.nodeName === query.nodeName);
    let items = entries.map((e) => cached(s, view, e));
    if (query.filter) items = items.filter((c) => query.filter!(c.object));
    return { items, freshness: this.freshnessOf(s, view) };
  }

  async get(resource: string, view: View, namespace: string | undefined, name: string): Promise<{ item?: CachedObject; freshness: Freshness }> {
    const s = this.state(resource);
    const entry = indexOf(s, view).get(keyOf(namespace, name));
    return { item: entry ? cached(s, view, entry) : undefined, freshness: this.freshnessOf(s, view) };
  }

  async freshness(resource: string, view: View): Promise<Freshness> {
    return this.freshnessNow(resource, view);
  }

  /** `freshness`, synchronously. */
  freshnessNow(resource: string, view: View): Freshness {
    return this.freshnessOf(this.state(resource), view);
  }

  // --- for a store that mirrors this one (redis-store.ts): synchronous access by key

  /** The resources it holds anything of. */
  resources(): string[] {
    return [...this.states.keys()];
  }

  /** One object of a view by its key (namespace/name), as served. */
  entry(resource: string, view: View, key: string): CachedObject | undefined {
    const s = this.state(resource);
    const entry = indexOf(s, view).get(key);
    return entry ? cached(s, view, entry) : undefined;
  }

  /** Every object of a view by key, as served. */
  entries(resource: string, view: View): Map<string, CachedObject> {
    const s = this.state(resource);
    const out = new Map<string, CachedObject>();
    for (const entry of indexOf(s, view).values()) out.set(entry.key, cached(s, view, entry));
    return out;
  }

  /** What freshness is made of. */
  meta(resource: string): StoreMeta {
    const s = this.state(resource);
    return { streamResourceVersion: s.streamed.resourceVersion || undefined, lastContact: s.lastContact, verifiedAt: s.verifiedAt, verifiedResourceVersion: s.verifiedVersion };
  }

  async sizes(resource: string): Promise<Record<View, number>> {
    const s = this.state(resource);
    return { streamed: s.streamed.size, verified: s.verified.size, aggregated: s.aggregated.size };
  }

  private freshnessOf(s: ResourceState, view: View): Freshness {
    return freshnessFrom({ streamResourceVersion: s.streamed.resourceVersion || undefined, lastContact: s.lastContact, verifiedAt: s.verifiedAt, verifiedResourceVersion: s.verifiedVersion }, view, this.now());
  }
}

/** The facts freshness is computed from, per resource. */
export interface StoreMeta {
  streamResourceVersion?: string;
  /** When the stream last heard from the server (ms since the epoch). */
  lastContact?: number;
  verifiedAt?: number;
  verifiedResourceVersion?: string;
}

export function freshnessFrom(m: StoreMeta, view: View, now: number): Freshness {
  const since = view === 'verified' ? m.verifiedAt : m.lastContact;
  return {
    view,
    verifiedTime: m.verifiedAt !== undefined ? new Date(m.verifiedAt).toISOString() : null,
    verifiedResourceVersion: m.verifiedResourceVersion ?? null,
    streamResourceVersion: m.streamResourceVersion || null,
    stalenessSeconds: since !== undefined ? Math.max(0, (now - since) / 1000) : null,
  };
}

function indexOf(s: ResourceState, view: View): EntryIndex {
  return view === 'streamed' ? s.streamed : view === 'verified' ? s.verified : s.aggregated;
}

/** An entry as read from a view; the object is parsed from its bytes when asked for. */
class CachedEntry implements CachedObject {
  private parsed: KubeObject | undefined;

  constructor(
    readonly entry: Entry,
    readonly source: Source,
  ) {}

  get object(): KubeObject {
    return (this.parsed ??= this.entry.object());
  }
}

function cached(s: ResourceState, view: View, entry: Entry): CachedObject {
  return new CachedEntry(entry, view === 'streamed' || (view === 'aggregated' && s.fromStream.has(entry.key)) ? 'streamed' : 'verified');
}

/**
 * The in-memory MonitorStore. Per resource it keeps the stream's own state, the verified list,
 * the streamed changes since that list (the latest per key), and the aggregated view materialized
 * from those two, so that a query is an index lookup rather than a merge. The aggregated view is
 * rebuilt at each verification (one pass over the list, which was just read anyway) and updated
 * in place by each streamed change that counts.
 */
import { ObjectStore, objectKey, parseLabelSelector, type KubeObject } from '../kube/index.ts';
import { changeCounts, countCorrections, coveredBySnapshot } from './aggregate.ts';
import type { CachedObject, Corrections, Freshness, MonitorStore, QueryResult, StoreQuery, StreamChange, VerifiedList, View } from './store.ts';

class ResourceState {
  /** What the stream alone knows; its resourceVersion is the stream's. */
  streamed = new ObjectStore();
  lastContact: number | undefined;
  verified = new ObjectStore();
  verifiedAt: number | undefined;
  verifiedVersion: string | undefined;
  /** Streamed changes newer than the verified list, the latest per key. */
  changes = new Map<string, StreamChange>();
  aggregated = new ObjectStore();
  /** Keys whose object in the aggregated view came from the stream. */
  fromStream = new Set<string>();

  /** Lays a streamed change over the aggregated view if it counts. */
  overlay(key: string, change: StreamChange): void {
    const held = this.aggregated.getByKey(key);
    const snapshot = { resourceVersion: this.verifiedVersion, listedAt: this.verifiedAt };
    if (!changeCounts(change, snapshot, held, held !== undefined && !this.fromStream.has(key))) return;
    if (change.type === 'delete') {
      this.aggregated.remove(key);
      this.fromStream.delete(key);
    } else {
      this.aggregated.upsert(change.object);
      this.fromStream.add(key);
    }
  }

  record(change: StreamChange): void {
    const key = objectKey(change.object);
    this.changes.set(key, change);
    this.overlay(key, change);
  }
}

export class MemoryStore implements MonitorStore {
  private readonly states = new Map<string, ResourceState>();

  constructor(private readonly now: () => number = Date.now) {}

  private state(resource: string): ResourceState {
    let s = this.states.get(resource);
    if (!s) this.states.set(resource, (s = new ResourceState()));
    return s;
  }

  async streamEvent(resource: string, change: StreamChange): Promise<void> {
    const s = this.state(resource);
    if (change.type === 'delete') s.streamed.remove(objectKey(change.object));
    else s.streamed.upsert(change.object);
    s.streamed.resourceVersion = change.resourceVersion;
    s.lastContact = change.receivedAt;
    s.record(change);
  }

  async streamListed(resource: string, items: KubeObject[], resourceVersion: string, receivedAt: number): Promise<void> {
    const s = this.state(resource);
    const { deleted } = s.streamed.replace(items, resourceVersion);
    s.lastContact = receivedAt;
    for (const object of items) {
      s.record({ type: 'upsert', object, resourceVersion: object.metadata.resourceVersion ?? '', receivedAt });
    }
    // The list proves these gone as of its own version.
    for (const object of deleted) s.record({ type: 'delete', object, resourceVersion, receivedAt });
  }

  async streamProgress(resource: string, resourceVersion: string, receivedAt: number): Promise<void> {
    const s = this.state(resource);
    s.streamed.resourceVersion = resourceVersion;
    s.lastContact = receivedAt;
  }

  async verified(resource: string, list: VerifiedList): Promise<Corrections> {
    const s = this.state(resource);
    const deletedAt = (key: string) => {
      const c = s.changes.get(key);
      return c?.type === 'delete' ? c.resourceVersion : undefined;
    };
    const corrections = countCorrections({
      listed: list.items,
      listVersion: list.resourceVersion,
      streamVersion: s.streamed.resourceVersion || undefined,
      heldKeys: s.aggregated.keys(),
      held: (key) => s.aggregated.getByKey(key),
      keyOf: objectKey,
      deletedAt,
    });
    s.verified = new ObjectStore();
    for (const obj of list.items) s.verified.upsert(obj);
    s.verified.resourceVersion = list.resourceVersion;
    s.verifiedVersion = list.resourceVersion;
    s.verifiedAt = list.listedAt;
    for (const [key, change] of s.changes) if (coveredBySnapshot(change, list)) s.changes.delete(key);
    s.aggregated = new ObjectStore();
    s.fromStream = new Set();
    for (const obj of list.items) s.aggregated.upsert(obj);
    for (const [key, change] of s.changes) s.overlay(key, change);
    return corrections;
  }

  async list(resource: string, view: View, query: StoreQuery = {}): Promise<QueryResult> {
    const s = this.state(resource);
    const store = storeOf(s, view);
    let objects: KubeObject[];
    if (query.name !== undefined && query.namespace !== undefined) {
      const one = store.get(query.namespace || undefined, query.name);
      const labelsMatch = (o: KubeObject) => !query.labelSelector || parseLabelSelector(query.labelSelector).matches(o.metadata.labels ?? {});
      objects = one && labelsMatch(one) ? [one] : [];
    } else {
      objects = store.list({ namespace: query.namespace, labelSelector: query.labelSelector });
      if (query.name !== undefined) objects = objects.filter((o) => o.metadata.name === query.name);
    }
    if (query.filter) objects = objects.filter(query.filter);
    return { items: objects.map((object) => cached(s, view, object)), freshness: this.freshnessOf(s, view) };
  }

  async get(resource: string, view: View, namespace: string | undefined, name: string): Promise<{ item?: CachedObject; freshness: Freshness }> {
    const s = this.state(resource);
    const object = storeOf(s, view).get(namespace, name);
    return { item: object ? cached(s, view, object) : undefined, freshness: this.freshnessOf(s, view) };
  }

  async freshness(resource: string, view: View): Promise<Freshness> {
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
    const object = storeOf(s, view).getByKey(key);
    return object ? cached(s, view, object) : undefined;
  }

  /** Every object of a view by key, as served. */
  entries(resource: string, view: View): Map<string, CachedObject> {
    const s = this.state(resource);
    const store = storeOf(s, view);
    const out = new Map<string, CachedObject>();
    for (const key of store.keys()) out.set(key, cached(s, view, store.getByKey(key)!));
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

function storeOf(s: ResourceState, view: View): ObjectStore {
  return view === 'streamed' ? s.streamed : view === 'verified' ? s.verified : s.aggregated;
}

function cached(s: ResourceState, view: View, object: KubeObject): CachedObject {
  const source = view === 'streamed' || (view === 'aggregated' && s.fromStream.has(objectKey(object))) ? 'streamed' : 'verified';
  return { object, source };
}

/**
 * The devcluster's storage: what etcd is to a real API server. One global resourceVersion
 * counter (like an etcd revision) bumped by every write, a kept history of recent events so that
 * watches resume from a version and paginated lists read one consistent snapshot, and an
 * append-only log in the state directory so that every object survives a restart or a kill.
 *
 * Each stored object is kept as its JSON text, the form most reads (lists, watch fan-out, the log)
 * write, plus the few fields the indexes need (its key, version and labels): a parsed object takes
 * about twice its JSON again, which at tens of thousands of objects is most of the heap. The parsed
 * object is made on demand, and only the last few read are kept (see PARSED_KEPT). A stored object
 * is never changed: a write stores a new one.
 *
 * Each collection indexes its objects by label, so that a label selector reads the objects that
 * carry the labels it asks for instead of every object (see LabelIndex).
 */
import type { Logger } from '../../kube/index.ts';
import { LabelIndex, type IndexTerm } from './label-index.ts';
import { ObjectLog, type LogRecord } from './object-log.ts';
import { clone } from './patch/json-value.ts';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/**
 * How many parsed objects are kept, the most recently read: enough that the reads around one write
 * (the hooks, the answer, the watchers' field selectors) parse it once. A fixed number rather than
 * a weak reference to whatever is still in use, so that the heap a store takes does not depend on
 * when the garbage collector last ran.
 */
const PARSED_KEPT = 64;
const parsedKept = new Map<Entry, any>();

function keepParsed(entry: Entry, obj: any): void {
  parsedKept.set(entry, obj);
  if (parsedKept.size > PARSED_KEPT) parsedKept.delete(parsedKept.keys().next().value!);
}

/**
 * A copy of an object's labels, made by adding the keys one by one: objects with the same keys in
 * the same order then share one hidden class. (A spread copy that is then frozen gets a hidden
 * class of its own, a few hundred bytes per object.)
 */
function copyLabels(labels: unknown): Readonly<Record<string, string>> | undefined {
  if (!labels || typeof labels !== 'object') return undefined;
  let copy: Record<string, string> | undefined;
  for (const [k, v] of Object.entries(labels)) (copy ??= {})[k] = v;
  return copy;
}

export class Entry {
  /** The object's JSON: what lists, watches and the log write, and what `obj` is parsed from. */
  readonly json: string;
  /** `metadata.resourceVersion`, as a number. */
  readonly rv: number;
  /** `metadata.labels` (a copy, never changed), read by selectors and the label index without parsing. */
  readonly labels: Readonly<Record<string, string>> | undefined;

  constructor(
    readonly key: string,
    obj: any,
  ) {
    this.json = JSON.stringify(obj);
    this.rv = Number(obj.metadata?.resourceVersion ?? 0);
    this.labels = copyLabels(obj.metadata?.labels);
    keepParsed(this, obj);
  }

  /** The namespace, from the key (`ns/name`; '' for a cluster-scoped object). */
  get namespace(): string {
    return this.key.slice(0, this.key.indexOf('/'));
  }

  /** The name, from the key. */
  get name(): string {
    return this.key.slice(this.key.indexOf('/') + 1);
  }

  /** The object. Treat it as read-only: a change must be stored as a new object (clone it first). */
  get obj(): any {
    let obj = parsedKept.get(this);
    if (obj === undefined) obj = JSON.parse(this.json);
    // Read again, it moves to the end of the map: the first key is the least recently read.
    else parsedKept.delete(this);
    keepParsed(this, obj);
    return obj;
  }
}

/** A change to one object, kept in the history and sent to watchers. */
export interface StoredEvent {
  rv: number;
  type: EventType;
  collection: string;
  key: string;
  /** The object after the change (for DELETED: the object as it was deleted, with the delete's version). */
  entry: Entry;
  /** The object before the change, undefined for ADDED. */
  prev?: Entry;
}

export type Listener = (event: StoredEvent) => void;

export interface StorageOptions {
  /** Directory of the append-only log; none keeps everything in memory. */
  dir?: string;
  /** How long events are kept for watch resumes and paginated lists. */
  historyWindowMs?: number;
  /** At most this many events are kept, whatever their age. */
  historyMax?: number;
  /** Where the log says what it recovered, skipped and compacted. */
  log?: Logger;
  /** The log is compacted once larger than this (default 64 MiB)… */
  compactMinBytes?: number;
  /** …and this many times larger than the live objects (default 4). */
  compactRatio?: number;
  /** How much of the log is read at a time on load (default 1 MiB). */
  readChunkBytes?: number;
  /**
   * A label selector reads through the index when its narrowest term holds at most this share of
   * the collection (default 0.25): past it, sorting the candidates costs more than a scan.
   */
  labelIndexMaxShare?: number;
}

/** About what a live object's record takes in the log: its JSON, key, collection and the record's fields. */
function recordBytes(collection: string, key: string, entry: Entry): number {
  return entry.json.length + key.length + collection.length + 40;
}

export function objectKey(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

class Collection {
  readonly entries = new Map<string, Entry>();
  readonly labels = new LabelIndex();
  private sorted?: Entry[];

  sortedEntries(): Entry[] {
    if (!this.sorted) this.sorted = [...this.entries.values()].sort(byKey);
    return this.sorted;
  }

  set(key: string, entry: Entry): void {
    const prev = this.entries.get(key);
    this.entries.set(key, entry);
    this.labels.update(key, prev?.labels, entry.labels);
    if (!prev) this.sorted = undefined;
    else if (this.sorted) {
      const i = lowerBound(this.sorted, key);
      this.sorted[i] = entry;
    }
  }

  delete(key: string): void {
    const prev = this.entries.get(key);
    if (!prev) return;
    this.entries.delete(key);
    this.labels.update(key, prev.labels, undefined);
    this.sorted = undefined;
  }
}

function byKey(a: Entry, b: Entry): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/** Index of the first entry whose key is >= key. */
function lowerBound(sorted: Entry[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid].key < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The entries of one namespace are a contiguous range of the sorted keys (`ns/name`). */
function namespaceRange(sorted: Entry[], namespace: string): Entry[] {
  const from = lowerBound(sorted, `${namespace}/`);
  // '0' is the character after '/', so this bounds every key with the `ns/` prefix.
  const to = lowerBound(sorted, `${namespace}0`);
  return sorted.slice(from, to);
}

export class Storage {
  private revision = 0;
  /** Events with rv > compactedRevision are in `history`; older ones are gone (410 Expired). */
  private compacted = 0;
  private history: StoredEvent[] = [];
  private readonly collections = new Map<string, Collection>();
  private readonly listeners = new Map<string, Set<Listener>>();
  private objectLog?: ObjectLog;
  /** What the live objects' records would take in a compacted log. */
  private liveBytes = 0;
  private readonly historyWindowMs: number;
  private readonly historyMax: number;
  private readonly historyTimes: number[] = [];

  constructor(private readonly opts: StorageOptions = {}) {
    this.historyWindowMs = opts.historyWindowMs ?? 5 * 60_000;
    this.historyMax = opts.historyMax ?? 200_000;
    if (opts.dir) this.load(opts.dir);
    this.compacted = this.revision;
  }

  /** The size of the log on disk, in bytes (0 without a state dir). */
  get logBytes(): number {
    return this.objectLog?.bytes ?? 0;
  }

  /** How many times the log has been compacted since this storage opened it. */
  get compactions(): number {
    return this.objectLog?.compactions ?? 0;
  }

  onCompaction(fn: () => void): void {
    this.objectLog?.onCompaction(fn);
  }

  get resourceVersion(): number {
    return this.revision;
  }

  get compactedRevision(): number {
    return this.compacted;
  }

  private collection(name: string): Collection {
    let c = this.collections.get(name);
    if (!c) {
      c = new Collection();
      this.collections.set(name, c);
    }
    return c;
  }

  get(collection: string, key: string): Entry | undefined {
    return this.collections.get(collection)?.entries.get(key);
  }

  count(collection: string): number {
    return this.collections.get(collection)?.entries.size ?? 0;
  }

  /**
   * Entries of a collection (of one namespace, if given) sorted by key, as of revision `at`
   * (default: now). Throws `HistoryExpiredError` when that revision has been compacted away.
   *
   * With `labels` (what the label index can answer of a selector, see `indexTerms`), the result
   * may leave out entries that cannot match them: it is then a sorted superset of the matches,
   * and the caller still checks each entry against its whole selector.
   */
  list(collection: string, namespace?: string, at?: number, labels?: readonly IndexTerm[]): Entry[] {
    const c = this.collections.get(collection);
    if (at !== undefined && at < this.revision && at < this.compacted) throw new HistoryExpiredError(at, this.compacted);
    const keys = c && labels && labels.length > 0 ? c.labels.candidates(labels, Math.max(16, c.entries.size * (this.opts.labelIndexMaxShare ?? 0.25))) : undefined;
    let entries: Entry[];
    if (keys) {
      entries = [];
      const prefix = namespace === undefined ? undefined : `${namespace}/`;
      for (const k of keys) if (prefix === undefined || k.startsWith(prefix)) entries.push(c!.entries.get(k)!);
    } else {
      const current = c ? c.sortedEntries() : [];
      entries = namespace === undefined ? current : namespaceRange(current, namespace);
    }
    if (at !== undefined && at < this.revision) {
      // Undo, newest first, every change made after `at`. An entry that matched then but not now
      // is among the undone ones, so an indexed read stays a superset of the matches.
      const overrides = new Map<string, Entry | null>();
      for (let i = this.history.length - 1; i >= 0 && this.history[i].rv > at; i--) {
        const e = this.history[i];
        if (e.collection !== collection) continue;
        if (namespace !== undefined && e.entry.namespace !== namespace) continue;
        overrides.set(e.key, e.prev ?? null);
      }
      if (overrides.size > 0) {
        entries = entries.filter((e) => !overrides.has(e.key));
        for (const v of overrides.values()) if (v) entries.push(v);
        return entries.sort(byKey);
      }
    }
    return keys ? entries.sort(byKey) : entries;
  }

  /** Every event of a collection after revision `after`; throws HistoryExpiredError if compacted. */
  eventsSince(collection: string, after: number): StoredEvent[] {
    if (after < this.compacted) throw new HistoryExpiredError(after, this.compacted);
    const out: StoredEvent[] = [];
    let i = this.history.length;
    while (i > 0 && this.history[i - 1].rv > after) i--;
    for (; i < this.history.length; i++) if (this.history[i].collection === collection) out.push(this.history[i]);
    return out;
  }

  /**
   * Stores `obj` under the next revision (its metadata.resourceVersion is set here) and tells
   * watchers. `type` says whether it is a create or an update.
   */
  put(collection: string, key: string, obj: any, type: 'ADDED' | 'MODIFIED'): Entry {
    const rv = ++this.revision;
    obj.metadata.resourceVersion = String(rv);
    const c = this.collection(collection);
    const prev = c.entries.get(key);
    const entry = new Entry(key, obj);
    c.set(key, entry);
    this.liveBytes += recordBytes(collection, key, entry) - (prev ? recordBytes(collection, key, prev) : 0);
    // The object's JSON is built once: for the log here, and for every later read.
    this.persistLine(`{"rv":${rv},"c":${JSON.stringify(collection)},"k":${JSON.stringify(key)},"o":${entry.json}}`);
    this.record({ rv, type, collection, key, entry, prev });
    return entry;
  }

  /** Removes an object; the DELETED event carries the object with the deletion's revision. */
  remove(collection: string, key: string): Entry | undefined {
    const c = this.collections.get(collection);
    const prev = c?.entries.get(key);
    if (!c || !prev) return undefined;
    const rv = ++this.revision;
    const last = clone(prev.obj);
    last.metadata.resourceVersion = String(rv);
    const entry = new Entry(key, last);
    c.delete(key);
    this.liveBytes -= recordBytes(collection, key, prev);
    this.persist({ rv, c: collection, k: key, d: 1 });
    this.record({ rv, type: 'DELETED', collection, key, entry, prev });
    return entry;
  }

  /** Removes a whole collection (a deleted CRD's objects), one event per object. */
  dropCollection(collection: string): void {
    const c = this.collections.get(collection);
    if (!c) return;
    for (const key of [...c.entries.keys()]) this.remove(collection, key);
  }

  subscribe(collection: string, fn: Listener): () => void {
    let set = this.listeners.get(collection);
    if (!set) {
      set = new Set();
      this.listeners.set(collection, set);
    }
    set.add(fn);
    return () => set.delete(fn);
  }

  /** Forgets the history: every resume from an older version now gets 410 Expired. */
  expireHistory(): void {
    this.history = [];
    this.historyTimes.length = 0;
    this.compacted = this.revision;
  }

  close(): void {
    this.objectLog?.close();
    this.objectLog = undefined;
  }

  private record(event: StoredEvent): void {
    this.history.push(event);
    const now = Date.now();
    this.historyTimes.push(now);
    this.trimHistory(now);
    const set = this.listeners.get(event.collection);
    if (set) for (const fn of set) fn(event);
  }

  private trimHistory(now: number): void {
    let drop = 0;
    const limit = now - this.historyWindowMs;
    while (drop < this.history.length && (this.history.length - drop > this.historyMax || this.historyTimes[drop] < limit)) drop++;
    // Trim in batches so that the arrays are not shifted on every write.
    if (drop > 0 && (drop >= 1024 || drop === this.history.length)) {
      this.compacted = this.history[drop - 1].rv;
      this.history.splice(0, drop);
      this.historyTimes.splice(0, drop);
    }
  }

  private persist(record: Record<string, unknown>): void {
    this.persistLine(JSON.stringify(record));
  }

  private persistLine(line: string): void {
    if (!this.objectLog) return;
    this.objectLog.append(line);
    if (this.objectLog.due(this.liveBytes)) this.compactLog();
  }

  /** The records of a compacted log: the revision, then each live object from its cached JSON. */
  private *snapshotLines(): Generator<string> {
    yield JSON.stringify({ rv: this.revision, meta: true });
    for (const [name, c] of this.collections) {
      const prefix = `,"c":${JSON.stringify(name)},"k":`;
      for (const e of c.entries.values()) yield `{"rv":${e.rv}${prefix}${JSON.stringify(e.key)},"o":${e.json}}`;
    }
  }

  private compactLog(): void {
    this.objectLog!.compact(this.snapshotLines());
  }

  /** Replays the log (see ObjectLog for what is recovered and how), compacting it when it is due. */
  private load(dir: string): void {
    const apply = (rec: LogRecord) => {
      this.revision = Math.max(this.revision, rec.rv);
      if (rec.meta) return;
      const c = this.collection(rec.c!);
      if (rec.d) c.delete(rec.k!);
      else c.set(rec.k!, new Entry(rec.k!, rec.o));
    };
    this.objectLog = new ObjectLog({ dir, log: this.opts.log, compactMinBytes: this.opts.compactMinBytes, compactRatio: this.opts.compactRatio, readChunkBytes: this.opts.readChunkBytes }, apply);
    for (const [name, c] of this.collections) for (const e of c.entries.values()) this.liveBytes += recordBytes(name, e.key, e);
    if (this.objectLog.due(this.liveBytes)) this.compactLog();
  }
}

export class HistoryExpiredError extends Error {
  constructor(
    readonly requested: number,
    readonly oldest: number,
  ) {
    super(`too old resource version: ${requested} (${oldest})`);
  }
}

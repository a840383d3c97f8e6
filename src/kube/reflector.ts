/**
 * A Reflector keeps an ObjectStore equal to the server's view of one resource, following
 * client-go's reflector protocol (see REFERENCE.md §5):
 *
 * - List (paginated, `limit` + `continue`), apply the list as one atomic replace that emits
 *   deletions for objects that vanished, then watch from the list's resourceVersion with
 *   bookmarks. The cache's version advances on every event and bookmark.
 * - 410 Expired (as the answer to the watch request or as an ERROR event in the stream) means our
 *   version is older than the server's history: relist at the last version, and if that is expired
 *   too, at "" (a fresh consistent read). Never jump ahead by watching from "now": the events in
 *   between would be lost.
 * - Connection errors, 429 and 5xx: back off (capped exponential with jitter) and watch again from
 *   the last version, without relisting; a relist of a large resource is what overloads a server.
 * - A watch that goes quiet (no event nor bookmark for `quietWatchMs`) is restarted by a watchdog:
 *   half-open connections otherwise look like an idle resource forever. Watches also ask the server
 *   for `timeoutSeconds` with jitter, as client-go does, so they are renewed regularly.
 * - Optionally, every `resyncVerifyEvery` ms a fresh list is compared with the cache and the
 *   differences the watch should already have delivered are corrected and reported (`onVerify`).
 *
 * Besides the handlers, which hear what changed in the cache, observers can hear the raw facts of
 * the stream as they arrive (`onList`, `onWatchEvent`, `onBookmark`), in the order the server sent
 * them, each after the cache has applied it: for consumers that keep their own record of the
 * stream (such as the monitor's `streamed` view) rather than the cache's.
 */
import type { Logger } from 'pino';
import {
  KubeApiError,
  isExpired,
  type KubeClient,
  type KubeObject,
  type ResourceType,
  type WatchEvent,
  type WatchEventType,
} from './client.ts';
import { ObjectStore, objectKey } from './store.ts';
import { sleep } from './sleep.ts';
import { asCached, listAll } from './list-all.ts';
import { classifyAgainstList, compareVersions } from './verify.ts';

export interface ReflectorHandlers<T extends KubeObject> {
  onAdd?(obj: T): void;
  onUpdate?(old: T, obj: T): void;
  onDelete?(obj: T): void;
}

/** The watch events that carry an object change (bookmarks and errors are the stream's own). */
export type ObjectEventType = Exclude<WatchEventType, 'BOOKMARK' | 'ERROR'>;

/** Raw stream facts, heard in order; `receivedAt` is when the reflector got them (ms since the epoch). */
export interface ReflectorObservers<T extends KubeObject> {
  /** Every list, the first and each relist: the server holds exactly `items` at `resourceVersion`. */
  onList?(items: T[], resourceVersion: string, receivedAt: number): void;
  /** Every watch event, as the server named it (for DELETED, `obj` carries the deletion's version). */
  onWatchEvent?(type: ObjectEventType, obj: T, receivedAt: number): void;
  /** Every bookmark that carried a version. */
  onBookmark?(resourceVersion: string, receivedAt: number): void;
}

/** What a periodic verification found the watch had missed, and corrected. */
export interface VerifyReport {
  /** Objects on the server the cache lacked although it was past their version. */
  missedAdds: number;
  /** Objects in the cache that the server no longer has although the cache was past the list. */
  ghosts: number;
  /** Objects the cache held at an older version than the server although it was past the newer one. */
  staleVersions: number;
  /** The resourceVersion of the list the cache was compared with. */
  resourceVersion: string;
}

export interface ReflectorOptions<T extends KubeObject> extends ReflectorHandlers<T>, ReflectorObservers<T> {
  client: KubeClient;
  resource: ResourceType;
  /** Only this namespace (namespaced resources); all namespaces when unset. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Names the reflector in logs; defaults to the resource's plural.group. */
  name?: string;
  logger?: Logger;
  store?: ObjectStore<T>;
  pageSize?: number;
  /** Minimum `timeoutSeconds` of a watch; each watch asks for a random value in [min, 2·min). */
  minWatchTimeoutSeconds?: number;
  /** The watchdog restarts a watch that has delivered no event or bookmark for this long. */
  quietWatchMs?: number;
  backoff?: { initialMs?: number; maxMs?: number };
  /** Compare a fresh list with the cache this often (ms); off when unset. */
  resyncVerifyEvery?: number;
  onVerify?(report: VerifyReport): void;
}

/** Counters for metrics; they only grow. */
export interface ReflectorStats {
  lists: number;
  relists: number;
  events: number;
  bookmarks: number;
  expired: number;
  watchRestarts: number;
  errors: number;
  verifies: number;
}

/** Signals, inside the loop, that the cache's version is no longer served. */
class ExpiredError extends Error {}

export class Reflector<T extends KubeObject = KubeObject> {
  readonly store: ObjectStore<T>;
  readonly stats: ReflectorStats = { lists: 0, relists: 0, events: 0, bookmarks: 0, expired: 0, watchRestarts: 0, errors: 0, verifies: 0 };
  readonly name: string;
  private readonly opts: ReflectorOptions<T>;
  private readonly handlers: ReflectorHandlers<T>[] = [];
  private synced = false;
  private syncWaiters: (() => void)[] = [];
  private stopped = false;
  private running: Promise<void> | undefined;
  private readonly stopController = new AbortController();
  private currentWatch: { close(): void } | undefined;
  /** Set after a 410: the next list must be at the last version, then (if that fails too) at "". */
  private listFrom: 'last' | 'fresh' = 'fresh';
  private needList = true;
  private failures = 0;
  private verifyTimer: NodeJS.Timeout | undefined;
  private verifying = false;
  /** Keys deleted by watch events since the last verify, with the deletion's version. */
  private readonly tombstones = new Map<string, string>();

  constructor(opts: ReflectorOptions<T>) {
    this.opts = opts;
    this.store = opts.store ?? new ObjectStore<T>();
    this.name = opts.name ?? (opts.resource.group ? `${opts.resource.plural}.${opts.resource.group}` : opts.resource.plural);
    this.handlers.push(opts);
  }

  /** Adds handlers; they hear only what happens from now on (call before `start` to hear everything). */
  addHandlers(h: ReflectorHandlers<T>): void {
    this.handlers.push(h);
  }

  /** Starts the list/watch loop in the background; `waitForSync` tells when the first list is in. */
  start(): this {
    if (this.running || this.stopped) return this;
    this.running = this.loop();
    if (this.opts.resyncVerifyEvery) {
      this.verifyTimer = setInterval(() => void this.verifyNow(), this.opts.resyncVerifyEvery);
    }
    return this;
  }

  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves when the first list has been applied; rejects if stopped before. */
  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(new Error(`${this.name}: stopped before the cache synced`));
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.stopController.signal.addEventListener('abort', onAbort, { once: true });
      this.syncWaiters.push(() => {
        signal?.removeEventListener('abort', onAbort);
        this.stopController.signal.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.verifyTimer);
    this.stopController.abort();
    this.currentWatch?.close();
    await this.running;
  }

  // --- the loop

  private async loop(): Promise<void> {
    while (!this.stopped) {
      try {
        if (this.needList) await this.listAndReplace();
        await this.watchOnce();
      } catch (err) {
        if (this.stopped) break;
        // A fresh list ("") cannot be too old; a 410 to it is a server problem, so it backs off below.
        const freshListExpired = this.needList && this.listFrom === 'fresh';
        if ((err instanceof ExpiredError || isExpired(err)) && !freshListExpired) {
          this.stats.expired++;
          this.log('info', { err: describe(err), resourceVersion: this.store.resourceVersion }, 'resource version expired; relisting');
          // The watch expired: list at the last version. That list expired too: list at "".
          this.listFrom = this.needList ? 'fresh' : 'last';
          this.needList = true;
          continue;
        }
        this.stats.errors++;
        const delay = this.nextBackoff(err);
        this.log('warn', { err: describe(err), retryInMs: delay }, this.needList ? 'list failed' : 'watch failed');
        await this.sleep(delay);
      }
    }
  }

  private async listAndReplace(): Promise<void> {
    const resourceVersion = this.listFrom === 'last' ? this.store.resourceVersion : '';
    const { items, resourceVersion: listVersion } = await this.listAll(resourceVersion);
    if (this.stopped) return;
    this.stats.lists++;
    if (this.synced) this.stats.relists++;
    const changes = this.store.replace(items, listVersion);
    this.tombstones.clear();
    this.needList = false;
    this.listFrom = 'last';
    this.failures = 0;
    this.log('debug', { resourceVersion: listVersion, objects: items.length, ...counts(changes) }, 'listed');
    this.observe('onList', items, listVersion, Date.now());
    for (const obj of changes.added) this.emit('onAdd', obj);
    for (const { old, obj } of changes.updated) this.emit('onUpdate', old, obj);
    for (const obj of changes.deleted) this.emit('onDelete', obj);
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters.splice(0)) w();
    }
  }

  /** All pages of a list, as one snapshot (see listAll). */
  private listAll(resourceVersion: string): Promise<{ items: T[]; resourceVersion: string }> {
    return listAll<T>(this.opts.client, { ...this.opts.resource, namespace: this.opts.namespace }, {
      labelSelector: this.opts.labelSelector,
      fieldSelector: this.opts.fieldSelector,
      pageSize: this.opts.pageSize,
      resourceVersion,
      signal: this.stopController.signal,
      onRestart: () => this.log('info', {}, 'list continuation expired; listing again from the start'),
    });
  }

  /** One watch, from the cache's version, until it ends, fails, or goes quiet. */
  private async watchOnce(): Promise<void> {
    const minTimeout = this.opts.minWatchTimeoutSeconds ?? 300;
    const quietMs = this.opts.quietWatchMs ?? 180_000;
    const started = Date.now();
    let received = 0;
    const stream = await this.opts.client.watch<T>(
      { ...this.opts.resource, namespace: this.opts.namespace },
      {
        resourceVersion: this.store.resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: Math.floor(minTimeout * (1 + Math.random())),
        labelSelector: this.opts.labelSelector,
        fieldSelector: this.opts.fieldSelector,
        signal: this.stopController.signal,
      },
    );
    this.currentWatch = stream;
    if (this.stopped) stream.close(); // stop() ran while the watch was opening
    let quiet = false;
    let watchdog: NodeJS.Timeout | undefined;
    const feed = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => {
        quiet = true;
        stream.close();
      }, quietMs);
    };
    feed();
    try {
      for await (const event of stream) {
        feed();
        received++;
        this.apply(event);
        this.failures = 0;
      }
    } catch (err) {
      // A connection cut after the watch had delivered events is a watch ending, not a failing
      // server: watch again at once. Errors from the server itself (ERROR events) go up.
      if (received === 0 || err instanceof KubeApiError || err instanceof ExpiredError) throw err;
      this.log('debug', { err: describe(err) }, 'watch connection lost');
    } finally {
      clearTimeout(watchdog);
      this.currentWatch = undefined;
    }
    if (this.stopped) return;
    this.stats.watchRestarts++;
    if (quiet) {
      this.log('warn', { quietMs, resourceVersion: this.store.resourceVersion }, 'watch went quiet; restarting it');
      return;
    }
    // A watch the server ends at once with nothing in it, again and again, must not become a hot
    // loop (client-go's "very short watch"): treat it as a failure so that it backs off.
    if (received === 0 && Date.now() - started < 1000) throw new Error('watch closed by the server immediately');
  }

  private apply(event: WatchEvent<T>): void {
    if (event.type === 'ERROR') {
      const status = event.object as unknown as { code?: number };
      const err = KubeApiError.fromStatus(status as never);
      if (status.code === 410) throw new ExpiredError(err.message);
      throw err;
    }
    const version = event.object?.metadata?.resourceVersion;
    if (event.type === 'BOOKMARK') {
      this.stats.bookmarks++;
      if (version) {
        this.store.resourceVersion = version;
        this.observe('onBookmark', version, Date.now());
      }
      return;
    }
    this.stats.events++;
    const receivedAt = Date.now();
    const obj = asCached(event.object);
    const key = objectKey(obj);
    if (event.type === 'DELETED') {
      const old = this.store.remove(key);
      if (this.opts.resyncVerifyEvery && version) this.tombstones.set(key, version);
      if (version) this.store.resourceVersion = version;
      this.observe('onWatchEvent', 'DELETED', obj, receivedAt);
      this.emit('onDelete', old ?? obj);
      return;
    }
    // ADDED and MODIFIED are both "this is the object now": which one the cache hears depends on
    // whether it had the key, not on the event's name (after a re-watch they may disagree).
    const old = this.store.upsert(obj);
    this.tombstones.delete(key);
    if (version) this.store.resourceVersion = version;
    this.observe('onWatchEvent', event.type, obj, receivedAt);
    if (old) this.emit('onUpdate', old, obj);
    else this.emit('onAdd', obj);
  }

  // --- periodic verification

  /**
   * Lists afresh and corrects the cache where it disagrees with the server in a way the watch can
   * no longer fix: missed adds, stale versions and ghosts, as `classifyAgainstList` tells them
   * apart. Differences the cache is simply behind on are left to the watch. Returns the report, or
   * undefined when skipped (not synced, already running, or the versions are not integers).
   */
  async verifyNow(): Promise<VerifyReport | undefined> {
    if (!this.synced || this.verifying || this.stopped || this.needList) return undefined;
    this.verifying = true;
    try {
      const { items, resourceVersion } = await this.listAll('');
      // Give the watch a moment to reach the list's version, so that fewer differences are
      // merely "not delivered yet".
      const deadline = Date.now() + 2000;
      while ((compareVersions(this.store.resourceVersion, resourceVersion) ?? 0) < 0 && Date.now() < deadline && !this.stopped) await this.sleep(20);
      if (this.stopped || this.needList) return undefined;
      const found = classifyAgainstList<T, T>({
        listed: items,
        listVersion: resourceVersion,
        cacheVersion: this.store.resourceVersion,
        cachedKeys: this.store.keys(),
        cached: (key) => this.store.getByKey(key),
        keyOf: objectKey,
        deletedAt: (key) => this.tombstones.get(key),
      });
      if (!found) return undefined;
      for (const item of found.missedAdds) {
        this.store.upsert(item);
        this.emit('onAdd', item);
      }
      for (const { cached, listed } of found.staleVersions) {
        this.store.upsert(listed);
        this.emit('onUpdate', cached, listed);
      }
      for (const { key, cached } of found.ghosts) {
        this.store.remove(key);
        this.emit('onDelete', cached);
      }
      for (const [key, at] of this.tombstones) if ((compareVersions(at, resourceVersion) ?? 0) <= 0) this.tombstones.delete(key);
      const report: VerifyReport = { missedAdds: found.missedAdds.length, ghosts: found.ghosts.length, staleVersions: found.staleVersions.length, resourceVersion };
      this.stats.verifies++;
      if (report.missedAdds || report.ghosts || report.staleVersions) {
        this.log('warn', { ...report }, 'verification corrected the cache');
      }
      this.opts.onVerify?.(report);
      return report;
    } catch (err) {
      if (!this.stopped) this.log('warn', { err: describe(err) }, 'verification list failed');
      return undefined;
    } finally {
      this.verifying = false;
    }
  }

  // --- helpers

  /** Cached objects carry no managedFields: they are large and nothing in KRE reads them. */
  private emit(kind: 'onAdd' | 'onDelete', obj: T): void;
  private emit(kind: 'onUpdate', old: T, obj: T): void;
  private emit(kind: keyof ReflectorHandlers<T>, a: T, b?: T): void {
    for (const h of this.handlers) {
      try {
        if (kind === 'onUpdate') h.onUpdate?.(a, b!);
        else h[kind]?.(a);
      } catch (err) {
        this.log('error', { err: describe(err), key: objectKey(b ?? a) }, `${kind} handler failed`);
      }
    }
  }

  /** Tells an observer a stream fact; an observer that throws is logged and does not stop the loop. */
  private observe<K extends keyof ReflectorObservers<T>>(kind: K, ...args: Parameters<NonNullable<ReflectorObservers<T>[K]>>): void {
    const fn = this.opts[kind] as ((...a: unknown[]) => void) | undefined;
    if (!fn) return;
    try {
      fn.apply(this.opts, args);
    } catch (err) {
      this.log('error', { err: describe(err) }, `${kind} observer failed`);
    }
  }

  /** Capped exponential backoff with "equal jitter": half fixed, half random, never above the cap. */
  private nextBackoff(err: unknown): number {
    const initial = this.opts.backoff?.initialMs ?? 800;
    const max = this.opts.backoff?.maxMs ?? 30_000;
    const base = Math.min(max, initial * 2 ** Math.min(this.failures, 30));
    this.failures++;
    const delay = base / 2 + Math.random() * (base / 2);
    const retryAfterMs = err instanceof KubeApiError && err.retryAfterSeconds ? err.retryAfterSeconds * 1000 : 0;
    return Math.max(delay, Math.min(retryAfterMs, max));
  }

  private sleep(ms: number): Promise<void> {
    return sleep(ms, this.stopController.signal);
  }

  private log(level: 'debug' | 'info' | 'warn' | 'error', fields: object, msg: string): void {
    this.opts.logger?.[level]({ reflector: this.name, ...fields }, msg);
  }
}

function counts<T>(c: { added: T[]; updated: unknown[]; deleted: T[] }) {
  return { added: c.added.length, updated: c.updated.length, deleted: c.deleted.length };
}

function describe(err: unknown): string {
  if (err instanceof KubeApiError) return `${err.code} ${err.reason}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

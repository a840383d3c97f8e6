/**
 * The stream of one resource, on the kube core's Reflector: list, watch from the list's version
 * with bookmarks, re-watch from the last version when a watch ends, relist on 410 Expired. The
 * reflector's periodic verification is off: the monitor's verifier does that, so the `streamed`
 * view shows what the stream alone knows, lost events included, until a relist.
 *
 * The reflector tells its facts synchronously; the store is asynchronous. Writes are serialized
 * per resource in the order heard, on one promise chain. The backlog is bounded: when it is full
 * the pending facts are not queued one by one any more but collapsed into one snapshot of the
 * reflector's own cache (which is exactly what the stream knows), written once the backlog drains.
 * That cache keeps the entries the store's views share, not parsed objects (see stream-cache.ts).
 */
import type { Logger } from 'pino';
import type { KubeClient, KubeObject } from '../kube/index.ts';
import { Reflector, type ObjectEventType } from '../kube/index.ts';
import { tracked, type ListTarget } from './kube-calls.ts';
import { StreamCache } from './stream-cache.ts';

export type StreamEventType = ObjectEventType;

export interface StreamHandlers {
  listed(items: KubeObject[], resourceVersion: string, receivedAt: number): Promise<void>;
  event(type: StreamEventType, obj: KubeObject, receivedAt: number): Promise<void>;
  bookmark(resourceVersion: string, receivedAt: number): Promise<void>;
}

export interface StreamOptions extends Omit<ListTarget, 'signal'>, StreamHandlers {
  logger?: Logger;
  /** A watch that delivers nothing (not even a bookmark) for this long is restarted. */
  quietWatchMs?: number;
  minWatchTimeoutSeconds?: number;
  backoff?: { initialMs: number; maxMs: number };
  /** Store writes waiting at most; beyond it the backlog collapses into one snapshot. */
  maxBacklog?: number;
}

export interface StreamStats {
  events: Record<StreamEventType, number>;
  bookmarks: number;
  lists: number;
  relists: number;
  expired: number;
  watches: number;
  /** Times the backlog of store writes was full and collapsed into a snapshot. */
  collapsed: number;
}

export class Stream {
  readonly reflector: Reflector;
  private readonly events: Record<StreamEventType, number> = { ADDED: 0, MODIFIED: 0, DELETED: 0 };
  private collapsed = 0;
  private chain: Promise<void> = Promise.resolve();
  private pending = 0;
  /** Facts are not queued while a collapsed snapshot waits to be written: it will cover them. */
  private collapsing = false;
  private listedOnce = false;
  private markSynced!: () => void;
  /** Resolves when the first list has been written to the store. */
  readonly ready = new Promise<void>((resolve) => (this.markSynced = resolve));
  private readonly maxBacklog: number;

  constructor(private readonly o: StreamOptions) {
    this.maxBacklog = o.maxBacklog ?? 10_000;
    this.reflector = new Reflector({
      client: countedClient(o.client, o.record, o.id),
      resource: o.resource,
      namespace: o.namespace,
      fieldSelector: o.fieldSelector,
      name: o.id,
      logger: o.logger,
      pageSize: o.pageSize,
      quietWatchMs: o.quietWatchMs,
      minWatchTimeoutSeconds: o.minWatchTimeoutSeconds,
      backoff: o.backoff,
      store: new StreamCache(),
      onList: (items, rv, at) =>
        this.enqueue(async () => {
          await o.listed(items, rv, at);
          this.markListed();
        }),
      onWatchEvent: (type, obj, at) => {
        this.events[type]++;
        this.enqueue(() => o.event(type, obj, at));
      },
      onBookmark: (rv, at) => this.enqueue(() => o.bookmark(rv, at)),
    });
  }

  get stats(): StreamStats {
    const s = this.reflector.stats;
    return { events: { ...this.events }, bookmarks: s.bookmarks, lists: s.lists, relists: s.relists, expired: s.expired, watches: s.watchRestarts + (s.lists ? 1 : 0), collapsed: this.collapsed };
  }

  /** The version the stream has reached. */
  get resourceVersion(): string {
    return this.reflector.store.resourceVersion;
  }

  /** Whether the first list is in the store. */
  get synced(): boolean {
    return this.listedOnce;
  }

  /** Store writes waiting. */
  get backlog(): number {
    return this.pending;
  }

  start(): this {
    this.reflector.start();
    return this;
  }

  async stop(): Promise<void> {
    await this.reflector.stop();
    await this.chain;
  }

  private markListed(): void {
    if (this.listedOnce) return;
    this.listedOnce = true;
    this.markSynced();
  }

  private enqueue(write: () => Promise<void>): void {
    if (this.collapsing) return;
    if (this.pending < this.maxBacklog) return this.push(write);
    this.collapsing = true;
    this.collapsed++;
    this.o.logger?.warn({ resource: this.o.id, backlog: this.pending }, 'store writes fell behind the stream; writing a snapshot of the stream instead');
    this.push(async () => {
      // Taken when its turn comes, so it holds every fact heard until then; later facts queue after it.
      const cache = this.reflector.store;
      const items = cache.list();
      const rv = cache.resourceVersion;
      this.collapsing = false;
      await this.o.listed(items, rv, Date.now());
      this.markListed();
    });
  }

  private push(write: () => Promise<void>): void {
    this.pending++;
    this.chain = this.chain
      .then(write)
      .catch((err: Error) => this.o.logger?.error({ resource: this.o.id, err: err.message }, 'store write failed'))
      .finally(() => this.pending--);
  }
}

/** The client as the reflector uses it, counting its lists and watches in the monitor's metrics. */
function countedClient(client: KubeClient, record: ListTarget['record'], id: string): KubeClient {
  const counted = Object.create(client) as KubeClient;
  counted.list = ((ref, opts) => tracked(record, 'list', id, () => client.list(ref, opts))) as KubeClient['list'];
  counted.watch = ((ref, opts) => tracked(record, 'watch', id, () => client.watch(ref, opts))) as KubeClient['watch'];
  return counted;
}

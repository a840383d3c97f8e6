/**
 * The stream of one resource: list, then watch from the list's version with bookmarks, re-watch
 * from the last version when a watch ends, relist only on 410 Expired. It reports what it hears
 * as it hears it and repairs nothing else: lost events stay lost until a relist. That is the
 * point of the `streamed` view; the verifier is what makes the aggregated view right.
 */
import type { Logger } from 'pino';
import { KubeApiError, isExpired, type KubeObject } from '../kube/index.ts';
import { listAll, normalize, tracked, type ListTarget } from './kube-calls.ts';

export type StreamEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

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
}

export interface StreamStats {
  events: Record<StreamEventType, number>;
  bookmarks: number;
  lists: number;
  relists: number;
  expired: number;
  watches: number;
}

class Expired extends Error {}

export class Stream {
  readonly stats: StreamStats = { events: { ADDED: 0, MODIFIED: 0, DELETED: 0 }, bookmarks: 0, lists: 0, relists: 0, expired: 0, watches: 0 };
  resourceVersion = '';
  private needList = true;
  private stopped = false;
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;
  private failures = 0;
  /** Whether the first list is in. */
  synced = false;
  private markSynced!: () => void;
  readonly ready = new Promise<void>((resolve) => (this.markSynced = resolve));

  constructor(private readonly o: StreamOptions) {}

  start(): this {
    this.running ??= this.loop();
    return this;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    await this.running;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      try {
        if (this.needList) await this.list();
        await this.watch();
        this.failures = 0;
      } catch (err) {
        if (this.stopped) break;
        if (err instanceof Expired || isExpired(err)) {
          // Our version is older than the server's history: only a list can tell what happened
          // since. Watching from "now" instead would skip those events for good.
          this.stats.expired++;
          this.needList = true;
          this.o.logger?.info({ resource: this.o.id, resourceVersion: this.resourceVersion }, 'stream expired; relisting');
          continue;
        }
        const delay = this.backoff();
        this.o.logger?.warn({ resource: this.o.id, err: (err as Error).message, retryInMs: Math.round(delay) }, 'stream failed; retrying');
        await this.sleep(delay);
      }
    }
  }

  private async list(): Promise<void> {
    const { items, resourceVersion } = await listAll({ ...this.o, signal: this.abort.signal });
    if (this.stopped) return;
    if (this.stats.lists++ > 0) this.stats.relists++;
    this.resourceVersion = resourceVersion;
    this.needList = false;
    await this.o.listed(items, resourceVersion, Date.now());
    this.synced = true;
    this.markSynced();
  }

  private async watch(): Promise<void> {
    const minTimeout = this.o.minWatchTimeoutSeconds ?? 300;
    const stream = await tracked(this.o.record, 'watch', this.o.id, () =>
      this.o.client.watch({ ...this.o.resource, namespace: this.o.namespace }, {
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: Math.floor(minTimeout * (1 + Math.random())),
        fieldSelector: this.o.fieldSelector,
        signal: this.abort.signal,
      }),
    );
    this.stats.watches++;
    const quietMs = this.o.quietWatchMs ?? 120_000;
    let watchdog: NodeJS.Timeout | undefined;
    const feed = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => stream.close(), quietMs);
    };
    feed();
    const started = Date.now();
    let received = 0;
    const apiVersion = this.o.resource.group ? `${this.o.resource.group}/${this.o.resource.version}` : this.o.resource.version;
    try {
      for await (const event of stream) {
        feed();
        received++;
        const at = Date.now();
        if (event.type === 'ERROR') {
          const status = event.object as unknown as { code?: number };
          if (status.code === 410) throw new Expired('watch expired');
          throw KubeApiError.fromStatus(status as never);
        }
        const version = event.object?.metadata?.resourceVersion ?? '';
        if (event.type === 'BOOKMARK') {
          this.stats.bookmarks++;
          if (version) this.resourceVersion = version;
          await this.o.bookmark(this.resourceVersion, at);
          continue;
        }
        this.stats.events[event.type]++;
        if (version) this.resourceVersion = version;
        await this.o.event(event.type, normalize(event.object, apiVersion, this.o.resource.kind), at);
      }
    } catch (err) {
      if (err instanceof Expired || err instanceof KubeApiError) throw err;
      // The connection broke: watch again from where we are, which is what a watch ending is for.
      this.o.logger?.debug({ resource: this.o.id, err: (err as Error).message }, 'watch connection lost');
    } finally {
      clearTimeout(watchdog);
    }
    // A server that ends every watch at once must not turn this loop into a hot one: back off.
    if (received === 0 && Date.now() - started < 1000 && !this.stopped) throw new Error('watch ended at once with no event');
  }

  private backoff(): number {
    const { initialMs, maxMs } = this.o.backoff ?? { initialMs: 500, maxMs: 30_000 };
    const base = Math.min(maxMs, initialMs * 2 ** Math.min(this.failures++, 20));
    return base / 2 + Math.random() * (base / 2);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.abort.signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
    });
  }
}

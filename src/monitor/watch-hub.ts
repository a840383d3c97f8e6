/**
 * Watches served from the cache: the changes of a resource's aggregated view, fanned out to any
 * number of clients (`kubectl get -w`, client-go and client-node informers) over the one watch the
 * monitor keeps on the API server.
 *
 * - resourceVersions are the API server's, the ones the lists carry, so a client lists, then
 *   watches from the list's version, as against the server. The last HISTORY changes are kept to
 *   resume from; a version older than those is 410 Expired, and the client lists again.
 * - Without a version (or "0"), the watch starts with an ADDED per object the view holds.
 * - Bookmarks (allowWatchBookmarks) go out every BOOKMARK_MS with the version the view is at.
 * - Each watcher's unsent bytes are bounded (MAX_QUEUED_BYTES unless told otherwise): a watcher
 *   that falls further behind is sent an ERROR event saying so and closed, with a warning, and it
 *   is counted; the others never wait.
 */
import type http from 'node:http';
import type { Logger } from 'pino';
import { compareVersions } from '../kube/index.ts';
import type { Entry } from './entry.ts';
import type { Source } from './store.ts';

export const HISTORY = 10_000;
export const BOOKMARK_MS = 10_000;
export const MAX_QUEUED_BYTES = 16 << 20;

export interface ViewChange {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  entry: Entry;
  source: Source;
  resourceVersion: string;
}

export interface WatchRequest {
  /** Which objects: already narrowed by namespace and selectors. */
  matches(entry: Entry): boolean;
  /** Resume after this version; undefined: start with the current objects. */
  resourceVersion?: string;
  bookmarks: boolean;
  timeoutSeconds?: number;
  /** The current objects, for a watch without a version (read only then). */
  current(): { entry: Entry; source: Source }[];
  /** The version the view is at now. */
  version(): string;
  /** Renders an event for this watcher (a Table row for kubectl); else the object's own JSON. */
  render?(change: ViewChange): Buffer;
}

export class TooOldError extends Error {}

interface Watcher {
  res: http.ServerResponse;
  req: WatchRequest;
  bookmarkTimer?: NodeJS.Timeout;
  timeout?: NodeJS.Timeout;
}

export class WatchHub {
  private readonly history: ViewChange[] = [];
  /** Version of the newest change dropped from the history ('' while none was). */
  private dropped = '';
  private readonly watchers = new Set<Watcher>();
  closedTooSlow = 0;

  private readonly maxQueuedBytes: number;

  constructor(
    private readonly o: {
      kind: string;
      apiVersion: string;
      logger?: Logger;
      resource: string;
      /** A watcher's unsent bytes beyond which it is closed (default MAX_QUEUED_BYTES). */
      maxQueuedBytes?: number;
      /** Told each time a watcher is closed for falling behind. */
      onClosedTooSlow?: () => void;
    },
  ) {
    this.maxQueuedBytes = o.maxQueuedBytes ?? MAX_QUEUED_BYTES;
  }

  get size(): number {
    return this.watchers.size;
  }

  publish(change: ViewChange): void {
    this.history.push(change);
    if (this.history.length > HISTORY) this.dropped = this.history.shift()!.resourceVersion;
    let bytes: Buffer | undefined;
    for (const w of this.watchers) {
      if (!w.req.matches(change.entry)) continue;
      this.send(w, w.req.render ? w.req.render(change) : (bytes ??= eventBytes(change)));
    }
  }

  /** Starts serving a watch on `res`; throws TooOldError when its version is no longer kept. */
  watch(res: http.ServerResponse, req: WatchRequest): void {
    let backlog: ViewChange[];
    if (req.resourceVersion === undefined) {
      backlog = req.current().map((c) => ({ type: 'ADDED' as const, entry: c.entry, source: c.source, resourceVersion: '' }));
    } else {
      const from = req.resourceVersion;
      const vsDropped = this.dropped === '' ? 1 : compareVersions(from, this.dropped);
      if (vsDropped === undefined || vsDropped < 0) throw new TooOldError(`too old resource version: ${from} (${this.dropped})`);
      backlog = this.history.filter((c) => (compareVersions(c.resourceVersion, from) ?? 1) > 0 && req.matches(c.entry));
    }
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache, private' });
    res.flushHeaders();
    const w: Watcher = { res, req };
    this.watchers.add(w);
    const end = () => this.remove(w);
    res.on('close', end);
    for (const c of backlog) this.send(w, req.render ? req.render(c) : eventBytes(c));
    if (req.bookmarks) {
      if (req.resourceVersion === undefined) this.send(w, this.bookmark(req.version()));
      w.bookmarkTimer = setInterval(() => this.send(w, this.bookmark(req.version())), BOOKMARK_MS);
      w.bookmarkTimer.unref();
    }
    if (req.timeoutSeconds) {
      w.timeout = setTimeout(() => {
        this.remove(w);
        res.end();
      }, req.timeoutSeconds * 1000);
      w.timeout.unref();
    }
  }

  /** Ends every watch (the monitor stops). */
  closeAll(): void {
    for (const w of [...this.watchers]) {
      this.remove(w);
      w.res.end();
    }
  }

  private send(w: Watcher, bytes: Buffer): void {
    if (w.res.destroyed) return this.remove(w);
    const limit = this.maxQueuedBytes;
    if (w.res.writableLength + bytes.length > limit) {
      this.closedTooSlow++;
      this.o.onClosedTooSlow?.();
      this.o.logger?.warn({ resource: this.o.resource, queuedBytes: w.res.writableLength, limit }, 'watch closed: the client reads too slowly');
      this.remove(w);
      const status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'TooManyRequests', code: 429, message: `watch closed: the client fell more than ${limit} bytes behind` };
      w.res.end(`${JSON.stringify({ type: 'ERROR', object: status })}\n`);
      setTimeout(() => w.res.destroy(), 10_000).unref();
      return;
    }
    w.res.write(bytes);
  }

  private remove(w: Watcher): void {
    if (!this.watchers.delete(w)) return;
    clearInterval(w.bookmarkTimer);
    clearTimeout(w.timeout);
  }

  private bookmark(resourceVersion: string): Buffer {
    const object = { kind: this.o.kind, apiVersion: this.o.apiVersion, metadata: { resourceVersion } };
    return Buffer.from(`${JSON.stringify({ type: 'BOOKMARK', object })}\n`);
  }
}

const OPEN = Buffer.from('{"type":"');
const OBJECT = Buffer.from('","object":');
const CLOSE = Buffer.from('}\n');

function eventBytes(c: ViewChange): Buffer {
  const type = Buffer.from(c.type);
  const out = Buffer.allocUnsafe(OPEN.length + type.length + OBJECT.length + c.entry.servedLength(c.source) + CLOSE.length);
  let at = OPEN.copy(out, 0);
  at += type.copy(out, at);
  at += OBJECT.copy(out, at);
  at = c.entry.copyServed(c.source, out, at);
  CLOSE.copy(out, at);
  return out;
}

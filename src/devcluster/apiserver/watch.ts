/**
 * Watch streams: one JSON event per line over a chunked 200 response whose headers are flushed at
 * once (client-node's informer waits for them). A watch starts from a version (replaying the kept
 * history after it), or from now with synthetic ADDED events; objects that start or stop matching
 * the selectors arrive as ADDED or DELETED; bookmarks when asked; `timeoutSeconds` ends it cleanly.
 */
import type { ServerResponse } from 'node:http';
import { errors } from './errors.ts';
import type { Faults } from './faults.ts';
import type { Filter } from './query.ts';
import { apiVersionOf, collectionKey, type ResourceType } from './resources.ts';
import { HistoryExpiredError, type Entry, type Storage, type StoredEvent } from './storage.ts';

export interface WatchRequest {
  t: ResourceType;
  filter: Filter;
  /** '' or undefined: from now with synthetic ADDEDs; '0': the same; N: replay after N. */
  resourceVersion?: string;
  allowBookmarks: boolean;
  /** From now (no version): send the current state as ADDED events first (false with sendInitialEvents=false). */
  initialEvents: boolean;
  /** sendInitialEvents=true: mark the end of the initial events with an annotated BOOKMARK. */
  initialEventsEnd: boolean;
  timeoutSeconds?: number;
  bookmarkIntervalMs: number;
  /** Wraps each object (Table output for `kubectl get -w`); undefined sends the object itself. */
  render?: (entry: Entry, type: string) => string;
}

export interface WatchContext {
  storage: Storage;
  faults: Faults;
  onEvent?: (collection: string) => void;
  watchers: Set<ServerResponse>;
  /**
   * The most a watcher may have waiting to be sent (queued events and bytes not yet taken by its
   * socket). A watcher further behind is closed, as kube-apiserver closes a watcher whose buffer
   * is full; its client watches again from the last version it got.
   */
  maxBufferedBytes: number;
  /** Called when a watcher is closed for being too far behind. */
  onTooSlow?: (collection: string) => void;
  /** Each open watcher's bytes waiting to be sent, for /metrics. */
  buffered: Map<ServerResponse, () => number>;
}

/** Something to send: a stored change (rendered when sent) or a ready line. */
type Outgoing = { type: string; entry: Entry; faults: boolean } | { line: string };

/** Bytes an outgoing item will take, counted against the watcher's limit before it is rendered. */
function sizeOf(item: Outgoing): number {
  return 'line' in item ? item.line.length : item.entry.json.length + 32;
}

/**
 * The event line (with its newline) of a change. The last one made is kept: an event is sent to
 * every watcher of its collection in one go, so they share one line, and no stored object holds
 * a second copy of its JSON.
 */
let lastLine: { type: string; entry: Entry; line: string } | undefined;
function eventLine(type: string, entry: Entry): string {
  if (lastLine?.entry !== entry || lastLine.type !== type) lastLine = { type, entry, line: `{"type":"${type}","object":${entry.json}}\n` };
  return lastLine.line;
}

export function serveWatch(res: ServerResponse, w: WatchRequest, ctx: WatchContext): void {
  const { storage, faults } = ctx;
  const collection = collectionKey(w.t);
  const apiVersion = apiVersionOf(w.t);
  const ns = w.filter.namespace;
  const inScope = (e: Entry) => ns === undefined || e.namespace === ns;
  const matches = (e: Entry | undefined) => !!e && inScope(e) && w.filter.matches(e);

  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
  res.flushHeaders();
  ctx.watchers.add(res);

  let closed = false;
  const timers: NodeJS.Timeout[] = [];
  let unsubscribe = () => {};
  /**
   * What is still to be sent, oldest first: the initial events or the replayed history (a
   * snapshot of references to stored objects, sent as the client reads), then what happened
   * since. Items before `next` are sent.
   */
  let queue: Outgoing[] = [];
  let next = 0;
  /** Bytes of the queued events after the snapshot: what the limit bounds. */
  let queuedBytes = 0;
  /** How many items at the head of the queue are the snapshot (not counted against the limit). */
  let snapshotLeft = 0;
  let waitingForDrain = false;
  /** The watch has timed out: it ends once the queue is sent. */
  let ending = false;
  /** Ends the stream; `destroy` drops what the socket still holds instead of sending it first. */
  const finish = (destroy = false) => {
    if (closed) return;
    closed = true;
    for (const t of timers) clearTimeout(t);
    unsubscribe();
    ctx.watchers.delete(res);
    ctx.buffered.delete(res);
    queue = [];
    if (destroy) res.destroy();
    else res.end();
  };
  res.on('close', () => finish());
  ctx.buffered.set(res, () => queuedBytes + res.writableLength);

  // Events written in the same tick go out together: one TLS record instead of one per event.
  let corked = false;
  /** Writes one line (with its newline); false when the socket wants the writer to wait. */
  const write = (line: string): boolean => {
    if (closed || res.writableEnded) return false;
    if (!corked) {
      corked = true;
      res.cork();
      process.nextTick(() => {
        corked = false;
        res.uncork();
      });
    }
    return res.write(line);
  };
  const emit = (item: Outgoing): boolean => {
    if ('line' in item) return write(item.line);
    const { type, entry } = item;
    if (item.faults && faults.dropEvent(collection)) return true;
    const ok = write(w.render ? `{"type":"${type}","object":${w.render(entry, type)}}\n` : eventLine(type, entry));
    ctx.onEvent?.(collection);
    if (item.faults && faults.closeWatch(collection)) finish();
    return ok;
  };
  /** Sends what is queued for as long as the socket takes it, then waits for it to drain. */
  const pump = () => {
    while (!closed && !waitingForDrain && next < queue.length) {
      const item = queue[next];
      queue[next++] = undefined as unknown as Outgoing;
      if (snapshotLeft > 0) snapshotLeft--;
      else queuedBytes -= sizeOf(item);
      if (!emit(item) && !closed) {
        waitingForDrain = true;
        res.once('drain', () => {
          waitingForDrain = false;
          pump();
        });
      }
    }
    if (closed) return;
    if (next === queue.length) {
      queue = [];
      next = 0;
      if (ending && !waitingForDrain) finish();
    } else if (next > 4096 && next * 2 > queue.length) {
      queue = queue.slice(next);
      next = 0;
    }
  };
  /** Queues an item; `snapshot` items (all queued before any other) are not counted against the limit. */
  const enqueue = (item: Outgoing, snapshot = false) => {
    if (closed) return;
    queue.push(item);
    // The snapshot is held as references to stored objects and sent as the client reads; what
    // happens after it is what a client too slow to read makes pile up.
    if (snapshot) snapshotLeft++;
    else queuedBytes += sizeOf(item);
    if (!snapshot && queuedBytes + res.writableLength > ctx.maxBufferedBytes) {
      ctx.onTooSlow?.(collection);
      // Ending would wait for the buffered bytes to reach a client that does not read: destroy
      // the stream, as kube-apiserver drops such a watcher, and free what it holds.
      finish(true);
      return;
    }
    if (!waitingForDrain) pump();
  };
  const sendEntry = (type: string, entry: Entry, injectFaults: boolean, snapshot = false) => enqueue({ type, entry, faults: injectFaults }, snapshot);
  const bookmarkLine = (annotations?: Record<string, string>) => {
    const metadata: Record<string, unknown> = { resourceVersion: String(storage.resourceVersion) };
    if (annotations) metadata.annotations = annotations;
    return JSON.stringify({ type: 'BOOKMARK', object: { kind: w.t.kind, apiVersion, metadata } }) + '\n';
  };
  /** The lowest version this watcher may see: a watch from a version not reached yet waits for it. */
  let floor = 0;
  /** Translates a stored change into what this watcher sees, given its selectors. */
  const deliver = (ev: StoredEvent, injectFaults: boolean, snapshot = false) => {
    if (ev.rv <= floor) return;
    const before = matches(ev.prev);
    if (ev.type === 'DELETED') {
      if (before) sendEntry('DELETED', ev.entry, injectFaults, snapshot);
      return;
    }
    const after = matches(ev.entry);
    if (after) sendEntry(before ? 'MODIFIED' : 'ADDED', ev.entry, injectFaults, snapshot);
    else if (before) sendEntry('DELETED', ev.entry, injectFaults, snapshot);
  };

  const rv = w.resourceVersion;
  if (!rv || rv === '0') {
    if (w.initialEvents) for (const e of storage.list(collection, ns, undefined, w.filter.labelTerms)) if (w.filter.matches(e)) sendEntry('ADDED', e, false, true);
    if (w.initialEventsEnd) enqueue({ line: bookmarkLine({ 'k8s.io/initial-events-end': 'true' }) }, true);
  } else {
    const from = /^\d+$/.test(rv) ? Number(rv) : NaN;
    if (!Number.isSafeInteger(from)) {
      write(JSON.stringify({ type: 'ERROR', object: errors.badRequest(`invalid resource version: ${JSON.stringify(rv)}`).toStatus() }) + '\n');
      finish();
      return;
    }
    let backlog: StoredEvent[];
    try {
      backlog = storage.eventsSince(collection, from);
    } catch (err) {
      if (!(err instanceof HistoryExpiredError)) throw err;
      write(JSON.stringify({ type: 'ERROR', object: errors.expired(`too old resource version: ${from} (${err.oldest})`).toStatus() }) + '\n');
      finish();
      return;
    }
    // As kube-apiserver: a watch from a version the server has not reached is accepted and sends
    // only what comes after that version, never anything older.
    floor = from;
    for (const ev of backlog) {
      deliver(ev, true, true);
      if (closed) return;
    }
    if (w.initialEventsEnd) enqueue({ line: bookmarkLine({ 'k8s.io/initial-events-end': 'true' }) }, true);
  }
  if (closed) return;
  // Subscribed in the same tick as the replay above, so no event falls between them.
  unsubscribe = storage.subscribe(collection, (ev) => deliver(ev, true));

  if (w.allowBookmarks) {
    const tick = () => {
      if (storage.resourceVersion >= floor) enqueue({ line: bookmarkLine() });
      timers[0] = setTimeout(tick, w.bookmarkIntervalMs);
    };
    timers[0] = setTimeout(tick, w.bookmarkIntervalMs);
  }
  if (w.timeoutSeconds !== undefined && w.timeoutSeconds > 0) {
    timers[1] = setTimeout(() => {
      if (w.allowBookmarks && storage.resourceVersion >= floor) enqueue({ line: bookmarkLine() });
      // Ends once what is queued has gone out.
      ending = true;
      if (next >= queue.length && !waitingForDrain) finish();
    }, w.timeoutSeconds * 1000);
  }
}

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
  const finish = () => {
    if (closed) return;
    closed = true;
    for (const t of timers) clearTimeout(t);
    unsubscribe();
    ctx.watchers.delete(res);
    res.end();
  };
  res.on('close', finish);

  // Events written in the same tick go out together: one TLS record instead of one per event.
  let corked = false;
  /** Writes one event; `terminated` lines already end with a newline. */
  const write = (line: string, terminated = false) => {
    if (closed || res.writableEnded) return;
    if (!corked) {
      corked = true;
      res.cork();
      process.nextTick(() => {
        corked = false;
        res.uncork();
      });
    }
    res.write(terminated ? line : line + '\n');
  };
  const sendEntry = (type: string, entry: Entry, injectFaults: boolean) => {
    if (injectFaults && faults.dropEvent(collection)) return;
    if (w.render) write(`{"type":"${type}","object":${w.render(entry, type)}}`);
    else write(entry.eventLine(type), true);
    ctx.onEvent?.(collection);
    if (injectFaults && faults.closeWatch(collection)) finish();
  };
  const bookmark = (annotations?: Record<string, string>) => {
    const metadata: Record<string, unknown> = { resourceVersion: String(storage.resourceVersion) };
    if (annotations) metadata.annotations = annotations;
    write(JSON.stringify({ type: 'BOOKMARK', object: { kind: w.t.kind, apiVersion, metadata } }));
  };
  /** Translates a stored change into what this watcher sees, given its selectors. */
  const deliver = (ev: StoredEvent, injectFaults: boolean) => {
    const before = matches(ev.prev);
    if (ev.type === 'DELETED') {
      if (before) sendEntry('DELETED', ev.entry, injectFaults);
      return;
    }
    const after = matches(ev.entry);
    if (after) sendEntry(before ? 'MODIFIED' : 'ADDED', ev.entry, injectFaults);
    else if (before) sendEntry('DELETED', ev.entry, injectFaults);
  };

  const rv = w.resourceVersion;
  if (!rv || rv === '0') {
    if (w.initialEvents) for (const e of storage.list(collection, ns)) if (w.filter.matches(e)) sendEntry('ADDED', e, false);
    if (w.initialEventsEnd) bookmark({ 'k8s.io/initial-events-end': 'true' });
  } else {
    const from = Number(rv);
    if (!Number.isInteger(from) || from < 0) {
      write(JSON.stringify({ type: 'ERROR', object: errors.badRequest(`invalid resource version: ${JSON.stringify(rv)}`).toStatus() }));
      finish();
      return;
    }
    let backlog: StoredEvent[];
    try {
      backlog = storage.eventsSince(collection, from);
    } catch (err) {
      if (!(err instanceof HistoryExpiredError)) throw err;
      write(JSON.stringify({ type: 'ERROR', object: errors.expired(`too old resource version: ${from} (${err.oldest})`).toStatus() }));
      finish();
      return;
    }
    for (const ev of backlog) {
      deliver(ev, true);
      if (closed) return;
    }
    if (w.initialEventsEnd) bookmark({ 'k8s.io/initial-events-end': 'true' });
  }
  if (closed) return;
  // Subscribed in the same tick as the replay above, so no event falls between them.
  unsubscribe = storage.subscribe(collection, (ev) => deliver(ev, true));

  if (w.allowBookmarks) {
    const tick = () => {
      bookmark();
      timers[0] = setTimeout(tick, w.bookmarkIntervalMs);
    };
    timers[0] = setTimeout(tick, w.bookmarkIntervalMs);
  }
  if (w.timeoutSeconds !== undefined && w.timeoutSeconds > 0) {
    timers[1] = setTimeout(() => {
      if (w.allowBookmarks) bookmark();
      finish();
    }, w.timeoutSeconds * 1000);
  }
}

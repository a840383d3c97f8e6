/**
 * WatchVersion's pollers: one per (namespace, version, step), shared by every stream on it, so N
 * streams on one version cost one pair of queries per interval, not N (the seed polled per stream).
 *
 * A poller asks its source for the points after the last one it sent, every `intervalMs`, and
 * hands each new batch to its subscribers. Instants are multiples of the step, so every stream of a
 * poller — and a stream's own backfill from its `fromDate` — sees the same timestamps.
 *
 * - A failing query ends every stream of the poller with the error (UNAVAILABLE and the reason);
 *   the poller goes, and the next stream on that version starts a new one.
 * - A stream that ends (client gone) leaves its poller; the poller stops with its last stream.
 * - A slow client: each stream holds at most `bufferPoints` points that its transport has not
 *   taken; beyond that the stream ends with RESOURCE_EXHAUSTED (its poller and the other streams go
 *   on), because holding more for a reader that does not keep up would grow without bound.
 */
import type { Logger } from 'pino';
import { MetricsError } from './errors.ts';
import { alignDown, alignUp, type WatchRequest } from './request.ts';
import { toWire, type MetricsPoint, type VersionResourceMetrics } from './series.ts';
import type { MetricsSource } from './source.ts';

/** The transport of one stream (a gRPC server stream, in the service). */
export interface StreamSink {
  /** Sends one message; false when the transport's buffer is full, until `onDrain`. */
  write(points: VersionResourceMetrics[]): boolean;
  onDrain(fn: () => void): void;
  /** Ends the stream with an error. */
  fail(err: MetricsError): void;
}

export interface Subscription {
  /** The client went away: stop sending, leave the poller. */
  cancel(): void;
}

export interface WatchHubOptions {
  intervalMs: number;
  /** Points a stream may hold for a slow client. */
  bufferPoints: number;
  /** Streams open at once over all versions. */
  maxStreams: number;
  /** The most points one backfill or one poll asks for. */
  maxPoints: number;
  log?: Logger;
  now?: () => number;
  /** Called as pollers and streams come and go, for the manager's gauges. */
  onChange?(pollers: number, streams: number): void;
}

class Stream implements Subscription {
  private queue: VersionResourceMetrics[][] = [];
  private queued = 0;
  private blocked = false;
  /** Points up to this instant were sent (or are queued); later batches start after it. */
  delivered = -Infinity;
  /** Batches that arrive while the backfill is under way wait here. */
  private held: MetricsPoint[][] | undefined;
  done = false;

  constructor(
    private readonly sink: StreamSink,
    private readonly limit: number,
    private readonly leave: (s: Stream) => void,
  ) {}

  holdUntilBackfilled(): void {
    this.held = [];
  }

  backfilled(points: MetricsPoint[]): void {
    const held = this.held ?? [];
    this.held = undefined;
    this.deliver(points);
    for (const batch of held) this.deliver(batch);
  }

  deliver(points: readonly MetricsPoint[]): void {
    if (this.done) return;
    if (this.held) {
      this.held.push([...points]);
      if (this.held.reduce((a, b) => a + b.length, 0) > this.limit) this.overflow();
      return;
    }
    const fresh = points.filter((p) => p.t > this.delivered);
    if (fresh.length === 0) return;
    this.delivered = fresh[fresh.length - 1].t;
    this.queue.push(fresh.map(toWire));
    this.queued += fresh.length;
    if (this.queued > this.limit) return this.overflow();
    this.pump();
  }

  private overflow(): void {
    this.fail(new MetricsError('resource-exhausted', `the client reads too slowly: more than ${this.limit} points were waiting for it, so the stream ends (reconnect with fromDate to catch up)`));
  }

  private pump(): void {
    while (!this.blocked && !this.done && this.queue.length > 0) {
      const msg = this.queue.shift()!;
      this.queued -= msg.length;
      if (!this.sink.write(msg)) {
        this.blocked = true;
        this.sink.onDrain(() => {
          this.blocked = false;
          this.pump();
        });
      }
    }
  }

  fail(err: MetricsError): void {
    if (this.done) return;
    this.done = true;
    this.queue = [];
    this.leave(this);
    this.sink.fail(err);
  }

  cancel(): void {
    if (this.done) return;
    this.done = true;
    this.queue = [];
    this.leave(this);
  }
}

class Poller {
  readonly streams = new Set<Stream>();
  /** The last instant sent to the streams. */
  private last: number | undefined;
  private latest: MetricsPoint | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    readonly key: string,
    private readonly req: Pick<WatchRequest, 'namespace' | 'version' | 'step'>,
    private readonly hub: WatchHub,
  ) {}

  start(): void {
    void this.tick();
  }

  /** A stream without a backfill gets the latest point at once, if there is one. */
  add(s: Stream, backfill: boolean): void {
    this.streams.add(s);
    if (!backfill && this.latest) s.deliver([this.latest]);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const step = this.req.step;
    const end = alignDown(this.hub.nowSeconds(), step);
    const earliest = end - (this.hub.o.maxPoints - 1) * step;
    const start = Math.max(this.last === undefined ? end : this.last + step, earliest);
    if (start <= end) {
      let points: MetricsPoint[];
      try {
        points = await this.hub.source.range({ namespace: this.req.namespace, version: this.req.version, start, end, step });
      } catch (err) {
        if (this.stopped) return;
        const e = err instanceof MetricsError ? err : new MetricsError('internal', (err as Error).message);
        this.hub.o.log?.warn({ namespace: this.req.namespace, version: this.req.version, step, err: e.message }, 'metrics poll failed: ending its streams');
        this.hub.dropPoller(this);
        for (const s of [...this.streams]) s.fail(e);
        return;
      }
      if (this.stopped) return;
      const fresh = points.filter((p) => this.last === undefined || p.t > this.last);
      if (fresh.length > 0) {
        this.last = fresh[fresh.length - 1].t;
        this.latest = fresh[fresh.length - 1];
        for (const s of [...this.streams]) s.deliver(fresh);
      }
    }
    if (!this.stopped) this.timer = setTimeout(() => void this.tick(), this.hub.o.intervalMs);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}

export class WatchHub {
  private readonly pollers = new Map<string, Poller>();
  private streams = 0;

  constructor(
    readonly source: MetricsSource,
    readonly o: WatchHubOptions,
  ) {}

  nowSeconds(): number {
    return (this.o.now?.() ?? Date.now()) / 1000;
  }

  /** Pollers and streams open now. */
  stats(): { pollers: number; streams: number } {
    return { pollers: this.pollers.size, streams: this.streams };
  }

  /**
   * A stream on `req`: points from `req.from` up to now first (one range query of its own), then
   * every new point its poller finds. Throws RESOURCE_EXHAUSTED when `maxStreams` are open.
   */
  subscribe(req: WatchRequest, sink: StreamSink): Subscription {
    if (this.streams >= this.o.maxStreams) throw new MetricsError('resource-exhausted', `${this.o.maxStreams} metric streams are open, the most this manager serves: close some first`);
    const key = JSON.stringify([req.namespace, req.version, req.step]);
    let poller = this.pollers.get(key);
    const fresh = !poller;
    if (!poller) {
      poller = new Poller(key, req, this);
      this.pollers.set(key, poller);
    }
    const p = poller;
    const stream = new Stream(sink, this.o.bufferPoints, (s) => this.leave(p, s));
    this.streams++;
    const backfill = req.from !== undefined;
    if (backfill) stream.holdUntilBackfilled();
    p.add(stream, backfill);
    this.changed();
    if (fresh) p.start();
    if (backfill) {
      const end = alignDown(this.nowSeconds(), req.step);
      const start = alignUp(req.from!, req.step);
      const q = start <= end ? this.source.range({ namespace: req.namespace, version: req.version, start, end, step: req.step }) : Promise.resolve([]);
      q.then(
        (points) => stream.backfilled(points),
        (err) => stream.fail(err instanceof MetricsError ? err : new MetricsError('internal', (err as Error).message)),
      );
    }
    return stream;
  }

  dropPoller(p: Poller): void {
    p.stop();
    if (this.pollers.get(p.key) === p) this.pollers.delete(p.key);
    this.changed();
  }

  private leave(p: Poller, s: Stream): void {
    if (!p.streams.delete(s)) return;
    this.streams--;
    if (p.streams.size === 0) this.dropPoller(p);
    else this.changed();
  }

  private changed(): void {
    this.o.onChange?.(this.pollers.size, this.streams);
  }

  /** Ends every stream (the manager is stopping). */
  close(reason = 'the manager is shutting down'): void {
    for (const p of [...this.pollers.values()]) {
      this.dropPoller(p);
      for (const s of [...p.streams]) s.fail(new MetricsError('unavailable', reason));
    }
  }
}

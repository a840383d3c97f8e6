/**
 * core/v1 Events, recorded as client-go's event recorder and its correlator record them, so that
 * `kubectl describe` tells the story and a storm of failures cannot flood the API server:
 * - the same event again (same object, type, reason and message) raises `count` and
 *   `lastTimestamp` on the one Event instead of adding Events; repeats that arrive while the
 *   previous write is still waiting are folded into it (one write for all of them);
 * - a token bucket per object (25 at once, then one per 5 minutes, as client-go's spam filter)
 *   drops the excess;
 * - at most `maxPending` writes wait; past that new events are dropped, counted, and said once
 *   a minute in the log.
 * Recording never throws and never fails the caller: an Event is a hint, not state. `record`
 * resolves once the event is written, folded or dropped.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { KubeClient, KubeObject } from './client.ts';
import { EVENTS } from './resources.ts';


export type EventType = 'Normal' | 'Warning';

export interface EventSource {
  component: string;
  host?: string;
}

export interface EventRecorderOptions {
  /** Writes waiting at most; default 1,000. */
  maxPending?: number;
  /** Writes in flight at most; default 16. */
  maxInFlight?: number;
  /** Events an object may get at once; default 25. */
  burst?: number;
  /** One more event per object after this long; default 5 minutes. */
  refillMs?: number;
  /** Events remembered for counting repeats; default 4,096 (the oldest is forgotten first). */
  cacheSize?: number;
}

export interface EventRecorderStats {
  /** API writes made (creates and count patches). */
  written: number;
  /** Repeats folded into a write that was still waiting. */
  folded: number;
  /** Dropped by the per-object rate limit. */
  rateLimited: number;
  /** Dropped because too many writes were waiting. */
  overflowed: number;
}

interface Pending {
  key: string;
  about: KubeObject;
  type: EventType;
  reason: string;
  message: string;
  fieldPath?: string;
  count: number;
  lastTimestamp: string;
  done: Array<() => void>;
}

interface Seen {
  name: string;
  namespace: string;
  count: number;
  firstTimestamp: string;
}

const MESSAGE_LIMIT = 1024;

function now(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

export class EventRecorder {
  readonly stats: EventRecorderStats = { written: 0, folded: 0, rateLimited: 0, overflowed: 0 };
  private readonly maxPending: number;
  private readonly maxInFlight: number;
  private readonly burst: number;
  private readonly refillMs: number;
  private readonly cacheSize: number;
  /** Event key → what was written for it (insertion order is age: the oldest goes first). */
  private readonly seen = new Map<string, Seen>();
  /** Writes waiting for a slot, by event key. */
  private readonly pending = new Map<string, Pending>();
  /** Per object: tokens left and when they were last counted. */
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private inFlight = 0;
  /** Events whose write is in flight. */
  private readonly writing = new Set<string>();
  private closed = false;
  private lastOverflowLog = 0;

  constructor(
    private readonly client: KubeClient,
    private readonly source: EventSource,
    private readonly log: Logger,
    opts: EventRecorderOptions = {},
  ) {
    this.maxPending = opts.maxPending ?? 1000;
    this.maxInFlight = opts.maxInFlight ?? 16;
    this.burst = opts.burst ?? 25;
    this.refillMs = opts.refillMs ?? 300_000;
    this.cacheSize = opts.cacheSize ?? 4096;
  }

  record(about: KubeObject, type: EventType, reason: string, message: string, fieldPath?: string): Promise<void> {
    if (this.closed) return Promise.resolve();
    message = message.slice(0, MESSAGE_LIMIT);
    const key = `${about.metadata.uid ?? `${about.metadata.namespace}/${about.metadata.name}`}|${fieldPath ?? ''}|${type}|${reason}|${message}`;
    const waiting = this.pending.get(key);
    if (waiting) {
      waiting.count++;
      waiting.lastTimestamp = now();
      this.stats.folded++;
      return new Promise((resolve) => waiting.done.push(resolve));
    }
    if (!this.take(about)) {
      this.stats.rateLimited++;
      return Promise.resolve();
    }
    if (this.pending.size >= this.maxPending) {
      this.stats.overflowed++;
      if (Date.now() - this.lastOverflowLog > 60_000) {
        this.lastOverflowLog = Date.now();
        this.log.warn({ component: this.source.component, limit: this.maxPending, dropped: this.stats.overflowed }, 'too many events waiting to be written; dropping new ones');
      }
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.pending.set(key, { key, about, type, reason, message, fieldPath, count: 1, lastTimestamp: now(), done: [resolve] });
      this.pump();
    });
  }

  /** Stops recording; what still waits is dropped. */
  close(): void {
    this.closed = true;
    for (const p of this.pending.values()) for (const resolve of p.done) resolve();
    this.pending.clear();
  }

  /** One token of the object's bucket, if it has one left. */
  private take(about: KubeObject): boolean {
    const id = about.metadata.uid ?? `${about.kind}/${about.metadata.namespace}/${about.metadata.name}`;
    const t = Date.now();
    let bucket = this.buckets.get(id);
    if (!bucket) {
      if (this.buckets.size >= this.cacheSize) this.buckets.delete(this.buckets.keys().next().value!);
      bucket = { tokens: this.burst, at: t };
      this.buckets.set(id, bucket);
    }
    const refill = Math.floor((t - bucket.at) / this.refillMs);
    if (refill > 0) {
      bucket.tokens = Math.min(this.burst, bucket.tokens + refill);
      bucket.at += refill * this.refillMs;
    }
    if (bucket.tokens <= 0) return false;
    bucket.tokens--;
    return true;
  }

  /**
   * Starts waiting writes while slots are free, oldest first, one at a time per event: repeats of
   * an event being written wait and are folded, so counts are written in order.
   */
  private pump(): void {
    if (this.closed) return;
    for (const next of this.pending.values()) {
      if (this.inFlight >= this.maxInFlight) return;
      if (this.writing.has(next.key)) continue;
      this.pending.delete(next.key);
      this.writing.add(next.key);
      this.inFlight++;
      void this.write(next)
        .catch((err) => this.log.debug({ err, reason: next.reason }, 'event not recorded'))
        .finally(() => {
          this.inFlight--;
          this.writing.delete(next.key);
          for (const resolve of next.done) resolve();
          this.pump();
        });
    }
  }

  private async write(e: Pending): Promise<void> {
    const namespace = e.about.metadata.namespace ?? 'default';
    const previous = this.seen.get(e.key);
    this.stats.written++;
    if (previous) {
      previous.count += e.count;
      // Refreshed: the most recently used is the last to be forgotten.
      this.seen.delete(e.key);
      this.seen.set(e.key, previous);
      try {
        await this.client.patch({ ...EVENTS, namespace: previous.namespace, name: previous.name }, { count: previous.count, lastTimestamp: e.lastTimestamp }, { type: 'merge' });
        return;
      } catch {
        // The Event is gone (expired, deleted): start a new one.
        this.seen.delete(e.key);
      }
    }
    const name = eventName(e.about.metadata.name ?? '');
    const first = previous ? now() : e.lastTimestamp;
    if (this.seen.size >= this.cacheSize) this.seen.delete(this.seen.keys().next().value!);
    this.seen.set(e.key, { name, namespace, count: e.count, firstTimestamp: first });
    await this.client.create(
      { ...EVENTS, namespace },
      {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace },
        involvedObject: {
          apiVersion: e.about.apiVersion ?? 'v1',
          kind: e.about.kind ?? 'Pod',
          name: e.about.metadata.name,
          namespace: e.about.metadata.namespace,
          uid: e.about.metadata.uid,
          resourceVersion: e.about.metadata.resourceVersion,
          ...(e.fieldPath ? { fieldPath: e.fieldPath } : {}),
        },
        reason: e.reason,
        message: e.message.slice(0, MAX_MESSAGE),
        source: this.source.host ? this.source : { component: this.source.component },
        firstTimestamp: first,
        lastTimestamp: e.lastTimestamp,
        count: e.count,
        type: e.type,
        eventTime: null,
        reportingComponent: this.source.component,
        reportingInstance: this.source.host ?? '',
      },
    );
  }
}

/** Longest name of an object (a DNS subdomain). */
const MAX_NAME = 253;
/** Longest message kept: an Event is for people, and a long one is a whole error dump. */
const MAX_MESSAGE = 1024;

/** `<object>.<time><random>`, as client-go names events, with the object's name cut to fit in a name. */
export function eventName(object: string): string {
  const suffix = `.${Date.now().toString(16)}${randomBytes(4).toString('hex')}`;
  return `${object.slice(0, MAX_NAME - suffix.length).replace(/[-.]+$/, '')}${suffix}`;
}

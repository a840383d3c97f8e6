/**
 * Faults the API server injects on request, for tests of everything that reads it: lost watch
 * events, watch streams closed mid-way, 429/500 answers, latency. Each injected fault is counted
 * in the server's /metrics so that a test can tell it happened.
 */
import type { Counter } from 'prom-client';

export interface FaultSpec {
  /** Fraction (0..1) of watch events dropped, per collection ('pods', 'deployments.apps') or '*' for all. */
  dropWatchEvents?: Record<string, number>;
  /** Probability, per event sent, that the watch stream is closed right after it. */
  closeWatches?: number;
  /** A fraction of requests (all, or one collection's) answered with 429 or 500. */
  errors?: { fraction: number; code: 429 | 500; collection?: string };
  /** Added to every request before it is served. */
  latencyMs?: number;
}

export class Faults {
  private spec: FaultSpec = {};

  constructor(
    private readonly injected: Counter<'fault' | 'collection'>,
    private readonly random: () => number = Math.random,
  ) {}

  set(spec: FaultSpec): void {
    validateFaultSpec(spec);
    this.spec = { ...spec };
  }

  get current(): FaultSpec {
    return this.spec;
  }

  clear(): void {
    this.spec = {};
  }

  /** The latency to add to this request, counted when there is one. */
  latencyMs(collection?: string): number {
    const ms = this.spec.latencyMs ?? 0;
    if (ms > 0) this.injected.inc({ fault: 'latency', collection: collection ?? '' });
    return ms;
  }

  /** The error code to answer this request with, if any. */
  errorFor(collection: string | undefined): 429 | 500 | undefined {
    const e = this.spec.errors;
    if (!e || (e.collection && e.collection !== collection)) return undefined;
    if (this.random() >= e.fraction) return undefined;
    this.injected.inc({ fault: e.code === 429 ? 'throttle' : 'error', collection: collection ?? '' });
    return e.code;
  }

  dropEvent(collection: string): boolean {
    const d = this.spec.dropWatchEvents;
    const fraction = d?.[collection] ?? d?.['*'];
    if (!fraction || this.random() >= fraction) return false;
    this.injected.inc({ fault: 'drop_watch_event', collection });
    return true;
  }

  closeWatch(collection: string): boolean {
    const p = this.spec.closeWatches;
    if (!p || this.random() >= p) return false;
    this.injected.inc({ fault: 'close_watch', collection });
    return true;
  }

  countExpire(): void {
    this.injected.inc({ fault: 'expire_history', collection: '' });
  }

  countRestart(): void {
    this.injected.inc({ fault: 'restart', collection: '' });
  }
}

/** Rejects a fault spec that makes no sense, naming the field. */
export function validateFaultSpec(spec: unknown): asserts spec is FaultSpec {
  const fail = (msg: string): never => {
    throw new Error(`invalid fault spec: ${msg}`);
  };
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) fail('must be an object');
  const s = spec as Record<string, any>;
  const fraction = (v: unknown, field: string) => {
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) fail(`${field} must be a number from 0 to 1`);
  };
  for (const k of Object.keys(s)) if (!['dropWatchEvents', 'closeWatches', 'errors', 'latencyMs'].includes(k)) fail(`unknown field ${k}`);
  if (s.dropWatchEvents !== undefined) {
    if (typeof s.dropWatchEvents !== 'object' || s.dropWatchEvents === null) fail('dropWatchEvents must map collections to fractions');
    for (const [k, v] of Object.entries(s.dropWatchEvents)) fraction(v, `dropWatchEvents.${k}`);
  }
  if (s.closeWatches !== undefined) fraction(s.closeWatches, 'closeWatches');
  if (s.errors !== undefined) {
    fraction(s.errors?.fraction, 'errors.fraction');
    if (s.errors.code !== 429 && s.errors.code !== 500) fail('errors.code must be 429 or 500');
  }
  if (s.latencyMs !== undefined && (typeof s.latencyMs !== 'number' || s.latencyMs < 0 || s.latencyMs > 60_000)) {
    fail('latencyMs must be a number from 0 to 60000');
  }
}

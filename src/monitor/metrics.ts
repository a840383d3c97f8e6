/**
 * The monitor's metrics, on its own prom-client Registry. The counters of streams and
 * verifications are not incremented alongside the work: they are read from the streams' and
 * verifiers' stats when scraped, so the exposition is a pure function of that state (and tested
 * as such). Delays are histograms observed as events arrive; requests are counted as they happen.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Corrections, View } from './store.ts';
import type { StreamStats } from './stream.ts';
import type { VerifierStats } from './verify.ts';

export interface ResourceState {
  resource: string;
  stream: StreamStats;
  verifier: VerifierStats;
  objects: Record<View, number>;
}

export interface RedisState {
  up: boolean;
  errors: number;
  writing: boolean;
  /** Serving, but not as it should (the writer without Redis, from its memory). */
  degraded?: boolean;
}

const CORRECTION_LABELS: Record<keyof Corrections, string> = { missedAdds: 'missed_add', ghosts: 'ghost', staleVersions: 'stale_version' };

export class MonitorMetrics {
  readonly registry = new Registry();
  readonly streamDelay: Histogram<'resource' | 'event'>;
  readonly canaryDelay: Histogram;
  readonly served: Counter<'path' | 'code'>;
  readonly apiRequests: Counter<'verb' | 'resource' | 'code'>;
  readonly watchesClosedTooSlow: Counter<'resource'>;
  readonly listAnswers: Counter<'answer'>;

  constructor(state: () => Promise<ResourceState[]> | ResourceState[], redis?: () => RedisState) {
    const registers = [this.registry];
    if (redis) {
      new Gauge({
        name: 'kre_monitor_redis_up',
        help: 'Whether Redis answers this replica (1) or not (0).',
        registers,
        collect(this: Gauge) {
          this.set(redis().up ? 1 : 0);
        },
      });
      new Counter({
        name: 'kre_monitor_redis_errors_total',
        help: 'Redis failures seen by this replica: lost connections and failed commands.',
        registers,
        collect(this: Counter) {
          this.reset();
          this.inc(redis().errors);
        },
      });
      new Gauge({
        name: 'kre_monitor_degraded',
        help: 'Whether this replica serves while Redis is unavailable, from its memory (1), or not (0).',
        registers,
        collect(this: Gauge) {
          this.set(redis().degraded ? 1 : 0);
        },
      });
      new Gauge({
        name: 'kre_monitor_redis_writer',
        help: 'Whether this replica is the one writing to Redis (1) or a reader (0).',
        registers,
        collect(this: Gauge) {
          this.set(redis().writing ? 1 : 0);
        },
      });
    }
    const fromState = <L extends string>(
      name: string,
      help: string,
      labelNames: L[],
      values: (s: ResourceState) => [Partial<Record<L, string>>, number][],
      type: 'counter' | 'gauge' = 'counter',
    ) => {
      const Kind = type === 'counter' ? Counter : Gauge;
      return new Kind<L>({
        name,
        help,
        labelNames,
        registers,
        async collect(this: Counter<L> | Gauge<L>) {
          this.reset();
          for (const s of await state()) {
            for (const [labels, v] of values(s)) {
              if (this instanceof Gauge) this.set(labels, v);
              else this.inc(labels, v);
            }
          }
        },
      });
    };
    fromState('kre_monitor_stream_events_total', 'Watch events received, by resource and event type.', ['resource', 'type'], (s) =>
      Object.entries(s.stream.events).map(([type, n]) => [{ resource: s.resource, type }, n]),
    );
    fromState('kre_monitor_stream_bookmarks_total', 'Watch bookmarks received.', ['resource'], (s) => [[{ resource: s.resource }, s.stream.bookmarks]]);
    fromState('kre_monitor_stream_relists_total', 'Lists of the stream after its first one (each follows a 410 Expired).', ['resource'], (s) => [
      [{ resource: s.resource }, s.stream.relists],
    ]);
    fromState('kre_monitor_stream_expired_total', 'Watches answered 410 Expired.', ['resource'], (s) => [[{ resource: s.resource }, s.stream.expired]]);
    fromState('kre_monitor_stream_backlog_collapsed_total', 'Times store writes fell behind the stream and the backlog was collapsed into one snapshot.', ['resource'], (s) => [
      [{ resource: s.resource }, s.stream.collapsed],
    ]);
    fromState('kre_monitor_verifications_total', 'Verification lists, by result.', ['resource', 'result'], (s) => [
      [{ resource: s.resource, result: 'ok' }, s.verifier.verifications],
      [{ resource: s.resource, result: 'failed' }, s.verifier.failures],
    ]);
    fromState('kre_monitor_verification_corrections_total', 'What verifications corrected in the aggregated view.', ['resource', 'correction'], (s) =>
      (Object.keys(CORRECTION_LABELS) as (keyof Corrections)[]).map((k) => [{ resource: s.resource, correction: CORRECTION_LABELS[k] }, s.verifier.corrected[k]]),
    );
    fromState('kre_monitor_objects', 'Objects held, by resource and view.', ['resource', 'view'], (s) =>
      (Object.entries(s.objects) as [View, number][]).map(([view, n]) => [{ resource: s.resource, view }, n]), 'gauge',
    );
    this.streamDelay = new Histogram({
      name: 'kre_monitor_stream_delay_seconds',
      help: 'Receipt of ADDED events after creationTimestamp, of DELETED events after deletionTimestamp minus the grace period (1 s resolution).',
      labelNames: ['resource', 'event'],
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
      registers,
    });
    this.canaryDelay = new Histogram({
      name: 'kre_monitor_canary_delay_milliseconds',
      help: "From the monitor's write of its canary ConfigMap to the MODIFIED event of that write.",
      buckets: [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000],
      registers,
    });
    this.served = new Counter({ name: 'kre_monitor_http_requests_total', help: 'Requests served, by route and status code.', labelNames: ['path', 'code'], registers });
    this.listAnswers = new Counter({
      name: 'kre_monitor_list_answers_total',
      help: 'Whole lists served from the in-memory store: made from the cache (made), sent as kept for the same query (kept), or sent kept and gzipped (kept_gzip).',
      labelNames: ['answer'],
      registers,
    });
    this.watchesClosedTooSlow = new Counter({
      name: 'kre_monitor_watches_closed_too_slow_total',
      help: 'Watches served by the monitor that it closed because the client fell too far behind in reading them.',
      labelNames: ['resource'],
      registers,
    });
    this.apiRequests = new Counter({
      name: 'kre_monitor_apiserver_requests_total',
      help: 'Requests the monitor made to the API server, by verb, resource and status code.',
      labelNames: ['verb', 'resource', 'code'],
      registers,
    });
  }
}

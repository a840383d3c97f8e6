/**
 * Where a version's numbers come from: Prometheus (the seed's queries) or the manager's own
 * samples of metrics.k8s.io. Both answer the same question the same way, so GetVersion and the
 * WatchVersion pollers do not know which one they ask.
 */
import type { MetricsPoint } from './series.ts';

export interface RangeQuery {
  namespace: string;
  version: string;
  /** Unix seconds, both included. */
  start: number;
  end: number;
  /** Seconds. */
  step: number;
}

export interface MetricsSource {
  readonly kind: 'prometheus' | 'metrics-api';
  /** The version's points at `start`, `start + step`, … up to `end`; rejects with a `MetricsError`. */
  range(q: RangeQuery): Promise<MetricsPoint[]>;
  close(): Promise<void>;
}

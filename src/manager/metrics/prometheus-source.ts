/**
 * The Prometheus source: the configured CPU and memory templates for one version, sent as two
 * range queries at once, joined by timestamp.
 */
import type { PrometheusConfig } from './config.ts';
import { MetricsError } from './errors.ts';
import { PrometheusError, type PrometheusClient } from './prometheus-client.ts';
import { renderQuery } from './promql.ts';
import { joinByTimestamp, sumByTimestamp, type MetricsPoint } from './series.ts';
import type { MetricsSource, RangeQuery } from './source.ts';

export class PrometheusSource implements MetricsSource {
  readonly kind = 'prometheus';

  constructor(
    private readonly client: PrometheusClient,
    private readonly templates: Pick<PrometheusConfig, 'cpuQuery' | 'memoryQuery' | 'rateWindow'>,
  ) {}

  get where(): string {
    return this.client.where;
  }

  /** The two queries for a version, as sent. */
  queries(namespace: string, version: string): { cpu: string; memory: string } {
    const names = { namespace, version, window: this.templates.rateWindow };
    return { cpu: renderQuery(this.templates.cpuQuery, names), memory: renderQuery(this.templates.memoryQuery, names) };
  }

  async range(q: RangeQuery): Promise<MetricsPoint[]> {
    const { cpu, memory } = this.queries(q.namespace, q.version);
    try {
      const [c, m] = await Promise.all([this.client.queryRange(cpu, q.start, q.end, q.step), this.client.queryRange(memory, q.start, q.end, q.step)]);
      return joinByTimestamp(sumByTimestamp(c), sumByTimestamp(m));
    } catch (err) {
      throw asMetricsError(err);
    }
  }

  async close(): Promise<void> {
    this.client.close();
  }
}

/** Prometheus away, slow or refusing: UNAVAILABLE; a query or an answer it should not give: INTERNAL. */
export function asMetricsError(err: unknown): MetricsError {
  if (err instanceof MetricsError) return err;
  if (err instanceof PrometheusError) {
    return new MetricsError(err.reason === 'bad-query' || err.reason === 'bad-response' ? 'internal' : 'unavailable', err.message);
  }
  return new MetricsError('internal', `querying Prometheus failed: ${(err as Error).message}`);
}

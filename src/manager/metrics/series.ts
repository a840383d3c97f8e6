/**
 * A version's points: CPU (millicores) and memory (bytes) at one instant, and how two series become
 * them. The seed joined the CPU and memory series by index and panicked when their lengths
 * differed; here they are joined by timestamp.
 */
import type { RangeSeries } from './prometheus-client.ts';

export interface MetricsPoint {
  /** Unix seconds. */
  t: number;
  cpu: number;
  mem: number;
}

/** The wire shape of a point: `{date: RFC 3339, cpu, mem}`. */
export interface VersionResourceMetrics {
  date: string;
  cpu: number;
  mem: number;
}

/** RFC 3339 in UTC, with fractions of a second only when there are some. */
export function rfc3339(unixSeconds: number): string {
  return new Date(Math.round(unixSeconds * 1000)).toISOString().replace('.000Z', 'Z');
}

export function toWire(p: MetricsPoint): VersionResourceMetrics {
  return { date: rfc3339(p.t), cpu: p.cpu, mem: p.mem };
}

/** Values per timestamp, summed over the series (a template may keep more than one, e.g. per pod). */
export function sumByTimestamp(series: readonly RangeSeries[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const s of series) {
    for (const [t, v] of s.values) {
      if (!Number.isFinite(v)) continue;
      out.set(t, (out.get(t) ?? 0) + v);
    }
  }
  return out;
}

/**
 * The points at the timestamps where both CPU and memory have a value, in time order. A timestamp
 * with only one of the two is left out rather than drawn with a false zero: right after a pod
 * starts, a rate has no value yet while the memory gauge already has one.
 */
export function joinByTimestamp(cpu: ReadonlyMap<number, number>, mem: ReadonlyMap<number, number>): MetricsPoint[] {
  const out: MetricsPoint[] = [];
  for (const [t, c] of cpu) {
    const m = mem.get(t);
    if (m !== undefined) out.push({ t, cpu: c, mem: m });
  }
  return out.sort((a, b) => a.t - b.t);
}

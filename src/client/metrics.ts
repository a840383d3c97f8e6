/**
 * A version's CPU (millicores) and memory (bytes) over time, from the manager's
 * ResourceMetricsService: a range at once, or points as they appear.
 */
import type { Response, VersionRequest, VersionResourceMetrics } from '../gen/resourcemetrics/resourcemetrics.ts';
import { InputError, type Connection } from './connection.ts';
import { runtimeNamespace } from './runtime.ts';

export interface MetricsPoint {
  /** RFC 3339. */
  date: string;
  /** Millicores. */
  cpu: number;
  /** Bytes. */
  mem: number;
}

export interface MetricsRange {
  from: Date;
  to: Date;
  /** Seconds between points. */
  step: number;
}

const point = (p: VersionResourceMetrics): MetricsPoint => ({ date: p.date, cpu: p.cpu, mem: p.mem });
const rfc3339 = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

export async function versionMetrics(conn: Connection, runtime: string, version: string, range: MetricsRange): Promise<MetricsPoint[]> {
  const res = await conn.unary<VersionRequest, Response>(conn.metrics, 'getVersion', {
    versionName: version,
    namespace: runtimeNamespace(runtime),
    fromDate: rfc3339(range.from),
    toDate: rfc3339(range.to),
    step: range.step,
  });
  return res.versionResourceMetrics.map(point);
}

/** Points from `from` (when given) and then each new one, until `signal` aborts. */
export function watchVersionMetrics(
  conn: Connection,
  runtime: string,
  version: string,
  opts: { from?: Date; step: number },
  onPoints: (points: MetricsPoint[]) => void,
  signal?: AbortSignal,
): Promise<void> {
  const req: VersionRequest = { versionName: version, namespace: runtimeNamespace(runtime), fromDate: opts.from ? rfc3339(opts.from) : '', toDate: '', step: opts.step };
  return conn.stream<VersionRequest, Response>(conn.metrics, 'watchVersion', req, (m) => onPoints(m.versionResourceMetrics.map(point)), signal);
}

/**
 * A time as the command line gives it: RFC 3339, `now`, or a duration before now (`15m`, `-2h`,
 * `90s`). `flag` names the option in the error.
 */
export function parseTime(flag: string, value: string, now = new Date()): Date {
  if (value === 'now') return now;
  const rel = /^-?(\d+(?:\.\d+)?)(s|m|h|d)$/.exec(value);
  if (rel) return new Date(now.getTime() - Number(rel[1]) * UNIT_SECONDS[rel[2]] * 1000);
  const ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(value) ? Date.parse(value) : NaN;
  if (!Number.isFinite(ms)) throw new InputError(`${flag}: "${value.slice(0, 80)}" is not a time: give RFC 3339 (2026-12-07T03:00:00Z), now, or a duration ago (15m, 2h)`, flag);
  return new Date(ms);
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** A step in seconds from `30`, `30s`, `5m` or `1h`. */
export function parseStep(flag: string, value: string): number {
  const m = /^(\d+)(s|m|h)?$/.exec(value);
  const seconds = m ? Number(m[1]) * UNIT_SECONDS[m[2] ?? 's'] : NaN;
  if (!Number.isInteger(seconds) || seconds <= 0 || seconds > 86400) {
    throw new InputError(`${flag}: "${value.slice(0, 80)}" is not a step: a whole number of seconds from 1 to 86400, or 30s, 5m, 1h`, flag);
  }
  return seconds;
}

/** The seed's callers' step: the range in 15 parts, at least a second. */
export const defaultStep = (from: Date, to: Date): number => Math.max(1, Math.round((to.getTime() - from.getTime()) / 1000 / 15));

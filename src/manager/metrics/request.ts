/**
 * The `VersionRequest` checked before anything is queried: names that can select a version's pods,
 * RFC 3339 dates in order, a positive step (seconds, as the seed's callers send it: `(to − from) /
 * 15`), and not more points than the manager answers with. Every error names the field.
 */
import { isDNS1123Label } from '../../kube/index.ts';
import { invalidArgument } from './errors.ts';

/** The seed's `VersionRequest`, as the generated code gives it. */
export interface VersionRequestFields {
  versionName: string;
  namespace: string;
  fromDate: string;
  toDate: string;
  step: number;
}

export interface RangeRequest {
  namespace: string;
  version: string;
  /** Unix seconds. */
  from: number;
  to: number;
  /** Seconds. */
  step: number;
}

export interface WatchRequest {
  namespace: string;
  version: string;
  step: number;
  /** Points from here up to now come first (unix seconds); only new points without it. */
  from?: number;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

function checkName(field: string, value: string | undefined): string {
  if (!value) throw invalidArgument(field, 'is required');
  const problems = isDNS1123Label(value);
  if (problems.length > 0) throw invalidArgument(field, `${JSON.stringify(value.slice(0, 80))} is not a valid name: ${problems[0]}`);
  return value;
}

function parseDate(field: string, value: string | undefined): number {
  if (!value) throw invalidArgument(field, 'is required (RFC 3339, e.g. 2020-06-11T15:56:48Z)');
  const ms = RFC3339.test(value) ? Date.parse(value.replace(' ', 'T')) : NaN;
  if (!Number.isFinite(ms)) throw invalidArgument(field, `${JSON.stringify(value.slice(0, 80))} is not an RFC 3339 date (e.g. 2020-06-11T15:56:48Z)`);
  return ms / 1000;
}

function checkStep(step: number | undefined): number {
  if (!Number.isInteger(step) || (step as number) <= 0) throw invalidArgument('step', `must be a positive number of seconds, not ${String(step)}`);
  return step as number;
}

/** A GetVersion request: `(to − from) / step + 1` points at most `maxPoints`. */
export function parseRangeRequest(r: Partial<VersionRequestFields>, maxPoints: number): RangeRequest {
  const version = checkName('versionName', r.versionName);
  const namespace = checkName('namespace', r.namespace);
  const from = parseDate('fromDate', r.fromDate);
  const to = parseDate('toDate', r.toDate);
  if (to < from) throw invalidArgument('toDate', `${r.toDate} is before fromDate ${r.fromDate}`);
  const step = checkStep(r.step);
  const points = Math.floor((to - from) / step) + 1;
  if (points > maxPoints) {
    throw invalidArgument('step', `${step}s from ${r.fromDate} to ${r.toDate} makes ${points} points, more than the ${maxPoints} the manager answers with: use a step of at least ${Math.ceil((to - from) / (maxPoints - 1))}s`);
  }
  return { namespace, version, from, to, step };
}

/**
 * A WatchVersion request: `fromDate` is optional (points from it up to now are sent first, within
 * `maxPoints`); `toDate` is not used — the stream goes on until the client ends it — but must be a
 * date when given.
 */
export function parseWatchRequest(r: Partial<VersionRequestFields>, maxPoints: number, nowSeconds: number): WatchRequest {
  const version = checkName('versionName', r.versionName);
  const namespace = checkName('namespace', r.namespace);
  const from = r.fromDate ? parseDate('fromDate', r.fromDate) : undefined;
  if (r.toDate) parseDate('toDate', r.toDate);
  const step = checkStep(r.step);
  if (from !== undefined) {
    if (from > nowSeconds) throw invalidArgument('fromDate', `${r.fromDate} is in the future`);
    const points = Math.floor((nowSeconds - from) / step) + 1;
    if (points > maxPoints) throw invalidArgument('fromDate', `${step}s steps from ${r.fromDate} up to now make ${points} points, more than the ${maxPoints} the manager sends at once: start later or use a larger step`);
  }
  return { namespace, version, step, ...(from !== undefined ? { from } : {}) };
}

/** The first multiple of `step` at or after `t`: every poller and backfill agrees on the instants. */
export function alignUp(t: number, step: number): number {
  return Math.ceil(t / step) * step;
}

/** The last multiple of `step` at or before `t`. */
export function alignDown(t: number, step: number): number {
  return Math.floor(t / step) * step;
}

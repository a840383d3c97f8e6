/**
 * Query parameters read as a real API server reads them. Its query decoder turns a boolean
 * parameter false only for `0` and `false` in any case; every other value, the empty one
 * included, is true (so the Python client's `watch=True` watches). Integers go through Go's
 * `strconv.ParseInt` (base 10, optional sign, 64 bits); anything else is a 400 with Go's words.
 */
import { errors } from './errors.ts';

export function boolParam(q: URLSearchParams, name: string): boolean {
  return optionalBoolParam(q, name) ?? false;
}

/** A `*bool` parameter: undefined when absent, so "not asked" stays apart from "false". */
export function optionalBoolParam(q: URLSearchParams, name: string): boolean | undefined {
  const v = q.get(name);
  if (v === null) return undefined;
  return !(v === '0' || v.toLowerCase() === 'false');
}

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

/** Go's `strconv.ParseInt(v, 10, 64)`, with its error message. */
export function parseGoInt(v: string): number {
  if (!/^[+-]?\d+$/.test(v)) throw errors.badRequest(`strconv.ParseInt: parsing ${JSON.stringify(v)}: invalid syntax`);
  const n = BigInt(v);
  if (n > INT64_MAX || n < INT64_MIN) throw errors.badRequest(`strconv.ParseInt: parsing ${JSON.stringify(v)}: value out of range`);
  return Number(n);
}

/**
 * An integer parameter, undefined when absent. What the real server makes of values out of the
 * usual range: `limit` ≤ 0 means no limit, `timeoutSeconds` ≤ 0 the default, and a negative
 * `gracePeriodSeconds` is taken as 1.
 */
export function intParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null) return undefined;
  const n = parseGoInt(v);
  if ((name === 'limit' || name === 'timeoutSeconds') && n <= 0) return undefined;
  if (name === 'gracePeriodSeconds' && n < 0) return 1;
  return n;
}

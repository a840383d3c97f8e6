/**
 * Whether a live object still holds what the operator rendered for it: every field the rendered
 * object sets is present on the live one with an equal value. Fields the live object has and the
 * rendered one does not (defaults the API server filled in, labels or annotations someone added,
 * status) are not the operator's and never count as drift.
 *
 * Lists of scalars are compared whole and in order; in a list of objects each rendered item must
 * be held by a live item, in order, and items someone else added are not drift (server-side apply
 * keeps them anyway).
 *
 * Equality forgives what the server does to a value without changing its meaning, so that a
 * steady-state object never looks drifted: quantities are compared by value (`1Gi` = `1024Mi`),
 * int-or-string fields by their text (`8222` = `"8222"`), and an empty value the server omits (Go's
 * `omitempty`: `{}`, `[]`, `""`, `false`, `0`) matches an absent one.
 */
import { parseMilli } from '../kube/index.ts';

/** A difference found: the path of the first rendered field the live object does not hold. */
export interface Drift {
  /** Where, as text: `spec.ports[0].port`. */
  path: string;
  /** Where, as keys and list indexes. */
  at: (string | number)[];
  rendered: unknown;
  live: unknown;
}

/** Top-level fields that are not the rendered intent: type information, and what controllers report. */
const IGNORED_TOP_LEVEL = new Set(['apiVersion', 'kind', 'status']);
/** Metadata the server owns; the rest (labels, annotations, owner references…) is compared. */
const IGNORED_METADATA = new Set(['resourceVersion', 'uid', 'generation', 'creationTimestamp', 'managedFields', 'selfLink']);
/** Maps whose values are resource quantities (`resources.requests`, `resources.limits`, …). */
const QUANTITY_MAPS = new Set(['requests', 'limits', 'capacity', 'allocatable', 'hard', 'overhead']);
/** Top-level fields whose keys are anyone's text, never quantities whatever they are called. */
const FREE_FORM = new Set(['metadata', 'data', 'stringData', 'binaryData']);
/** Single fields that are quantities. */
const QUANTITY_FIELDS = new Set(['sizeLimit']);

/** The first rendered field `live` does not hold, or undefined when it holds them all. */
export function findDrift(rendered: Record<string, unknown>, live: Record<string, unknown>): Drift | undefined {
  for (const [key, value] of Object.entries(rendered)) {
    if (IGNORED_TOP_LEVEL.has(key)) continue;
    if (key === 'metadata') {
      const meta = (value ?? {}) as Record<string, unknown>;
      const liveMeta = (live.metadata ?? {}) as Record<string, unknown>;
      for (const [mk, mv] of Object.entries(meta)) {
        if (IGNORED_METADATA.has(mk)) continue;
        const d = compare(mv, liveMeta[mk], ['metadata', mk]);
        if (d) return d;
      }
      continue;
    }
    const d = compare(value, live[key], [key]);
    if (d) return d;
  }
  return undefined;
}

/** Whether `live` holds every field of `rendered`. */
export function holdsRendered(rendered: Record<string, unknown>, live: Record<string, unknown>): boolean {
  return findDrift(rendered, live) === undefined;
}

function compare(rendered: unknown, live: unknown, at: (string | number)[]): Drift | undefined {
  const drift = { path: pathText(at), at, rendered, live };
  if (rendered === undefined) return undefined;
  if (live === undefined || live === null) return isEmpty(rendered) ? undefined : drift;
  const key = lastKey(at);
  const parent = lastKey(at.slice(0, -1));
  const quantity = (parent !== undefined && QUANTITY_MAPS.has(parent)) || (key !== undefined && QUANTITY_FIELDS.has(key));
  if (quantity && !FREE_FORM.has(String(at[0]))) {
    return sameQuantity(rendered, live) ? undefined : drift;
  }
  if (Array.isArray(rendered)) {
    if (!Array.isArray(live)) return drift;
    if (!rendered.some(isObject)) {
      if (live.length !== rendered.length) return drift;
      for (let i = 0; i < rendered.length; i++) {
        const d = compare(rendered[i], live[i], [...at, i]);
        if (d) return d;
      }
      return undefined;
    }
    // Lists of objects (ports, containers, env, volumes) are keyed lists to server-side apply: an
    // item someone else added stays whatever the operator applies, so it is not drift. Each
    // rendered item must be held by a live item, in the rendered order.
    let j = 0;
    for (let i = 0; i < rendered.length; i++) {
      while (j < live.length && compare(rendered[i], live[j], [...at, i])) j++;
      if (j === live.length) {
        return (i < live.length ? compare(rendered[i], live[i], [...at, i]) : undefined) ?? { path: pathText([...at, i]), at: [...at, i], rendered: rendered[i], live: live[i] };
      }
      j++;
    }
    return undefined;
  }
  if (isObject(rendered)) {
    if (!isObject(live)) return drift;
    for (const [k, v] of Object.entries(rendered)) {
      const d = compare(v, live[k], [...at, k]);
      if (d) return d;
    }
    return undefined;
  }
  return sameScalar(rendered, live) ? undefined : drift;
}

/** The nearest key above any list indexes at the end of `at`: `resources`, `requests`, `ports`… */
function lastKey(at: (string | number)[]): string | undefined {
  for (let i = at.length - 1; i >= 0; i--) {
    const k = at[i];
    if (typeof k === 'string') return k;
  }
  return undefined;
}

function pathText(at: (string | number)[]): string {
  return at.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`)).join('');
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** What Go's `omitempty` leaves out of what the server returns. */
function isEmpty(v: unknown): boolean {
  if (v === null || v === '' || v === false || v === 0) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (isObject(v)) return Object.values(v).every((x) => x === undefined);
  return false;
}

/** Equal, or the same int-or-string value written as a number on one side and as text on the other. */
function sameScalar(rendered: unknown, live: unknown): boolean {
  if (rendered === live) return true;
  if (typeof rendered === 'number' && typeof live === 'string') return String(rendered) === live;
  if (typeof rendered === 'string' && typeof live === 'number') return rendered === String(live);
  return false;
}

function sameQuantity(rendered: unknown, live: unknown): boolean {
  if (sameScalar(rendered, live)) return true;
  if ((typeof rendered !== 'string' && typeof rendered !== 'number') || (typeof live !== 'string' && typeof live !== 'number')) return false;
  try {
    return parseMilli(rendered) === parseMilli(live);
  } catch {
    return false;
  }
}

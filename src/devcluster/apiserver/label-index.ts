/**
 * The objects of one collection by label: label key → value → the keys of the objects that carry
 * that label with that value. A label selector's equality, `in` and exists terms each name a few
 * of these buckets; reading the smallest term's buckets gives a small superset of the matches,
 * which the full selector then checks (the `!=`, `notin` and `!k` terms match objects that lack
 * the label, so they can only filter, never narrow).
 *
 * Most buckets of a unique label (a pod's name, a template hash) hold one object: such a bucket is
 * the key itself, and becomes a Set when a second object joins it.
 */
import type { Requirement } from '../../kube/index.ts';

type Labels = Readonly<Record<string, string>>;
type Bucket = string | Set<string>;

/** What the index can answer of a selector: objects with label `key`, with one of `values` if given. */
export interface IndexTerm {
  key: string;
  /** undefined: any value (the label exists). */
  values?: string[];
}

/** The requirements of a label selector the index can answer; an empty list means none. */
export function indexTerms(requirements: readonly Requirement[]): IndexTerm[] {
  const terms: IndexTerm[] = [];
  for (const r of requirements) {
    switch (r.operator) {
      case '=':
      case '==':
      case 'in':
        terms.push({ key: r.key, values: r.values });
        break;
      // `gt` and `lt` need the label to be there with a number, so they narrow like exists.
      case 'exists':
      case 'gt':
      case 'lt':
        terms.push({ key: r.key });
        break;
      default:
      // '!=', 'notin', '!': true for objects without the label.
    }
  }
  return terms;
}

function bucketSize(b: Bucket | undefined): number {
  return b === undefined ? 0 : typeof b === 'string' ? 1 : b.size;
}

function sameLabels(a: Labels | undefined, b: Labels | undefined): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const k of keys) if (a[k] !== b[k]) return false;
  return true;
}

export class LabelIndex {
  private readonly byLabel = new Map<string, Map<string, Bucket>>();

  /** Records that the object `key` now has `labels` instead of `before`. */
  update(key: string, before: Labels | undefined, labels: Labels | undefined): void {
    if (sameLabels(before, labels)) return;
    if (before) for (const k in before) if (labels?.[k] !== before[k]) this.remove(key, k, before[k]);
    if (labels) for (const k in labels) if (before?.[k] !== labels[k]) this.add(key, k, labels[k]);
  }

  /**
   * The keys of the objects that satisfy every term, or a superset of them (the caller checks the
   * whole selector): those of the term with the fewest objects. Undefined when there are no
   * terms, or when the smallest term holds more than `atMost` objects (reading them would cost
   * more than a scan).
   */
  candidates(terms: readonly IndexTerm[], atMost: number): string[] | undefined {
    let best: Bucket[] | undefined;
    let bestSize = Infinity;
    for (const term of terms) {
      const values = this.byLabel.get(term.key);
      const buckets: Bucket[] = [];
      let size = 0;
      if (values && term.values) {
        for (const v of term.values) {
          const b = values.get(v);
          if (b !== undefined) {
            buckets.push(b);
            size += bucketSize(b);
          }
        }
      } else if (values) {
        for (const b of values.values()) {
          buckets.push(b);
          size += bucketSize(b);
        }
      }
      if (size < bestSize) {
        best = buckets;
        bestSize = size;
      }
      if (size === 0) break;
    }
    if (!best || bestSize > atMost) return undefined;
    // An object has one value per label, so the buckets of one term never share a key.
    const keys: string[] = [];
    for (const b of best) {
      if (typeof b === 'string') keys.push(b);
      else for (const k of b) keys.push(k);
    }
    return keys;
  }

  private add(key: string, label: string, value: string): void {
    let values = this.byLabel.get(label);
    if (!values) {
      values = new Map();
      this.byLabel.set(label, values);
    }
    const b = values.get(value);
    if (b === undefined) values.set(value, key);
    else if (typeof b === 'string') {
      if (b !== key) values.set(value, new Set([b, key]));
    } else b.add(key);
  }

  private remove(key: string, label: string, value: string): void {
    const values = this.byLabel.get(label);
    const b = values?.get(value);
    if (!values || b === undefined) return;
    if (typeof b === 'string') {
      if (b === key) values.delete(value);
    } else {
      b.delete(key);
      // Back to the one-key form, so a bucket that shrinks frees its Set.
      if (b.size === 1) values.set(value, b.values().next().value!);
    }
    if (values.size === 0) this.byLabel.delete(label);
  }
}

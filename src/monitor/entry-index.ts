/**
 * One view of a resource: entries by key, indexed by namespace and by `label=value`, and the
 * keys in order (namespace/name, as a real server lists), kept until the set of keys changes, so
 * that a full LIST neither scans nor sorts.
 */
import { addToIndex, parseLabelSelector, removeFromIndex } from '../kube/index.ts';
import type { Entry } from './entry.ts';

export class EntryIndex {
  private readonly entries = new Map<string, Entry>();
  private readonly byNamespace = new Map<string, Set<string>>();
  private readonly byLabel = new Map<string, Set<string>>();
  private sortedKeys: string[] | undefined;
  /** The resourceVersion the view is at ('' before the first list). */
  resourceVersion = '';

  get size(): number {
    return this.entries.size;
  }

  get(key: string): Entry | undefined {
    return this.entries.get(key);
  }

  keys(): IterableIterator<string> {
    return this.entries.keys();
  }

  values(): IterableIterator<Entry> {
    return this.entries.values();
  }

  /** Adds or replaces; returns the entry replaced. */
  upsert(e: Entry): Entry | undefined {
    const old = this.entries.get(e.key);
    if (old === e) return old;
    if (old) this.unindex(old);
    else this.sortedKeys = undefined;
    this.entries.set(e.key, e);
    this.index(e);
    return old;
  }

  remove(key: string): Entry | undefined {
    const old = this.entries.get(key);
    if (!old) return undefined;
    this.unindex(old);
    this.entries.delete(key);
    this.sortedKeys = undefined;
    return old;
  }

  /** Entries in a namespace (all when unset) whose labels match the selector, in key order. */
  list(opts: { namespace?: string; labelSelector?: string } = {}): Entry[] {
    if (opts.namespace === undefined && !opts.labelSelector) return this.ordered().map((k) => this.entries.get(k)!);
    let candidates: Set<string> | undefined = opts.namespace !== undefined ? (this.byNamespace.get(opts.namespace) ?? new Set()) : undefined;
    const selector = opts.labelSelector ? parseLabelSelector(opts.labelSelector) : undefined;
    for (const [label, value] of Object.entries(selector?.exactMatchPairs() ?? {})) {
      const withLabel = this.byLabel.get(`${label}=${value}`);
      if (!withLabel) return [];
      // Start from the smallest set; every requirement is checked below anyway.
      if (!candidates || withLabel.size < candidates.size) candidates = withLabel;
    }
    const keys = candidates ? [...candidates].sort() : this.ordered();
    const out: Entry[] = [];
    for (const key of keys) {
      const e = this.entries.get(key)!;
      if (opts.namespace !== undefined && (e.namespace ?? '') !== opts.namespace) continue;
      if (selector && !selector.matches(e.labels ?? {})) continue;
      out.push(e);
    }
    return out;
  }

  private ordered(): string[] {
    this.sortedKeys ??= [...this.entries.keys()].sort();
    return this.sortedKeys;
  }

  private index(e: Entry): void {
    addToIndex(this.byNamespace, e.namespace ?? '', e.key);
    for (const [label, value] of Object.entries(e.labels ?? {})) addToIndex(this.byLabel, `${label}=${value}`, e.key);
  }

  private unindex(e: Entry): void {
    removeFromIndex(this.byNamespace, e.namespace ?? '', e.key);
    for (const [label, value] of Object.entries(e.labels ?? {})) removeFromIndex(this.byLabel, `${label}=${value}`, e.key);
  }
}

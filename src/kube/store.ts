/**
 * The reflector's cache: objects by `namespace/name` (identity in Kubernetes is the key, never the
 * uid alone), with indexes by namespace and by label so that the monitor's and the operator's
 * queries do not scan everything. It also keeps the resourceVersion the cache is at.
 */
import type { KubeObject } from './client.ts';
import { parseLabelSelector } from './selectors.ts';

/** client-go's MetaNamespaceKeyFunc: `namespace/name`, or `name` for cluster-scoped objects. */
export function objectKey(obj: KubeObject): string {
  return keyOf(obj.metadata.namespace, obj.metadata.name ?? '');
}

export function keyOf(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

export function splitKey(key: string): { namespace?: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

/** What a replace changed, in the order handlers should hear it. */
export interface ReplaceResult<T> {
  added: T[];
  updated: { old: T; obj: T }[];
  deleted: T[];
}

export class ObjectStore<T extends KubeObject = KubeObject> {
  private readonly objects = new Map<string, T>();
  private readonly byNamespace = new Map<string, Set<string>>();
  /** `label=value` → keys; exact-match selectors narrow their candidates with it. */
  private readonly byLabel = new Map<string, Set<string>>();
  /** The resourceVersion of the last list or watch event applied ('' before the first list). */
  resourceVersion = '';

  get size(): number {
    return this.objects.size;
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.objects.get(keyOf(namespace, name));
  }

  getByKey(key: string): T | undefined {
    return this.objects.get(key);
  }

  keys(): IterableIterator<string> {
    return this.objects.keys();
  }

  /** Objects in a namespace (all when unset) whose labels match the selector (`app=x,tier in (a)`). */
  list(opts: { namespace?: string; labelSelector?: string } = {}): T[] {
    let candidates: Iterable<string> = opts.namespace !== undefined ? (this.byNamespace.get(opts.namespace) ?? []) : this.objects.keys();
    if (!opts.labelSelector) return [...candidates].map((k) => this.objects.get(k)!);
    const selector = parseLabelSelector(opts.labelSelector);
    for (const [label, value] of Object.entries(selector.exactMatchPairs())) {
      const withLabel = this.byLabel.get(`${label}=${value}`);
      if (!withLabel) return [];
      // Start from the smaller set; `matches` below checks every requirement anyway.
      if (!(candidates instanceof Set) || withLabel.size < candidates.size) candidates = withLabel;
    }
    const out: T[] = [];
    for (const key of candidates) {
      const obj = this.objects.get(key)!;
      if (opts.namespace !== undefined && obj.metadata.namespace !== opts.namespace) continue;
      if (selector.matches(obj.metadata.labels ?? {})) out.push(obj);
    }
    return out;
  }

  /** Adds or replaces an object; returns the one it replaced. */
  upsert(obj: T): T | undefined {
    const key = objectKey(obj);
    const old = this.objects.get(key);
    if (old) this.unindex(key, old);
    this.objects.set(key, obj);
    this.index(key, obj);
    return old;
  }

  /** Removes an object by key; returns it if it was there. */
  remove(key: string): T | undefined {
    const old = this.objects.get(key);
    if (!old) return undefined;
    this.unindex(key, old);
    this.objects.delete(key);
    return old;
  }

  /**
   * Makes the store hold exactly `objects` at `resourceVersion`, in one step, and says what changed:
   * objects that vanished are deletions (the events that removed them were missed), objects whose
   * resourceVersion differs are updates.
   */
  replace(objects: T[], resourceVersion: string): ReplaceResult<T> {
    const result: ReplaceResult<T> = { added: [], updated: [], deleted: [] };
    const seen = new Set<string>();
    for (const obj of objects) {
      const key = objectKey(obj);
      seen.add(key);
      const old = this.upsert(obj);
      if (!old) result.added.push(obj);
      else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) result.updated.push({ old, obj });
    }
    for (const key of [...this.objects.keys()]) {
      if (!seen.has(key)) result.deleted.push(this.remove(key)!);
    }
    this.resourceVersion = resourceVersion;
    return result;
  }

  private index(key: string, obj: T): void {
    addTo(this.byNamespace, obj.metadata.namespace ?? '', key);
    for (const [label, value] of Object.entries(obj.metadata.labels ?? {})) addTo(this.byLabel, `${label}=${value}`, key);
  }

  private unindex(key: string, obj: T): void {
    removeFrom(this.byNamespace, obj.metadata.namespace ?? '', key);
    for (const [label, value] of Object.entries(obj.metadata.labels ?? {})) removeFrom(this.byLabel, `${label}=${value}`, key);
  }
}

/** Adds `key` to the set of `k` in an index of sets (as ObjectStore's by namespace and label). */
export function addTo(index: Map<string, Set<string>>, k: string, key: string): void {
  let set = index.get(k);
  if (!set) index.set(k, (set = new Set()));
  set.add(key);
}

/** Removes `key` from the set of `k`, and the set once empty. */
export function removeFrom(index: Map<string, Set<string>>, k: string, key: string): void {
  const set = index.get(k);
  if (!set) return;
  set.delete(key);
  if (set.size === 0) index.delete(k);
}

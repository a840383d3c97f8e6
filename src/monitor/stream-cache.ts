/**
 * The stream's own cache, as its Reflector keeps it: for each key the object's entry (its JSON,
 * serialized once), not the parsed object. The entry is the one the store's views take for the
 * same object (see `entryOf`), so the stream's record of what it knows costs a map slot per
 * object, not another copy. Readers (the backlog's collapsed snapshot, tests) get objects parsed
 * again from the entries; the reflector's replies about replaced objects are parsed too, which
 * happens for updates and deletions only.
 */
import { ObjectStore, parseLabelSelector, type KubeObject, type ReplaceResult } from '../kube/index.ts';
import { entryOf, type Entry } from './entry.ts';

export class StreamCache extends ObjectStore<KubeObject> {
  private readonly entries = new Map<string, Entry>();

  override get size(): number {
    return this.entries.size;
  }

  override get(namespace: string | undefined, name: string): KubeObject | undefined {
    return this.getByKey(namespace ? `${namespace}/${name}` : name);
  }

  /** The entry held for a key, as serialized once for the stream and the store alike. */
  entry(key: string): Entry | undefined {
    return this.entries.get(key);
  }

  override getByKey(key: string): KubeObject | undefined {
    return this.entries.get(key)?.object();
  }

  override keys(): IterableIterator<string> {
    return this.entries.keys();
  }

  override list(opts: { namespace?: string; labelSelector?: string } = {}): KubeObject[] {
    const selector = opts.labelSelector ? parseLabelSelector(opts.labelSelector) : undefined;
    const out: KubeObject[] = [];
    for (const e of this.entries.values()) {
      if (opts.namespace !== undefined && (e.namespace ?? '') !== opts.namespace) continue;
      if (selector && !selector.matches(e.labels ?? {})) continue;
      out.push(e.object());
    }
    return out;
  }

  override upsert(obj: KubeObject): KubeObject | undefined {
    const entry = entryOf(obj);
    const old = this.entries.get(entry.key);
    this.entries.set(entry.key, entry);
    return old?.object();
  }

  override remove(key: string): KubeObject | undefined {
    const old = this.entries.get(key);
    if (!old) return undefined;
    this.entries.delete(key);
    return old.object();
  }

  override replace(objects: KubeObject[], resourceVersion: string): ReplaceResult<KubeObject> {
    const result: ReplaceResult<KubeObject> = { added: [], updated: [], deleted: [] };
    const seen = new Set<string>();
    for (const obj of objects) {
      const entry = entryOf(obj);
      seen.add(entry.key);
      const old = this.entries.get(entry.key);
      this.entries.set(entry.key, entry);
      if (!old) result.added.push(obj);
      else if (old.resourceVersion !== entry.resourceVersion) result.updated.push({ old: old.object(), obj });
    }
    for (const key of [...this.entries.keys()]) {
      if (!seen.has(key)) result.deleted.push(this.remove(key)!);
    }
    this.resourceVersion = resourceVersion;
    return result;
  }
}

/**
 * List answers kept ready to send again: the body of a list as served, by the query that asked
 * for it, with the store's revision of the resource it was made at (`MemoryStore.revision`).
 * While the revision holds, the same query has the same answer, byte for byte, so a repeated
 * query (dashboards and controllers polling the same namespace and labels) is one write of a
 * Buffer rather than a lookup, a sort and a copy of every object.
 *
 * Bounded twice: answers larger than `maxAnswerBytes` are never kept (a full LIST is written from
 * the entries as it always was, and holding its copy would double what the cache costs), and the
 * kept ones are at most `maxEntries` and `maxBytes` in all, the least recently served going first.
 */
export interface AnswerCacheLimits {
  maxEntries: number;
  maxBytes: number;
  maxAnswerBytes: number;
}

export const ANSWER_CACHE_LIMITS: AnswerCacheLimits = { maxEntries: 256, maxBytes: 8 << 20, maxAnswerBytes: 1 << 20 };

interface Kept {
  revision: number;
  body: Buffer;
}

export class AnswerCache {
  /** In order of use, the least recent first (a Map iterates in insertion order). */
  private readonly kept = new Map<string, Kept>();
  private bytes = 0;

  constructor(private readonly limits: AnswerCacheLimits = ANSWER_CACHE_LIMITS) {}

  get size(): number {
    return this.kept.size;
  }

  get totalBytes(): number {
    return this.bytes;
  }

  /** The body kept for `key` if it was made at `revision`; a body of another revision is dropped. */
  get(key: string, revision: number): Buffer | undefined {
    const k = this.kept.get(key);
    if (!k) return undefined;
    this.kept.delete(key);
    if (k.revision !== revision) {
      this.bytes -= k.body.length;
      return undefined;
    }
    this.kept.set(key, k);
    return k.body;
  }

  set(key: string, revision: number, body: Buffer): void {
    if (body.length > this.limits.maxAnswerBytes) return;
    const old = this.kept.get(key);
    if (old) {
      this.kept.delete(key);
      this.bytes -= old.body.length;
    }
    this.kept.set(key, { revision, body });
    this.bytes += body.length;
    for (const [k, v] of this.kept) {
      if (this.kept.size <= this.limits.maxEntries && this.bytes <= this.limits.maxBytes) break;
      this.kept.delete(k);
      this.bytes -= v.body.length;
    }
  }
}

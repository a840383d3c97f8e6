/**
 * What a process wrote, by object key, until its cache shows it. A cache lags behind the writes
 * its own process makes: a controller that reconciles again before its write is seen would write
 * twice, and a watch event that only echoes its own write would wake it for nothing. Every such
 * memory in KRE is this one: `WriteMemory` holds a value per key with the resourceVersion the
 * server answered and when; `OwnWrites` is the common use of it.
 *
 * It is bounded twice: an entry stands for at most `ttlMs` (a watch that never delivers the write),
 * and at most `maxEntries` are kept — past that the oldest is forgotten, which costs at most one
 * redundant write or reconcile.
 */
import type { KubeObject } from './client.ts';
import { objectKey } from './store.ts';

export interface WriteMemoryOptions {
  /** How long a remembered write may stand for the cache; default 30 s. */
  ttlMs?: number;
  /** Entries kept at most; default 100 000. */
  maxEntries?: number;
}

export interface Remembered<V> {
  value: V;
  /** The resourceVersion of the server's answer ('' when it had none, as for a deletion). */
  resourceVersion: string;
  at: number;
}

/**
 * A resourceVersion as a number, 0 when it is not one. resourceVersions are integers on
 * kube-apiserver and the devcluster; where they are not, comparisons treat the cache as behind,
 * which only costs a redundant write.
 */
export function versionNumber(obj: KubeObject | undefined): number {
  const n = Number(obj?.metadata?.resourceVersion);
  return Number.isSafeInteger(n) ? n : 0;
}

export class WriteMemory<V> {
  private readonly entries = new Map<string, Remembered<V>>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;

  constructor(opts: WriteMemoryOptions = {}) {
    this.ttlMs = opts.ttlMs ?? 30_000;
    this.maxEntries = opts.maxEntries ?? 100_000;
  }

  get size(): number {
    return this.entries.size;
  }

  set(key: string, value: V, resourceVersion = ''): void {
    // Re-inserted, so that the Map's order stays the order of the writes.
    this.entries.delete(key);
    this.entries.set(key, { value, resourceVersion, at: Date.now() });
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  /** The remembered write of `key`, unless it is older than the time-to-live (then it is forgotten). */
  get(key: string): Remembered<V> | undefined {
    const r = this.entries.get(key);
    if (r && Date.now() - r.at > this.ttlMs) {
      this.entries.delete(key);
      return undefined;
    }
    return r;
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  keys(): string[] {
    return [...this.entries.keys()];
  }
}

/**
 * The versions of its objects one writer wrote itself (a status, an annotation): their watch
 * events tell it nothing new, so they need not make it reconcile again. Anyone else's write does.
 * Kept per writer, not per process: a write by one controller must still wake another.
 */
export class OwnWrites {
  private readonly versions: WriteMemory<undefined>;

  constructor(opts?: WriteMemoryOptions) {
    this.versions = new WriteMemory(opts);
  }

  /** Remembers `obj` (the server's answer to a write) as this writer's. */
  note(obj: KubeObject | undefined): void {
    const rv = obj?.metadata?.resourceVersion;
    if (obj && rv) this.versions.set(objectKey(obj), undefined, rv);
  }

  /** True, once, when `obj` is the version this writer wrote last. */
  isOwn(obj: KubeObject): boolean {
    const key = objectKey(obj);
    const r = this.versions.get(key);
    if (!r) return false;
    if (r.resourceVersion === obj.metadata.resourceVersion) {
      this.versions.delete(key);
      return true;
    }
    // A newer version is someone else's; an older one is still on its way.
    if (versionNumber(obj) > Number(r.resourceVersion)) this.versions.delete(key);
    return false;
  }

  forget(obj: KubeObject): void {
    this.versions.delete(objectKey(obj));
  }
}

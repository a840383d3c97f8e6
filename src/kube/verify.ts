/**
 * Periodic verification: what a cache kept from a watch has wrong against a fresh list, counting
 * only what the watch should already have delivered. The Reflector corrects its store with it; the
 * monitor counts the corrections its aggregated view receives.
 *
 * Versions are ordered as integers (kube-apiserver's and the devcluster's are etcd-style
 * revisions), which is what tells "missed" from "not delivered yet". With the cache at version C
 * and the list at L:
 * - listed at r, not cached, r ≤ C, and no deletion seen at a version after r: a missed add;
 * - listed at r, cached at an older version, r ≤ C: a stale version;
 * - cached at s ≤ L, not listed, C ≥ L: a ghost (its deletion was missed).
 * Listed objects newer than C, and cached ones newer than L, are differences the cache is merely
 * behind or ahead on: left to the watch.
 */

/** Sign of a − b for integer resourceVersions (of any length); undefined when either is not an integer. */
export function compareVersions(a: string | undefined, b: string | undefined): number | undefined {
  if (!a || !b || !/^\d+$/.test(a) || !/^\d+$/.test(b)) return undefined;
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** What the classification reads of an object: its version. */
export interface Versioned {
  metadata: { resourceVersion?: string };
}

export interface CacheAgainstList<T extends Versioned, H extends Versioned> {
  /** The fresh list's items and version. */
  listed: readonly T[];
  listVersion: string;
  /** The version the cache's watch has reached (its last event or bookmark). */
  cacheVersion: string | undefined;
  /** Every key the cache holds, and what it holds for one. */
  cachedKeys: Iterable<string>;
  cached(key: string): H | undefined;
  keyOf(obj: T): string;
  /** The version at which the watch deleted a key, if it did since the previous verification. */
  deletedAt(key: string): string | undefined;
}

/** The differences the watch should already have delivered. */
export interface ListDifferences<T, H> {
  /** Listed objects the cache lacks. */
  missedAdds: T[];
  /** Listed objects the cache holds at an older version. */
  staleVersions: { cached: H; listed: T }[];
  /** Cached objects the server no longer has. */
  ghosts: { key: string; cached: H }[];
}

/**
 * Classifies what the cache has wrong against the list (see the module's comment); undefined when
 * the cache's or the list's version is not an integer, as then nothing can be told apart.
 */
export function classifyAgainstList<T extends Versioned, H extends Versioned>(args: CacheAgainstList<T, H>): ListDifferences<T, H> | undefined {
  const C = args.cacheVersion;
  const cacheVsList = compareVersions(C, args.listVersion);
  if (cacheVsList === undefined) return undefined;
  const out: ListDifferences<T, H> = { missedAdds: [], staleVersions: [], ghosts: [] };
  const listedKeys = new Set<string>();
  for (const obj of args.listed) {
    const key = args.keyOf(obj);
    listedKeys.add(key);
    const r = obj.metadata.resourceVersion;
    // Not reached by the watch yet (or not orderable): the watch will deliver it.
    if ((compareVersions(r, C) ?? 1) > 0) continue;
    const cached = args.cached(key);
    if (!cached) {
      // Deleted after this version by an event the list predates: the list is the one behind.
      if ((compareVersions(args.deletedAt(key), r) ?? 0) <= 0) out.missedAdds.push(obj);
    } else if ((compareVersions(cached.metadata.resourceVersion, r) ?? 0) < 0) {
      out.staleVersions.push({ cached, listed: obj });
    }
  }
  // A cache behind the list may simply not have heard of the deletions yet.
  if (cacheVsList >= 0) {
    for (const key of args.cachedKeys) {
      if (listedKeys.has(key)) continue;
      const cached = args.cached(key);
      // Created after the list (or not orderable): not the list's to judge.
      if (cached && (compareVersions(cached.metadata.resourceVersion, args.listVersion) ?? 1) <= 0) out.ghosts.push({ key, cached });
    }
  }
  return out;
}

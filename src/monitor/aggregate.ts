/**
 * The aggregation rules, as pure functions: which streamed change counts on top of a verified
 * snapshot. What a verification corrected is the kube core's `classifyAgainstList`.
 *
 * The aggregated view is reliable up to the last verified list and fresh after it:
 * - an object absent from the verified list is gone, unless the stream (re)created it after that
 *   list, i.e. at a resourceVersion greater than the list's;
 * - a streamed change counts only when it is newer than both the list and the object the view
 *   holds, so a late DELETED of an earlier incarnation never hides a re-created object;
 * - resourceVersions are ordered as integers (kube-apiserver's and the devcluster's are etcd-style
 *   revisions); where they are not integers nothing can be ordered by version, and the verified
 *   snapshot wins: a streamed change then counts only for an object the snapshot does not have,
 *   and only if it was heard after the list was taken.
 */
import { compareVersions, type Versioned } from '../kube/index.ts';
import type { StreamChange } from './store.ts';

/** What the rules read of a change: its kind, version and arrival. */
export type VersionedChange = Pick<StreamChange, 'type' | 'resourceVersion' | 'receivedAt'>;

export interface SnapshotRef {
  /** undefined before the first verification: then every streamed change counts. */
  resourceVersion?: string;
  listedAt?: number;
}

/**
 * Whether a streamed change is laid over the verified snapshot, given the object the view holds
 * for its key now (`held`, from the snapshot or from an earlier streamed change).
 */
export function changeCounts(change: VersionedChange, snapshot: SnapshotRef, held: Versioned | undefined, heldIsVerified: boolean): boolean {
  if (snapshot.resourceVersion === undefined) return newerThanHeld(change, held) !== false;
  const vsList = compareVersions(change.resourceVersion, snapshot.resourceVersion);
  if (vsList === undefined) {
    if (held && heldIsVerified) return false;
    return change.receivedAt > (snapshot.listedAt ?? 0);
  }
  if (vsList <= 0) return false;
  return newerThanHeld(change, held) !== false;
}

/** false when the held object is provably newer than (or as new as) the change. */
function newerThanHeld(change: VersionedChange, held: Versioned | undefined): boolean | undefined {
  if (!held) return true;
  const c = compareVersions(change.resourceVersion, held.metadata.resourceVersion);
  if (c === undefined) return undefined;
  // An upsert at the held version is the same object again (a re-list), harmless; a delete must be newer.
  return change.type === 'upsert' ? c >= 0 : c > 0;
}

/** Whether a change is covered by (not newer than) a snapshot, so it can be forgotten. */
export function coveredBySnapshot(change: VersionedChange, snapshot: { resourceVersion: string; listedAt: number }): boolean {
  const c = compareVersions(change.resourceVersion, snapshot.resourceVersion);
  return c === undefined ? change.receivedAt <= snapshot.listedAt : c <= 0;
}

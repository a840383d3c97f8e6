/**
 * ControllerRevisions, the history of a StatefulSet's or a DaemonSet's pod template, as the real
 * controllers keep it: one `apps/v1` ControllerRevision per distinct template, named
 * `<set>-<hash>`, owned by the set, labelled with the template's labels and
 * `controller-revision-hash`, whose `data` is the patch that puts that template back and whose
 * `revision` grows with every change (a template that comes back gets the next number again).
 * `kubectl rollout history` and `kubectl rollout undo` read them.
 */
import type { DaemonSet, Informer, KubeObject, StatefulSet } from '../../kube/index.ts';
import { canonicalJson } from '../../kube/index.ts';
import { createObject, deleteObject, patchObject, type ControllerContext } from './context.ts';
import { isControlledBy, ownedBy, ownerReference } from './pods.ts';

export const REVISION_HASH_LABEL = 'controller-revision-hash';

/** The sets whose templates are kept as ControllerRevisions. */
export type RevisedSet = StatefulSet | DaemonSet;

/** A revision's number; 0 when it has none. */
const revisionNumber = (r: KubeObject): number => Number(r.revision) || 0;

/** What the real controllers store: the template, replacing whatever the set has. */
export function revisionData(set: RevisedSet): unknown {
  return { spec: { template: { ...structuredClone(set.spec?.template ?? {}), $patch: 'replace' } } };
}

/** The set's ControllerRevisions, oldest first. */
export function revisionsOf(revisions: Informer, set: RevisedSet): KubeObject[] {
  return ownedBy(revisions, set).sort((a, b) => revisionNumber(a) - revisionNumber(b));
}

/**
 * Makes sure the revision `<set>-<hash>` exists with the set's template and is the newest.
 * Resolves to it, or to undefined when the name is taken by something else (a hash collision:
 * the caller bumps `collisionCount`) or the write is not yet visible (the caller tries again).
 */
export async function ensureRevision(ctx: ControllerContext, revisions: Informer, set: RevisedSet, hash: string): Promise<KubeObject | { collision: true } | undefined> {
  const namespace = set.metadata.namespace;
  const name = `${set.metadata.name}-${hash}`;
  const data = revisionData(set);
  const history = revisionsOf(revisions, set);
  const newest = Math.max(0, ...history.map(revisionNumber));
  let existing = revisions.get(namespace, name);
  if (existing) {
    if (!isControlledBy(existing, set) || canonicalJson(existing.data) !== canonicalJson(data)) return { collision: true };
    // A template that comes back (a rollback) becomes the newest revision again.
    if (revisionNumber(existing) < newest) existing = await patchObject(ctx, revisions, existing, { revision: newest + 1 });
    return existing;
  }
  const created = await createObject(ctx, revisions, {
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: {
      name,
      namespace,
      labels: { ...(set.spec?.template?.metadata?.labels ?? {}), [REVISION_HASH_LABEL]: hash },
      ...(set.metadata.annotations ? { annotations: { ...set.metadata.annotations } } : {}),
      ownerReferences: [ownerReference(set)],
    },
    data,
    revision: newest + 1,
  });
  return created;
}

/**
 * Deletes the oldest revisions beyond `revisionHistoryLimit`, sparing those still live: the
 * current and update revisions and any a pod still runs.
 */
export async function truncateHistory(ctx: ControllerContext, revisions: Informer, set: RevisedSet, live: Set<string>): Promise<void> {
  const limit = set.spec?.revisionHistoryLimit ?? 10;
  const old = revisionsOf(revisions, set).filter((r) => !live.has(r.metadata.name!));
  for (const r of old.slice(0, Math.max(0, old.length - limit))) await deleteObject(ctx, revisions, r);
}

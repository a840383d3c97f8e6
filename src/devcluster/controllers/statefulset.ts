/**
 * The StatefulSet controller: pods `<name>-<ordinal>` with a stable identity (hostname, subdomain,
 * the pod-name and pod-index labels) and their PersistentVolumeClaims `<claim>-<name>-<ordinal>`,
 * bound at once since the devcluster has no storage. OrderedReady creates the next pod only when
 * every lower one is Running and Ready, and removes from the highest ordinal down; Parallel does
 * all at once. A template change replaces pods from the highest ordinal down to the partition.
 * Each template is kept as a ControllerRevision (see revisions.ts): the status names the current
 * and the update revision, and the pods' `controller-revision-hash` label the one they run.
 */
import { CONTROLLERREVISIONS, PODS, PVCS, STATEFULSETS, Controller, type KubeObject, type PersistentVolumeClaim, type Pod, type ReconcileContext, type ReconcileKey, type ReconcileResult, type Reconciler, type StatefulSet, type StatefulSetStatus } from '../../kube/index.ts';
import { controllerOptions, createObject, deleteObject, informersOf, writeStatus, type ControllerContext } from './context.ts';
import { templateHash } from './hash.ts';
import { availability, isFinished, isReady, isRunningAndReady, isTerminating, ownedBy, podFromTemplate } from './pods.ts';
import { REVISION_HASH_LABEL as REVISION_LABEL, ensureRevision, truncateHistory } from './revisions.ts';

export function statefulPodName(set: KubeObject, ordinal: number): string {
  return `${set.metadata.name}-${ordinal}`;
}

export function claimName(claim: string, set: KubeObject, ordinal: number): string {
  return `${claim}-${set.metadata.name}-${ordinal}`;
}

export function statefulSetController(ctx: ControllerContext): Controller {
  return new Controller({ ...controllerOptions(ctx, 'statefulset', 4), primary: STATEFULSETS, owns: [PODS], reconciler: new StatefulSetReconciler(ctx) });
}

class StatefulSetReconciler implements Reconciler {
  private readonly cache;

  constructor(private readonly ctx: ControllerContext) {
    this.cache = informersOf(ctx, { sets: STATEFULSETS, pods: PODS, claims: PVCS, revisions: CONTROLLERREVISIONS });
  }

  private async ensureClaims(set: StatefulSet, ordinal: number): Promise<void> {
    for (const tpl of set.spec?.volumeClaimTemplates ?? []) {
      const name = claimName(tpl.metadata.name!, set, ordinal);
      if (this.cache.claims.get(set.metadata.namespace, name)) continue;
      const created: PersistentVolumeClaim | undefined = await createObject(this.ctx, this.cache.claims, {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: {
          name,
          namespace: set.metadata.namespace,
          labels: { ...(set.spec?.selector?.matchLabels ?? {}), ...(tpl.metadata?.labels ?? {}) },
          ...(tpl.metadata?.annotations ? { annotations: tpl.metadata.annotations } : {}),
        },
        spec: structuredClone(tpl.spec ?? {}),
      });
      if (!created) continue;
      // No provisioner here: the claim is bound as soon as it exists.
      const bound = await this.ctx.client.update(
        { ...PVCS, namespace: set.metadata.namespace, name },
        {
          ...created,
          status: {
            phase: 'Bound',
            accessModes: created.spec?.accessModes ?? ['ReadWriteOnce'],
            capacity: { storage: created.spec?.resources?.requests?.storage ?? '1Gi' },
          },
        },
        { subresource: 'status' },
      );
      this.cache.claims.wrote(bound);
    }
  }

  private newPod(set: StatefulSet, ordinal: number, revision: string): KubeObject {
    const name = statefulPodName(set, ordinal);
    const claimVolumes = (set.spec?.volumeClaimTemplates ?? []).map((tpl) => ({
      name: tpl.metadata.name!,
      persistentVolumeClaim: { claimName: claimName(tpl.metadata.name!, set, ordinal) },
    }));
    const claimNames = new Set(claimVolumes.map((v) => v.name));
    const volumes = [...claimVolumes, ...(set.spec?.template?.spec?.volumes ?? []).filter((v) => !claimNames.has(v.name))];
    return podFromTemplate(set.spec?.template, set, name, {
      generateName: `${set.metadata.name}-`,
      labels: {
        [REVISION_LABEL]: revision,
        'statefulset.kubernetes.io/pod-name': name,
        'apps.kubernetes.io/pod-index': String(ordinal),
      },
      spec: { hostname: name, ...(set.spec?.serviceName ? { subdomain: set.spec.serviceName } : {}), ...(volumes.length ? { volumes } : {}) },
    });
  }

  async reconcile({ namespace, name }: ReconcileKey, rc: ReconcileContext): Promise<ReconcileResult | void> {
    const set: StatefulSet | undefined = this.cache.sets.get(namespace, name);
    if (!set || set.metadata.deletionTimestamp) return;
    const collisionCount = set.status?.collisionCount ?? 0;
    const hash = templateHash(set.spec?.template, collisionCount);
    const updateRevision = `${name}-${hash}`;
    const revision = await ensureRevision(this.ctx, this.cache.revisions, set, hash);
    if (!revision) return { requeueAfter: 200 };
    if ('collision' in revision) {
      rc.ownWrite(await writeStatus(this.ctx, this.cache.sets, set, { ...set.status, collisionCount: collisionCount + 1 }));
      return { requeueAfter: 50 };
    }
    const { byOrdinal, extra } = this.podsByOrdinal(set);
    await this.createInOrder(set, byOrdinal, updateRevision);
    const excess = await this.scaleDown(set, byOrdinal, extra);
    if (excess === 0) await this.rollOne(set, byOrdinal, updateRevision);
    const { status, waitMs } = await this.status(set, updateRevision, collisionCount);
    rc.ownWrite(await writeStatus(this.ctx, this.cache.sets, set, status));
    return waitMs !== undefined ? { requeueAfter: waitMs } : undefined;
  }

  /** The set's pods by ordinal within `replicas`, and those beyond (or with no ordinal). */
  private podsByOrdinal(set: StatefulSet): { byOrdinal: Map<number, Pod>; extra: Pod[] } {
    const name = set.metadata.name!;
    const replicas = set.spec?.replicas ?? 1;
    const byOrdinal = new Map<number, Pod>();
    const extra: Pod[] = [];
    for (const p of ownedBy(this.cache.pods, set)) {
      const m = new RegExp(`^${escapeRegExp(name)}-(\\d+)$`).exec(p.metadata.name ?? '');
      const ordinal = m ? Number(m[1]) : -1;
      if (ordinal >= 0 && ordinal < replicas) byOrdinal.set(ordinal, p);
      else extra.push(p);
    }
    return { byOrdinal, extra };
  }

  /** Creates missing pods (and replaces finished ones) in ordinal order; OrderedReady waits for each. */
  private async createInOrder(set: StatefulSet, byOrdinal: Map<number, Pod>, updateRevision: string): Promise<void> {
    const parallel = set.spec?.podManagementPolicy === 'Parallel';
    const replicas = set.spec?.replicas ?? 1;
    for (let i = 0; i < replicas; i++) {
      const pod = byOrdinal.get(i);
      if (pod && isFinished(pod) && !isTerminating(pod)) {
        await deleteObject(this.ctx, this.cache.pods, pod);
        if (!parallel) break;
        continue;
      }
      if (!pod) {
        await this.ensureClaims(set, i);
        await createObject(this.ctx, this.cache.pods, this.newPod(set, i, updateRevision));
        if (!parallel) break;
        continue;
      }
      if (!parallel && (isTerminating(pod) || !isRunningAndReady(pod))) break;
    }
  }

  /** Scales down from the highest ordinal, one at a time unless Parallel; resolves to the pods still in excess. */
  private async scaleDown(set: StatefulSet, byOrdinal: Map<number, Pod>, extra: Pod[]): Promise<number> {
    const name = set.metadata.name!;
    const parallel = set.spec?.podManagementPolicy === 'Parallel';
    const excess = extra.filter((p) => !isTerminating(p)).sort((a, b) => ordinalOf(b, name) - ordinalOf(a, name));
    if (excess.length > 0) {
      const orderedWait = !parallel && (extra.some(isTerminating) || [...byOrdinal.values()].some((p) => !isRunningAndReady(p)));
      if (!orderedWait) await Promise.all((parallel ? excess : excess.slice(0, 1)).map((p) => deleteObject(this.ctx, this.cache.pods, p)));
    }
    return excess.length;
  }

  /** Rolling update: the highest outdated ordinal at or above the partition, when all are ready. */
  private async rollOne(set: StatefulSet, byOrdinal: Map<number, Pod>, updateRevision: string): Promise<void> {
    // Without a strategy a set rolls its pods, RollingUpdate being the default.
    const strategy = set.spec?.updateStrategy;
    if (strategy?.type === 'OnDelete') return;
    const parallel = set.spec?.podManagementPolicy === 'Parallel';
    const replicas = set.spec?.replicas ?? 1;
    const partition = strategy?.rollingUpdate?.partition ?? 0;
    const current = [...byOrdinal.entries()].sort((a, b) => b[0] - a[0]);
    const allReady = current.length === replicas && current.every(([, p]) => isRunningAndReady(p) && !isTerminating(p));
    const outdated = current.find(([i, p]) => i >= partition && p.metadata.labels?.[REVISION_LABEL] !== updateRevision && !isTerminating(p));
    if (outdated && (allReady || parallel)) await deleteObject(this.ctx, this.cache.pods, outdated[1]);
  }

  /** The status from the pods as they are now; old revisions beyond the history limit go first. */
  private async status(set: StatefulSet, updateRevision: string, collisionCount: number): Promise<{ status: StatefulSetStatus; waitMs?: number }> {
    const replicas = set.spec?.replicas ?? 1;
    const now: Pod[] = ownedBy(this.cache.pods, set).filter((p) => !isTerminating(p));
    const minReadySeconds = set.spec?.minReadySeconds ?? 0;
    const updated = now.filter((p) => p.metadata.labels?.[REVISION_LABEL] === updateRevision).length;
    const ready = now.filter(isReady).length;
    let waitMs: number | undefined;
    const available = now.filter((p) => {
      const a = availability(p, minReadySeconds);
      if (a.waitMs !== undefined) waitMs = Math.min(waitMs ?? Infinity, a.waitMs);
      return a.available;
    }).length;
    // The current revision catches up once every replica runs the update.
    const rolledOut = updated === replicas && ready === replicas;
    const previous = set.status?.currentRevision;
    const currentRevision = rolledOut || !previous || !this.cache.revisions.get(set.metadata.namespace, previous) ? updateRevision : previous;
    await truncateHistory(this.ctx, this.cache.revisions, set, new Set([currentRevision, updateRevision, ...now.map((p) => p.metadata.labels?.[REVISION_LABEL] ?? '')]));
    const status: StatefulSetStatus = {
      observedGeneration: set.metadata.generation,
      replicas: now.length,
      readyReplicas: ready,
      currentReplicas: now.filter((p) => p.metadata.labels?.[REVISION_LABEL] === currentRevision).length,
      updatedReplicas: updated,
      currentRevision,
      updateRevision,
      collisionCount,
      availableReplicas: available,
    };
    for (const k of ['readyReplicas', 'currentReplicas', 'updatedReplicas'] as const) if (!status[k]) delete status[k];
    return { status, waitMs };
  }
}

function ordinalOf(pod: KubeObject, setName: string): number {
  const suffix = (pod.metadata.name ?? '').slice(setName.length + 1);
  return /^\d+$/.test(suffix) ? Number(suffix) : -1;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

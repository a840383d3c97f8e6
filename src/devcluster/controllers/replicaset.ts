/**
 * The ReplicaSet controller: keeps `spec.replicas` active pods named `<rs>-<5 chars>`, each with a
 * controller owner reference to the ReplicaSet, and reports how many are ready and available.
 * Excess pods go in the order the real controller picks: unscheduled, pending, not ready, newest.
 */
import {
  PODS,
  REPLICASETS,
  Controller,
  generateNameSuffix,
  type Pod,
  type ReconcileContext,
  type ReconcileKey,
  type ReconcileResult,
  type Reconciler,
  type ReplicaSet,
  type ReplicaSetStatus,
} from '../../kube/index.ts';
import { controllerOptions, createObject, deleteObject, informersOf, writeStatus, type ControllerContext } from './context.ts';
import { availability, isActive, isReady, ownedBy, podFromTemplate } from './pods.ts';

/** Pods a reconcile creates or deletes at most, as the real controller's burst. */
const BURST = 500;

function deletionRank(pod: Pod): number[] {
  return [
    pod.spec?.nodeName ? 1 : 0,
    pod.status?.phase === 'Pending' ? 0 : pod.status?.phase === 'Unknown' ? 1 : 2,
    isReady(pod) ? 1 : 0,
    // Newer first: a larger creation time sorts earlier.
    -(Date.parse(pod.metadata.creationTimestamp ?? '') || 0),
  ];
}

export function replicaSetController(ctx: ControllerContext): Controller {
  // Workers wait on the API server most of the time (a create, then a status write): more of them
  // keep a burst of ReplicaSets from queueing behind a few round trips.
  return new Controller({ ...controllerOptions(ctx, 'replicaset', 16), primary: REPLICASETS, owns: [PODS], reconciler: new ReplicaSetReconciler(ctx) });
}

class ReplicaSetReconciler implements Reconciler {
  private readonly cache;

  constructor(private readonly ctx: ControllerContext) {
    this.cache = informersOf(ctx, { replicaSets: REPLICASETS, pods: PODS });
  }

  async reconcile({ namespace, name }: ReconcileKey, rc: ReconcileContext): Promise<ReconcileResult | void> {
    const rs: ReplicaSet | undefined = this.cache.replicaSets.get(namespace, name);
    if (!rs || rs.metadata.deletionTimestamp) return;
    await this.scale(rs, ownedBy(this.cache.pods, rs).filter(isActive));
    const { status, waitMs } = replicaSetStatus(rs, ownedBy(this.cache.pods, rs).filter(isActive));
    rc.ownWrite(await writeStatus(this.ctx, this.cache.replicaSets, rs, status));
    return waitMs !== undefined ? { requeueAfter: waitMs } : undefined;
  }

  /** Creates or deletes pods towards `spec.replicas`, at most a burst at a time. */
  private async scale(rs: ReplicaSet, active: Pod[]): Promise<void> {
    const name = rs.metadata.name!;
    const diff = (rs.spec?.replicas ?? 1) - active.length;
    if (diff > 0) {
      const creates = Array.from({ length: Math.min(diff, BURST) }, () =>
        createObject(this.ctx, this.cache.pods, podFromTemplate(rs.spec?.template, rs, `${name}-${generateNameSuffix()}`, { generateName: `${name}-` })),
      );
      await Promise.all(creates);
    } else if (diff < 0) {
      const victims = [...active].sort((a, b) => compareRanks(deletionRank(a), deletionRank(b))).slice(0, Math.min(-diff, BURST));
      await Promise.all(victims.map((p) => deleteObject(this.ctx, this.cache.pods, p)));
    }
  }
}

function replicaSetStatus(rs: ReplicaSet, current: Pod[]): { status: ReplicaSetStatus; waitMs?: number } {
  const minReadySeconds = rs.spec?.minReadySeconds ?? 0;
  let available = 0;
  let waitMs: number | undefined;
  for (const p of current) {
    const a = availability(p, minReadySeconds);
    if (a.available) available++;
    else if (a.waitMs !== undefined) waitMs = Math.min(waitMs ?? Infinity, a.waitMs);
  }
  const status: ReplicaSetStatus = {
    ...rs.status,
    replicas: current.length,
    fullyLabeledReplicas: current.length,
    readyReplicas: current.filter(isReady).length,
    availableReplicas: available,
    observedGeneration: rs.metadata.generation,
  };
  // Zero counts are omitted, as the API's omitempty prints them.
  for (const k of ['readyReplicas', 'availableReplicas'] as const) if (!status[k]) delete status[k];
  return { status, waitMs };
}

function compareRanks(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

/**
 * The ReplicaSet controller: keeps `spec.replicas` active pods named `<rs>-<5 chars>`, each with a
 * controller owner reference to the ReplicaSet, and reports how many are ready and available.
 * Excess pods go in the order the real controller picks: unscheduled, pending, not ready, newest.
 */
import { generateNameSuffix, keyOf, splitKey, type KubeObject } from '../../kube/index.ts';
import { OwnWrites, createObject, deleteObject, writeStatus, type ControllerContext } from './context.ts';
import { ControlLoop } from './loop.ts';
import { availability, controllerRef, isActive, isControlledBy, isReady, podFromTemplate } from './pods.ts';
import { PODS, REPLICASETS } from './resources.ts';

/** Pods a reconcile creates or deletes at most, as the real controller's burst. */
const BURST = 500;

function deletionRank(pod: KubeObject): number[] {
  return [
    pod.spec?.nodeName ? 1 : 0,
    pod.status?.phase === 'Pending' ? 0 : pod.status?.phase === 'Unknown' ? 1 : 2,
    isReady(pod) ? 1 : 0,
    // Newer first: a larger creation time sorts earlier.
    -(Date.parse(pod.metadata.creationTimestamp ?? '') || 0),
  ];
}

export function startReplicaSetController(ctx: ControllerContext): ControlLoop {
  const replicaSets = ctx.informers.for(REPLICASETS);
  const pods = ctx.informers.for(PODS);
  // Workers wait on the API server most of the time (a create, then a status write): more of them
  // keep a burst of ReplicaSets from queueing behind a few round trips.
  const loop = new ControlLoop('replicaset', reconcile, ctx.log, 16);

  const own = new OwnWrites();
  const enqueueRS = (rs: KubeObject) => loop.enqueue(keyOf(rs.metadata.namespace, rs.metadata.name!));
  replicaSets.on({ onAdd: enqueueRS, onUpdate: (_o, rs) => own.isOwn(rs) || enqueueRS(rs), onDelete: (rs) => own.forget(rs) });
  const podChanged = (pod: KubeObject) => {
    const ref = controllerRef(pod);
    if (ref?.kind === 'ReplicaSet') loop.enqueue(keyOf(pod.metadata.namespace, ref.name));
  };
  pods.on({ onAdd: podChanged, onUpdate: (_o, p) => podChanged(p), onDelete: podChanged });

  async function reconcile(key: string): Promise<{ requeueAfter?: number } | void> {
    const { namespace, name } = splitKey(key);
    const rs = replicaSets.get(namespace, name);
    if (!rs || rs.metadata.deletionTimestamp) return;
    const owned = pods.list(namespace, rs.spec?.selector).filter((p) => isControlledBy(p, rs));
    const active = owned.filter(isActive);
    const want = rs.spec?.replicas ?? 1;
    const diff = want - active.length;
    if (diff > 0) {
      const creates = Array.from({ length: Math.min(diff, BURST) }, () =>
        createObject(ctx, pods, podFromTemplate(rs.spec.template, rs, `${name}-${generateNameSuffix()}`, { generateName: `${name}-` })),
      );
      await Promise.all(creates);
    } else if (diff < 0) {
      const victims = [...active].sort((a, b) => compareRanks(deletionRank(a), deletionRank(b))).slice(0, Math.min(-diff, BURST));
      await Promise.all(victims.map((p) => deleteObject(ctx, pods, p)));
    }

    const minReadySeconds = rs.spec?.minReadySeconds ?? 0;
    let available = 0;
    let waitMs: number | undefined;
    const current = pods.list(namespace, rs.spec?.selector).filter((p) => isControlledBy(p, rs) && isActive(p));
    for (const p of current) {
      const a = availability(p, minReadySeconds);
      if (a.available) available++;
      else if (a.waitMs !== undefined) waitMs = Math.min(waitMs ?? Infinity, a.waitMs);
    }
    const ready = current.filter(isReady).length;
    const status: Record<string, unknown> = {
      ...rs.status,
      replicas: current.length,
      fullyLabeledReplicas: current.length,
      readyReplicas: ready,
      availableReplicas: available,
      observedGeneration: rs.metadata.generation,
    };
    // Zero counts are omitted, as the API's omitempty prints them.
    for (const k of ['readyReplicas', 'availableReplicas'] as const) if (!status[k]) delete status[k];
    own.note(await writeStatus(ctx, replicaSets, rs, status));
    return waitMs !== undefined ? { requeueAfter: waitMs } : undefined;
  }

  return loop;
}

function compareRanks(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

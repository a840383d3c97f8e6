/**
 * The Deployment controller: one ReplicaSet per pod template, named `<deployment>-<pod-template-hash>`,
 * and a rolling update from the old ReplicaSets to the new one within maxSurge and maxUnavailable
 * (or Recreate: old ones to zero first). Its status carries what `kubectl rollout status` reads:
 * observedGeneration, the replica counts, and the Available and Progressing conditions. A rollout
 * that makes no progress for `progressDeadlineSeconds` gets Progressing False, ProgressDeadlineExceeded.
 */
import { keyOf, splitKey, type KubeObject } from '../../kube/index.ts';
import { OwnWrites, createObject, deleteObject, patchObject, writeStatus, type ControllerContext } from './context.ts';
import { templateHash } from './hash.ts';
import { ControlLoop } from './loop.ts';
import { availability, controllerRef, isActive, isControlledBy, isReady, nowTime, ownerReference, scaledValue, setCondition } from './pods.ts';
import { DEPLOYMENTS, PODS, REPLICASETS } from './resources.ts';

const REVISION = 'deployment.kubernetes.io/revision';
const DESIRED = 'deployment.kubernetes.io/desired-replicas';
const MAX_REPLICAS = 'deployment.kubernetes.io/max-replicas';
const HASH_LABEL = 'pod-template-hash';

const revisionOf = (rs: KubeObject): number => Number(rs.metadata.annotations?.[REVISION] ?? 0) || 0;
const replicasOf = (rs: KubeObject): number => rs.spec?.replicas ?? 0;

/** The template without the hash label, which is what the hash and the comparison are about. */
function templateWithoutHash(template: any): any {
  const t = structuredClone(template ?? {});
  if (t.metadata?.labels) delete t.metadata.labels[HASH_LABEL];
  return t;
}

export function startDeploymentController(ctx: ControllerContext): ControlLoop {
  const deployments = ctx.informers.for(DEPLOYMENTS);
  const replicaSets = ctx.informers.for(REPLICASETS);
  const pods = ctx.informers.for(PODS);
  // Workers wait on the API server most of the time (a create, then a status write): more of them
  // keep a burst of Deployments from queueing behind a few round trips.
  const loop = new ControlLoop('deployment', reconcile, ctx.log, 16);

  const enqueueObj = (d: KubeObject) => loop.enqueue(keyOf(d.metadata.namespace, d.metadata.name!));
  const own = new OwnWrites();
  deployments.on({ onAdd: enqueueObj, onUpdate: (_o, d) => own.isOwn(d) || enqueueObj(d), onDelete: (d) => own.forget(d) });
  const rsChanged = (rs: KubeObject) => {
    const ref = controllerRef(rs);
    if (ref?.kind === 'Deployment') loop.enqueue(keyOf(rs.metadata.namespace, ref.name));
  };
  replicaSets.on({ onAdd: rsChanged, onUpdate: (_o, rs) => rsChanged(rs), onDelete: rsChanged });

  async function reconcile(key: string): Promise<{ requeueAfter?: number } | void> {
    const { namespace, name } = splitKey(key);
    const d = deployments.get(namespace, name);
    if (!d || d.metadata.deletionTimestamp) return;
    const desired: number = d.spec?.replicas ?? 1;
    const minReadySeconds: number = d.spec?.minReadySeconds ?? 0;
    const all = replicaSets.list(namespace, d.spec?.selector).filter((rs) => isControlledBy(rs, d));
    const template = templateWithoutHash(d.spec?.template);
    const hash = templateHash(template, d.status?.collisionCount ?? 0);
    let newRS = all.find((rs) => rs.metadata.labels?.[HASH_LABEL] === hash) ?? all.find((rs) => sameTemplate(templateWithoutHash(rs.spec?.template), template));
    const olds = all.filter((rs) => rs !== newRS).sort((a, b) => revisionOf(a) - revisionOf(b));
    const maxOldRevision = Math.max(0, ...olds.map(revisionOf));
    const rolling = d.spec?.strategy?.type !== 'Recreate';
    const maxSurge = rolling ? scaledValue(d.spec?.strategy?.rollingUpdate?.maxSurge, desired, true, '25%') : 0;
    let maxUnavailable = rolling ? scaledValue(d.spec?.strategy?.rollingUpdate?.maxUnavailable, desired, false, '25%') : desired;
    if (rolling && maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;

    // Pods per ReplicaSet: available counts decide how far the old ones may go down.
    const podsOf = new Map<string, KubeObject[]>();
    for (const rs of all) podsOf.set(rs.metadata.uid!, pods.list(namespace, rs.spec?.selector).filter((p) => isControlledBy(p, rs) && isActive(p)));
    let waitMs: number | undefined;
    const availableIn = (rs: KubeObject) =>
      (podsOf.get(rs.metadata.uid!) ?? []).filter((p) => {
        const a = availability(p, minReadySeconds);
        if (a.waitMs !== undefined) waitMs = Math.min(waitMs ?? Infinity, a.waitMs);
        return a.available;
      }).length;

    const annotations = (replicas: number, revision: number) => ({
      [DESIRED]: String(desired),
      [MAX_REPLICAS]: String(desired + maxSurge),
      [REVISION]: String(revision),
    });

    if (d.spec?.paused) {
      // A paused Deployment only scales what exists; the template change waits.
    } else if (!newRS) {
      const total = olds.reduce((n, rs) => n + replicasOf(rs), 0);
      let replicas = rolling ? Math.max(0, Math.min(desired, desired + maxSurge - total)) : olds.some((rs) => (podsOf.get(rs.metadata.uid!) ?? []).length > 0 || replicasOf(rs) > 0) ? 0 : desired;
      if (olds.length === 0) replicas = desired;
      const rsName = `${name}-${hash}`;
      const rs: KubeObject = {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: {
          name: rsName,
          namespace,
          labels: { ...(d.spec?.template?.metadata?.labels ?? {}), [HASH_LABEL]: hash },
          annotations: annotations(replicas, maxOldRevision + 1),
          ownerReferences: [ownerReference(d)],
        },
        spec: {
          replicas,
          minReadySeconds,
          selector: { ...d.spec.selector, matchLabels: { ...(d.spec.selector?.matchLabels ?? {}), [HASH_LABEL]: hash } },
          template: {
            ...template,
            metadata: { ...(template.metadata ?? {}), labels: { ...(template.metadata?.labels ?? {}), [HASH_LABEL]: hash } },
          },
        },
      };
      newRS = (await createObject(ctx, replicaSets, rs)) ?? replicaSets.get(namespace, rsName);
      if (!newRS) return { requeueAfter: 200 };
      podsOf.set(newRS.metadata.uid!, []);
    } else {
      // Scale the new ReplicaSet up within the surge (or straight to the size when it is alone).
      const total = all.reduce((n, rs) => n + replicasOf(rs), 0);
      let target = replicasOf(newRS);
      if (olds.every((rs) => replicasOf(rs) === 0) && (rolling || olds.every((rs) => (podsOf.get(rs.metadata.uid!) ?? []).length === 0))) target = desired;
      else if (target > desired) target = desired;
      else if (rolling && target < desired) target = Math.min(desired, target + Math.max(0, desired + maxSurge - total));
      const revision = revisionOf(newRS) > maxOldRevision ? revisionOf(newRS) : maxOldRevision + 1;
      const wantAnnotations = annotations(target, revision);
      const annotationsDiffer = Object.entries(wantAnnotations).some(([k, v]) => newRS!.metadata.annotations?.[k] !== v);
      if (target !== replicasOf(newRS) || annotationsDiffer || (newRS.spec?.minReadySeconds ?? 0) !== minReadySeconds) {
        newRS = await patchObject(ctx, replicaSets, newRS, { metadata: { annotations: wantAnnotations }, spec: { replicas: target, minReadySeconds } });
      }
    }

    // Scale the old ReplicaSets down: unhealthy pods first, then as far as availability allows.
    if (!d.spec?.paused && newRS) {
      const newAvailable = availableIn(newRS);
      const newUnavailable = Math.max(0, replicasOf(newRS) - newAvailable);
      const minAvailable = desired - maxUnavailable;
      let total = all.map((rs) => (rs.metadata.uid === newRS!.metadata.uid ? newRS! : rs)).reduce((n, rs) => n + replicasOf(rs), 0);
      let cleanup = total - minAvailable - newUnavailable;
      let availableTotal = newAvailable + olds.reduce((n, rs) => n + availableIn(rs), 0);
      for (const rs of olds) {
        let target = replicasOf(rs);
        if (target === 0) continue;
        if (!rolling) target = 0;
        else {
          const unhealthy = Math.max(0, target - availableIn(rs));
          const dropUnhealthy = Math.min(unhealthy, Math.max(0, cleanup));
          target -= dropUnhealthy;
          cleanup -= dropUnhealthy;
          total -= dropUnhealthy;
          const dropAvailable = Math.min(target, Math.max(0, availableTotal - minAvailable));
          target -= dropAvailable;
          availableTotal -= dropAvailable;
          total -= dropAvailable;
        }
        if (target !== replicasOf(rs)) await patchObject(ctx, replicaSets, rs, { spec: { replicas: target } });
      }
      // Old ReplicaSets beyond revisionHistoryLimit, scaled to zero, are deleted.
      const limit = d.spec?.revisionHistoryLimit ?? 10;
      const idle = olds.filter((rs) => replicasOf(rs) === 0 && (podsOf.get(rs.metadata.uid!) ?? []).length === 0);
      for (const rs of idle.slice(0, Math.max(0, idle.length - limit))) await deleteObject(ctx, replicaSets, rs);
    }

    // The Deployment's revision annotation follows its new ReplicaSet.
    const revision = newRS?.metadata.annotations?.[REVISION];
    if (revision && d.metadata.annotations?.[REVISION] !== revision) {
      own.note(await patchObject(ctx, deployments, d, { metadata: { annotations: { [REVISION]: revision } } }));
    }
    const current = deployments.get(namespace, name) ?? d;
    const { status, deadlineMs } = deploymentStatus(current, newRS, all, podsOf, availableIn, desired, maxUnavailable);
    own.note(await writeStatus(ctx, deployments, current, status));
    if (deadlineMs !== undefined) waitMs = Math.min(waitMs ?? Infinity, deadlineMs);
    return waitMs !== undefined ? { requeueAfter: waitMs } : undefined;
  }

  return loop;
}

function sameTemplate(a: unknown, b: unknown): boolean {
  return templateHash(a) === templateHash(b);
}

function deploymentStatus(
  d: KubeObject,
  newRS: KubeObject | undefined,
  all: KubeObject[],
  podsOf: Map<string, KubeObject[]>,
  availableIn: (rs: KubeObject) => number,
  desired: number,
  maxUnavailable: number,
): { status: Record<string, unknown>; deadlineMs?: number } {
  const everyPod = all.flatMap((rs) => podsOf.get(rs.metadata.uid!) ?? []);
  const replicas = everyPod.length;
  const updated = newRS ? (podsOf.get(newRS.metadata.uid!) ?? []).length : 0;
  const ready = everyPod.filter(isReady).length;
  const available = all.reduce((n, rs) => n + availableIn(rs), 0);
  const unavailable = Math.max(0, desired - available);
  const status: Record<string, unknown> = {
    observedGeneration: d.metadata.generation,
    replicas,
    updatedReplicas: updated,
    readyReplicas: ready,
    availableReplicas: available,
    unavailableReplicas: unavailable,
  };
  if (d.status?.collisionCount) status.collisionCount = d.status.collisionCount;
  for (const k of ['replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas', 'unavailableReplicas']) if (!status[k]) delete status[k];
  let conditions = d.status?.conditions ?? [];
  conditions = setCondition(
    conditions,
    available >= desired - maxUnavailable
      ? { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' }
      : { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' },
    { withUpdateTime: true },
  );
  const rsName = newRS?.metadata.name ?? '';
  const complete = newRS && updated === desired && replicas === desired && available === desired;
  const old = d.status ?? {};
  // Progress, as the real controller counts it: more updated, ready or available pods, fewer old ones.
  const progressed =
    updated > (old.updatedReplicas ?? 0) ||
    replicas - updated < (old.replicas ?? 0) - (old.updatedReplicas ?? 0) ||
    ready > (old.readyReplicas ?? 0) ||
    available > (old.availableReplicas ?? 0);
  const before = conditions.find((c: any) => c.type === 'Progressing');
  const progressing = { type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', message: `ReplicaSet "${rsName}" is progressing.` };
  const timedOut = { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: `ReplicaSet "${rsName}" has timed out progressing.` };
  // A rollout that timed out stays so until it progresses or the template changes.
  const timedOutBefore = before?.reason === timedOut.reason && before?.message === timedOut.message;
  const deadlineSeconds: number | undefined = d.spec?.paused ? undefined : d.spec?.progressDeadlineSeconds;
  let deadlineMs: number | undefined;
  // A complete rollout that only scales stays complete, as the real controller leaves it.
  const stillComplete = newRS && replicas === updated && before?.reason === 'NewReplicaSetAvailable' && before?.message?.includes(`"${rsName}"`);
  if (stillComplete && !complete) {
    // Nothing to change.
  } else if (complete) {
    conditions = setCondition(
      conditions,
      { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${rsName}" has successfully progressed.` },
      { withUpdateTime: true },
    );
  } else if (progressed || (!timedOutBefore && (before?.reason !== progressing.reason || before?.message !== progressing.message))) {
    conditions = setCondition(conditions, progressing, { withUpdateTime: true });
    // Progress restarts the clock, which is the condition's lastUpdateTime.
    if (progressed) conditions = conditions.map((c: any) => (c.type === 'Progressing' ? { ...c, lastUpdateTime: nowTime() } : c));
    if (deadlineSeconds !== undefined) deadlineMs = deadlineSeconds * 1000 + 100;
  } else if (deadlineSeconds !== undefined && !timedOutBefore) {
    const since = Date.parse(before.lastUpdateTime ?? before.lastTransitionTime ?? '') || Date.now();
    const left = since + deadlineSeconds * 1000 - Date.now();
    if (left <= 0) conditions = setCondition(conditions, timedOut, { withUpdateTime: true });
    else deadlineMs = left + 100;
  }
  // The real controller lists Available before Progressing.
  status.conditions = conditions.sort((a: any, b: any) => order(a.type) - order(b.type));
  return { status, deadlineMs };
}

const order = (type: string): number => (type === 'Available' ? 0 : type === 'Progressing' ? 1 : 2);

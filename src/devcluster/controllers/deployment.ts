/**
 * The Deployment controller: one ReplicaSet per pod template, named `<deployment>-<pod-template-hash>`,
 * and a rolling update from the old ReplicaSets to the new one within maxSurge and maxUnavailable
 * (or Recreate: old ones to zero first). Its status carries what `kubectl rollout status` reads:
 * observedGeneration, the replica counts, and the Available and Progressing conditions. A rollout
 * that makes no progress for `progressDeadlineSeconds` gets Progressing False, ProgressDeadlineExceeded.
 */
import { DEPLOYMENTS, PODS, REPLICASETS, Controller, type Condition, type Deployment, type DeploymentStatus, type Informer, type KubeObject, type Pod, type PodTemplateSpec, type ReconcileContext, type ReconcileKey, type ReconcileResult, type Reconciler, type ReplicaSet } from '../../kube/index.ts';
import { controllerOptions, createObject, deleteObject, informersOf, patchObject, writeStatus, type ControllerContext } from './context.ts';
import { templateHash } from './hash.ts';
import { availability, isActive, isReady, nowTime, ownedBy, ownerReference, scaledValue, setCondition } from './pods.ts';

const REVISION = 'deployment.kubernetes.io/revision';
const DESIRED = 'deployment.kubernetes.io/desired-replicas';
const MAX_REPLICAS = 'deployment.kubernetes.io/max-replicas';
const HASH_LABEL = 'pod-template-hash';

const revisionOf = (rs: KubeObject): number => Number(rs.metadata.annotations?.[REVISION] ?? 0) || 0;
const replicasOf = (rs: ReplicaSet): number => rs.spec?.replicas ?? 0;

/** The template without the hash label, which is what the hash and the comparison are about. */
function templateWithoutHash(template: PodTemplateSpec | undefined): PodTemplateSpec {
  const t = structuredClone(template ?? {});
  if (t.metadata?.labels) delete t.metadata.labels[HASH_LABEL];
  return t;
}

export function deploymentController(ctx: ControllerContext): Controller {
  // Workers wait on the API server most of the time (a create, then a status write): more of them
  // keep a burst of Deployments from queueing behind a few round trips.
  return new Controller({ ...controllerOptions(ctx, 'deployment', 16), primary: DEPLOYMENTS, owns: [REPLICASETS], reconciler: new DeploymentReconciler(ctx) });
}

/** One reconcile's view of a Deployment: its ReplicaSets, their active pods, the rollout's bounds. */
class Rollout {
  readonly desired: number;
  readonly minReadySeconds: number;
  readonly rolling: boolean;
  readonly maxSurge: number;
  readonly maxUnavailable: number;
  /** The template without the hash label, and its hash. */
  readonly template: PodTemplateSpec;
  readonly hash: string;
  /** Every ReplicaSet the Deployment controls; the new one runs the current template. */
  readonly all: ReplicaSet[];
  newRS: ReplicaSet | undefined;
  readonly olds: ReplicaSet[];
  readonly maxOldRevision: number;
  /** Active pods per ReplicaSet uid. */
  readonly podsOf = new Map<string, Pod[]>();
  /** The soonest a pod becomes available (minReadySeconds), for a requeue then. */
  waitMs: number | undefined;

  constructor(
    readonly d: Deployment,
    private readonly pods: Informer,
    replicaSets: Informer,
  ) {
    this.desired = d.spec?.replicas ?? 1;
    this.minReadySeconds = d.spec?.minReadySeconds ?? 0;
    this.all = ownedBy(replicaSets, d);
    this.template = templateWithoutHash(d.spec?.template);
    this.hash = templateHash(this.template, d.status?.collisionCount ?? 0);
    this.newRS = this.all.find((rs) => rs.metadata.labels?.[HASH_LABEL] === this.hash) ?? this.all.find((rs) => sameTemplate(templateWithoutHash(rs.spec?.template), this.template));
    this.olds = this.all.filter((rs) => rs !== this.newRS).sort((a, b) => revisionOf(a) - revisionOf(b));
    this.maxOldRevision = Math.max(0, ...this.olds.map(revisionOf));
    this.rolling = d.spec?.strategy?.type !== 'Recreate';
    this.maxSurge = this.rolling ? scaledValue(d.spec?.strategy?.rollingUpdate?.maxSurge, this.desired, true, '25%') : 0;
    let maxUnavailable = this.rolling ? scaledValue(d.spec?.strategy?.rollingUpdate?.maxUnavailable, this.desired, false, '25%') : this.desired;
    if (this.rolling && this.maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
    this.maxUnavailable = maxUnavailable;
    // Pods per ReplicaSet: available counts decide how far the old ones may go down.
    for (const rs of this.all) this.podsOf.set(rs.metadata.uid!, ownedBy(pods, rs).filter(isActive));
  }

  podsIn(rs: ReplicaSet): Pod[] {
    return this.podsOf.get(rs.metadata.uid!) ?? [];
  }

  availableIn(rs: ReplicaSet): number {
    return this.podsIn(rs).filter((p) => {
      const a = availability(p, this.minReadySeconds);
      if (a.waitMs !== undefined) this.waitMs = Math.min(this.waitMs ?? Infinity, a.waitMs);
      return a.available;
    }).length;
  }

  annotations(revision: number): Record<string, string> {
    return { [DESIRED]: String(this.desired), [MAX_REPLICAS]: String(this.desired + this.maxSurge), [REVISION]: String(revision) };
  }
}

class DeploymentReconciler implements Reconciler {
  private readonly cache;

  constructor(private readonly ctx: ControllerContext) {
    this.cache = informersOf(ctx, { deployments: DEPLOYMENTS, replicaSets: REPLICASETS, pods: PODS });
  }

  async reconcile({ namespace, name }: ReconcileKey, rc: ReconcileContext): Promise<ReconcileResult | void> {
    const d: Deployment | undefined = this.cache.deployments.get(namespace, name);
    if (!d || d.metadata.deletionTimestamp) return;
    const r = new Rollout(d, this.cache.pods, this.cache.replicaSets);
    // A paused Deployment only scales what exists; the template change waits.
    if (!d.spec?.paused) {
      if (r.newRS) await this.scaleNew(r, r.newRS);
      else if (!(await this.createNew(r))) return { requeueAfter: 200 };
      await this.scaleDownOld(r, r.newRS!);
      await this.deleteOldHistory(r);
    }
    // The Deployment's revision annotation follows its new ReplicaSet.
    const revision = r.newRS?.metadata.annotations?.[REVISION];
    if (revision && d.metadata.annotations?.[REVISION] !== revision) {
      rc.ownWrite(await patchObject(this.ctx, this.cache.deployments, d, { metadata: { annotations: { [REVISION]: revision } } }));
    }
    const current: Deployment = this.cache.deployments.get(namespace, name) ?? d;
    const { status, deadlineMs } = deploymentStatus(current, r);
    rc.ownWrite(await writeStatus(this.ctx, this.cache.deployments, current, status));
    const waitMs = deadlineMs !== undefined ? Math.min(r.waitMs ?? Infinity, deadlineMs) : r.waitMs;
    return waitMs !== undefined ? { requeueAfter: waitMs } : undefined;
  }

  /** Creates the ReplicaSet of the current template; false when it is neither made nor seen yet. */
  private async createNew(r: Rollout): Promise<boolean> {
    const { d, hash, template, olds, desired } = r;
    const namespace = d.metadata.namespace;
    const total = olds.reduce((n, rs) => n + replicasOf(rs), 0);
    let replicas = r.rolling ? Math.max(0, Math.min(desired, desired + r.maxSurge - total)) : olds.some((rs) => r.podsIn(rs).length > 0 || replicasOf(rs) > 0) ? 0 : desired;
    if (olds.length === 0) replicas = desired;
    const rsName = `${d.metadata.name}-${hash}`;
    const rs: ReplicaSet = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: rsName,
        namespace,
        labels: { ...(d.spec?.template?.metadata?.labels ?? {}), [HASH_LABEL]: hash },
        annotations: r.annotations(r.maxOldRevision + 1),
        ownerReferences: [ownerReference(d)],
      },
      spec: {
        replicas,
        minReadySeconds: r.minReadySeconds,
        selector: { ...d.spec?.selector, matchLabels: { ...(d.spec?.selector?.matchLabels ?? {}), [HASH_LABEL]: hash } },
        template: {
          ...template,
          metadata: { ...(template.metadata ?? {}), labels: { ...(template.metadata?.labels ?? {}), [HASH_LABEL]: hash } },
        },
      },
    };
    r.newRS = (await createObject(this.ctx, this.cache.replicaSets, rs)) ?? this.cache.replicaSets.get(namespace, rsName);
    if (!r.newRS) return false;
    r.podsOf.set(r.newRS.metadata.uid!, []);
    return true;
  }

  /** Scales the new ReplicaSet up within the surge (or straight to the size when it is alone). */
  private async scaleNew(r: Rollout, newRS: ReplicaSet): Promise<void> {
    const { olds, desired } = r;
    const total = r.all.reduce((n, rs) => n + replicasOf(rs), 0);
    let target = replicasOf(newRS);
    if (olds.every((rs) => replicasOf(rs) === 0) && (r.rolling || olds.every((rs) => r.podsIn(rs).length === 0))) target = desired;
    else if (target > desired) target = desired;
    else if (r.rolling && target < desired) target = Math.min(desired, target + Math.max(0, desired + r.maxSurge - total));
    const revision = revisionOf(newRS) > r.maxOldRevision ? revisionOf(newRS) : r.maxOldRevision + 1;
    const wantAnnotations = r.annotations(revision);
    const annotationsDiffer = Object.entries(wantAnnotations).some(([k, v]) => newRS.metadata.annotations?.[k] !== v);
    if (target !== replicasOf(newRS) || annotationsDiffer || (newRS.spec?.minReadySeconds ?? 0) !== r.minReadySeconds) {
      r.newRS = await patchObject(this.ctx, this.cache.replicaSets, newRS, { metadata: { annotations: wantAnnotations }, spec: { replicas: target, minReadySeconds: r.minReadySeconds } });
    }
  }

  /** Scales the old ReplicaSets down: unhealthy pods first, then as far as availability allows. */
  private async scaleDownOld(r: Rollout, newRS: ReplicaSet): Promise<void> {
    const newAvailable = r.availableIn(newRS);
    const newUnavailable = Math.max(0, replicasOf(newRS) - newAvailable);
    const minAvailable = r.desired - r.maxUnavailable;
    let total = r.all.map((rs) => (rs.metadata.uid === newRS.metadata.uid ? newRS : rs)).reduce((n, rs) => n + replicasOf(rs), 0);
    let cleanup = total - minAvailable - newUnavailable;
    let availableTotal = newAvailable + r.olds.reduce((n, rs) => n + r.availableIn(rs), 0);
    for (const rs of r.olds) {
      let target = replicasOf(rs);
      if (target === 0) continue;
      if (!r.rolling) target = 0;
      else {
        const unhealthy = Math.max(0, target - r.availableIn(rs));
        const dropUnhealthy = Math.min(unhealthy, Math.max(0, cleanup));
        target -= dropUnhealthy;
        cleanup -= dropUnhealthy;
        total -= dropUnhealthy;
        const dropAvailable = Math.min(target, Math.max(0, availableTotal - minAvailable));
        target -= dropAvailable;
        availableTotal -= dropAvailable;
        total -= dropAvailable;
      }
      if (target !== replicasOf(rs)) await patchObject(this.ctx, this.cache.replicaSets, rs, { spec: { replicas: target } });
    }
  }

  /** Old ReplicaSets beyond revisionHistoryLimit, scaled to zero, are deleted. */
  private async deleteOldHistory(r: Rollout): Promise<void> {
    const limit = r.d.spec?.revisionHistoryLimit ?? 10;
    const idle = r.olds.filter((rs) => replicasOf(rs) === 0 && r.podsIn(rs).length === 0);
    for (const rs of idle.slice(0, Math.max(0, idle.length - limit))) await deleteObject(this.ctx, this.cache.replicaSets, rs);
  }
}

function sameTemplate(a: unknown, b: unknown): boolean {
  return templateHash(a) === templateHash(b);
}

function deploymentStatus(d: Deployment, r: Rollout): { status: DeploymentStatus; deadlineMs?: number } {
  const { newRS, all, desired, maxUnavailable } = r;
  const everyPod = all.flatMap((rs) => r.podsIn(rs));
  const replicas = everyPod.length;
  const updated = newRS ? r.podsIn(newRS).length : 0;
  const ready = everyPod.filter(isReady).length;
  const available = all.reduce((n, rs) => n + r.availableIn(rs), 0);
  const unavailable = Math.max(0, desired - available);
  const status: DeploymentStatus = {
    observedGeneration: d.metadata.generation,
    replicas,
    updatedReplicas: updated,
    readyReplicas: ready,
    availableReplicas: available,
    unavailableReplicas: unavailable,
  };
  if (d.status?.collisionCount) status.collisionCount = d.status.collisionCount;
  for (const k of ['replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas', 'unavailableReplicas'] as const) if (!status[k]) delete status[k];
  let conditions: Condition[] = d.status?.conditions ?? [];
  conditions = setCondition(
    conditions,
    available >= desired - maxUnavailable
      ? { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' }
      : { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' },
    { withUpdateTime: true },
  );
  const rsName = newRS?.metadata.name ?? '';
  const complete = newRS && updated === desired && replicas === desired && available === desired;
  const old: DeploymentStatus = d.status ?? {};
  // Progress, as the real controller counts it: more updated, ready or available pods, fewer old ones.
  const progressed =
    updated > (old.updatedReplicas ?? 0) ||
    replicas - updated < (old.replicas ?? 0) - (old.updatedReplicas ?? 0) ||
    ready > (old.readyReplicas ?? 0) ||
    available > (old.availableReplicas ?? 0);
  const before = conditions.find((c) => c.type === 'Progressing');
  const progressing = { type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', message: `ReplicaSet "${rsName}" is progressing.` };
  const timedOut = { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: `ReplicaSet "${rsName}" has timed out progressing.` };
  // A rollout that timed out stays so until it progresses or the template changes.
  const timedOutBefore = before?.reason === timedOut.reason && before?.message === timedOut.message;
  const deadlineSeconds = d.spec?.paused ? undefined : d.spec?.progressDeadlineSeconds;
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
    if (progressed) conditions = conditions.map((c) => (c.type === 'Progressing' ? { ...c, lastUpdateTime: nowTime() } : c));
    if (deadlineSeconds !== undefined) deadlineMs = deadlineSeconds * 1000 + 100;
  } else if (deadlineSeconds !== undefined && !timedOutBefore) {
    const since = Date.parse(before?.lastUpdateTime ?? before?.lastTransitionTime ?? '') || Date.now();
    const left = since + deadlineSeconds * 1000 - Date.now();
    if (left <= 0) conditions = setCondition(conditions, timedOut, { withUpdateTime: true });
    else deadlineMs = left + 100;
  }
  // The real controller lists Available before Progressing.
  status.conditions = conditions.sort((a, b) => order(a.type) - order(b.type));
  return { status, deadlineMs };
}

const order = (type: string): number => (type === 'Available' ? 0 : type === 'Progressing' ? 1 : 2);

/**
 * The DaemonSet controller: one pod per node that the pod template may run on (nodeSelector,
 * taints). Like the real one it pins each pod to its node with a required node affinity on
 * `metadata.name` and lets the scheduler bind it. A template change replaces one ready pod at a time.
 * Each template is kept as a ControllerRevision `<name>-<hash>` (see revisions.ts), whose hash the
 * pods carry in their `controller-revision-hash` label.
 */
import {
  CONTROLLERREVISIONS,
  DAEMONSETS,
  NODES,
  PODS,
  Controller,
  generateNameSuffix,
  objectKey,
  type DaemonSet,
  type DaemonSetStatus,
  type KubeObject,
  type Node,
  type Pod,
  type PodTemplateSpec,
  type ReconcileContext,
  type ReconcileKey,
  type ReconcileResult,
  type Reconciler,
  type Toleration,
} from '../../kube/index.ts';
import { tolerates, matchesNodeSelector } from '../nodes/fit.ts';
import { controllerOptions, createObject, deleteObject, informersOf, writeStatus, type ControllerContext } from './context.ts';
import { templateHash } from './hash.ts';
import { availability, isActive, isReady, ownedBy, podFromTemplate } from './pods.ts';
import { REVISION_HASH_LABEL, ensureRevision, truncateHistory } from './revisions.ts';

/** Daemon pods tolerate the node conditions' taints, as the real controller adds to their template. */
const DAEMON_TOLERATIONS: Toleration[] = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
];

function nodeAffinity(nodeName: string) {
  return {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [nodeName] }] }],
      },
    },
  };
}

/** The node a daemon pod is for: its affinity's `metadata.name`, or where it is bound. */
export function daemonPodNode(pod: Pod): string | undefined {
  if (pod.spec?.nodeName) return pod.spec.nodeName;
  const terms = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  for (const t of terms) for (const f of t.matchFields ?? []) if (f.key === 'metadata.name' && f.operator === 'In') return f.values?.[0];
  return undefined;
}

export function daemonSetController(ctx: ControllerContext): Controller {
  const controller = new Controller({ ...controllerOptions(ctx, 'daemonset', 2), primary: DAEMONSETS, owns: [PODS], reconciler: new DaemonSetReconciler(ctx) });
  // A node that comes, goes or changes its labels or taints concerns every set.
  const everySet = () => controller.primary.list().forEach((s) => controller.enqueue(objectKey(s)));
  const placement = (n: KubeObject) => JSON.stringify([n.metadata.labels, n.spec]);
  ctx.informers.for(NODES).addHandlers({ onAdd: everySet, onDelete: everySet, onUpdate: (o, n) => placement(o) !== placement(n) && everySet() });
  return controller;
}

class DaemonSetReconciler implements Reconciler {
  private readonly cache;

  constructor(private readonly ctx: ControllerContext) {
    this.cache = informersOf(ctx, { sets: DAEMONSETS, pods: PODS, nodes: NODES, revisions: CONTROLLERREVISIONS });
  }

  async reconcile({ namespace, name }: ReconcileKey, rc: ReconcileContext): Promise<ReconcileResult | void> {
    const set: DaemonSet | undefined = this.cache.sets.get(namespace, name);
    if (!set || set.metadata.deletionTimestamp) return;
    const template: PodTemplateSpec = set.spec?.template ?? {};
    const collisionCount = set.status?.collisionCount ?? 0;
    const hash = templateHash(template, collisionCount);
    const revision = await ensureRevision(this.ctx, this.cache.revisions, set, hash);
    if (!revision) return { requeueAfter: 200 };
    if ('collision' in revision) {
      rc.ownWrite(await writeStatus(this.ctx, this.cache.sets, set, { ...set.status, collisionCount: collisionCount + 1 }));
      return { requeueAfter: 50 };
    }
    const tolerations = [...(template.spec?.tolerations ?? []), ...DAEMON_TOLERATIONS];
    // The template with the daemon tolerations, as the pod will be, to ask which nodes it fits.
    const probe: KubeObject = { metadata: {}, spec: { ...template.spec, tolerations } };
    const nodes: Node[] = this.cache.nodes.list();
    const eligible = new Set(
      nodes
        .filter((n) => matchesNodeSelector(probe, n) && tolerates(tolerations, n.spec?.taints ?? [], ['NoSchedule', 'NoExecute']) === undefined)
        .map((n) => n.metadata.name!),
    );
    const owned: Pod[] = ownedBy(this.cache.pods, set).filter(isActive);
    await this.placePods(set, hash, tolerations, eligible, owned);
    await this.rollOne(set, hash, eligible, owned);

    const now: Pod[] = ownedBy(this.cache.pods, set).filter(isActive);
    const status = daemonSetStatus(set, hash, collisionCount, eligible, now);
    const live = new Set([hash, ...now.map((p) => p.metadata.labels?.[REVISION_HASH_LABEL] ?? '')].map((h) => `${name}-${h}`));
    await truncateHistory(this.ctx, this.cache.revisions, set, live);
    rc.ownWrite(await writeStatus(this.ctx, this.cache.sets, set, status));
    return (status.numberAvailable ?? 0) < (status.numberReady ?? 0) ? { requeueAfter: 1000 } : undefined;
  }

  /** One pod on each eligible node; pods on nodes gone or no longer eligible, and duplicates, go. */
  private async placePods(set: DaemonSet, hash: string, tolerations: Toleration[], eligible: Set<string>, owned: Pod[]): Promise<void> {
    const name = set.metadata.name!;
    const template: PodTemplateSpec = set.spec?.template ?? {};
    const byNode = new Map<string, Pod[]>();
    for (const p of owned) {
      const node = daemonPodNode(p) ?? '';
      byNode.set(node, [...(byNode.get(node) ?? []), p]);
    }
    const work: Promise<unknown>[] = [];
    for (const node of eligible) {
      if ((byNode.get(node) ?? []).length > 0) continue;
      const pod = podFromTemplate(template, set, `${name}-${generateNameSuffix()}`, {
        generateName: `${name}-`,
        labels: { [REVISION_HASH_LABEL]: hash, 'pod-template-generation': String(set.metadata.generation ?? 1) },
        spec: { affinity: { ...(template.spec?.affinity ?? {}), ...nodeAffinity(node) }, tolerations },
      });
      work.push(createObject(this.ctx, this.cache.pods, pod));
    }
    for (const [node, list] of byNode) {
      const keep = eligible.has(node) ? 1 : 0;
      for (const p of list.slice(keep)) work.push(deleteObject(this.ctx, this.cache.pods, p));
    }
    await Promise.all(work);
  }

  /** Rolling update: one outdated pod at a time, when all the others are ready. */
  private async rollOne(set: DaemonSet, hash: string, eligible: Set<string>, owned: Pod[]): Promise<void> {
    if (set.spec?.updateStrategy?.type === 'OnDelete') return;
    const current = owned.filter((p) => eligible.has(daemonPodNode(p) ?? ''));
    const outdated = current.filter((p) => p.metadata.labels?.[REVISION_HASH_LABEL] !== hash);
    if (outdated.length > 0 && current.every((p) => isReady(p) || outdated.includes(p))) {
      const notReadyOutdated = outdated.find((p) => !isReady(p));
      await deleteObject(this.ctx, this.cache.pods, notReadyOutdated ?? outdated[0]);
    }
  }
}

function daemonSetStatus(set: DaemonSet, hash: string, collisionCount: number, eligible: Set<string>, now: Pod[]): DaemonSetStatus {
  const scheduled = now.filter((p) => p.spec?.nodeName && eligible.has(p.spec.nodeName));
  const available = scheduled.filter((p) => availability(p, set.spec?.minReadySeconds ?? 0).available).length;
  const status: DaemonSetStatus = {
    currentNumberScheduled: scheduled.length,
    numberMisscheduled: now.filter((p) => p.spec?.nodeName && !eligible.has(p.spec.nodeName)).length,
    desiredNumberScheduled: eligible.size,
    numberReady: scheduled.filter(isReady).length,
    observedGeneration: set.metadata.generation,
    updatedNumberScheduled: scheduled.filter((p) => p.metadata.labels?.[REVISION_HASH_LABEL] === hash).length,
    numberAvailable: available,
    numberUnavailable: Math.max(0, eligible.size - available),
  };
  if (collisionCount) status.collisionCount = collisionCount;
  for (const k of ['updatedNumberScheduled', 'numberAvailable', 'numberUnavailable'] as const) if (!status[k]) delete status[k];
  return status;
}

/**
 * The DaemonSet controller: one pod per node that the pod template may run on (nodeSelector,
 * taints). Like the real one it pins each pod to its node with a required node affinity on
 * `metadata.name` and lets the scheduler bind it. A template change replaces one ready pod at a time.
 * Each template is kept as a ControllerRevision `<name>-<hash>` (see revisions.ts), whose hash the
 * pods carry in their `controller-revision-hash` label.
 */
import { generateNameSuffix, keyOf, splitKey, type KubeObject } from '../../kube/index.ts';
import { tolerates, matchesNodeSelector } from '../nodes/fit.ts';
import { OwnWrites, createObject, deleteObject, writeStatus, type ControllerContext } from './context.ts';
import { templateHash } from './hash.ts';
import { ControlLoop } from './loop.ts';
import { availability, controllerRef, isActive, isControlledBy, isReady, podFromTemplate } from './pods.ts';
import { CONTROLLERREVISIONS, DAEMONSETS, NODES, PODS } from './resources.ts';
import { REVISION_HASH_LABEL, ensureRevision, truncateHistory } from './revisions.ts';

/** Daemon pods tolerate the node conditions' taints, as the real controller adds to their template. */
const DAEMON_TOLERATIONS = [
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
export function daemonPodNode(pod: KubeObject): string | undefined {
  if (pod.spec?.nodeName) return pod.spec.nodeName;
  const terms = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  for (const t of terms) for (const f of t.matchFields ?? []) if (f.key === 'metadata.name' && f.operator === 'In') return f.values?.[0];
  return undefined;
}

export function startDaemonSetController(ctx: ControllerContext): ControlLoop {
  const sets = ctx.informers.for(DAEMONSETS);
  const pods = ctx.informers.for(PODS);
  const nodes = ctx.informers.for(NODES);
  const revisions = ctx.informers.for(CONTROLLERREVISIONS);
  const loop = new ControlLoop('daemonset', reconcile, ctx.log, 2);

  const enqueueObj = (s: KubeObject) => loop.enqueue(keyOf(s.metadata.namespace, s.metadata.name!));
  const own = new OwnWrites();
  sets.on({ onAdd: enqueueObj, onUpdate: (_o, s) => own.isOwn(s) || enqueueObj(s), onDelete: (s) => own.forget(s) });
  const podChanged = (pod: KubeObject) => {
    const ref = controllerRef(pod);
    if (ref?.kind === 'DaemonSet') loop.enqueue(keyOf(pod.metadata.namespace, ref.name));
  };
  pods.on({ onAdd: podChanged, onUpdate: (_o, p) => podChanged(p), onDelete: podChanged });
  const everySet = () => sets.list().forEach(enqueueObj);
  nodes.on({ onAdd: everySet, onDelete: everySet, onUpdate: (o, n) => JSON.stringify([o.metadata.labels, o.spec]) !== JSON.stringify([n.metadata.labels, n.spec]) && everySet() });

  async function reconcile(key: string): Promise<{ requeueAfter?: number } | void> {
    const { namespace, name } = splitKey(key);
    const set = sets.get(namespace, name);
    if (!set || set.metadata.deletionTimestamp) return;
    const template = set.spec?.template ?? {};
    const collisionCount: number = set.status?.collisionCount ?? 0;
    const hash = templateHash(template, collisionCount);
    const revision = await ensureRevision(ctx, revisions, set, hash);
    if (!revision) return { requeueAfter: 200 };
    if ('collision' in revision) {
      own.note(await writeStatus(ctx, sets, set, { ...set.status, collisionCount: collisionCount + 1 }));
      return { requeueAfter: 50 };
    }
    const probe = { metadata: {}, spec: { ...template.spec, tolerations: [...(template.spec?.tolerations ?? []), ...DAEMON_TOLERATIONS] } } as KubeObject;
    const eligible = nodes.list().filter((n) => matchesNodeSelector(probe, n) && tolerates(probe.spec.tolerations, n.spec?.taints ?? [], ['NoSchedule', 'NoExecute']) === undefined);
    const eligibleNames = new Set(eligible.map((n) => n.metadata.name!));
    const owned = pods.list(namespace, set.spec?.selector).filter((p) => isControlledBy(p, set) && isActive(p));
    const byNode = new Map<string, KubeObject[]>();
    for (const p of owned) {
      const node = daemonPodNode(p) ?? '';
      byNode.set(node, [...(byNode.get(node) ?? []), p]);
    }
    const work: Promise<unknown>[] = [];
    for (const node of eligibleNames) {
      if ((byNode.get(node) ?? []).length > 0) continue;
      const pod = podFromTemplate(template, set, `${name}-${generateNameSuffix()}`, {
        generateName: `${name}-`,
        labels: { [REVISION_HASH_LABEL]: hash, 'pod-template-generation': String(set.metadata.generation ?? 1) },
        spec: { affinity: { ...(template.spec?.affinity ?? {}), ...nodeAffinity(node) }, tolerations: probe.spec.tolerations },
      });
      work.push(createObject(ctx, pods, pod));
    }
    // Pods on nodes that are gone or no longer eligible, and duplicates on one node.
    for (const [node, list] of byNode) {
      const keep = eligibleNames.has(node) ? 1 : 0;
      for (const p of list.slice(keep)) work.push(deleteObject(ctx, pods, p));
    }
    await Promise.all(work);

    // Rolling update: one outdated pod at a time, when all the others are ready.
    if (set.spec?.updateStrategy?.type !== 'OnDelete') {
      const current = owned.filter((p) => eligibleNames.has(daemonPodNode(p) ?? ''));
      const outdated = current.filter((p) => p.metadata.labels?.[REVISION_HASH_LABEL] !== hash);
      if (outdated.length > 0 && current.every((p) => isReady(p) || outdated.includes(p))) {
        const notReadyOutdated = outdated.find((p) => !isReady(p));
        await deleteObject(ctx, pods, notReadyOutdated ?? outdated[0]);
      }
    }

    const now = pods.list(namespace, set.spec?.selector).filter((p) => isControlledBy(p, set) && isActive(p));
    const scheduled = now.filter((p) => p.spec?.nodeName && eligibleNames.has(p.spec.nodeName));
    const ready = scheduled.filter(isReady).length;
    const available = scheduled.filter((p) => availability(p, set.spec?.minReadySeconds ?? 0).available).length;
    const status: Record<string, unknown> = {
      currentNumberScheduled: scheduled.length,
      numberMisscheduled: now.filter((p) => p.spec?.nodeName && !eligibleNames.has(p.spec.nodeName)).length,
      desiredNumberScheduled: eligibleNames.size,
      numberReady: ready,
      observedGeneration: set.metadata.generation,
      updatedNumberScheduled: scheduled.filter((p) => p.metadata.labels?.[REVISION_HASH_LABEL] === hash).length,
      numberAvailable: available,
      numberUnavailable: Math.max(0, eligibleNames.size - available),
    };
    if (collisionCount) status.collisionCount = collisionCount;
    for (const k of ['updatedNumberScheduled', 'numberAvailable', 'numberUnavailable']) if (!status[k]) delete status[k];
    const live = new Set([hash, ...now.map((p) => p.metadata.labels?.[REVISION_HASH_LABEL] ?? '')].map((h) => `${name}-${h}`));
    await truncateHistory(ctx, revisions, set, live);
    own.note(await writeStatus(ctx, sets, set, status));
    return available < ready ? { requeueAfter: 1000 } : undefined;
  }

  return loop;
}

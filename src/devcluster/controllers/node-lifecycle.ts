/**
 * The node lifecycle controller, as kube-controller-manager's: a node whose Lease in
 * `kube-node-lease` has not been renewed (and whose Ready condition has not been reported) for
 * the grace period (`--node-monitor-grace-period`, 40 s) has its conditions set to Unknown
 * (reason NodeStatusUnknown, "Kubelet stopped posting node status."), gets the
 * `node.kubernetes.io/unreachable` NoSchedule and NoExecute taints, and its pods' Ready condition
 * set to False with a NodeNotReady event. When the kubelet reports Ready again, the taints go; the
 * pods' status is the kubelet's to report again. A Ready node also loses the `not-ready`
 * NoSchedule taint a real server puts on every new node.
 *
 * The time of the last heartbeat is when this controller saw the lease or the Ready heartbeat
 * change, on its own clock, as the real controller's probe timestamp: a node first seen gets a
 * full grace period.
 *
 * Taint-based eviction, the taint manager's part: once the node has the unreachable NoExecute
 * taint, each of its pods is deleted (reason TaintManagerEviction) when its toleration of that
 * taint runs out — `tolerationSeconds` after the taint's `timeAdded` (300 s for the tolerations
 * the server adds by default) — at once when nothing tolerates it, never when a toleration has no
 * `tolerationSeconds`. The kubelet being away, the pods stay Terminating until it comes back.
 */
import { LEASES, NODES, PODS, BY_NODE, Controller, type Condition, type KubeObject, type Lease, type Node, type Pod, type ReconcileKey, type ReconcileResult, type Reconciler, type Taint, type Toleration } from '../../kube/index.ts';
import { controllerOptions, deleteObject, informersOf, type ControllerContext } from './context.ts';
import { nowTime } from './pods.ts';

export const UNREACHABLE_TAINT = 'node.kubernetes.io/unreachable';
/** Put on every new node by a real server's TaintNodesByCondition admission; gone once the node is Ready. */
export const NOT_READY_TAINT = 'node.kubernetes.io/not-ready';
export const NODE_STATUS_UNKNOWN_MESSAGE = 'Kubelet stopped posting node status.';
const LEASE_NAMESPACE = 'kube-node-lease';
const DEFAULT_GRACE_MS = 40_000;

export interface NodeLifecycleOptions {
  /** How long a node may go without a heartbeat before it is marked Unknown; default 40 s. */
  gracePeriodMs?: number;
}

interface Probe {
  /** The lease's renewTime and the Ready condition's lastHeartbeatTime last seen. */
  seen: string;
  /** When they last changed, on this controller's clock. */
  at: number;
}

function readyOf(node: Node): Condition | undefined {
  return (node.status?.conditions ?? []).find((c) => c.type === 'Ready');
}

export function nodeLifecycleController(ctx: ControllerContext, o: NodeLifecycleOptions = {}): Controller {
  const controller = new Controller({ ...controllerOptions(ctx, 'node-lifecycle', 2), primary: NODES, reconciler: new NodeLifecycleReconciler(ctx, o) });
  // A node's lease is its heartbeat.
  const byLease = (l: KubeObject) => {
    if (l.metadata.namespace === LEASE_NAMESPACE) controller.enqueue(l.metadata.name!);
  };
  ctx.informers.for(LEASES).addHandlers({ onAdd: byLease, onUpdate: (_o, l) => byLease(l), onDelete: byLease });
  return controller;
}

class NodeLifecycleReconciler implements Reconciler {
  private readonly cache;
  private readonly probes = new Map<string, Probe>();
  private readonly graceMs: number;

  constructor(
    private readonly ctx: ControllerContext,
    o: NodeLifecycleOptions = {},
  ) {
    this.graceMs = o.gracePeriodMs ?? DEFAULT_GRACE_MS;
    this.cache = informersOf(ctx, { nodes: NODES, leases: LEASES, pods: PODS });
  }

  async reconcile({ name }: ReconcileKey): Promise<ReconcileResult | void> {
    const node: Node | undefined = this.cache.nodes.get(undefined, name);
    if (!node) {
      this.probes.delete(name);
      return;
    }
    const lease: Lease | undefined = this.cache.leases.get(LEASE_NAMESPACE, name);
    const ready = readyOf(node);
    const seen = `${lease?.spec?.renewTime ?? ''}|${ready?.lastHeartbeatTime ?? ''}`;
    const now = Date.now();
    let probe = this.probes.get(name);
    if (!probe || probe.seen !== seen) this.probes.set(name, (probe = { seen, at: now }));
    const left = probe.at + this.graceMs - now;
    if (left > 0) {
      if (ready?.status === 'True') await this.removeTaints(node);
      // Looked at again when the grace period would run out, unless a heartbeat comes first.
      return { requeueAfter: left + 50 };
    }
    await this.markUnknown(node);
    await this.addTaints(node);
    await this.markPodsNotReady(name);
    const next = await this.evict(name);
    return next !== undefined ? { requeueAfter: Math.max(50, next - Date.now() + 50) } : undefined;
  }

  private podsOn(nodeName: string): Pod[] {
    return this.cache.pods.index('node', BY_NODE).list(nodeName);
  }

  /** Deletes the node's pods whose toleration of the NoExecute unreachable taint has run out; resolves to the next such time. */
  private async evict(nodeName: string): Promise<number | undefined> {
    const node: Node | undefined = this.cache.nodes.get(undefined, nodeName);
    const taint = (node?.spec?.taints ?? []).find((t) => t.key === UNREACHABLE_TAINT && t.effect === 'NoExecute');
    if (!taint) return undefined;
    const since = Date.parse(taint.timeAdded ?? '') || Date.now();
    const now = Date.now();
    let next: number | undefined;
    for (const pod of this.podsOn(nodeName)) {
      if (pod.metadata.deletionTimestamp) continue;
      const at = evictionTime(pod, taint, since);
      if (at === undefined) continue;
      if (at > now) {
        next = Math.min(next ?? Infinity, at);
        continue;
      }
      this.ctx.events.record(pod, 'Normal', 'TaintManagerEviction', `Marking for deletion Pod ${pod.metadata.namespace}/${pod.metadata.name}`);
      await deleteObject(this.ctx, this.cache.pods, pod);
    }
    return next;
  }

  private async markUnknown(node: Node): Promise<void> {
    const conditions = node.status?.conditions ?? [];
    if (conditions.length > 0 && conditions.every((c) => c.status === 'Unknown')) return;
    const now = nowTime();
    const types = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'];
    const next = types.map((type) => {
      const c = conditions.find((x) => x.type === type);
      if (c?.status === 'Unknown') return c;
      return { type, status: 'Unknown', lastHeartbeatTime: c?.lastHeartbeatTime ?? now, lastTransitionTime: now, reason: 'NodeStatusUnknown', message: NODE_STATUS_UNKNOWN_MESSAGE };
    });
    const others = conditions.filter((c) => !types.includes(c.type));
    const updated = await this.ctx.client.patch({ ...NODES, name: node.metadata.name! }, { status: { conditions: [...others, ...next] } }, { type: 'merge', subresource: 'status' });
    this.cache.nodes.wrote(updated);
    this.ctx.events.record(node, 'Normal', 'NodeNotReady', `Node ${node.metadata.name} status is now: NodeNotReady`);
  }

  private async addTaints(node: Node): Promise<void> {
    const current: Node = this.cache.nodes.get(undefined, node.metadata.name!) ?? node;
    const taints = current.spec?.taints ?? [];
    const has = (effect: string) => taints.some((t) => t.key === UNREACHABLE_TAINT && t.effect === effect);
    if (has('NoSchedule') && has('NoExecute')) return;
    const next = [...taints];
    if (!has('NoSchedule')) next.push({ key: UNREACHABLE_TAINT, effect: 'NoSchedule' });
    if (!has('NoExecute')) next.push({ key: UNREACHABLE_TAINT, effect: 'NoExecute', timeAdded: new Date().toISOString().replace(/\.\d+Z$/, 'Z') });
    await this.writeTaints(current, next);
  }

  private async removeTaints(node: Node): Promise<void> {
    const taints = node.spec?.taints ?? [];
    const gone = (t: Taint) => t.key === UNREACHABLE_TAINT || t.key === NOT_READY_TAINT;
    if (!taints.some(gone)) return;
    await this.writeTaints(node, taints.filter((t) => !gone(t)));
  }

  /** Replaces the taints at the version read: a conflict retries with the newer node. */
  private async writeTaints(node: Node, taints: Taint[]): Promise<void> {
    const patch = [
      { op: 'test', path: '/metadata/resourceVersion', value: node.metadata.resourceVersion },
      node.spec?.taints ? { op: 'replace', path: '/spec/taints', value: taints } : { op: 'add', path: '/spec/taints', value: taints },
    ];
    const updated = await this.ctx.client.patch({ ...NODES, name: node.metadata.name! }, patch, { type: 'json' });
    this.cache.nodes.wrote(updated);
  }

  /** The pods of the node: Ready False, as the real controller's MarkPodsNotReady. */
  private async markPodsNotReady(nodeName: string): Promise<void> {
    for (const pod of this.podsOn(nodeName)) {
      if (pod.metadata.deletionTimestamp) continue;
      const conditions = pod.status?.conditions ?? [];
      const i = conditions.findIndex((c) => c.type === 'Ready');
      if (i < 0 || conditions[i].status === 'False') continue;
      const next = conditions.map((c, j) => (j === i ? { ...c, status: 'False', lastTransitionTime: nowTime() } : c));
      const updated = await this.ctx.client.patch(
        { ...PODS, namespace: pod.metadata.namespace, name: pod.metadata.name! },
        { metadata: { resourceVersion: pod.metadata.resourceVersion }, status: { conditions: next } },
        { type: 'merge', subresource: 'status' },
      );
      this.cache.pods.wrote(updated);
      this.ctx.events.record(pod, 'Warning', 'NodeNotReady', 'Node is not ready');
    }
  }
}

/**
 * When a pod on a node tainted `taint` (NoExecute, added at `since`) is to be evicted: at once
 * when no toleration matches, at the shortest matching `tolerationSeconds`, or never (undefined)
 * when a matching toleration has none.
 */
export function evictionTime(pod: { spec?: { tolerations?: Toleration[] } }, taint: { key: string; value?: string; effect: string }, since: number): number | undefined {
  const matching = (pod.spec?.tolerations ?? []).filter((t) => {
    if (t.effect && t.effect !== taint.effect) return false;
    if (t.operator === 'Exists') return !t.key || t.key === taint.key;
    return t.key === taint.key && (t.value ?? '') === (taint.value ?? '');
  });
  if (matching.length === 0) return since;
  if (matching.some((t) => t.tolerationSeconds === undefined || t.tolerationSeconds === null)) return undefined;
  return since + Math.max(0, Math.min(...matching.map((t) => Number(t.tolerationSeconds)))) * 1000;
}

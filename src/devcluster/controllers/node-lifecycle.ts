/**
 * The node lifecycle controller, as kube-controller-manager's: a node whose Lease in
 * `kube-node-lease` has not been renewed (and whose Ready condition has not been reported) for
 * the grace period (`--node-monitor-grace-period`, 40 s) has its conditions set to Unknown
 * (reason NodeStatusUnknown, "Kubelet stopped posting node status."), gets the
 * `node.kubernetes.io/unreachable` NoSchedule and NoExecute taints, and its pods' Ready condition
 * set to False with a NodeNotReady event. When the kubelet reports Ready again, the taints go; the
 * pods' status is the kubelet's to report again.
 *
 * The time of the last heartbeat is when this controller saw the lease or the Ready heartbeat
 * change, on its own clock, as the real controller's probe timestamp: a node first seen gets a
 * full grace period. Taint-based eviction (deleting pods after their tolerationSeconds) is not
 * done.
 */
import type { KubeObject } from '../../kube/index.ts';
import type { ControllerContext } from './context.ts';
import type { Informer } from './informers.ts';
import { ControlLoop } from './loop.ts';
import { nowTime } from './pods.ts';
import { LEASES, NODES, PODS } from './resources.ts';

export const UNREACHABLE_TAINT = 'node.kubernetes.io/unreachable';
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

function readyOf(node: KubeObject): any {
  return ((node.status?.conditions ?? []) as any[]).find((c) => c.type === 'Ready');
}

export class NodeLifecycleController {
  readonly loop: ControlLoop;
  private readonly nodes: Informer;
  private readonly leases: Informer;
  private readonly pods: Informer;
  private readonly probes = new Map<string, Probe>();
  private readonly graceMs: number;

  constructor(
    private readonly ctx: ControllerContext,
    o: NodeLifecycleOptions = {},
  ) {
    this.graceMs = o.gracePeriodMs ?? DEFAULT_GRACE_MS;
    this.nodes = ctx.informers.for(NODES);
    this.leases = ctx.informers.for(LEASES);
    this.pods = ctx.informers.for(PODS);
    this.loop = new ControlLoop('node-lifecycle', (key) => this.reconcile(key), ctx.log, 2);
    const byNode = (n: KubeObject) => this.loop.enqueue(n.metadata.name!);
    this.nodes.on({ onAdd: byNode, onUpdate: (_o, n) => byNode(n), onDelete: byNode });
    const byLease = (l: KubeObject) => {
      if (l.metadata.namespace === LEASE_NAMESPACE) this.loop.enqueue(l.metadata.name!);
    };
    this.leases.on({ onAdd: byLease, onUpdate: (_o, l) => byLease(l), onDelete: byLease });
  }

  private async reconcile(name: string): Promise<{ requeueAfter?: number } | void> {
    const node = this.nodes.get(undefined, name);
    if (!node) {
      this.probes.delete(name);
      return;
    }
    const lease = this.leases.get(LEASE_NAMESPACE, name);
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
  }

  private async markUnknown(node: KubeObject): Promise<void> {
    const conditions = (node.status?.conditions ?? []) as any[];
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
    this.nodes.wrote(updated);
    this.ctx.events.record(node, 'Normal', 'NodeNotReady', `Node ${node.metadata.name} status is now: NodeNotReady`);
  }

  private async addTaints(node: KubeObject): Promise<void> {
    const current = this.nodes.get(undefined, node.metadata.name!) ?? node;
    const taints = (current.spec?.taints ?? []) as any[];
    const has = (effect: string) => taints.some((t) => t.key === UNREACHABLE_TAINT && t.effect === effect);
    if (has('NoSchedule') && has('NoExecute')) return;
    const next = [...taints];
    if (!has('NoSchedule')) next.push({ key: UNREACHABLE_TAINT, effect: 'NoSchedule' });
    if (!has('NoExecute')) next.push({ key: UNREACHABLE_TAINT, effect: 'NoExecute', timeAdded: new Date().toISOString().replace(/\.\d+Z$/, 'Z') });
    await this.writeTaints(current, next);
  }

  private async removeTaints(node: KubeObject): Promise<void> {
    const taints = (node.spec?.taints ?? []) as any[];
    if (!taints.some((t) => t.key === UNREACHABLE_TAINT)) return;
    await this.writeTaints(node, taints.filter((t) => t.key !== UNREACHABLE_TAINT));
  }

  /** Replaces the taints at the version read: a conflict retries with the newer node. */
  private async writeTaints(node: KubeObject, taints: any[]): Promise<void> {
    const patch = [
      { op: 'test', path: '/metadata/resourceVersion', value: node.metadata.resourceVersion },
      node.spec?.taints ? { op: 'replace', path: '/spec/taints', value: taints } : { op: 'add', path: '/spec/taints', value: taints },
    ];
    const updated = await this.ctx.client.patch({ ...NODES, name: node.metadata.name! }, patch, { type: 'json' });
    this.nodes.wrote(updated);
  }

  /** The pods of the node: Ready False, as the real controller's MarkPodsNotReady. */
  private async markPodsNotReady(nodeName: string): Promise<void> {
    for (const pod of this.pods.list()) {
      if (pod.spec?.nodeName !== nodeName || pod.metadata.deletionTimestamp) continue;
      const conditions = (pod.status?.conditions ?? []) as any[];
      const i = conditions.findIndex((c) => c.type === 'Ready');
      if (i < 0 || conditions[i].status === 'False') continue;
      const next = conditions.map((c, j) => (j === i ? { ...c, status: 'False', lastTransitionTime: nowTime() } : c));
      const updated = await this.ctx.client.patch(
        { ...PODS, namespace: pod.metadata.namespace, name: pod.metadata.name! },
        { metadata: { resourceVersion: pod.metadata.resourceVersion }, status: { conditions: next } },
        { type: 'merge', subresource: 'status' },
      );
      this.pods.wrote(updated);
      this.ctx.events.record(pod, 'Warning', 'NodeNotReady', 'Node is not ready');
    }
  }
}

export function startNodeLifecycleController(ctx: ControllerContext, o: NodeLifecycleOptions = {}): ControlLoop {
  return new NodeLifecycleController(ctx, o).loop;
}

/**
 * The scheduler (schedulerName `default-scheduler`): binds each pending pod to the Ready node that
 * fits it best (least allocated), by POSTing the pod's `binding` subresource as real schedulers do
 * (a real server refuses an update of `spec.nodeName`). What is already on a node is counted from
 * the pod cache plus the pods this scheduler has just bound and the cache has not shown yet
 * ("assumed" pods), so two pods never take the same room.
 * A pod that fits nowhere gets PodScheduled=False (Unschedulable) and a FailedScheduling Event,
 * and is tried again after a back-off or when a node or a pod changes.
 */
import { objectKey, resourcePath, splitKey, type KubeObject } from '../../kube/index.ts';
import type { ControllerContext } from '../controllers/context.ts';
import { ControlLoop } from '../controllers/loop.ts';
import { setCondition } from '../controllers/pods.ts';
import { NODES, PODS } from '../controllers/resources.ts';
import { allocatable, podRequests, unfitReasons, unschedulableMessage, ZERO, type Resources } from './fit.ts';

export const SCHEDULER_NAME = 'default-scheduler';

function wantsScheduling(pod: KubeObject): boolean {
  const phase = pod.status?.phase;
  return (
    !pod.spec?.nodeName &&
    (pod.spec?.schedulerName ?? SCHEDULER_NAME) === SCHEDULER_NAME &&
    !pod.metadata.deletionTimestamp &&
    phase !== 'Succeeded' &&
    phase !== 'Failed' &&
    !(pod.spec?.schedulingGates ?? []).length
  );
}

/** Pods that hold room on their node: bound and not finished. */
function holdsRoom(pod: KubeObject): boolean {
  return Boolean(pod.spec?.nodeName) && pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed';
}

export class Scheduler {
  readonly loop: ControlLoop;
  /** Pod key → where it is counted and what it takes. */
  private readonly placed = new Map<string, { node: string; res: Resources }>();
  private readonly used = new Map<string, Resources>();
  private readonly unschedulable = new Map<string, number>();
  private readonly pods;
  private readonly nodes;

  constructor(private readonly ctx: ControllerContext) {
    this.pods = ctx.informers.for(PODS);
    this.nodes = ctx.informers.for(NODES);
    this.loop = new ControlLoop('scheduler', (key) => this.schedule(key), ctx.log, 8);
    this.pods.on({
      onAdd: (p) => this.podSeen(p),
      onUpdate: (_o, p) => this.podSeen(p),
      onDelete: (p) => {
        this.unplace(objectKey(p));
        this.unschedulable.delete(objectKey(p));
        this.retryUnschedulable();
      },
    });
    this.nodes.on({ onAdd: () => this.retryUnschedulable(), onUpdate: (o, n) => this.nodeChanged(o, n) });
  }

  private nodeChanged(old: KubeObject, node: KubeObject): void {
    // Heartbeats change nothing that matters to fitting; a label, taint or readiness change does.
    const view = (n: KubeObject) => JSON.stringify([n.metadata.labels, n.spec, n.status?.allocatable, (n.status?.conditions ?? []).map((c: any) => c.status)]);
    if (view(old) !== view(node)) this.retryUnschedulable();
  }

  private podSeen(pod: KubeObject): void {
    const key = objectKey(pod);
    if (holdsRoom(pod)) this.place(key, pod.spec.nodeName, podRequests(pod));
    else if (pod.spec?.nodeName) {
      this.unplace(key);
      // Finished pods free their room. An unbound pod keeps the room it was assumed to take: the
      // cache may not show its binding yet.
      this.retryUnschedulable();
    }
    if (wantsScheduling(pod) && !this.unschedulable.has(key)) this.loop.enqueue(key);
  }

  private place(key: string, node: string, res: Resources): void {
    const current = this.placed.get(key);
    if (current?.node === node) return;
    if (current) this.unplace(key);
    this.placed.set(key, { node, res });
    this.used.set(node, add(this.used.get(node) ?? ZERO, res, 1));
  }

  private unplace(key: string): void {
    const current = this.placed.get(key);
    if (!current) return;
    this.placed.delete(key);
    this.used.set(current.node, add(this.used.get(current.node) ?? ZERO, current.res, -1));
  }

  private retryUnschedulable(): void {
    for (const key of this.unschedulable.keys()) this.loop.enqueue(key);
  }

  private async schedule(key: string): Promise<{ requeueAfter?: number } | void> {
    const { namespace, name } = splitKey(key);
    const pod = this.pods.get(namespace, name);
    if (!pod || !wantsScheduling(pod) || this.placed.has(key)) {
      this.unschedulable.delete(key);
      return;
    }
    const nodes = this.nodes.list();
    const want = podRequests(pod);
    let best: { node: KubeObject; score: number } | undefined;
    const reasons: string[][] = [];
    for (const node of nodes) {
      const used = this.used.get(node.metadata.name!) ?? ZERO;
      const why = unfitReasons(pod, node, used);
      if (why.length > 0) {
        reasons.push(why);
        continue;
      }
      const cap = allocatable(node);
      const free = (x: number, u: number, w: number) => (x > 0 ? (x - u - w) / x : 0);
      // Least allocated, with the pod count as a tiebreaker so that best-effort pods spread too.
      const score = free(cap.cpuMilli, used.cpuMilli, want.cpuMilli) + free(cap.memory, used.memory, want.memory) + free(cap.pods, used.pods, 1);
      if (!best || score > best.score) best = { node, score };
    }
    if (!best) return this.failed(pod, key, unschedulableMessage(nodes.length, reasons));

    // Assume before the write: the next decision, in this same tick or not, counts this pod.
    const nodeName = best.node.metadata.name!;
    this.place(key, nodeName, want);
    this.unschedulable.delete(key);
    try {
      await this.ctx.client.request('POST', resourcePath({ ...PODS, namespace, name }, 'binding'), {
        body: { apiVersion: 'v1', kind: 'Binding', metadata: { name, namespace }, target: { apiVersion: 'v1', kind: 'Node', name: nodeName } },
      });
    } catch (err) {
      this.unplace(key);
      throw err;
    }
    this.ctx.events.record(pod, 'Normal', 'Scheduled', `Successfully assigned ${namespace}/${name} to ${nodeName}`);
  }

  private async failed(pod: KubeObject, key: string, message: string): Promise<{ requeueAfter: number }> {
    const attempts = (this.unschedulable.get(key) ?? 0) + 1;
    this.unschedulable.set(key, attempts);
    this.ctx.events.record(pod, 'Warning', 'FailedScheduling', message);
    const conditions = setCondition(pod.status?.conditions, { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message });
    const before = (pod.status?.conditions ?? []).find((c: any) => c.type === 'PodScheduled');
    if (!before || before.status !== 'False' || before.message !== message) {
      const updated = await this.ctx.client.patch({ ...PODS, namespace: pod.metadata.namespace, name: pod.metadata.name! }, { status: { conditions } }, { type: 'merge', subresource: 'status' });
      this.pods.wrote(updated);
    }
    // The real scheduler backs off from 1 s to 10 s; cluster changes retry sooner.
    return { requeueAfter: Math.min(10_000, 1000 * 2 ** Math.min(attempts - 1, 4)) };
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }
}

function add(a: Resources, b: Resources, sign: 1 | -1): Resources {
  return { cpuMilli: a.cpuMilli + sign * b.cpuMilli, memory: a.memory + sign * b.memory, pods: a.pods + sign * b.pods };
}


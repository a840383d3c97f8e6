/**
 * The scheduler (schedulerName `default-scheduler`): binds each pending pod to the Ready node that
 * fits it best (least allocated), by POSTing the pod's `binding` subresource as real schedulers do
 * (a real server refuses an update of `spec.nodeName`). What is already on a node is counted from
 * the pod cache plus the pods this scheduler has just bound and the cache has not shown yet
 * ("assumed" pods), so two pods never take the same room.
 *
 * A pod that fits nowhere gets PodScheduled=False (Unschedulable) and a FailedScheduling Event,
 * and waits, as in kube-scheduler's scheduling queue, among the unschedulable pods until a change
 * that can make room: a node added or changed, a bound pod deleted or finished. Such a change moves
 * every waiting pod back, each after its own backoff (1 s doubling to 10 s per failed attempt), so
 * a burst of changes tries each pod at most once per backoff, never once per change. Deleting
 * pods that are not bound frees nothing and moves nothing. Waiting pods are also tried again every
 * 5 minutes without a change (podMaxInUnschedulablePodsDuration).
 */
import { NODES, PODS, Controller, keyOf, objectKey, resourcePath, type Informer, type Node, type Pod, type ReconcileKey, type ReconcileResult } from '../../kube/index.ts';
import { controllerOptions, type ControllerContext } from '../controllers/context.ts';
import { setCondition } from '../controllers/pods.ts';
import { allocatable, podRequests, unfitReasons, unschedulableMessage, ZERO, type Resources } from './fit.ts';

export const SCHEDULER_NAME = 'default-scheduler';

function wantsScheduling(pod: Pod): boolean {
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
function holdsRoom(pod: Pod): pod is Pod & { spec: { nodeName: string } } {
  return Boolean(pod.spec?.nodeName) && pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed';
}

/** kube-scheduler's podInitialBackoffDuration and podMaxBackoffDuration. */
export const INITIAL_BACKOFF_MS = 1000;
export const MAX_BACKOFF_MS = 10_000;
/** How long an unschedulable pod waits for a change before it is tried anyway. */
export const UNSCHEDULABLE_FLUSH_MS = 5 * 60_000;

export class Scheduler {
  /** Fed by the pod and node events below, each pod after its own backoff. */
  readonly controller: Controller;
  /** Pod key → where it is counted and what it takes. */
  private readonly placed = new Map<string, { node: string; res: Resources }>();
  private readonly used = new Map<string, Resources>();
  /** Pods that failed to fit: their failed attempts and when the last one ended. */
  private readonly backoff = new Map<string, { attempts: number; failedAt: number }>();
  /** Failed pods waiting for a cluster change (kube-scheduler's unschedulable pods). */
  private readonly parked = new Set<string>();
  private readonly pods: Informer;
  private readonly nodes: Informer;

  constructor(private readonly ctx: ControllerContext) {
    this.pods = ctx.informers.for(PODS);
    this.nodes = ctx.informers.for(NODES);
    this.controller = new Controller({ ...controllerOptions(ctx, 'scheduler', 8), reconciler: { reconcile: (key) => this.schedule(key) } });
    this.pods.addHandlers({
      onAdd: (p) => this.podSeen(p),
      onUpdate: (_o, p) => this.podSeen(p),
      onDelete: (p) => {
        const key = objectKey(p);
        const heldRoom = this.placed.has(key);
        this.unplace(key);
        this.forget(key);
        if (heldRoom) this.clusterChanged();
      },
    });
    this.nodes.addHandlers({ onAdd: () => this.clusterChanged(), onUpdate: (o, n) => this.nodeChanged(o, n) });
  }

  /** Pods waiting now for a change (for tests and metrics). */
  get unschedulableCount(): number {
    return this.parked.size;
  }

  private nodeChanged(old: Node, node: Node): void {
    // Heartbeats change nothing that matters to fitting; a label, taint or readiness change does.
    const view = (n: Node) => JSON.stringify([n.metadata.labels, n.spec, n.status?.allocatable, (n.status?.conditions ?? []).map((c) => c.status)]);
    if (view(old) !== view(node)) this.clusterChanged();
  }

  private podSeen(pod: Pod): void {
    const key = objectKey(pod);
    if (holdsRoom(pod)) this.place(key, pod.spec.nodeName, podRequests(pod));
    else if (pod.spec?.nodeName) {
      const heldRoom = this.placed.has(key);
      this.unplace(key);
      // Finished pods free their room. An unbound pod keeps the room it was assumed to take: the
      // cache may not show its binding yet.
      if (heldRoom) this.clusterChanged();
    }
    if (!wantsScheduling(pod)) {
      this.forget(key);
      return;
    }
    // A waiting pod's own updates (the status written when it failed) do not make room.
    if (this.parked.has(key)) return;
    this.controller.enqueueAfter(key, this.backoffLeft(key));
  }

  /** A pod that is bound or gone leaves the queues' bookkeeping. */
  private forget(key: string): void {
    this.parked.delete(key);
    this.backoff.delete(key);
  }

  /** How long `key` must still wait after its last failure (0 if it never failed). */
  private backoffLeft(key: string): number {
    const b = this.backoff.get(key);
    if (!b) return 0;
    const delay = Math.min(MAX_BACKOFF_MS, INITIAL_BACKOFF_MS * 2 ** Math.min(b.attempts - 1, 16));
    return Math.max(0, b.failedAt + delay - Date.now());
  }

  /** Something that can make room happened: every waiting pod is tried again after its backoff. */
  private clusterChanged(): void {
    for (const key of this.parked) this.controller.enqueueAfter(key, this.backoffLeft(key));
    this.parked.clear();
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

  private async schedule({ namespace, name }: ReconcileKey): Promise<ReconcileResult | void> {
    const key = keyOf(namespace, name);
    const pod = this.pods.get(namespace, name);
    if (!pod || !wantsScheduling(pod) || this.placed.has(key)) {
      this.forget(key);
      return;
    }
    const nodes = this.nodes.list();
    const want = podRequests(pod);
    let best: { node: Node; score: number } | undefined;
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
    this.forget(key);
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

  private async failed(pod: Pod, key: string, message: string): Promise<{ requeueAfter: number }> {
    const attempts = (this.backoff.get(key)?.attempts ?? 0) + 1;
    this.ctx.events.record(pod, 'Warning', 'FailedScheduling', message);
    const conditions = setCondition(pod.status?.conditions, { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message });
    const before = (pod.status?.conditions ?? []).find((c) => c.type === 'PodScheduled');
    // Parked before the write (no await since the nodes were read), so that a change from now on
    // moves it, and its own status update does not queue it again.
    this.backoff.set(key, { attempts, failedAt: Date.now() });
    this.parked.add(key);
    if (!before || before.status !== 'False' || before.message !== message) {
      const updated = await this.ctx.client.patch({ ...PODS, namespace: pod.metadata.namespace, name: pod.metadata.name! }, { status: { conditions } }, { type: 'merge', subresource: 'status' });
      this.pods.wrote(updated);
    }
    return { requeueAfter: UNSCHEDULABLE_FLUSH_MS };
  }

  start(): Promise<void> {
    return this.controller.start();
  }

  stop(): Promise<void> {
    return this.controller.stop();
  }
}

function add(a: Resources, b: Resources, sign: 1 | -1): Resources {
  return { cpuMilli: a.cpuMilli + sign * b.cpuMilli, memory: a.memory + sign * b.memory, pods: a.pods + sign * b.pods };
}


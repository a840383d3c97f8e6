/**
 * A simulated kubelet: registers its Node, renews its Lease in `kube-node-lease` every 10 s (or
 * `leaseRenewMs`), reports its status again when the node was marked other than Ready, and
 * runs the pods bound to it (from the shared pod cache, indexed by node) through the state machine of
 * pod-lifecycle.ts, writing their status, recording the Events a kubelet records, and finishing
 * their graceful deletion with a delete of grace 0 once their containers have stopped.
 *
 * Faults: `setUnresponsive` stops everything the kubelet sends (lease, node and pod status) and
 * makes its endpoints hang or refuse connections, as a kubelet cut off from the network; when it
 * comes back it reports the node Ready and every pod's status again.
 */
import {
  CONFIGMAPS,
  LEASES,
  NODES,
  PODS,
  SECRETS,
  BY_NODE,
  Controller,
  EventRecorder,
  isConflict,
  isNotFound,
  keyOf,
  microTime,
  objectKey,
  type ConfigMap,
  type Index,
  type Informer,
  type Lease,
  type Node,
  type Pod,
  type ReconcileKey,
  type ReconcileResult,
  type Secret,
} from '../../kube/index.ts';
import { canonicalJson } from '../../kube/index.ts';
import { controllerOptions, type ControllerContext } from '../controllers/context.ts';
import { nowTime } from '../controllers/pods.ts';
import { internalIP, nodeObject, nodeStatus, type NodeShape } from './node-object.ts';
import { syncPod, type PodRun, type SyncResult } from './pod-lifecycle.ts';
import { missingPodConfig } from './pod-config.ts';
// Node resources (usage, cgroup files, kubelet endpoints, metrics.k8s.io): wiring.
import { NodeResources, type NodeResourcesOptions } from './node-resources.ts';
import type { OomKill } from './usage-model.ts';

const LEASE_NAMESPACE = 'kube-node-lease';
const LEASE_DURATION_SECONDS = 40;
const LEASE_RENEW_MS = 10_000;
/** How often the node's conditions get a new lastHeartbeatTime when nothing else changes. */
const STATUS_REPORT_MS = 60_000;

export class Kubelet {
  readonly name: string;
  /** The shared pod cache, and its index by node: the kubelets of a process share one watch. */
  private readonly pods: Informer;
  private readonly podsByNode: Index;
  private readonly controller: Controller;
  private readonly runs = new Map<string, PodRun>();
  /** The status last written per pod: a server that normalizes it differently must not cause rewrites. */
  private readonly written = new Map<string, string>();
  private readonly events: EventRecorder;
  private readonly freeIPs: number[] = [];
  private nextIP = 2;
  private heartbeat: NodeJS.Timeout | undefined;
  private lastStatusAt = 0;
  private readySince = nowTime();
  private stopped = false;
  /** Node resources: set when the kubelet is given resource options. */
  resources: NodeResources | undefined;
  private fault: false | 'hang' | 'refuse' = false;

  constructor(
    private readonly ctx: ControllerContext,
    private readonly shape: NodeShape,
    private readonly resourceOptions?: Omit<NodeResourcesOptions, 'nodeName' | 'pods' | 'onOomKill'>,
    private readonly leaseRenewMs = LEASE_RENEW_MS,
  ) {
    this.name = shape.name;
    this.events = new EventRecorder(ctx.client, { component: 'kubelet', host: shape.name }, ctx.log);
    this.pods = ctx.informers.for(PODS);
    this.podsByNode = this.pods.index('node', BY_NODE);
    this.controller = new Controller({
      ...controllerOptions(ctx, `kubelet/${shape.name}`, 2),
      logger: ctx.log.child({ node: shape.name }),
      reconciler: { reconcile: (key) => this.sync(key) },
    });
    // Each kubelet hears of its own pods only (of both nodes, should a pod's nodeName change).
    this.podsByNode.subscribe(shape.name, (key) => this.controller.enqueue(key));
  }

  /** Registers the node and starts the heartbeats; the pods start with the shared informers. */
  async register(): Promise<void> {
    // Node resources: the endpoints start first, so the node's status publishes their port.
    if (this.resourceOptions && !this.resources) {
      this.resources = new NodeResources({
        ...this.resourceOptions,
        nodeName: this.name,
        address: internalIP(this.shape.index),
        pods: () => this.listPods(),
        nodeLabels: () => nodeObject(this.shape).metadata.labels ?? {},
        onOomKill: (k) => this.containerExited(k, 137, 'OOMKilled'),
      });
      await this.resources.start();
    }
    const node = nodeObject(this.shape);
    let current: Node;
    try {
      current = await this.ctx.client.get({ ...NODES, name: this.name });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      current = await this.ctx.client.create(NODES, node);
    }
    await this.reportStatus(current);
    await this.renewLease();
    this.heartbeat = setInterval(() => void this.beat(), this.leaseRenewMs);
    this.heartbeat.unref();
  }

  start(): Promise<void> {
    return this.controller.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.heartbeat);
    await this.resources?.stop();
    this.events.close();
    await this.controller.stop();
  }

  /**
   * Node faults: the kubelet stops renewing its lease and reporting node and pod status (the node
   * goes NotReady once the lease expires), and its endpoints stop answering; `false` resumes.
   */
  async setUnresponsive(on: boolean, endpoints: 'hang' | 'refuse' = 'refuse'): Promise<void> {
    const was = this.fault;
    this.fault = on ? endpoints : false;
    await this.resources?.setKubeletFault(on ? endpoints : undefined);
    if (on || !was) return;
    // Back: every pod's status is reported again, whatever was written before.
    this.written.clear();
    for (const p of this.listPods()) this.controller.enqueue(objectKey(p));
    await this.beat();
  }

  /** The fault in effect: false, or how the endpoints fail. */
  get unresponsive(): false | 'hang' | 'refuse' {
    return this.fault;
  }

  /** A pod this kubelet runs, as its cache has it. */
  pod(namespace: string, name: string): Pod | undefined {
    const pod: Pod | undefined = this.pods.get(namespace, name);
    return pod?.spec?.nodeName === this.name ? pod : undefined;
  }

  /** The pods bound to this node. */
  listPods(): Pod[] {
    return this.podsByNode.list(this.name);
  }

  /** Where the kubelet's endpoints listen and the certificate to trust, once started. */
  endpoint(): { host: string; port: number; caCert: string } | undefined {
    const s = this.resources?.server;
    return s && { host: s.address, port: s.port, caCert: s.caCert };
  }

  /** A container exits (a crash, or an OOM kill): reported as terminated, restarted after a back-off. */
  crashContainer(namespace: string, pod: string, container: string, exitCode = 1, reason = 'Error'): boolean {
    const p = this.pod(namespace, pod);
    if (!p) return false;
    return this.containerExited({ namespace, pod, uid: p.metadata.uid!, container }, exitCode, reason);
  }

  private containerExited(k: Pick<OomKill, 'namespace' | 'pod' | 'uid' | 'container'>, exitCode: number, reason: string): boolean {
    const key = keyOf(k.namespace, k.pod);
    const run = this.runs.get(key);
    const c = run?.uid === k.uid ? run.containers.find((x) => x.name === k.container) : undefined;
    if (!c || c.terminated) return false;
    const now = Date.now();
    c.terminated = { exitCode, reason, startedAt: c.startedAt, finishedAt: now, containerID: c.containerID };
    c.restartCount++;
    c.restartAt = now + 1000;
    this.controller.enqueue(key);
    return true;
  }

  private async beat(): Promise<void> {
    if (this.stopped || this.fault) return;
    try {
      await this.renewLease();
      const node = await this.ctx.client.get<Node>({ ...NODES, name: this.name });
      const ready = (node.status?.conditions ?? []).find((c) => c.type === 'Ready');
      if (ready?.status !== 'True') {
        // Marked NotReady or Unknown while away: Ready again from now.
        this.readySince = nowTime();
        await this.reportStatus(node);
      } else if (Date.now() - this.lastStatusAt >= STATUS_REPORT_MS) {
        await this.reportStatus(node);
      }
    } catch (err) {
      this.ctx.log.debug({ err, node: this.name }, 'node heartbeat failed');
    }
  }

  private async reportStatus(node: Node): Promise<void> {
    const status = nodeStatus(this.shape, nowTime(), this.readySince);
    // Node resources: the kubelet's real endpoint.
    const endpoint = this.resources?.nodeStatusFields();
    if (endpoint) Object.assign(status, endpoint);
    for (let attempt = 0; ; attempt++) {
      try {
        await this.ctx.client.update({ ...NODES, name: this.name }, { ...node, status }, { subresource: 'status' });
        this.lastStatusAt = Date.now();
        return;
      } catch (err) {
        if (!isConflict(err) || attempt >= 3) throw err;
        node = await this.ctx.client.get({ ...NODES, name: this.name });
      }
    }
  }

  private async renewLease(): Promise<void> {
    const ref = { ...LEASES, namespace: LEASE_NAMESPACE, name: this.name };
    const spec = { holderIdentity: this.name, leaseDurationSeconds: LEASE_DURATION_SECONDS, renewTime: microTime() };
    try {
      const lease = await this.ctx.client.get<Lease>(ref);
      await this.ctx.client.update(ref, { ...lease, spec: { ...lease.spec, ...spec } });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      const node = await this.ctx.client.get({ ...NODES, name: this.name });
      await this.ctx.client.create(
        { ...LEASES, namespace: LEASE_NAMESPACE },
        {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.name, namespace: LEASE_NAMESPACE, ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: this.name, uid: node.metadata.uid! }] },
          spec,
        },
      );
    }
  }

  private async readConfig(kind: 'Secret' | 'ConfigMap', namespace: string, name: string): Promise<Secret | ConfigMap | undefined> {
    try {
      return await this.ctx.client.get<Secret | ConfigMap>({ ...(kind === 'Secret' ? SECRETS : CONFIGMAPS), namespace, name });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  private allocateIP(): string {
    const n = this.freeIPs.pop() ?? this.nextIP++;
    // A /24 per node holds 253 pods; a node configured for more spills into the next /16.
    return n < 255 ? `10.244.${this.shape.index}.${n}` : `10.${244 + Math.floor(n / 255)}.${this.shape.index}.${n % 255}`;
  }

  private releaseIP(ip: string): void {
    const parts = ip.split('.').map(Number);
    if (parts.length !== 4) return;
    const n = parts[1] === 244 ? parts[3] : (parts[1] - 244) * 255 + parts[3];
    if (n >= 2) this.freeIPs.push(n);
  }

  /**
   * One pod's sync: a pod gone or replaced (a new uid under the same name) is forgotten; a new pod
   * waits for its Secrets and ConfigMaps; then the pod's state machine runs, and what it decided is
   * recorded, written and acted on.
   */
  private async sync(ref: ReconcileKey): Promise<ReconcileResult | void> {
    const { namespace, name } = ref;
    // Cut off: nothing is reported; every pod is synced again when the kubelet comes back.
    if (this.fault) return;
    const key = keyOf(namespace, name);
    const pod = this.pod(namespace!, name);
    const previous = this.runs.get(key);
    if (!pod || (previous && previous.uid !== pod.metadata.uid)) this.forgetRun(key);
    if (!pod) return;
    const started = this.runs.get(key);
    // Before its containers start, a pod's Secrets and ConfigMaps must be there.
    const configErrors = !started && !pod.metadata.deletionTimestamp ? await missingPodConfig(pod, (kind, ns, n) => this.readConfig(kind, ns, n)) : [];
    const result = syncPod(pod, started, Date.now(), { hostIP: internalIP(this.shape.index), allocateIP: () => this.allocateIP(), configErrors });
    if (!result.notStarted) this.runs.set(key, result.run);
    for (const e of result.events) this.events.record(pod, e.type, e.reason, e.message, e.fieldPath);
    await this.writeStatus(ref, pod, result);
    if (result.finishDeletion) return this.finishDeletion(ref, pod);
    return result.nextAt !== undefined ? { requeueAfter: Math.max(10, result.nextAt - Date.now()) } : undefined;
  }

  /** What the kubelet remembers of a pod that is gone or replaced goes, its IP back to the pool. */
  private forgetRun(key: string): void {
    const run = this.runs.get(key);
    if (run?.podIP && run.podIP !== internalIP(this.shape.index)) this.releaseIP(run.podIP);
    this.runs.delete(key);
    this.written.delete(key);
  }

  /** Writes the pod's status when it differs from what the server has and from what was last written. */
  private async writeStatus({ namespace, name }: ReconcileKey, pod: Pod, result: SyncResult): Promise<void> {
    const key = keyOf(namespace, name);
    const statusText = canonicalJson(result.status);
    if (canonicalJson(pod.status ?? {}) === statusText || this.written.get(key) === statusText) return;
    try {
      this.written.set(key, statusText);
      const updated = await this.ctx.client.patch({ ...PODS, namespace, name }, { status: result.status }, { type: 'merge', subresource: 'status' });
      this.pods.wrote(updated);
    } catch (err) {
      this.written.delete(key);
      if (!isNotFound(err)) throw err;
    }
  }

  /** The containers have stopped: the deletion finishes with a grace of 0, for this pod (its uid) only. */
  private async finishDeletion({ namespace, name }: ReconcileKey, pod: Pod): Promise<void> {
    try {
      await this.ctx.client.delete({ ...PODS, namespace, name }, { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata.uid } });
    } catch (err) {
      if (!isNotFound(err) && !isConflict(err)) throw err;
    }
  }
}

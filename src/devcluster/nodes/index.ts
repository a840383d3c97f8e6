/**
 * Simulated nodes and the scheduler, and with them (optionally) the controllers: everything that
 * turns an API server into a cluster in which workloads run, as API clients through a kubeconfig.
 * `startWorkloads` is what the devcluster starts in-process and what `kre devcluster nodes` runs
 * against any API server.
 */
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { EventRecorder, InformerCache, type Controller, type KubeClient } from '../../kube/index.ts';
import { createControllers } from '../controllers/index.ts';
import { Kubelet } from './kubelet.ts';
import { NodeFaults } from './faults.ts';
import { nodeName } from './node-object.ts';
import { Scheduler } from './scheduler.ts';
import { parseQuantity } from '../../kube/index.ts';
import { CgroupRoots, type NodeResourcesOptions } from './node-resources.ts';
import { nodeLifecycleController } from '../controllers/node-lifecycle.ts';

export { nodeName } from './node-object.ts';
export { Kubelet } from './kubelet.ts';
export { Scheduler, SCHEDULER_NAME } from './scheduler.ts';
export { NodeFaults, type NodeFault, type SimulatedNode } from './faults.ts';
export * from './pod-lifecycle.ts';

export interface WorkloadOptions {
  client: KubeClient;
  log: Logger;
  /** Simulated nodes `kre-node-1`…; 0 for none. */
  nodes: number;
  /** Pods per node (the kubelet's maxPods); default 110. */
  maxPods?: number;
  cpu?: string;
  memory?: string;
  /** Run the scheduler (default: when there are nodes). */
  scheduler?: boolean;
  /** Run the workload controllers and the node lifecycle controller (default true). */
  controllers?: boolean;
  /**
   * Run the node lifecycle controller even without the workload controllers (default: with
   * them): its nodes' not-ready taint goes once they are Ready, and unreachable ones are marked,
   * on a server whose controller manager runs no node lifecycle controller.
   */
  nodeLifecycle?: boolean;
  /**
   * How long a node's lease may go unrenewed before the node lifecycle controller marks it
   * Unknown (default 40 s); the kubelets renew every quarter of it, at most every 10 s.
   */
  nodeGracePeriodMs?: number;
  /**
   * Node resources (usage model, cgroup files, kubelet HTTPS endpoints with `token`,
   * metrics.k8s.io reports); none without it. The cgroup files go to `<cgroupRoot>/<node>/cgroup`
   * when `cgroupRoot` is given, else to tmpfs (`/dev/shm/kre-<random>/<node>/cgroup`, removed on
   * stop) when /dev/shm is writable, else to `<stateDir>/nodes/<node>/cgroup`.
   */
  resources?: Partial<Omit<NodeResourcesOptions, 'nodeName' | 'pods' | 'onOomKill' | 'cgroupRoot'>> & { stateDir?: string; cgroupRoot?: string };
  /** Where the controllers, the scheduler and the kubelets count their reconciles; a new one when unset. */
  registry?: Registry;
}

export interface Workloads {
  kubelets: Kubelet[];
  /** Faults of the simulated nodes. */
  nodes: NodeFaults;
  /** The reconcile metrics (`kre_controller_*`, by controller and outcome). */
  registry: Registry;
  stop(): Promise<void>;
}

export async function startWorkloads(opts: WorkloadOptions): Promise<Workloads> {
  const informers = new InformerCache(opts.client, opts.log);
  const registry = opts.registry ?? new Registry();
  const controllers: Controller[] = [];
  const recorders: EventRecorder[] = [];
  if (opts.controllers !== false) {
    const { ctx, controllers: workloadControllers } = createControllers(opts.client, informers, opts.log, registry);
    controllers.push(...workloadControllers);
    controllers.push(nodeLifecycleController(ctx, { gracePeriodMs: opts.nodeGracePeriodMs }));
    recorders.push(ctx.events);
  }
  const ctx = { client: opts.client, informers, log: opts.log, registry, events: new EventRecorder(opts.client, { component: 'default-scheduler' }, opts.log) };
  recorders.push(ctx.events);
  if (opts.controllers === false && opts.nodeLifecycle) {
    const lifecycleCtx = { ...ctx, events: new EventRecorder(opts.client, { component: 'node-controller' }, opts.log) };
    recorders.push(lifecycleCtx.events);
    controllers.push(nodeLifecycleController(lifecycleCtx, { gracePeriodMs: opts.nodeGracePeriodMs }));
  }
  if (opts.scheduler ?? opts.nodes > 0) controllers.push(new Scheduler(ctx).controller);
  const roots = new CgroupRoots({ explicit: opts.resources?.cgroupRoot, stateDir: opts.resources?.stateDir });
  const leaseRenewMs = Math.min(10_000, Math.max(100, Math.floor((opts.nodeGracePeriodMs ?? 40_000) / 4)));
  const kubelets = Array.from({ length: opts.nodes }, (_, i) =>
    new Kubelet(
      ctx,
      { name: nodeName(i + 1), index: i + 1, cpu: opts.cpu ?? '8', memory: opts.memory ?? '32Gi', maxPods: opts.maxPods ?? 110 },
      // Node resources: wiring.
      opts.resources && {
        ...opts.resources,
        cpus: opts.resources.cpus ?? (parseQuantity(opts.cpu ?? '8') || 8),
        memoryBytes: opts.resources.memoryBytes ?? parseQuantity(opts.memory ?? '32Gi'),
        cgroupRoot: roots.rootFor(nodeName(i + 1)),
      },
      leaseRenewMs,
    ),
  );
  const stop = new AbortController();
  const started = (async () => {
    await Promise.all(kubelets.map((k) => k.register()));
    await informers.start(stop.signal);
    await Promise.all([...controllers.map((c) => c.start()), ...kubelets.map((k) => k.start())]);
  })();
  try {
    await started;
  } catch (err) {
    stop.abort();
    await Promise.all(kubelets.map((k) => k.stop()));
    await informers.stop();
    roots.remove();
    throw err;
  }
  return {
    kubelets,
    nodes: new NodeFaults(kubelets),
    registry,
    async stop() {
      stop.abort();
      for (const r of recorders) r.close();
      await Promise.all([...kubelets.map((k) => k.stop()), ...controllers.map((c) => c.stop())]);
      await informers.stop();
      roots.remove();
    },
  };
}

/**
 * The devcluster's controller manager: the workload controllers (Deployment, ReplicaSet,
 * StatefulSet, DaemonSet, Job) and Endpoints/EndpointSlices, reconcilers on the kube core's
 * controller toolkit over one shared cache. They serve any API server a kubeconfig names, the
 * devcluster's own or a real one.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { EventRecorder, type Controller, type InformerCache, type KubeClient } from '../../kube/index.ts';
import type { ControllerContext } from './context.ts';
import { daemonSetController } from './daemonset.ts';
import { deploymentController } from './deployment.ts';
import { endpointsController } from './endpoints.ts';
import { jobController } from './job.ts';
import { replicaSetController } from './replicaset.ts';
import { statefulSetController } from './statefulset.ts';

export type { ControllerContext } from './context.ts';

/**
 * Registers the controllers on `informers` (shared with the scheduler and kubelets when they run
 * in the same process). Whoever starts the cache starts the controllers: each waits for its
 * caches to sync before its first reconcile.
 */
export function createControllers(client: KubeClient, informers: InformerCache, log: Logger, registry?: Registry): { ctx: ControllerContext; controllers: Controller[] } {
  const ctx: ControllerContext = { client, informers, log, registry, events: new EventRecorder(client, { component: 'controller-manager' }, log) };
  const controllers = [
    deploymentController(ctx),
    replicaSetController(ctx),
    statefulSetController(ctx),
    daemonSetController(ctx),
    jobController(ctx),
    endpointsController(ctx),
  ];
  return { ctx, controllers };
}

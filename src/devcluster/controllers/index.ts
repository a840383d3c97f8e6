/**
 * The devcluster's controller manager: the workload controllers (Deployment, ReplicaSet,
 * StatefulSet, DaemonSet, Job) and Endpoints/EndpointSlices, as API clients over shared caches.
 * They serve any API server a kubeconfig names, the devcluster's own or a real one.
 */
import type { Logger } from 'pino';
import type { KubeClient } from '../../kube/index.ts';
import type { ControllerContext } from './context.ts';
import { startDaemonSetController } from './daemonset.ts';
import { startDeploymentController } from './deployment.ts';
import { startEndpointsController } from './endpoints.ts';
import { EventRecorder } from '../../kube/index.ts';
import { Informers } from './informers.ts';
import { startJobController } from './job.ts';
import type { ControlLoop } from './loop.ts';
import { startReplicaSetController } from './replicaset.ts';
import { startStatefulSetController } from './statefulset.ts';

export { Informers } from './informers.ts';
export type { ControllerContext } from './context.ts';

export interface ControllerManager {
  stop(): Promise<void>;
}

/**
 * Registers the controllers on `informers` (shared with the scheduler and kubelets when they run
 * in the same process). Their loops start once the caches have synced: `start()` on the returned
 * loops is called by whoever starts the informers.
 */
export function createControllers(client: KubeClient, informers: Informers, log: Logger): { ctx: ControllerContext; loops: ControlLoop[] } {
  const ctx: ControllerContext = { client, informers, log, events: new EventRecorder(client, { component: 'controller-manager' }, log) };
  const loops = [
    startDeploymentController(ctx),
    startReplicaSetController(ctx),
    startStatefulSetController(ctx),
    startDaemonSetController(ctx),
    startJobController(ctx),
    startEndpointsController(ctx),
  ];
  return { ctx, loops };
}

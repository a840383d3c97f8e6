/**
 * Kubernetes Events for what the operator did and what failed, so that `kubectl describe runtime`
 * tells the story. The kube core's recorder: repeats counted on one Event, a storm rate-limited,
 * writes waiting bounded; recording never fails a reconcile.
 */
import type { Logger } from 'pino';
import { EventRecorder as KubeEventRecorder, type KubeClient } from '../kube/index.ts';

export const COMPONENT = 'kre-operator';

export type { EventType } from '../kube/index.ts';

export class EventRecorder extends KubeEventRecorder {
  constructor(client: KubeClient, log: Logger, host = process.env.HOSTNAME ?? 'local') {
    super(client, { component: COMPONENT, host }, log);
  }
}


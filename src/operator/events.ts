/**
 * Kubernetes Events for what the operator did and what failed, so that `kubectl describe runtime`
 * tells the story. Recording an event never fails a reconcile: a lost event is logged instead.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { KubeClient, KubeObject } from '../kube/index.ts';
import { nowRFC3339 } from './conditions.ts';

const EVENTS = { group: '', version: 'v1', plural: 'events', kind: 'Event', namespaced: true } as const;
export const COMPONENT = 'kre-operator';

export type EventType = 'Normal' | 'Warning';

export class EventRecorder {
  constructor(
    private readonly client: KubeClient,
    private readonly log: Logger,
    private readonly host = process.env.HOSTNAME ?? 'local',
  ) {}

  async record(about: KubeObject, type: EventType, reason: string, message: string): Promise<void> {
    const now = nowRFC3339();
    const namespace = about.metadata.namespace ?? 'default';
    const event: KubeObject = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: eventName(about.metadata.name ?? ''), namespace },
      involvedObject: {
        apiVersion: about.apiVersion,
        kind: about.kind,
        name: about.metadata.name,
        namespace,
        uid: about.metadata.uid,
        resourceVersion: about.metadata.resourceVersion,
      },
      type,
      reason,
      message: message.slice(0, 1024),
      source: { component: COMPONENT, host: this.host },
      reportingComponent: COMPONENT,
      reportingInstance: this.host,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    try {
      await this.client.create({ ...EVENTS, namespace }, event);
    } catch (err) {
      this.log.warn({ err, reason }, 'could not record an event');
    }
  }
}

/** Longest name of an object (a DNS subdomain). */
const MAX_NAME = 253;

/** `<object>.<time><random>`, as client-go names events, with the object's name cut to fit in a name. */
export function eventName(object: string): string {
  const suffix = `.${Date.now().toString(16)}${randomBytes(3).toString('hex')}`;
  return `${object.slice(0, MAX_NAME - suffix.length).replace(/[-.]+$/, '')}${suffix}`;
}

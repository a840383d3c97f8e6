/**
 * Events as the real components record them (core/v1 Events, which `kubectl describe` lists): the
 * same reason and message again for the same object increments `count` instead of adding an Event.
 * Recording never blocks the caller and never fails it: an Event is a hint, not state.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { type KubeClient, type KubeObject } from '../../kube/index.ts';
import { EVENTS } from './resources.ts';

export interface EventSource {
  component: string;
  host?: string;
}

/** At most this many Event writes in flight; the rest wait (a burst of pods must not flood the server). */
const MAX_IN_FLIGHT = 16;

export class EventRecorder {
  private readonly seen = new Map<string, { name: string; count: number; first: string }>();
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];
  private closed = false;

  constructor(
    private readonly client: KubeClient,
    private readonly source: EventSource,
    private readonly log: Logger,
  ) {}

  record(obj: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string, fieldPath?: string): void {
    if (this.closed) return;
    void this.write(obj, type, reason, message, fieldPath).catch((err) => this.log.debug({ err, reason }, 'event not recorded'));
  }

  close(): void {
    this.closed = true;
  }

  private async write(obj: KubeObject, type: string, reason: string, message: string, fieldPath?: string): Promise<void> {
    const namespace = obj.metadata.namespace ?? 'default';
    const key = `${obj.metadata.uid}|${fieldPath ?? ''}|${reason}|${message}`;
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    await this.slot();
    try {
      const previous = this.seen.get(key);
      if (previous) {
        previous.count++;
        await this.client.patch({ ...EVENTS, namespace, name: previous.name }, { count: previous.count, lastTimestamp: now }, { type: 'merge' });
        return;
      }
      const name = `${obj.metadata.name}.${randomBytes(8).toString('hex')}`;
      if (this.seen.size > 50_000) this.seen.clear();
      this.seen.set(key, { name, count: 1, first: now });
      await this.client.create(
        { ...EVENTS, namespace },
        {
          apiVersion: 'v1',
          kind: 'Event',
          metadata: { name, namespace },
          involvedObject: {
            apiVersion: obj.apiVersion ?? 'v1',
            kind: obj.kind ?? 'Pod',
            name: obj.metadata.name,
            namespace: obj.metadata.namespace,
            uid: obj.metadata.uid,
            resourceVersion: obj.metadata.resourceVersion,
            ...(fieldPath ? { fieldPath } : {}),
          },
          reason,
          message,
          source: this.source,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
          type,
          eventTime: null,
          reportingComponent: this.source.component,
          reportingInstance: this.source.host ?? '',
        },
      );
    } finally {
      this.release();
    }
  }

  private slot(): Promise<void> {
    if (this.inFlight < MAX_IN_FLIGHT) {
      this.inFlight++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(() => (this.inFlight++, resolve())));
  }

  private release(): void {
    this.inFlight--;
    this.waiting.shift()?.();
  }
}

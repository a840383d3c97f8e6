/**
 * Stream delay: how late the stream tells us what happened.
 *
 * - From the objects themselves (the seed's measure): an ADDED event against the object's
 *   `creationTimestamp`, a DELETED one against `deletionTimestamp` minus the grace period (the
 *   server sets deletionTimestamp to the moment the grace period ends, so without the subtraction
 *   a pod's 30 s of grace would read as 30 s of delay). Timestamps have one-second resolution, so
 *   this measure is coarse.
 * - From a canary: the monitor writes a ConfigMap in its own namespace every few seconds with the
 *   write time (milliseconds) in an annotation, and measures when the MODIFIED event arrives.
 */
import type { Logger } from 'pino';
import { CONFIGMAPS, isAlreadyExists, isNotFound, NAMESPACES, type KubeClient, type KubeObject } from '../kube/index.ts';
import { tracked, type RecordApiCall } from './kube-calls.ts';
import { Stream } from './stream.ts';

export const CANARY_NAME = 'kre-monitor-canary';
export const CANARY_ANNOTATION = 'kre.konstellation.io/canary-written-at';

/** Seconds between the event's cause and its receipt, or undefined when the object cannot tell. */
export function streamDelaySeconds(type: string, obj: KubeObject, receivedAt: number): number | undefined {
  let at: number;
  if (type === 'ADDED') {
    at = Date.parse(obj.metadata.creationTimestamp ?? '');
  } else if (type === 'DELETED') {
    at = Date.parse(obj.metadata.deletionTimestamp ?? '') - (obj.metadata.deletionGracePeriodSeconds ?? 0) * 1000;
  } else {
    return undefined;
  }
  if (!Number.isFinite(at)) return undefined;
  // Clocks of the server and the monitor differ a little; a negative delay is noise, not news.
  return Math.max(0, (receivedAt - at) / 1000);
}


export interface CanaryOptions {
  client: KubeClient;
  namespace: string;
  everyMs: number;
  record: RecordApiCall;
  logger?: Logger;
  /** Called with the delay of each canary write's MODIFIED event, in ms. */
  observe(delayMs: number): void;
}

export class Canary {
  private timer: NodeJS.Timeout | undefined;
  private stream: Stream | undefined;
  private readonly measured = new Set<string>();
  private stopped = false;

  constructor(private readonly o: CanaryOptions) {}

  async start(): Promise<void> {
    await this.ensure();
    this.stream = new Stream({
      client: this.o.client,
      resource: CONFIGMAPS,
      id: 'configmaps',
      namespace: this.o.namespace,
      fieldSelector: `metadata.name=${CANARY_NAME}`,
      pageSize: 10,
      record: this.o.record,
      logger: this.o.logger,
      quietWatchMs: Math.max(30_000, this.o.everyMs * 5),
      listed: async () => {},
      bookmark: async () => {},
      event: async (type, obj, receivedAt) => {
        const written = obj.metadata.annotations?.[CANARY_ANNOTATION];
        if (type !== 'MODIFIED' || !written || this.measured.has(written)) return;
        this.measured.add(written);
        if (this.measured.size > 100) this.measured.delete(this.measured.values().next().value!);
        const at = Date.parse(written);
        if (Number.isFinite(at)) this.o.observe(Math.max(0, receivedAt - at));
      },
    }).start();
    await this.stream.ready;
    const tick = () => {
      if (this.stopped) return;
      void this.write().finally(() => {
        if (!this.stopped) this.timer = setTimeout(tick, this.o.everyMs);
      });
    };
    this.timer = setTimeout(tick, this.o.everyMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.stream?.stop();
  }

  /** The namespace and the ConfigMap, created if missing. */
  private async ensure(): Promise<void> {
    const { client, namespace, record } = this.o;
    try {
      await tracked(record, 'create', 'namespaces', () => client.create(NAMESPACES, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } }));
    } catch (err) {
      if (!isAlreadyExists(err) && !(err as { code?: number }).code) throw err;
      // 403 (no right to create namespaces) is fine when the namespace exists; the next call tells.
    }
    try {
      await tracked(record, 'get', 'configmaps', () => client.get({ ...CONFIGMAPS, namespace, name: CANARY_NAME }));
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await tracked(record, 'create', 'configmaps', () =>
        client.create({ ...CONFIGMAPS, namespace }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: CANARY_NAME, namespace } }),
      ).catch((e) => {
        if (!isAlreadyExists(e)) throw e;
      });
    }
  }

  private async write(): Promise<void> {
    const { client, namespace, record } = this.o;
    try {
      await tracked(record, 'patch', 'configmaps', () =>
        client.patch({ ...CONFIGMAPS, namespace, name: CANARY_NAME }, { metadata: { annotations: { [CANARY_ANNOTATION]: new Date().toISOString() } } }),
      );
    } catch (err) {
      this.o.logger?.warn({ err: (err as Error).message }, 'canary write failed');
      if (isNotFound(err)) await this.ensure().catch(() => undefined);
    }
  }
}

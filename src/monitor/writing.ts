/**
 * What the writing replica runs: per resource a Stream and a Verifier feeding the store, and the
 * canary. One term of writing is `start` then `stop`; a replica may write for many terms.
 */
import type { Logger } from 'pino';
import type { KubeClient } from '../kube/index.ts';
import type { MonitorConfig } from './config.ts';
import { Canary, streamDelaySeconds } from './delay.ts';
import type { MonitorMetrics } from './metrics.ts';
import { resourceId, type MonitoredResource } from './resources.ts';
import type { MonitorStore } from './store.ts';
import { Stream } from './stream.ts';
import { Verifier } from './verify.ts';

export interface ResourceWatch {
  resource: MonitoredResource;
  id: string;
  stream: Stream;
  verifier: Verifier;
}

export interface ResourceWritingOptions {
  client: KubeClient;
  config: MonitorConfig;
  resources: MonitoredResource[];
  store: MonitorStore;
  metrics: MonitorMetrics;
  /** Shared with the metrics and the Monitor, which read it; filled while writing, empty otherwise. */
  watches: Map<string, ResourceWatch>;
  record(verb: string, resource: string, code: string): void;
  logger?: Logger;
}

export class ResourceWriting {
  // The writer measures stream delay with its canary; one per term, since a stopped canary stays stopped.
  private canary: Canary | undefined;

  constructor(private readonly o: ResourceWritingOptions) {}

  /** Streams and verifiers for every resource, started; resolves when all listed and verified once. */
  async start(signal?: AbortSignal): Promise<void> {
    const { client, config, store, metrics, watches, record, logger } = this.o;
    for (const resource of this.o.resources) {
      const id = resourceId(resource);
      const target = { client, resource, id, pageSize: config.pageSize, record, logger };
      const stream = new Stream({
        ...target,
        listed: (items, rv, at) => store.streamListed(id, items, rv, at),
        bookmark: (rv, at) => store.streamProgress(id, rv, at),
        event: async (type, obj, at) => {
          const delay = streamDelaySeconds(type, obj, at);
          if (delay !== undefined) metrics.streamDelay.observe({ resource: id, event: type }, delay);
          const rv = obj.metadata.resourceVersion ?? '';
          await store.streamEvent(id, { type: type === 'DELETED' ? 'delete' : 'upsert', object: obj, resourceVersion: rv, receivedAt: at });
        },
      });
      const verifier = new Verifier({ ...target, store, everyMs: resource.verifyEveryMs });
      watches.set(id, { resource, id, stream, verifier });
    }
    for (const w of watches.values()) w.stream.start();
    await untilAborted(Promise.all([...watches.values()].flatMap((w) => [w.stream.ready, w.verifier.start()])), signal);
    if (signal?.aborted) return;
    this.canary =
      config.canaryIntervalSeconds > 0
        ? new Canary({ client, namespace: config.namespace, everyMs: config.canaryIntervalSeconds * 1000, record, logger, observe: (ms) => metrics.canaryDelay.observe(ms) })
        : undefined;
    // The canary is a measure, not a condition of serving: a monitor without write rights still serves.
    await this.canary?.start().catch((err: Error) => logger?.warn({ err: err.message, namespace: config.namespace }, 'canary not started'));
  }

  async stop(): Promise<void> {
    await this.canary?.stop();
    this.canary = undefined;
    await Promise.all([...this.o.watches.values()].flatMap((w) => [w.stream.stop(), w.verifier.stop()]));
    this.o.watches.clear();
  }

  /** Every resource listed, and verified at least once. */
  synced(): boolean {
    const { watches } = this.o;
    return watches.size > 0 && [...watches.values()].every((w) => w.stream.synced && w.verifier.stats.verifications > 0);
  }
}

/** Waits for `p`, or until `signal` aborts. */
async function untilAborted(p: Promise<unknown>, signal?: AbortSignal): Promise<void> {
  if (!signal) {
    await p;
    return;
  }
  if (signal.aborted) return;
  await new Promise<void>((resolve, reject) => {
    signal.addEventListener('abort', () => resolve(), { once: true });
    p.then(() => resolve(), reject);
  });
}

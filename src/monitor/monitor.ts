/**
 * A running monitor: per resource a Stream and a Verifier feeding the store, the canary, the
 * metrics and the HTTP API. `startMonitor` is what `kre monitor` and the tests call.
 */
import { readFileSync } from 'node:fs';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { KubeClient, loadKubeConfig } from '../kube/index.ts';
import { configuredResources, type MonitorConfig } from './config.ts';
import { Canary, streamDelaySeconds } from './delay.ts';
import { MonitorHttp } from './http.ts';
import { MemoryStore } from './memory-store.ts';
import { MonitorMetrics } from './metrics.ts';
import { resolveResources, resourceId, type MonitoredResource } from './resources.ts';
import type { Corrections, MonitorStore } from './store.ts';
import { Stream } from './stream.ts';
import { selfSignedCertificate } from './tls.ts';
import { Verifier } from './verify.ts';

export interface StartMonitorOptions {
  config: MonitorConfig;
  token: string;
  /** The cluster; from `config.kubeconfig` and the usual chain when unset. */
  kubeConfig?: KubeConfig;
  store?: MonitorStore;
  logger?: Logger;
}

export interface ResourceWatch {
  resource: MonitoredResource;
  id: string;
  stream: Stream;
  verifier: Verifier;
}

export interface Monitor {
  url: string;
  store: MonitorStore;
  metrics: MonitorMetrics;
  watches: Map<string, ResourceWatch>;
  ready(): boolean;
  /** Runs a verification of one resource (by plural, or plural.group) now. */
  verifyNow(resource: string): Promise<Corrections | undefined>;
  stop(): Promise<void>;
}

export async function startMonitor(o: StartMonitorOptions): Promise<Monitor> {
  const { config, logger } = o;
  const kc = o.kubeConfig ?? loadKubeConfig({ kubeconfig: config.kubeconfig }).kc;
  const client = new KubeClient(kc, { userAgent: 'kre-monitor' });
  const store = o.store ?? new MemoryStore();
  const watches = new Map<string, ResourceWatch>();
  const metrics = new MonitorMetrics(async () =>
    Promise.all([...watches.values()].map(async (w) => ({ resource: w.id, stream: w.stream.stats, verifier: w.verifier.stats, objects: await store.sizes(w.id) }))),
  );
  const record = (verb: string, resource: string, code: string) => metrics.apiRequests.inc({ verb, resource, code });

  const { extra, verifyEveryMs } = configuredResources(config);
  const resources = await resolveResources(client, extra, verifyEveryMs, config.defaultResources);
  for (const resource of resources) {
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

  const canary =
    config.canaryIntervalSeconds > 0
      ? new Canary({ client, namespace: config.namespace, everyMs: config.canaryIntervalSeconds * 1000, record, logger, observe: (ms) => metrics.canaryDelay.observe(ms) })
      : undefined;

  let started = false;
  // Ready once serving, every stream has listed and every resource has been verified once.
  const isReady = () => started && [...watches.values()].every((w) => w.stream.synced && w.verifier.stats.verifications > 0);
  const tls = !config.tls
    ? undefined
    : 'selfSigned' in config.tls
      ? await selfSignedCertificate()
      : { cert: readFileSync(config.tls.certFile, 'utf8'), key: readFileSync(config.tls.keyFile, 'utf8') };
  const http = new MonitorHttp({ store, resources, token: o.token, metrics, ready: isReady, logger, tls });
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(config.listen)!;
  const url = await http.listen(m[1] ?? (m[2] || '127.0.0.1'), Number(m[3]));

  for (const w of watches.values()) w.stream.start();
  const synced = Promise.all([...watches.values()].flatMap((w) => [w.stream.ready, w.verifier.start()]));
  await synced;
  // The canary is a measure, not a condition of serving: a monitor without write rights still serves.
  await canary?.start().catch((err: Error) => logger?.warn({ err: err.message, namespace: config.namespace }, 'canary not started'));
  started = true;

  return {
    url,
    store,
    metrics,
    watches,
    ready: isReady,
    verifyNow(resource) {
      const w = watches.get(resource) ?? [...watches.values()].find((x) => x.resource.plural === resource);
      if (!w) throw new Error(`the monitor does not watch ${resource}`);
      return w.verifier.verifyNow();
    },
    async stop() {
      started = false;
      await http.close();
      await canary?.stop();
      await Promise.all([...watches.values()].flatMap((w) => [w.stream.stop(), w.verifier.stop()]));
      client.close();
    },
  };
}

/**
 * A running monitor: per resource a Stream and a Verifier feeding the store, the canary, the
 * metrics and the HTTP API. `startMonitor` is what `kre monitor` and the tests call.
 *
 * With Redis (`config.redis`), several replicas share one store. All of them serve the API; one
 * writes: the holder of the group's Lease (`kre-monitor-<group>` in the monitor's namespace). One
 * Lease per group rather than one per resource: the writer's cost is its watches, the same
 * whoever runs them, so spreading resources over replicas buys little, while one Lease keeps the
 * API server's load from leader election to one renewal per retry period, makes a takeover one
 * event rather than six, and lets the writer publish a consistent state of every resource. A new
 * writer lists and verifies every resource before it writes anything (its full state, replacing
 * what is there), and a writer that cannot renew stops writing before the Lease expires for the
 * others, so one writer at a time writes, and what it writes is complete.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { isAlreadyExists, KubeClient, leaseTimingsMs, parseHostPort } from '../kube/index.ts';
import { Campaign } from '../kube/index.ts';
import { configuredResources, type MonitorConfig } from './config.ts';
import { MonitorHttp } from './http.ts';
import { MemoryStore } from './memory-store.ts';
import { MonitorMetrics } from './metrics.ts';
import { createRedisClient, readTlsFiles, redactRedisUrl, RedisStore } from './redis-store.ts';
import { resolveResources } from './resources.ts';
import type { Corrections, MonitorStore } from './store.ts';
import { selfSignedCertificate } from '../kube/tls.ts';
import { ResourceWriting, type ResourceWatch } from './writing.ts';

export interface StartMonitorOptions {
  config: MonitorConfig;
  token: string;
  /** The cluster (the command line loads it from `config.kubeconfig` and the usual chain). */
  kubeConfig: KubeConfig;
  store?: MonitorStore;
  logger?: Logger;
  /** The Redis password (from `redis.passwordFile` or the environment); overrides one in the URL. */
  redisPassword?: string;
}

export type { ResourceWatch } from './writing.ts';

export interface Readiness {
  ready: boolean;
  /** Why not, when not. */
  reason?: string;
  /** When ready but not as it should be: what is wrong and how it serves meanwhile. */
  degraded?: string;
}

export interface Monitor {
  url: string;
  store: MonitorStore;
  metrics: MonitorMetrics;
  /** The streams and verifiers of this replica while it writes (empty on a Redis reader). */
  watches: Map<string, ResourceWatch>;
  /** This replica's identity in the Lease (with Redis). */
  identity: string;
  ready(): boolean;
  readiness(): Readiness;
  /** Whether this replica writes: always with memory, the Lease holder's once it has published with Redis. */
  isWriter(): boolean;
  /** Runs a verification of one resource (by plural, or plural.group) now; only on the writer. */
  verifyNow(resource: string): Promise<Corrections | undefined>;
  /**
   * Stops serving and writing. The writer releases the Lease, so another replica takes over at
   * once, unless `releaseLease` is false: then the Lease is left to expire, as after a crash.
   */
  stop(opts?: { releaseLease?: boolean }): Promise<void>;
}

export async function startMonitor(o: StartMonitorOptions): Promise<Monitor> {
  const { config, logger } = o;
  const kc = o.kubeConfig;
  const client = new KubeClient(kc, { userAgent: 'kre-monitor' });
  const identity = config.redis?.identity ?? `${hostname()}-${randomBytes(3).toString('hex')}`;
  const redis = config.redis && !o.store ? await connectRedis(config.redis, identity, o.redisPassword, logger) : undefined;
  const store = o.store ?? redis ?? new MemoryStore();
  const watches = new Map<string, ResourceWatch>();
  const metrics = new MonitorMetrics(
    async () =>
      Promise.all([...watches.values()].map(async (w) => ({ resource: w.id, stream: w.stream.stats, verifier: w.verifier.stats, objects: await store.sizes(w.id) }))),
    redis ? () => ({ ...redis.status(), writing: isWriter(), degraded: readiness().degraded !== undefined }) : undefined,
  );
  const record = (verb: string, resource: string, code: string) => metrics.apiRequests.inc({ verb, resource, code });

  const { extra, verifyEveryMs } = configuredResources(config);
  const resources = await resolveResources(client, extra, verifyEveryMs, config.defaultResources);

  const writer = new ResourceWriting({ client, config, resources, store, metrics, watches, record, logger });

  let started = false;
  let writing = false;
  function isWriter(): boolean {
    return writing;
  }
  const readiness = (): Readiness => (started ? readinessOf(writer.synced(), redis?.status(), writing) : { ready: false, reason: 'starting' });

  const tls = await serverTls(config);
  const http = new MonitorHttp({ store, resources, token: o.token, metrics, ready: () => readiness().ready, readiness, logger, tls, podLabelsAllowlist: config.kubeStateMetrics.podLabelsAllowlist });
  const address = parseHostPort(config.listen)!;
  const url = await http.listen(address.host, address.port);

  let campaign: Campaign | undefined;
  if (!redis) {
    await writer.start();
    writing = true;
  } else {
    await ensureNamespace(client, config.namespace, logger);
    campaign = campaignToWrite({ client, config, redis, writer, identity, logger, setWriting: (w) => (writing = w) });
  }
  started = true;

  return {
    url,
    store,
    metrics,
    watches,
    identity,
    ready: () => readiness().ready,
    readiness,
    isWriter,
    verifyNow(resource) {
      const w = watches.get(resource) ?? [...watches.values()].find((x) => x.resource.plural === resource);
      if (!w) throw new Error(redis && !writing ? 'this replica does not write; verify on the writer' : `the monitor does not watch ${resource}`);
      return w.verifier.verifyNow();
    },
    async stop({ releaseLease = true } = {}) {
      started = false;
      await http.close();
      if (redis) {
        await campaign?.stop({ release: releaseLease });
      } else {
        await writer.stop();
      }
      await redis?.close();
      client.close();
    },
  };
}

async function ensureNamespace(client: KubeClient, namespace: string, logger?: Logger): Promise<void> {
  try {
    await client.create({ group: '', version: 'v1', plural: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
  } catch (err) {
    // Existing, or no right to create namespaces: the Lease's writes will tell.
    if (!isAlreadyExists(err)) logger?.debug({ err: (err as Error).message, namespace }, 'could not create the namespace');
  }
}

/**
 * The replica stands for the group's Lease while it reaches Redis; holding it, it starts writing
 * and says it writes once it has published its full state; losing it, it stops writing at once.
 */
function campaignToWrite(o: {
  client: KubeClient;
  config: MonitorConfig;
  redis: RedisStore;
  writer: ResourceWriting;
  identity: string;
  logger?: Logger;
  setWriting(writing: boolean): void;
}): Campaign {
  const { redis, writer, identity, logger } = o;
  const r = o.config.redis!;
  let term: Promise<void> = Promise.resolve();
  return new Campaign({
    client: o.client,
    namespace: o.config.namespace,
    name: `kre-monitor-${r.group}`,
    identity,
    ...leaseTimingsMs(r),
    logger,
    // A replica that cannot reach Redis does not campaign: as the writer it could publish nothing.
    mayCampaign: () => redis.status().up,
    onStartedLeading: (signal) => {
      redis.becomeWriter();
      term = (async () => {
        await writer.start(signal);
        if (signal.aborted) return;
        await redis.publish();
        if (signal.aborted) return;
        o.setWriting(true);
        logger?.info({ identity }, 'writing to redis');
      })().catch((err: Error) => logger?.error({ err: err.message }, 'could not start writing'));
    },
    onStoppedLeading: async () => {
      // Leadership ended (lost, or stopping): stop writing at once, then wind the streams down.
      o.setWriting(false);
      redis.becomeReader();
      await term;
      term = Promise.resolve();
      await writer.stop();
    },
  });
}

async function connectRedis(r: NonNullable<MonitorConfig['redis']>, identity: string, password: string | undefined, logger?: Logger): Promise<RedisStore> {
  const redis = new RedisStore({
    client: createRedisClient({ url: r.url, username: r.username, password, ...readTlsFiles(r) }),
    prefix: `kre:monitor:${r.group}`,
    identity,
    logger,
  });
  logger?.info({ redis: redactRedisUrl(r.url), group: r.group, identity }, 'using redis');
  await redis.connect();
  return redis;
}

async function serverTls(config: MonitorConfig): Promise<{ cert: string; key: string } | undefined> {
  if (!config.tls) return undefined;
  if ('selfSigned' in config.tls) return selfSignedCertificate();
  return { cert: readFileSync(config.tls.certFile, 'utf8'), key: readFileSync(config.tls.keyFile, 'utf8') };
}

/** A started replica's readiness; `redis` is the shared store's status, absent without Redis. */
function readinessOf(synced: boolean, redis: ReturnType<RedisStore['status']> | undefined, writing: boolean): Readiness {
  const notSynced: Readiness = { ready: false, reason: 'not every resource has been listed and verified yet' };
  if (!redis) return synced ? { ready: true } : notSynced;
  if (writing) {
    if (!synced) return notSynced;
    // The writer without Redis stays ready (200): it still follows every resource and answers
    // from its memory exactly what it would answer with Redis, and it is then the only replica
    // that can answer at all. Taking it out of rotation would turn a Redis outage into a
    // monitor outage. It says so in the body and in kre_monitor_redis_up / _degraded instead.
    return redis.up ? { ready: true } : { ready: true, degraded: `${redis.reason}; serving from memory` };
  }
  if (!redis.up) return { ready: false, reason: redis.reason };
  if (!redis.writerSeen) return { ready: false, reason: 'no writer has published to redis yet' };
  return { ready: true };
}

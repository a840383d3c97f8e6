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
import { Canary, streamDelaySeconds } from './delay.ts';
import { MonitorHttp } from './http.ts';
import { MemoryStore } from './memory-store.ts';
import { MonitorMetrics } from './metrics.ts';
import { createRedisClient, readTlsFiles, redactRedisUrl, RedisStore } from './redis-store.ts';
import { resolveResources, resourceId, type MonitoredResource } from './resources.ts';
import type { Corrections, MonitorStore } from './store.ts';
import { Stream } from './stream.ts';
import { selfSignedCertificate } from '../kube/tls.ts';
import { Verifier } from './verify.ts';

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

export interface ResourceWatch {
  resource: MonitoredResource;
  id: string;
  stream: Stream;
  verifier: Verifier;
}

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
  let redis: RedisStore | undefined;
  if (config.redis && !o.store) {
    const r = config.redis;
    redis = new RedisStore({
      client: createRedisClient({ url: r.url, username: r.username, password: o.redisPassword, ...readTlsFiles(r) }),
      prefix: `kre:monitor:${r.group}`,
      identity,
      logger,
    });
    logger?.info({ redis: redactRedisUrl(r.url), group: r.group, identity }, 'using redis');
    await redis.connect();
  }
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

  // The writer measures stream delay with its canary; one per term, since a stopped canary stays stopped.
  let canary: Canary | undefined;

  /** Streams and verifiers for every resource, started; resolves when all listed and verified once. */
  const startWriting = async (signal?: AbortSignal) => {
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
    for (const w of watches.values()) w.stream.start();
    await untilAborted(Promise.all([...watches.values()].flatMap((w) => [w.stream.ready, w.verifier.start()])), signal);
    if (signal?.aborted) return;
    canary =
      config.canaryIntervalSeconds > 0
        ? new Canary({ client, namespace: config.namespace, everyMs: config.canaryIntervalSeconds * 1000, record, logger, observe: (ms) => metrics.canaryDelay.observe(ms) })
        : undefined;
    // The canary is a measure, not a condition of serving: a monitor without write rights still serves.
    await canary?.start().catch((err: Error) => logger?.warn({ err: err.message, namespace: config.namespace }, 'canary not started'));
  };
  const stopWriting = async () => {
    await canary?.stop();
    canary = undefined;
    await Promise.all([...watches.values()].flatMap((w) => [w.stream.stop(), w.verifier.stop()]));
    watches.clear();
  };

  let started = false;
  let writing = false;
  const synced = () => watches.size > 0 && [...watches.values()].every((w) => w.stream.synced && w.verifier.stats.verifications > 0);
  function isWriter(): boolean {
    return writing;
  }
  const readiness = (): Readiness => {
    if (!started) return { ready: false, reason: 'starting' };
    if (!redis) return synced() ? { ready: true } : { ready: false, reason: 'not every resource has been listed and verified yet' };
    const st = redis.status();
    if (writing) {
      if (!synced()) return { ready: false, reason: 'not every resource has been listed and verified yet' };
      // The writer without Redis stays ready (200): it still follows every resource and answers
      // from its memory exactly what it would answer with Redis, and it is then the only replica
      // that can answer at all. Taking it out of rotation would turn a Redis outage into a
      // monitor outage. It says so in the body and in kre_monitor_redis_up / _degraded instead.
      return st.up ? { ready: true } : { ready: true, degraded: `${st.reason}; serving from memory` };
    }
    if (!st.up) return { ready: false, reason: st.reason };
    if (!st.writerSeen) return { ready: false, reason: 'no writer has published to redis yet' };
    return { ready: true };
  };

  const tls = !config.tls
    ? undefined
    : 'selfSigned' in config.tls
      ? await selfSignedCertificate()
      : { cert: readFileSync(config.tls.certFile, 'utf8'), key: readFileSync(config.tls.keyFile, 'utf8') };
  const http = new MonitorHttp({ store, resources, token: o.token, metrics, ready: () => readiness().ready, readiness, logger, tls, podLabelsAllowlist: config.kubeStateMetrics.podLabelsAllowlist });
  const address = parseHostPort(config.listen)!;
  const url = await http.listen(address.host, address.port);

  let campaign: Campaign | undefined;
  if (!redis) {
    await startWriting();
    writing = true;
  } else {
    const r = config.redis!;
    const leaderStore = redis;
    await ensureNamespace(client, config.namespace, logger);
    let term: Promise<void> = Promise.resolve();
    campaign = new Campaign({
      client,
      namespace: config.namespace,
      name: `kre-monitor-${r.group}`,
      identity,
      ...leaseTimingsMs(r),
      logger,
      // A replica that cannot reach Redis does not campaign: as the writer it could publish nothing.
      mayCampaign: () => leaderStore.status().up,
      onStartedLeading: (signal) => {
        leaderStore.becomeWriter();
        term = (async () => {
          await startWriting(signal);
          if (signal.aborted) return;
          await leaderStore.publish();
          if (signal.aborted) return;
          writing = true;
          logger?.info({ identity }, 'writing to redis');
        })().catch((err: Error) => logger?.error({ err: err.message }, 'could not start writing'));
      },
      onStoppedLeading: async () => {
        // Leadership ended (lost, or stopping): stop writing at once, then wind the streams down.
        writing = false;
        leaderStore.becomeReader();
        await term;
        term = Promise.resolve();
        await stopWriting();
      },
    });
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
        await stopWriting();
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

/**
 * The operator: a Runtime controller and a RuntimeVersion controller, run by whichever instance
 * holds the `kre-operator` Lease. Standby instances campaign and cache nothing; the leader builds
 * fresh caches when it takes over, so there is no stale state to hand over.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import {
  CONFIGMAPS,
  Controller,
  DEPLOYMENTS,
  INGRESSES,
  InformerCache,
  SECRETS,
  SERVICES,
  STATEFULSETS,
  keyOf,
  Campaign,
  type KubeClient,
  type KubeObject,
  type ObjectStore,
  type WatchedKind,
} from '../kube/index.ts';
import { createLogger } from '../kube/index.ts';
import { RUNTIME_VERSIONS, RUNTIMES, type RuntimeVersionObject } from '../api/index.ts';
import { ChildCache, ChildWriter, MANAGED_BY_SELECTOR } from './children.ts';
import { EventRecorder } from './events.ts';
import { RuntimeReconciler } from './runtime-reconciler.ts';
import { RuntimeVersionReconciler } from './version-reconciler.ts';

export const LEASE_NAME = 'kre-operator';

/** What each controller renders: the kinds it watches for changes to its children. */
export const RUNTIME_CHILD_KINDS = [STATEFULSETS, SERVICES, SECRETS, CONFIGMAPS, INGRESSES];
export const VERSION_CHILD_KINDS = [DEPLOYMENTS, CONFIGMAPS];
/** The kinds reconcilers delete: on unpublish, on stop, and for nodes removed from a version. */
export const DELETED_CHILD_KINDS = new Set(['Service', 'Ingress', 'Deployment', 'ConfigMap']);

export interface OperatorOptions {
  client: KubeClient;
  /** Only this namespace (the seed's operator per runtime namespace); all namespaces when unset. */
  namespace?: string;
  logger?: Logger;
  registry?: Registry;
  workers?: number;
  /** Leader election on a Lease; `false` runs the controllers at once (a single instance, tests). */
  leaderElection?:
    | false
    | { namespace?: string; name?: string; identity?: string; leaseDurationMs?: number; renewDeadlineMs?: number; retryPeriodMs?: number };
}

export interface Operator {
  /** Resolves once this instance leads and its caches are synced. */
  leading(): boolean;
  /** Ready to serve: campaigning, or leading with synced caches. */
  ready(): boolean;
  registry: Registry;
  identity: string;
  /** Drains reconciles in flight, stops the caches and releases the Lease. */
  stop(): Promise<void>;
}

interface Running {
  cache: InformerCache;
  controllers: Controller[];
  started: Promise<void>;
}

export function startOperator(opts: OperatorOptions): Operator {
  const log = opts.logger ?? createLogger('operator');
  const registry = opts.registry ?? new Registry();
  const election = opts.leaderElection === false ? undefined : (opts.leaderElection ?? {});
  const identity = election?.identity ?? `${hostname()}-${randomBytes(4).toString('hex')}`;
  let running: Running | undefined;
  let synced = false;
  let stopped = false;

  const startControllers = (): Running => {
    // One cache for both controllers: a kind both watch (ConfigMaps) is watched once.
    const cache = new InformerCache(opts.client, log);
    const built = buildControllers(opts.client, cache, opts.namespace, log, registry, opts.workers ?? 4);
    synced = false;
    const started = (async () => {
      // Every cache syncs before the first reconcile: the Runtime reconciler reads the versions'
      // cache (is the published one Running?), and no status may say a version is missing only
      // because the cache has not seen it yet.
      await cache.start();
      await Promise.all(built.map((c) => c.start()));
      synced = true;
      log.info({ namespace: opts.namespace ?? '(all)' }, 'reconciling');
    })().catch((err) => {
      if (!stopped) log.error({ err }, 'could not start the controllers');
    });
    return { cache, controllers: built, started };
  };

  const stopControllers = async () => {
    const r = running;
    running = undefined;
    synced = false;
    if (!r) return;
    await Promise.all(r.controllers.map((c) => c.stop()));
    await r.cache.stop();
  };

  let campaign: Campaign | undefined;
  if (!election) {
    running = startControllers();
  } else {
    // Losing the Lease ends one term; the instance then stands for election again.
    campaign = new Campaign({
      client: opts.client,
      namespace: election.namespace ?? opts.namespace ?? 'default',
      name: election.name ?? LEASE_NAME,
      identity,
      leaseDurationMs: election.leaseDurationMs,
      renewDeadlineMs: election.renewDeadlineMs,
      retryPeriodMs: election.retryPeriodMs,
      logger: log,
      onStartedLeading: (signal) => {
        running = startControllers();
        signal.addEventListener('abort', () => void stopControllers(), { once: true });
      },
      onStoppedLeading: stopControllers,
    });
  }

  return {
    registry,
    identity,
    leading: () => running !== undefined && synced,
    ready: () => !stopped && (running === undefined || synced),
    async stop() {
      stopped = true;
      await stopControllers();
      await campaign?.stop();
    },
  };
}

function buildControllers(
  client: KubeClient,
  cache: InformerCache,
  namespace: string | undefined,
  log: Logger,
  registry: Registry,
  workers: number,
): [Controller, Controller] {
  const watch = (kind: WatchedKind): WatchedKind => ({ ...kind, namespace, labelSelector: MANAGED_BY_SELECTOR });
  const events = new EventRecorder(client, log);
  // The reconcilers read the controllers' caches, so they are made after them; workers start later still.

  const runtimes: Controller = new Controller({
    name: 'runtime',
    cache,
    primary: { ...RUNTIMES, namespace },
    owns: RUNTIME_CHILD_KINDS.map(watch),
    reconciler: { reconcile: (key, ctx) => runtimeReconciler.reconcile(key, ctx) },
    logger: log,
    registry,
    workers,
  });
  const versions: Controller = new Controller({
    name: 'runtimeversion',
    cache,
    primary: { ...RUNTIME_VERSIONS, namespace },
    owns: VERSION_CHILD_KINDS.map(watch),
    reconciler: { reconcile: (key, ctx) => versionReconciler.reconcile(key, ctx) },
    logger: log,
    registry,
    workers,
  });

  const runtimeChildren = childCache(runtimes, RUNTIME_CHILD_KINDS);
  const runtimeWriter = writerFor(client, runtimes, runtimeChildren);
  const runtimeReconciler: RuntimeReconciler = new RuntimeReconciler({
    client,
    runtimes: runtimes.primary.store,
    versions: versions.primary.store,
    children: runtimeChildren,
    writer: runtimeWriter,
    events,
  });
  const versionChildren = childCache(versions, VERSION_CHILD_KINDS);
  const versionWriter = writerFor(client, versions, versionChildren);
  const versionReconciler: RuntimeVersionReconciler = new RuntimeVersionReconciler({
    client,
    versions: versions.primary.store,
    runtimes: runtimes.primary.store,
    children: versionChildren,
    writer: versionWriter,
    events,
  });

  // A version's status says whether it is published, which is its Runtime's spec; and when the
  // namespace's active Runtime goes, another one there may take over.
  const onRuntime = (rt: KubeObject) => {
    const ns = rt.metadata.namespace;
    for (const v of versions.primary.store.list({ namespace: ns })) versions.enqueue(keyOf(ns, v.metadata.name ?? ''));
  };
  // A Runtime's status says whether its published version exists and runs.
  const onVersion = (v: KubeObject) => {
    const ns = v.metadata.namespace;
    for (const rt of runtimes.primary.store.list({ namespace: ns })) runtimes.enqueue(keyOf(ns, rt.metadata.name ?? ''));
  };
  versions.primary.addHandlers({
    onAdd: onVersion,
    onUpdate: (old: RuntimeVersionObject, v: RuntimeVersionObject) => {
      if (old.status?.phase !== v.status?.phase) onVersion(v);
    },
    onDelete: onVersion,
  });
  runtimes.primary.addHandlers({
    onAdd: onRuntime,
    onUpdate: (_old, rt) => onRuntime(rt),
    onDelete: (rt) => {
      onRuntime(rt);
      for (const other of runtimes.primary.store.list({ namespace: rt.metadata.namespace })) runtimes.enqueue(keyOf(other.metadata.namespace, other.metadata.name ?? ''));
    },
  });
  return [runtimes, versions];
}

function childCache(controller: Controller, kinds: { kind: string }[]): ChildCache {
  return new ChildCache(new Map<string, ObjectStore>(kinds.map((k, i) => [k.kind, controller.owned[i].store])));
}

function writerFor(client: KubeClient, controller: Controller, cache: ChildCache): ChildWriter {
  const writer = new ChildWriter(client, cache);
  for (const informer of controller.owned) informer.addHandlers({ onDelete: (obj) => writer.forget(obj) });
  return writer;
}

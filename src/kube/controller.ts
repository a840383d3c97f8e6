/**
 * The controller loop: events from a primary kind (and from the kinds it owns) become keys in a
 * work queue; N workers hand each key to a Reconciler. The reconciler works from the current state
 * in the cache, never from the event that woke it, so the queue only carries `namespace/name`.
 * The caches are informers of a process's shared InformerCache (or of the controller's own), so
 * controllers watching the same kind share one watch; other events can queue keys by hand.
 * Every reconcile has an id in its logs and counts in the metrics by outcome.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { apiVersionOf, isConflict, isNotFound, type KubeClient, type KubeObject } from './client.ts';
import { InformerCache, type CacheReflectorOptions, type Informer, type InformerKind } from './informers.ts';
import { keyOf, objectKey, splitKey } from './store.ts';
import { WorkQueue } from './workqueue.ts';
import { OwnWrites } from './write-memory.ts';

export interface ReconcileKey {
  namespace?: string;
  name: string;
}

export interface ReconcileContext {
  /** A child of the controller's logger with `reconcileId`, `namespace` and `name`. */
  log: Logger;
  reconcileId: string;
  /** Aborted when the controller stops: long reconciles should give up and let the next leader redo them. */
  signal: AbortSignal;
  /**
   * Notes the server's answer to a write of the primary object (its status, an annotation): the
   * watch event that echoes it does not queue the object again. Anyone else's change does.
   */
  ownWrite(obj: KubeObject | undefined): void;
}

export interface ReconcileResult {
  /** Reconcile the key again after this many ms (polling something that has no event). */
  requeueAfter?: number;
}

export interface Reconciler {
  reconcile(key: ReconcileKey, ctx: ReconcileContext): Promise<ReconcileResult | void>;
}

/**
 * A failure that retrying cannot fix (an invalid spec, a missing reference the user must create):
 * it is counted and logged, and the key waits for its next event instead of backing off forever.
 */
export class TerminalError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TerminalError';
  }
}

/** A watched kind; `kind` is required for the primary (owner references name it). */
export type WatchedKind = InformerKind;

export interface ControllerOptions {
  /** Names the controller in logs and in the `controller` label of its metrics. */
  name: string;
  /**
   * The process's shared cache, which the watched kinds come from (one watch per kind for all its
   * controllers); whoever made it starts it. Without one, the controller keeps a cache of its own
   * from `client`, started and stopped with it.
   */
  cache?: InformerCache;
  client?: KubeClient;
  /** The kind reconciled: its events queue its key. None for a controller fed by hand (`enqueue`). */
  primary?: WatchedKind & { kind: string };
  /** Kinds whose objects carry a controller owner reference to a primary object. */
  owns?: WatchedKind[];
  reconciler: Reconciler;
  logger: Logger;
  registry?: Registry;
  workers?: number;
  backoff?: { baseDelayMs?: number; maxDelayMs?: number };
  /** Options passed to every reflector of the controller's own cache (timeouts, watchdog, page size). */
  reflector?: CacheReflectorOptions;
}

type Outcome = 'success' | 'error' | 'terminal' | 'requeue';

/** Metrics shared by every controller on a registry, told apart by the `controller` label. */
interface ControllerMetrics {
  duration: Histogram<'controller'>;
  total: Counter<'controller' | 'result'>;
  depth: Gauge<'controller'>;
  retries: Counter<'controller'>;
}

function metricsOn(registry: Registry): ControllerMetrics {
  const existing = <M>(name: string) => registry.getSingleMetric(name) as M | undefined;
  return {
    duration:
      existing<Histogram<'controller'>>('kre_controller_reconcile_duration_seconds') ??
      new Histogram({
        name: 'kre_controller_reconcile_duration_seconds',
        help: 'Time taken by one reconcile, by controller',
        labelNames: ['controller'],
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
        registers: [registry],
      }),
    total:
      existing<Counter<'controller' | 'result'>>('kre_controller_reconcile_total') ??
      new Counter({
        name: 'kre_controller_reconcile_total',
        help: 'Reconciles by controller and result (success, error, terminal, requeue)',
        labelNames: ['controller', 'result'],
        registers: [registry],
      }),
    depth:
      existing<Gauge<'controller'>>('kre_controller_queue_depth') ??
      new Gauge({ name: 'kre_controller_queue_depth', help: 'Keys waiting in the work queue, by controller', labelNames: ['controller'], registers: [registry] }),
    retries:
      existing<Counter<'controller'>>('kre_controller_retries_total') ??
      new Counter({ name: 'kre_controller_retries_total', help: 'Keys queued again after an error, by controller', labelNames: ['controller'], registers: [registry] }),
  };
}

export class Controller {
  /** The owned kinds' caches, in the order of `owns`. */
  readonly owned: Informer[];
  readonly queue: WorkQueue<string>;
  readonly cache: InformerCache;
  private readonly primaryInformer: Informer | undefined;
  /** The cache is the controller's own: it starts and stops it. */
  private readonly ownCache: boolean;
  private readonly opts: ControllerOptions;
  private readonly metrics: ControllerMetrics | undefined;
  private readonly ownWrites = new OwnWrites();
  private readonly stopController = new AbortController();
  private workers: Promise<void> | undefined;

  constructor(opts: ControllerOptions) {
    this.opts = opts;
    this.queue = new WorkQueue<string>(opts.backoff);
    this.metrics = opts.registry ? metricsOn(opts.registry) : undefined;
    this.ownCache = !opts.cache;
    if (opts.cache) this.cache = opts.cache;
    else if (opts.client) this.cache = new InformerCache(opts.client, opts.logger, opts.reflector);
    else throw new Error(`controller ${opts.name}: needs a cache or a client to make one`);
    this.primaryInformer = opts.primary && this.watchPrimary(opts.primary);
    this.owned = (opts.owns ?? []).map((kind) => this.watchOwned(kind));
  }

  /** The primary kind's cache: reconcilers read their object from here. */
  get primary(): Informer {
    if (!this.primaryInformer) throw new Error(`controller ${this.opts.name} has no primary kind`);
    return this.primaryInformer;
  }

  /** Waits for the caches to sync (starting them when they are the controller's own), then starts the workers. */
  async start(): Promise<void> {
    const signal = this.stopController.signal;
    if (this.ownCache) await this.cache.start(signal);
    else await this.cache.waitForSync([...(this.primaryInformer ? [this.primaryInformer] : []), ...this.owned], signal);
    this.opts.logger.info({ controller: this.opts.name, workers: this.opts.workers ?? 1 }, 'controller started');
    this.workers = this.queue.run(this.opts.workers ?? 1, (key) => this.process(key));
  }

  /** Queues a key by hand (for example from a timer or another kind's event). */
  enqueue(key: string): void {
    this.queue.add(key);
    this.metrics?.depth.set({ controller: this.opts.name }, this.queue.length);
  }

  /** Queues a key after `ms` (an earlier pending delay for it wins). */
  enqueueAfter(key: string, ms: number): void {
    this.queue.addAfter(key, ms);
  }

  /** Stops the queue, waiting for reconciles in flight, and the controller's own cache. */
  async stop(): Promise<void> {
    this.stopController.abort();
    await this.queue.shutdown();
    await this.workers;
    if (this.ownCache) await this.cache.stop();
    this.opts.logger.info({ controller: this.opts.name }, 'controller stopped');
  }

  private watchPrimary(kind: WatchedKind): Informer {
    const informer = this.cache.for(kind);
    const enqueue = (obj: KubeObject) => this.enqueue(objectKey(obj));
    informer.addHandlers({
      onAdd: enqueue,
      onUpdate: (_old, obj) => {
        if (!this.ownWrites.isOwn(obj)) enqueue(obj);
      },
      onDelete: (obj) => {
        this.ownWrites.forget(obj);
        enqueue(obj);
      },
    });
    return informer;
  }

  private watchOwned(kind: WatchedKind): Informer {
    const primary = this.opts.primary;
    if (!primary) throw new Error(`controller ${this.opts.name}: owned kinds need a primary kind`);
    const ownerGroup = apiVersionOf(primary).split('/')[0];
    const enqueueOwner = (child: KubeObject) => {
      const ref = child.metadata.ownerReferences?.find((r) => r.controller === true);
      if (!ref || ref.kind !== primary.kind || ref.apiVersion.split('/')[0] !== ownerGroup) return;
      // Namespaced owners live in their child's namespace; cluster-scoped ones have none.
      this.enqueue(keyOf(primary.namespaced === false ? undefined : child.metadata.namespace, ref.name));
    };
    const informer = this.cache.for(kind);
    informer.addHandlers({
      onAdd: enqueueOwner,
      onUpdate: (old, obj) => {
        // A child moved to another owner concerns both.
        enqueueOwner(old);
        enqueueOwner(obj);
      },
      onDelete: enqueueOwner,
    });
    return informer;
  }

  private async process(key: string): Promise<void> {
    const controller = this.opts.name;
    this.metrics?.depth.set({ controller }, this.queue.length);
    const reconcileId = randomUUID();
    const target = splitKey(key);
    const log = this.opts.logger.child({ controller, reconcileId, ...target });
    const stopTimer = this.metrics?.duration.startTimer({ controller });
    const ownWrite = (obj: KubeObject | undefined) => this.ownWrites.note(obj);
    let outcome: Outcome;
    try {
      const result = await this.opts.reconciler.reconcile(target, { log, reconcileId, signal: this.stopController.signal, ownWrite });
      this.queue.forget(key);
      if (result?.requeueAfter && result.requeueAfter > 0) {
        outcome = 'requeue';
        this.queue.addAfter(key, result.requeueAfter);
      } else {
        outcome = 'success';
      }
    } catch (err) {
      if (err instanceof TerminalError) {
        outcome = 'terminal';
        this.queue.forget(key);
        log.error({ err }, 'reconcile failed for good; waiting for the next change');
      } else {
        outcome = 'error';
        const retries = this.queue.numRequeues(key);
        this.queue.addRateLimited(key);
        this.metrics?.retries.inc({ controller });
        // A conflict or a vanished object means the cache was behind: the retry is routine.
        const level = isConflict(err) || isNotFound(err) ? 'debug' : 'warn';
        log[level]({ err, retries: retries + 1, retryInMs: this.queue.backoffFor(retries) }, 'reconcile failed; will retry');
      }
    } finally {
      stopTimer?.();
    }
    this.metrics?.total.inc({ controller, result: outcome });
  }
}

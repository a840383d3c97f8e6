/**
 * The controller loop: events from a primary kind (and from the kinds it owns) become keys in a
 * work queue; N workers hand each key to a Reconciler. The reconciler works from the current state
 * in the cache, never from the event that woke it, so the queue only carries `namespace/name`.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { apiVersionOf, type KubeClient, type KubeObject, type ResourceType } from './client.ts';
import { Reflector, type ReflectorHandlers, type ReflectorOptions } from './reflector.ts';
import { keyOf, splitKey } from './store.ts';
import { WorkQueue } from './workqueue.ts';

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
export type WatchedKind = ResourceType & Pick<ReflectorOptions<KubeObject>, 'namespace' | 'labelSelector' | 'fieldSelector'>;

export interface ControllerOptions {
  /** Names the controller in logs and in the `controller` label of its metrics. */
  name: string;
  client: KubeClient;
  primary: WatchedKind & { kind: string };
  /** Kinds whose objects carry a controller owner reference to a primary object. */
  owns?: WatchedKind[];
  reconciler: Reconciler;
  logger: Logger;
  registry?: Registry;
  workers?: number;
  backoff?: { baseDelayMs?: number; maxDelayMs?: number };
  /** Options passed to every reflector (timeouts, watchdog, page size). */
  reflector?: Partial<Pick<ReflectorOptions<KubeObject>, 'minWatchTimeoutSeconds' | 'quietWatchMs' | 'backoff' | 'pageSize'>>;
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
  /** The primary kind's cache: reconcilers read their object from here. */
  readonly primary: Reflector;
  /** The owned kinds' caches, in the order of `owns`. */
  readonly owned: Reflector[];
  readonly queue: WorkQueue<string>;
  private readonly opts: ControllerOptions;
  private readonly metrics: ControllerMetrics | undefined;
  private readonly stopController = new AbortController();
  private workers: Promise<void> | undefined;

  constructor(opts: ControllerOptions) {
    this.opts = opts;
    this.queue = new WorkQueue<string>(opts.backoff);
    this.metrics = opts.registry ? metricsOn(opts.registry) : undefined;
    const enqueuePrimary = (obj: KubeObject) => this.enqueue(keyOf(obj.metadata.namespace, obj.metadata.name ?? ''));
    this.primary = this.reflectorFor(opts.primary, {
      onAdd: enqueuePrimary,
      onUpdate: (_old, obj) => enqueuePrimary(obj),
      onDelete: enqueuePrimary,
    });
    const ownerApiVersion = apiVersionOf(opts.primary);
    const enqueueOwner = (child: KubeObject) => {
      const ref = child.metadata.ownerReferences?.find((r) => r.controller === true);
      if (!ref || ref.kind !== opts.primary.kind || ref.apiVersion.split('/')[0] !== ownerApiVersion.split('/')[0]) return;
      // Namespaced owners live in their child's namespace; cluster-scoped ones have none.
      this.enqueue(keyOf(opts.primary.namespaced === false ? undefined : child.metadata.namespace, ref.name));
    };
    this.owned = (opts.owns ?? []).map((kind) =>
      this.reflectorFor(kind, {
        onAdd: enqueueOwner,
        onUpdate: (old, obj) => {
          // A child moved to another owner concerns both.
          enqueueOwner(old);
          enqueueOwner(obj);
        },
        onDelete: enqueueOwner,
      }),
    );
  }

  /** Starts the caches, waits for them to sync, then starts the workers. */
  async start(): Promise<void> {
    const all = [this.primary, ...this.owned];
    for (const r of all) r.start();
    await Promise.all(all.map((r) => r.waitForSync(this.stopController.signal)));
    this.opts.logger.info({ controller: this.opts.name, workers: this.opts.workers ?? 1 }, 'controller started');
    this.workers = this.queue.run(this.opts.workers ?? 1, (key) => this.process(key));
  }

  /** Queues a key by hand (for example from a timer or another kind's event). */
  enqueue(key: string): void {
    this.queue.add(key);
    this.metrics?.depth.set({ controller: this.opts.name }, this.queue.length);
  }

  /** Stops the caches and the queue, waiting for reconciles in flight. */
  async stop(): Promise<void> {
    this.stopController.abort();
    await Promise.all([this.primary, ...this.owned].map((r) => r.stop()));
    await this.queue.shutdown();
    await this.workers;
    this.opts.logger.info({ controller: this.opts.name }, 'controller stopped');
  }

  private reflectorFor(kind: WatchedKind, handlers: ReflectorHandlers<KubeObject>): Reflector {
    const { namespace, labelSelector, fieldSelector, ...resource } = kind;
    return new Reflector({
      ...this.opts.reflector,
      ...handlers,
      client: this.opts.client,
      resource,
      namespace,
      labelSelector,
      fieldSelector,
      logger: this.opts.logger,
    });
  }

  private async process(key: string): Promise<void> {
    const controller = this.opts.name;
    this.metrics?.depth.set({ controller }, this.queue.length);
    const reconcileId = randomUUID();
    const target = splitKey(key);
    const log = this.opts.logger.child({ controller, reconcileId, ...target });
    const stopTimer = this.metrics?.duration.startTimer({ controller });
    let outcome: Outcome;
    try {
      const result = await this.opts.reconciler.reconcile(target, { log, reconcileId, signal: this.stopController.signal });
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
        log.warn({ err, retries: retries + 1, retryInMs: this.queue.backoffFor(retries) }, 'reconcile failed; will retry');
      }
    } finally {
      stopTimer?.();
    }
    this.metrics?.total.inc({ controller, result: outcome });
  }
}

/**
 * Shared caches, one Reflector per kind, as kube-controller-manager's shared informers: every
 * controller in the process reads the same pod cache instead of each decoding its own watch.
 *
 * A cache lags behind the writes its own process makes, and a controller that reconciles again
 * before its create or delete is seen would create or delete twice. So the objects a controller
 * writes are remembered (`wrote`, `deleted`) and reads return the newer of the cache and the
 * remembered write, until the cache catches up: the "expectations" of the real controllers, kept
 * by object instead of by count.
 */
import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import {
  Reflector,
  keyOf,
  labelSelectorFromObject,
  objectKey,
  type KubeClient,
  type KubeObject,
  type LabelSelectorObject,
  type ReflectorHandlers,
  type ResourceType,
} from '../../kube/index.ts';

/** How long a remembered write may stand in for the cache (a watch that never delivers it). */
const REMEMBER_MS = 30_000;

interface Remembered {
  obj: KubeObject | undefined; // undefined: deleted
  at: number;
}

function rvNumber(obj: KubeObject | undefined): number {
  const n = Number(obj?.metadata.resourceVersion);
  return Number.isFinite(n) ? n : 0;
}

export class Informer {
  readonly reflector: Reflector;
  private readonly remembered = new Map<string, Remembered>();

  constructor(
    readonly resource: ResourceType,
    client: KubeClient,
    logger: Logger,
    fieldSelector?: string,
  ) {
    this.reflector = new Reflector({ client, resource, logger, fieldSelector, minWatchTimeoutSeconds: 300 });
    // Forget a remembered write as soon as the cache has caught up with it, so that reads stay
    // proportional to the writes still in flight, not to all recent ones.
    const caughtUp = (obj: KubeObject) => {
      const key = objectKey(obj);
      const r = this.remembered.get(key);
      if (r && (r.obj === undefined ? Boolean(obj.metadata.deletionTimestamp) : rvNumber(obj) >= rvNumber(r.obj))) this.remembered.delete(key);
    };
    this.reflector.addHandlers({
      onAdd: caughtUp,
      onUpdate: (_old, obj) => caughtUp(obj),
      onDelete: (obj) => {
        const r = this.remembered.get(objectKey(obj));
        if (r && r.obj === undefined) this.remembered.delete(objectKey(obj));
      },
    });
  }

  on(handlers: ReflectorHandlers<KubeObject>): void {
    this.reflector.addHandlers(handlers);
  }

  /** Remembers an object this process just wrote (the server's answer, with its resourceVersion). */
  wrote(obj: KubeObject): void {
    this.remembered.set(objectKey(obj), { obj, at: Date.now() });
  }

  /** Remembers that this process deleted an object (gone now, or terminating with a grace period). */
  deleted(obj: KubeObject, answer?: KubeObject): void {
    this.remembered.set(objectKey(obj), { obj: answer?.metadata?.deletionTimestamp ? answer : undefined, at: Date.now() });
  }

  get(namespace: string | undefined, name: string): KubeObject | undefined {
    const key = keyOf(namespace, name);
    return this.fresher(key, this.reflector.store.getByKey(key));
  }

  /** Objects of a namespace (all when unset) matching a label selector object (all when unset). */
  list(namespace?: string, selector?: LabelSelectorObject | null): KubeObject[] {
    const sel = selector ? labelSelectorFromObject(selector) : undefined;
    const labelSelector = sel && !sel.empty ? sel.toString() : undefined;
    const out = new Map<string, KubeObject>();
    for (const obj of this.reflector.store.list({ namespace, labelSelector })) out.set(objectKey(obj), obj);
    for (const key of [...this.remembered.keys()]) {
      const r = this.remembered.get(key)!;
      const ns = r.obj?.metadata.namespace ?? (key.includes('/') ? key.slice(0, key.indexOf('/')) : undefined);
      if (namespace !== undefined && ns !== namespace) continue;
      const obj = this.fresher(key, this.reflector.store.getByKey(key));
      if (obj && (!sel || sel.matches(obj.metadata.labels ?? {}))) out.set(key, obj);
      else out.delete(key);
    }
    return [...out.values()];
  }

  private fresher(key: string, cached: KubeObject | undefined): KubeObject | undefined {
    const r = this.remembered.get(key);
    if (!r) return cached;
    const expired = Date.now() - r.at > REMEMBER_MS;
    if (r.obj === undefined) {
      // A deletion is seen when the cache no longer has the object, or has it terminating.
      if (expired || !cached || cached.metadata.deletionTimestamp) {
        if (expired || !cached) this.remembered.delete(key);
        return cached;
      }
      return undefined;
    }
    if (expired || (cached && rvNumber(cached) >= rvNumber(r.obj))) {
      this.remembered.delete(key);
      return cached;
    }
    return r.obj;
  }
}

/** The shared informers of one process, created on first use. */
export class Informers {
  private readonly byResource = new Map<string, Informer>();
  private started = false;

  constructor(
    readonly client: KubeClient,
    readonly logger: Logger,
  ) {}

  for(resource: ResourceType, fieldSelector?: string): Informer {
    const id = `${resource.group}/${resource.plural}?${fieldSelector ?? ''}`;
    let informer = this.byResource.get(id);
    if (!informer) {
      informer = new Informer(resource, this.client, this.logger, fieldSelector);
      this.byResource.set(id, informer);
      if (this.started) informer.reflector.start();
    }
    return informer;
  }

  async start(signal?: AbortSignal): Promise<void> {
    this.started = true;
    // Every cache waits on the one signal.
    if (signal) setMaxListeners(0, signal);
    const all = [...this.byResource.values()];
    for (const i of all) i.reflector.start();
    await Promise.all(all.map((i) => i.reflector.waitForSync(signal)));
  }

  async stop(): Promise<void> {
    await Promise.all([...this.byResource.values()].map((i) => i.reflector.stop()));
  }
}

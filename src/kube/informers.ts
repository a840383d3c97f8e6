/**
 * The shared cache of a process, as controller-runtime's manager cache and client-go's shared
 * informers: one Reflector per kind (and namespace and selectors), however many controllers read
 * it, so an object is decoded and stored once. Controllers register what they watch before the
 * cache starts; `start` lists everything and resolves once every cache has synced.
 *
 * Reads see this process's own writes: the objects written through an informer (`wrote`,
 * `deleted`) stand in for the cached ones until the watch delivers them (see write-memory.ts) —
 * the "expectations" of the real controllers, kept by object instead of by count. Indexes (by
 * controller owner, by node, or any function of an object) answer "which objects of X" without a
 * scan, and tell subscribers which keys of an index value changed.
 */
import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import type { KubeClient, KubeObject, ResourceType } from './client.ts';
import type { Pod } from './kinds.ts';
import { Reflector, type ReflectorHandlers, type ReflectorOptions } from './reflector.ts';
import { labelSelectorFromObject, type LabelSelectorObject } from './selectors.ts';
import { keyOf, objectKey } from './store.ts';
import { versionNumber, WriteMemory } from './write-memory.ts';

/** The values an object is indexed under (none: not indexed). */
export type IndexFunc = (obj: KubeObject) => string[];

/** Objects by the uid of their controller (the owner reference with `controller: true`). */
export const BY_CONTROLLER: IndexFunc = (obj) => {
  const ref = obj.metadata.ownerReferences?.find((r) => r.controller === true);
  return ref ? [ref.uid] : [];
};

/** Pods by the node they are bound to. */
export const BY_NODE: IndexFunc = (pod: Pod) => (pod.spec?.nodeName ? [pod.spec.nodeName] : []);

/** What selects one informer: a kind, and optionally a namespace and selectors. */
export type InformerKind = ResourceType & Pick<ReflectorOptions<KubeObject>, 'namespace' | 'labelSelector' | 'fieldSelector'>;

/** Options given to every reflector of a cache. */
export type CacheReflectorOptions = Partial<Pick<ReflectorOptions<KubeObject>, 'minWatchTimeoutSeconds' | 'quietWatchMs' | 'backoff' | 'pageSize'>>;

export class Index {
  private readonly keysByValue = new Map<string, Set<string>>();
  private readonly valuesByKey = new Map<string, string[]>();
  private readonly subscribers = new Map<string, Set<(key: string) => void>>();

  constructor(
    private readonly informer: Informer,
    readonly fn: IndexFunc,
  ) {}

  /** The objects indexed under `value`, with this process's writes the cache has not shown yet. */
  list(value: string): KubeObject[] {
    const out: KubeObject[] = [];
    const keys = new Set(this.keysByValue.get(value));
    for (const key of this.informer.pendingKeys()) keys.add(key);
    for (const key of keys) {
      const obj = this.informer.getByKey(key);
      if (obj && this.fn(obj).includes(value)) out.push(obj);
    }
    return out;
  }

  /** Calls `handler` with the key of every object that comes under `value`, changes there or leaves it. */
  subscribe(value: string, handler: (key: string) => void): () => void {
    let set = this.subscribers.get(value);
    if (!set) this.subscribers.set(value, (set = new Set()));
    set.add(handler);
    return () => {
      set.delete(handler);
      if (set.size === 0 && this.subscribers.get(value) === set) this.subscribers.delete(value);
    };
  }

  /** Called by the informer on every change of the cache. */
  update(key: string, obj: KubeObject | undefined): void {
    const before = this.valuesByKey.get(key) ?? [];
    const after = obj ? this.fn(obj) : [];
    for (const v of before) {
      if (after.includes(v)) continue;
      const set = this.keysByValue.get(v);
      set?.delete(key);
      if (set?.size === 0) this.keysByValue.delete(v);
    }
    for (const v of after) {
      let set = this.keysByValue.get(v);
      if (!set) this.keysByValue.set(v, (set = new Set()));
      set.add(key);
    }
    if (after.length > 0) this.valuesByKey.set(key, after);
    else this.valuesByKey.delete(key);
    for (const v of new Set([...before, ...after])) for (const h of this.subscribers.get(v) ?? []) h(key);
  }
}

export class Informer {
  readonly reflector: Reflector;
  private readonly writes = new WriteMemory<KubeObject | undefined>();
  private readonly indexes = new Map<string, Index>();

  constructor(
    readonly kind: InformerKind,
    client: KubeClient,
    logger: Logger | undefined,
    reflectorOptions: CacheReflectorOptions = {},
  ) {
    const { namespace, labelSelector, fieldSelector, ...resource } = kind;
    this.reflector = new Reflector({ minWatchTimeoutSeconds: 300, ...reflectorOptions, client, resource, namespace, labelSelector, fieldSelector, logger });
    // First of the handlers, so that every later one reads indexes and remembered writes that
    // already account for the event it hears.
    this.reflector.addHandlers({
      onAdd: (obj) => this.changed(obj, obj),
      onUpdate: (_old, obj) => this.changed(obj, obj),
      onDelete: (obj) => this.changed(obj, undefined),
    });
  }

  get resource(): ResourceType {
    const { namespace: _n, labelSelector: _l, fieldSelector: _f, ...resource } = this.kind;
    return resource;
  }

  /** The cache itself, without this process's pending writes. */
  get store() {
    return this.reflector.store;
  }

  addHandlers(handlers: ReflectorHandlers<KubeObject>): void {
    this.reflector.addHandlers(handlers);
  }

  hasSynced(): boolean {
    return this.reflector.hasSynced();
  }

  /** Remembers an object this process just wrote (the server's answer, with its resourceVersion). */
  wrote(obj: KubeObject): void {
    this.writes.set(objectKey(obj), obj, obj.metadata.resourceVersion);
  }

  /** Remembers that this process deleted an object (gone now, or terminating with a grace period). */
  deleted(obj: KubeObject, answer?: KubeObject): void {
    this.writes.set(objectKey(obj), answer?.metadata?.deletionTimestamp ? answer : undefined);
  }

  get(namespace: string | undefined, name: string): KubeObject | undefined {
    return this.getByKey(keyOf(namespace, name));
  }

  getByKey(key: string): KubeObject | undefined {
    return this.fresher(key, this.reflector.store.getByKey(key));
  }

  /** Objects of a namespace (all when unset) matching a label selector (all when unset). */
  list(namespace?: string, selector?: LabelSelectorObject | null): KubeObject[] {
    const sel = selector ? labelSelectorFromObject(selector) : undefined;
    const labelSelector = sel && !sel.empty ? sel.toString() : undefined;
    const out = new Map<string, KubeObject>();
    for (const obj of this.reflector.store.list({ namespace, labelSelector })) out.set(objectKey(obj), obj);
    for (const key of this.writes.keys()) {
      const r = this.writes.get(key);
      const ns = r?.value?.metadata.namespace ?? (key.includes('/') ? key.slice(0, key.indexOf('/')) : undefined);
      if (namespace !== undefined && ns !== namespace) continue;
      const obj = this.getByKey(key);
      if (obj && (!sel || sel.matches(obj.metadata.labels ?? {}))) out.set(key, obj);
      else out.delete(key);
    }
    return [...out.values()];
  }

  /** The index named `name`, made with `fn` on first use (later calls may omit it). */
  index(name: string, fn?: IndexFunc): Index {
    let index = this.indexes.get(name);
    if (!index) {
      if (!fn) throw new Error(`informer ${this.reflector.name}: no index "${name}" and no function to make it`);
      index = new Index(this, fn);
      this.indexes.set(name, index);
      for (const key of this.reflector.store.keys()) index.update(key, this.reflector.store.getByKey(key));
    }
    return index;
  }

  /** Keys with a write of this process that may not be in the cache yet. */
  pendingKeys(): string[] {
    return this.writes.keys();
  }

  private changed(obj: KubeObject, now: KubeObject | undefined): void {
    const key = objectKey(obj);
    // A remembered write is forgotten as soon as the cache has caught up with it, so that reads
    // stay proportional to the writes still in flight, not to all recent ones.
    const r = this.writes.get(key);
    if (r) {
      const caughtUp = r.value === undefined ? !now || Boolean(now.metadata.deletionTimestamp) : Boolean(now) && versionNumber(now) >= versionNumber(r.value);
      if (caughtUp) this.writes.delete(key);
    }
    for (const index of this.indexes.values()) index.update(key, now);
  }

  private fresher(key: string, cached: KubeObject | undefined): KubeObject | undefined {
    const r = this.writes.get(key);
    if (!r) return cached;
    if (r.value === undefined) {
      // A deletion is seen when the cache no longer has the object, or has it terminating.
      if (!cached) this.writes.delete(key);
      return cached?.metadata.deletionTimestamp ? cached : undefined;
    }
    if (cached && versionNumber(cached) >= versionNumber(r.value)) {
      this.writes.delete(key);
      return cached;
    }
    return r.value;
  }
}

/** The informers of one process, made on first use. */
export class InformerCache {
  private readonly informers = new Map<string, Informer>();
  private started = false;
  private readonly stopController = new AbortController();

  constructor(
    readonly client: KubeClient,
    readonly logger?: Logger,
    private readonly reflectorOptions: CacheReflectorOptions = {},
  ) {
    // Every cache (and every controller waiting for them) waits on the one signal.
    setMaxListeners(0, this.stopController.signal);
  }

  /** The informer of a kind; made (and started, if the cache runs) on first use. */
  for(kind: InformerKind): Informer {
    const id = `${kind.group}/${kind.version}/${kind.plural}?ns=${kind.namespace ?? ''}&l=${kind.labelSelector ?? ''}&f=${kind.fieldSelector ?? ''}`;
    let informer = this.informers.get(id);
    if (!informer) {
      informer = new Informer(kind, this.client, this.logger, this.reflectorOptions);
      this.informers.set(id, informer);
      if (this.started) informer.reflector.start();
    }
    return informer;
  }

  get isStarted(): boolean {
    return this.started;
  }

  /** Starts every informer and resolves once all have synced (rejects if stopped before). */
  async start(signal?: AbortSignal): Promise<void> {
    this.started = true;
    if (signal) setMaxListeners(0, signal);
    const all = [...this.informers.values()];
    for (const i of all) i.reflector.start();
    await this.waitForSync(all, signal);
  }

  /** Resolves once `informers` (default: all) have synced. */
  async waitForSync(informers: Informer[] = [...this.informers.values()], signal?: AbortSignal): Promise<void> {
    const stop = signal ? AbortSignal.any([signal, this.stopController.signal]) : this.stopController.signal;
    setMaxListeners(0, stop);
    await Promise.all(informers.map((i) => i.reflector.waitForSync(stop)));
  }

  async stop(): Promise<void> {
    this.stopController.abort();
    await Promise.all([...this.informers.values()].map((i) => i.reflector.stop()));
  }
}

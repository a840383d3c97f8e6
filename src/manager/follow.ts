/**
 * The manager's view of Runtimes and RuntimeVersions: one reflector per kind, shared by every call.
 * A call that waits for a phase (`RuntimeStatus`, `Publish`, `Stop`) or streams one
 * (`WatchRuntimeStatus`, `WatchVersionStatus`) subscribes to one object's changes here, so a
 * thousand waiting callers cost the API server one watch per kind, not a poll each.
 */
import { status } from '@grpc/grpc-js';
import { Reflector, type KubeClient, type KubeObject, type ResourceType } from '../kube/index.ts';
import type { Logger } from '../kube/index.ts';
import { deadlineExceeded, ManagerError, unavailable } from './errors.ts';

/** Subscriptions across all objects; past this a new one answers RESOURCE_EXHAUSTED instead of growing. */
export const MAX_SUBSCRIPTIONS = 10_000;

type Listener<T> = (obj: T | undefined) => void;

export class ObjectFollower<T extends KubeObject = KubeObject> {
  private readonly reflector: Reflector<T>;
  private readonly listeners = new Map<string, Set<Listener<T>>>();
  private count = 0;

  constructor(client: KubeClient, resource: ResourceType, logger: Logger) {
    const notify = (obj: T, gone = false) => this.notify(obj, gone);
    this.reflector = new Reflector<T>({
      client,
      resource,
      logger,
      onAdd: (o) => notify(o),
      onUpdate: (_old, o) => notify(o),
      onDelete: (o) => notify(o, true),
    });
  }

  start(): this {
    this.reflector.start();
    return this;
  }

  stop(): Promise<void> {
    return this.reflector.stop();
  }

  synced(): boolean {
    return this.reflector.hasSynced();
  }

  /** Waits for the first list, for at most `maxMs` or until `signal` aborts: the API server may be away. */
  async ready(signal: AbortSignal, maxMs = 10_000): Promise<void> {
    if (this.reflector.hasSynced()) return;
    try {
      await this.reflector.waitForSync(AbortSignal.any([signal, AbortSignal.timeout(maxMs)]));
    } catch {
      throw new ManagerError(status.UNAVAILABLE, `the Kubernetes API server is unavailable: the ${this.reflector.name} cache has not synced`);
    }
  }

  get(namespace: string, name: string): T | undefined {
    return this.reflector.store.get(namespace, name);
  }

  list(namespace: string): T[] {
    return this.reflector.store.list({ namespace });
  }

  /** Calls `fn` on every change of the object (undefined once deleted) until the returned function is called. */
  subscribe(namespace: string, name: string, fn: Listener<T>): () => void {
    if (this.count >= MAX_SUBSCRIPTIONS) throw new ManagerError(status.RESOURCE_EXHAUSTED, `the manager already follows ${MAX_SUBSCRIPTIONS} objects for its callers; try again later`);
    const key = `${namespace}/${name}`;
    let set = this.listeners.get(key);
    if (!set) this.listeners.set(key, (set = new Set()));
    set.add(fn);
    this.count++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.count--;
      set.delete(fn);
      if (set.size === 0) this.listeners.delete(key);
    };
  }

  /**
   * Resolves with the first non-undefined answer of `decide` on the object, now or after a change.
   * `decide` may throw to end the wait with that error. Rejects with DEADLINE_EXCEEDED (the message
   * from `onTimeout`) when `signal` aborts.
   */
  until<R>(namespace: string, name: string, decide: (obj: T | undefined) => R | undefined, signal: AbortSignal, onTimeout: (last: T | undefined) => string): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      let unsubscribe = () => {};
      const finish = (fn: () => void) => {
        unsubscribe();
        signal.removeEventListener('abort', onAbort);
        fn();
      };
      const check = (obj: T | undefined) => {
        try {
          const r = decide(obj);
          if (r !== undefined) finish(() => resolve(r));
        } catch (err) {
          finish(() => reject(err));
        }
      };
      const onAbort = () => finish(() => reject(signal.reason instanceof ManagerError ? signal.reason : deadlineExceeded(onTimeout(this.get(namespace, name)))));
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        unsubscribe = this.subscribe(namespace, name, check);
      } catch (err) {
        return finish(() => reject(err));
      }
      check(this.get(namespace, name));
    });
  }

  /**
   * `until`, bounded by the call: its deadline (a little before), `maxMs`, the client going away,
   * or the manager stopping (UNAVAILABLE).
   */
  async untilForCall<R>(
    namespace: string,
    name: string,
    decide: (obj: T | undefined) => R | undefined,
    wait: { call: { signal: AbortSignal; deadline: number | undefined }; maxMs: number; stopping: AbortSignal },
    onTimeout: (last: T | undefined) => string,
  ): Promise<R> {
    const w = waitSignal(wait.call, wait.maxMs, wait.stopping);
    try {
      return await this.until(namespace, name, decide, w.signal, onTimeout);
    } finally {
      w.clear();
    }
  }

  private notify(obj: T, gone: boolean): void {
    const set = this.listeners.get(`${obj.metadata.namespace ?? ''}/${obj.metadata.name}`);
    if (!set) return;
    for (const fn of [...set]) fn(gone ? undefined : obj);
  }
}

/**
 * An AbortSignal that fires at the call's deadline or after `maxMs`, whichever comes first, or
 * when the call is cancelled: how long a waiting call may wait.
 */
export function waitSignal(call: { signal: AbortSignal; deadline: number | undefined }, maxMs: number, stopping: AbortSignal): { signal: AbortSignal; clear(): void } {
  // A little before the call's deadline, so that the caller gets the manager's answer naming what
  // is not ready rather than grpc-js's bare DEADLINE_EXCEEDED.
  const until = Math.min(call.deadline === undefined ? Infinity : call.deadline - 250, Date.now() + maxMs);
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), Math.max(0, until - Date.now()));
  const onCall = () => abort.abort();
  const onStop = () => abort.abort(unavailable('the manager', 'it is shutting down'));
  call.signal.addEventListener('abort', onCall, { once: true });
  stopping.addEventListener('abort', onStop, { once: true });
  if (stopping.aborted) onStop();
  return {
    signal: abort.signal,
    clear: () => {
      clearTimeout(timer);
      call.signal.removeEventListener('abort', onCall);
      stopping.removeEventListener('abort', onStop);
    },
  };
}

/**
 * Sends `render(obj)` now and after every change that alters it, until the caller goes away
 * (returns) or the object is deleted (`onGone` decides what that ends with). Changes that arrive
 * while a message is being sent collapse into the latest one, so a slow client holds one pending
 * object, never a queue.
 */
export async function followObject<T extends KubeObject, M>(
  follower: ObjectFollower<T>,
  namespace: string,
  name: string,
  render: (obj: T) => M,
  send: (msg: M) => Promise<void>,
  signal: AbortSignal,
  stopping: AbortSignal,
  onGone: () => Error,
): Promise<void> {
  let pending: { obj: T | undefined } | undefined = { obj: follower.get(namespace, name) };
  let wake: (() => void) | undefined;
  const unsubscribe = follower.subscribe(namespace, name, (obj) => {
    pending = { obj };
    wake?.();
  });
  const onAbort = () => wake?.();
  signal.addEventListener('abort', onAbort, { once: true });
  stopping.addEventListener('abort', onAbort, { once: true });
  try {
    let last = '';
    while (!signal.aborted) {
      if (stopping.aborted) throw unavailable('the manager', 'it is shutting down');
      if (!pending) {
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        continue;
      }
      const { obj } = pending;
      pending = undefined;
      if (!obj) throw onGone();
      const msg = render(obj);
      const text = JSON.stringify(msg);
      if (text === last) continue;
      last = text;
      await send(msg);
    }
  } finally {
    unsubscribe();
    signal.removeEventListener('abort', onAbort);
    stopping.removeEventListener('abort', onAbort);
  }
}

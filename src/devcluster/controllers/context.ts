/**
 * What the controllers share: the client, the process's shared cache, the event recorder, the
 * metrics registry, and writes that remember their answer in the informer they concern (see the
 * kube core's informers.ts), so that the next reconcile sees its own writes even before the watch
 * delivers them.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import {
  isAlreadyExists,
  isNotFound,
  type ControllerOptions,
  type DeleteOptions,
  type EventRecorder,
  type Informer,
  type InformerCache,
  type InformerKind,
  type KubeClient,
  type KubeObject,
} from '../../kube/index.ts';
import { canonicalJson } from '../../kube/index.ts';

export interface ControllerContext {
  client: KubeClient;
  informers: InformerCache;
  events: EventRecorder;
  log: Logger;
  /** Where the controllers count their reconciles (`kre_controller_*`). */
  registry?: Registry;
}

/** What every controller of the devcluster runs with: the shared cache, its logger and metrics, a short backoff. */
export function controllerOptions(ctx: ControllerContext, name: string, workers: number): Pick<ControllerOptions, 'name' | 'cache' | 'logger' | 'registry' | 'workers' | 'backoff'> {
  return { name, cache: ctx.informers, logger: ctx.log, registry: ctx.registry, workers, backoff: { baseDelayMs: 50, maxDelayMs: 30_000 } };
}

/**
 * The shared cache's informers of the kinds a reconciler reads, by the names it reads them by:
 * `informersOf(ctx, { jobs: JOBS, pods: PODS }).jobs`.
 */
export function informersOf<K extends string>(ctx: ControllerContext, kinds: Record<K, InformerKind>): Record<K, Informer> {
  return Object.fromEntries(Object.entries<InformerKind>(kinds).map(([name, kind]) => [name, ctx.informers.for(kind)])) as Record<K, Informer>;
}

function refOf(informer: Informer, obj: KubeObject) {
  return { ...informer.resource, namespace: obj.metadata.namespace, name: obj.metadata.name! };
}

export async function createObject(ctx: ControllerContext, informer: Informer, obj: KubeObject): Promise<KubeObject | undefined> {
  try {
    const created = await ctx.client.create({ ...informer.resource, namespace: obj.metadata.namespace }, obj);
    informer.wrote(created);
    return created;
  } catch (err) {
    // Someone (an earlier reconcile whose write the cache has not seen) made it already.
    if (isAlreadyExists(err)) return undefined;
    throw err;
  }
}

export async function patchObject(ctx: ControllerContext, informer: Informer, obj: KubeObject, patch: unknown): Promise<KubeObject> {
  const updated = await ctx.client.patch(refOf(informer, obj), patch, { type: 'merge' });
  informer.wrote(updated);
  return updated;
}

export async function deleteObject(ctx: ControllerContext, informer: Informer, obj: KubeObject, opts: DeleteOptions = {}): Promise<void> {
  try {
    const answer = await ctx.client.delete(refOf(informer, obj), { preconditions: { uid: obj.metadata.uid }, ...opts });
    informer.deleted(obj, answer && 'metadata' in answer && answer.metadata ? answer : undefined);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    informer.deleted(obj);
  }
}

/** Replaces an object at the version read. */
export async function updateObject(ctx: ControllerContext, informer: Informer, obj: KubeObject): Promise<KubeObject> {
  const updated = await ctx.client.update(refOf(informer, obj), obj);
  informer.wrote(updated);
  return updated;
}

/**
 * Writes `status` through the status subresource, at the version read, unless it is already so.
 * Resolves to the object written, or undefined when nothing was.
 */
export async function writeStatus(ctx: ControllerContext, informer: Informer, obj: KubeObject, status: unknown): Promise<KubeObject | undefined> {
  if (canonicalJson(obj.status ?? {}) === canonicalJson(status)) return undefined;
  const updated = await ctx.client.update(refOf(informer, obj), { ...obj, status }, { subresource: 'status' });
  informer.wrote(updated);
  return updated;
}

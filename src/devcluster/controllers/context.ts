/**
 * What the controllers share: the client, the shared caches, the event recorder, and writes that
 * remember their answer in the cache they concern (see informers.ts), so that the next reconcile
 * sees its own writes even before the watch delivers them.
 */
import type { Logger } from 'pino';
import { canonicalJson, isAlreadyExists, isNotFound, objectKey, type DeleteOptions, type KubeClient, type KubeObject } from '../../kube/index.ts';
import type { EventRecorder } from '../../kube/index.ts';
import type { Informer, Informers } from './informers.ts';

export interface ControllerContext {
  client: KubeClient;
  informers: Informers;
  events: EventRecorder;
  log: Logger;
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
    informer.deleted(obj, (answer as KubeObject)?.metadata ? (answer as KubeObject) : undefined);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    informer.deleted(obj);
  }
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

/**
 * The versions of its objects a controller wrote itself (its status, its annotations): their watch
 * events tell it nothing new, so they do not make it reconcile again. Anyone else's write does.
 */
export class OwnWrites {
  private readonly versions = new Map<string, string>();

  /** Remembers `obj` (the server's answer to a write) as this controller's. */
  note(obj: KubeObject | undefined): void {
    const rv = obj?.metadata?.resourceVersion;
    if (obj && rv) this.versions.set(objectKey(obj), rv);
  }

  /** True, once, when `obj` is the version this controller wrote last. */
  isOwn(obj: KubeObject): boolean {
    const key = objectKey(obj);
    const rv = this.versions.get(key);
    if (rv === undefined) return false;
    if (rv === obj.metadata.resourceVersion) {
      this.versions.delete(key);
      return true;
    }
    // A newer version is someone else's; an older one is still on its way.
    if (Number(obj.metadata.resourceVersion) > Number(rv)) this.versions.delete(key);
    return false;
  }

  forget(obj: KubeObject): void {
    this.versions.delete(objectKey(obj));
  }
}

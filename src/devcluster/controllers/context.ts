/**
 * What the controllers share: the client, the shared caches, the event recorder, and writes that
 * remember their answer in the cache they concern (see informers.ts), so that the next reconcile
 * sees its own writes even before the watch delivers them.
 */
import type { Logger } from 'pino';
import { isAlreadyExists, isNotFound, type DeleteOptions, type KubeClient, type KubeObject } from '../../kube/index.ts';
import type { EventRecorder } from './events.ts';
import type { Informer, Informers } from './informers.ts';
import { canonicalJson } from './hash.ts';

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

/** Writes `status` through the status subresource, at the version read, unless it is already so. */
export async function writeStatus(ctx: ControllerContext, informer: Informer, obj: KubeObject, status: unknown): Promise<void> {
  if (canonicalJson(obj.status ?? {}) === canonicalJson(status)) return;
  const updated = await ctx.client.update(refOf(informer, obj), { ...obj, status }, { subresource: 'status' });
  informer.wrote(updated);
}

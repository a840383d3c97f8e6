/**
 * The writes a reconciler makes, in the forms that keep reconciles idempotent: server-side apply of
 * the full desired object, finalizers added or removed only when needed, status written
 * read-modify-write with retries on conflict, and controller owner references so deletion cascades.
 */
import {
  isConflict,
  type KubeClient,
  type KubeObject,
  type OwnerReference,
  type ResourceRef,
} from './client.ts';
import { sameJson } from './json.ts';

/**
 * Server-side apply of `obj` (which carries apiVersion, kind and metadata.name) as the intent of
 * `fieldManager`. `force` takes over fields another manager owns instead of failing with 409 —
 * what a controller wants for the objects it alone renders.
 */
export async function applyObject<T extends KubeObject = KubeObject>(
  client: KubeClient,
  obj: KubeObject,
  opts: { fieldManager: string; force?: boolean; subresource?: string },
): Promise<T> {
  const ref = await client.refFor(obj);
  // managedFields and resourceVersion in an apply body are what the server would reject or compare;
  // the intent is the rest.
  const { managedFields: _m, resourceVersion: _rv, ...metadata } = obj.metadata;
  return client.apply<T>(ref, { ...obj, metadata }, opts);
}

/** Adds a finalizer unless present. Returns the object as it is now on the server. */
export function addFinalizer<T extends KubeObject>(client: KubeClient, obj: T, finalizer: string): Promise<T> {
  return editFinalizers(client, obj, (list) => (list.includes(finalizer) ? undefined : [...list, finalizer]));
}

/** Removes a finalizer if present. Returns the object as it is now on the server. */
export function removeFinalizer<T extends KubeObject>(client: KubeClient, obj: T, finalizer: string): Promise<T> {
  return editFinalizers(client, obj, (list) => (list.includes(finalizer) ? list.filter((f) => f !== finalizer) : undefined));
}

/**
 * Finalizers are a list, which a merge patch replaces whole: so the patch carries the version it
 * was computed from, and a conflict rereads and recomputes (nobody else's finalizer gets dropped).
 */
async function editFinalizers<T extends KubeObject>(
  client: KubeClient,
  obj: T,
  edit: (finalizers: string[]) => string[] | undefined,
): Promise<T> {
  const ref = await client.refFor(obj);
  let current = obj;
  for (let attempt = 0; ; attempt++) {
    const next = edit(current.metadata.finalizers ?? []);
    if (!next) return current;
    try {
      return await client.patch<T>(ref, { metadata: { finalizers: next, resourceVersion: current.metadata.resourceVersion } }, { type: 'merge' });
    } catch (err) {
      if (!isConflict(err) || attempt >= 4) throw err;
      current = await client.get<T>(ref);
    }
  }
}

/**
 * Writes `/status` read-modify-write: reads the object, lets `mutate` change its status (returning
 * false means "nothing to change", and then nothing is written), and PUTs it at the read version.
 * On 409 Conflict it reads again and retries, so a status write never clobbers a newer object.
 */
export async function updateStatusWithRetry<T extends KubeObject>(
  client: KubeClient,
  ref: ResourceRef & { name: string },
  mutate: (obj: T) => T | void | false,
  opts: { attempts?: number; fieldManager?: string } = {},
): Promise<T> {
  const attempts = opts.attempts ?? 5;
  for (let attempt = 1; ; attempt++) {
    const current = await client.get<T>(ref);
    const draft = structuredClone(current);
    const result = mutate(draft);
    if (result === false) return current;
    const next = result ?? draft;
    // The server answers with keys in its own order, not the writer's: compare the content.
    if (sameJson(next.status, current.status)) return current;
    try {
      return await client.update<T>(ref, next, { subresource: 'status', fieldManager: opts.fieldManager });
    } catch (err) {
      if (!isConflict(err) || attempt >= attempts) throw err;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
    }
  }
}

/**
 * Makes `owner` the controller of `child` (controller and blockOwnerDeletion true), so that the
 * garbage collector deletes the child with its owner and owned-kind events reach the owner's
 * controller. A child already controlled by another object is an error: two controllers would
 * fight over it.
 */
export function setControllerOwner<T extends KubeObject>(child: T, owner: KubeObject): T {
  const { apiVersion, kind } = owner;
  const { name, uid } = owner.metadata;
  if (!apiVersion || !kind || !name || !uid) throw new Error('an owner needs apiVersion, kind, metadata.name and metadata.uid');
  if (owner.metadata.namespace && child.metadata.namespace && owner.metadata.namespace !== child.metadata.namespace) {
    throw new Error(`${kind} ${owner.metadata.namespace}/${name} cannot own an object in namespace ${child.metadata.namespace}`);
  }
  const refs = child.metadata.ownerReferences ?? [];
  const other = refs.find((r) => r.controller && r.uid !== uid);
  if (other) throw new Error(`${child.kind ?? 'object'} ${child.metadata.name} is already controlled by ${other.kind} ${other.name}`);
  const ref: OwnerReference = { apiVersion, kind, name, uid, controller: true, blockOwnerDeletion: true };
  child.metadata.ownerReferences = [...refs.filter((r) => r.uid !== uid), ref];
  return child;
}

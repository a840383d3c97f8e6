/**
 * How the operator writes the objects it renders so that a reconcile of an unchanged object makes
 * no write, while a child edited by hand is set back: each child carries the hash of what was
 * rendered for it, and is applied (server-side, field manager `kre-operator`, forced) when that hash
 * differs from the one on the cached object, or when the cached object no longer holds every field
 * that was rendered (see drift.ts). Secrets are compared by their data too, so no digest of a
 * credential is ever stored.
 */
import { createHash } from 'node:crypto';
import {
  applyObject,
  isNotFound,
  KubeApiError,
  keyOf,
  versionNumber,
  WriteMemory,
  type KubeClient,
  type KubeObject,
  type ObjectStore,
  type Secret,
} from '../kube/index.ts';
import { findDrift, type Drift } from './drift.ts';

export const FIELD_MANAGER = 'kre-operator';
export const RENDERED_HASH = 'kre.konstellation.io/rendered-hash';
/** Every child the operator renders carries this label; the operator's caches watch only those. */
export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'kre-operator' } as const;
export const MANAGED_BY_SELECTOR = 'app.kubernetes.io/managed-by=kre-operator';

/** The children as the operator's caches see them, by kind. */
export class ChildCache {
  constructor(private readonly stores: Map<string, ObjectStore>) {}

  get(kind: string, namespace: string, name: string): KubeObject | undefined {
    return this.stores.get(kind)?.get(namespace, name);
  }

  list(kind: string, namespace: string, labelSelector?: string): KubeObject[] {
    return this.stores.get(kind)?.list({ namespace, labelSelector }) ?? [];
  }

  /** Children of kind `kind` whose controller is the object with `uid`. */
  ownedBy(kind: string, namespace: string, uid: string): KubeObject[] {
    return this.list(kind, namespace).filter((o) => o.metadata.ownerReferences?.some((r) => r.controller && r.uid === uid));
  }
}

export function sha256(value: unknown): string {
  return createHash('sha256').update(typeof value === 'string' ? value : JSON.stringify(value)).digest('hex');
}

export function renderedHash(obj: KubeObject): string {
  const { data: _data, stringData: _stringData, ...rest } = obj;
  return sha256(obj.kind === 'Secret' ? rest : obj).slice(0, 32);
}

export class ChildWriter {
  /**
   * What this process last wrote per child: the cache may not have seen a write yet when the next
   * reconcile runs, and applying the same thing again would be a wasted write. Kept while the
   * child is (no time limit: the cache showing exactly that write is what stops a redundant apply);
   * the memory's bound on entries holds it.
   */
  private readonly written = new WriteMemory<string>({ ttlMs: Infinity });

  constructor(
    private readonly client: KubeClient,
    private readonly cache: ChildCache,
  ) {}

  /**
   * Applies `desired` unless the cache shows it applied and unchanged since; says whether it wrote.
   * `onDrift` hears of a child applied again because a field was changed behind the operator.
   */
  async ensure(desired: KubeObject, onDrift?: (drift: Drift) => void): Promise<boolean> {
    const hash = renderedHash(desired);
    const namespace = desired.metadata.namespace ?? '';
    const name = desired.metadata.name ?? '';
    const key = `${desired.kind}/${keyOf(namespace, name)}`;
    const current = this.cache.get(desired.kind ?? '', namespace, name);
    const obj = structuredClone(desired);
    obj.metadata.annotations = { ...obj.metadata.annotations, [RENDERED_HASH]: hash };
    const sameHash = current?.metadata.annotations?.[RENDERED_HASH] === hash;
    const drift = current && sameHash ? findDrift(obj, current) : undefined;
    if (current && sameHash && sameSecretData(desired, current) && !drift) return false;
    // The cache not yet showing this process's last write of the same rendering, or showing exactly
    // what that write produced: applying again could change nothing (a difference the server makes
    // to what it is given is not drift), so it is not done.
    const mine = this.written.get(key);
    if (mine && mine.value === hash && notNewerThan(current, mine.resourceVersion)) return false;
    if (drift) onDrift?.(drift);
    try {
      let applied: KubeObject;
      try {
        applied = await applyObject(this.client, obj, { fieldManager: FIELD_MANAGER, force: true });
      } catch (err) {
        if (!drift || !current || !(err instanceof KubeApiError) || err.code !== 422) throw err;
        await this.takeBackList(obj, current, drift);
        applied = await applyObject(this.client, obj, { fieldManager: FIELD_MANAGER, force: true });
      }
      this.written.set(key, hash, applied.metadata.resourceVersion);
      return true;
    } catch (err) {
      throw new Error(`could not apply ${desired.kind} ${name}: ${(err as Error).message}`, { cause: err });
    }
  }

  /**
   * An item of a keyed list edited by hand (a Service port renumbered) is another manager's item,
   * which a forced apply keeps beside the one it puts back; when the two collide (the same port
   * name twice) the server refuses the apply. The list the drift is in is then replaced whole with
   * the rendered one, by a merge patch at the version the drift was seen in, and the apply retried.
   */
  private async takeBackList(rendered: KubeObject, current: KubeObject, drift: Drift): Promise<void> {
    const list = drift.at.findIndex((k) => typeof k === 'number');
    if (list <= 0) throw new Error(`${drift.path} differs from what was rendered and cannot be set back`);
    const at = drift.at.slice(0, list) as string[];
    let value: unknown = rendered;
    for (const k of at) value = (value as Record<string, unknown>)[k];
    const patch: Record<string, unknown> = { metadata: { resourceVersion: current.metadata.resourceVersion } };
    let node = patch;
    at.forEach((k, i) => {
      if (i === at.length - 1) node[k] = value;
      else node = (node[k] = { ...(node[k] as Record<string, unknown> | undefined) }) as Record<string, unknown>;
    });
    await this.client.patch(await this.client.refFor(rendered), patch, { type: 'merge', fieldManager: FIELD_MANAGER });
  }

  /** Deletes a child; one already gone is not an error. */
  async remove(child: KubeObject): Promise<void> {
    const name = child.metadata.name ?? '';
    this.written.delete(`${child.kind}/${keyOf(child.metadata.namespace, name)}`);
    try {
      const ref = await this.client.refFor(child);
      await this.client.delete(ref, { propagationPolicy: 'Background', preconditions: { uid: child.metadata.uid } });
    } catch (err) {
      if (isNotFound(err)) return;
      throw new Error(`could not delete ${child.kind} ${name}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Called when the cache sees a child deleted: the next reconcile must write it again. */
  forget(obj: KubeObject): void {
    this.written.delete(`${obj.kind}/${keyOf(obj.metadata.namespace, obj.metadata.name ?? '')}`);
  }
}

function sameSecretData(desired: KubeObject, current: KubeObject): boolean {
  if (desired.kind !== 'Secret') return true;
  const [want, have]: Secret[] = [desired, current];
  return JSON.stringify(sortedEntries(want.data)) === JSON.stringify(sortedEntries(have.data));
}

function sortedEntries(data: Record<string, string> | undefined): [string, string][] {
  return Object.entries(data ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Whether the cached object is the one a write made at `written` returned, or predates it.
 * resourceVersions are integers on kube-apiserver and the devcluster; anything else is treated as
 * "newer", which only costs a redundant apply.
 */
function notNewerThan(current: KubeObject | undefined, written: string): boolean {
  if (!current) return true;
  const a = versionNumber(current);
  const b = Number(written);
  return a > 0 && Number.isSafeInteger(b) && a <= b;
}

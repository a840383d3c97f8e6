/**
 * How the operator writes the objects it renders so that a reconcile of an unchanged object makes
 * no write: each child carries the hash of what was rendered for it, and is applied (server-side,
 * field manager `kre-operator`) only when that hash differs from the one on the cached object.
 * Secrets are compared by their data instead, so no digest of a credential is ever stored.
 */
import { createHash } from 'node:crypto';
import {
  applyObject,
  isNotFound,
  keyOf,
  type KubeClient,
  type KubeObject,
  type ObjectStore,
} from '../kube/index.ts';

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

interface Written {
  hash: string;
  resourceVersion: string | undefined;
}

export class ChildWriter {
  /**
   * What this process last wrote per child: the cache may not have seen a write yet when the next
   * reconcile runs, and applying the same thing again would be a wasted write.
   */
  private readonly written = new Map<string, Written>();

  constructor(
    private readonly client: KubeClient,
    private readonly cache: ChildCache,
  ) {}

  /** Applies `desired` unless the cache shows it already applied; says whether it wrote. */
  async ensure(desired: KubeObject): Promise<boolean> {
    const hash = renderedHash(desired);
    const namespace = desired.metadata.namespace ?? '';
    const name = desired.metadata.name ?? '';
    const key = `${desired.kind}/${keyOf(namespace, name)}`;
    const current = this.cache.get(desired.kind ?? '', namespace, name);
    if (current && current.metadata.annotations?.[RENDERED_HASH] === hash && sameSecretData(desired, current)) return false;
    const mine = this.written.get(key);
    if (mine && mine.hash === hash && olderThan(current, mine.resourceVersion)) return false;
    const obj = structuredClone(desired);
    obj.metadata.annotations = { ...obj.metadata.annotations, [RENDERED_HASH]: hash };
    try {
      const applied = await applyObject(this.client, obj, { fieldManager: FIELD_MANAGER, force: true });
      this.written.set(key, { hash, resourceVersion: applied.metadata.resourceVersion });
      return true;
    } catch (err) {
      throw new Error(`could not apply ${desired.kind} ${name}: ${(err as Error).message}`, { cause: err });
    }
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
  return JSON.stringify(sortedEntries(desired.data)) === JSON.stringify(sortedEntries(current.data));
}

function sortedEntries(data: Record<string, string> | undefined): [string, string][] {
  return Object.entries(data ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Whether the cached object predates a write made at `written`. resourceVersions are integers on
 * kube-apiserver and the devcluster; anything else is treated as "not older", which only costs a
 * redundant apply.
 */
function olderThan(current: KubeObject | undefined, written: string | undefined): boolean {
  if (!current) return true;
  const a = Number(current.metadata.resourceVersion);
  const b = Number(written);
  return Number.isSafeInteger(a) && Number.isSafeInteger(b) && a < b;
}

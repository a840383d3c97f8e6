/**
 * Every page of one list, read as one consistent snapshot: the first page at `resourceVersion`
 * (unset: the server's current state), the next ones by continue token. A token that expires
 * mid-way restarts the list from the start at the current state, since pages from two snapshots do
 * not make one list. Items come back as the cache keeps objects: with apiVersion and kind (list
 * items may lack them) and without managedFields.
 */
import { apiVersionOf, isExpired, type KubeClient, type KubeList, type KubeObject, type ResourceRef } from './client.ts';

export interface ListAllOptions {
  labelSelector?: string;
  fieldSelector?: string;
  /** The version of the first page; unset or '' for the current state. */
  resourceVersion?: string;
  pageSize?: number;
  /** Stops between pages: what was read so far is returned. */
  signal?: AbortSignal;
  /** Wraps each page request, e.g. to count it. */
  request?<L>(call: () => Promise<L>): Promise<L>;
  /** Called when an expired continue token restarts the list. */
  onRestart?(): void;
}

const MAX_RESTARTS = 3;

export async function listAll<T extends KubeObject = KubeObject>(
  client: KubeClient,
  ref: ResourceRef,
  opts: ListAllOptions = {},
): Promise<{ items: T[]; resourceVersion: string }> {
  let resourceVersion = opts.resourceVersion || undefined;
  for (let restart = 0; ; restart++) {
    const items: T[] = [];
    let token: string | undefined;
    let listVersion = '';
    try {
      do {
        const call = () =>
          client.list<T>(ref, {
            labelSelector: opts.labelSelector,
            fieldSelector: opts.fieldSelector,
            limit: opts.pageSize ?? 500,
            // The server takes resourceVersion on the first page only; the token carries it after.
            ...(token ? { continue: token } : { resourceVersion }),
          });
        const page: KubeList<T> = opts.request ? await opts.request(call) : await call();
        if (!token) listVersion = page.metadata.resourceVersion ?? '';
        const kind = ref.kind ?? page.kind?.replace(/List$/, '');
        for (const item of page.items) items.push(asCached(item, page.apiVersion ?? apiVersionOf(ref), kind));
        token = page.metadata.continue || undefined;
      } while (token && !opts.signal?.aborted);
      return { items, resourceVersion: listVersion };
    } catch (err) {
      if (!token || !isExpired(err) || restart >= MAX_RESTARTS) throw err;
      opts.onRestart?.();
      resourceVersion = undefined;
    }
  }
}

/** An object as caches keep it: describing itself (apiVersion, kind), without managedFields. */
export function asCached<T extends KubeObject>(obj: T, apiVersion?: string, kind?: string): T {
  if (obj.metadata?.managedFields) delete obj.metadata.managedFields;
  if (!obj.apiVersion && apiVersion) obj.apiVersion = apiVersion;
  if (!obj.kind && kind) obj.kind = kind;
  return obj;
}

/**
 * The monitor's requests to the API server, each counted (by verb, resource and answer code) so
 * that /metrics shows the load the monitor puts on the server, and the paginated list that the
 * stream and the verifier share.
 */
import { KubeApiError, isExpired, type KubeClient, type KubeObject, type ResourceType } from '../kube/index.ts';

/** Counts one request: `code` is the HTTP status, or `error` when no answer came. */
export type RecordApiCall = (verb: string, resource: string, code: string) => void;

export async function tracked<T>(record: RecordApiCall, verb: string, resource: string, call: () => Promise<T>): Promise<T> {
  try {
    const value = await call();
    record(verb, resource, '200');
    return value;
  } catch (err) {
    record(verb, resource, err instanceof KubeApiError ? String(err.code) : 'error');
    throw err;
  }
}

export interface ListTarget {
  client: KubeClient;
  resource: ResourceType & { kind: string };
  /** The name metrics and logs use for the resource. */
  id: string;
  namespace?: string;
  fieldSelector?: string;
  pageSize: number;
  record: RecordApiCall;
  signal?: AbortSignal;
}

/**
 * Every page of a consistent list (resourceVersion unset: the server's current state). A continue
 * token that expired mid-way starts the list again, since pages from two snapshots do not make one.
 */
export async function listAll(t: ListTarget): Promise<{ items: KubeObject[]; resourceVersion: string }> {
  for (let attempt = 0; ; attempt++) {
    const items: KubeObject[] = [];
    let token: string | undefined;
    let version = '';
    try {
      do {
        const page = await tracked(t.record, 'list', t.id, () =>
          t.client.list({ ...t.resource, namespace: t.namespace }, { limit: t.pageSize, continue: token, fieldSelector: t.fieldSelector }),
        );
        if (!token) version = page.metadata.resourceVersion ?? '';
        const apiVersion = t.resource.group ? `${t.resource.group}/${t.resource.version}` : t.resource.version;
        for (const item of page.items) items.push(normalize(item, apiVersion, t.resource.kind));
        token = page.metadata.continue || undefined;
      } while (token && !t.signal?.aborted);
      return { items, resourceVersion: version };
    } catch (err) {
      if (token && isExpired(err) && attempt < 3) continue;
      throw err;
    }
  }
}

/**
 * Objects as the cache keeps them: with apiVersion and kind (list items may lack them), without
 * managedFields (large, and nothing reading the monitor needs them).
 */
export function normalize(obj: KubeObject, apiVersion: string, kind: string): KubeObject {
  if (obj.metadata?.managedFields) delete obj.metadata.managedFields;
  if (!obj.apiVersion) obj.apiVersion = apiVersion;
  if (!obj.kind) obj.kind = kind;
  return obj;
}

/**
 * The monitor's requests to the API server, each counted (by verb, resource and answer code) so
 * that /metrics shows the load the monitor puts on the server.
 */
import { KubeApiError, listAll, type KubeClient, type KubeObject, type ResourceType } from '../kube/index.ts';

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

/** Every page of a consistent list at the server's current state, each request counted. */
export function listAllTracked(t: ListTarget): Promise<{ items: KubeObject[]; resourceVersion: string }> {
  return listAll(t.client, { ...t.resource, namespace: t.namespace }, {
    fieldSelector: t.fieldSelector,
    pageSize: t.pageSize,
    signal: t.signal,
    request: (call) => tracked(t.record, 'list', t.id, call),
  });
}

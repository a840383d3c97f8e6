/**
 * Where the monitor keeps what it knows, as three views of each resource:
 *
 * - `streamed`: the state the watch stream alone has built (events applied as they come; a relist
 *   after 410 Expired is part of following the stream). Under lost events it has ghosts and holes.
 * - `verified`: the last complete list, exactly as of its resourceVersion and time.
 * - `aggregated`: the verified list plus every streamed change after it (see aggregate.ts).
 *
 * The interface is asynchronous so that a store kept outside the process (Redis) can implement it;
 * the in-memory store answers at once.
 */
import type { KubeObject } from '../kube/index.ts';
import type { Entry } from './entry.ts';

export type View = 'streamed' | 'verified' | 'aggregated';
export const VIEWS: readonly View[] = ['aggregated', 'streamed', 'verified'];

/** Where a served object comes from. */
export type Source = 'verified' | 'streamed';

export interface Freshness {
  view: View;
  /** When the last verification list was taken (ISO 8601), null before the first. */
  verifiedTime: string | null;
  verifiedResourceVersion: string | null;
  /** The version the stream has reached (last event, bookmark or list). */
  streamResourceVersion: string | null;
  /**
   * How old the view's news may be, in seconds: for `verified`, the age of the last verification;
   * for `streamed` and `aggregated`, the time since the stream last heard from the server (an event,
   * a bookmark or a list). Null when there is nothing yet.
   */
  stalenessSeconds: number | null;
}

export interface CachedObject<T extends KubeObject = KubeObject> {
  object: T;
  source: Source;
  /** The object serialized as served, when the store keeps it so (the in-memory store does). */
  readonly entry?: Entry;
}

export interface StoreQuery {
  namespace?: string;
  name?: string;
  /** Full Kubernetes label selector syntax; already validated by the caller. */
  labelSelector?: string;
  /** Pods on this node (spec.nodeName). */
  nodeName?: string;
  /** Anything else (field selectors): applied after the indexes narrowed the candidates. */
  filter?: (obj: KubeObject) => boolean;
}

export interface QueryResult<T extends KubeObject = KubeObject> {
  items: CachedObject<T>[];
  freshness: Freshness;
}

/** A change heard on the stream. `resourceVersion` is the event's (for DELETED, the deletion's). */
export interface StreamChange {
  type: 'upsert' | 'delete';
  object: KubeObject;
  resourceVersion: string;
  /** When the monitor received it (ms since the epoch). */
  receivedAt: number;
}

/** A complete list of a resource from the verifier. */
export interface VerifiedList {
  items: KubeObject[];
  resourceVersion: string;
  /** When the list's first page was asked for (ms since the epoch): the time it describes. */
  listedAt: number;
}

/** What a verification found the aggregated view had wrong, and corrected. */
export interface Corrections {
  /** Objects on the server the view lacked although the stream was past their version. */
  missedAdds: number;
  /** Objects in the view the server no longer has although the stream was past the list. */
  ghosts: number;
  /** Objects the view held at an older version than the server although the stream was past it. */
  staleVersions: number;
}

export interface MonitorStore {
  /** One event from the watch stream. */
  streamEvent(resource: string, change: StreamChange): Promise<void>;
  /** The stream (re)listed: it now knows exactly these objects at `resourceVersion`. */
  streamListed(resource: string, items: KubeObject[], resourceVersion: string, receivedAt: number): Promise<void>;
  /** A bookmark: the stream is at this version and alive. */
  streamProgress(resource: string, resourceVersion: string, receivedAt: number): Promise<void>;
  /** A verification list: becomes the verified view and the base of the aggregated one. */
  verified(resource: string, list: VerifiedList): Promise<Corrections>;

  list(resource: string, view: View, query?: StoreQuery): Promise<QueryResult>;
  get(resource: string, view: View, namespace: string | undefined, name: string): Promise<{ item?: CachedObject; freshness: Freshness }>;
  freshness(resource: string, view: View): Promise<Freshness>;
  /** Objects held per view, for metrics and the benchmark. */
  sizes(resource: string): Promise<Record<View, number>>;
}

/** The store cannot answer now (its backing service is down); `message` says why. HTTP 503. */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
}

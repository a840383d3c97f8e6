/**
 * What the page shows, as the server sends it: plain data shared by the server and the browser code
 * (no imports, so the browser bundle takes it as it is).
 */

export interface ComponentView {
  /** MongoDB, NATS, MinIO. */
  name: string;
  ready: boolean;
  message: string;
}

export interface PodView {
  name: string;
  phase: string;
  ready: boolean;
  restarts: number;
  node: string;
  /** RFC 3339; the page shows the age from it. */
  created: string;
}

export interface VersionView {
  name: string;
  /** Started or Stopped: what was asked. */
  state: string;
  phase: string;
  published: boolean;
  /** Ready workloads out of all (`3/3`). */
  ready: string;
  message: string;
  pods: PodView[];
}

export interface RuntimeView {
  namespace: string;
  name: string;
  phase: string;
  components: ComponentView[];
  publishedVersion: string;
  versions: VersionView[];
  /** The runtime's own pods (MongoDB, NATS, MinIO). */
  pods: PodView[];
}

export interface StateView {
  runtimes: RuntimeView[];
  /** Empty when the last read of the monitor worked; else why it did not. */
  error: string;
  /** When the monitor was last read (ms since the epoch). */
  at: number;
}

export interface PointView {
  /** ms since the epoch. */
  t: number;
  /** Millicores. */
  cpu: number;
  /** Bytes. */
  mem: number;
}

export type ActionName = 'start' | 'stop' | 'publish' | 'unpublish';
export const ACTIONS: readonly ActionName[] = ['start', 'stop', 'publish', 'unpublish'];

/** The header the page sends its session's CSRF token in, with every action. */
export const CSRF_HEADER = 'x-kre-csrf';

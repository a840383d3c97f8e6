/**
 * One WatchVersion per version being looked at, shared by every browser tab looking at it: the
 * first viewer opens the stream (from `windowSeconds` ago, so the graph starts filled), later ones
 * get the points kept so far, and the stream ends `lingerMs` after the last viewer left (a tab
 * switching graphs or reloading does not reopen it). A stream that ends with an error is reported to
 * its viewers and reopened after a pause while anyone still looks.
 */
import type { Logger } from 'pino';
import type { ManagerCallError, ManagerLink } from './manager.ts';
import type { PointView } from './view.ts';

export interface GraphViewer {
  points(p: PointView[]): void;
  error(message: string): void;
}

interface Graph {
  namespace: string;
  version: string;
  viewers: Set<GraphViewer>;
  /** The last `maxPoints` points, oldest first. */
  kept: PointView[];
  stream?: { cancel(): void };
  linger?: NodeJS.Timeout;
  retry?: NodeJS.Timeout;
}

export interface GraphHubOptions {
  manager: ManagerLink;
  logger: Logger;
  maxPoints: number;
  windowSeconds: number;
  stepSeconds: number;
  lingerMs: number;
  retryMs?: number;
}

export class GraphHub {
  private readonly graphs = new Map<string, Graph>();

  constructor(private readonly o: GraphHubOptions) {}

  /** Streams open to the manager and viewers now, for `/metrics` and tests. */
  stats(): { streams: number; viewers: number } {
    let streams = 0;
    let viewers = 0;
    for (const g of this.graphs.values()) {
      if (g.stream) streams++;
      viewers += g.viewers.size;
    }
    return { streams, viewers };
  }

  /** Starts sending `viewer` the version's points (those kept first); returns the function that stops it. */
  view(namespace: string, version: string, viewer: GraphViewer): () => void {
    const key = `${namespace}/${version}`;
    let g = this.graphs.get(key);
    if (!g) {
      g = { namespace, version, viewers: new Set(), kept: [] };
      this.graphs.set(key, g);
    }
    clearTimeout(g.linger);
    g.linger = undefined;
    g.viewers.add(viewer);
    if (g.kept.length > 0) viewer.points(g.kept);
    if (!g.stream && !g.retry) this.open(g);
    const graph = g;
    return () => {
      graph.viewers.delete(viewer);
      if (graph.viewers.size === 0 && !graph.linger) graph.linger = setTimeout(() => this.end(key), this.o.lingerMs);
    };
  }

  close(): void {
    for (const key of [...this.graphs.keys()]) this.end(key);
  }

  private end(key: string): void {
    const g = this.graphs.get(key);
    if (!g || g.viewers.size > 0) return;
    clearTimeout(g.linger);
    clearTimeout(g.retry);
    g.stream?.cancel();
    this.graphs.delete(key);
  }

  private open(g: Graph): void {
    // After a break, only what is missing: from the last point kept.
    const last = g.kept.at(-1)?.t;
    const from = last !== undefined ? last + 1 : Date.now() - this.o.windowSeconds * 1000;
    g.stream = this.o.manager.watchVersion(
      { versionName: g.version, namespace: g.namespace, fromDate: new Date(from).toISOString(), toDate: '', step: this.o.stepSeconds },
      {
        points: (p) => {
          const newest = g.kept.at(-1)?.t ?? -Infinity;
          const fresh = p.filter((x) => x.t > newest);
          if (fresh.length === 0) return;
          g.kept.push(...fresh);
          if (g.kept.length > this.o.maxPoints) g.kept.splice(0, g.kept.length - this.o.maxPoints);
          for (const v of g.viewers) v.points(fresh);
        },
        end: (err?: ManagerCallError) => {
          g.stream = undefined;
          if (this.graphs.get(`${g.namespace}/${g.version}`) !== g) return;
          const message = err ? `the manager's stream of ${g.version} ended: ${err.message}` : `the manager ended the stream of ${g.version}`;
          this.o.logger.warn({ namespace: g.namespace, version: g.version, err: err?.message }, 'graph stream ended');
          for (const v of g.viewers) v.error(message);
          g.retry = setTimeout(() => {
            g.retry = undefined;
            if (g.viewers.size > 0) this.open(g);
          }, this.o.retryMs ?? 5000);
        },
      },
    );
  }
}

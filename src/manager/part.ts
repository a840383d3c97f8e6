/**
 * The manager as a running part: its version metrics source, the gRPC API, and the HTTP server of
 * `/metrics`, `/livez` and `/readyz`, started in that order over one registry. `kre manager` and
 * `kre dev` both start it this way; what differs between them is only the configuration.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';
import { ConfigError, listening, servePartHttp, type Logger, type PartHttp } from '../kube/index.ts';
import { startManager, type Manager, type ManagerOptions } from './server.ts';
import { startResourceMetricsService } from './resource-metrics-service.ts';

export type ManagerPartOptions = Pick<ManagerOptions, 'config' | 'token' | 'kube' | 'operatorRules'> & { logger: Logger };

export interface ManagerPart {
  manager: Manager;
  /** `/metrics`, `/livez`, `/readyz`. */
  http: PartHttp;
  /** Where the version metrics come from: `prometheus` or `metrics-api`. */
  metricsSource: string;
  /** Stops all of it; the kube client stays open, as it is the caller's. */
  stop(): Promise<void>;
}

/** Starts the manager's pieces; a failure stops those already started and is thrown on. */
export async function startManagerPart(o: ManagerPartOptions): Promise<ManagerPart> {
  const { config, logger } = o;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const started: Array<() => Promise<void> | void> = [];
  try {
    const metrics = await startResourceMetricsService({ config: config.metrics, kube: o.kube, logger, registry });
    started.push(() => metrics.close());
    // gRPC's bind fails without an errno code: whatever stops it serving is the listen address's fault.
    const manager = await startManager({ config, token: o.token, kube: o.kube, logger, registry, operatorRules: o.operatorRules, resourceMetrics: metrics.handlers, resourceMetricsReady: metrics.ready }).catch((err: unknown) => {
      throw err instanceof ConfigError ? err : new ConfigError(`invalid configuration: listen: cannot serve on ${config.listen}: ${(err as Error).message}`, 'listen');
    });
    started.push(() => manager.stop());
    const http = await listening('httpListen', config.httpListen, () => servePartHttp({ listen: config.httpListen, ready: () => manager.ready(), metrics: registry }));
    started.push(() => http.close());
    let stopped: Promise<void> | undefined;
    return {
      manager,
      http,
      metricsSource: metrics.metrics.source.kind,
      // Open WatchVersion streams end first (UNAVAILABLE), so that they do not hold the gRPC server's shutdown.
      stop: () => (stopped ??= stopAll(started.splice(0))),
    };
  } catch (err) {
    await stopAll(started.splice(0).reverse());
    throw err;
  }
}

async function stopAll(stops: Array<() => Promise<void> | void>): Promise<void> {
  for (const stop of stops) await stop();
}

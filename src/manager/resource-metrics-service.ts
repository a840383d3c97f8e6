/**
 * The seed's `resourcemetrics.ResourceMetricsService` over the manager's resource metrics:
 * GetVersion answers a version's points; WatchVersion streams them as they appear, on a poller
 * shared with every other stream on the same version and step. Every failure reaches the caller
 * as a status with the reason (the seed's streams died silently).
 */
import { status } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { KubeClient } from '../kube/index.ts';
import type { ResourceMetricsServiceServer, Response, VersionRequest } from '../gen/resourcemetrics/resourcemetrics.ts';
import { ManagerError } from './errors.ts';
import { serverStream, unary } from './handlers.ts';
import { MetricsError, startResourceMetrics, type MetricsConfig, type MetricsErrorKind, type ResourceMetrics } from './metrics/index.ts';

const CODES: Record<MetricsErrorKind, status> = {
  'invalid-argument': status.INVALID_ARGUMENT,
  unavailable: status.UNAVAILABLE,
  'resource-exhausted': status.RESOURCE_EXHAUSTED,
  internal: status.INTERNAL,
};

/** A metrics error as the manager's error, so that `toServiceError` gives it its status. */
export function asManagerError(err: unknown): unknown {
  return err instanceof MetricsError ? new ManagerError(CODES[err.kind], err.message, err.field) : err;
}

export function createResourceMetricsService(metrics: ResourceMetrics, log: Logger): ResourceMetricsServiceServer {
  return {
    getVersion: unary<VersionRequest, Response>(
      'GetVersion',
      async (req) => {
        try {
          return { versionResourceMetrics: await metrics.getVersion(req) };
        } catch (err) {
          throw asManagerError(err);
        }
      },
      log,
    ),

    watchVersion: serverStream<VersionRequest, Response>(
      'WatchVersion',
      (req, send, ctx) =>
        new Promise<void>((resolve, reject) => {
          let drained: (() => void) | undefined;
          const sub = metrics.watchVersion(req, {
            // Each message goes out once the one before it has been taken by the transport.
            write(points) {
              void send({ versionResourceMetrics: points }).then(() => {
                const d = drained;
                drained = undefined;
                d?.();
              });
              return false;
            },
            onDrain(fn) {
              drained = fn;
            },
            fail: (err) => reject(asManagerError(err)),
          });
          // The client went away (cancelled, deadline, connection gone): its subscription goes with it.
          const release = () => {
            sub.cancel();
            resolve();
          };
          if (ctx.signal.aborted) release();
          else ctx.signal.addEventListener('abort', release, { once: true });
        }).catch((err) => {
          throw asManagerError(err);
        }),
      log,
    ),
  };
}

export interface ResourceMetricsServiceOptions {
  config: MetricsConfig;
  kube: KubeClient;
  logger: Logger;
  registry?: Registry;
}

/**
 * The resource metrics started from the manager's `metrics` configuration, and what `startManager`
 * takes: the handlers and the readiness of their source. `close()` ends every open stream with
 * UNAVAILABLE (call it before stopping the server, so that streams do not hold the shutdown).
 */
export async function startResourceMetricsService(o: ResourceMetricsServiceOptions): Promise<{ handlers: ResourceMetricsServiceServer; ready(): boolean; metrics: ResourceMetrics; close(): Promise<void> }> {
  const metrics = await startResourceMetrics({ config: o.config, client: o.kube, log: o.logger, registry: o.registry });
  return { handlers: createResourceMetricsService(metrics, o.logger), ready: () => metrics.ready(), metrics, close: () => metrics.close() };
}

/**
 * The seed's `resourcemetrics.ResourceMetricsService` over the manager's resource metrics:
 * GetVersion answers a version's points; WatchVersion streams them as they appear, on a poller
 * shared with every other stream on the same version and step. Every failure reaches the caller
 * as a status with the reason (the seed's streams died silently).
 */
import { status, type ServerErrorResponse, type StatusObject } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { ResourceMetricsServiceServer } from '../gen/resourcemetrics/resourcemetrics.ts';
import { MetricsError, type MetricsErrorKind, type ResourceMetrics } from './metrics/index.ts';

const CODES: Record<MetricsErrorKind, status> = {
  'invalid-argument': status.INVALID_ARGUMENT,
  unavailable: status.UNAVAILABLE,
  'resource-exhausted': status.RESOURCE_EXHAUSTED,
  internal: status.INTERNAL,
};

/** A metrics error as a gRPC status; anything else is INTERNAL with its message. */
export function metricsStatus(err: unknown): Partial<StatusObject> & ServerErrorResponse {
  if (err instanceof MetricsError) return Object.assign(new Error(err.message), { code: CODES[err.kind], details: err.message });
  const message = `resource metrics failed: ${(err as Error)?.message ?? String(err)}`;
  return Object.assign(new Error(message), { code: status.INTERNAL, details: message });
}

export function createResourceMetricsService(metrics: ResourceMetrics, log: Logger): ResourceMetricsServiceServer {
  return {
    getVersion(call, callback) {
      metrics.getVersion(call.request).then(
        (points) => callback(null, { versionResourceMetrics: points }),
        (err) => {
          const s = metricsStatus(err);
          if (s.code !== status.INVALID_ARGUMENT) log.warn({ rpc: 'GetVersion', namespace: call.request.namespace, version: call.request.versionName, err: s.details }, 'metrics request failed');
          callback(s);
        },
      );
    },

    watchVersion(call) {
      let ended = false;
      const end = (err: MetricsError) => {
        if (ended) return;
        ended = true;
        const s = metricsStatus(err);
        if (s.code !== status.INVALID_ARGUMENT) log.warn({ rpc: 'WatchVersion', namespace: call.request.namespace, version: call.request.versionName, err: s.details }, 'metrics stream ended');
        call.emit('error', s);
      };
      let subscription;
      try {
        subscription = metrics.watchVersion(call.request, {
          write: (points) => call.write({ versionResourceMetrics: points }),
          onDrain: (fn) => call.once('drain', fn),
          fail: end,
        });
      } catch (err) {
        end(err instanceof MetricsError ? err : new MetricsError('internal', (err as Error).message));
        return;
      }
      const sub = subscription;
      // The client went away (cancelled, deadline, connection gone): its subscription goes with it.
      call.once('cancelled', () => {
        ended = true;
        sub.cancel();
      });
      call.once('close', () => sub.cancel());
    },
  };
}

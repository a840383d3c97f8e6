/** `kre manager` running: configuration and kubeconfig first, then metrics sources, the gRPC API and the HTTP server. */
import { collectDefaultMetrics, Registry } from 'prom-client';
import { ConfigError, servePartHttp } from '../../kube/index.ts';
import { loadManagerConfig, renderManagerManifests, startManager, startResourceMetricsService } from '../../manager/index.ts';
import type { MetricsFlags } from '../../manager/metrics/index.ts';
import { operatorRules } from '../../operator/index.ts';
import { writeManifests } from '../manifests.ts';
import { kubeClient, listening, runPart } from '../part.ts';

interface Flags extends MetricsFlags {
  kubeconfig?: string;
  config?: string;
  listen?: string;
  httpListen?: string;
  tokenFile?: string;
  operatorMode?: string;
  operatorImage?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsSelfSigned?: boolean;
}

export async function runManager(flags: Flags): Promise<void> {
  const { config, token } = loadManagerConfig({ flags });
  const { client: kube } = kubeClient(config.kubeconfig, 'manager');
  await runPart('manager', async ({ log, defer }) => {
    defer(() => kube.close());
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    const metrics = await startResourceMetricsService({ config: config.metrics, kube, logger: log, registry });
    let metricsClosed: Promise<void> | undefined;
    const closeMetrics = () => (metricsClosed ??= metrics.close());
    defer(closeMetrics);
    // gRPC's bind fails without an errno code: whatever stops it serving is the listen address's fault.
    const manager = await startManager({ config, token, kube, logger: log, registry, operatorRules: operatorRules(), resourceMetrics: metrics.handlers, resourceMetricsReady: metrics.ready }).catch((err: unknown) => {
      throw err instanceof ConfigError ? err : new ConfigError(`invalid configuration: listen: cannot serve on ${config.listen}: ${(err as Error).message}`, 'listen');
    });
    defer(() => manager.stop());
    // Open WatchVersion streams end first (UNAVAILABLE), so that they do not hold the shutdown.
    defer(closeMetrics);
    const http = await listening('httpListen', config.httpListen, () => servePartHttp({ listen: config.httpListen, ready: () => manager.ready(), metrics: registry }));
    defer(() => http.close());
    return {
      grpc: `${config.tls ? 'grpcs' : 'grpc'}://${manager.address}`,
      metrics: `${http.url}/metrics`,
      livez: `${http.url}/livez`,
      readyz: `${http.url}/readyz`,
      operatorMode: config.operator.mode,
      metricsSource: metrics.metrics.source.kind,
    };
  });
}

export function writeManagerManifests(out: string | undefined): void {
  writeManifests(renderManagerManifests(operatorRules()), out);
}

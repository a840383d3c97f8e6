/** `kre manager` running: configuration and kubeconfig first, then metrics sources, the gRPC API and the HTTP server. */
import { loadManagerConfig, renderManagerManifests, startManagerPart } from '../../manager/index.ts';
import type { MetricsFlags } from '../../manager/metrics/index.ts';
import { operatorRules } from '../../operator/index.ts';
import { writeManifests } from '../manifests.ts';
import { kubeClient, runPart } from '../part.ts';

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
    const { manager, http, metricsSource, stop } = await startManagerPart({ config, token, kube, logger: log, operatorRules: operatorRules() });
    defer(stop);
    return {
      grpc: `${config.tls ? 'grpcs' : 'grpc'}://${manager.address}`,
      metrics: `${http.url}/metrics`,
      livez: `${http.url}/livez`,
      readyz: `${http.url}/readyz`,
      operatorMode: config.operator.mode,
      metricsSource,
    };
  });
}

export function writeManagerManifests(out: string | undefined): void {
  writeManifests(renderManagerManifests(operatorRules()), out);
}

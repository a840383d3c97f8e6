/**
 * The manager as `kre dev` runs it: in this process, over the devcluster, gRPC over TLS with the
 * kept certificate and token, its version metrics from the Prometheus kre dev runs or, without
 * one, from metrics.k8s.io.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { createLogger, KubeClient, type PartHttp } from '../../kube/index.ts';
import { parseManagerConfig, startManagerPart, type Manager } from '../../manager/index.ts';
import { operatorRules } from '../../operator/index.ts';
import type { KeptCertificate } from './credentials.ts';

export interface DevManagerOptions {
  kubeConfig: KubeConfig;
  listen: string;
  token: string;
  tls: KeptCertificate;
  /** Prometheus' URL and the window of the CPU query's rate(); metrics.k8s.io when absent. */
  prometheus?: { url: string; rateWindow: string };
  pollIntervalSeconds: number;
}

export interface DevManager {
  manager: Manager;
  /** `/metrics`, `/livez`, `/readyz`. */
  http: PartHttp;
  metricsSource: string;
  stop(): Promise<void>;
}

export async function startDevManager(o: DevManagerOptions): Promise<DevManager> {
  const log = createLogger('manager');
  const config = parseManagerConfig({
    listen: o.listen,
    httpListen: '127.0.0.1:0',
    tls: { certFile: o.tls.certFile, keyFile: o.tls.keyFile },
    operator: { mode: 'cluster-wide' },
    metrics: o.prometheus
      ? { source: 'prometheus', prometheus: { url: o.prometheus.url, rateWindow: o.prometheus.rateWindow }, pollIntervalSeconds: o.pollIntervalSeconds }
      : { source: 'metrics-api', pollIntervalSeconds: o.pollIntervalSeconds },
  });
  const kube = new KubeClient(o.kubeConfig, { userAgent: 'kre-manager' });
  try {
    const part = await startManagerPart({ config, token: o.token, kube, logger: log, operatorRules: operatorRules() });
    return {
      ...part,
      async stop() {
        await part.stop();
        kube.close();
      },
    };
  } catch (err) {
    kube.close();
    throw err;
  }
}

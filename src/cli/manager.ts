/**
 * `kre manager`: the gRPC API the admin service calls (the seed's k8s-manager). Bad configuration
 * exits 2 naming the field; `kre manager manifests` writes `deploy/manager.yaml`.
 */
import { Command } from 'commander';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { KubeClient, KubeConfigError, loadKubeConfig } from '../kube/index.ts';
import { createLogger } from '../kube/index.ts';
import { serveHealthAndMetrics } from '../kube/serve-http.ts';
import { ConfigError, loadManagerConfig, startManager } from '../manager/index.ts';
import { renderManagerManifests } from '../manager/deploy.ts';
import { operatorRules } from '../operator/deploy.ts';
import { UsageError } from './main.ts';
import { untilSignal } from './signals.ts';
import { addMetricsOptions, startManagerMetrics } from './manager-metrics.ts';
import type { MetricsFlags } from '../manager/metrics/index.ts';
import { writeManifests } from './manifests.ts';

interface Flags {
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

export function managerCommand(): Command {
  const cmd = new Command('manager')
    .description('serve the gRPC API that creates runtimes and starts, stops and publishes their versions')
    .option('--kubeconfig <path>', 'the cluster to use (else KUBECONFIG, ~/.kube/config, the in-cluster service account)')
    .option('--config <file>', 'YAML configuration')
    .option('--listen <host:port>', 'address of the gRPC API (port 0 picks a free one; default localhost:50051)')
    .option('--http-listen <host:port>', 'address of /metrics, /livez and /readyz (default 127.0.0.1:0)')
    .option('--token-file <path>', 'file holding the bearer token callers must present (else KRE_MANAGER_TOKEN)')
    .option('--operator-mode <mode>', 'cluster-wide (default: one operator runs elsewhere) or per-namespace (Create deploys one per runtime)')
    .option('--operator-image <image>', "the per-namespace operator's image")
    .option('--tls-cert <file>', 'serve gRPC over TLS with this certificate (PEM)')
    .option('--tls-key <file>', "the certificate's private key (PEM)")
    .option('--tls-self-signed', 'serve gRPC over TLS with a certificate made at start')
    .action(async (flags: Flags & MetricsFlags) => {
      const log = createLogger('manager');
      let loaded;
      try {
        loaded = loadManagerConfig({ flags });
      } catch (err) {
        if (err instanceof ConfigError) throw new UsageError(err.message);
        throw err;
      }
      let kube;
      try {
        kube = new KubeClient(loadKubeConfig({ kubeconfig: loaded.config.kubeconfig }).kc, { userAgent: 'kre-manager' });
      } catch (err) {
        if (err instanceof KubeConfigError) throw new UsageError(err.message);
        throw err;
      }
      const registry = new Registry();
      collectDefaultMetrics({ register: registry });
      let metrics;
      try {
        metrics = await startManagerMetrics(loaded.config, kube, log, registry);
      } catch (err) {
        kube.close();
        throw err;
      }
      let manager;
      try {
        manager = await startManager({ config: loaded.config, token: loaded.token, kube, logger: log, registry, operatorRules: operatorRules(), resourceMetrics: metrics.handlers, resourceMetricsReady: metrics.ready });
      } catch (err) {
        await metrics.close();
        kube.close();
        if (err instanceof ConfigError) throw new UsageError(err.message);
        throw new UsageError(`listen: cannot serve on ${loaded.config.listen}: ${(err as Error).message}`);
      }
      let http;
      try {
        http = await serveHealthAndMetrics(manager, loaded.config.httpListen);
      } catch (err) {
        await metrics.close();
        await manager.stop();
        kube.close();
        throw new UsageError(`httpListen: cannot serve on ${loaded.config.httpListen}: ${(err as Error).message}`);
      }
      log.info(
        {
          grpc: `${loaded.config.tls ? 'grpcs' : 'grpc'}://${manager.address}`,
          metrics: `${http.url}/metrics`,
          livez: `${http.url}/livez`,
          readyz: `${http.url}/readyz`,
          operatorMode: loaded.config.operator.mode,
          metricsSource: metrics.metrics.source.kind,
        },
        'ready',
      );
      const signal = await untilSignal();
      log.info({ signal }, 'stopping');
      // Open WatchVersion streams end first (UNAVAILABLE), so that they do not hold the shutdown.
      await metrics.close();
      await manager.stop();
      await http.close();
      kube.close();
      log.info('stopped');
    });

  addMetricsOptions(cmd);

  cmd
    .command('manifests')
    .description("write the manager's Deployment, Service and RBAC (deploy/manager.yaml; to stdout without --out)")
    .option('--out <dir>', 'directory to write the file into')
    .action((opts: { out?: string }) => {
      writeManifests(renderManagerManifests(operatorRules()), opts.out);
    });
  return cmd;
}

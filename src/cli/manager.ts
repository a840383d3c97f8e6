/**
 * `kre manager`: the gRPC API the admin service calls (the seed's k8s-manager);
 * `kre manager manifests` writes `deploy/manager.yaml`.
 */
import { Command } from 'commander';

/**
 * The resource-metrics flags (the rest of the `metrics` configuration comes from the YAML file and
 * `KRE_MANAGER_PROMETHEUS_*` / `KRE_MANAGER_METRICS_*`): secrets only from files, never from a flag's value.
 */
function addMetricsOptions(cmd: Command): Command {
  return cmd
    .option('--metrics-source <source>', 'where version metrics come from: prometheus, metrics-api (metrics.k8s.io) or auto (Prometheus when it answers at start; the default)')
    .option('--prometheus-url <url>', "Prometheus' base URL, a path prefix included (default http://localhost:9090)")
    .option('--prometheus-timeout <seconds>', 'timeout of each query (default 10)')
    .option('--prometheus-token-file <path>', 'file holding a bearer token for Prometheus')
    .option('--prometheus-username <name>', 'basic-auth user for Prometheus (the password from --prometheus-password-file)')
    .option('--prometheus-password-file <path>', "file holding the basic-auth user's password")
    .option('--prometheus-ca-file <path>', "CA certificate (PEM) to trust for Prometheus' HTTPS")
    .option('--prometheus-insecure-skip-verify', "do not verify Prometheus' certificate")
    .option('--metrics-poll-interval <seconds>', 'how often WatchVersion looks for new points (default 10)');
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
    .option('--tls-self-signed', 'serve gRPC over TLS with a certificate made at start');
  addMetricsOptions(cmd).action(async (flags) => (await import('./run/manager.ts')).runManager(flags));

  cmd
    .command('manifests')
    .description("write the manager's Deployment, Service and RBAC (deploy/manager.yaml; to stdout without --out)")
    .option('--out <dir>', 'directory to write the file into')
    .action(async (opts: { out?: string }) => (await import('./run/manager.ts')).writeManagerManifests(opts.out));
  return cmd;
}

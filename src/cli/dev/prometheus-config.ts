/**
 * The Prometheus configuration `kre dev` writes. Debian's Prometheus has no kubernetes_sd, so the
 * cluster's targets come from the monitor's HTTP service discovery, which gives the same
 * `__meta_kubernetes_*` labels: the relabel rules below are the ones written for kubernetes_sd
 * (kube-prometheus' kubelet job, the usual `prometheus.io/scrape` pod job). KRE's own parts that
 * run inside `kre dev` (the agents, the manager, the monitor) are no pods: they are listed in a
 * file (`file_sd`) that kre dev rewrites as they come up, so Prometheus follows their ports.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { stringify } from 'yaml';

export interface PrometheusScrapeSetup {
  /** The monitor's base URL (service discovery, kube-state series). */
  monitorUrl: string;
  /** File holding the monitor's token. */
  monitorTokenFile: string;
  /** File holding the cluster's token, which the kubelets accept. */
  clusterTokenFile: string;
  /** The file_sd file listing KRE's own parts. */
  partsFile: string;
  /** Prometheus duration, e.g. `5s`. */
  scrapeInterval: string;
}

/** A target group of the parts file: `job` and `node` say which part it is. */
export interface PartTargets {
  targets: string[];
  labels: Record<string, string>;
}

function httpSd(url: string, tokenFile: string, refresh: string) {
  return { url, refresh_interval: refresh, authorization: { type: 'Bearer', credentials_file: tokenFile } };
}

/** A duration twice as long as `interval`, at least 10 s: how often discovery is refreshed. */
function refreshOf(interval: string): string {
  const m = /^(\d+)s$/.exec(interval);
  return m ? `${Math.max(10, 2 * Number(m[1]))}s` : '30s';
}

export function prometheusConfig(s: PrometheusScrapeSetup): Record<string, unknown> {
  const refresh = refreshOf(s.scrapeInterval);
  const monitorAuth = { type: 'Bearer', credentials_file: s.monitorTokenFile };
  const monitorAddress = new URL(s.monitorUrl).host;
  const scheme = new URL(s.monitorUrl).protocol.replace(':', '');
  return {
    global: { scrape_interval: s.scrapeInterval, evaluation_interval: s.scrapeInterval, scrape_timeout: s.scrapeInterval },
    scrape_configs: [
      {
        // kube-prometheus' cAdvisor job: the kubelets over HTTPS with the cluster's token; kubelets sign their serving certificates themselves.
        job_name: 'kubelet-cadvisor',
        scheme: 'https',
        metrics_path: '/metrics/cadvisor',
        honor_labels: true,
        honor_timestamps: false,
        tls_config: { insecure_skip_verify: true },
        authorization: { type: 'Bearer', credentials_file: s.clusterTokenFile },
        http_sd_configs: [httpSd(`${s.monitorUrl}/sd/kubelets`, s.monitorTokenFile, refresh)],
        relabel_configs: [
          { source_labels: ['__meta_kubernetes_node_name'], target_label: 'node' },
          { target_label: 'metrics_path', replacement: '/metrics/cadvisor' },
        ],
      },
      {
        // kube-state-metrics' series, which the monitor serves from its cache.
        job_name: 'kube-state-metrics',
        scheme,
        metrics_path: '/metrics/kube-state',
        honor_labels: true,
        authorization: monitorAuth,
        ...(scheme === 'https' ? { tls_config: { insecure_skip_verify: true } } : {}),
        static_configs: [{ targets: [monitorAddress] }],
      },
      {
        // Pods that ask to be scraped, as with kubernetes_sd's role pod.
        job_name: 'kubernetes-pods',
        http_sd_configs: [httpSd(`${s.monitorUrl}/sd/pods`, s.monitorTokenFile, refresh)],
        relabel_configs: [
          { source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_scrape'], action: 'keep', regex: 'true' },
          { source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_path'], action: 'replace', target_label: '__metrics_path__', regex: '(.+)' },
          {
            source_labels: ['__address__', '__meta_kubernetes_pod_annotation_prometheus_io_port'],
            action: 'replace',
            regex: '([^:]+)(?::\\d+)?;(\\d+)',
            replacement: '$1:$2',
            target_label: '__address__',
          },
          { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
          { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
        ],
      },
      {
        // KRE's parts running inside kre dev: the agents (task metrics), the manager, the monitor.
        // Each group of the file names its job; the agents' series carry the pods' labels, which win.
        job_name: 'kre',
        honor_labels: true,
        file_sd_configs: [{ files: [s.partsFile], refresh_interval: refresh }],
      },
    ],
  };
}

export function writePrometheusConfig(path: string, s: PrometheusScrapeSetup): void {
  writeFileSync(path, '# Written by `kre dev` at each start.\n' + stringify(prometheusConfig(s)), { mode: 0o600 });
}

/** Rewrites the parts file through a temporary file renamed into place, so Prometheus never reads half of it. */
export function writePartTargets(path: string, groups: PartTargets[]): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, JSON.stringify(groups, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, path);
}

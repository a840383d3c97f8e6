/**
 * What the resource-metrics tests and benchmark set up around a devcluster: a `kube_pod_labels`
 * source (kube-state-metrics' series, rendered from the cluster's pods on each scrape) and the
 * scrape configuration of a Prometheus that reads the simulated kubelets' `/metrics/cadvisor` as
 * kube-prometheus does (HTTPS, the bearer token, `insecure_skip_verify`).
 */
import http from 'node:http';
import type { DevCluster } from '../../devcluster/index.ts';
import { PODS, type KubeClient, type KubeObject } from '../../kube/index.ts';


/** A label key as kube-state-metrics writes it: `label_` and every character outside `[a-zA-Z0-9_]` as `_`. */
export function kubeStateLabel(key: string): string {
  return `label_${key.replace(/[^a-zA-Z0-9_]/g, '_')}`;
}

function escapeValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

/** `kube_pod_labels` for the pods of a list, in the exposition format. */
export function renderKubePodLabels(pods: readonly KubeObject[]): string {
  const lines = ['# HELP kube_pod_labels Kubernetes labels converted to Prometheus labels.', '# TYPE kube_pod_labels gauge'];
  for (const p of pods) {
    const labels: Array<[string, string]> = [
      ['namespace', p.metadata.namespace ?? ''],
      ['pod', p.metadata.name ?? ''],
      ['uid', p.metadata.uid ?? ''],
      ...Object.entries(p.metadata.labels ?? {}).map(([k, v]): [string, string] => [kubeStateLabel(k), v]),
    ];
    lines.push(`kube_pod_labels{${labels.map(([k, v]) => `${k}="${escapeValue(v)}"`).join(',')}} 1`);
  }
  return `${lines.join('\n')}\n`;
}

export interface PodLabelsServer {
  url: string;
  /** `host:port`, for a static scrape target. */
  target: string;
  close(): Promise<void>;
}

/** Serves `/metrics` with `kube_pod_labels` from a fresh list of the cluster's pods. */
export async function startPodLabelsServer(client: KubeClient): Promise<PodLabelsServer> {
  const server = http.createServer((_req, res) => {
    client.list(PODS).then(
      (list) => {
        const body = renderKubePodLabels(list.items);
        res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4', 'Content-Length': Buffer.byteLength(body) });
        res.end(body);
      },
      (err) => {
        res.writeHead(503, { 'Content-Type': 'text/plain' });
        res.end(String((err as Error).message));
      },
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const target = `127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    url: `http://${target}/metrics`,
    target,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/**
 * Scrape jobs for a devcluster's kubelets (cAdvisor over HTTPS with the token in `tokenFile`, a
 * path inside Prometheus' working directory) and a `kube_pod_labels` target.
 */
export function clusterScrapeConfigs(cluster: DevCluster, tokenFile: string, podLabelsTarget: string): unknown[] {
  const kubelets = cluster.nodes
    .list()
    .filter((n) => n.kubelet)
    .map((n) => `${n.kubelet!.host}:${n.kubelet!.port}`);
  return [
    {
      job_name: 'kubelet-cadvisor',
      scheme: 'https',
      metrics_path: '/metrics/cadvisor',
      authorization: { credentials_file: tokenFile },
      tls_config: { insecure_skip_verify: true },
      static_configs: [{ targets: kubelets }],
    },
    { job_name: 'kube-state-metrics', static_configs: [{ targets: [podLabelsTarget] }] },
  ];
}

/**
 * kube-state-metrics-compatible series for what the monitor caches: the families a query written
 * for kube-state-metrics v2 needs (the seed's reads `kube_pod_labels`), with the same names,
 * label names and order, HELP, TYPE and value formatting, so that the query works unchanged
 * whether Prometheus scrapes kube-state-metrics on a real cluster or the monitor.
 *
 * Pure functions from objects to metric families. Cardinality is bounded as kube-state-metrics
 * bounds it: object labels become series labels only when named in the allowlist
 * (`--metric-labels-allowlist=pods=[a,b]`); there is no wildcard, so the number of label names is
 * at most the allowlist's length and the number of series is a fixed number per object.
 */
import { parseMilli, parseQuantity, type KubeObject } from '../kube/index.ts';
// kube-state-metrics sanitizes label names exactly as Prometheus does.
import { sanitizeLabelName } from './sd.ts';

export interface MetricFamily {
  name: string;
  help: string;
  type: 'gauge' | 'counter';
  series: { labels: [string, string][]; value: number }[];
}

export interface KubeStateOptions {
  /** Pod label keys that become `label_<key>` labels of `kube_pod_labels`. */
  podLabelsAllowlist: readonly string[];
}


const podKeys = (p: KubeObject): [string, string][] => [
  ['namespace', p.metadata.namespace ?? ''],
  ['pod', p.metadata.name ?? ''],
  ['uid', p.metadata.uid ?? ''],
];

/** `kube_pod_labels`: one series per pod; allowlisted labels as `label_<key>`, sorted by key. */
export function podLabelsFamily(pods: KubeObject[], allowlist: readonly string[]): MetricFamily {
  return {
    name: 'kube_pod_labels',
    help: '[STABLE] Kubernetes labels converted to Prometheus labels.',
    type: 'gauge',
    series: pods.map((p) => {
      const labels = p.metadata.labels ?? {};
      const kept = allowlist.filter((k) => k in labels).sort();
      return { labels: [...podKeys(p), ...kept.map((k): [string, string] => [`label_${sanitizeLabelName(k)}`, labels[k]])], value: 1 };
    }),
  };
}

export function podInfoFamily(pods: KubeObject[]): MetricFamily {
  return {
    name: 'kube_pod_info',
    help: '[STABLE] Information about pod.',
    type: 'gauge',
    series: pods.map((p) => {
      const spec = (p.spec ?? {}) as { nodeName?: string; priorityClassName?: string; hostNetwork?: boolean };
      const status = (p.status ?? {}) as { hostIP?: string; podIP?: string };
      const owner = p.metadata.ownerReferences?.find((r) => r.controller);
      return {
        labels: [
          ...podKeys(p),
          ['host_ip', status.hostIP ?? ''],
          ['pod_ip', status.podIP ?? ''],
          ['node', spec.nodeName ?? ''],
          ['created_by_kind', owner?.kind || '<none>'],
          ['created_by_name', owner?.name || '<none>'],
          ['priority_class', spec.priorityClassName ?? ''],
          ['host_network', String(spec.hostNetwork ?? false)],
        ],
        value: 1,
      };
    }),
  };
}

const PHASES = ['Pending', 'Succeeded', 'Failed', 'Unknown', 'Running'];

/** `kube_pod_status_phase`: one series per phase (1 for the pod's, 0 for the others); none before a phase. */
export function podStatusPhaseFamily(pods: KubeObject[]): MetricFamily {
  return {
    name: 'kube_pod_status_phase',
    help: '[STABLE] The pods current phase.',
    type: 'gauge',
    series: pods.flatMap((p) => {
      const phase = (p.status as { phase?: string } | undefined)?.phase;
      if (!phase) return [];
      return PHASES.map((ph) => ({ labels: [...podKeys(p), ['phase', ph]] as [string, string][], value: ph === phase ? 1 : 0 }));
    }),
  };
}

/** cpu in cores; memory, storage and hugepages in bytes; extended resources (`x.y/z`) as integers. */
function resourceSeries(name: string, quantity: string | number): { value: number; unit: string } | undefined {
  if (name === 'cpu') return { value: parseMilli(quantity) / 1000, unit: 'core' };
  const whole = () => Math.ceil(parseQuantity(quantity));
  if (name === 'memory' || name === 'storage' || name === 'ephemeral-storage' || name.startsWith('hugepages-')) return { value: whole(), unit: 'byte' };
  if (name.startsWith('attachable-volumes-')) return { value: whole(), unit: 'byte' };
  // An extended resource: a domain-prefixed name outside *kubernetes.io.
  if (name.includes('/') && !name.includes('kubernetes.io/') && !name.startsWith('requests.')) return { value: whole(), unit: 'integer' };
  return undefined;
}

function containerResourceFamily(pods: KubeObject[], which: 'requests' | 'limits'): MetricFamily {
  const help =
    which === 'requests'
      ? 'The number of requested request resource by a container. It is recommended to use the kube_pod_resource_requests metric exposed by kube-scheduler instead, as it is more precise.'
      : 'The number of requested limit resource by a container. It is recommended to use the kube_pod_resource_limits metric exposed by kube-scheduler instead, as it is more precise.';
  return {
    name: `kube_pod_container_resource_${which}`,
    help,
    type: 'gauge',
    series: pods.flatMap((p) => {
      const spec = (p.spec ?? {}) as { nodeName?: string; containers?: { name: string; resources?: Record<string, Record<string, string | number>> }[] };
      return (spec.containers ?? []).flatMap((c) => {
        const amounts = c.resources?.[which] ?? {};
        return Object.keys(amounts)
          .sort()
          .flatMap((r) => {
            const s = resourceSeries(r, amounts[r]);
            if (!s) return [];
            const labels: [string, string][] = [...podKeys(p), ['container', c.name], ['node', spec.nodeName ?? ''], ['resource', sanitizeLabelName(r)], ['unit', s.unit]];
            return [{ labels, value: s.value }];
          });
      });
    }),
  };
}

export const podContainerResourceRequestsFamily = (pods: KubeObject[]) => containerResourceFamily(pods, 'requests');
export const podContainerResourceLimitsFamily = (pods: KubeObject[]) => containerResourceFamily(pods, 'limits');

export function deploymentReplicasAvailableFamily(deployments: KubeObject[]): MetricFamily {
  return {
    name: 'kube_deployment_status_replicas_available',
    help: '[STABLE] The number of available replicas per deployment.',
    type: 'gauge',
    series: deployments.map((d) => ({
      labels: [
        ['namespace', d.metadata.namespace ?? ''],
        ['deployment', d.metadata.name ?? ''],
      ],
      value: (d.status as { availableReplicas?: number } | undefined)?.availableReplicas ?? 0,
    })),
  };
}

/** `kube_node_status_condition`: per condition one series per status (true, false, unknown), 1 for the node's. */
export function nodeStatusConditionFamily(nodes: KubeObject[]): MetricFamily {
  return {
    name: 'kube_node_status_condition',
    help: '[STABLE] The condition of a cluster node.',
    type: 'gauge',
    series: nodes.flatMap((n) => {
      const conditions = (n.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? [];
      return conditions.flatMap((c) =>
        (['True', 'False', 'Unknown'] as const).map((s) => ({
          labels: [
            ['node', n.metadata.name ?? ''],
            ['condition', c.type],
            ['status', s.toLowerCase()],
          ] as [string, string][],
          value: c.status === s ? 1 : 0,
        })),
      );
    }),
  };
}

/** Every family, in kube-state-metrics' order of resources (deployments, nodes, pods). */
export function kubeStateFamilies(objects: { pods: KubeObject[]; deployments: KubeObject[]; nodes: KubeObject[] }, o: KubeStateOptions): MetricFamily[] {
  return [
    deploymentReplicasAvailableFamily(objects.deployments),
    nodeStatusConditionFamily(objects.nodes),
    podContainerResourceLimitsFamily(objects.pods),
    podContainerResourceRequestsFamily(objects.pods),
    podInfoFamily(objects.pods),
    podLabelsFamily(objects.pods, o.podLabelsAllowlist),
    podStatusPhaseFamily(objects.pods),
  ];
}

/** Go's `strconv.FormatFloat(v, 'g', -1, 64)`, as kube-state-metrics writes values. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  // Most values are 0/1 and small counts: the common case without the exponent round trip.
  if (Number.isInteger(v) && Math.abs(v) < 1e6) return String(v);
  // Shortest round-trip digits (as Go's), in exponent form when the exponent is < -4 or >= 6.
  const [mantissa, exp] = v.toExponential().split('e');
  const e = Number(exp);
  if (e < -4 || e >= 6) return `${mantissa}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  return String(v);
}

const NEEDS_ESCAPE = /[\\\n"]/;

function escapeValue(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return s;
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

/** The text exposition format (0.0.4), as kube-state-metrics writes it. */
export function renderFamilies(families: MetricFamily[]): string {
  const out: string[] = [];
  for (const f of families) {
    out.push(`# HELP ${f.name} ${f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n# TYPE ${f.name} ${f.type}\n`);
    for (const s of f.series) {
      let labels = '';
      for (const [k, v] of s.labels) labels += `${labels ? ',' : ''}${k}="${escapeValue(v)}"`;
      out.push(`${f.name}${labels ? `{${labels}}` : ''} ${formatValue(s.value)}\n`);
    }
  }
  return out.join('');
}

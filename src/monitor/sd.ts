/**
 * Prometheus HTTP service discovery from the monitor's cache: target groups as `http_sd_configs`
 * reads them (`[{"targets": ["host:port"], "labels": {...}}]`), with the `__meta_kubernetes_*`
 * labels Prometheus' own kubernetes_sd gives for the roles `node` and `pod` (as of Prometheus
 * 2.42, discovery/kubernetes/node.go and pod.go), so relabel rules written for kubernetes_sd work
 * unchanged. Builds of Prometheus without kubernetes_sd (Debian's) discover the cluster this way.
 *
 * http_sd has target labels only at group level, so where kubernetes_sd gives a target its own
 * labels (the container and port of a pod's target, a node's addresses) each target is a group.
 */
import type { KubeObject } from '../kube/index.ts';

export interface TargetGroup {
  targets: string[];
  labels: Record<string, string>;
}

const META = '__meta_kubernetes_';

/** Prometheus' `strutil.SanitizeLabelName`: every character outside [a-zA-Z0-9_] becomes `_`. */
export function sanitizeLabelName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/g, '_');
}

/** `<prefix>label_<name>` and `<prefix>labelpresent_<name>` for a map of labels or annotations. */
function mapLabels(out: Record<string, string>, prefix: string, kind: 'label' | 'annotation', m: Record<string, string> | undefined): void {
  for (const [k, v] of Object.entries(m ?? {})) {
    const name = sanitizeLabelName(k);
    out[`${prefix}${kind}_${name}`] = v;
    out[`${prefix}${kind}present_${name}`] = 'true';
  }
}

/** `net.JoinHostPort`: IPv6 addresses in brackets. */
function joinHostPort(host: string, port: number | string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The address kubernetes_sd picks for a node: the first of these types the node has. */
const NODE_ADDRESS_ORDER = ['InternalIP', 'InternalDNS', 'ExternalIP', 'ExternalDNS', 'LegacyHostIP', 'Hostname'];

/** Role `node`: one target per node, `<address>:<kubelet port>`, `instance` the node's name. */
export function nodeTargetGroups(nodes: KubeObject[]): TargetGroup[] {
  const out: TargetGroup[] = [];
  for (const node of nodes) {
    const status = (node.status ?? {}) as { addresses?: { type: string; address: string }[]; daemonEndpoints?: { kubeletEndpoint?: { Port?: number } } };
    const addresses = status.addresses ?? [];
    const byType = new Map<string, string>();
    for (const a of addresses) if (!byType.has(a.type)) byType.set(a.type, a.address);
    const type = NODE_ADDRESS_ORDER.find((t) => byType.has(t));
    // kubernetes_sd skips a node it finds no address for; so does this.
    if (!type) continue;
    const name = node.metadata.name ?? '';
    const labels: Record<string, string> = { [`${META}node_name`]: name };
    const providerID = (node.spec as { providerID?: string } | undefined)?.providerID;
    labels[`${META}node_provider_id`] = providerID ?? '';
    mapLabels(labels, `${META}node_`, 'label', node.metadata.labels);
    mapLabels(labels, `${META}node_`, 'annotation', node.metadata.annotations);
    for (const [t, a] of byType) labels[`${META}node_address_${t}`] = a;
    labels.instance = name;
    out.push({ targets: [joinHostPort(byType.get(type)!, status.daemonEndpoints?.kubeletEndpoint?.Port ?? 0)], labels });
  }
  return out;
}

interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol?: string;
}
interface Container {
  name: string;
  image?: string;
  ports?: ContainerPort[];
}

/** Role `pod`: one target per declared container port, one per container without ports. */
export function podTargetGroups(pods: KubeObject[]): TargetGroup[] {
  const out: TargetGroup[] = [];
  for (const pod of pods) {
    const status = (pod.status ?? {}) as { podIP?: string; hostIP?: string; phase?: string; conditions?: { type: string; status: string }[] };
    // As kubernetes_sd: a pod without an IP yet has no targets.
    if (!status.podIP) continue;
    const spec = (pod.spec ?? {}) as { nodeName?: string; containers?: Container[]; initContainers?: Container[] };
    const group: Record<string, string> = {
      [`${META}pod_name`]: pod.metadata.name ?? '',
      [`${META}pod_ip`]: status.podIP,
      [`${META}pod_ready`]: podReady(status.conditions),
      [`${META}pod_phase`]: status.phase ?? '',
      [`${META}pod_node_name`]: spec.nodeName ?? '',
      [`${META}pod_host_ip`]: status.hostIP ?? '',
      [`${META}pod_uid`]: pod.metadata.uid ?? '',
    };
    mapLabels(group, `${META}pod_`, 'label', pod.metadata.labels);
    mapLabels(group, `${META}pod_`, 'annotation', pod.metadata.annotations);
    const controller = pod.metadata.ownerReferences?.find((r) => r.controller);
    if (controller) {
      group[`${META}pod_controller_kind`] = controller.kind;
      group[`${META}pod_controller_name`] = controller.name;
    }
    group[`${META}namespace`] = pod.metadata.namespace ?? '';
    const containers: [Container, boolean][] = [
      ...(spec.containers ?? []).map((c): [Container, boolean] => [c, false]),
      ...(spec.initContainers ?? []).map((c): [Container, boolean] => [c, true]),
    ];
    for (const [c, init] of containers) {
      const base = { [`${META}pod_container_name`]: c.name, [`${META}pod_container_image`]: c.image ?? '', [`${META}pod_container_init`]: String(init) };
      if (!c.ports?.length) {
        out.push({ targets: [status.podIP], labels: { ...group, ...base } });
        continue;
      }
      for (const p of c.ports) {
        out.push({
          targets: [joinHostPort(status.podIP, p.containerPort)],
          labels: {
            ...group,
            ...base,
            [`${META}pod_container_port_name`]: p.name ?? '',
            [`${META}pod_container_port_number`]: String(p.containerPort),
            [`${META}pod_container_port_protocol`]: p.protocol ?? 'TCP',
          },
        });
      }
    }
  }
  return out;
}

/** `true`/`false` from the Ready condition, `unknown` without one, as kubernetes_sd says it. */
function podReady(conditions: { type: string; status: string }[] | undefined): string {
  const ready = conditions?.find((c) => c.type === 'Ready');
  return ready ? ready.status.toLowerCase() : 'unknown';
}

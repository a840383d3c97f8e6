/**
 * Prometheus HTTP service discovery from the monitor's cache: target groups as `http_sd_configs`
 * reads them (`[{"targets": ["host:port"], "labels": {...}}]`), with the `__meta_kubernetes_*`
 * labels Prometheus' own kubernetes_sd gives for the roles `node`, `pod` and `endpoints` (as of
 * Prometheus 2.42, discovery/kubernetes/node.go, pod.go and endpoints.go), so relabel rules written for kubernetes_sd work
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

type PodStatus = { podIP?: string; hostIP?: string; phase?: string; conditions?: { type: string; status: string }[] };
type PodSpec = { nodeName?: string; containers?: Container[]; initContainers?: Container[] };

/** The labels kubernetes_sd gives every target of a pod (its `podLabels`), namespace aside. */
function podLabels(pod: KubeObject): Record<string, string> {
  const status = (pod.status ?? {}) as PodStatus;
  const spec = (pod.spec ?? {}) as PodSpec;
  const out: Record<string, string> = {
    [`${META}pod_name`]: pod.metadata.name ?? '',
    [`${META}pod_ip`]: status.podIP ?? '',
    [`${META}pod_ready`]: podReady(status.conditions),
    [`${META}pod_phase`]: status.phase ?? '',
    [`${META}pod_node_name`]: spec.nodeName ?? '',
    [`${META}pod_host_ip`]: status.hostIP ?? '',
    [`${META}pod_uid`]: pod.metadata.uid ?? '',
  };
  mapLabels(out, `${META}pod_`, 'label', pod.metadata.labels);
  mapLabels(out, `${META}pod_`, 'annotation', pod.metadata.annotations);
  const controller = pod.metadata.ownerReferences?.find((r) => r.controller);
  if (controller) {
    out[`${META}pod_controller_kind`] = controller.kind;
    out[`${META}pod_controller_name`] = controller.name;
  }
  return out;
}

function containerPortLabels(c: Container, p: ContainerPort): Record<string, string> {
  return {
    [`${META}pod_container_name`]: c.name,
    [`${META}pod_container_image`]: c.image ?? '',
    [`${META}pod_container_port_name`]: p.name ?? '',
    [`${META}pod_container_port_number`]: String(p.containerPort),
    [`${META}pod_container_port_protocol`]: p.protocol ?? 'TCP',
  };
}

/** Role `pod`: one target per declared container port, one per container without ports. */
export function podTargetGroups(pods: KubeObject[]): TargetGroup[] {
  const out: TargetGroup[] = [];
  for (const pod of pods) {
    const podIP = (pod.status as PodStatus | undefined)?.podIP;
    // As kubernetes_sd: a pod without an IP yet has no targets.
    if (!podIP) continue;
    const spec = (pod.spec ?? {}) as PodSpec;
    const group = { ...podLabels(pod), [`${META}namespace`]: pod.metadata.namespace ?? '' };
    const containers: [Container, boolean][] = [
      ...(spec.containers ?? []).map((c): [Container, boolean] => [c, false]),
      ...(spec.initContainers ?? []).map((c): [Container, boolean] => [c, true]),
    ];
    for (const [c, init] of containers) {
      const base = { [`${META}pod_container_name`]: c.name, [`${META}pod_container_image`]: c.image ?? '', [`${META}pod_container_init`]: String(init) };
      if (!c.ports?.length) {
        out.push({ targets: [podIP], labels: { ...group, ...base } });
        continue;
      }
      for (const p of c.ports) {
        out.push({ targets: [joinHostPort(podIP, p.containerPort)], labels: { ...group, ...containerPortLabels(c, p), ...base } });
      }
    }
  }
  return out;
}

interface EndpointAddress {
  ip: string;
  hostname?: string;
  nodeName?: string;
  targetRef?: { kind?: string; name?: string; namespace?: string };
}
interface EndpointSubset {
  addresses?: EndpointAddress[];
  notReadyAddresses?: EndpointAddress[];
  ports?: { name?: string; port: number; protocol?: string; appProtocol?: string }[];
}

/**
 * Role `endpoints`: one target per address and port of each Endpoints object, with the labels of
 * its Service and, for addresses backed by a pod, the pod's and the matching container port's;
 * then the other declared ports of those pods, as kubernetes_sd adds them.
 */
export function endpointsTargetGroups(endpoints: KubeObject[], services: KubeObject[], pods: KubeObject[]): TargetGroup[] {
  const key = (ns: string | undefined, name: string | undefined) => `${ns ?? ''}/${name ?? ''}`;
  const svcByKey = new Map(services.map((s) => [key(s.metadata.namespace, s.metadata.name), s]));
  const podByKey = new Map(pods.map((p) => [key(p.metadata.namespace, p.metadata.name), p]));
  const out: TargetGroup[] = [];
  for (const ep of endpoints) {
    const ns = ep.metadata.namespace ?? '';
    const group: Record<string, string> = { [`${META}namespace`]: ns, [`${META}endpoints_name`]: ep.metadata.name ?? '' };
    mapLabels(group, `${META}endpoints_`, 'label', ep.metadata.labels);
    const svc = svcByKey.get(key(ns, ep.metadata.name));
    if (svc) {
      group[`${META}service_name`] = svc.metadata.name ?? '';
      mapLabels(group, `${META}service_`, 'label', svc.metadata.labels);
      mapLabels(group, `${META}service_`, 'annotation', svc.metadata.annotations);
    }
    const seenPorts = new Map<KubeObject, Set<string>>();
    const target = (address: string, labels: Record<string, string>) => out.push({ targets: [address], labels: { ...group, ...labels } });
    for (const subset of ((ep as { subsets?: EndpointSubset[] }).subsets ?? [])) {
      for (const port of subset.ports ?? []) {
        const addresses: [EndpointAddress, boolean][] = [...(subset.addresses ?? []).map((a): [EndpointAddress, boolean] => [a, true]), ...(subset.notReadyAddresses ?? []).map((a): [EndpointAddress, boolean] => [a, false])];
        for (const [addr, ready] of addresses) {
          const labels: Record<string, string> = {
            [`${META}endpoint_port_name`]: port.name ?? '',
            [`${META}endpoint_port_protocol`]: port.protocol ?? 'TCP',
            [`${META}endpoint_ready`]: String(ready),
          };
          if (port.appProtocol) labels[`${META}endpoint_port_app_protocol`] = port.appProtocol;
          if (addr.hostname) labels[`${META}endpoint_hostname`] = addr.hostname;
          if (addr.nodeName) labels[`${META}endpoint_node_name`] = addr.nodeName;
          if (addr.targetRef) {
            labels[`${META}endpoint_address_target_kind`] = addr.targetRef.kind ?? '';
            labels[`${META}endpoint_address_target_name`] = addr.targetRef.name ?? '';
          }
          const pod = addr.targetRef?.kind === 'Pod' ? podByKey.get(key(addr.targetRef.namespace ?? ns, addr.targetRef.name)) : undefined;
          if (pod) {
            Object.assign(labels, podLabels(pod));
            const seen = seenPorts.get(pod) ?? new Set<string>();
            seenPorts.set(pod, seen);
            for (const c of ((pod.spec ?? {}) as PodSpec).containers ?? []) {
              const cport = c.ports?.find((p) => p.containerPort === port.port);
              if (!cport) continue;
              Object.assign(labels, containerPortLabels(c, { ...cport, protocol: port.protocol ?? 'TCP' }));
              seen.add(`${c.name}/${cport.containerPort}`);
              break;
            }
          }
          target(joinHostPort(addr.ip, port.port), labels);
        }
      }
    }
    for (const [pod, seen] of seenPorts) {
      const podIP = (pod.status as PodStatus | undefined)?.podIP;
      if (!podIP) continue;
      for (const c of ((pod.spec ?? {}) as PodSpec).containers ?? []) {
        for (const p of c.ports ?? []) {
          if (!seen.has(`${c.name}/${p.containerPort}`)) target(joinHostPort(podIP, p.containerPort), { ...podLabels(pod), ...containerPortLabels(c, p) });
        }
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

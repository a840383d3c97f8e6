/**
 * The Node object a simulated kubelet registers, shaped as a real kubelet's: capacity and
 * allocatable, addresses, nodeInfo, the conditions (Ready, and no pressure), and the labels that
 * node selectors use (`kubernetes.io/hostname`, `kubernetes.io/os`, `kubernetes.io/arch`).
 */
import { createHash } from 'node:crypto';
import type { Condition, Node, NodeStatus } from '../../kube/index.ts';

export interface NodeShape {
  name: string;
  /** 1-based: the node's InternalIP is `internalIP(index)` and its pods' 10.244.<index>.x. */
  index: number;
  cpu: string;
  memory: string;
  maxPods: number;
}

export const KUBELET_VERSION = 'v1.32.13';

export function nodeName(index: number): string {
  return `kre-node-${index}`;
}

/**
 * A node's InternalIP: an address of its own in the loopback range (127.0.1.1, 127.0.1.2, …), where
 * its kubelet really listens — so the address in the Node's status, the pods' hostIP and the
 * kubelet's endpoint agree, as on a real node, and every node is reachable on this machine.
 */
export function internalIP(index: number): string {
  const i = index - 1;
  return `127.0.${1 + Math.floor(i / 254)}.${(i % 254) + 1}`;
}

export function nodeObject(shape: NodeShape): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: shape.name,
      labels: {
        'beta.kubernetes.io/arch': 'amd64',
        'beta.kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'kubernetes.io/hostname': shape.name,
        'kubernetes.io/os': 'linux',
        'node.kubernetes.io/instance-type': 'kre-simulated',
      },
      annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' },
    },
    spec: { podCIDR: `10.244.${shape.index}.0/24`, podCIDRs: [`10.244.${shape.index}.0/24`] },
  };
}

export function nodeStatus(shape: NodeShape, heartbeat: string, readySince: string): NodeStatus {
  const id = createHash('sha256').update(shape.name).digest('hex');
  const resources = {
    cpu: shape.cpu,
    'ephemeral-storage': '100Gi',
    'hugepages-1Gi': '0',
    'hugepages-2Mi': '0',
    memory: shape.memory,
    pods: String(shape.maxPods),
  };
  const condition = (type: string, status: string, reason: string, message: string): Condition => ({
    type,
    status,
    lastHeartbeatTime: heartbeat,
    lastTransitionTime: readySince,
    reason,
    message,
  });
  return {
    capacity: resources,
    allocatable: resources,
    conditions: [
      condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
      condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
      condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
      condition('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
    ],
    addresses: [
      { type: 'InternalIP', address: internalIP(shape.index) },
      { type: 'Hostname', address: shape.name },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
    nodeInfo: {
      machineID: id.slice(0, 32),
      systemUUID: `${id.slice(0, 8)}-${id.slice(8, 12)}-${id.slice(12, 16)}-${id.slice(16, 20)}-${id.slice(20, 32)}`,
      bootID: `${id.slice(32, 40)}-${id.slice(40, 44)}-${id.slice(44, 48)}-${id.slice(48, 52)}-${id.slice(52, 64)}`,
      kernelVersion: '6.1.0-kre',
      osImage: 'KRE simulated node',
      containerRuntimeVersion: 'containerd://1.7.24',
      kubeletVersion: KUBELET_VERSION,
      kubeProxyVersion: KUBELET_VERSION,
      operatingSystem: 'linux',
      architecture: 'amd64',
    },
  };
}

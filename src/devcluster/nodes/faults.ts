/**
 * Faults of the simulated nodes, from code (`DevCluster.nodes`) and from the API server's admin
 * endpoints: a kubelet that stops answering (its lease and status stop, its endpoints hang or
 * refuse connections) and a container that crashes.
 */
import type { Kubelet } from './kubelet.ts';

export type NodeFault = false | 'hang' | 'refuse';

export interface SimulatedNode {
  name: string;
  unresponsive: NodeFault;
  /** The kubelet's HTTPS endpoint, when it serves one. */
  kubelet?: { host: string; port: number };
  /** Where the node's cgroup files are, when it writes them. */
  cgroupRoot?: string;
}

export class NodeFaultError extends Error {
  constructor(
    readonly reason: 'NotFound' | 'BadRequest' | 'Conflict',
    message: string,
  ) {
    super(message);
  }
}

export class NodeFaults {
  constructor(private readonly kubelets: readonly Kubelet[]) {}

  list(): SimulatedNode[] {
    return this.kubelets.map((k) => {
      const e = k.endpoint();
      const root = k.resources?.cgroupRoot;
      return { name: k.name, unresponsive: k.unresponsive, ...(e && { kubelet: { host: e.host, port: e.port } }), ...(root && { cgroupRoot: root }) };
    });
  }

  has(name: string): boolean {
    return this.kubelets.some((k) => k.name === name);
  }

  private kubelet(name: string): Kubelet {
    const k = this.kubelets.find((x) => x.name === name);
    if (!k) throw new NodeFaultError('NotFound', `node "${name}" is not a simulated node of this cluster`);
    return k;
  }

  /** The node's kubelet stops answering (`'hang'` or `'refuse'`, default `'refuse'`), or answers again (`false`). */
  async setUnresponsive(name: string, mode: NodeFault | undefined = 'refuse'): Promise<void> {
    if (mode !== false && mode !== 'hang' && mode !== 'refuse') throw new NodeFaultError('BadRequest', `unresponsive must be "hang", "refuse" or false, not ${JSON.stringify(mode)}`);
    const k = this.kubelet(name);
    await k.setUnresponsive(mode !== false, mode || undefined);
  }

  /**
   * A container of a pod that runs on one of the nodes exits (exit code 1, reason Error, unless
   * given) and is restarted after a back-off; the container may be left out when the pod has one.
   * Returns the node and the container.
   */
  crashContainer(namespace: string, pod: string, container?: string, exitCode = 1, reason = 'Error'): { node: string; container: string } {
    const k = this.kubelets.find((x) => x.pod(namespace, pod));
    const p = k?.pod(namespace, pod);
    if (!k || !p) throw new NodeFaultError('NotFound', `pod "${pod}" in namespace "${namespace}" does not run on a simulated node of this cluster`);
    const containers = p.spec?.containers ?? [];
    const name = container ?? (containers.length === 1 ? containers[0].name : undefined);
    if (!name) throw new NodeFaultError('BadRequest', `a container name must be specified for pod ${pod}, choose one of: [${containers.map((c) => c.name).join(' ')}]`);
    if (!containers.some((c) => c.name === name)) throw new NodeFaultError('BadRequest', `container ${name} is not valid for pod ${pod}`);
    if (!k.crashContainer(namespace, pod, name, exitCode, reason)) throw new NodeFaultError('Conflict', `container ${name} of pod ${pod} is not running`);
    return { node: k.name, container: name };
  }

  /** Where a node's kubelet serves, for the API server to proxy to. */
  endpoint(name: string): { host: string; port: number; caCert: string } | undefined {
    return this.kubelets.find((k) => k.name === name)?.endpoint();
  }
}

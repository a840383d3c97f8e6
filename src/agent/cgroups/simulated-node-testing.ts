/**
 * For tests: a simulated node's pods and their cgroup files, written by the devcluster's simulated
 * kubelet in the kernel's formats (cgroup v2 and both drivers, which this machine's kernel cannot
 * give). Its writer is the reference the module's readers are checked against.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CgroupFiles } from '../../devcluster/nodes/cgroup-files.ts';
import { UsageModel, type NodeUsage } from '../../devcluster/nodes/usage-model.ts';
import type { Pod, ResourceRequirements } from '../../kube/index.ts';
import type { CgroupDriver, CgroupVersion, PodRef, QosClass } from './types.ts';

/** A pod of the simulated node: what the kubelet would say of it, its uid and QoS class always set. */
export type NodePod = Pod & { metadata: { uid: string }; status: { qosClass: QosClass } };

export const T0 = Date.parse('2026-01-01T00:00:00Z');

/** Pod `n` of a QoS class, its containers running with containerd ids. */
export function kubePod(n: number, qos: QosClass, containers = ['a', 'b']): NodePod {
  const uid = `${String(n).repeat(8)}-aaaa-bbbb-cccc-00000000000${n}`;
  const resources: ResourceRequirements =
    qos === 'Guaranteed'
      ? { requests: { cpu: '500m', memory: '128Mi' }, limits: { cpu: '500m', memory: '128Mi' } }
      : qos === 'Burstable'
        ? { requests: { cpu: '250m', memory: '64Mi' }, limits: { cpu: '1' } }
        : {};
  return {
    metadata: { uid, name: `p${n}`, namespace: 'default' },
    spec: { containers: containers.map((name) => ({ name, image: 'img:1', resources })) },
    status: {
      qosClass: qos,
      containerStatuses: containers.map((name) => ({
        name,
        ready: true,
        restartCount: 0,
        image: 'img:1',
        imageID: '',
        containerID: `containerd://${`${name}${n}`.repeat(64).slice(0, 64).replace(/[^0-9a-f]/g, 'f')}`,
        state: { running: { startedAt: new Date(T0).toISOString() } },
      })),
    },
  };
}

/** What the agent knows of a pod. */
export function podRef(p: NodePod): PodRef {
  return { uid: p.metadata.uid, qos: p.status.qosClass, containerIds: (p.status.containerStatuses ?? []).flatMap((s) => (s.containerID ? [s.containerID] : [])) };
}

export interface SimulatedNode {
  root: string;
  files: CgroupFiles;
  /** The usage the last kernel pass wrote. */
  usage: NodeUsage;
  remove(): void;
}

/** The pods' cgroup files after the kubelet's sync and two kernel passes 30 s apart, on a 4-CPU node. */
export async function simulatedNode(pods: NodePod[], version: CgroupVersion, driver: CgroupDriver, numaNodes = 2): Promise<SimulatedNode> {
  const root = mkdtempSync(join(tmpdir(), 'kre-cg-node-'));
  try {
    const files = new CgroupFiles({ root, version, driver, cpus: 4, numaNodes });
    files.sync(pods);
    const model = new UsageModel({ nodeName: 'n', seed: 1 });
    await files.writePass(pods, model, T0);
    const usage = await files.writePass(pods, model, T0 + 30_000);
    return { root, files, usage, remove: () => rmSync(root, { recursive: true, force: true }) };
  } catch (err) {
    rmSync(root, { recursive: true, force: true });
    throw err;
  }
}

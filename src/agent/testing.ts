/**
 * Test helpers: a devcluster API server with one simulated node started in the test, its kubelet's
 * HTTPS endpoint and its cgroup file tree, with the node's passes run by the test (not by timers)
 * so that what the agent reads can be compared with what the usage model wrote.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDevCluster, type DevCluster } from '../devcluster/index.ts';
import { startWorkloads, type Kubelet, type Workloads } from '../devcluster/nodes/index.ts';
import { eventually } from '../devcluster/testing.ts';
import { NAMESPACES, KubeClient, type KubeObject, type Pod } from '../kube/index.ts';
import { createLogger } from '../kube/index.ts';

export interface SimulatedNode {
  cluster: DevCluster;
  client: KubeClient;
  workloads: Workloads;
  kubelet: Kubelet;
  name: string;
  /** `https://<node address>:<port>`. */
  kubeletUrl: string;
  /** Files written for the test: the kubelet's CA and the cluster's token (mode 0600). */
  caFile: string;
  tokenFile: string;
  /** A directory the test may write into; removed by `stop`. */
  dir: string;
  cgroupRoot: string;
  stop(): Promise<void>;
}

export const PODS = { group: '', version: 'v1', plural: 'pods', namespaced: true };

/** One simulated node with a cgroup tree of the given version and driver; its timers are an hour apart. */
export async function startSimulatedNode(o: { version?: 'v1' | 'v2'; driver?: 'systemd' | 'cgroupfs'; maxPods?: number; cpu?: string; memory?: string } = {}): Promise<SimulatedNode> {
  const cluster = await startDevCluster({ nodes: 0 });
  const dir = mkdtempSync(join(tmpdir(), 'kre-agent-test-'));
  const client = new KubeClient(cluster.kubeConfig(), { userAgent: 'kre-agent-test' });
  let workloads: Workloads | undefined;
  try {
    workloads = await startWorkloads({
      client,
      log: createLogger('devcluster', 'error'),
      nodes: 1,
      maxPods: o.maxPods,
      cpu: o.cpu,
      memory: o.memory,
      resources: { token: cluster.token, cgroupVersion: o.version, cgroupDriver: o.driver, writeIntervalMs: 3_600_000, syncPeriodMs: 3_600_000 },
    });
    const kubelet = workloads.kubelets[0];
    const e = kubelet.endpoint();
    const root = kubelet.resources?.cgroupRoot;
    if (!e || !root) throw new Error('the simulated node serves no kubelet endpoint or writes no cgroup files');
    const caFile = join(dir, 'kubelet-ca.crt');
    const tokenFile = join(dir, 'token');
    writeFileSync(caFile, e.caCert, { mode: 0o600 });
    writeFileSync(tokenFile, cluster.token + '\n', { mode: 0o600 });
    const w = workloads;
    return {
      cluster,
      client,
      workloads: w,
      kubelet,
      name: kubelet.name,
      kubeletUrl: `https://${e.host}:${e.port}`,
      caFile,
      tokenFile,
      dir,
      cgroupRoot: root,
      async stop() {
        await w.stop();
        client.close();
        await cluster.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await workloads?.stop();
    client.close();
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

export async function ensureNamespace(client: KubeClient, name: string): Promise<void> {
  try {
    await client.create(NAMESPACES, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  } catch (err) {
    if ((err as { code?: number }).code !== 409) throw err;
  }
}

export interface PodShape {
  namespace: string;
  name: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  resources?: object;
  containers?: number;
  nodeName?: string;
}

export async function createPod(client: KubeClient, p: PodShape): Promise<KubeObject> {
  const containers = Array.from({ length: p.containers ?? 1 }, (_, i) => ({ name: i === 0 ? 'main' : `side-${i}`, image: 'model:1', resources: p.resources ?? {} }));
  return client.create({ ...PODS, namespace: p.namespace }, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: p.name, labels: p.labels ?? {}, annotations: p.annotations ?? {} },
    spec: { containers, ...(p.nodeName && { nodeName: p.nodeName }) },
  });
}

/** Waits until the kubelet reports each pod Running, and Ready unless it is never to be. */
export async function waitRunning(node: SimulatedNode, pods: Array<{ namespace: string; name: string; ready?: boolean }>): Promise<void> {
  await eventually(
    () =>
      pods.every((p) => {
        const got: Pod | undefined = node.kubelet.pod(p.namespace, p.name);
        if (got?.status?.phase !== 'Running') return false;
        const ready = (got.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
        return p.ready === false ? true : ready;
      }),
    60_000,
    `pods ${pods.map((p) => `${p.namespace}/${p.name}`).join(', ')} running`,
  );
}

/** The kernel's write pass of the node, now: files follow the usage model. */
export async function writePass(node: SimulatedNode) {
  const usage = await node.kubelet.resources!.pass();
  if (!usage) throw new Error('no usage');
  return usage;
}

/** Parses Prometheus text into `name{labels} → value` rows. */
export function parseExposition(text: string): Array<{ name: string; labels: Record<string, string>; value: number }> {
  const rows: Array<{ name: string; labels: Record<string, string>; value: number }> = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2].replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    rows.push({ name: m[1], labels, value: m[3] === '+Inf' ? Infinity : Number(m[3]) });
  }
  return rows;
}

/** The value of one series, or undefined. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  return parseExposition(text).find((r) => r.name === name && Object.entries(labels).every(([k, v]) => r.labels[k] === v))?.value;
}

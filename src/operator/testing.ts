/** Helpers for the operator's tests and benchmark: objects to create and API writes to count. */
import { after, before } from 'node:test';
import { startDevCluster, type DevCluster } from '../devcluster/index.ts';
import { EVENTS, KubeClient, NAMESPACES, type Event, type Pod } from '../kube/index.ts';
import { createLogger } from '../kube/index.ts';
import {
  API_VERSION,
  RUNTIME_VERSIONS,
  RUNTIMES,
  type Condition,
  type RuntimeObject,
  type RuntimeSpecInput,
  type RuntimeVersionObject,
  type RuntimeVersionSpecInput,
} from '../api/index.ts';
import { installCustomResourceDefinitions } from './install.ts';
import { startOperator, type Operator } from './operator.ts';
import { devclusterWrites } from '../devcluster/testing.ts';

export { NAMESPACES, PODS, DEPLOYMENTS, STATEFULSETS, SERVICES, CONFIGMAPS, SECRETS, EVENTS } from '../kube/index.ts';

export async function createNamespace(client: KubeClient, name: string): Promise<void> {
  await client.create(NAMESPACES, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
}

export function runtimeObject(namespace: string, name: string, spec: RuntimeSpecInput = {}): RuntimeObject & { spec: RuntimeSpecInput } {
  return { apiVersion: API_VERSION, kind: 'Runtime', metadata: { name, namespace }, spec };
}

/** A version with one workflow per entry of `workflows`, each a chain of the named nodes. */
export function versionObject(
  namespace: string,
  name: string,
  workflows: Record<string, string[]>,
  extra: Partial<RuntimeVersionSpecInput> = {},
): RuntimeVersionObject & { spec: RuntimeVersionSpecInput } {
  return {
    apiVersion: API_VERSION,
    kind: 'RuntimeVersion',
    metadata: { name, namespace },
    spec: {
      versionId: `${name}-id`,
      entrypoint: { image: 'konstellation/entrypoint:1.0', protoFile: 'public_input.proto' },
      config: [{ key: 'MODEL_PATH', value: '/models/v1' }],
      workflows: Object.entries(workflows).map(([wf, nodes]) => ({
        id: `${wf}-id`,
        name: wf,
        entrypoint: wf.charAt(0).toUpperCase() + wf.slice(1),
        nodes: nodes.map((n) => ({ id: `${wf.slice(0, 3)}${n}`.toLowerCase(), name: n, image: `konstellation/${n}:1.0`, src: `src/${n}/main.py` })),
        edges: nodes.slice(1).map((n, i) => ({ id: `${wf}-edge-${i}`, fromNode: `${wf.slice(0, 3)}${nodes[i]}`.toLowerCase(), toNode: `${wf.slice(0, 3)}${n}`.toLowerCase() })),
      })),
      ...extra,
    },
  };
}

export const runtimeRef = (namespace: string, name: string) => ({ ...RUNTIMES, namespace, name });
export const versionRef = (namespace: string, name: string) => ({ ...RUNTIME_VERSIONS, namespace, name });

/** What counts a server's writes: a devcluster, or a test's handle on any API server (`writes()`). */
export type WriteCounter = Pick<DevCluster, 'metrics'> | { writes(): Promise<Record<string, number>> };

/**
 * API writes (create, update, patch, delete) the server has served, by resource, leaving out
 * what is not the operator's reconciling: leader election, events, and the controllers' pod,
 * endpoint and status traffic.
 */
export async function operatorWrites(cluster: WriteCounter): Promise<number> {
  return Object.values(await operatorWritesByResource(cluster)).reduce((a, b) => a + b, 0);
}

const OPERATOR_RESOURCES = /^(runtimes\/status|runtimeversions\/status|statefulsets|deployments|services|configmaps|secrets|ingresses)$/;

export async function operatorWritesByResource(cluster: WriteCounter): Promise<Record<string, number>> {
  const all = 'writes' in cluster ? await cluster.writes() : devclusterWrites(await cluster.metrics());
  const out: Record<string, number> = {};
  for (const [key, n] of Object.entries(all)) if (OPERATOR_RESOURCES.test(key.slice(key.indexOf(' ') + 1))) out[key] = n;
  return out;
}

/** Waits until the counted writes hold still for `quietMs` (the cluster has settled), and returns them. */
export async function settledWrites(cluster: WriteCounter, quietMs = 1500, timeoutMs = 60_000): Promise<Record<string, number>> {
  const deadline = Date.now() + timeoutMs;
  let last = JSON.stringify(await operatorWritesByResource(cluster));
  for (;;) {
    await new Promise((r) => setTimeout(r, quietMs));
    const now = await operatorWritesByResource(cluster);
    if (JSON.stringify(now) === last) return now;
    if (Date.now() > deadline) throw new Error('the cluster did not settle');
    last = JSON.stringify(now);
  }
}

export function isReadyPod(pod: Pod): boolean {
  return pod.status?.phase === 'Running' && (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** A devcluster with the CRDs installed and one operator reconciling it, without leader election. */
export class OperatorTestbed {
  private constructor(
    readonly cluster: DevCluster,
    readonly client: KubeClient,
    public operator: Operator,
    private readonly logLevel: string,
  ) {}

  static async start(logLevel = 'warn'): Promise<OperatorTestbed> {
    const cluster = await startDevCluster();
    const client = new KubeClient(cluster.kubeConfig());
    try {
      await installCustomResourceDefinitions(client);
    } catch (err) {
      client.close();
      await cluster.stop();
      throw err;
    }
    return new OperatorTestbed(cluster, client, OperatorTestbed.operator(client, logLevel), logLevel);
  }

  private static operator(client: KubeClient, logLevel: string): Operator {
    return startOperator({ client, leaderElection: false, logger: createLogger('operator', logLevel) });
  }

  /** A new operator, remembering nothing of the one before. */
  async restartOperator(): Promise<void> {
    await this.operator.stop();
    this.operator = OperatorTestbed.operator(this.client, this.logLevel);
  }

  async stop(): Promise<void> {
    await this.operator.stop();
    this.client.close();
    await this.cluster.stop();
  }

  /** The events about the object `name` in `namespace`. */
  async eventsAbout(namespace: string, name: string): Promise<Event[]> {
    return (await this.client.list<Event>({ ...EVENTS, namespace })).items.filter((e) => e.involvedObject.name === name);
  }
}

/** The testbed of a describe's tests, read inside them once it has started. */
export interface SharedTestbed {
  readonly client: KubeClient;
  readonly operator: Operator;
  eventsAbout(namespace: string, name: string): Promise<Event[]>;
}

/**
 * One OperatorTestbed for the tests of the enclosing describe, its operator silent: started
 * before the first and stopped after the last, so the tests share its API server and operator.
 */
export function sharedTestbed(): SharedTestbed {
  let bed: OperatorTestbed | undefined;
  before(async () => {
    bed = await OperatorTestbed.start('silent');
  });
  after(() => bed?.stop());
  const started = (): OperatorTestbed => {
    if (!bed) throw new Error('the testbed has not started');
    return bed;
  };
  return {
    get client() {
      return started().client;
    },
    get operator() {
      return started().operator;
    },
    eventsAbout: (namespace, name) => started().eventsAbout(namespace, name),
  };
}

export function conditionOf(obj: RuntimeObject | RuntimeVersionObject, type: string): Condition | undefined {
  return obj.status?.conditions?.find((c) => c.type === type);
}

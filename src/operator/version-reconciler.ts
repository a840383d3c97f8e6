/**
 * Reconciles a RuntimeVersion: when Started, its configuration ConfigMaps, a ConfigMap and a
 * Deployment per workflow node and the entrypoint Deployment; when Stopped, none of them (the
 * resource stays, so it can be started again). Its status says which workloads are ready and
 * whether it is the version its Runtime publishes.
 *
 * A version's workloads talk to the namespace's MongoDB and NATS, so a version with no workloads
 * yet waits (phase Waiting) until the namespace has a Running Runtime; one already running keeps
 * its workloads while its Runtime is not Running, and says so in a condition.
 *
 * No finalizer: the children are owned by the version and go with it.
 */
import {
  type Deployment,
  type KubeClient,
  type ObjectStore,
  type ReconcileContext,
  type ReconcileKey,
  type ReconcileResult,
  type Reconciler,
} from '../kube/index.ts';
import {
  API_VERSION,
  checkRuntimeVersion,
  RUNTIME_VERSIONS,
  RuntimeSpec,
  RuntimeVersionConditions,
  RuntimeVersionSpec,
  schemaProblems,
  type NodeStatus,
  type RuntimeVersion,
  type RuntimeVersionObject,
  type VersionPhase,
} from '../api/index.ts';
import { ChildCache, ChildWriter } from './children.ts';
import type { ConditionUpdate } from './conditions.ts';
import type { EventRecorder } from './events.ts';
import { activeRuntime } from './runtime-reconciler.ts';
import { problemsMessage, StatusWriter } from './status.ts';
import { entrypointName, nodeWorkloadName, renderVersionObjects } from './version-objects.ts';

export interface VersionReconcilerDeps {
  client: KubeClient;
  versions: ObjectStore;
  runtimes: ObjectStore;
  children: ChildCache;
  writer: ChildWriter;
  events: EventRecorder;
}

const CHILD_KINDS = ['Deployment', 'ConfigMap'] as const;

export class RuntimeVersionReconciler implements Reconciler {
  private readonly status: StatusWriter;

  constructor(private readonly deps: VersionReconcilerDeps) {
    this.status = new StatusWriter({ client: deps.client, writer: deps.writer, events: deps.events, resource: RUNTIME_VERSIONS });
  }

  async reconcile(key: ReconcileKey, ctx: ReconcileContext): Promise<ReconcileResult | void> {
    const namespace = key.namespace ?? '';
    const cached: RuntimeVersionObject | undefined = this.deps.versions.get(namespace, key.name);
    if (!cached || cached.metadata.deletionTimestamp) return;
    const published = this.publishedVersion(namespace) === key.name;

    const parsed = RuntimeVersionSpec.safeParse(cached.spec ?? {});
    const problems = parsed.success ? checkRuntimeVersion(key.name, parsed.data) : schemaProblems('spec', parsed.error.issues);
    if (!parsed.success || problems.length > 0) {
      const message = problemsMessage(problems);
      return this.status.fail(cached, {
        phase: 'Failed',
        fields: { published },
        conditions: [{ type: RuntimeVersionConditions.invalidSpec, status: 'True', reason: 'InvalidSpec', message }],
        events: [{ type: 'Warning', reason: 'InvalidSpec', message, condition: RuntimeVersionConditions.invalidSpec }],
      });
    }
    // The store holds the runtimeversions resource: apiVersion and kind are those of a RuntimeVersion.
    const v: RuntimeVersion = { ...cached, apiVersion: API_VERSION, kind: 'RuntimeVersion', spec: parsed.data };
    const owned = CHILD_KINDS.flatMap((kind) => this.deps.children.ownedBy(kind, namespace, v.metadata.uid ?? ''));

    if (v.spec.state === 'Stopped') {
      const stopped = {
        phase: owned.length > 0 ? 'Stopping' : 'Stopped',
        fields: { published, nodes: [], entrypointReady: false },
        conditions: [
          { type: RuntimeVersionConditions.invalidSpec, status: 'False' as const },
          { type: RuntimeVersionConditions.ready, status: 'False' as const, reason: 'Stopped' },
        ],
      };
      await this.status.applyChildren(v, { desired: [], obsolete: owned, rejected: () => stopped }, ctx.log);
      await this.status.write(v, stopped);
      return;
    }

    const runtimeReady = this.runtimeReadiness(namespace);
    if (runtimeReady.status !== 'True' && owned.length === 0) {
      await this.status.write(v, {
        phase: 'Waiting',
        fields: { published },
        conditions: [
          { type: RuntimeVersionConditions.invalidSpec, status: 'False' },
          runtimeReady,
          { type: RuntimeVersionConditions.ready, status: 'False', reason: 'WaitingForRuntime' },
        ],
        events: [{ type: 'Normal', reason: 'Waiting', message: runtimeReady.message ?? '', condition: RuntimeVersionConditions.runtimeReady }],
      });
      // The Runtime's changes wake the namespace's versions.
      return;
    }

    const desired = renderVersionObjects(v, { mongoDbName: this.mongoDbName(namespace) });
    // Nodes removed from the spec leave their workloads behind unless deleted here.
    const wanted = new Set(desired.map((d) => `${d.kind}/${d.metadata.name}`));
    await this.status.applyChildren(v, {
      desired,
      obsolete: owned.filter((child) => !wanted.has(`${child.kind}/${child.metadata.name}`)),
      rejected: (message) => ({
        phase: 'Failed',
        fields: { published },
        conditions: [{ type: RuntimeVersionConditions.ready, status: 'False', reason: 'Rejected', message }],
        events: [{ type: 'Warning', reason: 'ApplyFailed', message, condition: RuntimeVersionConditions.ready }],
      }),
    }, ctx.log);

    const nodes: NodeStatus[] = v.spec.workflows.flatMap((wf) =>
      wf.nodes.map((node) => {
        const deployment = nodeWorkloadName(key.name, node);
        const { replicas, readyReplicas, ready } = this.deploymentReadiness(namespace, deployment, node.replicas);
        return { workflow: wf.name, id: node.id, name: node.name, deployment, replicas, readyReplicas, ready };
      }),
    );
    const entrypointReady = this.deploymentReadiness(namespace, entrypointName(key.name), 1).ready;
    const readyCount = nodes.filter((n) => n.ready).length + (entrypointReady ? 1 : 0);
    const all = nodes.length + 1;
    const previous = v.status?.phase;
    const phase: VersionPhase = readyCount === all ? 'Running' : previous === 'Running' || previous === 'Degraded' ? 'Degraded' : 'Starting';
    const notReady = [...nodes.filter((n) => !n.ready).map((n) => n.deployment), ...(entrypointReady ? [] : [entrypointName(key.name)])];
    await this.status.write(v, {
      phase,
      fields: { published, ready: `${readyCount}/${all}`, nodes, entrypointReady },
      conditions: [
        { type: RuntimeVersionConditions.invalidSpec, status: 'False' },
        runtimeReady,
        readyCount === all
          ? { type: RuntimeVersionConditions.ready, status: 'True', reason: 'AllWorkloadsReady' }
          : { type: RuntimeVersionConditions.ready, status: 'False', reason: 'WorkloadsNotReady', message: `not ready: ${notReady.join(', ')}` },
      ],
      events: [{ type: phase === 'Degraded' ? 'Warning' : 'Normal', reason: phase, message: `RuntimeVersion is ${phase}` }],
    });
  }

  /** Whether the namespace's Runtime runs the MongoDB, NATS and MinIO the version's workloads use. */
  private runtimeReadiness(namespace: string): ConditionUpdate {
    const type = RuntimeVersionConditions.runtimeReady;
    const rt = activeRuntime(this.deps.runtimes.list({ namespace }));
    if (!rt) return { type, status: 'False', reason: 'RuntimeNotFound', message: `no Runtime in namespace ${namespace}: waiting for one to run MongoDB, NATS and MinIO` };
    const phase = rt.status?.phase;
    if (phase !== 'Running') {
      return { type, status: 'False', reason: 'RuntimeNotRunning', message: `Runtime ${rt.metadata.name} is ${phase ?? 'not reconciled yet'}: waiting for it to be Running` };
    }
    return { type, status: 'True', reason: 'RuntimeRunning', message: `Runtime ${rt.metadata.name} is Running` };
  }

  private publishedVersion(namespace: string): string | undefined {
    return activeRuntime(this.deps.runtimes.list({ namespace }))?.spec?.publishedVersion;
  }

  private mongoDbName(namespace: string): string {
    const rt = activeRuntime(this.deps.runtimes.list({ namespace }));
    const parsed = RuntimeSpec.safeParse(rt?.spec ?? {});
    return parsed.success ? parsed.data.mongo.dbName : 'data';
  }

  private deploymentReadiness(namespace: string, name: string, want: number): { replicas: number; readyReplicas: number; ready: boolean } {
    const d: Deployment | undefined = this.deps.children.get('Deployment', namespace, name);
    const readyReplicas = d?.status?.readyReplicas ?? 0;
    const current = d !== undefined && (d.status?.observedGeneration ?? 0) >= (d.metadata.generation ?? 0);
    const updated = d?.status?.updatedReplicas ?? 0;
    return { replicas: want, readyReplicas, ready: current && readyReplicas >= want && updated >= want };
  }
}

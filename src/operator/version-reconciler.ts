/**
 * Reconciles a RuntimeVersion: when Started, its configuration ConfigMaps, a ConfigMap and a
 * Deployment per workflow node and the entrypoint Deployment; when Stopped, none of them (the
 * resource stays, so it can be started again). Its status says which workloads are ready and
 * whether it is the version its Runtime publishes.
 *
 * No finalizer: the children are owned by the version and go with it.
 */
import {
  isNotFound,
  KubeApiError,
  TerminalError,
  updateStatusWithRetry,
  type KubeClient,
  type KubeObject,
  type ObjectStore,
  type ReconcileContext,
  type ReconcileKey,
  type ReconcileResult,
  type Reconciler,
} from '../kube/index.ts';
import {
  checkRuntimeVersion,
  RUNTIME_VERSIONS,
  RuntimeSpec,
  RuntimeVersionConditions,
  RuntimeVersionSpec,
  type NodeStatus,
  type RuntimeVersion,
  type RuntimeVersionStatus,
  type VersionPhase,
} from '../api/index.ts';
import { ChildCache, ChildWriter, FIELD_MANAGER } from './children.ts';
import { findCondition, mergeConditions, nowRFC3339, sameConditions, type ConditionUpdate } from './conditions.ts';
import type { EventRecorder } from './events.ts';
import { activeRuntime } from './runtime-reconciler.ts';
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
  constructor(private readonly deps: VersionReconcilerDeps) {}

  async reconcile(key: ReconcileKey, ctx: ReconcileContext): Promise<ReconcileResult | void> {
    const namespace = key.namespace ?? '';
    const cached = this.deps.versions.get(namespace, key.name);
    if (!cached || cached.metadata.deletionTimestamp) return;
    const published = this.publishedVersion(namespace) === key.name;

    const parsed = RuntimeVersionSpec.safeParse(cached.spec ?? {});
    const problems = parsed.success
      ? checkRuntimeVersion(key.name, parsed.data)
      : parsed.error.issues.map((i) => ({ field: ['spec', ...i.path].join('.'), message: i.message }));
    if (!parsed.success || problems.length > 0) {
      const message = problems.map((p) => `${p.field}: ${p.message}`).join('; ');
      await this.writeStatus(cached, { phase: 'Failed', published }, [{ type: RuntimeVersionConditions.invalidSpec, status: 'True', reason: 'InvalidSpec', message }], {
        reason: 'InvalidSpec',
        message,
        type: 'Warning',
      });
      return;
    }
    const v: RuntimeVersion = { ...(cached as RuntimeVersion), spec: parsed.data };
    const owned = CHILD_KINDS.flatMap((kind) => this.deps.children.ownedBy(kind, namespace, v.metadata.uid ?? ''));

    if (v.spec.state === 'Stopped') {
      const removed: string[] = [];
      for (const child of owned) {
        await this.deps.writer.remove(child);
        removed.push(`${child.kind} ${child.metadata.name}`);
      }
      if (removed.length > 0) {
        ctx.log.info({ objects: removed }, 'deleted workloads of a stopped version');
        await this.deps.events.record(v, 'Normal', 'Stopped', `deleted ${removed.join(', ')}`);
      }
      await this.writeStatus(v, { phase: owned.length > 0 ? 'Stopping' : 'Stopped', published, ready: undefined, nodes: [], entrypointReady: false }, [
        { type: RuntimeVersionConditions.invalidSpec, status: 'False' },
        { type: RuntimeVersionConditions.ready, status: 'False', reason: 'Stopped' },
      ]);
      return;
    }

    const desired = renderVersionObjects(v, { mongoDbName: this.mongoDbName(namespace) });
    const written: string[] = [];
    try {
      for (const obj of desired) {
        // A child applied again although its rendering is unchanged was edited behind the operator.
        let changed = '';
        if (await this.deps.writer.ensure(obj, (d) => (changed = ` (set back ${d.path})`))) written.push(`${obj.kind} ${obj.metadata.name}${changed}`);
      }
      // Nodes removed from the spec leave their workloads behind unless deleted here.
      const wanted = new Set(desired.map((d) => `${d.kind}/${d.metadata.name}`));
      for (const child of owned) {
        if (wanted.has(`${child.kind}/${child.metadata.name}`)) continue;
        await this.deps.writer.remove(child);
        written.push(`deleted ${child.kind} ${child.metadata.name}`);
      }
    } catch (err) {
      if (err instanceof Error && err.cause instanceof KubeApiError && err.cause.code === 422) {
        await this.writeStatus(v, { phase: 'Failed', published }, [{ type: RuntimeVersionConditions.ready, status: 'False', reason: 'Rejected', message: err.message }], {
          reason: 'ApplyFailed',
          message: err.message,
          type: 'Warning',
        });
        throw new TerminalError(err.message, { cause: err });
      }
      await this.deps.events.record(v, 'Warning', 'ApplyFailed', (err as Error).message);
      throw err;
    }
    if (written.length > 0) {
      ctx.log.info({ objects: written }, 'applied children');
      await this.deps.events.record(v, 'Normal', 'Applied', written.join(', '));
    }

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
    const previous = (v.status as RuntimeVersionStatus | undefined)?.phase;
    const phase: VersionPhase = readyCount === all ? 'Running' : previous === 'Running' || previous === 'Degraded' ? 'Degraded' : 'Starting';
    const notReady = [...nodes.filter((n) => !n.ready).map((n) => n.deployment), ...(entrypointReady ? [] : [entrypointName(key.name)])];
    await this.writeStatus(
      v,
      { phase, published, ready: `${readyCount}/${all}`, nodes, entrypointReady },
      [
        { type: RuntimeVersionConditions.invalidSpec, status: 'False' },
        readyCount === all
          ? { type: RuntimeVersionConditions.ready, status: 'True', reason: 'AllWorkloadsReady' }
          : { type: RuntimeVersionConditions.ready, status: 'False', reason: 'WorkloadsNotReady', message: `not ready: ${notReady.join(', ')}` },
      ],
      phase !== previous ? { reason: phase, message: `RuntimeVersion is ${phase}`, type: phase === 'Degraded' ? 'Warning' : 'Normal' } : undefined,
    );
  }

  private publishedVersion(namespace: string): string | undefined {
    return (activeRuntime(this.deps.runtimes.list({ namespace }))?.spec as { publishedVersion?: string } | undefined)?.publishedVersion;
  }

  private mongoDbName(namespace: string): string {
    const rt = activeRuntime(this.deps.runtimes.list({ namespace }));
    const parsed = RuntimeSpec.safeParse(rt?.spec ?? {});
    return parsed.success ? parsed.data.mongo.dbName : 'data';
  }

  private deploymentReadiness(namespace: string, name: string, want: number): { replicas: number; readyReplicas: number; ready: boolean } {
    const d = this.deps.children.get('Deployment', namespace, name);
    const readyReplicas = d?.status?.readyReplicas ?? 0;
    const current = d !== undefined && (d.status?.observedGeneration ?? 0) >= (d.metadata.generation ?? 0);
    const updated = d?.status?.updatedReplicas ?? 0;
    return { replicas: want, readyReplicas, ready: current && readyReplicas >= want && updated >= want };
  }

  /** Writes the status when it differs from the cached one; records `event` only then. */
  private async writeStatus(
    v: KubeObject,
    fields: Omit<RuntimeVersionStatus, 'conditions' | 'observedGeneration'>,
    conditions: ConditionUpdate[],
    event?: { reason: string; message: string; type: 'Normal' | 'Warning' },
  ): Promise<void> {
    const generation = v.metadata.generation;
    const old = (v.status ?? {}) as RuntimeVersionStatus;
    const now = nowRFC3339();
    const next: RuntimeVersionStatus = { ...dropUndefined(fields), observedGeneration: generation, conditions: mergeConditions(old.conditions, conditions, generation, now) };
    const { conditions: oldConditions, ...oldRest } = old;
    const { conditions: nextConditions, ...nextRest } = next;
    if (JSON.stringify(sortKeys(oldRest)) === JSON.stringify(sortKeys(nextRest)) && sameConditions(oldConditions, nextConditions)) return;
    const newlyInvalid = findCondition(old.conditions, RuntimeVersionConditions.invalidSpec)?.message !== findCondition(next.conditions, RuntimeVersionConditions.invalidSpec)?.message;
    try {
      await updateStatusWithRetry(
        this.deps.client,
        { ...RUNTIME_VERSIONS, namespace: v.metadata.namespace, name: v.metadata.name ?? '' },
        (fresh) => {
          fresh.status = { ...next, conditions: mergeConditions((fresh.status as RuntimeVersionStatus | undefined)?.conditions, conditions, generation, now) };
        },
        { fieldManager: FIELD_MANAGER },
      );
    } catch (err) {
      if (isNotFound(err)) return;
      throw new Error(`could not write the status of RuntimeVersion ${v.metadata.name}: ${(err as Error).message}`, { cause: err });
    }
    if (event && (event.reason !== 'InvalidSpec' || newlyInvalid)) await this.deps.events.record(v, event.type, event.reason, event.message);
  }
}

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, value]) => value !== undefined)) as T;
}

function sortKeys(o: object): [string, unknown][] {
  return Object.entries(o).sort(([a], [b]) => a.localeCompare(b));
}

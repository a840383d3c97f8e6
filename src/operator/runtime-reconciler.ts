/**
 * Reconciles a Runtime into MongoDB, NATS and MinIO, their credentials, and the Service of the
 * published version; then states in its status how far each component is.
 *
 * No finalizer: every child carries the Runtime as controller owner, so the garbage collector
 * removes them with it, and nothing the operator makes lives outside the namespace.
 */
import {
  isAlreadyExists,
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
  MINIO_SECRET_KEYS,
  MONGO_SECRET_KEYS,
  RuntimeConditions,
  RUNTIMES,
  RuntimeSpec,
  type Runtime,
  type RuntimePhase,
  type RuntimeStatus,
} from '../api/index.ts';
import { ChildCache, ChildWriter, FIELD_MANAGER } from './children.ts';
import { findCondition, mergeConditions, nowRFC3339, sameConditions, type ConditionUpdate } from './conditions.ts';
import type { EventRecorder } from './events.ts';
import {
  ACTIVE_ENTRYPOINT,
  generateMinioCredentials,
  generateMongoCredentials,
  MINIO,
  MINIO_CREDENTIALS,
  MONGO,
  MONGO_CREDENTIALS,
  mongoReplicas,
  NATS,
  renderCredentialsSecret,
  renderMongoConnectionSecret,
  renderRuntimeWorkloads,
  type MongoCredentials,
} from './runtime-objects.ts';

/** How often a Runtime waiting for a referenced Secret looks again (Secrets it does not own send no events). */
const MISSING_SECRET_RETRY_MS = 10_000;

export interface RuntimeReconcilerDeps {
  client: KubeClient;
  runtimes: ObjectStore;
  children: ChildCache;
  writer: ChildWriter;
  events: EventRecorder;
}

/** The Runtime the operator acts on in a namespace: the oldest, then the first by name. */
export function activeRuntime(runtimes: KubeObject[]): KubeObject | undefined {
  return runtimes
    .filter((r) => !r.metadata.deletionTimestamp)
    .sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') || (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''))[0];
}

interface ComponentState {
  condition: ConditionUpdate;
  ready: boolean;
}

export class RuntimeReconciler implements Reconciler {
  constructor(private readonly deps: RuntimeReconcilerDeps) {}

  async reconcile(key: ReconcileKey, ctx: ReconcileContext): Promise<ReconcileResult | void> {
    const namespace = key.namespace ?? '';
    const cached = this.deps.runtimes.get(namespace, key.name);
    if (!cached || cached.metadata.deletionTimestamp) return;

    const active = activeRuntime(this.deps.runtimes.list({ namespace }));
    if (active && active.metadata.uid !== cached.metadata.uid) {
      const message = `Runtime ${active.metadata.name} already runs in namespace ${namespace}; only one Runtime per namespace is reconciled`;
      await this.writeStatus(cached, 'Failed', [{ type: RuntimeConditions.ignored, status: 'True', reason: 'AnotherRuntimeInNamespace', message }], undefined, 'Ignored', message);
      return;
    }

    const parsed = RuntimeSpec.safeParse(cached.spec ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const message = `spec.${issue.path.join('.')}: ${issue.message}`;
      await this.writeStatus(cached, 'Failed', [{ type: RuntimeConditions.invalidSpec, status: 'True', reason: 'InvalidSpec', message }], undefined, 'InvalidSpec', message);
      return;
    }
    const rt: Runtime = { ...(cached as Runtime), spec: parsed.data };

    const mongo = await this.credentials(rt, 'mongo');
    const minio = await this.credentials(rt, 'minio');
    const missing = [mongo, minio].filter((c) => 'missing' in c).map((c) => (c as { missing: string }).missing);
    if (missing.length > 0) {
      const message = missing.join('; ');
      await this.writeStatus(rt, 'Creating', [{ type: RuntimeConditions.invalidSpec, status: 'False' }, { type: 'CredentialsReady', status: 'False', reason: 'SecretMissing', message }], undefined, 'SecretMissing', message, 'Warning');
      return { requeueAfter: MISSING_SECRET_RETRY_MS };
    }
    const mongoCreds = mongo as { secret: string; values: Record<string, string> };
    const minioCreds = minio as { secret: string; values: Record<string, string> };

    const desired = [
      renderMongoConnectionSecret(rt, mongoCreds.values as unknown as MongoCredentials),
      ...renderRuntimeWorkloads(rt, { mongo: mongoCreds.secret, minio: minioCreds.secret }),
    ];
    const written: string[] = [];
    try {
      for (const obj of desired) {
        // A child applied again although its rendering is unchanged was edited behind the operator.
        let changed = '';
        if (await this.deps.writer.ensure(obj, (d) => (changed = ` (set back ${d.path})`))) written.push(`${obj.kind} ${obj.metadata.name}${changed}`);
      }
      // Unpublishing removes the Service (and the Ingress) of the previous published version.
      for (const kind of ['Service', 'Ingress']) {
        const stale = this.deps.children.get(kind, namespace, ACTIVE_ENTRYPOINT);
        if (stale && !desired.some((d) => d.kind === kind && d.metadata.name === ACTIVE_ENTRYPOINT)) {
          await this.deps.writer.remove(stale);
          written.push(`deleted ${kind} ${ACTIVE_ENTRYPOINT}`);
        }
      }
    } catch (err) {
      // The server refusing what was rendered (422) will refuse it again: only a new spec can help.
      if (err instanceof Error && err.cause instanceof KubeApiError && err.cause.code === 422) {
        await this.writeStatus(rt, 'Failed', [{ type: 'Applied', status: 'False', reason: 'Rejected', message: err.message }], undefined, 'ApplyFailed', err.message, 'Warning');
        throw new TerminalError(err.message, { cause: err });
      }
      await this.deps.events.record(rt, 'Warning', 'ApplyFailed', (err as Error).message);
      throw err;
    }
    if (written.length > 0) {
      ctx.log.info({ objects: written }, 'applied children');
      await this.deps.events.record(rt, 'Normal', 'Applied', written.join(', '));
    }

    const components = this.componentStates(rt);
    const allReady = components.every((c) => c.ready);
    const previous = rt.status?.phase;
    const phase: RuntimePhase = allReady ? 'Running' : previous === 'Running' || previous === 'Degraded' ? 'Degraded' : 'Creating';
    const ready = `${components.filter((c) => c.ready).length}/${components.length}`;
    await this.writeStatus(
      rt,
      phase,
      [{ type: RuntimeConditions.invalidSpec, status: 'False' }, ...components.map((c) => c.condition)],
      ready,
      phase === previous ? undefined : phase,
      phase === 'Degraded' ? components.filter((c) => !c.ready).map((c) => c.condition.message).join('; ') : `Runtime is ${phase}`,
      phase === 'Degraded' ? 'Warning' : 'Normal',
    );
  }

  /**
   * The credentials of a component: from the Secret the spec references, else from the Secret the
   * operator generated once (created, never rewritten, so the passwords the data was initialised
   * with stay valid).
   */
  private async credentials(rt: Runtime, component: 'mongo' | 'minio'): Promise<{ secret: string; values: Record<string, string> } | { missing: string }> {
    const keys: readonly string[] = component === 'mongo' ? MONGO_SECRET_KEYS : MINIO_SECRET_KEYS;
    const namespace = rt.metadata.namespace ?? '';
    const ref = rt.spec[component].credentialsSecret?.name;
    if (ref) {
      let secret: KubeObject;
      try {
        secret = await this.deps.client.get({ group: '', version: 'v1', plural: 'secrets', namespace, name: ref });
      } catch (err) {
        if (isNotFound(err)) return { missing: `spec.${component}.credentialsSecret: Secret ${ref} does not exist` };
        throw new Error(`could not read Secret ${ref}: ${(err as Error).message}`, { cause: err });
      }
      const absent = keys.filter((k) => !secret.data?.[k]);
      if (absent.length > 0) return { missing: `spec.${component}.credentialsSecret: Secret ${ref} has no ${absent.join(', ')}` };
      return { secret: ref, values: decode(secret.data, keys) };
    }
    const name = component === 'mongo' ? MONGO_CREDENTIALS : MINIO_CREDENTIALS;
    const existing = this.deps.children.get('Secret', namespace, name);
    if (existing && keys.every((k) => existing.data?.[k])) return { secret: name, values: decode(existing.data, keys) };
    const generated = component === 'mongo' ? generateMongoCredentials() : generateMinioCredentials();
    const secret = renderCredentialsSecret(rt, name, generated as unknown as Record<string, string>);
    try {
      const created = await this.deps.client.create({ group: '', version: 'v1', plural: 'secrets', namespace }, secret, { fieldManager: FIELD_MANAGER });
      await this.deps.events.record(rt, 'Normal', 'CredentialsGenerated', `generated Secret ${name}`);
      return { secret: name, values: decode(created.data, keys) };
    } catch (err) {
      if (!isAlreadyExists(err)) throw new Error(`could not create Secret ${name}: ${(err as Error).message}`, { cause: err });
      // Created by an earlier reconcile the cache has not seen yet.
      const current = await this.deps.client.get({ group: '', version: 'v1', plural: 'secrets', namespace, name });
      return { secret: name, values: decode(current.data, keys) };
    }
  }

  private componentStates(rt: Runtime): ComponentState[] {
    const namespace = rt.metadata.namespace ?? '';
    const state = (type: string, name: string, want: number): ComponentState => {
      const sts = this.deps.children.get('StatefulSet', namespace, name);
      const readyReplicas = sts?.status?.readyReplicas ?? 0;
      const current = sts && (sts.status?.observedGeneration ?? 0) >= (sts.metadata.generation ?? 0);
      const ready = Boolean(current) && readyReplicas >= want && (sts?.status?.updatedReplicas ?? want) >= want;
      return {
        ready,
        condition: ready
          ? { type, status: 'True', reason: 'Ready', message: `${readyReplicas}/${want} replicas ready` }
          : { type, status: 'False', reason: sts ? 'NotReady' : 'NotCreated', message: `StatefulSet ${name}: ${readyReplicas}/${want} replicas ready` },
      };
    };
    return [
      state(RuntimeConditions.mongo, MONGO, mongoReplicas(rt)),
      state(RuntimeConditions.nats, NATS, rt.spec.nats.replicas),
      state(RuntimeConditions.minio, MINIO, 1),
    ];
  }

  /**
   * Writes the status when it differs from the cached one, and records an event when `reason` is
   * given and the phase or condition it names is new — so an unchanged Runtime costs no write.
   */
  private async writeStatus(
    rt: KubeObject,
    phase: RuntimePhase,
    conditions: ConditionUpdate[],
    ready: string | undefined,
    reason: string | undefined,
    message: string,
    type: 'Normal' | 'Warning' = 'Warning',
  ): Promise<void> {
    const generation = rt.metadata.generation;
    const old = (rt.status ?? {}) as RuntimeStatus;
    const now = nowRFC3339();
    const next: RuntimeStatus = { phase, observedGeneration: generation, conditions: mergeConditions(old.conditions, conditions, generation, now) };
    if (ready) next.ready = ready;
    const changed = old.phase !== next.phase || old.observedGeneration !== next.observedGeneration || old.ready !== next.ready || !sameConditions(old.conditions, next.conditions);
    if (!changed) return;
    const isNew = reason !== undefined && (old.phase !== phase || conditions.some((c) => c.status === 'True' && findCondition(old.conditions, c.type)?.status !== 'True') || reason === 'SecretMissing' && findCondition(old.conditions, 'CredentialsReady')?.message !== message);
    try {
      await updateStatusWithRetry(
        this.deps.client,
        { ...RUNTIMES, namespace: rt.metadata.namespace, name: rt.metadata.name ?? '' },
        (fresh) => {
          fresh.status = { ...next, conditions: mergeConditions((fresh.status as RuntimeStatus | undefined)?.conditions, conditions, generation, now) };
        },
        { fieldManager: FIELD_MANAGER },
      );
    } catch (err) {
      if (isNotFound(err)) return;
      throw new Error(`could not write the status of Runtime ${rt.metadata.name}: ${(err as Error).message}`, { cause: err });
    }
    if (isNew) await this.deps.events.record(rt, type, reason, message);
  }
}

function decode(data: Record<string, string> | undefined, keys: readonly string[]): Record<string, string> {
  return Object.fromEntries(keys.map((k) => [k, Buffer.from(data?.[k] ?? '', 'base64').toString('utf8')]));
}

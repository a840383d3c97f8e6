/**
 * Reconciles a Runtime into MongoDB, NATS and MinIO, their credentials, and the Service of the
 * published version; then states in its status how far each component is, and whether the
 * published version exists and runs.
 *
 * No finalizer: every child but the generated credentials carries the Runtime as controller owner,
 * so the garbage collector removes them with it. The credentials stay with the volumes they open
 * (see renderGeneratedCredentials), and nothing the operator makes lives outside the namespace.
 */
import {
  isAlreadyExists,
  isNotFound,
  type KubeClient,
  SECRETS,
  type KubeObject,
  type ObjectStore,
  type Secret,
  type StatefulSet,
  type ReconcileContext,
  type ReconcileKey,
  type ReconcileResult,
  type Reconciler,
} from '../kube/index.ts';
import {
  API_VERSION,
  checkRuntime,
  MINIO_SECRET_KEYS,
  MONGO_SECRET_KEYS,
  RuntimeConditions,
  RUNTIMES,
  RuntimeSpec,
  schemaProblems,
  type Runtime,
  type RuntimeObject,
  type RuntimePhase,
  type RuntimeVersionObject,
} from '../api/index.ts';
import { ChildCache, ChildWriter, FIELD_MANAGER } from './children.ts';
import type { ConditionUpdate } from './conditions.ts';
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
  renderGeneratedCredentials,
  renderMongoConnectionSecret,
  renderRuntimeWorkloads,
} from './runtime-objects.ts';
import { problemsMessage, StatusWriter, type StatusEvent } from './status.ts';

/** How often a Runtime waiting for a referenced Secret looks again (Secrets it does not own send no events). */
const MISSING_SECRET_RETRY_MS = 10_000;

export interface RuntimeReconcilerDeps {
  client: KubeClient;
  runtimes: ObjectStore;
  /** The RuntimeVersions, to say whether the published one exists and runs. */
  versions: ObjectStore;
  children: ChildCache;
  writer: ChildWriter;
  events: EventRecorder;
}

/** The Runtime the operator acts on in a namespace: the oldest, then the first by name. */
export function activeRuntime(runtimes: RuntimeObject[]): RuntimeObject | undefined {
  return runtimes
    .filter((r) => !r.metadata.deletionTimestamp)
    .sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') || (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''))[0];
}

interface ComponentState {
  condition: ConditionUpdate;
  ready: boolean;
}

export class RuntimeReconciler implements Reconciler {
  private readonly status: StatusWriter;

  constructor(private readonly deps: RuntimeReconcilerDeps) {
    this.status = new StatusWriter({ client: deps.client, writer: deps.writer, events: deps.events, resource: RUNTIMES });
  }

  async reconcile(key: ReconcileKey, ctx: ReconcileContext): Promise<ReconcileResult | void> {
    const namespace = key.namespace ?? '';
    const cached: RuntimeObject | undefined = this.deps.runtimes.get(namespace, key.name);
    if (!cached || cached.metadata.deletionTimestamp) return;

    const active = activeRuntime(this.deps.runtimes.list({ namespace }));
    if (active && active.metadata.uid !== cached.metadata.uid) {
      const message = `Runtime ${active.metadata.name} already runs in namespace ${namespace}; only one Runtime per namespace is reconciled`;
      await this.status.write(cached, {
        phase: 'Failed',
        conditions: [{ type: RuntimeConditions.ignored, status: 'True', reason: 'AnotherRuntimeInNamespace', message }],
        events: [{ type: 'Warning', reason: 'Ignored', message, condition: RuntimeConditions.ignored }],
      });
      return;
    }

    const parsed = RuntimeSpec.safeParse(cached.spec ?? {});
    const problems = parsed.success ? checkRuntime(key.name) : schemaProblems('spec', parsed.error.issues);
    if (!parsed.success || problems.length > 0) {
      const message = problemsMessage(problems);
      return this.status.fail(cached, {
        phase: 'Failed',
        conditions: [{ type: RuntimeConditions.invalidSpec, status: 'True', reason: 'InvalidSpec', message }],
        events: [{ type: 'Warning', reason: 'InvalidSpec', message, condition: RuntimeConditions.invalidSpec }],
      });
    }
    // The store holds the runtimes resource: apiVersion and kind are those of a Runtime.
    const rt: Runtime = { ...cached, apiVersion: API_VERSION, kind: 'Runtime', spec: parsed.data };

    const mongo = await this.credentials(rt, 'mongo');
    const minio = await this.credentials(rt, 'minio');
    if ('missing' in mongo || 'missing' in minio) {
      const message = [mongo, minio].flatMap((c) => ('missing' in c ? [c.missing] : [])).join('; ');
      await this.status.write(rt, {
        phase: 'Creating',
        conditions: [{ type: RuntimeConditions.invalidSpec, status: 'False' }, { type: 'CredentialsReady', status: 'False', reason: 'SecretMissing', message }],
        events: [{ type: 'Warning', reason: 'SecretMissing', message, condition: 'CredentialsReady' }],
      });
      return { requeueAfter: MISSING_SECRET_RETRY_MS };
    }
    const { username, password, sharedKey } = mongo.values;

    const desired = [
      renderMongoConnectionSecret(rt, { username, password, sharedKey }),
      ...renderRuntimeWorkloads(rt, { mongo: mongo.secret, minio: minio.secret }),
    ];
    // Unpublishing removes the Service (and the Ingress) of the previous published version.
    const obsolete = ['Service', 'Ingress']
      .map((kind) => this.deps.children.get(kind, namespace, ACTIVE_ENTRYPOINT))
      .filter((stale): stale is KubeObject => stale !== undefined && !desired.some((d) => d.kind === stale.kind && d.metadata.name === ACTIVE_ENTRYPOINT));
    await this.status.applyChildren(rt, {
      desired,
      obsolete,
      rejected: (message) => ({
        phase: 'Failed',
        conditions: [{ type: 'Applied', status: 'False', reason: 'Rejected', message }],
        events: [{ type: 'Warning', reason: 'ApplyFailed', message, condition: 'Applied' }],
      }),
    }, ctx.log);

    const components = this.componentStates(rt);
    const allReady = components.every((c) => c.ready);
    const previous = rt.status?.phase;
    const phase: RuntimePhase = allReady ? 'Running' : previous === 'Running' || previous === 'Degraded' ? 'Degraded' : 'Creating';
    const publication = this.publication(rt);
    const events: StatusEvent[] = [
      {
        type: phase === 'Degraded' ? 'Warning' : 'Normal',
        reason: phase,
        message: phase === 'Degraded' ? components.filter((c) => !c.ready).map((c) => c.condition.message).join('; ') : `Runtime is ${phase}`,
      },
    ];
    if (publication) events.push(publication.event);
    await this.status.write(rt, {
      phase,
      fields: { ready: `${components.filter((c) => c.ready).length}/${components.length}` },
      conditions: [{ type: RuntimeConditions.invalidSpec, status: 'False' }, ...components.map((c) => c.condition), ...(publication ? [publication.condition] : [])],
      events,
    });
  }

  /**
   * Whether `spec.publishedVersion` names a Running RuntimeVersion: the `active-entrypoint` Service
   * selects it by name whatever its state, so a missing or stopped version leaves it serving nothing.
   */
  private publication(rt: Runtime): { condition: ConditionUpdate; event: StatusEvent } | undefined {
    const name = rt.spec.publishedVersion;
    if (!name) return undefined;
    const namespace = rt.metadata.namespace ?? '';
    const version: RuntimeVersionObject | undefined = this.deps.versions.get(namespace, name);
    const phase = version?.status?.phase;
    const type = RuntimeConditions.published;
    let condition: ConditionUpdate;
    if (!version || version.metadata.deletionTimestamp) {
      condition = { type, status: 'False', reason: 'VersionNotFound', message: `RuntimeVersion ${name} does not exist in namespace ${namespace}; Service ${ACTIVE_ENTRYPOINT} selects no pods` };
    } else if (phase !== 'Running') {
      condition = { type, status: 'False', reason: 'VersionNotReady', message: `RuntimeVersion ${name} is ${phase ?? 'not reconciled yet'}, not Running; Service ${ACTIVE_ENTRYPOINT} may select no ready pods` };
    } else {
      condition = { type, status: 'True', reason: 'VersionRunning', message: `RuntimeVersion ${name} is Running and served by Service ${ACTIVE_ENTRYPOINT}` };
    }
    const event: StatusEvent =
      condition.status === 'True'
        ? { type: 'Normal', reason: 'Published', message: condition.message ?? '', condition: type }
        : { type: 'Warning', reason: condition.reason ?? '', message: condition.message ?? '', condition: type };
    return { condition, event };
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
      let secret: Secret;
      try {
        secret = await this.deps.client.get<Secret>({ ...SECRETS, namespace, name: ref });
      } catch (err) {
        if (isNotFound(err)) return { missing: `spec.${component}.credentialsSecret: Secret ${ref} does not exist` };
        throw new Error(`could not read Secret ${ref}: ${(err as Error).message}`, { cause: err });
      }
      const absent = keys.filter((k) => !secret.data?.[k]);
      if (absent.length > 0) return { missing: `spec.${component}.credentialsSecret: Secret ${ref} has no ${absent.join(', ')}` };
      return { secret: ref, values: decode(secret.data, keys) };
    }
    const name = component === 'mongo' ? MONGO_CREDENTIALS : MINIO_CREDENTIALS;
    const existing: Secret | undefined = this.deps.children.get('Secret', namespace, name);
    if (existing && keys.every((k) => existing.data?.[k])) {
      await this.releaseCredentials(existing);
      return { secret: name, values: decode(existing.data, keys) };
    }
    const generated = component === 'mongo' ? generateMongoCredentials() : generateMinioCredentials();
    const secret = renderGeneratedCredentials(rt, name, { ...generated });
    try {
      const created = await this.deps.client.create<Secret>({ ...SECRETS, namespace }, secret, { fieldManager: FIELD_MANAGER });
      await this.deps.events.record(rt, 'Normal', 'CredentialsGenerated', `generated Secret ${name}`);
      return { secret: name, values: decode(created.data, keys) };
    } catch (err) {
      if (!isAlreadyExists(err)) throw new Error(`could not create Secret ${name}: ${(err as Error).message}`, { cause: err });
      // Created by an earlier reconcile the cache has not seen yet.
      const current = await this.deps.client.get<Secret>({ ...SECRETS, namespace, name });
      return { secret: name, values: decode(current.data, keys) };
    }
  }

  /**
   * Credentials generated when they were owned by their Runtime would go with it and leave its
   * volumes locked: the Runtime's owner reference is removed from them.
   */
  private async releaseCredentials(secret: KubeObject): Promise<void> {
    const refs = secret.metadata.ownerReferences ?? [];
    const kept = refs.filter((r) => !(r.kind === 'Runtime' && r.apiVersion === API_VERSION));
    if (kept.length === refs.length) return;
    try {
      await this.deps.client.patch(
        { ...SECRETS, namespace: secret.metadata.namespace, name: secret.metadata.name ?? '' },
        { metadata: { resourceVersion: secret.metadata.resourceVersion, ownerReferences: kept.length > 0 ? kept : null } },
        { type: 'merge', fieldManager: FIELD_MANAGER },
      );
    } catch (err) {
      throw new Error(`could not release Secret ${secret.metadata.name} from its Runtime: ${(err as Error).message}`, { cause: err });
    }
  }

  private componentStates(rt: Runtime): ComponentState[] {
    const namespace = rt.metadata.namespace ?? '';
    const state = (type: string, name: string, want: number): ComponentState => {
      const sts: StatefulSet | undefined = this.deps.children.get('StatefulSet', namespace, name);
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
}

function decode(data: Record<string, string> | undefined, keys: readonly string[]): Record<string, string> {
  return Object.fromEntries(keys.map((k) => [k, Buffer.from(data?.[k] ?? '', 'base64').toString('utf8')]));
}

/**
 * VersionService, declarative: `Start` server-side applies the `RuntimeVersion` with state Started,
 * `Stop` applies Stopped and answers once the operator reports the workloads gone, `Publish` and
 * `Unpublish` set and clear the Runtime's `spec.publishedVersion`, `UpdateConfig` changes only the
 * config (the operator rolls the pods through their config hash). The manager never touches a
 * workload itself.
 */
import { API_VERSION, RUNTIMES, type Condition, type RuntimeVersionStatus } from '../api/index.ts';
import { applyObject, SECRETS, type KubeObject } from '../kube/index.ts';
import type { NodeStatus, Request, VersionServiceServer, VersionStatusRequest, VersionStatusResponse } from '../gen/version/version.ts';
import { FIELD_MANAGER, waitFor, type ServiceDeps } from './deps.ts';
import { failedPrecondition, notFound } from './errors.ts';
import { followObject } from './follow.ts';
import { serverStream, unary, type CallContext } from './handlers.ts';
import { namespaceOf, str } from './request-fields.ts';
import { MANAGED_BY } from './runtime-objects.ts';
import { mongoUriSecretName, parseConfig, parseVersionRef, parseVersionSpec, versionNameOf, type VersionRef } from './version-request.ts';



function renderVersion(ref: VersionRef, spec: unknown): KubeObject {
  return { apiVersion: API_VERSION, kind: 'RuntimeVersion', metadata: { name: ref.name, namespace: ref.namespace, labels: { ...MANAGED_BY } }, spec };
}

async function runtimeOf(deps: ServiceDeps, ns: string, signal: AbortSignal): Promise<KubeObject> {
  await deps.runtimes.ready(signal);
  const rt = deps.runtimes.get(ns, ns) ?? deps.runtimes.list(ns)[0];
  if (!rt) throw notFound(`runtime in namespace ${ns}`);
  return rt;
}

async function existingVersion(deps: ServiceDeps, ref: VersionRef, signal: AbortSignal): Promise<KubeObject> {
  await deps.versions.ready(signal);
  const v = deps.versions.get(ref.namespace, ref.name);
  if (!v) throw notFound(`version ${ref.name} in namespace ${ref.namespace}`);
  return v;
}

const publishedName = (rt: KubeObject): string | undefined => (rt.spec as { publishedVersion?: string } | undefined)?.publishedVersion;
const statusOf = (v: KubeObject): RuntimeVersionStatus => (v.status ?? {}) as RuntimeVersionStatus;
/** The operator's status speaks of the version's current spec, not an older one. */
const current = (v: KubeObject): boolean => (statusOf(v).observedGeneration ?? -1) >= (v.metadata.generation ?? 0);

async function start(deps: ServiceDeps, req: Request, call: CallContext): Promise<{ message: string }> {
  const { ref, spec, mongoUri } = parseVersionSpec(req.version);
  await runtimeOf(deps, ref.namespace, call.signal);
  const applied = await applyObject(deps.kube, renderVersion(ref, spec), { fieldManager: FIELD_MANAGER, force: true });
  if (mongoUri) {
    // Owned by the version, so deleting the version deletes it; the URI is never in a spec or a log.
    const secret: KubeObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: mongoUriSecretName(ref.name),
        namespace: ref.namespace,
        labels: { ...MANAGED_BY, 'version-name': ref.name },
        ownerReferences: [{ apiVersion: API_VERSION, kind: 'RuntimeVersion', name: ref.name, uid: applied.metadata.uid!, blockOwnerDeletion: false }],
      },
      type: 'Opaque',
      data: { uri: Buffer.from(mongoUri).toString('base64') },
    };
    await deps.kube.apply({ ...SECRETS, namespace: ref.namespace, name: secret.metadata.name! }, secret, { fieldManager: FIELD_MANAGER, force: true });
  }
  deps.logger.info({ namespace: ref.namespace, version: ref.name, generation: applied.metadata.generation }, 'version started');
  return { message: `Version '${ref.name}' started` };
}

/** Applies the version's current spec with `change` made: the manager's whole intent, as server-side apply wants it. */
async function reapply(deps: ServiceDeps, v: KubeObject, change: (spec: Record<string, unknown>) => Record<string, unknown>): Promise<KubeObject> {
  const ref = { name: v.metadata.name!, namespace: v.metadata.namespace! };
  return applyObject(deps.kube, renderVersion(ref, change({ ...(v.spec as Record<string, unknown>) })), { fieldManager: FIELD_MANAGER, force: true });
}

async function stop(deps: ServiceDeps, req: Request, call: CallContext): Promise<{ message: string }> {
  const ref = parseVersionRef(req.version);
  const v = await existingVersion(deps, ref, call.signal);
  const rt = await runtimeOf(deps, ref.namespace, call.signal);
  if (publishedName(rt) === ref.name) throw failedPrecondition(`version ${ref.name} is published: unpublish it before stopping it`);
  const applied = await reapply(deps, v, (spec) => ({ ...spec, state: 'Stopped' }));
  const generation = applied.metadata.generation ?? 0;
  await deps.versions.untilForCall(
    ref.namespace,
    ref.name,
    (obj) => {
      if (!obj) return true; // deleted: its workloads went with it
      const s = statusOf(obj);
      return s.phase === 'Stopped' && (s.observedGeneration ?? -1) >= generation ? true : undefined;
    },
    waitFor(deps, call),
    (last) => `version ${ref.name} is still stopping: ${last ? (statusOf(last).phase ?? 'no status yet') : 'deleted'}`,
  );
  return { message: `Version '${ref.name}' stopped` };
}

async function publish(deps: ServiceDeps, req: Request, call: CallContext): Promise<{ message: string }> {
  const ref = parseVersionRef(req.version);
  const rt = await runtimeOf(deps, ref.namespace, call.signal);
  await existingVersion(deps, ref, call.signal);
  await deps.versions.untilForCall(
    ref.namespace,
    ref.name,
    (obj) => {
      if (!obj) throw notFound(`version ${ref.name} in namespace ${ref.namespace} (deleted while waiting)`);
      const spec = obj.spec as { state?: string };
      const s = statusOf(obj);
      if (spec.state === 'Stopped') throw failedPrecondition(`version ${ref.name} is stopped: start it before publishing it`);
      if (!current(obj)) return undefined;
      if (s.phase === 'Failed') throw failedPrecondition(`version ${ref.name} failed: ${conditionMessages(s.conditions) || 'see its status'}`);
      return s.phase === 'Running' ? true : undefined;
    },
    waitFor(deps, call),
    (last) => `version ${ref.name} is not running yet: ${last ? versionStatusOf(last).message : 'deleted'}`,
  );
  if (publishedName(rt) !== ref.name) {
    await deps.kube.patch({ ...RUNTIMES, namespace: ref.namespace, name: rt.metadata.name! }, { spec: { publishedVersion: ref.name } }, { type: 'merge', fieldManager: FIELD_MANAGER });
  }
  deps.logger.info({ namespace: ref.namespace, version: ref.name }, 'version published');
  return { message: `Version '${ref.name}' published` };
}

async function unpublish(deps: ServiceDeps, req: Request, call: CallContext): Promise<{ message: string }> {
  const ref = parseVersionRef(req.version);
  const rt = await runtimeOf(deps, ref.namespace, call.signal);
  await existingVersion(deps, ref, call.signal);
  // Only this version's publication is cleared: unpublishing another one leaves the published one be.
  if (publishedName(rt) === ref.name) {
    await deps.kube.patch({ ...RUNTIMES, namespace: ref.namespace, name: rt.metadata.name! }, { spec: { publishedVersion: null } }, { type: 'merge', fieldManager: FIELD_MANAGER });
  }
  deps.logger.info({ namespace: ref.namespace, version: ref.name }, 'version unpublished');
  return { message: `Version '${ref.name}' unpublished` };
}

async function updateConfig(deps: ServiceDeps, req: Request, call: CallContext): Promise<{ message: string }> {
  const ref = parseVersionRef(req.version);
  const config = parseConfig(req.version!);
  const v = await existingVersion(deps, ref, call.signal);
  await reapply(deps, v, (spec) => ({ ...spec, config }));
  deps.logger.info({ namespace: ref.namespace, version: ref.name, keys: config.length }, 'version config updated');
  return { message: `Version '${ref.name}' config updated` };
}

function conditionMessages(conditions: Condition[] | undefined): string {
  return (conditions ?? [])
    .filter((c) => c.status !== 'True' && c.message)
    .map((c) => `${c.type}: ${c.message}`)
    .join('; ');
}

/** A version's progress as the operator reports it: phase, per-workload readiness, and what is missing. */
export function versionStatusOf(v: KubeObject): VersionStatusResponse {
  const s = statusOf(v);
  const spec = (v.spec ?? {}) as { state?: string };
  const nodes: NodeStatus[] = (s.nodes ?? []).map((n) => ({ name: `${n.workflow}/${n.name}`, readyReplicas: n.readyReplicas, desiredReplicas: n.replicas, ready: n.ready }));
  if (s.phase && s.phase !== 'Stopped' && s.phase !== 'Stopping') nodes.unshift({ name: 'entrypoint', readyReplicas: s.entrypointReady ? 1 : 0, desiredReplicas: 1, ready: s.entrypointReady === true });
  const phase = s.phase && current(v) ? s.phase : 'Pending';
  const notReady = nodes.filter((n) => !n.ready).map((n) => n.name);
  const message =
    phase === 'Pending'
      ? `the operator has not reported on generation ${v.metadata.generation ?? 0} yet`
      : phase === 'Running'
        ? `${nodes.length} workloads ready`
        : [notReady.length > 0 && phase !== 'Stopped' ? `not ready: ${notReady.join(', ')}` : '', conditionMessages(s.conditions)].filter(Boolean).join('; ') || phase;
  return { name: v.metadata.name ?? '', namespace: v.metadata.namespace ?? '', state: spec.state ?? 'Started', phase, published: s.published === true, nodes, message };
}

function statusRef(req: VersionStatusRequest): VersionRef {
  return { name: versionNameOf('name', str(req.name)), namespace: namespaceOf('namespace', str(req.namespace)) };
}

async function versionStatus(deps: ServiceDeps, req: VersionStatusRequest, call: CallContext): Promise<VersionStatusResponse> {
  return versionStatusOf(await existingVersion(deps, statusRef(req), call.signal));
}

async function watchVersionStatus(deps: ServiceDeps, req: VersionStatusRequest, send: (m: VersionStatusResponse) => Promise<void>, call: CallContext): Promise<void> {
  const ref = statusRef(req);
  await existingVersion(deps, ref, call.signal);
  await followObject(deps.versions, ref.namespace, ref.name, versionStatusOf, send, call.signal, deps.stopping, () => notFound(`version ${ref.name} in namespace ${ref.namespace} (deleted)`));
}

export function versionServiceHandlers(deps: ServiceDeps): VersionServiceServer {
  return {
    start: unary('Start', (req: Request, ctx) => start(deps, req, ctx), deps.logger),
    stop: unary('Stop', (req: Request, ctx) => stop(deps, req, ctx), deps.logger),
    publish: unary('Publish', (req: Request, ctx) => publish(deps, req, ctx), deps.logger),
    unpublish: unary('Unpublish', (req: Request, ctx) => unpublish(deps, req, ctx), deps.logger),
    updateConfig: unary('UpdateConfig', (req: Request, ctx) => updateConfig(deps, req, ctx), deps.logger),
    versionStatus: unary('VersionStatus', (req: VersionStatusRequest, ctx) => versionStatus(deps, req, ctx), deps.logger),
    watchVersionStatus: serverStream('WatchVersionStatus', (req: VersionStatusRequest, send, ctx) => watchVersionStatus(deps, req, send, ctx), deps.logger),
  };
}

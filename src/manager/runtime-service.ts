/**
 * RuntimeService: `Create` writes a runtime's Namespace, credential Secrets and `Runtime` (and, in
 * per-namespace mode, its operator); `RuntimeStatus` and `WatchRuntimeStatus` report the phase
 * the operator writes, waiting by watching.
 */
import { status as grpcStatus } from '@grpc/grpc-js';
import { RUNTIMES, RuntimeConditions, type Condition } from '../api/index.ts';
import { applyObject, isAlreadyExists, isNotFound, NAMESPACES, SECRETS, type KubeObject, type Secret } from '../kube/index.ts';
import type { ComponentStatus, Request, RuntimeServiceServer, RuntimeStatusResponse } from '../gen/runtime/runtime.ts';
import { FIELD_MANAGER, waitFor, type ServiceDeps } from './deps.ts';
import { failedPrecondition, invalidArgument, ManagerError, notFound } from './errors.ts';
import { followObject } from './follow.ts';
import { serverStream, unary, type CallContext } from './handlers.ts';
import { namespaceOf, required, str } from './request-fields.ts';
import { renderCredentialSecrets, renderNamespace, renderOperatorObjects, renderRuntime, type RuntimeRequest } from './runtime-objects.ts';


/** The runtime's components as the operator reports them, by condition type, in the seed's words. */
const COMPONENTS: [string, string][] = [
  ['MongoDB', RuntimeConditions.mongo],
  ['NATS', RuntimeConditions.nats],
  ['MinIO', RuntimeConditions.minio],
];

/** The request as the manager acts on it; every problem names its field. */
export function parseRuntimeRequest(req: Request, needCredentials: boolean): RuntimeRequest {
  const rt = req.runtime;
  if (!rt) throw invalidArgument('runtime', 'is required');
  const out: RuntimeRequest = { name: required('runtime.name', str(rt.name), 253), namespace: namespaceOf('runtime.namespace', str(rt.namespace)) };
  if (!needCredentials) return out;
  const mongo = rt.mongo;
  if (mongo && (mongo.username || mongo.password || mongo.sharedKey)) {
    const sharedKey = required('runtime.mongo.sharedKey', str(mongo.sharedKey));
    // MongoDB reads the shared key as a key file: base64 characters, 6 to 1024 of them.
    if (!/^[A-Za-z0-9+/=]{6,1024}$/.test(sharedKey)) throw invalidArgument('runtime.mongo.sharedKey', 'must be 6 to 1024 base64 characters (A-Z, a-z, 0-9, +, /, =)');
    out.mongo = { username: required('runtime.mongo.username', str(mongo.username), 256), password: required('runtime.mongo.password', str(mongo.password)), sharedKey };
  }
  const minio = rt.minio;
  if (minio && (minio.accessKey || minio.secretKey)) {
    const accessKey = required('runtime.minio.accessKey', str(minio.accessKey), 128);
    const secretKey = required('runtime.minio.secretKey', str(minio.secretKey), 128);
    // MinIO refuses to start with shorter keys.
    if (accessKey.length < 3) throw invalidArgument('runtime.minio.accessKey', 'must be at least 3 characters');
    if (secretKey.length < 8) throw invalidArgument('runtime.minio.secretKey', 'must be at least 8 characters');
    out.minio = { accessKey, secretKey };
  }
  return out;
}

async function getOrUndefined<T extends KubeObject>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

const COMPONENT_WORDS = { mongo: 'MongoDB', minio: 'MinIO' } as const;

async function create(deps: ServiceDeps, req: Request): Promise<{ message: string }> {
  const r = parseRuntimeRequest(req, true);
  const ns = r.namespace;
  const runtime = renderRuntime(r);
  const secrets = renderCredentialSecrets(r);

  // Everything is checked before anything is written: an answered error leaves nothing behind.
  // Listing in a namespace that does not exist answers an empty list.
  const existing = (await deps.kube.list({ ...RUNTIMES, namespace: ns })).items;
  const other = existing.find((o) => o.metadata.name !== runtime.metadata.name);
  if (other) throw new ManagerError(grpcStatus.ALREADY_EXISTS, `namespace ${ns} already holds runtime ${other.metadata.name}: one runtime per namespace`);
  const current = existing.find((o) => o.metadata.name === runtime.metadata.name);
  const toCreate: KubeObject[] = [];
  for (const { component, secret } of secrets) {
    const found = await getOrUndefined(() => deps.kube.get<Secret>({ ...SECRETS, namespace: ns, name: secret.metadata.name! }));
    const mismatch = () =>
      failedPrecondition(`runtime in namespace ${ns} already exists with other ${COMPONENT_WORDS[component]} credentials: changing them would lock its data`);
    if (found) {
      const same = Object.entries(secret.data as Record<string, string>).every(([k, v]) => found.data?.[k] === v);
      if (!same) throw mismatch();
    } else toCreate.push(secret);
    if (current) {
      const ref = (current.spec as Record<string, { credentialsSecret?: { name?: string } } | undefined>)[component]?.credentialsSecret?.name;
      if (ref !== secret.metadata.name) throw mismatch();
    }
  }

  try {
    await deps.kube.create(NAMESPACES, renderNamespace(ns), { fieldManager: FIELD_MANAGER });
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
  }
  for (const secret of toCreate) {
    try {
      await deps.kube.create({ ...SECRETS, namespace: ns }, secret, { fieldManager: FIELD_MANAGER });
    } catch (err) {
      // Another Create of the same runtime got there first: same credentials or not, decide again.
      if (isAlreadyExists(err)) return create(deps, req);
      throw err;
    }
  }
  if (deps.config.operator.mode === 'per-namespace') {
    for (const obj of renderOperatorObjects(ns, deps.config.operator.image, deps.operatorRules)) await applyObject(deps.kube, obj, { fieldManager: FIELD_MANAGER, force: true });
  }
  if (!current) {
    try {
      await deps.kube.create({ ...RUNTIMES, namespace: ns }, runtime, { fieldManager: FIELD_MANAGER });
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
  }
  deps.logger.info({ namespace: ns, runtime: r.name, created: !current }, current ? 'runtime already existed' : 'runtime created');
  return { message: `Runtime '${r.name}' created` };
}

/** What the seed's callers read (`STARTED`), and what the operator says about each component. */
export function runtimeStatusOf(rt: KubeObject): RuntimeStatusResponse {
  const st = (rt.status ?? {}) as { phase?: string; observedGeneration?: number; conditions?: Condition[] };
  const components: ComponentStatus[] = COMPONENTS.map(([name, type]) => {
    const c = st.conditions?.find((x) => x.type === type);
    return { name, ready: c?.status === 'True', reason: c?.reason ?? 'Unknown', message: c?.message ?? '' };
  });
  const reported = st.phase !== undefined && (st.observedGeneration ?? 0) >= (rt.metadata.generation ?? 0);
  components.push({
    name: 'operator',
    ready: reported,
    reason: reported ? 'Reconciled' : 'NotReconciled',
    message: reported ? '' : `no operator has reported on generation ${rt.metadata.generation ?? 0} of this runtime yet`,
  });
  // Problems that are no component's: a spec the operator refuses, a missing Secret, another runtime in the namespace.
  const blocking = st.conditions?.filter((c) => (c.type === RuntimeConditions.invalidSpec || c.type === RuntimeConditions.ignored ? c.status === 'True' : c.type === 'CredentialsReady' || c.type === 'Applied' ? c.status === 'False' : false)) ?? [];
  const phase = st.phase ?? 'Creating';
  const notReady = components.filter((c) => !c.ready).map((c) => c.name);
  const message =
    phase === 'Running'
      ? 'all components are ready'
      : [notReady.length > 0 ? `not ready: ${notReady.join(', ')}` : '', ...blocking.map((c) => `${c.type}: ${c.message ?? c.reason ?? ''}`)].filter(Boolean).join('; ');
  const Status = phase === 'Running' ? 'STARTED' : phase === 'Failed' || phase === 'Degraded' ? 'ERROR' : 'CREATING';
  return { Status, phase, components, message };
}

function findRuntime(deps: ServiceDeps, ns: string): KubeObject | undefined {
  return deps.runtimes.get(ns, ns) ?? deps.runtimes.list(ns)[0];
}

async function runtimeStatus(deps: ServiceDeps, req: Request, call: CallContext): Promise<RuntimeStatusResponse> {
  const ns = parseRuntimeRequest(req, false).namespace;
  await deps.runtimes.ready(call.signal);
  const rt = findRuntime(deps, ns);
  if (!rt) throw notFound(`runtime in namespace ${ns}`);
  const name = rt.metadata.name!;
  return deps.runtimes.untilForCall(
    ns,
    name,
    (obj) => {
      if (!obj) throw notFound(`runtime ${name} in namespace ${ns} (deleted while waiting)`);
      const s = runtimeStatusOf(obj);
      if (s.phase === 'Running') return s;
      if (s.phase === 'Failed' || s.phase === 'Degraded') throw failedPrecondition(`runtime ${name} is ${s.phase}: ${s.message}`);
      return undefined;
    },
    waitFor(deps, call),
    (last) => `runtime ${name} is not running yet: ${last ? runtimeStatusOf(last).message : 'deleted'}`,
  );
}

async function watchRuntimeStatus(deps: ServiceDeps, req: Request, send: (m: RuntimeStatusResponse) => Promise<void>, call: CallContext): Promise<void> {
  const ns = parseRuntimeRequest(req, false).namespace;
  await deps.runtimes.ready(call.signal);
  const rt = findRuntime(deps, ns);
  if (!rt) throw notFound(`runtime in namespace ${ns}`);
  await followObject(deps.runtimes, ns, rt.metadata.name!, runtimeStatusOf, send, call.signal, deps.stopping, () => notFound(`runtime ${rt.metadata.name} in namespace ${ns} (deleted)`));
}

export function runtimeServiceHandlers(deps: ServiceDeps): RuntimeServiceServer {
  return {
    create: unary('Create', (req: Request) => create(deps, req), deps.logger),
    runtimeStatus: unary('RuntimeStatus', (req: Request, ctx) => runtimeStatus(deps, req, ctx), deps.logger),
    watchRuntimeStatus: serverStream('WatchRuntimeStatus', (req: Request, send, ctx) => watchRuntimeStatus(deps, req, send, ctx), deps.logger),
  };
}

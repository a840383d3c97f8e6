/**
 * The object semantics of the API server, apart from HTTP: create, update, delete and the rules a
 * real server applies around them (server-set metadata, generation, status subresource, defaults,
 * validation, finalizers, graceful pod deletion, namespace lifecycle). The HTTP layer parses
 * requests and calls these; controllers inside the server (namespace and garbage collection) call
 * them too, so every write goes through the same rules.
 */
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { generateNameSuffix, qosClass, withSortedKeys } from '../../kube/index.ts';
import { applyDefaults } from './defaults.ts';
import { ApiError, errors, cause, type StatusCause } from './errors.ts';
import { trackUpdate } from './patch/index.ts';
import { clone } from './patch/json-value.ts';
import { apiVersionOf, collectionKey, type ResourceType } from './resources.ts';
import { Entry, objectKey, type Storage } from './storage.ts';
import { validateObject, checkFieldFormats } from './validation.ts';
import { validateCustomResource } from './crd-schema.ts';
import { admitNode, admitServiceAccount } from './admission.ts';
import { shapeProblem } from './shapes.ts';

export interface WriteOptions {
  dryRun?: boolean;
  fieldManager?: string;
  subresource?: string;
  /** managedFields were already computed by server-side apply. */
  tracked?: boolean;
  /** A write by a controller inside the server: status and spec are written together. */
  internal?: boolean;
}

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

/** The namespaces a cluster starts with; the first three cannot be deleted. */
export const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public'];
export const SEED_NAMESPACES = [...SYSTEM_NAMESPACES, 'kube-node-lease'];

const NAMESPACES: Pick<ResourceType, 'group' | 'plural'> = { group: '', plural: 'namespaces' };
const NAMESPACE_COLLECTION = collectionKey(NAMESPACES);

/** Kinds for which PUT creates a missing object, as on a real server. */
const CREATE_ON_UPDATE = new Set(['endpoints', 'leases.coordination.k8s.io', 'events', 'roles.rbac.authorization.k8s.io', 'rolebindings.rbac.authorization.k8s.io', 'clusterroles.rbac.authorization.k8s.io', 'clusterrolebindings.rbac.authorization.k8s.io', 'endpointslices.discovery.k8s.io']);

/** Server-side fields no client may set or change. */
function serverMetadata(old: any) {
  const m = old.metadata;
  return {
    uid: m.uid,
    creationTimestamp: m.creationTimestamp,
    deletionTimestamp: m.deletionTimestamp,
    deletionGracePeriodSeconds: m.deletionGracePeriodSeconds,
    generation: m.generation,
  };
}

export function nowRfc3339(d = new Date()): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The parts of an object that bump `metadata.generation` when they change: all but metadata and status. */
function specOf(obj: any): Record<string, unknown> {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = obj;
  return rest;
}

/**
 * An object as a real server stores and answers it. A custom resource is an unstructured map
 * there, which Go's JSON encoder writes with every map's keys sorted, at every depth (metadata
 * too); a client that compares what it wrote with what it reads back by text sees that order.
 * Built-in kinds keep the sender's order here (a real server uses its Go structs' field order).
 */
function asStored(t: ResourceType, obj: any): any {
  return t.crd ? withSortedKeys(obj) : obj;
}

export interface ObjectEvents {
  /** An object was removed for good (not just marked for deletion). */
  removed?(t: ResourceType, entry: Entry): void;
  /** An object was created or updated. */
  written?(t: ResourceType, entry: Entry, prev: Entry | undefined): void;
}

export class ObjectService {
  private clusterIPs = new Set<string>();
  private nextIP = 10;
  readonly hooks: ObjectEvents[] = [];

  constructor(readonly storage: Storage) {
    for (const e of storage.list('services')) {
      const ip = e.obj.spec?.clusterIP;
      if (ip && ip !== 'None') this.clusterIPs.add(ip);
    }
  }

  /** The namespaces every cluster has, created at first start. */
  seed(): void {
    for (const name of SEED_NAMESPACES) {
      if (!this.storage.get(NAMESPACE_COLLECTION, objectKey('', name))) {
        this.createRaw({ group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false } as ResourceType, {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name },
        });
      }
    }
  }

  private createRaw(t: ResourceType, obj: any): Entry {
    obj.metadata.uid = randomUUID();
    obj.metadata.creationTimestamp = nowRfc3339();
    applyDefaults(obj, { allocateClusterIP: () => this.allocateClusterIP() });
    return this.put(t, obj, undefined);
  }

  allocateClusterIP(): string {
    for (;;) {
      const n = this.nextIP++;
      const ip = `10.96.${Math.floor(n / 250) % 250}.${(n % 250) + 1}`;
      if (!this.clusterIPs.has(ip)) {
        this.clusterIPs.add(ip);
        return ip;
      }
    }
  }

  get(t: ResourceType, namespace: string | undefined, name: string): Entry {
    const e = this.storage.get(collectionKey(t), objectKey(t.namespaced ? namespace : '', name));
    if (!e) throw errors.notFound(t.plural, t.group, name);
    return e;
  }

  find(t: ResourceType, namespace: string | undefined, name: string): Entry | undefined {
    return this.storage.get(collectionKey(t), objectKey(t.namespaced ? namespace : '', name));
  }

  private checkNamespace(t: ResourceType, namespace: string | undefined): void {
    if (!t.namespaced) return;
    if (!namespace) throw errors.badRequest('the namespace of the object must be set');
    const ns = this.storage.get(NAMESPACE_COLLECTION, objectKey('', namespace));
    if (!ns) throw errors.notFound('namespaces', '', namespace);
    if (ns.obj.metadata.deletionTimestamp) {
      throw errors.forbidden(`${t.kind.toLowerCase()} "${'%NAME%'}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`);
    }
  }

  /** Checks what every write of a whole object checks: kind, namespace, name and formats. */
  private checkIdentity(t: ResourceType, obj: any, namespace: string | undefined): void {
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw errors.badRequest('the body of the request must be a JSON object');
    this.checkShape(t, obj);
    const want = apiVersionOf(t);
    if (obj.apiVersion !== undefined && obj.apiVersion !== want) {
      throw errors.badRequest(`the API version in the data (${obj.apiVersion}) does not match the expected API version (${want})`);
    }
    if (obj.kind !== undefined && obj.kind !== t.kind) {
      throw errors.badRequest(`the kind in the data (${obj.kind}) does not match the expected kind (${t.kind})`);
    }
    obj.apiVersion = want;
    obj.kind = t.kind;
    if (obj.metadata === undefined || obj.metadata === null) obj.metadata = {};
    if (typeof obj.metadata !== 'object' || Array.isArray(obj.metadata)) throw errors.badRequest('metadata must be an object');
    if (t.namespaced) {
      if (obj.metadata.namespace !== undefined && obj.metadata.namespace !== '' && obj.metadata.namespace !== namespace) {
        throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      obj.metadata.namespace = namespace;
    } else {
      delete obj.metadata.namespace;
    }
    const format = checkFieldFormats(t, obj);
    if (format) throw errors.badRequest(format);
  }

  /** A built-in object must decode into its Go type, as on a real server (custom resources have their schema). */
  private checkShape(t: ResourceType, obj: any): void {
    if (t.crd) return;
    const problem = shapeProblem(t.kind, obj);
    if (problem) throw errors.badRequest(`${t.kind} in version "${t.version}" cannot be handled as a ${t.kind}: ${problem}`);
  }

  private validate(t: ResourceType, obj: any, old?: any): void {
    const causes: StatusCause[] = t.crd ? validateCustomResource(t, obj) : [];
    causes.push(...validateObject(t, obj, old));
    if (causes.length > 0) throw errors.invalid(t.kind, t.group, obj.metadata?.name ?? '', causes);
  }

  create(t: ResourceType, namespace: string | undefined, body: any, opts: WriteOptions = {}): Entry {
    this.checkIdentity(t, body, namespace);
    const meta = body.metadata;
    if (!meta.name) {
      if (!meta.generateName) {
        throw errors.invalid(t.kind, t.group, '', [cause.required('metadata.name', 'name or generateName is required')]);
      }
      meta.name = `${meta.generateName}${generateNameSuffix()}`;
    }
    try {
      this.checkNamespace(t, namespace);
    } catch (err) {
      if (err instanceof ApiError && err.code === 403) throw errors.forbidden(err.message.replace('%NAME%', meta.name), { name: meta.name, kind: t.plural });
      throw err;
    }
    const collection = collectionKey(t);
    const key = objectKey(t.namespaced ? namespace : '', meta.name);
    if (this.storage.get(collection, key)) throw errors.alreadyExists(t.plural, t.group, meta.name);
    meta.uid = randomUUID();
    meta.creationTimestamp = nowRfc3339();
    delete meta.resourceVersion;
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    delete meta.selfLink;
    if (t.generation || t.crd) meta.generation = 1;
    else delete meta.generation;
    if (t.status) {
      // A custom resource starts without status: a key left holding undefined fails schema validation.
      const status = initialStatus(t, body);
      if (status === undefined) delete body.status;
      else body.status = status;
    }
    applyDefaults(body, { allocateClusterIP: () => this.allocateClusterIP() });
    this.validate(t, body);
    if (!opts.tracked) trackUpdate(undefined, body, { manager: opts.fieldManager ?? 'unknown', now: nowRfc3339(), kind: t.kind, apiVersion: apiVersionOf(t) });
    // Admission, after the sender's fields are recorded: what it adds is no manager's.
    if (isPod(t)) admitServiceAccount(body);
    if (t.group === '' && t.plural === 'nodes') admitNode(body);
    if (opts.dryRun) {
      body.metadata.resourceVersion = undefined;
      return new Entry(key, asStored(t, body));
    }
    return this.put(t, body, undefined);
  }

  /**
   * PUT: replaces the object. With a status subresource, the main resource keeps the stored status
   * and `/status` changes nothing but status.
   */
  update(t: ResourceType, namespace: string | undefined, name: string, body: any, opts: WriteOptions = {}): { entry: Entry; created: boolean } {
    this.checkIdentity(t, body, namespace);
    if (body.metadata.name !== undefined && body.metadata.name !== name) {
      throw errors.badRequest(`the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`);
    }
    body.metadata.name = name;
    const current = this.find(t, namespace, name);
    if (!current) {
      if (opts.subresource || !CREATE_ON_UPDATE.has(collectionKey(t))) throw errors.notFound(t.plural, t.group, name);
      return { entry: this.create(t, namespace, body, opts), created: true };
    }
    const rv = body.metadata.resourceVersion;
    if (rv !== undefined && rv !== '' && rv !== current.obj.metadata.resourceVersion) throw errors.conflict(t.plural, t.group, name);
    return { entry: this.replace(t, current, body, opts), created: false };
  }

  /** Writes `next` over `current` (whose version was checked by the caller). */
  replace(t: ResourceType, current: Entry, next: any, opts: WriteOptions = {}): Entry {
    const old = current.obj;
    // A patched object is decoded again on a real server: a patch cannot set what a body could not.
    this.checkShape(t, next);
    Object.assign(next.metadata, serverMetadata(old));
    if (!next.metadata.deletionTimestamp) {
      delete next.metadata.deletionTimestamp;
      delete next.metadata.deletionGracePeriodSeconds;
    }
    if (next.metadata.generation === undefined) delete next.metadata.generation;
    if (opts.subresource === 'status') {
      const status = next.status;
      const managedFields = next.metadata.managedFields;
      next = { ...clone(old), status };
      if (status === undefined) delete next.status;
      if (opts.tracked) next.metadata.managedFields = managedFields;
    } else if (t.status && !opts.internal) {
      if (old.status === undefined) delete next.status;
      else next.status = old.status;
    }
    if (old.metadata.generation !== undefined && !isDeepStrictEqual(specOf(old), specOf(next))) {
      next.metadata.generation = old.metadata.generation + 1;
    }
    if (t.group === '' && t.plural === 'namespaces' && opts.subresource !== 'finalize' && !opts.internal) {
      // Only /finalize changes a namespace's finalizers.
      next.spec = { ...next.spec, finalizers: old.spec?.finalizers };
      if (next.spec.finalizers === undefined) delete next.spec.finalizers;
    }
    applyDefaults(next, { allocateClusterIP: () => this.allocateClusterIP(), previous: old });
    this.validate(t, next, old);
    if (old.metadata.deletionTimestamp) {
      // A terminating object may drop finalizers but not gain new ones, as on a real server.
      const added = (next.metadata.finalizers ?? []).filter((f: string) => !(old.metadata.finalizers ?? []).includes(f));
      if (added.length > 0) {
        throw errors.invalid(t.kind, t.group, next.metadata.name, [cause.forbidden('metadata.finalizers', `no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}`)]);
      }
    }
    // A write that changes nothing keeps its version and emits no event.
    next.metadata.resourceVersion = old.metadata.resourceVersion;
    if (opts.tracked) {
      if (isDeepStrictEqual(withoutManagedFieldTimes(next), withoutManagedFieldTimes(old))) return current;
    } else {
      next.metadata.managedFields = old.metadata.managedFields;
      if (isDeepStrictEqual(next, old)) return current;
    }
    if (!opts.tracked) trackUpdate(old, next, { manager: opts.fieldManager ?? 'unknown', now: nowRfc3339(), kind: t.kind, apiVersion: apiVersionOf(t), subresource: opts.subresource });
    if (opts.dryRun) return new Entry(current.key, asStored(t, next));
    if (next.metadata.deletionTimestamp && (next.metadata.finalizers ?? []).length === 0 && !isGracefulPodPending(t, next)) {
      return this.removeNow(t, current) ?? current;
    }
    return this.put(t, next, current);
  }

  /** Stores an object produced by a patch or apply (already merged with the current one). */
  put(t: ResourceType, obj: any, prev: Entry | undefined): Entry {
    const key = objectKey(t.namespaced ? obj.metadata.namespace : '', obj.metadata.name);
    // The version the storage sets must be a key already, so that it sits in its sorted place.
    if (t.crd) obj.metadata.resourceVersion ??= '';
    const entry = this.storage.put(collectionKey(t), key, asStored(t, obj), prev ? 'MODIFIED' : 'ADDED');
    for (const h of this.hooks) h.written?.(t, entry, prev);
    return entry;
  }

  /**
   * DELETE: gone now when nothing holds the object; otherwise marked with `deletionTimestamp`
   * and removed when its finalizers are gone (or, for a pod on a node, when the kubelet is done).
   */
  delete(t: ResourceType, namespace: string | undefined, name: string, opts: DeleteOptions = {}): { entry: Entry; removed: boolean } {
    const current = this.get(t, namespace, name);
    const old = current.obj;
    const pre = opts.preconditions;
    if (pre?.uid && pre.uid !== old.metadata.uid) {
      throw errors.conflict(t.plural, t.group, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${old.metadata.uid}`);
    }
    if (pre?.resourceVersion && pre.resourceVersion !== old.metadata.resourceVersion) {
      throw errors.conflict(t.plural, t.group, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${old.metadata.resourceVersion}`);
    }
    if (t.plural === 'namespaces' && t.group === '' && SYSTEM_NAMESPACES.includes(name)) {
      throw errors.forbidden(`namespaces "${name}" is forbidden: this namespace may not be deleted`, { name, kind: 'namespaces' });
    }
    if (opts.dryRun) return { entry: current, removed: false };
    const next = clone(old);
    const finalizers: string[] = next.metadata.finalizers ?? [];
    const policy = opts.propagationPolicy;
    if (policy === 'Foreground' && !finalizers.includes('foregroundDeletion')) finalizers.push('foregroundDeletion');
    if (policy === 'Orphan' && !finalizers.includes('orphan')) finalizers.push('orphan');
    if (finalizers.length > 0) next.metadata.finalizers = finalizers;

    if (t.plural === 'namespaces' && t.group === '') {
      // The namespace controller empties it, then removes the `kubernetes` finalizer.
      if (!next.metadata.deletionTimestamp) {
        next.metadata.deletionTimestamp = nowRfc3339();
        next.metadata.deletionGracePeriodSeconds = 0;
        next.status = { ...next.status, phase: 'Terminating' };
        return { entry: this.put(t, next, current), removed: false };
      }
      return { entry: current, removed: false };
    }

    if (isPod(t)) {
      const grace = podGracePeriod(old, opts.gracePeriodSeconds);
      if (grace > 0) {
        const deadline = new Date(Date.now() + grace * 1000);
        if (old.metadata.deletionTimestamp && old.metadata.deletionGracePeriodSeconds <= grace && isDeepStrictEqual(next.metadata.finalizers, old.metadata.finalizers)) {
          return { entry: current, removed: false };
        }
        next.metadata.deletionTimestamp = nowRfc3339(deadline);
        next.metadata.deletionGracePeriodSeconds = grace;
        return { entry: this.put(t, next, current), removed: false };
      }
    }

    if (finalizers.length > 0) {
      if (old.metadata.deletionTimestamp && isDeepStrictEqual(old.metadata.finalizers, finalizers)) return { entry: current, removed: false };
      next.metadata.deletionTimestamp ??= nowRfc3339();
      next.metadata.deletionGracePeriodSeconds ??= 0;
      return { entry: this.put(t, next, current), removed: false };
    }
    const removed = this.removeNow(t, current);
    return { entry: removed ?? current, removed: true };
  }

  /** Removes an object for good: storage, then hooks (garbage collection of its dependents). */
  removeNow(t: ResourceType, current: Entry): Entry | undefined {
    const entry = this.storage.remove(collectionKey(t), current.key);
    if (!entry) return undefined;
    if (t.plural === 'services' && t.group === '') this.clusterIPs.delete(entry.obj.spec?.clusterIP);
    for (const h of this.hooks) h.removed?.(t, entry);
    return entry;
  }
}

function withoutManagedFieldTimes(obj: any): any {
  const mf = obj.metadata?.managedFields;
  if (!mf) return obj;
  return { ...obj, metadata: { ...obj.metadata, managedFields: mf.map(({ time: _t, ...rest }: any) => rest) } };
}

function isPod(t: ResourceType): boolean {
  return t.group === '' && t.plural === 'pods';
}

/** A pod bound to a node is finished by its kubelet after the grace period; others go at once. */
function podGracePeriod(pod: any, requested: number | undefined): number {
  if (!pod.spec?.nodeName) return 0;
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return 0;
  return Math.max(0, requested ?? pod.spec?.terminationGracePeriodSeconds ?? 30);
}

function isGracefulPodPending(t: ResourceType, obj: any): boolean {
  return isPod(t) && (obj.metadata.deletionGracePeriodSeconds ?? 0) > 0;
}

/** The status a real server starts an object with, where a status subresource exists. */
function initialStatus(t: ResourceType, obj: any): any {
  if (t.group === '' && t.plural === 'pods') return { phase: 'Pending', qosClass: qosClass(obj.spec) };
  if (t.group === '' && t.plural === 'namespaces') return { phase: 'Active' };
  if (t.group === '' && t.plural === 'persistentvolumeclaims') return { phase: 'Pending' };
  if (t.group === '' && t.plural === 'services') return { loadBalancer: {} };
  if (t.group === '' && t.plural === 'nodes') return obj.status ?? {};
  if (t.crd) return undefined;
  return {};
}

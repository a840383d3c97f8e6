/**
 * Controllers that a real cluster runs next to its API server and that the devcluster runs inside
 * it: namespace termination, owner-reference garbage collection, and the registration of custom
 * resources when a CustomResourceDefinition is written. They act through the object service, so
 * finalizers, pod grace periods and watch events work as for any client's write.
 */
import { ApiError } from './errors.ts';
import { crdResourceTypes, establishCrd } from './crd.ts';
import { nowRfc3339, type ObjectService } from './objects.ts';
import { collectionKey, type ResourceRegistry, type ResourceType } from './resources.ts';
import type { Entry } from './storage.ts';

interface Ref {
  t: ResourceType;
  key: string;
  /** The uids of its owners, so that an update unindexes them without parsing the old object. */
  owners?: string[];
}

const CRD_GROUP = 'apiextensions.k8s.io';

export class ClusterLifecycle {
  /** uid → where the object is stored. */
  private readonly byUid = new Map<string, Ref>();
  /** owner uid → uids of its dependents. */
  private readonly dependents = new Map<string, Set<string>>();
  private readonly pending = new Set<string>();
  private readonly terminating = new Set<string>();
  /**
   * Uids of the pods marked for deletion: the sweep checks their grace periods. Kept as a set so
   * that the sweep, which runs every second, reads these few pods instead of parsing every pod.
   */
  private readonly graceful = new Set<string>();
  private timer?: NodeJS.Timeout;
  private scheduled = false;
  private stopped = false;

  constructor(
    private readonly objects: ObjectService,
    private readonly registry: ResourceRegistry,
  ) {
    objects.hooks.push({
      written: (t, entry, prev) => this.written(t, entry, prev),
      removed: (t, entry) => this.removed(t, entry),
    });
  }

  /** Indexes what is stored and registers stored CRDs; called once at start. */
  start(): void {
    const crdType = this.registry.get(CRD_GROUP, 'v1', 'customresourcedefinitions')!;
    for (const e of this.objects.storage.list(collectionKey(crdType))) this.registerCrd(e.obj);
    for (const t of this.registry.all()) {
      for (const e of this.objects.storage.list(collectionKey(t))) {
        this.index(t, e);
        if (e.obj.metadata.deletionTimestamp) this.pending.add(e.obj.metadata.uid);
        if (t.plural === 'namespaces' && t.group === '' && e.obj.metadata.deletionTimestamp) this.terminating.add(e.obj.metadata.name);
      }
    }
    // A sweep now and then finishes what events alone may leave (for example a pod's grace period).
    this.timer = setInterval(() => this.schedule(), 1000);
    this.timer.unref();
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
  }

  private index(t: ResourceType, e: Entry): void {
    const meta = e.obj.metadata;
    const uid = meta.uid;
    const refs: any[] = meta.ownerReferences ?? [];
    this.byUid.set(uid, refs.length > 0 ? { t, key: e.key, owners: refs.map((r) => r.uid) } : { t, key: e.key });
    for (const ref of refs) {
      let set = this.dependents.get(ref.uid);
      if (!set) this.dependents.set(ref.uid, (set = new Set()));
      set.add(uid);
    }
    if (t.plural === 'pods' && t.group === '' && meta.deletionTimestamp) this.graceful.add(uid);
  }

  /** Forgets the owners the index holds for `uid` (an object's uid never changes, so its last version's). */
  private unindexOwners(uid: string): void {
    for (const owner of this.byUid.get(uid)?.owners ?? []) {
      const set = this.dependents.get(owner);
      set?.delete(uid);
      if (set && set.size === 0) this.dependents.delete(owner);
    }
  }

  private written(t: ResourceType, entry: Entry, prev: Entry | undefined): void {
    const meta = entry.obj.metadata;
    if (prev) this.unindexOwners(meta.uid);
    this.index(t, entry);
    if (t.group === CRD_GROUP && t.plural === 'customresourcedefinitions') this.crdWritten(t, entry);
    if (meta.deletionTimestamp) {
      this.pending.add(meta.uid);
      if (t.group === '' && t.plural === 'namespaces') this.terminating.add(meta.name);
      this.schedule();
    }
    // A dependent whose owners are all gone is collected.
    for (const ref of meta.ownerReferences ?? []) if (!this.byUid.has(ref.uid)) this.pending.add(ref.uid);
    if ((meta.ownerReferences ?? []).some((r: any) => !this.byUid.has(r.uid))) this.schedule();
  }

  private removed(t: ResourceType, entry: Entry): void {
    const uid = entry.obj.metadata.uid;
    this.unindexOwners(uid);
    this.byUid.delete(uid);
    this.graceful.delete(uid);
    if (t.group === CRD_GROUP && t.plural === 'customresourcedefinitions') this.crdRemoved(entry.obj);
    if (t.group === '' && t.plural === 'namespaces') this.terminating.delete(entry.obj.metadata.name);
    if (this.dependents.has(uid)) {
      this.pending.add(uid);
      this.schedule();
    }
    // An owner waiting in the foreground for this dependent may now be done.
    for (const ref of entry.obj.metadata.ownerReferences ?? []) if (this.byUid.has(ref.uid)) this.pending.add(ref.uid);
    if (this.pending.size > 0) this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.stopped) return;
      try {
        this.sweep();
      } catch (err) {
        console.error('devcluster: lifecycle sweep failed', err);
      }
    });
  }

  private sweep(): void {
    for (const ns of [...this.terminating]) this.finalizeNamespace(ns);
    const uids = [...this.pending];
    this.pending.clear();
    for (const uid of uids) this.collect(uid);
    this.finishGracefulPods();
  }

  /** Deletes what a terminating namespace holds; removes it once it is empty. */
  private finalizeNamespace(name: string): void {
    const nsType = this.registry.get('', 'v1', 'namespaces')!;
    const ns = this.objects.find(nsType, undefined, name);
    if (!ns) {
      this.terminating.delete(name);
      return;
    }
    let left = 0;
    for (const t of this.registry.all()) {
      if (!t.namespaced) continue;
      for (const e of this.objects.storage.list(collectionKey(t), name)) {
        left++;
        if (e.obj.metadata.deletionTimestamp) continue;
        this.tryDelete(t, e.obj, 'Background');
      }
    }
    if (left > 0) return;
    // Empty: the `kubernetes` finalizer in spec.finalizers is this controller's, so it is done.
    // Finalizers of other controllers (metadata.finalizers) still hold the namespace.
    if ((ns.obj.metadata.finalizers ?? []).length === 0) this.objects.removeNow(nsType, ns);
  }

  /** Garbage collection around one owner uid: foreground, orphan, or dependents of a vanished owner. */
  private collect(uid: string): void {
    const ref = this.byUid.get(uid);
    const owner = ref ? this.objects.storage.get(collectionKey(ref.t), ref.key) : undefined;
    const deps = [...(this.dependents.get(uid) ?? [])];
    if (!owner) {
      // Background: a dependent none of whose owners remain is deleted.
      for (const d of deps) {
        const dep = this.lookup(d);
        if (!dep) continue;
        const refs: any[] = dep.entry.obj.metadata.ownerReferences ?? [];
        const alive = refs.filter((r) => r.uid !== uid && this.byUid.has(r.uid));
        if (alive.length === 0) this.tryDelete(dep.t, dep.entry.obj, 'Background');
        else this.setOwnerRefs(dep.t, dep.entry, alive);
      }
      return;
    }
    const meta = owner.obj.metadata;
    if (!meta.deletionTimestamp) return;
    const finalizers: string[] = meta.finalizers ?? [];
    if (finalizers.includes('orphan')) {
      for (const d of deps) {
        const dep = this.lookup(d);
        if (dep) this.setOwnerRefs(dep.t, dep.entry, (dep.entry.obj.metadata.ownerReferences ?? []).filter((r: any) => r.uid !== uid));
      }
      this.removeFinalizer(ref!.t, owner, 'orphan');
      return;
    }
    if (finalizers.includes('foregroundDeletion')) {
      let blocking = 0;
      for (const d of deps) {
        const dep = this.lookup(d);
        if (!dep) continue;
        const r = (dep.entry.obj.metadata.ownerReferences ?? []).find((x: any) => x.uid === uid);
        if (r?.blockOwnerDeletion) blocking++;
        if (!dep.entry.obj.metadata.deletionTimestamp) this.tryDelete(dep.t, dep.entry.obj, 'Foreground');
      }
      if (blocking === 0) this.removeFinalizer(ref!.t, owner, 'foregroundDeletion');
    }
  }

  private lookup(uid: string): { t: ResourceType; entry: Entry } | undefined {
    const ref = this.byUid.get(uid);
    if (!ref) return undefined;
    const entry = this.objects.storage.get(collectionKey(ref.t), ref.key);
    return entry ? { t: ref.t, entry } : undefined;
  }

  private tryDelete(t: ResourceType, obj: any, propagationPolicy: 'Background' | 'Foreground'): void {
    try {
      this.objects.delete(t, obj.metadata.namespace, obj.metadata.name, { propagationPolicy, preconditions: { uid: obj.metadata.uid } });
    } catch (err) {
      if (!(err instanceof ApiError) || (err.code !== 404 && err.code !== 409)) throw err;
    }
  }

  private setOwnerRefs(t: ResourceType, entry: Entry, refs: any[]): void {
    const next = structuredClone(entry.obj);
    if (refs.length > 0) next.metadata.ownerReferences = refs;
    else delete next.metadata.ownerReferences;
    this.objects.replace(t, entry, next, { fieldManager: 'garbage-collector' });
  }

  private removeFinalizer(t: ResourceType, entry: Entry, finalizer: string): void {
    const next = structuredClone(entry.obj);
    next.metadata.finalizers = (next.metadata.finalizers ?? []).filter((f: string) => f !== finalizer);
    if (next.metadata.finalizers.length === 0) delete next.metadata.finalizers;
    this.objects.replace(t, entry, next, { fieldManager: 'garbage-collector' });
  }

  /**
   * A pod marked for deletion on a node is the kubelet's to finish; with no kubelet answering for
   * its node (none registered), the pod is removed when its grace period is over.
   */
  private finishGracefulPods(): void {
    const podType = this.registry.get('', 'v1', 'pods')!;
    const nodeType = this.registry.get('', 'v1', 'nodes')!;
    const now = Date.now();
    for (const uid of [...this.graceful]) {
      const ref = this.byUid.get(uid);
      const entry = ref ? this.objects.storage.get(collectionKey(podType), ref.key) : undefined;
      if (!entry) {
        this.graceful.delete(uid);
        continue;
      }
      const meta = entry.obj.metadata;
      if (!meta.deletionTimestamp || (meta.finalizers ?? []).length > 0) continue;
      const node = this.objects.find(nodeType, undefined, entry.obj.spec?.nodeName ?? '');
      if (node) continue;
      if (Date.parse(meta.deletionTimestamp) <= now) this.objects.removeNow(podType, entry);
    }
  }

  private crdWritten(t: ResourceType, entry: Entry): void {
    const crd = entry.obj;
    if (crd.metadata.deletionTimestamp) {
      // Deleting a CRD deletes its objects first, then the CRD itself.
      for (const rt of crdResourceTypes(crd)) this.objects.storage.dropCollection(collectionKey(rt));
      for (const rt of crdResourceTypes(crd)) this.registry.remove(rt.group, rt.version, rt.plural);
      const next = structuredClone(crd);
      next.metadata.finalizers = (next.metadata.finalizers ?? []).filter((f: string) => f !== 'customresourcecleanup.apiextensions.k8s.io');
      if (next.metadata.finalizers.length === 0) delete next.metadata.finalizers;
      setImmediate(() => {
        const current = this.objects.storage.get(collectionKey(t), entry.key);
        if (current) this.objects.replace(t, current, { ...next, metadata: { ...next.metadata, resourceVersion: current.obj.metadata.resourceVersion } }, { fieldManager: 'apiextensions-apiserver' });
      });
      return;
    }
    this.registerCrd(crd);
    const established = (crd.status?.conditions ?? []).some((c: any) => c.type === 'Established' && c.status === 'True');
    const hasFinalizer = (crd.metadata.finalizers ?? []).includes('customresourcecleanup.apiextensions.k8s.io');
    if (!established || !hasFinalizer) {
      setImmediate(() => {
        const current = this.objects.storage.get(collectionKey(t), entry.key);
        if (!current || current.obj.metadata.deletionTimestamp) return;
        const next = establishCrd(structuredClone(current.obj), nowRfc3339());
        next.metadata.finalizers = [...new Set([...(next.metadata.finalizers ?? []), 'customresourcecleanup.apiextensions.k8s.io'])];
        this.objects.replace(t, current, next, { fieldManager: 'apiextensions-apiserver', internal: true });
      });
    }
  }

  private registerCrd(crd: any): void {
    const types = crdResourceTypes(crd);
    const group = crd.spec?.group;
    const plural = crd.spec?.names?.plural;
    // Versions no longer served disappear from discovery.
    for (const existing of this.registry.all()) {
      if (existing.crd && existing.group === group && existing.plural === plural && !types.some((x: ResourceType) => x.version === existing.version)) {
        this.registry.remove(existing.group, existing.version, existing.plural);
      }
    }
    for (const rt of types) this.registry.add(rt);
  }

  private crdRemoved(crd: any): void {
    for (const rt of crdResourceTypes(crd)) {
      this.objects.storage.dropCollection(collectionKey(rt));
      this.registry.remove(rt.group, rt.version, rt.plural);
    }
  }
}

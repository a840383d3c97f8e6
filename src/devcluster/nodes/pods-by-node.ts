/**
 * The pods of every node, from the one shared pod cache: the kubelets of a process read their
 * pods here instead of each keeping a watch and a cache of its own (`spec.nodeName=<node>`), so
 * a pod is decoded and stored once however many nodes there are, and a kubelet's list costs what
 * its own pods cost. Each kubelet hears of its pods only: a pod's events go to the node it is
 * bound to (both nodes, should its nodeName change).
 */
import { objectKey, splitKey, type KubeObject } from '../../kube/index.ts';
import type { Informer } from '../controllers/informers.ts';

export type PodKeyHandler = (key: string) => void;

const shared = new WeakMap<Informer, PodsByNode>();

export class PodsByNode {
  private readonly keys = new Map<string, Set<string>>();
  private readonly handlers = new Map<string, PodKeyHandler>();

  /** The index over `pods` (the shared pod informer), made on first use. */
  static of(pods: Informer): PodsByNode {
    let index = shared.get(pods);
    if (!index) shared.set(pods, (index = new PodsByNode(pods)));
    return index;
  }

  private constructor(readonly informer: Informer) {
    informer.on({
      onAdd: (p) => this.moved(objectKey(p), undefined, p.spec?.nodeName),
      onUpdate: (o, p) => this.moved(objectKey(p), o.spec?.nodeName, p.spec?.nodeName),
      onDelete: (p) => this.moved(objectKey(p), p.spec?.nodeName, undefined),
    });
  }

  /** Calls `handler` with the key of every pod of `node` that is added, changes or goes. */
  subscribe(node: string, handler: PodKeyHandler): () => void {
    this.handlers.set(node, handler);
    return () => {
      if (this.handlers.get(node) === handler) this.handlers.delete(node);
    };
  }

  /** A pod of `node`, as the shared cache (or a write of this process not yet in it) has it. */
  get(node: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const pod = this.informer.get(namespace, name);
    return pod?.spec?.nodeName === node ? pod : undefined;
  }

  /** The pods bound to `node`. */
  list(node: string): KubeObject[] {
    const out: KubeObject[] = [];
    for (const key of this.keys.get(node) ?? []) {
      const { namespace, name } = splitKey(key);
      const pod = this.get(node, namespace, name);
      if (pod) out.push(pod);
    }
    return out;
  }

  private moved(key: string, from: string | undefined, to: string | undefined): void {
    if (from && from !== to) {
      const set = this.keys.get(from);
      set?.delete(key);
      if (set?.size === 0) this.keys.delete(from);
      this.handlers.get(from)?.(key);
    }
    if (to) {
      let set = this.keys.get(to);
      if (!set) this.keys.set(to, (set = new Set()));
      set.add(key);
      this.handlers.get(to)?.(key);
    }
  }
}

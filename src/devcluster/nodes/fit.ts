/**
 * The scheduler's filters as pure functions of a pod and a node: node selector and required node
 * affinity, taints and tolerations, resources requested against what is left, and pod count.
 * Each failure is named with the real scheduler's words, which its FailedScheduling message counts
 * ("0/3 nodes are available: 3 Insufficient cpu.").
 */
import { parseMilli, parseQuantity, type Container, type Node, type NodeSelectorRequirement, type Pod, type Taint, type Toleration } from '../../kube/index.ts';

export interface Resources {
  cpuMilli: number;
  memory: number;
  pods: number;
}

export const ZERO: Resources = { cpuMilli: 0, memory: 0, pods: 0 };

function sumRequests(containers: Container[] | undefined): { cpuMilli: number; memory: number } {
  let cpuMilli = 0;
  let memory = 0;
  for (const c of containers ?? []) {
    // A limit without a request means a request of the limit (the server defaults it so too).
    const cpu = c.resources?.requests?.cpu ?? c.resources?.limits?.cpu;
    const mem = c.resources?.requests?.memory ?? c.resources?.limits?.memory;
    if (cpu !== undefined) cpuMilli += parseMilli(cpu);
    if (mem !== undefined) memory += parseQuantity(mem);
  }
  return { cpuMilli, memory };
}

/**
 * Parsed quantities per object: cached objects are replaced, never changed in place, so a pod's
 * requests and a node's allocatable are parsed once per version however often they are fitted.
 */
const requestsOf = new WeakMap<Pod, Resources>();
const allocatableOf = new WeakMap<Node, Resources>();

/** What a pod takes on its node: the larger of its containers' sum and any one init container. */
export function podRequests(pod: Pod): Resources {
  let r = requestsOf.get(pod);
  if (!r) requestsOf.set(pod, (r = computeRequests(pod)));
  return { ...r };
}

function computeRequests(pod: Pod): Resources {
  const main = sumRequests(pod.spec?.containers);
  for (const init of pod.spec?.initContainers ?? []) {
    const r = sumRequests([init]);
    main.cpuMilli = Math.max(main.cpuMilli, r.cpuMilli);
    main.memory = Math.max(main.memory, r.memory);
  }
  const overhead = pod.spec?.overhead ?? {};
  if (overhead.cpu) main.cpuMilli += parseMilli(overhead.cpu);
  if (overhead.memory) main.memory += parseQuantity(overhead.memory);
  return { ...main, pods: 1 };
}

export function allocatable(node: Node): Resources {
  let r = allocatableOf.get(node);
  if (!r) allocatableOf.set(node, (r = computeAllocatable(node)));
  return { ...r };
}

function computeAllocatable(node: Node): Resources {
  const a = node.status?.allocatable ?? {};
  return {
    cpuMilli: a.cpu !== undefined ? parseMilli(a.cpu) : 0,
    memory: a.memory !== undefined ? parseQuantity(a.memory) : 0,
    pods: a.pods !== undefined ? parseQuantity(a.pods) : 0,
  };
}

function matchExpression(expr: NodeSelectorRequirement, value: string | undefined): boolean {
  const values = expr.values ?? [];
  switch (expr.operator) {
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotIn':
      return value === undefined || !values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
      return value !== undefined && Number(value) > Number(values[0]);
    case 'Lt':
      return value !== undefined && Number(value) < Number(values[0]);
    default:
      return false;
  }
}

/** `spec.nodeSelector` and the required node affinity (terms ORed, expressions within a term ANDed). */
export function matchesNodeSelector(pod: Pod, node: Node): boolean {
  const labels = node.metadata.labels ?? {};
  for (const [k, v] of Object.entries(pod.spec?.nodeSelector ?? {})) if (labels[k] !== v) return false;
  const terms = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  if (terms.length === 0) return true;
  return terms.some((term) => {
    const exprs = term.matchExpressions ?? [];
    const fields = term.matchFields ?? [];
    if (exprs.length === 0 && fields.length === 0) return false;
    return (
      exprs.every((e) => matchExpression(e, labels[e.key])) &&
      fields.every((f) => matchExpression(f, f.key === 'metadata.name' ? node.metadata.name : undefined))
    );
  });
}

function tolerationMatches(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.operator === 'Exists') return !t.key || t.key === taint.key;
  return t.key === taint.key && (t.value ?? '') === (taint.value ?? '');
}

/** The first taint with one of `effects` that no toleration tolerates, or undefined. */
export function tolerates(tolerations: Toleration[] | undefined, taints: Taint[], effects = ['NoSchedule', 'NoExecute']): Taint | undefined {
  return taints.find((taint) => effects.includes(taint.effect) && !(tolerations ?? []).some((t) => tolerationMatches(t, taint)));
}

function isNodeReady(node: Node): boolean {
  return (node.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/**
 * Why `pod` cannot go on `node`, in the scheduler's words; empty when it fits. `used` is what the
 * pods already on the node request.
 */
export function unfitReasons(pod: Pod, node: Node, used: Resources): string[] {
  if (node.spec?.unschedulable && tolerates(pod.spec?.tolerations, [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }])) {
    return ['node(s) were unschedulable'];
  }
  if (!isNodeReady(node) && tolerates(pod.spec?.tolerations, [{ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }])) {
    return ['node(s) had untolerated taint {node.kubernetes.io/not-ready: }'];
  }
  if (!matchesNodeSelector(pod, node)) return ["node(s) didn't match Pod's node affinity/selector"];
  const taint = tolerates(pod.spec?.tolerations, node.spec?.taints ?? [], ['NoSchedule', 'NoExecute']);
  if (taint) return [`node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}`];
  const want = podRequests(pod);
  const cap = allocatable(node);
  const reasons: string[] = [];
  if (used.pods + 1 > cap.pods) reasons.push('Too many pods');
  if (want.cpuMilli > 0 && used.cpuMilli + want.cpuMilli > cap.cpuMilli) reasons.push('Insufficient cpu');
  if (want.memory > 0 && used.memory + want.memory > cap.memory) reasons.push('Insufficient memory');
  return reasons;
}

/** The FailedScheduling message: reasons counted over the nodes, sorted, as the real one prints. */
export function unschedulableMessage(nodeCount: number, reasonsByNode: string[][]): string {
  const counts = new Map<string, number>();
  for (const reasons of reasonsByNode) for (const r of reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
  const parts = [...counts.entries()].map(([r, n]) => `${n} ${r}`).sort();
  const head = `0/${nodeCount} nodes are available`;
  if (nodeCount === 0) return 'no nodes available to schedule pods';
  return `${head}: ${parts.join(', ')}. preemption: ${head}: ${nodeCount} No preemption victims found for incoming pod.`;
}

/**
 * The rules of a RuntimeVersion that an OpenAPI schema cannot express: references between list
 * items and uniqueness across them. The operator refuses a spec that breaks one (an `InvalidSpec`
 * condition naming the field); the manager can check the same before it writes one.
 */
import { versionName } from './fields.ts';
import type { RuntimeVersionSpec } from './runtime-version.ts';

export interface SpecProblem {
  /** The field as a JSON path from the object's root: `spec.workflows[0].edges[1].toNode`. */
  field: string;
  message: string;
}

/** A label value's limit: a Runtime's children carry its name in `kre.konstellation.io/runtime`. */
export const MAX_LABEL_VALUE = 63;
export const RUNTIME_LABEL = 'kre.konstellation.io/runtime';

/** The rules of a Runtime the schema cannot express: its name must fit in its children's label. */
export function checkRuntime(name: string): SpecProblem[] {
  if (name.length <= MAX_LABEL_VALUE) return [];
  return [{ field: 'metadata.name', message: `the name is ${name.length} characters long; the label ${RUNTIME_LABEL} its children carry holds at most ${MAX_LABEL_VALUE} characters` }];
}

/** A zod error's issues as problems named by field, `spec.config[1].key`. */
export function schemaProblems(root: string, issues: readonly { path: readonly PropertyKey[]; message: string }[]): SpecProblem[] {
  return issues.map((i) => ({ field: fieldPath(root, i.path), message: i.message }));
}

function fieldPath(root: string, path: readonly PropertyKey[]): string {
  return path.reduce<string>((at, k) => (typeof k === 'number' ? `${at}[${k}]` : `${at}.${String(k)}`), root);
}

/** Longest name of an object the version renders (a Deployment's pods add 17 characters to 63). */
const MAX_WORKLOAD_NAME = 46;

export function checkRuntimeVersion(name: string, spec: RuntimeVersionSpec): SpecProblem[] {
  const problems: SpecProblem[] = [];
  if (!versionName.safeParse(name).success) {
    problems.push({ field: 'metadata.name', message: `"${name}" is not a version name: 2 to 19 lower case letters, digits and '-', starting and ending with a letter or digit` });
  }
  const workflowNames = new Map<string, number>();
  const nodeIds = new Map<string, string>();
  spec.workflows.forEach((wf, w) => {
    const at = `spec.workflows[${w}]`;
    const seenWorkflow = workflowNames.get(wf.name);
    if (seenWorkflow !== undefined) problems.push({ field: `${at}.name`, message: `workflow name "${wf.name}" is also used by spec.workflows[${seenWorkflow}]` });
    workflowNames.set(wf.name, w);

    const nodeNames = new Map<string, number>();
    wf.nodes.forEach((node, n) => {
      const nodeAt = `${at}.nodes[${n}]`;
      const sameName = nodeNames.get(node.name);
      if (sameName !== undefined) problems.push({ field: `${nodeAt}.name`, message: `node name "${node.name}" is also used by ${at}.nodes[${sameName}]` });
      nodeNames.set(node.name, n);
      const sameId = nodeIds.get(node.id);
      // Ids name Deployments across the whole version, so they must be unique in it, not only in a workflow.
      if (sameId !== undefined) problems.push({ field: `${nodeAt}.id`, message: `node id "${node.id}" is also used by ${sameId}` });
      else nodeIds.set(node.id, nodeAt);
      const workload = `${name}-${node.name}-${node.id}`;
      if (workload.length > MAX_WORKLOAD_NAME) {
        problems.push({ field: nodeAt, message: `the node's Deployment name "${workload}" is longer than ${MAX_WORKLOAD_NAME} characters` });
      }
    });

    const ids = new Set(wf.nodes.map((n) => n.id));
    const inbound = new Map<string, number>();
    const outbound = new Map<string, number>();
    const edgeIds = new Set<string>();
    wf.edges.forEach((edge, e) => {
      const edgeAt = `${at}.edges[${e}]`;
      if (edgeIds.has(edge.id)) problems.push({ field: `${edgeAt}.id`, message: `edge id "${edge.id}" is used twice in the workflow` });
      edgeIds.add(edge.id);
      if (!ids.has(edge.fromNode)) problems.push({ field: `${edgeAt}.fromNode`, message: `no node with id "${edge.fromNode}" in workflow "${wf.name}"` });
      if (!ids.has(edge.toNode)) problems.push({ field: `${edgeAt}.toNode`, message: `no node with id "${edge.toNode}" in workflow "${wf.name}"` });
      if (edge.fromNode === edge.toNode) problems.push({ field: edgeAt, message: `edge "${edge.id}" joins node "${edge.fromNode}" to itself` });
      // A node has one input and one output subject, so the nodes form a single chain.
      if (outbound.has(edge.fromNode)) problems.push({ field: `${edgeAt}.fromNode`, message: `node "${edge.fromNode}" already has an outgoing edge (spec.workflows[${w}].edges[${outbound.get(edge.fromNode)}])` });
      if (inbound.has(edge.toNode)) problems.push({ field: `${edgeAt}.toNode`, message: `node "${edge.toNode}" already has an incoming edge (spec.workflows[${w}].edges[${inbound.get(edge.toNode)}])` });
      outbound.set(edge.fromNode, e);
      inbound.set(edge.toNode, e);
    });
    if (problems.length === 0 && workflowChain(wf.nodes.map((n) => n.id), wf.edges) === undefined) {
      problems.push({ field: `${at}.edges`, message: `the edges of workflow "${wf.name}" do not join its nodes into one chain` });
    }
  });
  return problems;
}

/**
 * The nodes of a workflow in the order messages flow through them, or undefined when the edges do
 * not make one chain from a first node (no incoming edge) through every node.
 */
export function workflowChain(nodeIds: string[], edges: { fromNode: string; toNode: string }[]): string[] | undefined {
  const next = new Map(edges.map((e) => [e.fromNode, e.toNode]));
  const targets = new Set(edges.map((e) => e.toNode));
  const firsts = nodeIds.filter((id) => !targets.has(id));
  if (firsts.length !== 1) return undefined;
  const chain = [firsts[0]];
  while (next.has(chain[chain.length - 1])) {
    chain.push(next.get(chain[chain.length - 1])!);
    if (chain.length > nodeIds.length) return undefined;
  }
  return chain.length === nodeIds.length ? chain : undefined;
}

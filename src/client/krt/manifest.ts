/**
 * `krt.yml`, the manifest of a version package (REFERENCE §1): the version's name and description,
 * its entrypoint, the configuration it declares, its nodes and its workflows, each workflow a
 * `sequential` list of node names. Every rule is checked here, before anything is sent, and every
 * problem is reported with the file and the field (`krt.yml: workflows[1].sequential[0]: …`).
 */
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { configKey, dnsLabel, fileKey, imageReference, versionName } from '../../api/index.ts';

export const MANIFEST_FILE = 'krt.yml';

/** A node's Deployment is `<version>-<node>-<id>` and its pods add 17 characters to at most 63. */
const MAX_WORKLOAD_NAME = 46;

const relativePath = z
  .string()
  .min(1)
  .max(1024)
  .refine((p) => !p.startsWith('/') && !p.split('/').includes('..'), 'must be a path inside the package (relative, no "..")');

const KrtNode = z.strictObject({
  name: dnsLabel.max(30),
  image: imageReference,
  src: relativePath,
  /** Pods for this node (KRE's addition; the seed ran one). */
  replicas: z.number().int().min(1).max(100).optional(),
});

const workflowName = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-zA-Z0-9]([-_a-zA-Z0-9]*[a-zA-Z0-9])?$/, "letters, digits, '-' and '_', starting and ending with a letter or digit");

const KrtWorkflow = z.strictObject({
  name: workflowName,
  /** The entrypoint method (of the proto's service) that feeds this workflow. */
  entrypoint: workflowName,
  sequential: z.array(z.string()).min(1, 'a workflow runs at least one node').max(100),
});

export const KrtManifest = z.strictObject({
  version: versionName,
  description: z.string().max(4096).optional(),
  entrypoint: z.strictObject({ proto: relativePath, image: imageReference }),
  config: z
    .strictObject({
      variables: z.array(configKey).max(256).default([]),
      files: z.array(fileKey).max(64).default([]),
    })
    .prefault({}),
  nodes: z.array(KrtNode).min(1, 'a version has at least one node').max(100),
  workflows: z.array(KrtWorkflow).min(1, 'a version has at least one workflow').max(32),
});
export type KrtManifest = z.infer<typeof KrtManifest>;

export interface KrtProblem {
  /** The file the problem is in: `krt.yml`, or the package itself. */
  file: string;
  /** The field as a path from the manifest's root: `workflows[0].sequential[2]`. */
  field: string;
  message: string;
}

/** A package that breaks a rule; the message lists every problem, one per line. */
export class KrtError extends Error {
  override name = 'KrtError';
  constructor(
    readonly source: string,
    readonly problems: KrtProblem[],
  ) {
    super(`${source} is not a valid version package:\n${problems.map((p) => `  ${p.file}${p.field ? `: ${p.field}` : ''}: ${p.message}`).join('\n')}`);
  }
}

const fieldPath = (path: readonly PropertyKey[]): string =>
  path.reduce<string>((at, k) => (typeof k === 'number' ? `${at}[${k}]` : at ? `${at}.${String(k)}` : String(k)), '');

/** zod's words where the rule is a pattern the reader cannot see. */
function issueMessage(issue: z.core.$ZodIssue, value: unknown): string {
  const field = fieldPath(issue.path);
  const shown = typeof value === 'string' ? `"${value.slice(0, 80)}" ` : '';
  if (issue.code === 'invalid_type' && value === undefined) return 'is required';
  if (issue.code === 'unrecognized_keys') return `unknown field(s) ${issue.keys.join(', ')}`;
  if (field === 'version' && issue.code !== 'invalid_type') return `${shown}is not a version name: 2 to 19 lower case letters, digits and '-', starting and ending with a letter or digit`;
  if (/^entrypoint\.image$|^nodes\[\d+\]\.image$/.test(field) && issue.code === 'invalid_format') return `${shown}is not an image reference ([registry/]path[:tag][@sha256:digest], path in lower case)`;
  if (/^nodes\[\d+\]\.name$/.test(field) && issue.code === 'invalid_format') return `${shown}is not a node name: lower case letters, digits and '-', starting and ending with a letter or digit`;
  if (/^config\.files\[\d+\]$/.test(field) && issue.code === 'invalid_format') return `${shown}is not a file name: letters, digits, '-', '_' and '.'`;
  // A rule's own message may name the value already (the config key rule does).
  return typeof value === 'string' && value !== '' && issue.message.startsWith(value) ? issue.message : `${shown}${issue.message}`;
}

const valueAt = (root: unknown, path: readonly PropertyKey[]): unknown => path.reduce<unknown>((o, k) => (o as Record<PropertyKey, unknown> | undefined)?.[k], root);

/** Where each name of a list was first seen, reporting the names used twice. */
function duplicates(names: string[], at: (i: number) => string, what: string): KrtProblem[] {
  const seen = new Map<string, number>();
  const out: KrtProblem[] = [];
  names.forEach((n, i) => {
    const first = seen.get(n);
    if (first !== undefined) out.push({ file: MANIFEST_FILE, field: at(i), message: `${what} "${n}" is also used by ${at(first)}` });
    else seen.set(n, i);
  });
  return out;
}

/**
 * The manifest from `krt.yml`'s text, checked against every rule; `files` (the package's paths)
 * lets the references to files — the entrypoint's proto and each node's `src` — be checked too.
 */
export function parseManifest(text: string, source: string, files?: ReadonlySet<string>): KrtManifest {
  let raw: unknown;
  try {
    raw = parseYaml(text, { maxAliasCount: 100 });
  } catch (err) {
    throw new KrtError(source, [{ file: MANIFEST_FILE, field: '', message: `not valid YAML: ${(err as Error).message.split('\n')[0]}` }]);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new KrtError(source, [{ file: MANIFEST_FILE, field: '', message: 'expected a mapping with version, entrypoint, config, nodes and workflows' }]);
  }
  const parsed = KrtManifest.safeParse(raw);
  if (!parsed.success) {
    // One problem per field: a name both too short and of the wrong shape is one mistake.
    const byField = new Map<string, KrtProblem>();
    for (const i of parsed.error.issues) {
      const field = fieldPath(i.path);
      if (!byField.has(field)) byField.set(field, { file: MANIFEST_FILE, field, message: issueMessage(i, valueAt(raw, i.path)) });
    }
    throw new KrtError(source, [...byField.values()]);
  }
  const m = parsed.data;
  const problems = [
    ...duplicates(m.config.variables, (i) => `config.variables[${i}]`, 'variable'),
    ...duplicates(m.config.files, (i) => `config.files[${i}]`, 'file'),
    ...duplicates(m.nodes.map((n) => n.name), (i) => `nodes[${i}].name`, 'node name'),
    ...duplicates(m.workflows.map((w) => w.name), (i) => `workflows[${i}].name`, 'workflow name'),
  ];
  const nodes = new Set(m.nodes.map((n) => n.name));
  m.workflows.forEach((wf, w) => {
    // A node has one input and one output subject, so it appears once in a chain.
    problems.push(...duplicates(wf.sequential, (i) => `workflows[${w}].sequential[${i}]`, 'node'));
    wf.sequential.forEach((name, i) => {
      if (!nodes.has(name)) problems.push({ file: MANIFEST_FILE, field: `workflows[${w}].sequential[${i}]`, message: `no node named "${name}" in nodes (${[...nodes].join(', ')})` });
    });
  });
  m.workflows.forEach((wf, w) =>
    wf.sequential.forEach((name, i) => {
      const workload = `${m.version}-${name}-${nodeId(w, i)}`;
      if (workload.length > MAX_WORKLOAD_NAME) {
        problems.push({ file: MANIFEST_FILE, field: `workflows[${w}].sequential[${i}]`, message: `the node's Deployment name "${workload}" would be longer than ${MAX_WORKLOAD_NAME} characters: shorten the version or node name` });
      }
    }),
  );
  m.nodes.forEach((n, i) => {
    if (!m.workflows.some((wf) => wf.sequential.includes(n.name))) problems.push({ file: MANIFEST_FILE, field: `nodes[${i}]`, message: `node "${n.name}" is in no workflow's sequential list` });
  });
  if (files) {
    if (!files.has(m.entrypoint.proto)) problems.push({ file: MANIFEST_FILE, field: 'entrypoint.proto', message: `"${m.entrypoint.proto}" is not in the package` });
    m.nodes.forEach((n, i) => {
      if (!files.has(n.src)) problems.push({ file: MANIFEST_FILE, field: `nodes[${i}].src`, message: `"${n.src}" is not in the package` });
    });
  }
  if (problems.length > 0) throw new KrtError(source, problems);
  return m;
}

/** A node's id in the version: unique across workflows (it names the node's Deployment) and short. */
export function nodeId(workflow: number, position: number): string {
  return `w${workflow}n${position}`;
}

/**
 * A `Version` message made into a `RuntimeVersion` spec, checked with the API's own schema and
 * rules (the `.krt` name rules of REFERENCE §1) before anything is written. Every problem is
 * reported with the request field it comes from (`version.workflows[0].nodes[1].name`), not the
 * spec path the schema speaks of.
 */
import { checkRuntimeVersion, configKey, RuntimeVersionSpec, versionName } from '../api/index.ts';
import type { Version } from '../gen/version/version.ts';
import { invalidArgument } from './errors.ts';
import { namespaceOf, str } from './request-fields.ts';

export interface VersionRef {
  name: string;
  namespace: string;
}

/** The Secret holding a version's own MongoDB connection string (`uri`), when the request gives one. */
export const mongoUriSecretName = (version: string): string => `${version}-mongo-uri`;

/** Spec paths whose request field has another name; the rest keep theirs, under `version.`. */
const REQUEST_FIELDS: [RegExp, string][] = [
  [/^metadata\.name$/, 'name'],
  [/^spec\.versionId$/, 'id'],
  [/^spec\.entrypoint\.protoFile$/, 'entrypoint.proto_file'],
  [/^spec\.mongoDbName$/, 'mongo_db_name'],
  [/^spec\.mongoUriSecret.*$/, 'mongo_uri'],
];

export function requestField(specPath: string): string {
  for (const [re, field] of REQUEST_FIELDS) if (re.test(specPath)) return `version.${field}`;
  return `version.${specPath.replace(/^spec\./, '')}`;
}

function specPath(path: PropertyKey[]): string {
  return path.reduce<string>((out, p) => (typeof p === 'number' ? `${out}[${p}]` : out ? `${out}.${String(p)}` : String(p)), 'spec');
}

export function parseVersionRef(version: Version | undefined, prefix = 'version'): VersionRef {
  if (!version) throw invalidArgument(prefix, 'is required');
  return { name: versionNameOf(`${prefix}.name`, str(version.name)), namespace: namespaceOf(`${prefix}.namespace`, str(version.namespace)) };
}

export function versionNameOf(field: string, name: string): string {
  if (name === '') throw invalidArgument(field, 'is required');
  if (!versionName.safeParse(name).success) {
    throw invalidArgument(field, `"${name.slice(0, 80)}" is not a version name: 2 to 19 lower case letters, digits and '-', starting and ending with a letter or digit`);
  }
  return name;
}

/** The config list of a request, each key checked with the `.krt` variable rule. */
export function parseConfig(version: Version): { key: string; value: string }[] {
  const config = (version.config ?? []).map((c, i) => {
    const key = str(c?.key);
    if (!configKey.safeParse(key).success) {
      throw invalidArgument(`version.config[${i}].key`, `"${key.slice(0, 80)}" is not a configuration variable: upper case letters, digits and '_', starting and ending with a letter or digit`);
    }
    return { key, value: str(c?.value) };
  });
  const seen = new Map<string, number>();
  config.forEach((c, i) => {
    if (seen.has(c.key)) throw invalidArgument(`version.config[${i}].key`, `"${c.key}" is also set by version.config[${seen.get(c.key)}]`);
    seen.set(c.key, i);
  });
  return config;
}

/** The full spec a `Start` request asks for, or INVALID_ARGUMENT naming the first field at fault. */
export function parseVersionSpec(version: Version | undefined): { ref: VersionRef; spec: RuntimeVersionSpec; mongoUri?: string } {
  const ref = parseVersionRef(version);
  const v = version!;
  const mongoUri = str(v.mongoUri);
  if (mongoUri !== '' && !/^mongodb(\+srv)?:\/\/\S+$/.test(mongoUri)) throw invalidArgument('version.mongo_uri', 'expected a mongodb:// or mongodb+srv:// connection string');
  if (!v.entrypoint) throw invalidArgument('version.entrypoint', 'is required');
  const raw = {
    versionId: str(v.id),
    entrypoint: { image: str(v.entrypoint.image), protoFile: str(v.entrypoint.protoFile) },
    config: parseConfig(v),
    workflows: (v.workflows ?? []).map((w) => ({
      id: str(w?.id),
      name: str(w?.name),
      entrypoint: str(w?.entrypoint),
      nodes: (w?.nodes ?? []).map((n) => ({ id: str(n?.id), name: str(n?.name), image: str(n?.image), src: str(n?.src), replicas: n?.replicas || 1 })),
      edges: (w?.edges ?? []).map((e) => ({ id: str(e?.id), fromNode: str(e?.fromNode), toNode: str(e?.toNode) })),
    })),
    state: 'Started',
    ...(mongoUri ? { mongoUriSecret: { name: mongoUriSecretName(ref.name) } } : {}),
    ...(str(v.mongoDbName) ? { mongoDbName: str(v.mongoDbName) } : {}),
  };
  const parsed = RuntimeVersionSpec.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = specPath(issue.path);
    const value = issue.path.reduce<unknown>((o, p) => (o as Record<PropertyKey, unknown> | undefined)?.[p], raw);
    const shown = typeof value === 'string' ? (value === '' ? 'is required' : `"${value.slice(0, 80)}": ${issue.message}`) : issue.message;
    throw invalidArgument(requestField(path), shown);
  }
  const problems = checkRuntimeVersion(ref.name, parsed.data);
  if (problems.length > 0) throw invalidArgument(requestField(problems[0].field), problems[0].message);
  return { ref, spec: parsed.data, ...(mongoUri ? { mongoUri } : {}) };
}

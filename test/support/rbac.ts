/**
 * What the least-privilege tests share: the RBAC of a manifest in deploy/, created on a real API
 * server as the manifest has it, and a part's log kept in memory to find the requests refused.
 */
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { parseAllDocuments } from 'yaml';
import { isAlreadyExists, type KubeClient, type KubeObject } from '../../src/kube/index.ts';
import { serializeError } from '../../src/kube/logger.ts';
import { serviceAccountToken, startTestApiServer, type TestApiServer } from './apiserver.ts';

export interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/** A manifest's documents and the rules of its ClusterRole. */
export function manifestRbac(url: URL): { docs: KubeObject[]; rules: Rule[] } {
  const docs = parseAllDocuments(readFileSync(url, 'utf8')).map((d) => d.toJS() as KubeObject);
  const role = docs.find((d) => d.kind === 'ClusterRole');
  if (!role) throw new Error(`${url.pathname} has no ClusterRole`);
  return { docs, rules: (role as unknown as { rules: Rule[] }).rules };
}

export const describeRule = (r: Rule) => `${r.apiGroups.map((g) => g || 'core').join(',')}/${r.resources.join(',')}: ${r.verbs.join(',')}`;

/** Creates the manifest's ServiceAccount (and its namespace), ClusterRole and ClusterRoleBinding as it has them (not its workload). */
async function createIdentity(client: KubeClient, docs: KubeObject[]): Promise<void> {
  const account = docs.find((d) => d.kind === 'ServiceAccount')!;
  await client.create({ group: '', version: 'v1', plural: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: account.metadata.namespace } }).catch((err) => {
    if (!isAlreadyExists(err)) throw err;
  });
  for (const doc of docs.filter((d) => ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding'].includes(d.kind!))) {
    const ref = await client.refFor(doc);
    await client.create({ ...ref, name: undefined } as never, doc);
  }
}

const CLUSTER_ROLES = { group: 'rbac.authorization.k8s.io', version: 'v1', plural: 'clusterroles', kind: 'ClusterRole', namespaced: false };

/** An API server where a part's ServiceAccount holds the ClusterRole of its manifest, and nothing else. */
export interface RbacBed {
  server: TestApiServer;
  /** The ServiceAccount's token, from the TokenRequest API (as `kubectl create token` gets it). */
  token: string;
  /** The ClusterRole's rules, as the manifest has them. */
  rules: Rule[];
  /** Runs `fn` while the ClusterRole lacks its rule `index`, then puts the rule back. */
  withoutRule<T>(index: number, fn: () => Promise<T>): Promise<T>;
  stop(): Promise<void>;
}

/** Starts the API server, lets `prepare` act as admin, then creates the manifest's identity. */
export async function startRbacBed(manifest: URL, prepare?: (admin: KubeClient) => Promise<unknown>): Promise<RbacBed> {
  const { docs, rules } = manifestRbac(manifest);
  const role = docs.find((d) => d.kind === 'ClusterRole')!.metadata.name!;
  const account = docs.find((d) => d.kind === 'ServiceAccount')!.metadata;
  const server = await startTestApiServer();
  try {
    await prepare?.(server.client);
    await createIdentity(server.client, docs);
    const token = await serviceAccountToken(server.client, account.namespace!, account.name!);
    const setRules = (r: Rule[]) => server.client.patch({ ...CLUSTER_ROLES, name: role }, { rules: r });
    return {
      server,
      token,
      rules,
      async withoutRule(index, fn) {
        await setRules(rules.filter((_r, j) => j !== index));
        try {
          return await fn();
        } finally {
          await setRules(rules);
        }
      },
      stop: () => server.stop(),
    };
  } catch (err) {
    await server.stop();
    throw err;
  }
}

/** A logger at debug level whose lines are kept in `lines`. */
export function capturedLog(part: string): { lines: string[]; logger: Logger } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return { lines, logger: pino({ level: 'debug', base: { part }, serializers: { err: serializeError } }, sink) };
}

/** The lines that tell of a request refused by RBAC. */
export const refused = (lines: string[]) => lines.filter((l) => /forbidden|"code":403|PERMISSION_DENIED/i.test(l));

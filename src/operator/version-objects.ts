/**
 * The objects a RuntimeVersion renders: the version's configuration ConfigMaps, a ConfigMap and a
 * Deployment per workflow node, and the entrypoint Deployment. Pure functions of the version.
 *
 * Nodes read their `KRT_*` settings and the version's configuration from ConfigMaps; the pod
 * template carries a hash of what those hold, so a configuration change rolls the pods through
 * the Deployment instead of deleting them.
 */
import { API_VERSION, workflowChain, type RuntimeVersion, type Workflow, type WorkflowNode } from '../api/index.ts';
import { setControllerOwner, type Deployment, type KubeObject } from '../kube/index.ts';
import { MANAGED_BY, sha256 } from './children.ts';
import { CONFIG_HASH, MONGO_CONNECTION, MONGO_CONNECTION_KEY, NATS } from './runtime-objects.ts';

export const NATS_SERVER = `${NATS}:4222`;
export const BASE_PATH = '/krt-files';

export function globalConfigName(version: string): string {
  return `${version}-global`;
}
export function confFilesName(version: string): string {
  return `${version}-conf-files`;
}
export function entrypointName(version: string): string {
  return `${version}-entrypoint`;
}
export function nodeWorkloadName(version: string, node: Pick<WorkflowNode, 'name' | 'id'>): string {
  return `${version}-${node.name}-${node.id}`;
}
/** The subject the entrypoint publishes a workflow's requests on: the input of its first node. */
export function entrypointSubject(version: string, wf: Pick<Workflow, 'entrypoint'>): string {
  return `${version}-${wf.entrypoint}-entrypoint`;
}

export interface VersionContext {
  /** The database name from the Runtime (`spec.mongo.dbName`). */
  mongoDbName: string;
}

function metadata(v: RuntimeVersion, name: string, labels: Record<string, string>): KubeObject['metadata'] {
  return { name, namespace: v.metadata.namespace, labels: { ...labels, ...MANAGED_BY, 'app.kubernetes.io/part-of': 'kre' } };
}

function owned<T extends KubeObject>(v: RuntimeVersion, obj: T): T {
  return setControllerOwner(obj, { ...v, apiVersion: API_VERSION, kind: 'RuntimeVersion' });
}

function versionLabels(v: RuntimeVersion): Record<string, string> {
  return { 'version-name': v.metadata.name ?? '' };
}

export function renderGlobalConfigMap(v: RuntimeVersion): KubeObject {
  return owned(v, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: metadata(v, globalConfigName(v.metadata.name ?? ''), { type: 'config', ...versionLabels(v) }),
    data: Object.fromEntries(v.spec.config.map((c) => [c.key, c.value])),
  });
}

export function renderConfFilesConfigMap(v: RuntimeVersion): KubeObject {
  return owned(v, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: metadata(v, confFilesName(v.metadata.name ?? ''), { type: 'config', ...versionLabels(v) }),
    data: Object.fromEntries(v.spec.configFiles.map((c) => [c.key, c.value])),
  });
}

/** A node's `KRT_*` settings: its place in the version and the NATS subjects it reads and writes. */
export function nodeEnvironment(v: RuntimeVersion, wf: Workflow, node: WorkflowNode, ctx: VersionContext): Record<string, string> {
  const version = v.metadata.name ?? '';
  const incoming = wf.edges.find((e) => e.toNode === node.id);
  const outgoing = wf.edges.find((e) => e.fromNode === node.id);
  const first = workflowChain(wf.nodes.map((n) => n.id), wf.edges)?.[0] ?? wf.nodes[0].id;
  return {
    KRT_VERSION: version,
    KRT_VERSION_ID: v.spec.versionId,
    KRT_WORKFLOW_NAME: wf.name,
    KRT_WORKFLOW_ID: wf.id,
    KRT_NODE_NAME: node.name,
    KRT_NODE_ID: node.id,
    KRT_NATS_SERVER: NATS_SERVER,
    KRT_NATS_INPUT: incoming ? incoming.id : node.id === first ? entrypointSubject(version, wf) : '',
    KRT_NATS_OUTPUT: outgoing ? outgoing.id : '',
    KRT_MONGO_DB_NAME: v.spec.mongoDbName ?? ctx.mongoDbName,
    KRT_BASE_PATH: BASE_PATH,
    KRT_HANDLER_PATH: node.src,
  };
}

export function renderNodeConfigMap(v: RuntimeVersion, wf: Workflow, node: WorkflowNode, ctx: VersionContext): KubeObject {
  return owned(v, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: metadata(v, nodeWorkloadName(v.metadata.name ?? '', node), nodeLabels(v, node)),
    data: nodeEnvironment(v, wf, node, ctx),
  });
}

function nodeLabels(v: RuntimeVersion, node: WorkflowNode): Record<string, string> {
  return { type: 'node', ...versionLabels(v), 'node-name': node.name, 'node-id': node.id };
}

/** The hash that rolls a workload's pods when any ConfigMap it reads changes. */
export function configHash(...configMaps: KubeObject[]): string {
  return sha256(configMaps.map((c) => [c.metadata.name, c.data])).slice(0, 16);
}

/** The runtime's own MongoDB, unless the version names a Secret with its own connection string. */
const mongoUriEnv = (v: RuntimeVersion) => ({
  name: 'KRT_MONGO_URI',
  valueFrom: { secretKeyRef: { name: v.spec.mongoUriSecret?.name ?? MONGO_CONNECTION, key: MONGO_CONNECTION_KEY } },
});

export function renderNodeDeployment(v: RuntimeVersion, wf: Workflow, node: WorkflowNode, ctx: VersionContext): Deployment {
  const version = v.metadata.name ?? '';
  const name = nodeWorkloadName(version, node);
  const labels = nodeLabels(v, node);
  const hash = configHash(renderNodeConfigMap(v, wf, node, ctx), renderGlobalConfigMap(v), renderConfFilesConfigMap(v));
  return owned(v, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: metadata(v, name, labels),
    spec: {
      replicas: node.replicas,
      selector: { matchLabels: { ...labels } },
      template: {
        metadata: { labels: { ...labels }, annotations: { [CONFIG_HASH]: hash } },
        spec: {
          containers: [
            {
              name: node.name,
              image: node.image,
              // Of keys in several sources the last wins: the operator's settings come after the configuration.
              envFrom: [{ configMapRef: { name: globalConfigName(version) } }, { configMapRef: { name } }],
              env: [mongoUriEnv(v)],
              volumeMounts: [{ name: 'conf-files', mountPath: `${BASE_PATH}/conf`, readOnly: true }],
            },
          ],
          volumes: [{ name: 'conf-files', configMap: { name: confFilesName(version) } }],
        },
      },
    },
  });
}

export function renderEntrypointDeployment(v: RuntimeVersion): Deployment {
  const version = v.metadata.name ?? '';
  const labels = { type: 'entrypoint', ...versionLabels(v) };
  const subjects = Object.fromEntries(v.spec.workflows.map((wf) => [wf.entrypoint, entrypointSubject(version, wf)]));
  return owned(v, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: metadata(v, entrypointName(version), labels),
    spec: {
      replicas: 1,
      selector: { matchLabels: { ...labels } },
      template: {
        metadata: { labels: { ...labels }, annotations: { [CONFIG_HASH]: configHash(renderGlobalConfigMap(v), renderConfFilesConfigMap(v)) } },
        spec: {
          containers: [
            {
              name: 'entrypoint',
              image: v.spec.entrypoint.image,
              ports: [
                { name: 'grpc', containerPort: 9000, protocol: 'TCP' },
                { name: 'web', containerPort: 80, protocol: 'TCP' },
              ],
              envFrom: [{ configMapRef: { name: globalConfigName(version) } }],
              env: [
                { name: 'KRT_VERSION', value: version },
                { name: 'KRT_VERSION_ID', value: v.spec.versionId },
                { name: 'KRT_NATS_SERVER', value: NATS_SERVER },
                { name: 'KRT_NATS_SUBJECTS', value: JSON.stringify(subjects) },
                { name: 'KRT_PROTO_FILE', value: `${BASE_PATH}/${v.spec.entrypoint.protoFile}` },
                mongoUriEnv(v),
              ],
              volumeMounts: [{ name: 'conf-files', mountPath: `${BASE_PATH}/conf`, readOnly: true }],
            },
          ],
          volumes: [{ name: 'conf-files', configMap: { name: confFilesName(version) } }],
        },
      },
    },
  });
}

/** Every child of a started version, ConfigMaps before the Deployments that read them. */
export function renderVersionObjects(v: RuntimeVersion, ctx: VersionContext): KubeObject[] {
  const configMaps = [renderGlobalConfigMap(v), renderConfFilesConfigMap(v)];
  const deployments = [renderEntrypointDeployment(v)];
  for (const wf of v.spec.workflows) {
    for (const node of wf.nodes) {
      configMaps.push(renderNodeConfigMap(v, wf, node, ctx));
      deployments.push(renderNodeDeployment(v, wf, node, ctx));
    }
  }
  return [...configMaps, ...deployments];
}

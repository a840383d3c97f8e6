/**
 * The manifests in `deploy/`, generated from the code: the CRDs from the API's schemas, and the
 * operator's RBAC from the kinds it reads and writes — nothing more. `kre operator manifests
 * --out deploy` writes them; a test checks that the committed files are what this renders.
 */
import { stringify } from 'yaml';
import type { KubeObject } from '../kube/index.ts';
import { customResourceDefinitions, GROUP, RUNTIME_VERSIONS, RUNTIMES } from '../api/index.ts';
import { DELETED_CHILD_KINDS, RUNTIME_CHILD_KINDS, VERSION_CHILD_KINDS } from './operator.ts';

export const OPERATOR_NAME = 'kre-operator';
export const OPERATOR_IMAGE = 'konstellation/kre:0.1.0';
export const OPERATOR_NAMESPACE = 'kre-system';

interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/** What the operator does: watch its resources, write their status, apply and delete their children. */
export function operatorRules(): PolicyRule[] {
  // Server-side apply needs create for objects that do not exist yet, patch for the rest.
  const byVerbs = new Map<string, { group: string; verbs: string[]; plurals: Set<string> }>();
  for (const k of [...RUNTIME_CHILD_KINDS, ...VERSION_CHILD_KINDS]) {
    const verbs = ['get', 'list', 'watch', 'create', 'patch', ...(DELETED_CHILD_KINDS.has(k.kind) ? ['delete'] : [])];
    const key = `${k.group}|${verbs.join(',')}`;
    if (!byVerbs.has(key)) byVerbs.set(key, { group: k.group, verbs, plurals: new Set() });
    byVerbs.get(key)!.plurals.add(k.plural);
  }
  const rules: PolicyRule[] = [
    { apiGroups: [GROUP], resources: [RUNTIMES.plural, RUNTIME_VERSIONS.plural], verbs: ['get', 'list', 'watch'] },
    { apiGroups: [GROUP], resources: [`${RUNTIMES.plural}/status`, `${RUNTIME_VERSIONS.plural}/status`], verbs: ['get', 'update'] },
  ];
  for (const [, { group, verbs, plurals }] of [...byVerbs].sort(([a], [b]) => a.localeCompare(b))) {
    rules.push({ apiGroups: [group], resources: [...plurals].sort(), verbs });
  }
  rules.push({ apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] });
  rules.push({ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] });
  return rules;
}

function operatorDeployment(namespace: string, args: string[], env: object[]): KubeObject {
  const labels = { name: OPERATOR_NAME };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: OPERATOR_NAME, namespace, labels },
    spec: {
      replicas: 2,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: OPERATOR_NAME,
          containers: [
            {
              name: OPERATOR_NAME,
              image: OPERATOR_IMAGE,
              args: ['operator', '--listen', '0.0.0.0:8080', ...args],
              env: [{ name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } }, ...env],
              ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
              livenessProbe: { httpGet: { path: '/livez', port: 'http' }, periodSeconds: 10 },
              readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 5 },
              resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } },
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true },
            },
          ],
        },
      },
    },
  };
}

function serviceAccount(namespace: string): KubeObject {
  return { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: OPERATOR_NAME, namespace } };
}

/** One operator for every namespace: a ClusterRole, in its own namespace. */
export function clusterWideManifests(): KubeObject[] {
  const ns = OPERATOR_NAMESPACE;
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
    serviceAccount(ns),
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: OPERATOR_NAME }, rules: operatorRules() },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: OPERATOR_NAME },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: OPERATOR_NAME },
      subjects: [{ kind: 'ServiceAccount', name: OPERATOR_NAME, namespace: ns }],
    },
    operatorDeployment(ns, [], []),
  ];
}

/**
 * One operator per runtime namespace, as the seed's manager deploys it: a Role in the namespace
 * (`kubectl apply -n <namespace>`), and the operator watching the namespace it runs in.
 */
export function perNamespaceManifests(): KubeObject[] {
  const strip = (o: KubeObject): KubeObject => ({ ...o, metadata: { ...o.metadata, namespace: undefined } });
  const objects: KubeObject[] = [
    serviceAccount(''),
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: OPERATOR_NAME }, rules: operatorRules() },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: OPERATOR_NAME },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: OPERATOR_NAME },
      subjects: [{ kind: 'ServiceAccount', name: OPERATOR_NAME }],
    },
    operatorDeployment('', [], [{ name: 'WATCH_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } }]),
  ];
  return objects.map(strip).map((o) => JSON.parse(JSON.stringify(o)) as KubeObject);
}

function yamlDocuments(objects: KubeObject[], header: string): string {
  return `# ${header}\n# Generated by \`kre operator manifests --out deploy\`; do not edit.\n` + objects.map((o) => `---\n${stringify(o, { lineWidth: 0 })}`).join('');
}

/** The files of `deploy/`, by path relative to it. */
export function renderDeployManifests(): Record<string, string> {
  return {
    'crds.yaml': yamlDocuments(customResourceDefinitions(), 'The Runtime and RuntimeVersion custom resource definitions.'),
    'operator-cluster-wide.yaml': yamlDocuments(clusterWideManifests(), 'One operator for all namespaces (what `kre dev` runs in process).'),
    'operator-per-namespace.yaml': yamlDocuments(perNamespaceManifests(), 'One operator per runtime namespace: kubectl apply -n <namespace> -f this file.'),
  };
}

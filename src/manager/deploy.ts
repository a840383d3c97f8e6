/**
 * The manager's manifests in `deploy/manager.yaml`, generated from the code like the operator's
 * (`kre manager manifests --out deploy`; a test checks the committed file is what this renders).
 *
 * RBAC. The manager writes Namespaces, Secrets, Runtimes and RuntimeVersions, follows Runtimes and
 * RuntimeVersions, and — in per-namespace mode — writes the operator's ServiceAccount, Role,
 * RoleBinding and Deployment. Kubernetes lets a subject create a Role, or bind one, only if it
 * holds every permission in it, unless it has the `escalate` (Roles) and `bind` (RoleBindings)
 * verbs. `escalate` and `bind` would let the manager grant anything to anyone, itself included;
 * holding the operator's permissions lets it grant only those. So the ClusterRole holds the
 * operator's rules (`operatorRules`), and has neither verb. A manager that only ever runs in
 * cluster-wide mode needs none of the operator's rules nor the last two of `managerRules`.
 */
import { stringify } from 'yaml';
import { GROUP, RUNTIME_VERSIONS, RUNTIMES } from '../api/index.ts';
import type { KubeObject } from '../kube/index.ts';
import type { PolicyRule } from './deps.ts';

export const MANAGER_NAME = 'kre-manager';
export const MANAGER_NAMESPACE = 'kre-system';
export const MANAGER_IMAGE = 'konstellation/kre:0.1.0';
export const GRPC_PORT = 50051;
export const HTTP_PORT = 8080;

/** What the manager itself does, in every mode. */
export function managerRules(): PolicyRule[] {
  return [
    { apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'create'] },
    { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'create', 'patch'] },
    { apiGroups: [GROUP], resources: [RUNTIMES.plural, RUNTIME_VERSIONS.plural], verbs: ['get', 'list', 'watch', 'create', 'patch'] },
    // Version metrics without Prometheus: the PodMetrics of versions' pods, sampled across namespaces.
    { apiGroups: ['metrics.k8s.io'], resources: ['pods'], verbs: ['list'] },
    // Per-namespace mode: the operator's ServiceAccount, Role, RoleBinding and Deployment.
    { apiGroups: [''], resources: ['serviceaccounts'], verbs: ['get', 'create', 'patch'] },
    { apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles', 'rolebindings'], verbs: ['get', 'create', 'patch'] },
  ];
}

/**
 * The manager's rules and the operator's (see the module comment), merged by API group and verbs,
 * less any rule whose every permission the others already give (the operator's read of Runtimes is
 * in the manager's own rule): each rule left is needed, so removing any one takes something away.
 */
export function managerClusterRules(operatorRules: PolicyRule[]): PolicyRule[] {
  const merged = new Map<string, PolicyRule>();
  for (const r of [...managerRules(), ...operatorRules]) {
    const verbs = [...new Set(r.verbs)];
    const key = `${r.apiGroups.join(',')}|${verbs.join(',')}`;
    const m = merged.get(key);
    if (m) m.resources = [...new Set([...m.resources, ...r.resources])];
    else merged.set(key, { apiGroups: [...r.apiGroups], resources: [...r.resources], verbs });
  }
  const rules = [...merged.values()];
  for (let i = rules.length - 1; i >= 0; i--) {
    const others = rules.filter((_r, j) => j !== i);
    if (grantsAll(others, rules[i])) rules.splice(i, 1);
  }
  return rules;
}

/** Whether `rules` together give every verb of `rule` on every resource of its groups. */
function grantsAll(rules: PolicyRule[], rule: PolicyRule): boolean {
  return rule.apiGroups.every((g) => rule.resources.every((res) => rule.verbs.every((v) => rules.some((o) => o.apiGroups.includes(g) && o.resources.includes(res) && o.verbs.includes(v)))));
}

export function managerManifests(operatorRules: PolicyRule[]): KubeObject[] {
  const ns = MANAGER_NAMESPACE;
  const labels = { name: MANAGER_NAME };
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: MANAGER_NAME, namespace: ns } },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: MANAGER_NAME }, rules: managerClusterRules(operatorRules) },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: MANAGER_NAME },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: MANAGER_NAME },
      subjects: [{ kind: 'ServiceAccount', name: MANAGER_NAME, namespace: ns }],
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: MANAGER_NAME, namespace: ns, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: MANAGER_NAME,
            containers: [
              {
                name: MANAGER_NAME,
                image: MANAGER_IMAGE,
                args: ['manager', '--listen', `0.0.0.0:${GRPC_PORT}`, '--http-listen', `0.0.0.0:${HTTP_PORT}`, '--token-file', '/var/run/kre-manager/token', '--tls-self-signed'],
                env: [{ name: 'KRE_MANAGER_OPERATOR_MODE', value: 'cluster-wide' }],
                ports: [
                  { name: 'grpc', containerPort: GRPC_PORT, protocol: 'TCP' },
                  { name: 'http', containerPort: HTTP_PORT, protocol: 'TCP' },
                ],
                livenessProbe: { httpGet: { path: '/livez', port: 'http' }, periodSeconds: 10 },
                readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 5 },
                resources: { requests: { cpu: '50m', memory: '96Mi' }, limits: { memory: '384Mi' } },
                securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true },
                volumeMounts: [{ name: 'token', mountPath: '/var/run/kre-manager', readOnly: true }],
              },
            ],
            // The API token: create it with `kubectl -n kre-system create secret generic kre-manager-token --from-file=token=PATH`.
            volumes: [{ name: 'token', secret: { secretName: 'kre-manager-token', defaultMode: 0o400 } }],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: MANAGER_NAME, namespace: ns, labels },
      spec: { selector: labels, ports: [{ name: 'grpc', port: GRPC_PORT, targetPort: 'grpc', protocol: 'TCP' }] },
    },
  ];
}

export function renderManagerManifests(operatorRules: PolicyRule[]): Record<string, string> {
  const header =
    '# The manager: its Deployment, Service and RBAC (see src/manager/deploy.ts for why the ClusterRole holds the operator\'s rules).\n' +
    '# Generated by `kre manager manifests --out deploy`; do not edit.\n';
  return { 'manager.yaml': header + managerManifests(operatorRules).map((o) => `---\n${stringify(o, { lineWidth: 0 })}`).join('') };
}

/**
 * What `Create` writes for a runtime: its Namespace, the Secrets holding the credentials the caller
 * gave, the `Runtime` referencing them, and — in per-namespace mode — the operator with exactly its
 * Role. Pure functions of the request, tested as values.
 */
import { API_VERSION, type RuntimeSpec } from '../api/index.ts';
import type { KubeObject } from '../kube/index.ts';
import type { PolicyRule } from './deps.ts';

/** The seed's names for the per-namespace operator's ServiceAccount, Role, RoleBinding and Deployment. */
export const OPERATOR = 'k8s-runtime-operator';
export const MONGO_SECRET = 'kre-runtime-mongo-credentials';
export const MINIO_SECRET = 'kre-runtime-minio-credentials';
export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'kre-manager' } as const;
/** The name the caller gave the runtime; the Runtime object is named after its namespace, as in the seed. */
export const RUNTIME_NAME_ANNOTATION = 'kre.konstellation.io/runtime-name';

export interface RuntimeRequest {
  name: string;
  namespace: string;
  mongo?: { username: string; password: string; sharedKey: string };
  minio?: { accessKey: string; secretKey: string };
}

export function renderNamespace(namespace: string): KubeObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels: { ...MANAGED_BY } } };
}

export function renderCredentialsSecret(namespace: string, name: string, values: Record<string, string>): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace, labels: { ...MANAGED_BY, 'app.kubernetes.io/part-of': 'kre' } },
    type: 'Opaque',
    data: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')])),
  };
}

/** The credential Secrets a request asks for, by the Runtime spec field that references them. */
export function renderCredentialSecrets(req: RuntimeRequest): { component: 'mongo' | 'minio'; secret: KubeObject }[] {
  const out: { component: 'mongo' | 'minio'; secret: KubeObject }[] = [];
  if (req.mongo) out.push({ component: 'mongo', secret: renderCredentialsSecret(req.namespace, MONGO_SECRET, req.mongo) });
  if (req.minio) out.push({ component: 'minio', secret: renderCredentialsSecret(req.namespace, MINIO_SECRET, req.minio) });
  return out;
}

export function renderRuntime(req: RuntimeRequest): KubeObject {
  const spec: Partial<Record<keyof RuntimeSpec, unknown>> = {};
  if (req.mongo) spec.mongo = { credentialsSecret: { name: MONGO_SECRET } };
  if (req.minio) spec.minio = { credentialsSecret: { name: MINIO_SECRET } };
  return {
    apiVersion: API_VERSION,
    kind: 'Runtime',
    metadata: { name: req.namespace, namespace: req.namespace, labels: { ...MANAGED_BY }, annotations: { [RUNTIME_NAME_ANNOTATION]: req.name } },
    spec,
  };
}

/**
 * The operator of one namespace, as the seed's manager deployed it: ServiceAccount, Role and
 * RoleBinding `k8s-runtime-operator` holding `rules` (exactly what the operator needs), and its
 * Deployment watching the namespace it runs in (`WATCH_NAMESPACE` from the downward API).
 */
export function renderOperatorObjects(namespace: string, image: string, rules: PolicyRule[]): KubeObject[] {
  const labels = { name: OPERATOR, ...MANAGED_BY };
  const fromPodNamespace = { valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } };
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: OPERATOR, namespace, labels } },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: OPERATOR, namespace, labels }, rules },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: OPERATOR, namespace, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: OPERATOR },
      subjects: [{ kind: 'ServiceAccount', name: OPERATOR, namespace }],
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: OPERATOR, namespace, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: { name: OPERATOR } },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: OPERATOR,
            containers: [
              {
                name: OPERATOR,
                image,
                args: ['operator', '--listen', '0.0.0.0:8080'],
                env: [
                  { name: 'WATCH_NAMESPACE', ...fromPodNamespace },
                  { name: 'POD_NAMESPACE', ...fromPodNamespace },
                ],
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
    },
  ];
}

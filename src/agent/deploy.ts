/**
 * The agent's manifests in `deploy/`, generated from the code as the operator's are:
 * `kre agent manifests --out deploy` writes them, a test checks the committed files.
 *
 * - `agent.yaml`: monitoring mode. The host's `/sys/fs/cgroup` is mounted read-only, the
 *   container runs as a non-root user (cgroup statistics are world-readable).
 * - `agent-allocation.yaml`: allocation mode. The mount is read-write and the container runs as
 *   root (cgroup control files belong to root) with every capability dropped.
 *
 * Both: a ServiceAccount whose token authenticates to the kubelet (webhook authentication), and a
 * ClusterRole allowing only `get` on `nodes/pods` (fine-grained kubelet authorization, Kubernetes
 * ≥ 1.33) and `nodes/proxy` (what older kubelets check for `/pods`); `NODE_NAME` and `HOST_IP`
 * from the downward API, so that the pod reaches its own node's kubelet without host networking.
 */
import { stringify } from 'yaml';
import type { KubeObject } from '../kube/index.ts';

export const AGENT_NAME = 'kre-agent';
export const AGENT_IMAGE = 'konstellation/kre:0.1.0';
export const AGENT_NAMESPACE = 'kre-system';
const PORT = 8005;
const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The configuration example shipped in the ConfigMap: the kubelet, the namespaces and static rules. */
export function exampleAgentConfig(mode: 'monitoring' | 'allocation'): string {
  return `# kre agent configuration (flags and KRE_AGENT_* variables override these values).
mode: ${mode}
intervalSeconds: 10
source: kubelet
kubelet:
  # url: the DaemonSet passes --kubelet-url https://$(HOST_IP):10250, the node's own kubelet.
  # The ServiceAccount's token authenticates to the kubelet (webhook authentication).
  tokenFile: ${SA_DIR}/token
  # Kubelet serving certificates signed by the cluster CA (serverTLSBootstrap). Where kubelets
  # sign their own, give their CA here, or set insecure: true knowingly.
  caFile: ${SA_DIR}/ca.crt
  timeoutSeconds: 10
  staleAfterSeconds: 60
cgroup:
  root: /sys/fs/cgroup
  # driver and version are detected; set them to override (driver: systemd | cgroupfs).
# Every namespace but these (KRE puts each runtime in a namespace of its own).
excludeNamespaces: [kube-system, kube-public, kube-node-lease]
maxTasks: 500
podLabels:
  maxLabels: 32
  maxValueLength: 128
allocation:
  sharesUnit: 1000
  # Later rules override earlier ones, field by field, for the tasks both match.
  rules:
    - name: runtimes-share-fairly
      match:
        labels:
          app.kubernetes.io/managed-by: kre-operator
      allocations:
        cpu_shares: 1
    - name: entrypoints-latency-critical
      match:
        name: "*-entrypoint-*"
      allocations:
        cpu_shares: 4
        cpu_quota: 1
    - name: batch-capped
      match:
        labels:
          kre.konstellation.io/workload: batch
      allocations:
        cpu_quota: 0.25
        cpuset_cpus: "0-1"
`;
}

function daemonSet(mode: 'monitoring' | 'allocation'): KubeObject {
  const labels = { 'app.kubernetes.io/name': AGENT_NAME };
  const allocation = mode === 'allocation';
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: AGENT_NAME, namespace: AGENT_NAMESPACE, labels },
    spec: {
      selector: { matchLabels: labels },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
      template: {
        metadata: { labels, annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(PORT) } },
        spec: {
          serviceAccountName: AGENT_NAME,
          // Every node, tainted or not: a node's tasks are measured wherever they run.
          tolerations: [{ operator: 'Exists' }],
          containers: [
            {
              name: 'agent',
              image: AGENT_IMAGE,
              args: ['agent', '--config', '/etc/kre-agent/agent.yaml', '--listen', `0.0.0.0:${PORT}`, '--kubelet-url', 'https://$(HOST_IP):10250'],
              env: [
                { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
                { name: 'HOST_IP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } },
              ],
              ports: [{ name: 'metrics', containerPort: PORT, protocol: 'TCP' }],
              livenessProbe: { httpGet: { path: '/livez', port: 'metrics' }, periodSeconds: 10 },
              readinessProbe: { httpGet: { path: '/readyz', port: 'metrics' }, periodSeconds: 10 },
              resources: { requests: { cpu: '20m', memory: '64Mi' }, limits: { memory: '192Mi' } },
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
                ...(allocation ? { runAsUser: 0, runAsNonRoot: false } : { runAsUser: 65534, runAsNonRoot: true }),
              },
              volumeMounts: [
                { name: 'cgroup', mountPath: '/sys/fs/cgroup', readOnly: !allocation },
                { name: 'config', mountPath: '/etc/kre-agent', readOnly: true },
              ],
            },
          ],
          volumes: [
            { name: 'cgroup', hostPath: { path: '/sys/fs/cgroup', type: 'Directory' } },
            { name: 'config', configMap: { name: AGENT_NAME } },
          ],
        },
      },
    },
  };
}

export function agentManifests(mode: 'monitoring' | 'allocation'): KubeObject[] {
  const ns = AGENT_NAMESPACE;
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: AGENT_NAME, namespace: ns } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: AGENT_NAME },
      rules: [{ apiGroups: [''], resources: ['nodes/pods', 'nodes/proxy'], verbs: ['get'] }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: AGENT_NAME },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: AGENT_NAME },
      subjects: [{ kind: 'ServiceAccount', name: AGENT_NAME, namespace: ns }],
    },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: AGENT_NAME, namespace: ns }, data: { 'agent.yaml': exampleAgentConfig(mode) } },
    daemonSet(mode),
  ];
}

function yamlDocuments(objects: KubeObject[], header: string): string {
  return `# ${header}\n# Generated by \`kre agent manifests --out deploy\`; do not edit.\n` + objects.map((o) => `---\n${stringify(o, { lineWidth: 0 })}`).join('');
}

/** The agent's files of `deploy/`, by path relative to it. */
export function renderAgentManifests(): Record<string, string> {
  return {
    'agent.yaml': yamlDocuments(agentManifests('monitoring'), 'The agent on every node, monitoring only (cgroups mounted read-only).'),
    'agent-allocation.yaml': yamlDocuments(agentManifests('allocation'), 'The agent on every node in allocation mode (cgroups mounted read-write): apply instead of agent.yaml.'),
  };
}

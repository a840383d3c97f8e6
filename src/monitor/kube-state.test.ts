/**
 * The kube-state-metrics-compatible families against exact exposition text, one table of cases
 * per family, as kube-state-metrics' own store tests are written.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../kube/index.ts';
import {
  deploymentReplicasAvailableFamily,
  formatValue,
  kubeStateFamilies,
  nodeStatusConditionFamily,
  podContainerResourceLimitsFamily,
  podContainerResourceRequestsFamily,
  podInfoFamily,
  podLabelsFamily,
  podStatusPhaseFamily,
  renderFamilies,
  type MetricFamily,
} from './kube-state.ts';

const pod = (over: { labels?: Record<string, string>; spec?: object; status?: object; ownerReferences?: object[] } = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { namespace: 'ns1', name: 'pod1', uid: 'abc-123-xxx', labels: over.labels, ownerReferences: over.ownerReferences as KubeObject['metadata']['ownerReferences'] },
  spec: { nodeName: 'node1', containers: [{ name: 'c1', image: 'img' }], ...over.spec },
  status: over.status ?? {},
});

interface Case {
  name: string;
  family: MetricFamily;
  want: string;
}

function check(cases: Case[]): void {
  for (const c of cases) {
    it(c.name, () => assert.equal(renderFamilies([c.family]), c.want));
  }
}

describe('kube_pod_labels', () => {
  const H = '# HELP kube_pod_labels [STABLE] Kubernetes labels converted to Prometheus labels.\n# TYPE kube_pod_labels gauge\n';
  check([
    { name: 'no allowlist: one series without labels', family: podLabelsFamily([pod({ labels: { app: 'x' } })], []), want: `${H}kube_pod_labels{namespace="ns1",pod="pod1",uid="abc-123-xxx"} 1\n` },
    {
      name: 'allowlisted keys only, sanitized, in key order',
      family: podLabelsFamily([pod({ labels: { 'version-name': 'v1', 'kre.io/runtime': 'r', secret: 'no' } })], ['version-name', 'kre.io/runtime', 'absent']),
      want: `${H}kube_pod_labels{namespace="ns1",pod="pod1",uid="abc-123-xxx",label_kre_io_runtime="r",label_version_name="v1"} 1\n`,
    },
    { name: 'values escaped', family: podLabelsFamily([pod({ labels: { a: 'q"\\' } })], ['a']), want: `${H}kube_pod_labels{namespace="ns1",pod="pod1",uid="abc-123-xxx",label_a="q\\"\\\\"} 1\n` },
    { name: 'no pods: headers only', family: podLabelsFamily([], ['a']), want: H },
  ]);
});

describe('kube_pod_info', () => {
  const H = '# HELP kube_pod_info [STABLE] Information about pod.\n# TYPE kube_pod_info gauge\n';
  check([
    {
      name: 'without a controller',
      family: podInfoFamily([pod({ status: { hostIP: '1.1.1.1', podIP: '1.2.3.4' } })]),
      want: `${H}kube_pod_info{namespace="ns1",pod="pod1",uid="abc-123-xxx",host_ip="1.1.1.1",pod_ip="1.2.3.4",node="node1",created_by_kind="<none>",created_by_name="<none>",priority_class="",host_network="false"} 1\n`,
    },
    {
      name: 'with a controller, priority class and host network',
      family: podInfoFamily([
        pod({
          spec: { priorityClassName: 'system', hostNetwork: true },
          ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'not-it', uid: '1' }, { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs1', uid: '2', controller: true }],
        }),
      ]),
      want: `${H}kube_pod_info{namespace="ns1",pod="pod1",uid="abc-123-xxx",host_ip="",pod_ip="",node="node1",created_by_kind="ReplicaSet",created_by_name="rs1",priority_class="system",host_network="true"} 1\n`,
    },
  ]);
});

describe('kube_pod_status_phase', () => {
  const H = '# HELP kube_pod_status_phase [STABLE] The pods current phase.\n# TYPE kube_pod_status_phase gauge\n';
  const series = (running: string) =>
    ['Pending', 'Succeeded', 'Failed', 'Unknown', 'Running'].map((p) => `kube_pod_status_phase{namespace="ns1",pod="pod1",uid="abc-123-xxx",phase="${p}"} ${p === running ? 1 : 0}\n`).join('');
  check([
    { name: 'running', family: podStatusPhaseFamily([pod({ status: { phase: 'Running' } })]), want: H + series('Running') },
    { name: 'pending', family: podStatusPhaseFamily([pod({ status: { phase: 'Pending' } })]), want: H + series('Pending') },
    { name: 'no phase yet: no series', family: podStatusPhaseFamily([pod()]), want: H },
  ]);
});

describe('kube_pod_container_resource_requests and _limits', () => {
  const HR =
    '# HELP kube_pod_container_resource_requests The number of requested request resource by a container. It is recommended to use the kube_pod_resource_requests metric exposed by kube-scheduler instead, as it is more precise.\n# TYPE kube_pod_container_resource_requests gauge\n';
  const HL =
    '# HELP kube_pod_container_resource_limits The number of requested limit resource by a container. It is recommended to use the kube_pod_resource_limits metric exposed by kube-scheduler instead, as it is more precise.\n# TYPE kube_pod_container_resource_limits gauge\n';
  const resources = { requests: { cpu: '250m', memory: '128Mi', 'nvidia.com/gpu': '1', 'ephemeral-storage': '1G' }, limits: { cpu: '2', memory: '1Gi', 'hugepages-2Mi': '4Mi' } };
  const p = pod({ spec: { containers: [{ name: 'c1', resources }, { name: 'c2' }] } });
  const k = 'namespace="ns1",pod="pod1",uid="abc-123-xxx",container="c1",node="node1"';
  check([
    {
      name: 'requests: cores, bytes, extended resources as integers',
      family: podContainerResourceRequestsFamily([p]),
      want:
        HR +
        `kube_pod_container_resource_requests{${k},resource="cpu",unit="core"} 0.25\n` +
        `kube_pod_container_resource_requests{${k},resource="ephemeral_storage",unit="byte"} 1e+09\n` +
        `kube_pod_container_resource_requests{${k},resource="memory",unit="byte"} 1.34217728e+08\n` +
        `kube_pod_container_resource_requests{${k},resource="nvidia_com_gpu",unit="integer"} 1\n`,
    },
    {
      name: 'limits: hugepages in bytes',
      family: podContainerResourceLimitsFamily([p]),
      want:
        HL +
        `kube_pod_container_resource_limits{${k},resource="cpu",unit="core"} 2\n` +
        `kube_pod_container_resource_limits{${k},resource="hugepages_2Mi",unit="byte"} 4.194304e+06\n` +
        `kube_pod_container_resource_limits{${k},resource="memory",unit="byte"} 1.073741824e+09\n`,
    },
  ]);
});

describe('kube_deployment_status_replicas_available', () => {
  const H = '# HELP kube_deployment_status_replicas_available [STABLE] The number of available replicas per deployment.\n# TYPE kube_deployment_status_replicas_available gauge\n';
  const d = (status?: object): KubeObject => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { namespace: 'ns1', name: 'depl1' }, status });
  check([
    { name: 'available replicas', family: deploymentReplicasAvailableFamily([d({ availableReplicas: 3 })]), want: `${H}kube_deployment_status_replicas_available{namespace="ns1",deployment="depl1"} 3\n` },
    { name: 'no status yet: 0', family: deploymentReplicasAvailableFamily([d()]), want: `${H}kube_deployment_status_replicas_available{namespace="ns1",deployment="depl1"} 0\n` },
  ]);
});

describe('kube_node_status_condition', () => {
  const H = '# HELP kube_node_status_condition [STABLE] The condition of a cluster node.\n# TYPE kube_node_status_condition gauge\n';
  const n: KubeObject = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: '127.0.0.1' },
    status: { conditions: [{ type: 'Ready', status: 'True' }, { type: 'MemoryPressure', status: 'Unknown' }] },
  };
  check([
    {
      name: 'one series per status, 1 for the node’s',
      family: nodeStatusConditionFamily([n]),
      want:
        H +
        'kube_node_status_condition{node="127.0.0.1",condition="Ready",status="true"} 1\n' +
        'kube_node_status_condition{node="127.0.0.1",condition="Ready",status="false"} 0\n' +
        'kube_node_status_condition{node="127.0.0.1",condition="Ready",status="unknown"} 0\n' +
        'kube_node_status_condition{node="127.0.0.1",condition="MemoryPressure",status="true"} 0\n' +
        'kube_node_status_condition{node="127.0.0.1",condition="MemoryPressure",status="false"} 0\n' +
        'kube_node_status_condition{node="127.0.0.1",condition="MemoryPressure",status="unknown"} 1\n',
    },
  ]);
});

describe('values and families', () => {
  it('formats values as Go’s FormatFloat(v, g, -1)', () => {
    const cases: [number, string][] = [[0, '0'], [1, '1'], [0.25, '0.25'], [100000, '100000'], [1e6, '1e+06'], [1.5e-5, '1.5e-05'], [0.0001, '0.0001'], [-3, '-3'], [NaN, 'NaN']];
    for (const [v, want] of cases) assert.equal(formatValue(v), want, String(v));
  });

  it('bounds the series: a fixed number per object, label names only from the allowlist', () => {
    const many = Array.from({ length: 50 }, (_, i) => ({ ...pod({ labels: Object.fromEntries(Array.from({ length: 40 }, (_, j) => [`k${j}`, `v${i}`])) }), metadata: { namespace: 'ns1', name: `p${i}`, uid: `u${i}`, labels: Object.fromEntries(Array.from({ length: 40 }, (_, j) => [`k${j}`, `v${i}`])) } }));
    const text = renderFamilies(kubeStateFamilies({ pods: many, deployments: [], nodes: [] }, { podLabelsAllowlist: ['k1'] }));
    const names = new Set([...text.matchAll(/[{,](label_[a-zA-Z0-9_]+)=/g)].map((m) => m[1]));
    assert.deepEqual([...names], ['label_k1']);
    assert.equal(text.split('\n').filter((l) => l.startsWith('kube_pod_labels{')).length, 50);
  });
});

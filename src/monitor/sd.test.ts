/**
 * Prometheus service discovery from the monitor: the target groups for tables of objects, then a
 * devcluster with simulated kubelets, the monitor, and a real Prometheus that discovers the
 * kubelets through `/sd/kubelets`, scrapes their `/metrics/cadvisor` and the monitor's
 * `/metrics/kube-state`, and answers queries over both.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { startDevCluster, type DevCluster } from '../devcluster/index.ts';
import { eventually } from '../devcluster/testing.ts';
import { KubeClient, type KubeObject } from '../kube/index.ts';
import { parseMonitorConfig } from './config.ts';
import { startMonitor, type Monitor } from './monitor.ts';
import { endpointsTargetGroups, nodeTargetGroups, podTargetGroups, sanitizeLabelName, type TargetGroup } from './sd.ts';
import { freePort } from '../../test/support/free-port.ts';

const M = '__meta_kubernetes_';

describe('target groups', () => {
  it('sanitizes label names as Prometheus does', () => {
    const cases: [string, string][] = [['app', 'app'], ['app.kubernetes.io/name', 'app_kubernetes_io_name'], ['version-name', 'version_name'], ['a_B9', 'a_B9'], ['ü', '_']];
    for (const [given, want] of cases) assert.equal(sanitizeLabelName(given), want, given);
  });

  it('role node: InternalIP and the kubelet port, the address kubernetes_sd picks otherwise, no address no target', () => {
    const node = (name: string, addresses: { type: string; address: string }[], labels?: Record<string, string>): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, labels, annotations: { 'node.alpha/ttl': '0' } },
      spec: { providerID: 'kre://n' },
      status: { addresses, daemonEndpoints: { kubeletEndpoint: { Port: 10250 } } },
    });
    const groups = nodeTargetGroups([
      node('n1', [{ type: 'Hostname', address: 'n1' }, { type: 'InternalIP', address: '10.0.0.1' }, { type: 'InternalIP', address: '10.0.0.9' }], { 'kubernetes.io/os': 'linux' }),
      node('n2', [{ type: 'Hostname', address: 'n2' }]),
      node('n3', [{ type: 'InternalIP', address: 'fd00::1' }]),
      node('n4', []),
    ]);
    assert.deepEqual(groups[0], {
      targets: ['10.0.0.1:10250'],
      labels: {
        [`${M}node_name`]: 'n1',
        [`${M}node_provider_id`]: 'kre://n',
        [`${M}node_label_kubernetes_io_os`]: 'linux',
        [`${M}node_labelpresent_kubernetes_io_os`]: 'true',
        [`${M}node_annotation_node_alpha_ttl`]: '0',
        [`${M}node_annotationpresent_node_alpha_ttl`]: 'true',
        [`${M}node_address_Hostname`]: 'n1',
        [`${M}node_address_InternalIP`]: '10.0.0.1',
        instance: 'n1',
      },
    });
    assert.deepEqual(groups.map((g) => g.targets[0]), ['10.0.0.1:10250', 'n2:10250', '[fd00::1]:10250']);
  });

  it('role pod: one target per container port, one per container without ports, none without an IP', () => {
    const pod = (name: string, podIP?: string): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        namespace: 'ns',
        name,
        uid: `uid-${name}`,
        labels: { 'version-name': 'v1' },
        annotations: { 'prometheus.io/scrape': 'true' },
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'u', controller: true }],
      },
      spec: {
        nodeName: 'kre-node-1',
        containers: [{ name: 'main', image: 'img:1', ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }, { containerPort: 9090, protocol: 'UDP' }] }, { name: 'side', image: 'img:2' }],
        initContainers: [{ name: 'init', image: 'img:3' }],
      },
      status: { podIP, hostIP: '127.0.1.1', phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
    });
    const groups = podTargetGroups([pod('a', '10.244.1.5'), pod('b')]);
    const common = {
      [`${M}pod_name`]: 'a',
      [`${M}pod_ip`]: '10.244.1.5',
      [`${M}pod_ready`]: 'true',
      [`${M}pod_phase`]: 'Running',
      [`${M}pod_node_name`]: 'kre-node-1',
      [`${M}pod_host_ip`]: '127.0.1.1',
      [`${M}pod_uid`]: 'uid-a',
      [`${M}pod_label_version_name`]: 'v1',
      [`${M}pod_labelpresent_version_name`]: 'true',
      [`${M}pod_annotation_prometheus_io_scrape`]: 'true',
      [`${M}pod_annotationpresent_prometheus_io_scrape`]: 'true',
      [`${M}pod_controller_kind`]: 'ReplicaSet',
      [`${M}pod_controller_name`]: 'rs',
      [`${M}namespace`]: 'ns',
    };
    const want: TargetGroup[] = [
      {
        targets: ['10.244.1.5:8080'],
        labels: { ...common, [`${M}pod_container_name`]: 'main', [`${M}pod_container_image`]: 'img:1', [`${M}pod_container_init`]: 'false', [`${M}pod_container_port_name`]: 'http', [`${M}pod_container_port_number`]: '8080', [`${M}pod_container_port_protocol`]: 'TCP' },
      },
      {
        targets: ['10.244.1.5:9090'],
        labels: { ...common, [`${M}pod_container_name`]: 'main', [`${M}pod_container_image`]: 'img:1', [`${M}pod_container_init`]: 'false', [`${M}pod_container_port_name`]: '', [`${M}pod_container_port_number`]: '9090', [`${M}pod_container_port_protocol`]: 'UDP' },
      },
      { targets: ['10.244.1.5'], labels: { ...common, [`${M}pod_container_name`]: 'side', [`${M}pod_container_image`]: 'img:2', [`${M}pod_container_init`]: 'false' } },
      { targets: ['10.244.1.5'], labels: { ...common, [`${M}pod_container_name`]: 'init', [`${M}pod_container_image`]: 'img:3', [`${M}pod_container_init`]: 'true' } },
    ];
    assert.deepEqual(groups, want);
  });
  it('role endpoints: per address and port, with the Service, the pod and its container port, then the pod’s other ports', () => {
    const pod: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { namespace: 'ns', name: 'p1', uid: 'u1', labels: { app: 'a' } },
      spec: { nodeName: 'n1', containers: [{ name: 'main', image: 'img', ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }, { name: 'metrics', containerPort: 9090, protocol: 'TCP' }] }] },
      status: { podIP: '10.0.0.5', hostIP: '127.0.1.1', phase: 'Running', conditions: [{ type: 'Ready', status: 'False' }] },
    };
    const svc: KubeObject = { apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'ns', name: 'web', labels: { tier: 'front' }, annotations: { 'prometheus.io/port': '8080' } } };
    const ep = {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { namespace: 'ns', name: 'web', labels: { tier: 'front' } },
      subsets: [
        {
          addresses: [{ ip: '10.0.0.9', hostname: 'h' }],
          notReadyAddresses: [{ ip: '10.0.0.5', nodeName: 'n1', targetRef: { kind: 'Pod', name: 'p1', namespace: 'ns' } }],
          ports: [{ name: 'web', port: 8080, protocol: 'TCP' }],
        },
      ],
    } as KubeObject;
    const groups = endpointsTargetGroups([ep], [svc], [pod]);
    const group = {
      [`${M}namespace`]: 'ns',
      [`${M}endpoints_name`]: 'web',
      [`${M}endpoints_label_tier`]: 'front',
      [`${M}endpoints_labelpresent_tier`]: 'true',
      [`${M}service_name`]: 'web',
      [`${M}service_label_tier`]: 'front',
      [`${M}service_labelpresent_tier`]: 'true',
      [`${M}service_annotation_prometheus_io_port`]: '8080',
      [`${M}service_annotationpresent_prometheus_io_port`]: 'true',
    };
    const podLabels = {
      [`${M}pod_name`]: 'p1',
      [`${M}pod_ip`]: '10.0.0.5',
      [`${M}pod_ready`]: 'false',
      [`${M}pod_phase`]: 'Running',
      [`${M}pod_node_name`]: 'n1',
      [`${M}pod_host_ip`]: '127.0.1.1',
      [`${M}pod_uid`]: 'u1',
      [`${M}pod_label_app`]: 'a',
      [`${M}pod_labelpresent_app`]: 'true',
    };
    const container = (name: string, port: number) => ({
      [`${M}pod_container_name`]: 'main',
      [`${M}pod_container_image`]: 'img',
      [`${M}pod_container_port_name`]: name,
      [`${M}pod_container_port_number`]: String(port),
      [`${M}pod_container_port_protocol`]: 'TCP',
    });
    const port = { [`${M}endpoint_port_name`]: 'web', [`${M}endpoint_port_protocol`]: 'TCP' };
    assert.deepEqual(groups, [
      { targets: ['10.0.0.9:8080'], labels: { ...group, ...port, [`${M}endpoint_ready`]: 'true', [`${M}endpoint_hostname`]: 'h' } },
      {
        targets: ['10.0.0.5:8080'],
        labels: {
          ...group,
          ...port,
          [`${M}endpoint_ready`]: 'false',
          [`${M}endpoint_node_name`]: 'n1',
          [`${M}endpoint_address_target_kind`]: 'Pod',
          [`${M}endpoint_address_target_name`]: 'p1',
          ...podLabels,
          ...container('http', 8080),
        },
      },
      { targets: ['10.0.0.5:9090'], labels: { ...group, ...podLabels, ...container('metrics', 9090) } },
    ]);
  });
});

const TOKEN = 'sd-test-token';
let cluster: DevCluster;
let monitor: Monitor;
let prometheus: ChildProcess | undefined;
let dir: string | undefined;

const sd = async (path: string, token: string | null = TOKEN) => fetch(monitor.url + path, { headers: token ? { Authorization: `Bearer ${token}` } : {} });

describe('discovery and scrape by a real Prometheus', { skip: !existsSync('/usr/bin/prometheus') && 'prometheus is not installed (apt-get install prometheus)' }, () => {
  before(async () => {
    cluster = await startDevCluster({ nodes: 2 });
    const client = new KubeClient(cluster.kubeConfig());
    await client.create({ group: 'apps', version: 'v1', plural: 'deployments', namespace: 'default' }, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'model' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'model' } },
        template: {
          metadata: { labels: { app: 'model', 'version-name': 'greeter-v1' }, annotations: { 'prometheus.io/scrape': 'true' } },
          spec: { containers: [{ name: 'main', image: 'model:1', ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }], resources: { requests: { cpu: '100m', memory: '64Mi' } } }] },
        },
      },
    });
    await client.create({ group: '', version: 'v1', plural: 'services', namespace: 'default' }, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'model', labels: { app: 'model' } },
      spec: { selector: { app: 'model' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
    });
    client.close();
    monitor = await startMonitor({
      config: parseMonitorConfig({ listen: '127.0.0.1:0', verifyIntervalSeconds: 2, canaryIntervalSeconds: 0, resources: ['v1/endpoints'], kubeStateMetrics: { podLabelsAllowlist: ['version-name'] } }),
      token: TOKEN,
      kubeConfig: cluster.kubeConfig(),
    });
  });

  after(async () => {
    if (prometheus && prometheus.exitCode === null) {
      const exited = new Promise((r) => prometheus!.once('exit', r));
      prometheus.kill('SIGTERM');
      await exited;
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
    await monitor?.stop();
    await cluster?.stop();
  });

  it('lists the simulated kubelets with their targets and meta labels, behind the token', async () => {
    assert.equal((await sd('/sd/kubelets', null)).status, 401);
    assert.equal((await sd('/sd/kubelets', 'wrong')).status, 401);
    const client = new KubeClient(cluster.kubeConfig());
    const nodes = (await client.list({ group: '', version: 'v1', plural: 'nodes' })).items;
    client.close();
    const groups = await eventually(async () => {
      const g = (await (await sd('/sd/kubelets')).json()) as TargetGroup[];
      return g.length === 2 && g.every((x) => x.labels[`${M}node_address_InternalIP`]) && g;
    }, 30_000, 'two kubelets in /sd/kubelets');
    for (const node of nodes) {
      const status = node.status as { addresses: { type: string; address: string }[]; daemonEndpoints: { kubeletEndpoint: { Port: number } } };
      const ip = status.addresses.find((a) => a.type === 'InternalIP')!.address;
      const g = groups.find((x) => x.labels[`${M}node_name`] === node.metadata.name);
      assert.ok(g, `a group for ${node.metadata.name}`);
      assert.deepEqual(g.targets, [`${ip}:${status.daemonEndpoints.kubeletEndpoint.Port}`]);
      assert.equal(g.labels[`${M}node_address_InternalIP`], ip);
      assert.equal(g.labels.instance, node.metadata.name);
      for (const [k, v] of Object.entries(node.metadata.labels ?? {})) {
        assert.equal(g.labels[`${M}node_label_${sanitizeLabelName(k)}`], v);
        assert.equal(g.labels[`${M}node_labelpresent_${sanitizeLabelName(k)}`], 'true');
      }
    }
    const pods = await eventually(async () => {
      const g = (await (await sd('/sd/pods')).json()) as TargetGroup[];
      const model = g.filter((x) => x.labels[`${M}pod_label_app`] === 'model');
      return model.length === 2 && model;
    }, 30_000, 'the two model pods in /sd/pods');
    for (const g of pods) {
      assert.equal(g.targets[0], `${g.labels[`${M}pod_ip`]}:8080`);
      assert.equal(g.labels[`${M}pod_container_port_name`], 'http');
      assert.equal(g.labels[`${M}pod_controller_kind`], 'ReplicaSet');
      assert.equal(g.labels[`${M}pod_annotation_prometheus_io_scrape`], 'true');
      assert.equal(g.labels[`${M}namespace`], 'default');
    }
  });

  it('lists the Service endpoints with the Service and pod meta labels', async () => {
    const groups = await eventually(async () => {
      const g = (await (await sd('/sd/endpoints')).json()) as TargetGroup[];
      const model = g.filter((x) => x.labels[`${M}service_name`] === 'model' && x.labels[`${M}endpoint_ready`] === 'true');
      return model.length === 2 && model;
    }, 30_000, 'the two model pods behind the Service in /sd/endpoints');
    for (const g of groups) {
      assert.equal(g.targets[0], `${g.labels[`${M}pod_ip`]}:8080`);
      assert.equal(g.labels[`${M}endpoint_address_target_kind`], 'Pod');
      assert.equal(g.labels[`${M}endpoint_address_target_name`], g.labels[`${M}pod_name`]);
      assert.equal(g.labels[`${M}pod_container_port_name`], 'http');
      assert.equal(g.labels[`${M}pod_label_version_name`], 'greeter-v1');
    }
  });

  it('is what Prometheus discovers and scrapes: cadvisor from the kubelets, kube_pod_labels from the monitor', async () => {
    dir = mkdtempSync(join(tmpdir(), 'kre-sd-prometheus-'));
    writeFileSync(join(dir, 'monitor-token'), TOKEN, { mode: 0o600 });
    writeFileSync(join(dir, 'cluster-token'), cluster.token, { mode: 0o600 });
    const monitorAddress = new URL(monitor.url).host;
    writeFileSync(
      join(dir, 'prometheus.yml'),
      stringify({
        global: { scrape_interval: '1s', evaluation_interval: '1s' },
        scrape_configs: [
          {
            job_name: 'kubelet-cadvisor',
            scheme: 'https',
            metrics_path: '/metrics/cadvisor',
            tls_config: { insecure_skip_verify: true },
            authorization: { credentials_file: join(dir, 'cluster-token') },
            // `type` spelled out: Prometheus 2.42's http_sd leaves it empty and sends the bare token.
            http_sd_configs: [{ url: `${monitor.url}/sd/kubelets`, refresh_interval: '1s', authorization: { type: 'Bearer', credentials_file: join(dir, 'monitor-token') } }],
            // A relabel rule as written for kubernetes_sd.
            relabel_configs: [{ source_labels: ['__meta_kubernetes_node_name'], target_label: 'node' }],
          },
          {
            job_name: 'kube-state',
            honor_labels: true,
            metrics_path: '/metrics/kube-state',
            authorization: { credentials_file: join(dir, 'monitor-token') },
            static_configs: [{ targets: [monitorAddress] }],
          },
        ],
      }),
    );
    const port = await freePort();
    let stderr = '';
    prometheus = spawn('/usr/bin/prometheus', [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=1h',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    prometheus.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
    const query = async (q: string) => {
      if (prometheus!.exitCode !== null) throw new Error(`prometheus exited: ${stderr}`);
      try {
        const r = (await (await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(q)}`)).json()) as { data?: { result: { metric: Record<string, string> }[] } };
        return r.data?.result ?? [];
      } catch {
        return [];
      }
    };
    const up = await eventually(async () => {
      const r = await query('up{job="kubelet-cadvisor"} == 1');
      return r.length === 2 && r;
    }, 90_000, 'both kubelets discovered and up').catch(async (err: Error) => {
      const targets = await fetch(`http://127.0.0.1:${port}/api/v1/targets`).then((r) => r.text(), (e: Error) => e.message);
      throw new Error(`${err.message}\ntargets: ${targets.slice(0, 3000)}\nprometheus: ${stderr}`);
    });
    assert.deepEqual(up.map((s) => s.metric.node).sort(), ['kre-node-1', 'kre-node-2']);
    const cpu = await eventually(async () => {
      const r = await query('container_cpu_usage_seconds_total{job="kubelet-cadvisor",namespace="default",container="main"}');
      return r.length >= 2 && r;
    }, 90_000, 'container_cpu_usage_seconds_total of the model pods');
    assert.ok(cpu.every((s) => /^model-/.test(s.metric.pod) && s.metric.node?.startsWith('kre-node-')), JSON.stringify(cpu.map((s) => s.metric)));
    const labels = await eventually(async () => {
      const r = await query('kube_pod_labels{label_version_name="greeter-v1"}');
      return r.length === 2 && r;
    }, 90_000, 'kube_pod_labels of the model pods');
    assert.ok(labels.every((s) => s.metric.namespace === 'default' && /^model-/.test(s.metric.pod) && s.metric.label_app === undefined), 'only allowlisted labels');
    const joined = await query('sum by (pod) (container_cpu_usage_seconds_total{container="main"}) * on (pod) group_left(label_version_name) max by (pod, label_version_name) (kube_pod_labels{label_version_name="greeter-v1"})');
    assert.equal(joined.length, 2, 'the seed-style join of cadvisor and kube_pod_labels');
  });
});

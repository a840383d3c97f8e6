/**
 * The agent against a simulated node started in the test: the kubelet's real HTTPS `/pods`, the
 * node's cgroup v2 tree (systemd driver, the devcluster's default), `/metrics` over HTTP.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../kube/logger.ts';
import { Agent } from './agent.ts';
import { detectLayout, podCgroupPath, type CgroupLayout, type Controller, type QosClass } from './cgroups/index.ts';
import { parseAgentConfig, type AgentConfig } from './config.ts';
import { podSourceFor, startAgent } from './index.ts';
import { ApiServerPodSource, KubeletPodSource } from './pod-source.ts';
import { createPod, ensureNamespace, sample, startSimulatedNode, waitRunning, writePass, type SimulatedNode } from './testing.ts';

let node: SimulatedNode;
const uids: Record<string, string> = {};
const log = createLogger('agent', 'silent');

function configFor(extra: Record<string, unknown> = {}): AgentConfig {
  return parseAgentConfig({
    node: node.name,
    listen: '127.0.0.1:0',
    intervalSeconds: 3600,
    kubelet: { url: node.kubeletUrl, caFile: node.caFile, tokenFile: node.tokenFile, timeoutSeconds: 5 },
    cgroup: { root: node.cgroupRoot },
    ...extra,
  });
}

function agentWith(config: AgentConfig): Agent {
  const k = config.kubelet;
  const source = new KubeletPodSource({ url: k.url, caFile: k.caFile, tokenFile: k.tokenFile, insecure: k.insecure, timeoutMs: k.timeoutSeconds * 1000, maxResponseBytes: k.maxResponseBytes, staleAfterMs: k.staleAfterSeconds * 1000 });
  return new Agent({ config, source, cgroup: { root: config.cgroup.root }, logger: log });
}

/** A pod's cgroup directory in one controller's hierarchy. */
function podDir(layout: CgroupLayout, controller: Controller, uid: string, qos: QosClass): string {
  return join(layout.dirs[controller], podCgroupPath(layout, { uid, qos, containerIds: [] }));
}

before(async () => {
  node = await startSimulatedNode();
  await ensureNamespace(node.client, 'team-a');
  const made = [
    await createPod(node.client, {
      namespace: 'team-a',
      name: 'web',
      labels: { 'app.kubernetes.io/name': 'web', tier: 'front' },
      annotations: { 'kre.konstellation.io/cpu-millicores': '300', 'kre.konstellation.io/memory-bytes': '48Mi' },
      resources: { requests: { cpu: '250m', memory: '64Mi' }, limits: { cpu: '1', memory: '256Mi' } },
    }),
    await createPod(node.client, { namespace: 'team-a', name: 'db', labels: { tier: 'back' }, resources: { requests: { cpu: '500m', memory: '128Mi' }, limits: { cpu: '500m', memory: '128Mi' } } }),
    await createPod(node.client, { namespace: 'default', name: 'idle' }),
    await createPod(node.client, { namespace: 'team-a', name: 'warming', annotations: { 'kre.konstellation.io/never-ready': 'true' } }),
    await createPod(node.client, { namespace: 'kube-system', name: 'dns' }),
  ];
  for (const p of made) uids[p.metadata.name!] = p.metadata.uid!;
  await waitRunning(node, [
    { namespace: 'team-a', name: 'web' },
    { namespace: 'team-a', name: 'db' },
    { namespace: 'default', name: 'idle' },
    { namespace: 'team-a', name: 'warming', ready: false },
    { namespace: 'kube-system', name: 'dns' },
  ]);
  await writePass(node);
});

after(async () => {
  await node?.stop();
});

describe('agent on a simulated node (cgroup v2, systemd)', () => {
  test('/metrics: the ready pods of monitored namespaces, seed names and labels, values as the usage model wrote them', async () => {
    const textfile = join(node.dir, 'kre-agent.prom');
    const running = await startAgent({ config: configFor({ textfile }), token: 'metrics-token', logger: log });
    try {
      // One iteration right after a kernel pass, so the files hold what the model last computed.
      const usage = await writePass(node);
      await running.agent.iterate();
      assert.equal((await fetch(`${running.url}/metrics`)).status, 401);
      assert.equal((await fetch(`${running.url}/readyz`)).status, 200);
      const res = await fetch(`${running.url}/metrics`, { headers: { Authorization: 'Bearer metrics-token' } });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      const text = await res.text();
      assert.equal(readFileSync(textfile, 'utf8'), text, 'the textfile holds the same text');

      const up = [...text.matchAll(/^task_up\{task_id="([^"]+)",task_name="([^"]+)",qos_class="([^"]+)"(.*)\} 1$/gm)].map((m) => `${m[2]} ${m[3]}${m[4]}`);
      assert.deepEqual(up.sort(), ['default/idle BestEffort', 'team-a/db Guaranteed,tier="back"', 'team-a/web Burstable,app_kubernetes_io__name="web",tier="front"']);
      assert.equal(sample(text, 'wca_tasks'), 3);
      assert.equal(sample(text, 'wca_pods_skipped', { reason: 'namespace' }), 1);
      assert.equal(sample(text, 'wca_pods_skipped', { reason: 'not_ready' }), 1);
      assert.ok(sample(text, 'wca_up')! > Date.now() / 1000 - 60);

      for (const name of ['web', 'db', 'idle']) {
        const pod = usage.pods.find((p) => p.uid === uids[name])!;
        const id = { task_id: uids[name] };
        assert.equal(sample(text, 'task_cpu_usage_seconds', id), Math.floor(pod.cpuSeconds * 1e6) / 1e6, `${name} cpu`);
        assert.equal(sample(text, 'task_mem_usage_bytes', id), pod.memoryBytes, `${name} memory`);
        assert.equal(sample(text, 'task_mem_max_usage_bytes', id), Math.max(pod.peakBytes, pod.memoryBytes), `${name} peak`);
        assert.equal(sample(text, 'task_mem_page_faults', id), Math.floor(pod.pgfault), `${name} faults`);
        assert.ok(sample(text, 'task_mem_numa_pages', { ...id, numa_node: '0' })! > 0, `${name} NUMA pages`);
      }
      const web = { task_id: uids.web, task_name: 'team-a/web' };
      assert.equal(sample(text, 'task_requested_cpus', web), 0.25);
      assert.equal(sample(text, 'task_requested_mem_bytes', web), 64 * 2 ** 20);
      assert.equal(sample(text, 'task_resources_limits_cpus', web), 1);
      assert.equal(sample(text, 'task_mem_limit_bytes', web), 256 * 2 ** 20);
      assert.equal(sample(text, 'task_mem_limit_bytes', { task_id: uids.idle }), Infinity);
      assert.equal(sample(text, 'wca_read_errors_total'), undefined, 'nothing failed');
    } finally {
      await running.stop();
    }
  });

  test('a malformed or missing cgroup file costs that task that metric only: counted, the others measured', async () => {
    const agent = agentWith(configFor());
    const layout = await detectLayout({ root: node.cgroupRoot });
    const webDir = podDir(layout, 'memory', uids.web, 'Burstable');
    const dbDir = podDir(layout, 'cpu', uids.db, 'Guaranteed');
    const idleDir = podDir(layout, 'memory', uids.idle, 'BestEffort');
    const memory = readFileSync(join(webDir, 'memory.current'), 'utf8');
    const cpu = readFileSync(join(dbDir, 'cpu.stat'), 'utf8');
    const peak = readFileSync(join(idleDir, 'memory.peak'), 'utf8');
    try {
      rmSync(join(idleDir, 'memory.peak'));
      writeFileSync(join(webDir, 'memory.current'), 'lots\n');
      writeFileSync(join(dbDir, 'cpu.stat'), 'usage_usec lots\nuser_usec 1\n');
      await agent.iterate();
      const text = agent.metricsText();
      assert.equal(sample(text, 'task_mem_usage_bytes', { task_id: uids.web }), undefined);
      assert.ok(sample(text, 'task_cpu_usage_seconds', { task_id: uids.web })! > 0, "web's other metrics are measured");
      assert.equal(sample(text, 'task_cpu_usage_seconds', { task_id: uids.db }), undefined);
      assert.ok(sample(text, 'task_mem_usage_bytes', { task_id: uids.db })! > 0, "db's memory is measured");
      assert.ok(sample(text, 'task_mem_usage_bytes', { task_id: uids.idle })! > 0, "idle's memory is measured");
      assert.equal(sample(text, 'task_mem_max_usage_bytes', { task_id: uids.idle }), undefined);
      assert.equal(sample(text, 'wca_read_errors_total', { metric: 'task_mem_max_usage_bytes', reason: 'missing' }), 1);
      assert.equal(sample(text, 'wca_read_errors_total', { metric: 'task_mem_usage_bytes', reason: 'malformed' }), 1);
      assert.equal(sample(text, 'wca_read_errors_total', { metric: 'task_cpu_usage_seconds', reason: 'malformed' }), 1);
      assert.equal(sample(text, 'wca_tasks'), 3);
    } finally {
      writeFileSync(join(webDir, 'memory.current'), memory);
      writeFileSync(join(dbDir, 'cpu.stat'), cpu);
      writeFileSync(join(idleDir, 'memory.peak'), peak);
    }
  });

  test('allocation: rules applied by difference, an invalid one fails alone, the kubelet sync set back and restored, read back after a restart', async () => {
    const rules = [
      { name: 'front-capped', match: { labels: { tier: 'front' } }, allocations: { cpu_quota: 0.01, cpu_shares: 0.5 } },
      { name: 'db-pinned-too-wide', match: { namespace: 'team-a', name: 'd*' }, allocations: { cpuset_cpus: '0-63', cpu_shares: 2 } },
    ];
    const config = configFor({ mode: 'allocation', allocation: { rules } });
    const agent = agentWith(config);
    const layout = await detectLayout({ root: node.cgroupRoot });
    const webCpu = podDir(layout, 'cpu', uids.web, 'Burstable');
    const dbCpu = podDir(layout, 'cpu', uids.db, 'Guaranteed');
    const read = (dir: string, f: string) => readFileSync(join(dir, f), 'utf8').trim();
    assert.equal(read(webCpu, 'cpu.max'), '100000 100000', 'the kubelet set the limit of 1 CPU');

    await agent.iterate();
    let text = agent.metricsText();
    // 0.01 of the node's 8 CPUs: 80 ms every 100 ms. Shares 500 → weight 1 + (498 × 9999) / 262142.
    assert.equal(read(webCpu, 'cpu.max'), '8000 100000');
    assert.equal(read(webCpu, 'cpu.weight'), '19');
    assert.equal(read(dbCpu, 'cpu.weight'), String(1 + Math.floor(((2000 - 2) * 9999) / 262142)), "db's valid type is applied");
    assert.equal(read(dbCpu, 'cpuset.cpus'), '', "db's cpuset beyond the node is not");
    assert.equal(sample(text, 'allocation', { allocation_type: 'cpu_quota', task_id: uids.web, task_name: 'team-a/web', tier: 'front' }), 0.01);
    // On v2 the shares are read back through cpu.weight, which keeps 1/10000 of the range: near 0.5.
    assert.ok(Math.abs(sample(text, 'allocation', { allocation_type: 'cpu_shares', task_id: uids.web })! - 0.5) < 0.03);
    assert.equal(sample(text, 'allocations_count'), 4);
    assert.equal(sample(text, 'allocations_ignored_count'), 1);
    assert.equal(sample(text, 'allocations_errors'), 1);
    const written = sample(text, 'allocations_written')!;
    assert.equal(written, 3);

    // The kernel follows the quota: web's demand (300m) is capped at 80m and throttled.
    await new Promise((r) => setTimeout(r, 1500));
    const usage = await writePass(node);
    const web = usage.pods.find((p) => p.uid === uids.web)!;
    assert.ok(web.cpuMilli <= 80 * 1.001, `web uses ${web.cpuMilli}m under an 80m quota`);
    await agent.iterate();
    text = agent.metricsText();
    assert.ok(sample(text, 'task_cpu_throttled_periods', { task_id: uids.web })! > 0, 'throttled periods counted');
    assert.equal(sample(text, 'allocations_written'), written, 'nothing differs, nothing written');

    // The kubelet's sync sets the pod-level values back from the spec; the next iteration restores them.
    const setBack = await node.kubelet.resources!.sync();
    assert.ok(setBack >= 3, `the kubelet set back ${setBack} files`);
    assert.equal(read(webCpu, 'cpu.max'), '100000 100000');
    await agent.iterate();
    assert.equal(read(webCpu, 'cpu.max'), '8000 100000');
    assert.equal(read(webCpu, 'cpu.weight'), '19');
    assert.equal(sample(agent.metricsText(), 'allocations_written'), written + 3);

    // A new agent (a restart) reads the applied values back and writes nothing.
    const restarted = agentWith(config);
    await restarted.iterate();
    text = restarted.metricsText();
    assert.equal(sample(text, 'allocations_written'), 0);
    assert.equal(sample(text, 'allocation', { allocation_type: 'cpu_quota', task_id: uids.web }), 0.01);
    // Leave the node as the kubelet wants it for the other tests.
    await node.kubelet.resources!.sync();
  });

  test('the kubelet stops answering: counted by reason, the last good list stands in, then no tasks', async () => {
    let clock = Date.now();
    const source = new KubeletPodSource({ url: node.kubeletUrl, caFile: node.caFile, tokenFile: node.tokenFile, timeoutMs: 300, maxResponseBytes: 1 << 24, staleAfterMs: 60_000, now: () => clock });
    const agent = new Agent({ config: configFor(), source, cgroup: { root: node.cgroupRoot }, logger: log, now: () => clock });
    await agent.iterate();
    assert.equal(sample(agent.metricsText(), 'wca_tasks'), 3);
    const lastGood = sample(agent.metricsText(), 'wca_task_source_last_success_timestamp_seconds');
    try {
      await node.kubelet.resources!.setKubeletFault('hang');
      clock += 10_000;
      await agent.iterate();
      let text = agent.metricsText();
      assert.equal(sample(text, 'wca_task_source_errors_total', { reason: 'timeout' }), 1);
      assert.equal(sample(text, 'wca_tasks'), 3, 'the last good list stands in');
      assert.equal(sample(text, 'wca_task_source_last_success_timestamp_seconds'), lastGood);
      await node.kubelet.resources!.setKubeletFault('refuse');
      clock += 60_000;
      await agent.iterate();
      text = agent.metricsText();
      assert.equal(sample(text, 'wca_task_source_errors_total', { reason: 'connection' }), 1);
      assert.equal(sample(text, 'wca_tasks'), 0, 'past staleAfter: no tasks rather than old ones');
    } finally {
      await node.kubelet.resources!.setKubeletFault(undefined);
      await source.stop();
    }
    await agent.iterate();
    assert.equal(sample(agent.metricsText(), 'wca_tasks'), 3, 'back');
  });

  test('the API server as the task source: the same tasks, from a watch', async () => {
    const config = configFor({ source: 'apiserver' });
    const { source, client } = podSourceFor(config, log, node.cluster.kubeConfig());
    const agent = new Agent({ config, source, cgroup: { root: node.cgroupRoot }, logger: log });
    try {
      await (source as ApiServerPodSource).waitForSync();
      await agent.iterate();
      const text = agent.metricsText();
      assert.equal(sample(text, 'wca_tasks'), 3);
      assert.ok(sample(text, 'task_cpu_usage_seconds', { task_name: 'team-a/web', tier: 'front' })! > 0);
      assert.equal(sample(text, 'wca_task_source_errors_total'), undefined);
    } finally {
      await source.stop();
      client?.close();
    }
  });
});

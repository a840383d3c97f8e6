/**
 * The agent on each cgroup layout the devcluster's nodes offer: v1 and v2, systemd and cgroupfs
 * drivers, detected from the tree. For each: the tasks' measurements are what the usage model
 * wrote, and an allocation applied to a Burstable and a Guaranteed pod (their cgroups sit in
 * different places) survives the kubelet's sync.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../kube/logger.ts';
import { Agent } from './agent.ts';
import { detectLayout, podCgroupPath, type QosClass } from './cgroups/index.ts';
import { parseAgentConfig } from './config.ts';
import { KubeletPodSource } from './pod-source.ts';
import { createPod, ensureNamespace, sample, startSimulatedNode, waitRunning, writePass, type SimulatedNode } from './testing.ts';

const log = createLogger('agent', 'silent');

for (const [version, driver] of [['v1', 'cgroupfs'], ['v1', 'systemd'], ['v2', 'cgroupfs']] as const) {
  describe(`agent on cgroup ${version} with the ${driver} driver`, () => {
    let node: SimulatedNode;
    const uids: Record<string, string> = {};
    before(async () => {
      node = await startSimulatedNode({ version, driver });
      await ensureNamespace(node.client, 'team-a');
      const web = await createPod(node.client, {
        namespace: 'team-a',
        name: 'web',
        labels: { app: 'web' },
        containers: 2,
        annotations: { 'kre.konstellation.io/cpu-millicores': '200' },
        resources: { requests: { cpu: '100m', memory: '32Mi' }, limits: { cpu: '2', memory: '128Mi' } },
      });
      const db = await createPod(node.client, { namespace: 'team-a', name: 'db', labels: { app: 'db' }, resources: { requests: { cpu: '1', memory: '64Mi' }, limits: { cpu: '1', memory: '64Mi' } } });
      uids.web = web.metadata.uid!;
      uids.db = db.metadata.uid!;
      await waitRunning(node, [{ namespace: 'team-a', name: 'web' }, { namespace: 'team-a', name: 'db' }]);
    });
    after(async () => {
      await node?.stop();
    });

    test('layout detected, measurements as written, allocation kept applied across the kubelet sync', async () => {
      const layout = await detectLayout({ root: node.cgroupRoot });
      assert.deepEqual([layout.version, layout.driver], [version, driver]);
      const config = parseAgentConfig({
        node: node.name,
        intervalSeconds: 3600,
        kubelet: { url: node.kubeletUrl, caFile: node.caFile, tokenFile: node.tokenFile },
        cgroup: { root: node.cgroupRoot },
        mode: 'allocation',
        allocation: { rules: [{ name: 'all-capped', allocations: { cpu_quota: 0.05 } }, { name: 'db-first-cpu', match: { labels: { app: 'db' } }, allocations: { cpuset_cpus: '0' } }] },
      });
      const k = config.kubelet;
      const source = new KubeletPodSource({ url: k.url, caFile: k.caFile, tokenFile: k.tokenFile, timeoutMs: 5000, maxResponseBytes: k.maxResponseBytes, staleAfterMs: 0 });
      const agent = new Agent({ config, source, cgroup: { root: node.cgroupRoot }, logger: log });
      try {
        const usage = await writePass(node);
        await agent.iterate();
        let text = agent.metricsText();
        assert.equal(sample(text, 'wca_tasks'), 2);
        for (const [name, qos] of [['web', 'Burstable'], ['db', 'Guaranteed']] as const) {
          const pod = usage.pods.find((p) => p.uid === uids[name])!;
          const id = { task_id: uids[name], task_name: `team-a/${name}`, qos_class: qos, app: name };
          const cpu = sample(text, 'task_cpu_usage_seconds', id)!;
          // v1 counts nanoseconds, v2 microseconds.
          assert.ok(Math.abs(cpu - pod.cpuSeconds) < 1e-6, `${name}: ${cpu} s, the model wrote ${pod.cpuSeconds} s`);
          assert.equal(sample(text, 'task_mem_usage_bytes', id), pod.memoryBytes);
        }
        assert.equal(sample(text, 'allocations_errors'), 0);

        // 0.05 of 8 CPUs, in the pod's quota file of this version.
        const quota = (uid: string, qos: QosClass) => {
          const dir = join(layout.dirs.cpu, podCgroupPath(layout, { uid, qos, containerIds: [] }));
          return version === 'v2' ? readFileSync(join(dir, 'cpu.max'), 'utf8').trim() : readFileSync(join(dir, 'cpu.cfs_quota_us'), 'utf8').trim();
        };
        const applied = version === 'v2' ? '40000 100000' : '40000';
        assert.equal(quota(uids.web, 'Burstable'), applied);
        assert.equal(quota(uids.db, 'Guaranteed'), applied);
        assert.equal(sample(text, 'allocation', { allocation_type: 'cpuset_cpus', task_id: uids.db }), 1);

        await node.kubelet.resources!.sync();
        assert.equal(quota(uids.web, 'Burstable'), version === 'v2' ? '400000 100000' : '400000', 'the kubelet set its limit back (2 containers × 2 CPUs)');
        assert.equal(quota(uids.db, 'Guaranteed'), version === 'v2' ? '100000 100000' : '100000');
        await agent.iterate();
        text = agent.metricsText();
        assert.equal(quota(uids.web, 'Burstable'), applied);
        assert.equal(quota(uids.db, 'Guaranteed'), applied);
        assert.equal(sample(text, 'allocations_errors'), 0);
      } finally {
        await source.stop();
      }
    });
  });
}

/**
 * `kre dev` as a process (bin/kre.js) with a temporary state dir and the real Prometheus: it
 * scrapes the kubelets, the agents and the monitor's kube-state series, the manager's metrics come
 * from it, and SIGTERM stops every child. (dev-kill.test.ts: killed with -9; dev-fallback.test.ts:
 * without prometheus.)
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { eventually } from '../devcluster/testing.ts';
import { PROMETHEUS_BIN } from '../manager/metrics/prometheus-testing.ts';
import { createVersionPod, pidRunning, prometheusTargets, promQuery, startKreDev, stopsCleanly, versionPoints } from '../../test/support/kre-dev.ts';

const NODES = 2;

describe('kre dev', { skip: existsSync(PROMETHEUS_BIN) ? false : `no ${PROMETHEUS_BIN} (apt-get install prometheus)` }, () => {
  it('runs Prometheus on the monitor’s discovery and the manager on it, and stops every child on SIGTERM', async () => {
    const dev = await startKreDev({ nodes: NODES, scrapeIntervalSeconds: 2 });
    try {
      const stderr = dev.stderr();
      for (const part of ['devcluster', 'operator', 'monitor', 'agents', 'prometheus', 'manager', 'dashboard']) assert.match(stderr, new RegExp(`^kre dev: ${part} +\\S`, 'm'), `a line for ${part}`);
      assert.match(stderr, /manager +grpcs:\/\/127\.0\.0\.1:\d+, version metrics from Prometheus \(rate window 20s\)/);
      assert.match(stderr, /KRE is running\. Next:/);

      const config = dev.clientConfig();
      assert.equal(statSync(dev.ready.clientConfig).mode & 0o777, 0o600);
      assert.equal(config.manager.address, dev.ready.manager);
      assert.equal(config.manager.token, readFileSync(join(dev.stateDir, 'manager-token'), 'utf8').trim());
      assert.equal(config.prometheus?.url, dev.ready.prometheus);
      const prometheus = dev.ready.prometheus!;

      await createVersionPod(dev.ready.kubeconfig);
      const targets = await eventually(
        async () => {
          const t = await prometheusTargets(prometheus);
          const up = (job: string) => t.filter((x) => x.job === job && x.health === 'up').length;
          return up('kubelet-cadvisor') === NODES && up('kre-agent') === NODES && up('kube-state-metrics') === 1 && up('kre-manager') === 1 ? t : undefined;
        },
        60_000,
        'the kubelets, the agents, the kube-state series and the manager up in Prometheus',
      );
      assert.ok(targets.filter((t) => t.job === 'kubelet-cadvisor').every((t) => t.scrapeUrl.startsWith('https://') && t.scrapeUrl.endsWith('/metrics/cadvisor')));

      const labels = await eventually(async () => (await promQuery(prometheus, 'kube_pod_labels{namespace="demo",label_version_name="v1"}'))[0], 30_000, 'kube_pod_labels of the pod');
      assert.equal(labels.metric.pod, 'v1-node');
      const task = await eventually(async () => (await promQuery(prometheus, 'task_up{task_name="demo/v1-node"}'))[0], 30_000, 'the pod as a task of an agent');
      assert.equal(task.metric.version_name, 'v1');

      // The usage model gives a container without requests 20 millicores, ±10 % per step; the
      // first points, while the rate window fills, read lower.
      const last = await eventually(async () => {
        const p = (await versionPoints(dev)).at(-1);
        return p && p.cpu > 14 && p.cpu < 26 ? p : undefined;
      }, 60_000, 'a CPU point near 20 millicores');
      assert.ok(last.mem > 0, 'memory from Prometheus');

      const prometheusPid = dev.prometheusPid()!;
      assert.ok(pidRunning(prometheusPid));
      await stopsCleanly(dev, [prometheusPid]);
      assert.ok(!existsSync(join(dev.stateDir, 'prometheus', 'owner')), 'the owner file goes with Prometheus');
      assert.deepEqual(readdirSync(join(dev.stateDir, 'prometheus')).filter((f) => f.endsWith('.tmp')), []);
    } finally {
      await dev.stop();
      dev.cleanup();
    }
  });
});

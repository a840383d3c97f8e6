/**
 * `kre dev` as a process (bin/kre.js) with a temporary state dir: with the real Prometheus it
 * scrapes the kubelets, the agents and the monitor's kube-state series, the manager's metrics come
 * from it, and SIGTERM stops every child; without prometheus on PATH it says how to install it and
 * the manager reads metrics.k8s.io.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Response as MetricsResponse, VersionRequest } from '../gen/resourcemetrics/resourcemetrics.ts';
import { eventually, kubectlFor } from '../devcluster/testing.ts';
import { call } from '../manager/testing.ts';
import { PROMETHEUS_BIN } from '../manager/metrics/prometheus-testing.ts';
import { managerClients, pidRunning, prometheusTargets, promQuery, shmDirsOf, startKreDev, type KreDevProcess } from '../../test/support/kre-dev.ts';

const NODES = 2;

/** A pod of version `v1` in namespace `demo`, using the usage model's default 20 millicores. */
async function createVersionPod(kubeconfig: string): Promise<void> {
  const kubectl = kubectlFor(() => kubeconfig);
  await kubectl.ok(['create', 'namespace', 'demo']);
  await kubectl.ok(['-n', 'demo', 'run', 'v1-node', '--image', 'model:1', '--labels', 'version-name=v1,type=node']);
}

/** GetVersion for the last two minutes, until it has a point. */
async function versionPoints(dev: KreDevProcess) {
  const clients = managerClients(dev.clientConfig());
  try {
    return await eventually(
      async () => {
        const now = Date.now();
        const res = await call<MetricsResponse>(
          clients.metrics,
          'getVersion',
          VersionRequest.fromPartial({ namespace: 'demo', versionName: 'v1', fromDate: new Date(now - 120_000).toISOString(), toDate: new Date(now).toISOString(), step: 5 }),
          { token: clients.token, deadlineMs: 15_000 },
        );
        return res.versionResourceMetrics.some((p) => p.cpu > 0) ? res.versionResourceMetrics : undefined;
      },
      90_000,
      'version metrics from the manager',
    );
  } finally {
    clients.close();
  }
}

/** SIGTERM: exit 0, no child left running, the devcluster's tmpfs directory gone. */
async function stopsCleanly(dev: KreDevProcess, children: number[]): Promise<void> {
  const pid = dev.child.pid!;
  assert.ok(shmDirsOf(pid).length > 0, 'the devcluster keeps its cgroup files in /dev/shm while running');
  assert.equal(await dev.stop(), 0);
  for (const c of children) await eventually(() => !pidRunning(c), 5_000, `process ${c} to end`);
  assert.deepEqual(shmDirsOf(pid), []);
}

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

describe('kre dev killed with -9', { skip: existsSync(PROMETHEUS_BIN) ? false : `no ${PROMETHEUS_BIN} (apt-get install prometheus)` }, () => {
  it('takes its Prometheus with it, and without setpriv the next start stops the one left', async () => {
    const first = await startKreDev({ nodes: 1 });
    const stateDir = first.stateDir;
    try {
      // setpriv (util-linux) is on PATH: the kernel sends Prometheus SIGTERM when kre dev dies.
      const pid = first.prometheusPid()!;
      await first.kill();
      await eventually(() => !pidRunning(pid), 10_000, 'Prometheus to end with kre dev');

      // Nothing on PATH, Prometheus named by KRE_PROMETHEUS_BIN: no setpriv, so it outlives a kill.
      const second = await startKreDev({ nodes: 1, stateDir, env: { PATH: '', KRE_PROMETHEUS_BIN: PROMETHEUS_BIN } });
      const left = second.prometheusPid()!;
      await second.kill();
      assert.ok(pidRunning(left), 'without setpriv Prometheus outlives a killed kre dev');
      try {
        const third = await startKreDev({ nodes: 1, stateDir });
        assert.ok(!pidRunning(left), 'the next kre dev on the state dir stopped the Prometheus left running');
        assert.notEqual(third.prometheusPid(), left);
        assert.equal(await third.stop(), 0);
      } finally {
        if (pidRunning(left)) process.kill(left, 'SIGKILL');
      }
    } finally {
      await first.stop();
      first.cleanup();
    }
  });
});

describe('kre dev without prometheus', () => {
  it('says how to install it and runs the manager on metrics.k8s.io', async () => {
    // Nothing on PATH (kre dev is started by node's own path): no prometheus to find.
    const dev = await startKreDev({ nodes: 1, env: { PATH: '', KRE_PROMETHEUS_BIN: '' } });
    try {
      const stderr = dev.stderr();
      assert.match(stderr, /prometheus +not installed/);
      assert.match(stderr, /apt-get install prometheus/);
      assert.match(stderr, /manager +grpcs:\/\/\S+, version metrics from metrics\.k8s\.io/);
      assert.equal(dev.ready.prometheus, undefined);
      assert.equal(dev.clientConfig().prometheus, undefined);
      assert.ok(!existsSync(join(dev.stateDir, 'prometheus')), 'no Prometheus directory');
      await createVersionPod(dev.ready.kubeconfig);
      const points = await versionPoints(dev);
      assert.ok(points.some((p) => p.cpu > 0 && p.mem > 0), 'points from metrics.k8s.io');
      await stopsCleanly(dev, []);
    } finally {
      await dev.stop();
      dev.cleanup();
    }
  });
});

/**
 * The README's walkthrough, as a user runs it: `kre dev` with the real Prometheus, then the `kre`
 * commands (which find the manager through kre dev's client.yaml) — create a runtime, pack
 * examples/greeter into a .krt and create the version from it, publish it, read its metrics — and a
 * clean stop.
 *
 * Asserted: the version Running; the runtime's `active-entrypoint` Service selecting its entrypoint
 * pods; CPU and memory points from Prometheus (through the manager) that match what the devcluster's
 * simulated nodes report for its pods on metrics.k8s.io; the agents' task metrics for its pods in
 * Prometheus with the seed's labels; every process kre dev started gone after SIGTERM, and nothing
 * of it left in /dev/shm.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually, kubectlFor } from '../../src/devcluster/testing.ts';
import { Response as MetricsResponse, VersionRequest as MetricsRequest } from '../../src/gen/resourcemetrics/resourcemetrics.ts';
import { call } from '../../src/manager/testing.ts';
import { PROMETHEUS_BIN } from '../../src/manager/metrics/prometheus-testing.ts';
import { managerClients, pidRunning, promQuery, shmDirsOf, startKreDev, type KreDevProcess } from '../support/kre-dev.ts';

const BIN = new URL('../../bin/kre.js', import.meta.url).pathname;
const EXAMPLE = new URL('../../examples/greeter', import.meta.url).pathname;
const RUNTIME = 'demo';
const NAMESPACE = 'kre-demo';
const VERSION = 'greeter-v1';

let dev: KreDevProcess;
let prometheusPid: number;

/** `kre ARGS` as a user types it, with nothing but kre dev's state dir to find the manager. */
function kre(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, KRE_DEV_STATE_DIR: dev.stateDir }, timeout: 600_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
      err ? reject(new Error(`kre ${args.join(' ')} failed: ${stderr}${stdout}`)) : resolve(stdout),
    );
  });
}

/** A command's `-o json` output: one document, or with --wait one per line, the last the final state. */
function lastJson(out: string) {
  try {
    return JSON.parse(out);
  } catch {
    return JSON.parse(out.trim().split('\n').at(-1)!);
  }
}

interface Pod {
  metadata: { name: string; uid: string; labels: Record<string, string> };
  status?: { containerStatuses?: { restartCount: number }[] };
}

const skip = existsSync(PROMETHEUS_BIN) ? false : `no ${PROMETHEUS_BIN} (apt-get install prometheus)`;

describe('the README walkthrough on kre dev with Prometheus', { skip }, () => {
  before(async () => {
    dev = await startKreDev({ nodes: 2, scrapeIntervalSeconds: 2 });
    prometheusPid = dev.prometheusPid()!;
  });
  after(async () => {
    await dev?.stop();
    dev?.cleanup();
  });

  const kubectl = kubectlFor(() => dev.ready.kubeconfig);
  const versionPods = async (): Promise<Pod[]> => JSON.parse(await kubectl.ok(['-n', NAMESPACE, 'get', 'pods', '-l', `version-name=${VERSION}`, '-o', 'json'])).items;

  it('creates a runtime, creates and publishes a version from the example, and shows its metrics', async () => {
    // Packing needs no manager: it runs while the runtime comes up.
    const krt = join(dev.stateDir, `${VERSION}.krt`);
    const [created0] = await Promise.all([kre(['runtime', 'create', RUNTIME, '--wait', '-o', 'json']), kre(['krt', 'pack', EXAMPLE, '--out', krt])]);
    const runtime = lastJson(created0);
    assert.equal(runtime.phase, 'Running');
    assert.equal(runtime.status, 'STARTED');

    const created = lastJson(await kre(['version', 'create', '--runtime', RUNTIME, '--krt', krt, '--config', 'GREETING_LANGUAGE=es', '--wait', '-o', 'json']));
    assert.equal(created.name, VERSION);
    assert.equal(created.phase, 'Running');
    assert.equal(created.published, false);

    const published = lastJson(await kre(['version', 'publish', VERSION, '--runtime', RUNTIME, '-o', 'json']));
    assert.equal(published.action, 'publish');
    const svc = JSON.parse(await kubectl.ok(['-n', NAMESPACE, 'get', 'service', 'active-entrypoint', '-o', 'json']));
    assert.deepEqual(svc.spec.selector, { type: 'entrypoint', 'version-name': VERSION });
    const selected: Pod[] = JSON.parse(await kubectl.ok(['-n', NAMESPACE, 'get', 'pods', '-l', 'type=entrypoint,version-name=' + VERSION, '-o', 'json'])).items;
    assert.ok(selected.length >= 1 && selected.every((p) => p.metadata.name.startsWith(`${VERSION}-`)), 'the Service selects the version’s entrypoint pods');

    // What the simulated nodes say the version's pods use, on metrics.k8s.io (metrics-server's API).
    const pods = await versionPods();
    const names = new Set(pods.map((p) => p.metadata.name));
    assert.ok(pods.length >= 4, `the version's pods: ${[...names]}`); // 3 workflow nodes and the entrypoint
    const reference = async () => {
      const list = JSON.parse(await kubectl.ok(['get', '--raw', `/apis/metrics.k8s.io/v1beta1/namespaces/${NAMESPACE}/pods`])).items as { metadata: { name: string }; containers: { usage: { cpu: string; memory: string } }[] }[];
      let cpu = 0;
      let mem = 0;
      for (const m of list.filter((x) => names.has(x.metadata.name))) {
        for (const c of m.containers) {
          cpu += c.usage.cpu.endsWith('n') ? Number(c.usage.cpu.slice(0, -1)) / 1e6 : c.usage.cpu.endsWith('m') ? Number(c.usage.cpu.slice(0, -1)) : Number(c.usage.cpu) * 1000;
          mem += Number(c.usage.memory.replace(/Ki$/, '')) * (c.usage.memory.endsWith('Ki') ? 1024 : 1);
        }
      }
      return { cpu, mem };
    };

    // The manager asks Prometheus the seed's two queries. The first points read low while the rate
    // window fills and memory ramps up: wait (over gRPC, as the kre commands call it) until a point
    // agrees with the nodes' own figures (CPU has ±10 % noise per step), then read them with
    // `kre version metrics`.
    const near = (a: number, b: number, tolerance: number) => Math.abs(a - b) <= tolerance * b;
    // The nodes report 0 CPU for a container's first step; a point agrees only once they measure some.
    const agrees = (p: { cpu: number; mem: number } | undefined, ref: { cpu: number; mem: number }) => p !== undefined && ref.cpu > 0 && near(p.cpu, ref.cpu, 0.25) && near(p.mem, ref.mem, 0.15);
    /** What Prometheus has: each target's health and scrape time, and the version's series. */
    const prometheusView = async () => {
      const url = dev.ready.prometheus!;
      const targets = await promQuery(url, 'up').catch((e: Error) => e.message);
      const durations = await promQuery(url, 'scrape_duration_seconds').catch((e: Error) => e.message);
      const counts = await Promise.all(
        [`kube_pod_labels{namespace="${NAMESPACE}"}`, `container_cpu_usage_seconds_total{namespace="${NAMESPACE}"}`, `container_memory_working_set_bytes{namespace="${NAMESPACE}"}`].map(
          async (q) => `${q}: ${await promQuery(url, `count(${q})`).then((r) => r[0]?.value[1] ?? '0', (e: Error) => e.message)}`,
        ),
      );
      const health = Array.isArray(targets) && Array.isArray(durations)
        ? targets.map((t) => `${t.metric.job}/${t.metric.instance} up=${t.value[1]} took=${durations.find((d) => d.metric.instance === t.metric.instance && d.metric.job === t.metric.job)?.value[1]}s`).join(', ')
        : String(targets);
      const restarts = (await versionPods()).map((p) => `${p.metadata.name} restarts=${p.status?.containerStatuses?.map((c) => c.restartCount).join('/')}`);
      return `${health}; ${counts.join(', ')}; ${restarts.join(', ')}`;
    };
    const clients = managerClients(dev.clientConfig());
    try {
      await eventually(
        async () => {
          const now = Date.now();
          const req = MetricsRequest.fromPartial({ namespace: NAMESPACE, versionName: VERSION, fromDate: new Date(now - 60_000).toISOString(), toDate: new Date(now).toISOString(), step: 2 });
          const res = await call<MetricsResponse>(clients.metrics, 'getVersion', req, { token: clients.token, deadlineMs: 15_000 });
          return agrees(res.versionResourceMetrics.at(-1), await reference());
        },
        180_000,
        'CPU and memory from Prometheus matching the simulated usage of the version’s pods',
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}; Prometheus: ${await prometheusView()}`, { cause: err });
    } finally {
      clients.close();
    }
    // The same through `kre version metrics`. On a loaded machine a scrape can miss its 2 s timeout,
    // and Prometheus then has a gap until the next ones land: the command is run again for a while,
    // and a failure says what Prometheus saw of its targets and the version's series.
    let seen = '';
    try {
      await eventually(
        async () => {
          const points = JSON.parse(await kre(['version', 'metrics', VERSION, '--runtime', RUNTIME, '--from', '1m', '--step', '2s', '-o', 'json'])) as { date: string; cpu: number; mem: number }[];
          const ref = await reference();
          seen = `last point ${JSON.stringify(points.at(-1))} of ${points.length}, the pods' ${JSON.stringify(ref)}`;
          return agrees(points.at(-1), ref);
        },
        120_000,
        '`kre version metrics` near the pods’ usage',
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}; ${seen}; Prometheus: ${await prometheusView()}`, { cause: err });
    }

    // The agents' task metrics, scraped by Prometheus: one task per pod of the version, with the
    // seed's labels (task_id the pod's uid, task_name namespace/name, the pod's labels sanitized).
    const tasks = await eventually(
      async () => {
        const r = await promQuery(dev.ready.prometheus!, `task_up{version_name="${VERSION}"}`);
        return r.length === pods.length ? r : undefined;
      },
      60_000,
      'a task per version pod in Prometheus',
    );
    for (const p of pods) {
      const t = tasks.find((x) => x.metric.task_id === p.metadata.uid);
      assert.ok(t, `a task for ${p.metadata.name}`);
      assert.equal(t.metric.task_name, `${NAMESPACE}/${p.metadata.name}`);
      assert.equal(t.metric.job, 'kre-agent');
      for (const [k, v] of Object.entries(p.metadata.labels)) assert.equal(t.metric[k.replace(/\//g, '__').replace(/[.-]/g, '_')], v, `label ${k} of ${p.metadata.name}`);
    }
    await eventually(
      async () => Number((await promQuery(dev.ready.prometheus!, `sum(rate(task_cpu_usage_seconds{version_name="${VERSION}"}[20s]))`))[0]?.value[1]) > 0,
      60_000,
      'the agents measuring the version’s CPU from its cgroups',
    );
  });

  it('stops every process kre dev started on SIGTERM, leaving nothing in /dev/shm', async () => {
    const pid = dev.child.pid!;
    assert.ok(pidRunning(prometheusPid));
    assert.ok(shmDirsOf(pid).length > 0);
    assert.equal(await dev.stop(), 0);
    await eventually(() => !pidRunning(prometheusPid), 5_000, 'Prometheus to end');
    assert.deepEqual(shmDirsOf(pid), []);
  });
});

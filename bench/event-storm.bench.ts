/**
 * The event storm: N pods that fit nowhere (one node of 10 pods) wait Pending, then all are deleted.
 * Each deletion is a cluster change the scheduler reacts to; what it costs is what the API server
 * writes (pod status, FailedScheduling Events) and the CPU this process spends from the first
 * deletion until no write has come for 2 s. Figures per pod, at several sizes: a cost per pod that
 * grows with N is quadratic work. `KRE_BENCH_SIZES=500,2000` picks the sizes (default 500,1000,2000).
 */
import { startDevCluster } from '../src/devcluster/index.ts';
import { PODS, KubeClient, type Pod } from '../src/kube/index.ts';
import { sleep } from '../src/kube/sleep.ts';

const SIZES = (process.env.KRE_BENCH_SIZES ?? '500,1000,2000').split(',').map(Number).filter((n) => n > 0);
const QUIET_MS = 2_000;
/** Gives up waiting for quiet after this long (the storm before the fix ran for minutes). */
const LIMIT_MS = Number(process.env.KRE_BENCH_LIMIT_MS ?? 300_000);

async function inBatches<T>(items: T[], concurrency: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

/** Write requests served so far (every verb that changes something), in total and to Events. */
async function writes(metrics: () => Promise<string>): Promise<{ all: number; events: number }> {
  let all = 0;
  let events = 0;
  for (const line of (await metrics()).split('\n')) {
    const m = /^devcluster_requests_total\{(.*)\} (\d+(?:\.\d+)?(?:e\+\d+)?)$/.exec(line);
    if (!m || !/verb="(create|update|patch|delete|deletecollection)"/.test(m[1])) continue;
    all += Number(m[2]);
    if (/resource="events"/.test(m[1])) events += Number(m[2]);
  }
  return { all, events };
}

async function storm(n: number): Promise<{ writes: number; events: number; cpu: number; seconds: number; quiet: boolean }> {
  const cluster = await startDevCluster({ nodes: 1, maxPods: 10 });
  const client = new KubeClient(cluster.kubeConfig());
  try {
    const ns = 'storm';
    await client.create({ group: '', version: 'v1', plural: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    const names = Array.from({ length: n }, (_, i) => `model-${i}`);
    await inBatches(names, 16, (name) =>
      client.create({ ...PODS, namespace: ns }, { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns }, spec: { containers: [{ name: 'main', image: 'registry.example/model:1' }] } }),
    );
    // Every pod has been tried once: bound, or marked Unschedulable.
    for (;;) {
      const pods = (await client.list<Pod>({ ...PODS, namespace: ns })).items;
      if (pods.every((p) => p.spec?.nodeName || (p.status?.conditions ?? []).some((c) => c.type === 'PodScheduled'))) break;
      await sleep(500);
    }
    await sleep(QUIET_MS);
    const before = await writes(() => cluster.metrics());
    const cpuBefore = process.cpuUsage();
    const start = performance.now();
    const pending = (await client.list<Pod>({ ...PODS, namespace: ns })).items.filter((p) => !p.spec?.nodeName);
    await inBatches(pending, 16, (p) => client.delete({ ...PODS, namespace: ns, name: p.metadata.name! }));
    let last = before.all;
    let lastChange = performance.now();
    let quiet = false;
    while (performance.now() - start < LIMIT_MS) {
      await sleep(250);
      const now = (await writes(() => cluster.metrics())).all;
      if (now !== last) {
        last = now;
        lastChange = performance.now();
      } else if (performance.now() - lastChange >= QUIET_MS) {
        quiet = true;
        break;
      }
    }
    const cpu = process.cpuUsage(cpuBefore);
    const after = await writes(() => cluster.metrics());
    return {
      writes: after.all - before.all,
      events: after.events - before.events,
      cpu: (cpu.user + cpu.system) / 1e6,
      seconds: (lastChange - start) / 1000,
      quiet,
    };
  } finally {
    client.close();
    await cluster.stop();
  }
}

export async function run(): Promise<void> {
  console.log('Pending pods deleted (1 node of 10 pods; API server, scheduler, controllers in this process)');
  for (const n of SIZES) {
    const r = await storm(n);
    const deleted = n - 10;
    console.log(
      `  ${n} pods (${deleted} Pending deleted): ${r.writes} writes (${r.events} to Events) = ${(r.writes / deleted).toFixed(2)} per pod; ` +
        `${r.cpu.toFixed(1)} CPU s = ${((r.cpu / deleted) * 1000).toFixed(1)} ms per pod; ` +
        (r.quiet ? `quiet after ${r.seconds.toFixed(1)} s` : `NOT quiet after ${(LIMIT_MS / 1000).toFixed(0)} s`),
    );
  }
}

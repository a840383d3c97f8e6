/**
 * Workloads at size: N Deployments × 3 replicas (default 1,000 on 30 nodes of 110 pods) from
 * apply to every pod Running, through the devcluster's controllers, scheduler and kubelets in
 * this process. Figures: seconds and pods/s, against a baseline of creating as many plain
 * ConfigMaps (the API server's own write rate, same process); RSS and heap at that size.
 * `KRE_BENCH_SCALE=0.1` runs a tenth (100 Deployments on 3 nodes).
 */
import { startDevCluster } from '../src/devcluster/index.ts';
import { KubeClient, Reflector, type Pod } from '../src/kube/index.ts';

const SCALE = Number(process.env.KRE_BENCH_SCALE ?? 1) || 1;
const REPLICAS = 3;

async function inBatches<T>(items: T[], concurrency: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

export async function run(): Promise<void> {
  const deployments = Math.max(1, Math.round(1000 * SCALE));
  const nodes = Math.max(1, Math.ceil((deployments * REPLICAS) / 100));
  const pods = deployments * REPLICAS;
  const before = process.memoryUsage();
  const cluster = await startDevCluster({ nodes, maxPods: 110 });
  const client = new KubeClient(cluster.kubeConfig());
  try {
    // Baseline: as many ConfigMaps as there will be pods, written by one client.
    const cmStart = performance.now();
    await inBatches([...Array(pods).keys()], 32, (i) =>
      client.create({ group: '', version: 'v1', plural: 'configmaps', namespace: 'default' }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `baseline-${i}` }, data: { i: String(i) } }),
    );
    const cmSeconds = (performance.now() - cmStart) / 1000;

    const running = new Set<string>();
    let allRunning: () => void;
    const done = new Promise<void>((resolve) => (allRunning = resolve));
    const seen = (p: Pod) => {
      if (p.status?.phase === 'Running' && p.metadata.namespace === 'bench') running.add(p.metadata.name ?? '');
      if (running.size >= pods) allRunning();
    };
    const reflector = new Reflector({ client, resource: { group: '', version: 'v1', plural: 'pods' }, namespace: 'bench', onAdd: seen, onUpdate: (_o, p) => seen(p) });
    await client.create({ group: '', version: 'v1', plural: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench' } });
    reflector.start();
    await reflector.waitForSync();

    const start = performance.now();
    await inBatches([...Array(deployments).keys()], 16, (i) =>
      client.apply(
        { group: 'apps', version: 'v1', plural: 'deployments', namespace: 'bench', name: `model-${i}` },
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: `model-${i}`, namespace: 'bench' },
          spec: {
            replicas: REPLICAS,
            selector: { matchLabels: { app: `model-${i}` } },
            template: {
              metadata: { labels: { app: `model-${i}` } },
              spec: { containers: [{ name: 'main', image: 'registry.example/model:1', resources: { requests: { cpu: '10m', memory: '32Mi' } } }] },
            },
          },
        },
        { fieldManager: 'bench' },
      ),
    );
    const applied = (performance.now() - start) / 1000;
    const progress = setInterval(() => console.log(`  … ${running.size}/${pods} pods Running after ${((performance.now() - start) / 1000).toFixed(0)} s`), 15_000);
    await done;
    clearInterval(progress);
    const seconds = (performance.now() - start) / 1000;
    global.gc?.();
    const mem = process.memoryUsage();
    await reflector.stop();

    console.log(`${deployments} Deployments × ${REPLICAS} replicas on ${nodes} nodes (apiserver, controllers, scheduler, kubelets in one process)`);
    console.log(`  applied in ${applied.toFixed(1)} s; all ${pods} pods Running after ${seconds.toFixed(1)} s: ${(pods / seconds).toFixed(0)} pods/s`);
    console.log(`  baseline: ${pods} ConfigMaps created in ${cmSeconds.toFixed(1)} s (${(pods / cmSeconds).toFixed(0)}/s); a running pod costs ${(seconds / cmSeconds).toFixed(1)}× a ConfigMap write`);
    console.log(`  memory: RSS ${mb(mem.rss)} (${mb(mem.rss - before.rss)} more than before the cluster), heap used ${mb(mem.heapUsed)}`);
  } finally {
    client.close();
    await cluster.stop();
  }
}

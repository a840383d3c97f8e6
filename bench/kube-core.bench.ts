/**
 * The kube core's costs, each against a baseline measured in the same process:
 * - events/s from the API server through a Reflector into a handler, against a bare watch of the
 *   same events (what the cache's bookkeeping costs);
 * - heap per cached object in an ObjectStore, against the same objects in a plain array (what the
 *   indexes cost);
 * - work queue time per item, against awaiting the same no-op work in a loop.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startDevCluster } from '../src/devcluster/index.ts';
import { KubeClient, type KubeObject } from '../src/kube/client.ts';
import { Reflector } from '../src/kube/reflector.ts';
import { ObjectStore } from '../src/kube/store.ts';
import { WorkQueue } from '../src/kube/workqueue.ts';
import { CONFIGMAPS as KUBE_CONFIGMAPS } from '../src/kube/index.ts';

const CONFIGMAPS = { ...KUBE_CONFIGMAPS, namespace: 'default' };

export async function run(): Promise<void> {
  await eventThroughput();
  memoryPerObject();
  await queueOverhead();
}

async function eventThroughput(): Promise<void> {
  const events = 2000;
  const cluster = await startDevCluster();
  const client = new KubeClient(cluster.kubeConfig());
  try {
    const start = await client.list(CONFIGMAPS);
    // Baseline: a bare watch that only counts events.
    const watch = await client.watch(CONFIGMAPS, { resourceVersion: start.metadata.resourceVersion });
    let rawDone = 0;
    const rawFinished = (async () => {
      let n = 0;
      for await (const e of watch) if (e.type === 'ADDED' && ++n === events) break;
      rawDone = performance.now();
    })();
    let added = 0;
    let reflectorDone = 0;
    const reflector = new Reflector({
      client,
      resource: CONFIGMAPS,
      namespace: 'default',
      onAdd: () => {
        if (++added === events) reflectorDone = performance.now();
      },
    }).start();
    await reflector.waitForSync();
    added = 0;

    const t0 = performance.now();
    let next = 0;
    const writer = async () => {
      while (next < events) {
        const i = next++;
        await client.create(CONFIGMAPS, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `bench-${i}`, labels: { bench: 'yes' } }, data: { i: String(i) } });
      }
    };
    await Promise.all(Array.from({ length: 32 }, writer));
    await rawFinished;
    while (!reflectorDone) await new Promise((r) => setTimeout(r, 5));
    await reflector.stop();
    watch.close();

    const rawRate = events / ((rawDone - t0) / 1000);
    const reflectorRate = events / ((reflectorDone - t0) / 1000);
    console.log(`events through a reflector into a handler: ${reflectorRate.toFixed(0)} events/s (bounded by the server's write rate)`);
    console.log(`  baseline, bare watch of the same events:  ${rawRate.toFixed(0)} events/s (ratio ${(reflectorRate / rawRate).toFixed(2)})`);

    // The list path is not bounded by writes: a fresh reflector's sync against bare paginated lists.
    let t = performance.now();
    let listed = 0;
    let token: string | undefined;
    do {
      const page = await client.list(CONFIGMAPS, { limit: 500, continue: token });
      listed += page.items.length;
      token = page.metadata.continue || undefined;
    } while (token);
    const bareList = listed / ((performance.now() - t) / 1000);
    t = performance.now();
    let handled = 0;
    const syncing = new Reflector({ client, resource: CONFIGMAPS, namespace: 'default', onAdd: () => handled++ }).start();
    await syncing.waitForSync();
    const reflectorList = handled / ((performance.now() - t) / 1000);
    await syncing.stop();
    console.log(`objects from a paginated list through a reflector into a handler: ${reflectorList.toFixed(0)} objects/s`);
    console.log(`  baseline, the same paginated list read bare:                   ${bareList.toFixed(0)} objects/s (ratio ${(reflectorList / bareList).toFixed(2)})`);
  } finally {
    client.close();
    await cluster.stop();
  }
}

function memoryPerObject(): void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const count = 20_000;
  const make = () =>
    Array.from({ length: count }, (_, i) =>
      JSON.parse(
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: {
            name: `pod-${i}`,
            namespace: `ns-${i % 50}`,
            uid: `00000000-0000-0000-0000-${String(i).padStart(12, '0')}`,
            resourceVersion: String(1000 + i),
            labels: { app: `app-${i % 200}`, 'pod-template-hash': `h${i % 1000}`, tier: i % 2 ? 'front' : 'back' },
            creationTimestamp: '2026-01-01T00:00:00Z',
          },
          spec: { nodeName: `node-${i % 10}`, containers: [{ name: 'main', image: 'registry.example/app:1.0', resources: { requests: { cpu: '100m', memory: '128Mi' } } }] },
          status: { phase: 'Running', podIP: `10.0.${(i >> 8) & 255}.${i & 255}` },
        }),
      ) as KubeObject,
    );
  const heapFor = (fill: (objs: KubeObject[]) => unknown): number => {
    gc();
    const before = process.memoryUsage().heapUsed;
    const kept = fill(make());
    gc();
    const used = process.memoryUsage().heapUsed - before;
    void kept;
    return used / count;
  };
  const baseline = heapFor((objs) => objs);
  const store = heapFor((objs) => {
    const s = new ObjectStore();
    for (const o of objs) s.upsert(o);
    return s;
  });
  console.log(`heap per cached object in the ObjectStore: ${store.toFixed(0)} bytes`);
  console.log(`  baseline, the same objects in an array:   ${baseline.toFixed(0)} bytes (ratio ${(store / baseline).toFixed(2)})`);
}

async function queueOverhead(): Promise<void> {
  const items = 200_000;
  const work = async () => {};
  let t0 = performance.now();
  for (let i = 0; i < items; i++) await work();
  const baseline = ((performance.now() - t0) * 1e6) / items;

  const q = new WorkQueue<number>();
  t0 = performance.now();
  let processed = 0;
  let finished!: () => void;
  const allDone = new Promise<void>((resolve) => (finished = resolve));
  const running = q.run(4, async () => {
    await work();
    if (++processed === items) finished();
  });
  for (let i = 0; i < items; i++) q.add(i);
  await allDone;
  const queued = ((performance.now() - t0) * 1e6) / items;
  await q.shutdown();
  await running;
  console.log(`work queue, add + get + done per item (4 workers): ${queued.toFixed(0)} ns`);
  console.log(`  baseline, awaiting the same no-op work in a loop: ${baseline.toFixed(0)} ns (ratio ${(queued / baseline).toFixed(2)})`);
}

/**
 * The devcluster's API server under the workload a real kube-apiserver v1.32 (with etcd) was
 * measured with on a machine of the same class: pods like data/real-apiserver/pod.json (~2 KB) in
 * 10 namespaces, created with 32 requests in flight over HTTPS with keep-alive; LIST all, one
 * namespace, a 1% label selector, namespace + label, and paginated by 500; GET one; 50 watchers of
 * 2,000 updates; heap per stored object. At 10,000 pods, then 50,000 (`KRE_BENCH_SCALE=0.1` for a
 * quick run). Each figure is printed beside the real server's and the ratio.
 *
 * Times are from sending the request to the last byte of the answer (the client does not decode
 * it), medians over repeated runs. Heap per object is measured in a child process that runs only
 * the server, with --expose-gc.
 */
import { Agent, request } from 'node:https';
import { startDevCluster, type DevCluster } from '../src/devcluster/index.ts';
import { clientFor, createNamespaces, createPods, fmt, IN_FLIGHT, heapInChild, median, NAMESPACES, table, type Client } from './apiserver-workload.ts';

const WATCHERS = 50;
const UPDATES = 2000;

/** The real kube-apiserver v1.32 on the same machine class, same workload. */
const REAL = {
  createPerSec: 981,
  listAll: { 10_000: 289, 50_000: 1385 } as Record<number, number>,
  listNamespace: 29,
  listLabel: 9,
  listNamespaceLabel: 4.1,
  get: 1.1,
  watchWritesPerSec: 500,
};

/** Median time of a LIST (all pages when paginated), after one warm-up; checks the item count. */
async function timeList(c: Client, path: string, runs: number, expect: number, pageSize?: number): Promise<number> {
  const once = async () => {
    let ms = 0;
    let items = 0;
    let token = '';
    do {
      const sep = path.includes('?') ? '&' : '?';
      const url = pageSize ? `${path}${sep}limit=${pageSize}${token ? `&continue=${encodeURIComponent(token)}` : ''}` : path;
      const r = await c.req('GET', url);
      if (r.status !== 200) throw new Error(`${url}: ${r.status} ${r.text.slice(0, 300)}`);
      ms += r.ms;
      // Counting items by their uid keeps the client's cost out of the figure.
      items += r.text.split('"uid":').length - 1;
      token = pageSize ? (/"continue":"([^"]*)"/.exec(r.text.slice(0, 500))?.[1] ?? '') : '';
    } while (token);
    if (items !== expect) throw new Error(`${path}: ${items} items, expected ${expect}`);
    return ms;
  };
  await once();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await once());
  return median(times);
}

interface WatchResult {
  /** From the first write to every watcher having every event. */
  ms: number;
  updatesPerSec: number;
  /** After the last write, until every watcher has every event. */
  lagMs: number;
  /** The rate the writes were made at (below the pace asked for when the server cannot keep it). */
  writesPerSec: number;
}

/**
 * WATCHERS watches of one namespace's pods, then UPDATES updates of its pods (merge patches of an
 * annotation) with IN_FLIGHT in flight, or paced at `perSec`. Events are counted by line.
 */
async function watchFanOut(cluster: DevCluster, c: Client, perSec?: number): Promise<WatchResult> {
  const ns = 'bench-0';
  const list = await c.req('GET', `/api/v1/namespaces/${ns}/pods?limit=1`);
  const rv = JSON.parse(list.text).metadata.resourceVersion as string;
  const pods = Number(JSON.parse((await c.req('GET', `/api/v1/namespaces/${ns}/pods?limit=1`)).text).metadata.remainingItemCount ?? 0) + 1;
  const targets = Math.min(pods, 200);
  const counts = new Array<number>(WATCHERS).fill(0);
  let allDone!: () => void;
  const done = new Promise<void>((r) => (allDone = r));
  let complete = 0;
  const agent = new Agent({ keepAlive: false, maxSockets: WATCHERS, ca: cluster.caCert });
  const base = new URL(cluster.url);
  const streams = await Promise.all(
    Array.from(
      { length: WATCHERS },
      (_, w) =>
        new Promise<ReturnType<typeof request>>((resolve, reject) => {
          const r = request({ host: base.hostname, port: base.port, path: `/api/v1/namespaces/${ns}/pods?watch=1&resourceVersion=${rv}`, agent, headers: { Authorization: `Bearer ${cluster.token}` } }, (res) => {
            res.on('data', (chunk: Buffer) => {
              let n = 0;
              for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) n++;
              counts[w] += n;
              if (counts[w] >= UPDATES && counts[w] - n < UPDATES && ++complete === WATCHERS) allDone();
            });
            res.on('error', () => {});
            resolve(r);
          });
          r.on('error', reject);
          r.end();
        }),
    ),
  );
  let next = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < UPDATES) {
      const i = next++;
      if (perSec) {
        const due = t0 + (i * 1000) / perSec;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      const name = `model-${(i % targets) * NAMESPACES}`;
      const r = await c.req('PATCH', `/api/v1/namespaces/${ns}/pods/${name}`, JSON.stringify({ metadata: { annotations: { 'bench/update': String(i) } } }), 'application/merge-patch+json');
      if (r.status !== 200) throw new Error(`patch ${name}: ${r.status} ${r.text.slice(0, 300)}`);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  const written = performance.now();
  await done;
  const end = performance.now();
  for (const s of streams) s.destroy();
  agent.destroy();
  return { ms: end - t0, updatesPerSec: UPDATES / ((end - t0) / 1000), lagMs: end - written, writesPerSec: UPDATES / ((written - t0) / 1000) };
}

interface Figures {
  count: number;
  createPerSec: number;
  listAll: number;
  listNamespace: number;
  listLabel: number;
  listNamespaceLabel: number;
  listPaged: number;
  get: number;
  watch: WatchResult;
  watchPaced: WatchResult;
  podBytes: number;
  heapPerObject?: { stored: number; withJson: number };
}

async function measure(count: number): Promise<Figures> {
  const cluster = await startDevCluster({ nodes: 0 });
  const c = clientFor(cluster);
  try {
    await createNamespaces(c);
    const createPerSec = await createPods(c, count);
    const sample = await c.req('GET', '/api/v1/namespaces/bench-0/pods/model-0');
    const big = count >= 20_000;
    const runs = big ? 5 : 9;
    const onePercent = count / 100;
    const listAll = await timeList(c, '/api/v1/pods', runs, count);
    const listNamespace = await timeList(c, '/api/v1/namespaces/bench-3/pods', runs * 3, count / NAMESPACES);
    const listLabel = await timeList(c, '/api/v1/pods?labelSelector=shard%3Ds7', runs * 3, onePercent);
    const listNamespaceLabel = await timeList(c, '/api/v1/namespaces/bench-3/pods?labelSelector=shard%3Ds7', runs * 3, onePercent / NAMESPACES);
    const listPaged = await timeList(c, '/api/v1/pods', runs, count, 500);
    const gets: number[] = [];
    for (let i = 0; i < 500; i++) {
      const k = (i * 7919) % count;
      const r = await c.req('GET', `/api/v1/namespaces/bench-${k % NAMESPACES}/pods/model-${k}`);
      if (r.status !== 200) throw new Error(`get: ${r.status}`);
      gets.push(r.ms);
    }
    const watch = await watchFanOut(cluster, c);
    const watchPaced = await watchFanOut(cluster, c, REAL.watchWritesPerSec);
    return { count, createPerSec, listAll, listNamespace, listLabel, listNamespaceLabel, listPaged, get: median(gets.slice(50)), watch, watchPaced, podBytes: sample.text.length };
  } finally {
    c.close();
    await cluster.stop();
  }
}

/** Heap per stored pod, in a child process that runs only the server (with --expose-gc). */
function heapPerObject(count: number): Promise<{ stored: number; withJson: number } | undefined> {
  return heapInChild(import.meta.url, { KRE_BENCH_HEAP_CHILD: String(count) });
}

async function heapChild(count: number): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  const settle = async () => {
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((r) => setImmediate(r));
    }
    return process.memoryUsage().heapUsed;
  };
  const cluster = await startDevCluster({ nodes: 0 });
  const c = clientFor(cluster);
  await createNamespaces(c);
  const before = await settle();
  await createPods(c, count);
  const stored = ((await settle()) - before) / count;
  // A LIST caches each object's JSON text beside it.
  await c.req('GET', '/api/v1/pods');
  const withJson = ((await settle()) - before) / count;
  c.close();
  await cluster.stop();
  console.log(JSON.stringify({ heap: { stored, withJson } }));
}

function report(f: Figures): void {
  const realAll = REAL.listAll[f.count];
  const ms = (ours: number, real: number | undefined): [string, string, string] => [`${fmt(ours)} ms`, real ? `${fmt(real)} ms` : '—', real ? `${fmt(real / ours, 2)}×` : '—'];
  const perSec = (ours: number, real: number, unit: string): [string, string, string] => [`${fmt(ours)} ${unit}`, `${fmt(real)} ${unit}`, `${fmt(ours / real, 2)}×`];
  console.log(`\n### ${f.count.toLocaleString('en')} pods (${f.podBytes} bytes each as stored)\n`);
  const rows: Array<[string, string, string, string]> = [
    ['measure', 'devcluster', 'kube-apiserver v1.32', 'speed ratio (>1: faster)'],
    [`create, ${IN_FLIGHT} in flight`, ...perSec(f.createPerSec, REAL.createPerSec, 'pods/s')],
    [`LIST all (${f.count})`, ...ms(f.listAll, realAll)],
    [`LIST one namespace (${f.count / NAMESPACES})`, ...ms(f.listNamespace, f.count === 10_000 ? REAL.listNamespace : undefined)],
    [`LIST 1% label selector (${f.count / 100})`, ...ms(f.listLabel, f.count === 10_000 ? REAL.listLabel : undefined)],
    [`LIST namespace + label (${f.count / 1000})`, ...ms(f.listNamespaceLabel, f.count === 10_000 ? REAL.listNamespaceLabel : undefined)],
    ['LIST all, pages of 500', `${fmt(f.listPaged)} ms`, '—', '—'],
    ['GET one', ...ms(f.get, REAL.get)],
    [`watch: ${WATCHERS} watchers × ${UPDATES} updates, all seen`, `${fmt(f.watch.ms)} ms`, '—', '—'],
    ['  updates/s sustained to every watcher', ...perSec(f.watch.updatesPerSec, REAL.watchWritesPerSec, 'updates/s')],
    [`  paced at ${REAL.watchWritesPerSec}/s: writes made`, `${fmt(f.watchPaced.writesPerSec)} writes/s`, `${REAL.watchWritesPerSec} writes/s`, `${fmt(f.watchPaced.writesPerSec / REAL.watchWritesPerSec, 2)}×`],
    ['  paced: every watcher had every event', `${fmt(f.watchPaced.lagMs)} ms after the last write`, 'kept pace', f.watchPaced.lagMs < 1000 && f.watchPaced.writesPerSec >= 0.95 * REAL.watchWritesPerSec ? 'kept pace' : 'fell behind'],
  ];
  if (f.heapPerObject) {
    rows.push(['heap per stored pod', `${fmt(f.heapPerObject.stored)} B`, '—', '—']);
    rows.push(['  with its JSON text cached (after a LIST)', `${fmt(f.heapPerObject.withJson)} B`, '—', '—']);
  }
  table(rows);
}

export async function run(): Promise<void> {
  const scale = Number(process.env.KRE_BENCH_SCALE ?? '1');
  if (!(scale > 0)) throw new Error(`KRE_BENCH_SCALE must be a positive number, not ${process.env.KRE_BENCH_SCALE}`);
  // Multiples of 1,000 keep the 1% and 0.1% selections whole.
  const sizes = [10_000, 50_000].map((n) => Math.max(1000, Math.round((n * scale) / 1000) * 1000));
  const all: Figures[] = [];
  for (const count of sizes) {
    const f = await measure(count);
    f.heapPerObject = await heapPerObject(count);
    report(f);
    all.push(f);
  }
  const [a, b] = all;
  console.log(`\n### growth from ${a.count.toLocaleString('en')} to ${b.count.toLocaleString('en')} pods (×${b.count / a.count} objects; kube-apiserver: LIST all ×${fmt(REAL.listAll[50_000] / REAL.listAll[10_000], 2)})\n`);
  table([
    ['LIST', `${a.count.toLocaleString('en')}`, `${b.count.toLocaleString('en')}`, 'growth'],
    ['all', `${fmt(a.listAll)} ms`, `${fmt(b.listAll)} ms`, `×${fmt(b.listAll / a.listAll, 2)}`],
    ['one namespace', `${fmt(a.listNamespace)} ms`, `${fmt(b.listNamespace)} ms`, `×${fmt(b.listNamespace / a.listNamespace, 2)}`],
    ['1% label selector', `${fmt(a.listLabel)} ms`, `${fmt(b.listLabel)} ms`, `×${fmt(b.listLabel / a.listLabel, 2)}`],
    ['namespace + label', `${fmt(a.listNamespaceLabel)} ms`, `${fmt(b.listNamespaceLabel)} ms`, `×${fmt(b.listNamespaceLabel / a.listNamespaceLabel, 2)}`],
    ['pages of 500', `${fmt(a.listPaged)} ms`, `${fmt(b.listPaged)} ms`, `×${fmt(b.listPaged / a.listPaged, 2)}`],
    ['GET one', `${fmt(a.get, 2)} ms`, `${fmt(b.get, 2)} ms`, `×${fmt(b.get / a.get, 2)}`],
  ]);
}

if (process.env.KRE_BENCH_HEAP_CHILD) {
  await heapChild(Number(process.env.KRE_BENCH_HEAP_CHILD));
  process.exit(0);
}

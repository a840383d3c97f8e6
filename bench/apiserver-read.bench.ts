/**
 * The read path of the devcluster's API server beside a real kube-apiserver v1.32 + etcd
 * (`../shared/kube-apiserver/`, skipped with a message when absent), in the same run, on the same
 * pods (bench/apiserver-workload.ts): a 1% label selector across all namespaces, the same with a
 * set-based selector, namespace + label, and the full LIST. Each figure is the median time from
 * sending the request to the last byte of the answer, over keep-alive HTTPS, with a client that
 * counts the bytes and parses nothing; the item count is checked once, before the timed runs.
 *
 * Both servers run in processes of their own, the client in this one: the devcluster as
 * `kre devcluster --nodes 0` (bench/servers.ts), the real server as its own binaries. So a server
 * encodes and encrypts an answer on one core while the client decrypts and counts its bytes on
 * another, for both alike: neither's figures wait for the client's work on the server's thread.
 * The servers are populated and measured one after the other, so they never compete with each
 * other for the CPU.
 *
 * Memory: the devcluster's heap (JS heap + array buffers) per stored pod, after forced GCs, in a
 * second child process, with --expose-gc, that holds only the server and the client that fills it
 * (warmed up first, so that loading code is not counted),
 * beside the size of the pod's JSON (its bytes in the full LIST's answer); for the real server,
 * the growth of its Go heap per pod (from its /metrics, without a forced GC: indicative). The
 * child measures twice, after the queries and again a second later, and reports the larger: a
 * store whose heap depended on when the collector last ran would show it as a difference.
 *
 * `KRE_BENCH_PODS=10000,50000` (the default) sets the sizes.
 */
import { startDevCluster } from '../src/devcluster/index.ts';
import { realApiServerAvailable, REAL_APISERVER_DIR, startRealApiServer } from '../test/support/apiserver.ts';
import { clientFor, createNamespaces, createPods, fmt, heapInChild, median, NAMESPACES, podBody, table, type Client, type ServerAddress } from './apiserver-workload.ts';
import { startChildDevCluster, stopChildDevCluster } from './servers.ts';

interface Query {
  name: string;
  path: string;
  expect: number;
  runs: number;
}

function queries(count: number): Query[] {
  const runs = count >= 20_000 ? 15 : 41;
  return [
    { name: `label selector, all namespaces, 1% (${count / 100})`, path: '/api/v1/pods?labelSelector=shard%3Ds7', expect: count / 100, runs },
    { name: `set-based: shard in (s7,s8), version-name!=v2, all namespaces (${count / 50})`, path: `/api/v1/pods?labelSelector=${encodeURIComponent('shard in (s7,s8),version-name!=v2')}`, expect: count / 50, runs },
    { name: `namespace + label (${count / 100 / NAMESPACES})`, path: '/api/v1/namespaces/bench-3/pods?labelSelector=shard%3Ds7', expect: count / 100 / NAMESPACES, runs },
    { name: `full LIST (${count})`, path: '/api/v1/pods', expect: count, runs: count >= 20_000 ? 5 : 7 },
  ];
}

interface ServerFigures {
  createPerSec: number;
  /** Median ms per query, in the order of `queries`. */
  ms: number[];
  /** JSON bytes of one stored pod, from the full LIST. */
  podJsonBytes: number;
  /** Heap growth per pod (see the module comment for what is counted on each server). */
  heapPerPod?: number;
  /** The devcluster's: of which array buffers, and the two measurements it is the larger of. */
  heapDetail?: HeapFigures;
}

/** Bytes per stored pod, measured in the heap child. */
interface HeapFigures {
  heap: number;
  arrayBuffers: number;
  first: number;
  second: number;
}

/**
 * Median time to the last byte; the answer's item count is checked on a run first. As many untimed
 * runs as timed ones go before, on both servers: a server that has been up a while (its JavaScript
 * compiled by the JIT) is what clients meet, not one answering its first requests.
 */
async function timeQuery(c: Client, q: Query): Promise<{ ms: number; bytes: number }> {
  const check = await c.req('GET', q.path);
  if (check.status !== 200) throw new Error(`${q.path}: ${check.status} ${check.text.slice(0, 300)}`);
  const items = check.text.split('"uid":').length - 1;
  if (items !== q.expect) throw new Error(`${q.path}: ${items} items, expected ${q.expect}`);
  for (let i = 0; i < q.runs; i++) await c.drain(q.path);
  const times: number[] = [];
  for (let i = 0; i < q.runs; i++) {
    const r = await c.drain(q.path);
    if (r.status !== 200) throw new Error(`${q.path}: ${r.status}`);
    times.push(r.ms);
  }
  return { ms: median(times), bytes: Buffer.byteLength(check.text) };
}

async function measureServer(server: ServerAddress, count: number, goHeap?: () => Promise<number>): Promise<ServerFigures> {
  const writer = clientFor(server);
  const reader = clientFor(server, 1);
  try {
    await createNamespaces(writer);
    const heapBefore = await goHeap?.();
    const createPerSec = await createPods(writer, count);
    const heapAfter = await goHeap?.();
    const ms: number[] = [];
    let podJsonBytes = 0;
    for (const q of queries(count)) {
      const r = await timeQuery(reader, q);
      ms.push(r.ms);
      if (q.expect === count) podJsonBytes = r.bytes / count;
    }
    return { createPerSec, ms, podJsonBytes, heapPerPod: heapBefore !== undefined && heapAfter !== undefined ? (heapAfter - heapBefore) / count : undefined };
  } finally {
    writer.close();
    reader.close();
  }
}

/** The real server's Go heap in use, from its /metrics. */
function goHeapOf(server: ServerAddress): () => Promise<number> {
  return async () => {
    const c = clientFor(server, 1);
    try {
      const text = (await c.req('GET', '/metrics')).text;
      const m = /^go_memstats_heap_alloc_bytes ([0-9.e+]+)$/m.exec(text);
      if (!m) throw new Error('no go_memstats_heap_alloc_bytes in the real server /metrics');
      return Number(m[1]);
    } finally {
      c.close();
    }
  };
}

/** Heap per stored pod of the devcluster, in a child process that runs only the server (with --expose-gc). */
function devclusterHeapPerPod(count: number): Promise<HeapFigures | undefined> {
  return heapInChild(import.meta.url, { KRE_BENCH_READ_HEAP_CHILD: String(count) });
}

/** Creates pods in a namespace of their own, so that the code paths of a create and each query are loaded before the baseline. */
async function warmUp(c: Client, count: number): Promise<void> {
  const r = await c.req('POST', '/api/v1/namespaces', JSON.stringify({ metadata: { name: 'bench-warm-up' } }));
  if (r.status !== 201) throw new Error(`create namespace: ${r.status} ${r.text}`);
  for (let i = 0; i < 500; i++) {
    const p = await c.req('POST', '/api/v1/namespaces/bench-warm-up/pods', podBody(1_000_000 + i));
    if (p.status !== 201) throw new Error(`create pod: ${p.status} ${p.text.slice(0, 300)}`);
  }
  for (const q of queries(count)) await c.drain(q.path);
}

async function heapChild(count: number): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  /**
   * Collects until the heap has not shrunk for three collections in a row: one forced GC can
   * leave a young generation's worth behind, and array buffers are freed after the collection.
   */
  const settle = async () => {
    let last = { used: Infinity, arrayBuffers: 0 };
    let stable = 0;
    for (let i = 0; i < 30 && stable < 3; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 20));
      const m = process.memoryUsage();
      const used = m.heapUsed + m.arrayBuffers;
      stable = used >= last.used * 0.995 ? stable + 1 : 0;
      if (used < last.used) last = { used, arrayBuffers: m.arrayBuffers };
    }
    return last;
  };
  const cluster = await startDevCluster({ nodes: 0 });
  const c = clientFor(cluster);
  await createNamespaces(c);
  await warmUp(c, count);
  const before = await settle();
  await createPods(c, count);
  // Every query once, so that whatever reads cache is counted too.
  for (const q of queries(count)) await c.drain(q.path);
  const first = await settle();
  await new Promise((r) => setTimeout(r, 1000));
  const second = await settle();
  const after = first.used >= second.used ? first : second;
  const heap: HeapFigures = {
    heap: (after.used - before.used) / count,
    arrayBuffers: (after.arrayBuffers - before.arrayBuffers) / count,
    first: (first.used - before.used) / count,
    second: (second.used - before.used) / count,
  };
  c.close();
  await cluster.stop();
  console.log(JSON.stringify({ heap }));
}

function report(count: number, dev: ServerFigures, real: ServerFigures | undefined): void {
  console.log(`\n### ${count.toLocaleString('en')} pods (${fmt(dev.podJsonBytes, 0)} bytes of JSON each)\n`);
  const rows = [['time to last byte, median', 'devcluster', real ? 'kube-apiserver v1.32' : 'kube-apiserver (absent)', 'devcluster speed-up (>1: faster)']];
  for (const [i, q] of queries(count).entries()) {
    rows.push([q.name, `${fmt(dev.ms[i], 2)} ms`, real ? `${fmt(real.ms[i], 2)} ms` : '—', real ? `${fmt(real.ms[i] / dev.ms[i], 2)}×` : '—']);
  }
  rows.push(['create pods/s (32 in flight)', fmt(dev.createPerSec), real ? fmt(real.createPerSec) : '—', real ? `${fmt(dev.createPerSec / real.createPerSec, 2)}×` : '—']);
  const heap = (f: ServerFigures | undefined) => (f?.heapPerPod !== undefined ? `${fmt(f.heapPerPod, 0)} B (${fmt(f.heapPerPod / f.podJsonBytes, 2)}× JSON)` : '—');
  rows.push(['heap per stored pod', `${heap(dev)} after GC`, real ? `${heap(real)} Go heap, no forced GC` : '—', '—']);
  table(rows);
  const d = dev.heapDetail;
  if (d) {
    console.log(
      `\nDevcluster heap per pod: JS heap + array buffers (${fmt(d.arrayBuffers, 0)} B of it), growth from before the pods were created to after every query ran, after forced GCs; ` +
        `measured twice a second apart: ${fmt(d.first, 0)} B and ${fmt(d.second, 0)} B. JSON: a pod's bytes in the full LIST.`,
    );
  }
}

export async function run(): Promise<void> {
  const sizes = (process.env.KRE_BENCH_PODS ?? '10000,50000').split(',').map(Number);
  for (const n of sizes) if (!Number.isInteger(n) || n < 1000 || n % 1000 !== 0) throw new Error(`KRE_BENCH_PODS: each size must be a multiple of 1000, not ${n}`);
  if (!realApiServerAvailable()) console.log(`(no real kube-apiserver at ${REAL_APISERVER_DIR}: its column is left empty)`);
  for (const count of sizes) {
    const cluster = await startChildDevCluster();
    let dev: ServerFigures;
    try {
      dev = await measureServer({ url: cluster.url, token: cluster.token, caCert: cluster.ca }, count);
    } finally {
      await stopChildDevCluster(cluster);
    }
    dev.heapDetail = await devclusterHeapPerPod(count);
    dev.heapPerPod = dev.heapDetail?.heap;
    let real: ServerFigures | undefined;
    if (realApiServerAvailable()) {
      const server = await startRealApiServer();
      try {
        real = await measureServer(server, count, goHeapOf(server));
      } finally {
        await server.stop();
      }
    }
    report(count, dev, real);
  }
}

if (process.env.KRE_BENCH_READ_HEAP_CHILD) {
  await heapChild(Number(process.env.KRE_BENCH_READ_HEAP_CHILD));
  process.exit(0);
}

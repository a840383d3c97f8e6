/**
 * The monitor against the API servers it shields, in one run, at 10,000 and 50,000 pods
 * (`KRE_BENCH_SIZES=10000,20000` picks others; `KRE_BENCH_SCALE=0.1` shrinks them):
 *
 * - three servers: the monitor (in this process, caching the devcluster), the devcluster
 *   (`kre devcluster` in a child process) and, when `../shared/kube-apiserver` is there, a real
 *   kube-apiserver + etcd loaded with the same pods (its column is left out, saying so, otherwise,
 *   and from a size whose loading would take longer than KRE_BENCH_REAL_LOAD_BUDGET_S, 420 s);
 * - the server's cost of a read: time to the last byte of the answer, over a kept-alive
 *   connection, by a client that does not parse it (medians); the client's parse time of the same
 *   answer separately; ratios against the monitor;
 * - the reads: a namespace + label selector query (1% of the pods), a label selector across all
 *   namespaces (1%), a full LIST, each also with gzip accepted as client-go asks; the first as
 *   kubectl sends it (limit=500, gzip); and the full LIST in pages of 500;
 * - watch events ingested per second, against the rate the server wrote them;
 * - heap per cached pod across the monitor's three views, against the size of the pod's JSON;
 * - watch fan-out (at the first size): 1,000 watchers on the monitor vs on the devcluster, the
 *   devcluster's open watches and CPU seconds while writes go out to them;
 * - requests reaching the API server while 100 clients read once a second for 10 s, and the Redis
 *   replica figures (`KRE_BENCH_MONITOR_SKIP=load,redis` leaves these out; `fanout` the fan-out).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import http from 'node:http';
import { constants, gzipSync } from 'node:zlib';
import { KubeConfig } from '@kubernetes/client-node';
import { PODS, KubeClient, type KubeList, type KubeObject } from '../src/kube/index.ts';
import { monitorKubeConfig } from '../src/monitor/client.ts';
import { parseMonitorConfig } from '../src/monitor/config.ts';
import { startMonitor, type Monitor } from '../src/monitor/monitor.ts';
import { createRedisClient } from '../src/monitor/redis-store.ts';
import { startTestRedis } from '../src/monitor/redis-testing.ts';
import { realApiServerAvailable, REAL_APISERVER_DIR, startRealApiServer, type TestApiServer } from '../test/support/apiserver.ts';
import { startReadClient, type ReadClient } from './read-client.ts';
import { call, cpuSeconds, RawClient, startChildDevCluster, stopChildDevCluster, type ChildDevCluster, type Endpoint } from './servers.ts';

const SCALE = Number(process.env.KRE_BENCH_SCALE ?? '1');
const SIZES = (process.env.KRE_BENCH_SIZES ?? '10000,50000').split(',').map((n) => Math.max(100, Math.round(Number(n) * SCALE)));
const SKIP = new Set((process.env.KRE_BENCH_MONITOR_SKIP ?? '').split(',').filter(Boolean));
const WATCHERS = Math.max(10, Math.round(1000 * Math.min(1, SCALE)));
/** Seconds the real kube-apiserver may take to load a size's pods; beyond, its column is left out. */
const REAL_LOAD_BUDGET_S = Number(process.env.KRE_BENCH_REAL_LOAD_BUDGET_S ?? '420');
const NAMESPACES = 10;
const TOKEN = 'bench-token';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

interface Column {
  name: string;
  endpoint: Endpoint;
  raw: RawClient;
  /** Runs before each timed read (not timed). */
  before?: () => Promise<void>;
  /** Answers whole reads only, not the paged one. */
  wholeOnly?: boolean;
  /** Answers each path with the monitor's bytes for it (gzipped ones to clients that accept gzip). */
  floor?: Map<string, Buffer>;
}

/** The floor's key for a path's bytes, as sent to a client that accepts gzip or not. */
const floorKey = (path: string, gzip: boolean) => `${gzip ? 'gzip ' : ''}${path}`;

/** i-th pod: in namespace ns-(i % 10), label app=app-(i % 100), so ns-3 with app=app-13 is 1%. */
function pod(i: number): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `pod-${i}`, namespace: `ns-${i % NAMESPACES}`, labels: { app: `app-${i % 100}`, tier: i % 2 ? 'front' : 'back' } },
    spec: { nodeName: `node-${i % 20}`, containers: [{ name: 'main', image: 'registry.example/app:1.0', resources: { requests: { cpu: '100m', memory: '128Mi' } } }] },
  } as KubeObject;
}

/**
 * The reads, each also as client-go sends it (`Accept-Encoding: gzip`, unless DisableCompression):
 * the real server then compresses answers over 128 KiB; the monitor sends its kept answers gzipped.
 */
const READS: { name: string; path: string; runs: number; gzip?: boolean }[] = [
  { name: 'namespace + label selector (1%)', path: '/api/v1/namespaces/ns-3/pods?labelSelector=app%3Dapp-13', runs: 21 },
  { name: 'namespace + label selector (1%), gzip accepted', path: '/api/v1/namespaces/ns-3/pods?labelSelector=app%3Dapp-13', runs: 21, gzip: true },
  { name: 'namespace + label selector (1%), as kubectl asks (limit=500, gzip)', path: '/api/v1/namespaces/ns-3/pods?labelSelector=app%3Dapp-13&limit=500', runs: 21, gzip: true },
  { name: 'label selector, all namespaces (1%)', path: '/api/v1/pods?labelSelector=app%3Dapp-13', runs: 11 },
  { name: 'label selector, all namespaces (1%), gzip accepted', path: '/api/v1/pods?labelSelector=app%3Dapp-13', runs: 11, gzip: true },
  { name: 'full LIST', path: '/api/v1/pods', runs: 9 },
  { name: 'full LIST, gzip accepted', path: '/api/v1/pods', runs: 9, gzip: true },
];

export async function run(): Promise<void> {
  const dev = await startChildDevCluster();
  let real: TestApiServer | undefined;
  if (realApiServerAvailable()) real = await startRealApiServer();
  else console.log(`real kube-apiserver column left out: ${REAL_APISERVER_DIR}/start.sh does not exist`);
  const devKc = new KubeConfig();
  devKc.loadFromFile(dev.kubeconfigPath);
  const api = new KubeClient(devKc);
  try {
    for (const client of [api, real?.client]) {
      for (let i = 0; i < NAMESPACES; i++) await client?.create({ group: '', version: 'v1', plural: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: `ns-${i}` } });
    }
    let created = 0;
    for (const size of SIZES) {
      console.log(`\n### ${size} pods`);
      gc();
      const heapBefore = heapAndBuffers();
      const monitor = await startMonitor({
        config: parseMonitorConfig({ listen: '127.0.0.1:0', defaultResources: false, resources: ['v1/pods'], verifyIntervalSeconds: 3600, canaryIntervalSeconds: 0 }),
        token: TOKEN,
        kubeConfig: devKc,
      });
      const t0 = performance.now();
      const written = createPods(api, created, size, 32);
      let wroteAt = 0;
      void written.then(() => (wroteAt = performance.now()));
      while ((await monitor.store.sizes('pods')).streamed < size) await sleep(20);
      const ingestedAt = performance.now();
      await written;
      const count = size - created;
      const writeRate = count / ((wroteAt - t0) / 1000);
      const ingestRate = count / ((ingestedAt - t0) / 1000);
      console.log(
        `events ingested: ${ingestRate.toFixed(0)} events/s; baseline, the devcluster's write rate: ${writeRate.toFixed(0)} writes/s (ratio ${(ingestRate / writeRate).toFixed(2)}; bounded by the writes); ` +
          `the monitor held the last pod ${Math.max(0, ingestedAt - wroteAt).toFixed(0)} ms after the last write returned`,
      );
      if (real) {
        // The real server loads slowly (a hundred to a few hundred pods a second here): its rate
        // over the first pods says whether the rest fit in the budget, else its column is left out.
        const r0 = performance.now();
        const probe = Math.min(size, created + 2000);
        await createPods(real.client, created, probe, 64);
        const rate = (probe - created) / ((performance.now() - r0) / 1000);
        const projected = (size - probe) / rate;
        if (projected > REAL_LOAD_BUDGET_S) {
          console.log(
            `real kube-apiserver column left out from ${size} pods: it loaded ${rate.toFixed(0)} pods/s, so the other ${size - probe} would take about ${projected.toFixed(0)} s, ` +
              `beyond the budget of ${REAL_LOAD_BUDGET_S} s (KRE_BENCH_REAL_LOAD_BUDGET_S)`,
          );
          await real.stop();
          real = undefined;
        } else {
          await createPods(real.client, probe, size, 64);
          console.log(`loaded ${count} pods into the real kube-apiserver in ${((performance.now() - r0) / 1000).toFixed(0)} s (64 writers in parallel)`);
        }
      }
      created = size;
      await monitor.verifyNow('pods');

      const floor = await startFloorServer();
      const columns: Column[] = [
        { name: 'monitor', endpoint: { url: monitor.url, token: TOKEN } },
        { name: 'monitor, answer rebuilt', endpoint: { url: monitor.url, token: TOKEN }, before: () => touchStore(monitor), wholeOnly: true },
        { name: 'devcluster', endpoint: dev },
        ...(real ? [{ name: 'kube-apiserver', endpoint: { url: real.url, token: real.token, ca: real.caCert } }] : []),
        { name: 'Node floor', endpoint: floor.endpoint, wholeOnly: true, floor: floor.bodies },
      ].map((c) => ({ ...c, raw: new RawClient(c.endpoint) }));
      try {
        await heapPerPod(monitor, heapBefore, columns[2].raw);
        await readTable(columns, size);
      } finally {
        for (const c of columns) c.raw.close();
        await floor.close();
      }

      
      if (size === SIZES[0]) {
        if (!SKIP.has('fanout')) await fanOut(dev, monitor, api, size);
        if (!SKIP.has('redis')) await redisReplicas(devKc, api, monitor, size);
      }
      if (size === SIZES[SIZES.length - 1] && !SKIP.has('load')) await clientLoad(dev, api, monitor);
      gc();
      const withMonitor = heapAndBuffers();
      const held = (await monitor.store.sizes('pods')).aggregated;
      await monitor.stop();
      gc();
      console.log(`heap + buffers freed when the monitor stopped, per pod it held: ${((withMonitor - heapAndBuffers()) / held).toFixed(0)} bytes`);
    }
  } finally {
    api.close();
    await real?.stop();
    await stopChildDevCluster(dev);
  }
}

async function createPods(api: KubeClient, from: number, to: number, writers: number): Promise<void> {
  let next = from;
  const writer = async () => {
    while (next < to) {
      const p = pod(next++);
      await api.create({ ...PODS, namespace: p.metadata.namespace }, p);
    }
  };
  await Promise.all(Array.from({ length: writers }, writer));
}

/**
 * A store change that changes no object (an event re-delivered for an object the monitor holds):
 * the monitor's lists are made again from its entries rather than sent as kept.
 */
async function touchStore(monitor: Monitor): Promise<void> {
  const { item } = await monitor.store.get('pods', 'streamed', 'ns-3', 'pod-13');
  const rv = (await monitor.store.freshness('pods', 'streamed')).streamResourceVersion;
  if (!item || !rv) throw new Error('the monitor holds no ns-3/pod-13 to touch');
  await monitor.store.streamEvent('pods', { type: 'upsert', object: item.object, resourceVersion: rv, receivedAt: Date.now() });
}

/**
 * What a round trip costs on Node's HTTP stack here: a server answering each path with bytes it
 * holds (the monitor's answer to it), doing nothing else. No Node server can answer faster.
 */
async function startFloorServer(): Promise<{ endpoint: Endpoint; bodies: Map<string, Buffer>; close(): Promise<void> }> {
  const bodies = new Map<string, Buffer>();
  const server = http.createServer((req, res) => {
    const gzipped = req.headers['accept-encoding'] === 'gzip' ? bodies.get(floorKey(req.url ?? '', true)) : undefined;
    const body = gzipped ?? bodies.get(floorKey(req.url ?? '', false));
    if (!body) return void res.writeHead(404).end();
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length, ...(gzipped ? { 'Content-Encoding': 'gzip' } : {}) });
    res.end(body);
  });
  server.keepAliveTimeout = 120_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    endpoint: { url: `http://127.0.0.1:${port}`, token: TOKEN },
    bodies,
    close: () => {
      bodies.clear();
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** Time to last byte (medians) of each read on each server, interleaved, and the client's parse time. */
async function readTable(columns: Column[], size: number): Promise<void> {
  const reader = await startReadClient();
  try {
    await timedReads(columns, size, reader);
  } finally {
    await reader.close();
  }
}

async function timedReads(columns: Column[], size: number, reader: ReadClient): Promise<void> {
  const reads = [...READS, { name: 'full LIST in pages of 500', path: '', runs: 3, gzip: false }];
  console.log(`\nserver time to last byte, no parsing, kept-alive connection (median ms; ratio = server / monitor):`);
  console.log(`("monitor, answer rebuilt": the store changed before each read, so the answer is made again from the entries, not sent as kept;`);
  console.log(` "Node floor": a Node HTTP server answering the monitor's bytes for the same path from a constant Buffer, the cost of the round trip alone;`);
  console.log(` each read runs untimed on every server as often as it is timed (twice for whole LISTs), then timed, interleaved;
 the client is a process of its own, so that no server shares its event loop with it)\n`);
  console.log(`| ${size} pods | ${columns.map((c) => c.name).join(' | ')} | ${columns.slice(1).map((c) => `${c.name} / monitor`).join(' | ')} |`);
  console.log(`| --- | ${columns.map(() => '---:').join(' | ')} | ${columns.slice(1).map(() => '---:').join(' | ')} |`);
  let parseLine = '';
  const notes: string[] = [];
  for (const read of reads) {
    const times = columns.map(() => [] as number[]);
    const items: number[] = columns.map(() => 0);
    const active = columns.filter((c) => read.path || !c.wholeOnly);
    const gzip = read.gzip === true;
    const bytes = columns.map(() => 0);
    const gzipped = columns.map(() => false);
    const timeOne = async (c: Column): Promise<number> => {
      await c.before?.();
      const i = columns.indexOf(c);
      const r = read.path ? await reader.get(c.endpoint, read.path, gzip) : await reader.paged(c.endpoint);
      if (r.status !== 200) throw new Error(`${c.name} answered ${r.status} to ${read.path || 'a paged LIST'}`);
      if (r.items !== undefined) items[i] = r.items;
      bytes[i] = r.bytes;
      gzipped[i] = r.gzipped;
      return r.ms;
    };
    for (const c of columns) {
      const first = read.path ? await c.raw.get(read.path, { keep: true, gzip }) : undefined;
      if (first) {
        if (first.status !== 200) throw new Error(`${c.name} answered ${first.status} to ${read.path}: ${first.body!.toString().slice(0, 300)}`);
        items[columns.indexOf(c)] = (JSON.parse(first.body!.toString()) as { items: unknown[] }).items.length;
        if (c === columns[0]) for (const f of columns) f.floor?.set(floorKey(read.path, false), first.body!);
      }
    }
    if (gzip) {
      // The monitor's gzip of a kept answer is made at its first request for it: ask once more.
      const again = await columns[0].raw.get(read.path, { keep: true, gzip });
      if (again.gzipped) for (const f of columns) f.floor?.set(floorKey(read.path, true), gzipSync(again.body!, { level: constants.Z_BEST_SPEED }));
    }
    // The columns that change the store before each read run apart, after the others: between
    // two reads of the monitor they would make it answer from a new answer, not a kept one.
    const warm = read.path === '/api/v1/pods' ? 2 : read.runs;
    for (const group of [active.filter((c) => !c.before), active.filter((c) => c.before)]) {
      for (let r = 0; r < warm; r++) for (const c of group) await timeOne(c);
      for (let r = 0; r < read.runs; r++) for (const c of group) times[columns.indexOf(c)].push(await timeOne(c));
    }
    if (gzip) notes.push(`${read.name}: ${columns.map((c, i) => `${c.name} sent ${(bytes[i] / 1024).toFixed(0)} KiB${gzipped[i] ? ' gzipped' : ''}`).join(', ')}`);
    const m = times.map((t) => (t.length ? median(t) : NaN));
    const counts = items.filter((_, i) => times[i].length);
    if (new Set(counts).size !== 1) console.log(`(the servers answered different counts: ${columns.map((c, i) => `${c.name} ${items[i]}`).join(', ')})`);
    const cell = (x: number, f: (x: number) => string) => (Number.isNaN(x) ? '—' : f(x));
    console.log(`| ${read.name} (${items[0]} pods) | ${m.map((x) => cell(x, (v) => v.toFixed(2))).join(' | ')} | ${m.slice(1).map((x) => cell(x, (v) => `${(v / m[0]).toFixed(1)}×`)).join(' | ')} |`);
    if (read.name === 'full LIST') {
      const body = (await columns[0].raw.get(read.path, { keep: true })).body!;
      const parse: number[] = [];
      for (let r = 0; r < 3; r++) {
        const t = performance.now();
        JSON.parse(body.toString());
        parse.push(performance.now() - t);
      }
      parseLine = `client parse time of the full LIST (${(body.length / 1e6).toFixed(1)} MB, not included above): ${median(parse).toFixed(0)} ms (median)`;
    }
  }
  console.log(`\n${parseLine}`);
  for (const n of notes) console.log(n);
}

/**
 * Heap the monitor holds per pod (three views), against the size of a pod's JSON. The devcluster
 * runs in another process, so what this process gained since before the monitor started is the
 * monitor's. Buffers count: their bytes are outside the JS heap but held all the same.
 */
async function heapPerPod(monitor: Monitor, heapBefore: number, devcluster: RawClient): Promise<void> {
  const views = await monitor.store.sizes('pods');
  gc();
  const perPod = (heapAndBuffers() - heapBefore) / views.aggregated;
  const list = JSON.parse((await devcluster.get('/api/v1/pods', { keep: true })).body!.toString()) as { items: object[] };
  const jsonBytes = list.items.reduce((n: number, p) => n + Buffer.byteLength(JSON.stringify(p)), 0) / list.items.length;
  console.log(
    `\nheap + buffers per cached pod, three views (${views.streamed} streamed, ${views.verified} verified, ${views.aggregated} aggregated): ${perPod.toFixed(0)} bytes; ` +
      `baseline, the pod's JSON: ${jsonBytes.toFixed(0)} bytes (ratio ${(perPod / jsonBytes).toFixed(2)})`,
  );
}

/**
 * 1,000 watchers of one namespace's pods, on the monitor then on the devcluster, while 100 pods
 * of it change: the devcluster's open watches and the CPU seconds it spent.
 */
async function fanOut(dev: ChildDevCluster, monitor: Monitor, api: KubeClient, size: number): Promise<void> {
  const changes = Math.min(100, Math.floor(size / NAMESPACES));
  const namespace = 'ns-3';
  const measure = async (target: Endpoint, round: number) => {
    const rv = (await call<KubeList>(target, 'GET', `/api/v1/namespaces/${namespace}/pods?limit=1`)).metadata?.resourceVersion;
    const agent = target.url.startsWith('https:') ? undefined : new http.Agent({ keepAlive: false, maxSockets: Infinity });
    const watchers = await openWatchers(target, `/api/v1/namespaces/${namespace}/pods?watch=1&allowWatchBookmarks=true&resourceVersion=${rv}`, WATCHERS, agent);
    if (watchers.refused) {
      watchers.close();
      return { refused: watchers.refused };
    }
    await sleep(500);
    const watches = devclusterWatches(await call<string>(dev, 'GET', '/metrics'));
    const cpu0 = cpuSeconds(dev.child.pid!);
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < changes) {
          const i = next++;
          await api.patch({ ...PODS, namespace, name: `pod-${i * 10 + 3}` }, { metadata: { annotations: { round: String(round) } } });
        }
      }),
    );
    while (watchers.events() < changes * WATCHERS && performance.now() - t0 < 120_000) await sleep(50);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = cpuSeconds(dev.child.pid!) - cpu0;
    const delivered = watchers.events();
    watchers.close();
    return { watches, cpu, seconds, delivered };
  };
  console.log(`\nwatch fan-out: ${WATCHERS} watchers of ${namespace}'s pods, ${changes} of its pods changed:`);
  const viaMonitor = await measure({ url: monitor.url, token: TOKEN }, 1);
  const direct = await measure(dev, 2);
  const line = (name: string, r: Awaited<ReturnType<typeof measure>>) =>
    'refused' in r && r.refused
      ? `- on the ${name}: refused (${r.refused})`
      : `- on the ${name}: devcluster open watches ${r.watches}, devcluster CPU ${r.cpu!.toFixed(2)} s, ${r.delivered} of ${changes * WATCHERS} events delivered in ${r.seconds!.toFixed(1)} s`;
  console.log(line('monitor', viaMonitor));
  console.log(line('devcluster', direct));
  if (!('refused' in viaMonitor) && !('refused' in direct)) console.log(`  ratio of devcluster CPU, monitor / direct: ${(viaMonitor.cpu! / Math.max(direct.cpu!, 0.01)).toFixed(3)}`);
}

function heapAndBuffers(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

function devclusterWatches(metrics: string): number {
  return Number(/^devcluster_watches (\d+)/m.exec(metrics)?.[1] ?? NaN);
}

/** `n` open watches counting the events they get (lines), without parsing them. */
async function openWatchers(target: Endpoint, path: string, n: number, agent?: http.Agent): Promise<{ events(): number; close(): void; refused?: string }> {
  const { request: get } = target.url.startsWith('https:') ? await import('node:https') : await import('node:http');
  const reqs: http.ClientRequest[] = [];
  let events = 0;
  let refused: string | undefined;
  // In batches of 100: a thousand connects at once overflow the listen backlog of a busy server.
  const batch = 100;
  for (let from = 0; from < n; from += batch) await Promise.all(
    Array.from({ length: Math.min(batch, n - from) }, () =>
      new Promise<void>((resolve) => {
        const req = get(new URL(path, target.url), { agent: agent ?? false, ca: target.ca, headers: { Authorization: `Bearer ${target.token}` } }, (res) => {
          if (res.statusCode !== 200) {
            let text = '';
            res.on('data', (c) => (text += c));
            res.on('end', () => {
              refused ??= `${res.statusCode}: ${text.slice(0, 200)}`;
              resolve();
            });
            return;
          }
          res.on('data', (c: Buffer) => {
            for (let i = c.indexOf(10); i >= 0; i = c.indexOf(10, i + 1)) events++;
          });
          res.on('error', () => {});
          resolve();
        });
        req.on('error', (err) => {
          refused ??= err.message;
          resolve();
        });
        req.end();
        reqs.push(req);
      }),
    ),
  );
  return { events: () => events, close: () => reqs.forEach((r) => r.destroy()), refused };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function serverRequests(dev: Endpoint): Promise<number> {
  const text = await call<string>(dev, 'GET', '/metrics');
  let n = 0;
  for (const m of text.matchAll(/^devcluster_requests_total\{[^}]*\} (\d+)/gm)) n += Number(m[1]);
  return n;
}

/** 100 clients reading a namespace's pods by label once a second, through the monitor, then directly. */
async function clientLoad(dev: Endpoint, api: KubeClient, monitor: Monitor): Promise<void> {
  const viaMonitor = new KubeClient(monitorKubeConfig(monitor.url, TOKEN));
  const clients = 100;
  const seconds = 10;
  const load = async (read: (i: number) => Promise<unknown>) => {
    const before = await serverRequests(dev);
    const started = performance.now();
    await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        for (let s = 0; s < seconds; s++) {
          const due = started + s * 1000 + (c * 1000) / clients;
          await sleep(Math.max(0, due - performance.now()));
          await read(c);
        }
      }),
    );
    return (await serverRequests(dev)) - before;
  };
  const read = (client: KubeClient) => (c: number) => client.list({ ...PODS, namespace: `ns-${c % NAMESPACES}` }, { labelSelector: `app=app-${c % 100}` });
  const through = await load(read(viaMonitor));
  const direct = await load(read(api));
  viaMonitor.close();
  console.log(`\nrequests reaching the API server, ${clients} clients reading once a second for ${seconds} s: through the monitor ${through}, directly ${direct} (ratio ${(through / Math.max(1, direct)).toFixed(4)})`);
}

/** A writer and a reader replica on one redis-server, against the in-memory monitor and the API server. */
async function redisReplicas(kc: KubeConfig, api: KubeClient, memory: Monitor, size: number): Promise<void> {
  const redis = await startTestRedis();
  const config = (identity: string) =>
    parseMonitorConfig({
      listen: '127.0.0.1:0',
      defaultResources: false,
      resources: ['v1/pods'],
      verifyIntervalSeconds: 3600,
      canaryIntervalSeconds: 0,
      redis: { url: redis.url, identity },
    });
  const writer = await startMonitor({ config: config('writer'), token: TOKEN, kubeConfig: kc });
  while (!writer.isWriter()) await sleep(50);
  const reader = await startMonitor({ config: config('reader'), token: TOKEN, kubeConfig: kc });
  while (!reader.ready()) await sleep(50);
  const viaReader = new KubeClient(monitorKubeConfig(reader.url, TOKEN));
  const viaMemory = new KubeClient(monitorKubeConfig(memory.url, TOKEN));
  const stats = createRedisClient({ url: redis.url });
  await stats.connect();
  try {
    const query = { namespace: 'ns-3', labelSelector: 'app=app-13' };
    const read = (c: KubeClient) => () => c.list({ ...PODS, namespace: query.namespace }, { labelSelector: query.labelSelector });
    const q = await compare(11, read(api), read(viaReader));
    const mem = await compare(11, read(api), read(viaMemory));
    console.log(
      `\nquery by namespace and label selector at ${size} pods, parsed by the client: Redis-backed replica ${q.monitor.toFixed(2)} ms, in-memory monitor ${mem.monitor.toFixed(2)} ms, API server ${q.server.toFixed(2)} ms ` +
        `(median; replica/server ${(q.monitor / q.server).toFixed(3)}, replica/memory ${(q.monitor / mem.monitor).toFixed(2)})`,
    );
    const full = await compare(5, () => api.list(PODS), () => viaReader.list(PODS));
    console.log(`full LIST of ${size} pods, parsed by the client: Redis-backed replica ${full.monitor.toFixed(0)} ms, API server ${full.server.toFixed(0)} ms (median; replica/server ${(full.monitor / full.server).toFixed(3)})`);

    // Redis commands per watch event: modify pods, count what the writer sent; a change of labels
    // also moves the pod between label sets, a change of anything else does not.
    const n = Math.min(2000, size);
    const stream = () => Object.values(writer.watches.get('pods')!.stream.stats.events).reduce((a, b) => a + b, 0);
    const perEvent = async (what: string, patch: object) => {
      const eventsBefore = stream();
      const before = commandStats(await stats.info('commandstats'));
      let next = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < n) {
            const i = next++;
            await api.patch({ ...PODS, namespace: `ns-${i % NAMESPACES}`, name: `pod-${i}` }, patch);
          }
        }),
      );
      while (stream() - eventsBefore < n) await sleep(20);
      await sleep(500);
      const after = commandStats(await stats.info('commandstats'));
      const events = stream() - eventsBefore;
      const writes = ['multi', 'exec', 'hset', 'hdel', 'sadd', 'srem', 'del', 'set'];
      const delta = Object.fromEntries(writes.map((c) => [c, (after[c] ?? 0) - (before[c] ?? 0)]));
      const total = Object.values(delta).reduce((a, b) => a + b, 0);
      console.log(
        `redis commands per watch event (writer), ${what}: ${(total / events).toFixed(2)} over ${events} events (${writes.map((c) => `${c} ${(delta[c] / events).toFixed(2)}`).join(', ')}); ` +
          `baseline, a whole-frame rewrite of ${size} pods per event: ${size} fields per event`,
      );
    };
    await perEvent('a label added', { metadata: { labels: { touched: '1' } } });
    await perEvent('an annotation changed', { metadata: { annotations: { touched: '2' } } });
  } finally {
    viaReader.close();
    viaMemory.close();
    stats.destroy();
    await reader.stop();
    await writer.stop();
    await redis.close();
  }
}

async function compare(runs: number, server: () => Promise<unknown>, monitor: () => Promise<unknown>): Promise<{ server: number; monitor: number }> {
  await server();
  await monitor();
  const s: number[] = [];
  const m: number[] = [];
  for (let i = 0; i < runs; i++) {
    let t = performance.now();
    await server();
    s.push(performance.now() - t);
    t = performance.now();
    await monitor();
    m.push(performance.now() - t);
  }
  return { server: median(s), monitor: median(m) };
}

function commandStats(info: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of info.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)) out[m[1]] = Number(m[2]);
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

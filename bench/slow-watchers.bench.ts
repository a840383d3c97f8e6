/**
 * What watchers that never read cost the devcluster: `kre devcluster --nodes 0` in a child process,
 * ten watches whose clients send the request and never read the answer (a suspended
 * `kubectl get -w`, asking for Table rows with the object as kubectl does), then N writes of
 * 100 KiB ConfigMaps. The figure is the growth of the server's
 * resident memory from before the writes to after them, against a baseline run of the same writes
 * with no watcher, for N = 100, 200, 400 (medians of 3 runs, a fresh process each).
 */
import { connect, type TLSSocket } from 'node:tls';
import type { KubeList } from '../src/kube/index.ts';
import { call, rssBytes, startChildDevCluster as startServer, stopChildDevCluster as stopServer, type ChildDevCluster as Server } from './servers.ts';

const WATCHERS = 10;
const VALUE = 'x'.repeat(100 * 1024);
/** What `kubectl get -w` asks for. */
const KUBECTL_WATCH_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';

function stalledWatch(s: Server, path: string): Promise<TLSSocket> {
  const url = new URL(s.url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: url.hostname, port: Number(url.port), ca: s.ca }, () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${s.token}\r\nAccept: ${KUBECTL_WATCH_ACCEPT}\r\n\r\n`);
      socket.pause();
      resolve(socket);
    });
    socket.on('error', () => {});
    socket.once('error', reject);
  });
}

/** RSS growth over `writes` writes with `watchers` stalled watches, and the watches closed as too slow. */
async function once(writes: number, watchers: number): Promise<{ growth: number; closed: number }> {
  const s = await startServer();
  try {
    await call(s, 'POST', '/api/v1/namespaces', { metadata: { name: 'bench' } });
    const rv = (await call<KubeList>(s, 'GET', '/api/v1/namespaces/bench/configmaps')).metadata.resourceVersion;
    const sockets = await Promise.all(Array.from({ length: watchers }, () => stalledWatch(s, `/api/v1/namespaces/bench/configmaps?watch=1&resourceVersion=${rv}&includeObject=Object`)));
    await new Promise((r) => setTimeout(r, 500));
    const before = rssBytes(s.child.pid!);
    for (let i = 0; i < writes; i++) await call(s, 'POST', '/api/v1/namespaces/bench/configmaps', { metadata: { name: `cm-${i}` }, data: { v: VALUE } });
    await new Promise((r) => setTimeout(r, 1000));
    const growth = rssBytes(s.child.pid!) - before;
    const metrics = await call<string>(s, 'GET', '/metrics');
    const closed = Number(/^devcluster_watches_closed_too_slow_total\{[^}]*\} (\d+)/m.exec(metrics)?.[1] ?? 0);
    for (const sock of sockets) sock.destroy();
    return { growth, closed };
  } finally {
    await stopServer(s);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mib = (n: number) => (n / 1024 / 1024).toFixed(1);

export async function run(): Promise<void> {
  const repeats = Number(process.env.KRE_BENCH_REPEATS ?? 3);
  console.log(`| writes of 100 KiB | RSS growth, no watcher (MiB) | RSS growth, ${WATCHERS} stalled watchers (MiB) | ratio | closed as too slow |`);
  console.log('| ---: | ---: | ---: | ---: | ---: |');
  for (const writes of [100, 200, 400]) {
    const base: number[] = [];
    const stalled: number[] = [];
    let closed = 0;
    for (let r = 0; r < repeats; r++) {
      base.push((await once(writes, 0)).growth);
      const s = await once(writes, WATCHERS);
      stalled.push(s.growth);
      closed = s.closed;
    }
    const b = median(base);
    const w = median(stalled);
    console.log(`| ${writes} | ${mib(b)} | ${mib(w)} | ${(w / Math.max(b, 1)).toFixed(2)} | ${closed} |`);
  }
}

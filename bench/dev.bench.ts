/**
 * `kre dev` as a user runs it (bin/kre.js, a fresh state dir each time):
 * - time from spawn to its ready line, and its RSS (and Prometheus') once settled, with Prometheus
 *   and with `--no-prometheus` (the baseline), alternating, medians;
 * - on one kre dev with Prometheus: time from a version's Start (what `kre version create` sends)
 *   to phase Running, and to the manager's first CPU point from Prometheus for it.
 * Set KRE_BENCH_DEV_REPEATS (default 3) for more starts.
 */
import { readFileSync } from 'node:fs';
import { VersionRequest as MetricsRequest, type Response as MetricsResponse } from '../src/gen/resourcemetrics/resourcemetrics.ts';
import type { VersionStatusResponse } from '../src/gen/version/version.ts';
import { eventually } from '../src/devcluster/testing.ts';
import { call, credentialsMessage, versionMessage, versionRequest } from '../src/manager/testing.ts';
import { managerClients, startKreDev, type KreDevProcess } from '../test/support/kre-dev.ts';

const REPEATS = Number(process.env.KRE_BENCH_DEV_REPEATS ?? '3');
const SETTLE_MS = 10_000;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rssMiB(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

interface StartFigures {
  readyMs: number;
  kreMiB: number;
  prometheusMiB: number;
}

async function oneStart(prometheus: boolean): Promise<StartFigures> {
  const dev = await startKreDev({ scrapeIntervalSeconds: 5, args: prometheus ? [] : ['--no-prometheus'] });
  try {
    await sleep(SETTLE_MS);
    return { readyMs: dev.readyMs, kreMiB: rssMiB(dev.child.pid), prometheusMiB: rssMiB(dev.prometheusPid()) };
  } finally {
    await dev.stop();
    dev.cleanup();
  }
}

async function startFigures(): Promise<void> {
  const withP: StartFigures[] = [];
  const without: StartFigures[] = [];
  for (let i = 0; i < REPEATS; i++) {
    // Alternating the order keeps a warming machine from favouring either side.
    if (i % 2 === 0) {
      withP.push(await oneStart(true));
      without.push(await oneStart(false));
    } else {
      without.push(await oneStart(false));
      withP.push(await oneStart(true));
    }
  }
  const m = (xs: StartFigures[], k: keyof StartFigures) => median(xs.map((x) => x[k]));
  console.log(`kre dev (3 nodes), spawn to ready, median of ${REPEATS}:`);
  console.log(`  with Prometheus:    ${m(withP, 'readyMs').toFixed(0)} ms`);
  console.log(`  --no-prometheus:    ${m(without, 'readyMs').toFixed(0)} ms (baseline; ratio ${(m(withP, 'readyMs') / m(without, 'readyMs')).toFixed(2)})`);
  console.log(`RSS ${SETTLE_MS / 1000} s after ready, median of ${REPEATS}:`);
  console.log(`  with Prometheus:    kre dev ${m(withP, 'kreMiB').toFixed(0)} MiB + prometheus ${m(withP, 'prometheusMiB').toFixed(0)} MiB = ${(m(withP, 'kreMiB') + m(withP, 'prometheusMiB')).toFixed(0)} MiB`);
  console.log(`  --no-prometheus:    kre dev ${m(without, 'kreMiB').toFixed(0)} MiB (baseline; total ratio ${((m(withP, 'kreMiB') + m(withP, 'prometheusMiB')) / m(without, 'kreMiB')).toFixed(2)})`);
}

/** Runtime, then a version Started: ms to Running and to the first CPU point. */
async function versionFigures(dev: KreDevProcess): Promise<{ runningMs: number; firstPointMs: number }> {
  const c = managerClients(dev.clientConfig());
  const opts = { token: c.token, deadlineMs: 300_000 };
  try {
    const ns = 'bench';
    await call(c.runtime, 'create', { runtime: { name: ns, namespace: ns, ...credentialsMessage() } }, opts);
    await call(c.runtime, 'runtimeStatus', { runtime: { name: ns, namespace: ns } }, opts);
    const t0 = Date.now();
    await call(c.version, 'start', versionRequest(versionMessage(ns, 'v1')), opts);
    await eventually(async () => (await call<VersionStatusResponse>(c.version, 'versionStatus', { name: 'v1', namespace: ns }, opts)).phase === 'Running', 300_000, 'version Running');
    const runningMs = Date.now() - t0;
    await eventually(
      async () => {
        const now = Date.now();
        const res = await call<MetricsResponse>(c.metrics, 'getVersion', MetricsRequest.fromPartial({ namespace: ns, versionName: 'v1', fromDate: new Date(t0 - 60_000).toISOString(), toDate: new Date(now).toISOString(), step: 5 }), opts);
        return res.versionResourceMetrics.some((p) => p.cpu > 0);
      },
      300_000,
      'a CPU point',
    );
    return { runningMs, firstPointMs: Date.now() - t0 };
  } finally {
    c.close();
  }
}

export async function run(): Promise<void> {
  await startFigures();
  const dev = await startKreDev({ scrapeIntervalSeconds: 5 });
  try {
    const f = await versionFigures(dev);
    console.log('Version Start (2 nodes + entrypoint) on kre dev with Prometheus scraping every 5 s:');
    console.log(`  to phase Running:               ${f.runningMs} ms`);
    console.log(`  to the first CPU point (manager from Prometheus): ${f.firstPointMs} ms (ratio to Running ${(f.firstPointMs / f.runningMs).toFixed(2)})`);
  } finally {
    await dev.stop();
    dev.cleanup();
  }
}

/**
 * The manager's costs on a devcluster with simulated nodes and a cluster-wide operator, each
 * against a baseline measured in the same process:
 * - Create → RuntimeStatus `STARTED` over gRPC, against writing the same Namespace, Secrets and
 *   Runtime straight to the API server and waiting for the operator's phase Running (what the
 *   manager adds on top of the operator's own work), median of repeats;
 * - how that grows with N runtimes created at once (N = 1, 3, 6), against the same N written directly.
 * `KRE_BENCH_REPEATS` sets the repeats (default 3).
 */
import { RUNTIMES, type Runtime } from '../src/api/index.ts';
import type { KubeClient } from '../src/kube/index.ts';
import { renderCredentialSecrets, renderNamespace, renderRuntime } from '../src/manager/runtime-objects.ts';
import { call, credentialsMessage, startHarness, type Harness } from '../src/manager/testing.ts';

const REPEATS = Number(process.env.KRE_BENCH_REPEATS ?? '3');
const TIMEOUT_MS = 600_000;
let serial = 0;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export async function run(): Promise<void> {
  const h = await startHarness({ nodes: 4 });
  try {
    await createToStarted(h);
    // The resource metrics figures (queries per interval, GetVersion against direct PromQL) are in
    // bench/manager-metrics.bench.ts, which `npm run bench -- manager` runs as well.
  } finally {
    await h.stop();
  }
}

/** The objects Create writes, written directly; resolves once the operator reports Running. */
async function direct(kube: KubeClient, namespace: string): Promise<void> {
  const req = { name: namespace, namespace, ...credentialsMessage() };
  await kube.create({ group: '', version: 'v1', plural: 'namespaces' }, renderNamespace(namespace));
  for (const { secret } of renderCredentialSecrets(req)) await kube.create({ group: '', version: 'v1', plural: 'secrets', namespace }, secret);
  await kube.create({ ...RUNTIMES, namespace }, renderRuntime(req));
  const deadline = Date.now() + TIMEOUT_MS;
  while ((await kube.get<Runtime>({ ...RUNTIMES, namespace, name: namespace })).status?.phase !== 'Running') {
    if (Date.now() > deadline) throw new Error(`runtime ${namespace} did not become Running`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Create and RuntimeStatus over gRPC, as the admin service calls them. */
async function throughManager(h: Harness, namespace: string): Promise<void> {
  const req = { runtime: { name: namespace, namespace, ...credentialsMessage() } };
  await call(h.runtime, 'create', req);
  const res = await call<{ Status: string }>(h.runtime, 'runtimeStatus', req, { deadlineMs: TIMEOUT_MS });
  if (res.Status !== 'STARTED') throw new Error(`runtime ${namespace}: ${res.Status}`);
}

async function timed(n: number, fn: (ns: string) => Promise<void>): Promise<number> {
  const names = Array.from({ length: n }, () => `bench-rt-${++serial}`);
  const t0 = performance.now();
  await Promise.all(names.map(fn));
  return performance.now() - t0;
}

async function createToStarted(h: Harness): Promise<void> {
  const viaManager: number[] = [];
  const directly: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    // Alternating the order keeps a warming cluster from favouring either side.
    if (i % 2 === 0) {
      viaManager.push(await timed(1, (ns) => throughManager(h, ns)));
      directly.push(await timed(1, (ns) => direct(h.kube, ns)));
    } else {
      directly.push(await timed(1, (ns) => direct(h.kube, ns)));
      viaManager.push(await timed(1, (ns) => throughManager(h, ns)));
    }
  }
  const m = median(viaManager);
  const d = median(directly);
  console.log(`Create → RuntimeStatus STARTED over gRPC (1 runtime, 6 pods), median of ${REPEATS}: ${m.toFixed(0)} ms`);
  console.log(`  baseline, the same objects written directly until phase Running:     ${d.toFixed(0)} ms (ratio ${(m / d).toFixed(2)})`);
  console.log('Growth: N runtimes created at once, time until all are STARTED (ratio to the direct writes of the same N)');
  for (const n of [3, 6]) {
    const a = await timed(n, (ns) => throughManager(h, ns));
    const b = await timed(n, (ns) => direct(h.kube, ns));
    console.log(`  N=${n}: ${a.toFixed(0)} ms via the manager, ${b.toFixed(0)} ms direct (ratio ${(a / b).toFixed(2)}; ${(a / m).toFixed(2)}× the single runtime)`);
  }
}

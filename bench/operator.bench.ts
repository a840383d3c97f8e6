/**
 * The operator's costs on a devcluster with simulated nodes, each against a baseline measured in
 * the same process:
 * - time from creating a development-mode Runtime to its phase Running, against applying the same
 *   rendered StatefulSets and Services directly and waiting until they are ready (what the operator
 *   adds on top of the cluster's own work);
 * - how convergence time grows with 10, 30 and 100 Runtimes, each with 3 RuntimeVersions
 *   (`KRE_BENCH_SCALE`, e.g. 0.1, shrinks the counts), against the smallest run per Runtime;
 * - API writes per reconcile in steady state (every object woken once, nothing changed): zero is the goal.
 */
import { Registry } from 'prom-client';
import { startDevCluster, type DevCluster } from '../src/devcluster/index.ts';
import { KubeClient, applyObject, type StatefulSet } from '../src/kube/index.ts';
import { createLogger } from '../src/kube/logger.ts';
import { API_VERSION, RUNTIME_VERSIONS, RUNTIMES, RuntimeSpec, type Runtime, type RuntimeObject, type RuntimeVersionObject } from '../src/api/index.ts';
import { installCustomResourceDefinitions, startOperator } from '../src/operator/index.ts';
import { renderRuntimeWorkloads } from '../src/operator/runtime-objects.ts';
import { createNamespace, operatorWrites, runtimeObject, runtimeRef, settledWrites, STATEFULSETS, versionObject } from '../src/operator/testing.ts';

const SCALE = Number(process.env.KRE_BENCH_SCALE ?? '1');
const VERSIONS_PER_RUNTIME = 3;

export async function run(): Promise<void> {
  const counts = [10, 30, 100].map((n) => Math.max(1, Math.round(n * SCALE)));
  // Every run's Runtimes stay in the cluster, so the nodes must hold all of them at once.
  const pods = counts.reduce((a, b) => a + b, 2) * (4 + VERSIONS_PER_RUNTIME * 2);
  const cluster = await startDevCluster({ nodes: 4, maxPods: Math.ceil(pods / 4) + 50 });
  const client = new KubeClient(cluster.kubeConfig());
  await installCustomResourceDefinitions(client);
  try {
    await timeToRunning(cluster, client);
    await convergence(cluster, client, counts);
  } finally {
    client.close();
    await cluster.stop();
  }
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function timeToRunning(_cluster: DevCluster, client: KubeClient): Promise<void> {
  // Baseline: the same children applied by hand, waited for as the operator waits for them.
  await createNamespace(client, 'bench-direct');
  const rt: Runtime = { ...runtimeObject('bench-direct', 'bench-direct'), apiVersion: API_VERSION, kind: 'Runtime', spec: RuntimeSpec.parse({ developmentMode: true }) };
  rt.metadata.uid = 'none';
  const children = renderRuntimeWorkloads(rt, { mongo: 'm', minio: 'n' }).map((o) => ({ ...o, metadata: { ...o.metadata, ownerReferences: undefined } }));
  const t0 = performance.now();
  for (const obj of children) await applyObject(client, obj, { fieldManager: 'bench', force: true });
  await waitFor('the StatefulSets applied by hand', async () => {
    const sets = (await client.list<StatefulSet>({ ...STATEFULSETS, namespace: 'bench-direct' })).items;
    return sets.length === 3 && sets.every((s) => (s.status?.readyReplicas ?? 0) >= (s.spec?.replicas ?? 1));
  });
  const direct = performance.now() - t0;

  const op = startOperator({ client, logger: createLogger('operator', 'silent'), leaderElection: false });
  await createNamespace(client, 'bench-one');
  await waitFor('the operator', async () => op.leading());
  const t1 = performance.now();
  await client.create({ ...RUNTIMES, namespace: 'bench-one' }, runtimeObject('bench-one', 'bench-one', { developmentMode: true }));
  await waitFor('Runtime Running', async () => (await client.get<RuntimeObject>(runtimeRef('bench-one', 'bench-one'))).status?.phase === 'Running');
  const withOperator = performance.now() - t1;
  await op.stop();
  console.log(`Runtime applied to phase Running (development mode, 4 pods): ${withOperator.toFixed(0)} ms`);
  console.log(`  baseline, the same children applied by hand until ready:    ${direct.toFixed(0)} ms (ratio ${(withOperator / direct).toFixed(2)})`);
}

async function convergence(cluster: DevCluster, client: KubeClient, counts: number[]): Promise<void> {
  let perRuntimeBaseline: number | undefined;
  let created = 0;
  for (const count of counts) {
    const registry = new Registry();
    const op = startOperator({ client, logger: createLogger('operator', 'silent'), registry, leaderElection: false, workers: 8 });
    await waitFor('the operator', async () => op.leading());
    const namespaces: string[] = [];
    const t0 = performance.now();
    for (let i = 0; i < count; i++) {
      const ns = `bench-${count}-${i}`;
      namespaces.push(ns);
      await createNamespace(client, ns);
      await client.create({ ...RUNTIMES, namespace: ns }, runtimeObject(ns, ns, { developmentMode: true, publishedVersion: 'v0' }));
      for (let v = 0; v < VERSIONS_PER_RUNTIME; v++) {
        await client.create({ ...RUNTIME_VERSIONS, namespace: ns }, versionObject(ns, `v${v}`, { main: ['model'] }));
      }
    }
    created += count;
    await waitFor(`${count} Runtimes and their versions Running`, async () => {
      const runtimes = (await client.list<RuntimeObject>(RUNTIMES)).items.filter((r) => namespaces.includes(r.metadata.namespace ?? ''));
      const versions = (await client.list<RuntimeVersionObject>(RUNTIME_VERSIONS)).items.filter((r) => namespaces.includes(r.metadata.namespace ?? ''));
      return runtimes.every((r) => r.status?.phase === 'Running') && versions.length === count * VERSIONS_PER_RUNTIME && versions.every((v) => v.status?.phase === 'Running');
    }, 1_800_000);
    const elapsed = performance.now() - t0;
    const perRuntime = elapsed / count;
    perRuntimeBaseline ??= perRuntime;
    console.log(
      `${String(count).padStart(3)} Runtimes × ${VERSIONS_PER_RUNTIME} RuntimeVersions converged in ${(elapsed / 1000).toFixed(1)} s: ` +
        `${perRuntime.toFixed(0)} ms per Runtime (ratio ${(perRuntime / perRuntimeBaseline).toFixed(2)} against the smallest run; ${created} Runtimes in the cluster)`,
    );

    // Steady state: wake every object once with a change that is not in its spec.
    await settledWrites(cluster);
    const writesBefore = await operatorWrites(cluster);
    const reconcilesBefore = await reconciles(registry);
    for (const ns of namespaces) {
      await client.patch(runtimeRef(ns, ns), { metadata: { annotations: { 'bench/touched': String(Date.now()) } } });
    }
    await waitFor('the reconciles of the woken objects', async () => (await reconciles(registry)) - reconcilesBefore >= count * (1 + VERSIONS_PER_RUNTIME));
    await new Promise((r) => setTimeout(r, 1000));
    const writes = (await operatorWrites(cluster)) - writesBefore;
    const done = (await reconciles(registry)) - reconcilesBefore;
    console.log(`  steady state: ${writes} API writes in ${done} reconciles (${(writes / done).toFixed(3)} writes per reconcile; goal 0)`);
    await op.stop();
  }
}

async function reconciles(registry: Registry): Promise<number> {
  const metric = await registry.getSingleMetric('kre_controller_reconcile_total')?.get();
  return (metric?.values ?? []).reduce((sum, v) => sum + v.value, 0);
}

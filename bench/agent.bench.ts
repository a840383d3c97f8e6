/**
 * The agent on a simulated node (cgroup v2, systemd) with 30, 110 (a kubelet's default maxPods)
 * and 250 ready pods (`KRE_BENCH_SCALE` scales the counts):
 *
 * - one iteration (tasks from the pod list, every task's cgroup files read and parsed, metrics
 *   text rendered): CPU ms and wall ms, medians, against a baseline that only reads the same
 *   files (`measuredFiles`) with the same concurrency in the same process — the ratio is what the
 *   agent adds to the reads it cannot avoid;
 * - the share of one core that costs at the default 10 s interval;
 * - the kubelet's `/pods` over HTTPS, separately: the simulated kubelet serves it from this same
 *   process, so its CPU (client and server) is not the agent's alone;
 * - one iteration in allocation mode (a rule for every task, nothing to write: the steady state);
 * - heap before and after 50 iterations at the largest size (state must not grow).
 */
import { readFile } from 'node:fs/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createLogger } from '../src/kube/logger.ts';
import type { Pod } from '../src/kube/index.ts';
import { Agent, podRefOf } from '../src/agent/agent.ts';
import { detectLayout, measuredFiles } from '../src/agent/cgroups/index.ts';
import { parseAgentConfig, type AgentConfig } from '../src/agent/config.ts';
import { KubeletPodSource, type PodSource } from '../src/agent/pod-source.ts';
import { selectTasks } from '../src/agent/tasks.ts';
import { createPod, ensureNamespace, startSimulatedNode, waitRunning, writePass, type SimulatedNode } from '../src/agent/testing.ts';

const SCALE = Number(process.env.KRE_BENCH_SCALE ?? '1');
const RUNS = 15;
const INTERVAL_MS = 10_000;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** CPU ms (user + system) and wall ms of `run`, medians over RUNS after 3 warm-up runs. */
async function measure(run: () => Promise<unknown>): Promise<{ cpu: number; wall: number }> {
  for (let i = 0; i < 3; i++) await run();
  const cpu: number[] = [];
  const wall: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const c = process.cpuUsage();
    const t = performance.now();
    await run();
    wall.push(performance.now() - t);
    const d = process.cpuUsage(c);
    cpu.push((d.user + d.system) / 1000);
  }
  return { cpu: median(cpu), wall: median(wall) };
}

async function eachLimited<T>(items: readonly T[], limit: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await run(items[next++]);
  }));
}

function fixedSource(pods: readonly Pod[]): PodSource {
  return { pods: async () => ({ pods, stale: false, lastSuccessMs: Date.now() }), stop: async () => undefined };
}

async function addPods(node: SimulatedNode, from: number, to: number): Promise<void> {
  const made: Array<{ namespace: string; name: string }> = [];
  for (let i = from; i < to; i++) {
    const kind = i % 3;
    const resources = kind === 0 ? { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '100m', memory: '64Mi' } } : kind === 1 ? { requests: { cpu: '50m', memory: '32Mi' }, limits: { cpu: '1' } } : {};
    const name = `bench-${i}`;
    await createPod(node.client, { namespace: 'bench', name, labels: { app: `app-${i % 10}`, 'app.kubernetes.io/part-of': 'bench', tier: kind === 0 ? 'front' : 'back' }, resources });
    made.push({ namespace: 'bench', name });
  }
  await waitRunning(node, made);
  await writePass(node);
}

export async function run(): Promise<void> {
  if (!(SCALE > 0)) throw new Error(`KRE_BENCH_SCALE must be a positive number, not ${process.env.KRE_BENCH_SCALE}`);
  const sizes = [30, 110, 250].map((n) => Math.max(1, Math.round(n * SCALE)));
  const node = await startSimulatedNode({ maxPods: sizes[sizes.length - 1], cpu: '64', memory: '256Gi' });
  const logger = createLogger('agent', 'silent');
  try {
    await ensureNamespace(node.client, 'bench');
    const base = { node: node.name, intervalSeconds: 10, kubelet: { url: node.kubeletUrl, caFile: node.caFile, tokenFile: node.tokenFile }, cgroup: { root: node.cgroupRoot } };
    const monitoring: AgentConfig = parseAgentConfig(base);
    const allocating: AgentConfig = parseAgentConfig({ ...base, mode: 'allocation', allocation: { rules: [{ name: 'everyone', allocations: { cpu_shares: 0.5, cpu_quota: 1 } }] } });
    const layout = await detectLayout({ root: node.cgroupRoot });
    const kubelet = new KubeletPodSource({ url: node.kubeletUrl, caFile: node.caFile, tokenFile: node.tokenFile, timeoutMs: 10_000, maxResponseBytes: 64 << 20, staleAfterMs: 0 });
    let have = 0;
    const rows: string[] = [];
    let last: { agent: Agent; pods: readonly Pod[] } | undefined;
    for (const size of sizes) {
      await addPods(node, have, size);
      have = size;
      const { pods } = await kubelet.pods();
      const agent = new Agent({ config: monitoring, source: fixedSource(pods), cgroup: { root: node.cgroupRoot }, logger });
      const iteration = await measure(() => agent.iterate());
      const tasks = selectTasks(pods, { namespaces: [], excludeNamespaces: monitoring.excludeNamespaces, maxTasks: 10_000, podLabels: monitoring.podLabels }).tasks;
      const files = tasks.map((t) => measuredFiles(layout, podRefOf(t)));
      const baseline = await measure(() => eachLimited(files, 16, async (paths) => void (await Promise.all(paths.map((p) => readFile(p, 'utf8'))))));
      const fetch = await measure(() => kubelet.pods());
      const textBytes = Buffer.byteLength(agent.metricsText());
      rows.push(
        `${String(tasks.length).padStart(4)} tasks: iteration ${iteration.cpu.toFixed(2)} ms CPU / ${iteration.wall.toFixed(2)} ms wall; ` +
          `baseline (reading ${files.flat().length} files) ${baseline.cpu.toFixed(2)} ms CPU / ${baseline.wall.toFixed(2)} ms wall; ` +
          `ratio ×${(iteration.cpu / baseline.cpu).toFixed(2)} CPU, ×${(iteration.wall / baseline.wall).toFixed(2)} wall; ` +
          `${((iteration.cpu / INTERVAL_MS) * 100).toFixed(3)} % of a core at 10 s; kubelet /pods ${fetch.cpu.toFixed(2)} ms CPU (client and server) / ${fetch.wall.toFixed(2)} ms wall; metrics text ${(textBytes / 1024).toFixed(0)} KiB`,
      );
      if (size === sizes[1]) {
        const alloc = new Agent({ config: allocating, source: fixedSource(pods), cgroup: { root: node.cgroupRoot }, logger });
        await alloc.iterate();
        const a = await measure(() => alloc.iterate());
        rows.push(`      allocation mode at ${tasks.length} tasks (every task matched, nothing to write): ${a.cpu.toFixed(2)} ms CPU / ${a.wall.toFixed(2)} ms wall, ×${(a.cpu / iteration.cpu).toFixed(2)} of monitoring`);
      }
      last = { agent, pods };
    }
    for (const r of rows) console.log(r);
    const growth = rows.filter((r) => r.includes('tasks: iteration')).map((r) => Number(/iteration ([\d.]+) ms CPU/.exec(r)![1]));
    console.log(`growth of the iteration's CPU with the task count (${sizes.join(' → ')}): ${growth.map((g) => `×${(g / growth[0]).toFixed(2)}`).join(' → ')}`);
    if (last) {
      // The heap is compared after full collections: what the agent keeps, not its garbage.
      setFlagsFromString('--expose-gc');
      const gc = runInNewContext('gc') as (() => void) | undefined;
      gc?.();
      const before = process.memoryUsage();
      for (let i = 0; i < 50; i++) await last.agent.iterate();
      gc?.();
      const afterMem = process.memoryUsage();
      console.log(
        `memory at ${sizes[sizes.length - 1]} tasks: rss ${(afterMem.rss / 2 ** 20).toFixed(0)} MiB (the devcluster shares this process), ` +
          `heap ${(before.heapUsed / 2 ** 20).toFixed(1)} → ${(afterMem.heapUsed / 2 ** 20).toFixed(1)} MiB after 50 more iterations${gc ? ' (after GC)' : ''}`,
      );
    }
    await kubelet.stop();
  } finally {
    await node.stop();
  }
}

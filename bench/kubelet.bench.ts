/**
 * A simulated node with 500 pods (maxPods raised): the cost of one kubelet cgroup sync (values
 * from the specs, read back and compared) and of one cgroup write pass (caps read back, usage
 * model advanced, the counter files that changed rewritten), medians over several runs, per pod;
 * cgroup v2 with the systemd driver and v1 with cgroupfs; on tmpfs (/dev/shm, the default root)
 * and on the disk of the temporary directory. Then the longest the event loop waited during a
 * write pass that gives it back as the kubelet's does.
 */
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { CgroupFiles } from '../src/devcluster/nodes/cgroup-files.ts';
import { UsageModel } from '../src/devcluster/nodes/usage-model.ts';
import type { Pod, ResourceRequirements } from '../src/kube/index.ts';

const PODS = 500;
const RUNS = 7;

function pods(): Pod[] {
  const started = new Date(Date.now() - 60_000).toISOString();
  return Array.from({ length: PODS }, (_, i) => {
    const uid = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
    const kind = i % 3;
    const resources: ResourceRequirements = kind === 0 ? { requests: { cpu: '500m', memory: '128Mi' }, limits: { cpu: '500m', memory: '128Mi' } } : kind === 1 ? { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '1' } } : {};
    return {
      metadata: { uid, name: `bench-${i}`, namespace: 'default', annotations: {} },
      spec: { containers: [{ name: 'main', image: 'bench:1', resources }] },
      status: { containerStatuses: [{ name: 'main', ready: true, image: 'bench:1', imageID: '', restartCount: 0, containerID: `containerd://${uid.replace(/-/g, '').padEnd(64, 'a')}`, state: { running: { startedAt: started } } }] },
    };
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function shmWritable(): boolean {
  try {
    accessSync('/dev/shm', constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

export async function run(): Promise<void> {
  const list = pods();
  const places: Array<[string, string]> = [...(shmWritable() ? [['tmpfs', '/dev/shm'] as [string, string]] : []), ['disk', tmpdir()]];
  for (const [place, base] of places) {
    for (const [version, driver] of [['v2', 'systemd'], ['v1', 'cgroupfs']] as const) {
      const root = mkdtempSync(join(base, 'kre-bench-cgroup-'));
      try {
        const files = new CgroupFiles({ root, version, driver, cpus: 64 });
        const model = new UsageModel({ nodeName: 'bench', seed: 1 });
        files.sync(list);
        let now = Date.now();
        await files.writePass(list, model, now);
        const syncs: number[] = [];
        const passes: number[] = [];
        for (let i = 0; i < RUNS; i++) {
          let t = performance.now();
          files.sync(list);
          syncs.push(performance.now() - t);
          now += 10_000;
          t = performance.now();
          await files.writePass(list, model, now, Infinity);
          passes.push(performance.now() - t);
        }
        const s = median(syncs);
        const p = median(passes);
        console.log(`kubelet ${version}/${driver} on ${place}, ${PODS} pods: sync ${s.toFixed(1)} ms (${((s * 1000) / PODS).toFixed(1)} µs/pod), write pass ${p.toFixed(1)} ms (${((p * 1000) / PODS).toFixed(1)} µs/pod)`);
        const delay = monitorEventLoopDelay({ resolution: 1 });
        delay.enable();
        now += 10_000;
        const t = performance.now();
        await files.writePass(list, model, now);
        const took = performance.now() - t;
        delay.disable();
        console.log(`  write pass giving the event loop back: ${took.toFixed(1)} ms in all, longest event-loop wait ${(delay.max / 1e6).toFixed(1)} ms`);
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    }
  }
}

/**
 * What a simulated node has beyond its pod state machine, in one piece a kubelet owns: the usage
 * model, the cgroup files (on tmpfs by default, see `cgroupRoots`), the kubelet's HTTPS endpoints,
 * and the reports to metrics.k8s.io.
 *
 * Inputs: the node's name, a function giving its pods as plain objects (with the status the kubelet
 * reports), a clock. Two timers: the kernel's write pass (`writeIntervalMs`, default 10 s) and the
 * kubelet's cgroup sync (`syncPeriodMs`, default 60 s, as `--sync-frequency`). OOM kills go to
 * `onOomKill`, for the kubelet to report the container as OOMKilled and restart it. The two
 * passes never overlap, and each gives the event loop back every few milliseconds.
 */
import { accessSync, constants, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CgroupFiles } from './cgroup-files.ts';
import { makeTmpfsDir } from './tmpfs-dirs.ts';
import type { CgroupDriver, CgroupVersion } from './cgroup-layout.ts';
import { startKubeletServer, type KubeletFault, type KubeletServer } from './kubelet-server.ts';
import { metricsReport, UsageModel, type NodeUsage, type OomKill } from './usage-model.ts';
import type { NodeMetricsStore } from '../apiserver/metrics-api.ts';
import type { Pod } from '../../kube/index.ts';

export interface NodeResourcesOptions {
  nodeName: string;
  /** Where the kubelet's endpoints listen: the node's InternalIP. */
  address?: string;
  /** The node's pods, as the kubelet has them. */
  pods(): readonly Pod[];
  /** The cgroup root; without it no files are written (the model and endpoints still run). */
  cgroupRoot?: string;
  cgroupVersion?: CgroupVersion;
  cgroupDriver?: CgroupDriver;
  cpus?: number;
  memoryBytes?: number;
  /** Bearer token of the kubelet's endpoints; without it the server is not started. */
  token?: string;
  metrics?: NodeMetricsStore;
  nodeLabels?(): Record<string, string>;
  onOomKill?(kill: OomKill): void;
  seed?: number | string;
  writeIntervalMs?: number;
  syncPeriodMs?: number;
  now?(): number;
}

/** `<stateDir>/nodes/<node>/cgroup`: where a node's cgroup files go when they are kept in the state dir. */
export function nodeCgroupRoot(stateDir: string, nodeName: string): string {
  return join(stateDir, 'nodes', nodeName, 'cgroup');
}

const SHM = '/dev/shm';

/**
 * Where the cgroup roots of a set of nodes go. The files are runtime state, as the kernel's are:
 * they need not survive a restart, and a write pass rewrites dozens of files per pod every few
 * seconds, which tmpfs takes in microseconds where a journaling disk takes milliseconds. So:
 * - `explicit` given: `<explicit>/<node>/cgroup`, left in place on `remove()`;
 * - else, when /dev/shm is writable: `/dev/shm/kre-<random>/<node>/cgroup`, removed by `remove()`
 *   (and at process exit, should `remove()` never be called; after a kill, by the next devcluster:
 *   see tmpfs-dirs.ts);
 * - else `<stateDir>/nodes/<node>/cgroup`, emptied when a node first asks for it;
 * - else none (no files are written).
 */
export class CgroupRoots {
  private tmpfsBase: string | undefined;
  private readonly onExit = () => this.remove();

  constructor(private readonly o: { explicit?: string; stateDir?: string; shm?: string | false }) {}

  /** The cgroup root of `nodeName`, or undefined when there is nowhere to write. */
  rootFor(nodeName: string): string | undefined {
    if (this.o.explicit) return join(this.o.explicit, nodeName, 'cgroup');
    const shm = this.o.shm ?? SHM;
    if (shm && !this.tmpfsBase && writable(shm)) {
      try {
        this.tmpfsBase = makeTmpfsDir(shm);
        process.once('exit', this.onExit);
      } catch {
        // Not writable after all: the state dir.
      }
    }
    if (this.tmpfsBase) return join(this.tmpfsBase, nodeName, 'cgroup');
    if (!this.o.stateDir) return undefined;
    const root = nodeCgroupRoot(this.o.stateDir, nodeName);
    rmSync(root, { recursive: true, force: true });
    return root;
  }

  /** The tmpfs directory in use, if any. */
  get tmpfs(): string | undefined {
    return this.tmpfsBase;
  }

  /** Removes the tmpfs directory (the others stay). */
  remove(): void {
    if (!this.tmpfsBase) return;
    rmSync(this.tmpfsBase, { recursive: true, force: true });
    process.removeListener('exit', this.onExit);
    this.tmpfsBase = undefined;
  }
}

/** A node's phase in [0, 1), stable for its name. */
function phaseOf(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return (h >>> 0) / 2 ** 32;
}

function writable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export class NodeResources {
  readonly model: UsageModel;
  readonly cgroups: CgroupFiles | undefined;
  server: KubeletServer | undefined;
  private timers: NodeJS.Timeout[] = [];
  private passing: Promise<unknown> | undefined;
  private stopped = false;
  private last: NodeUsage | undefined;

  constructor(private readonly o: NodeResourcesOptions) {
    this.model = new UsageModel({ nodeName: o.nodeName, seed: o.seed });
    if (o.onOomKill) this.model.onOomKill(o.onOomKill);
    this.cgroups = o.cgroupRoot
      ? new CgroupFiles({ root: o.cgroupRoot, version: o.cgroupVersion, driver: o.cgroupDriver, cpus: o.cpus, allocatableCpuMilli: (o.cpus ?? 4) * 1000, allocatableMemoryBytes: o.memoryBytes })
      : undefined;
  }

  private now(): number {
    return this.o.now?.() ?? Date.now();
  }

  /** Starts the endpoints and the timers. */
  async start(): Promise<void> {
    if (this.o.token) {
      this.server = await startKubeletServer({
        nodeName: this.o.nodeName,
        host: this.o.address,
        token: this.o.token,
        source: {
          pods: () => this.o.pods(),
          usage: () => this.last,
          cadvisor: { driver: this.o.cgroupDriver ?? 'systemd', cpus: this.o.cpus ?? 4, memoryBytes: this.o.memoryBytes ?? 0 },
        },
      });
    }
    await this.pass();
    // The nodes of a process start together; each keeps its own phase within the period, so that
    // their passes take turns instead of all falling in the same few milliseconds.
    this.every(this.o.writeIntervalMs ?? 10_000, () => this.pass());
    this.every(this.o.syncPeriodMs ?? 60_000, () => this.sync());
  }

  /** Runs `fn` every `periodMs`, the first time after this node's phase (a part of the period). */
  private every(periodMs: number, fn: () => Promise<unknown>): void {
    const run = () => void fn().catch(() => undefined);
    const first = setTimeout(() => {
      if (this.stopped) return;
      run();
      const t = setInterval(run, periodMs);
      t.unref();
      this.timers.push(t);
    }, Math.floor(phaseOf(this.o.nodeName) * periodMs));
    first.unref();
    this.timers.push(first);
  }

  /** The root of the node's cgroup files, if it writes them. */
  get cgroupRoot(): string | undefined {
    return this.o.cgroupRoot;
  }

  /** The kubelet's sync of the pod- and QoS-level cgroup values; resolves to the files set back. */
  sync(): Promise<number> {
    return this.serial(async () => {
      if (this.stopped || !this.cgroups) return 0;
      return this.cgroups.syncAsync(this.o.pods());
    });
  }

  /** One write pass: the model advances, the files and the metrics report follow. */
  pass(): Promise<NodeUsage | undefined> {
    return this.serial(async () => {
      if (this.stopped) return this.last;
      const pods = this.o.pods();
      const now = this.now();
      const usage = this.cgroups ? await this.cgroups.writePass(pods, this.model, now) : this.model.advance(now, pods);
      this.last = usage;
      this.o.metrics?.report(this.o.nodeName, metricsReport(usage), this.o.nodeLabels?.() ?? {});
      return usage;
    });
  }

  /** Runs `run` after the sync or pass under way, if any: they share the cgroup tree. */
  private serial<T>(run: () => Promise<T>): Promise<T> {
    const p = (this.passing ?? Promise.resolve()).then(run, run);
    this.passing = p.catch(() => undefined);
    return p;
  }

  get usage(): NodeUsage | undefined {
    return this.last;
  }

  async setKubeletFault(f: KubeletFault | undefined): Promise<void> {
    await this.server?.setFault(f);
  }

  /** The Node status fields for the kubelet's endpoint (addresses, daemonEndpoints), once started. */
  nodeStatusFields(): ReturnType<KubeletServer['nodeStatusFields']> | undefined {
    return this.server?.nodeStatusFields();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.o.metrics?.remove(this.o.nodeName);
    await this.passing;
    await this.server?.stop();
  }
}

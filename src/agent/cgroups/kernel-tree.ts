/**
 * A kubepods-shaped cgroup v1 tree on the real kernel, for tests: a unique root in each controller
 * hierarchy, cgroups made the way the kubelet makes them (a new cpuset cgroup gets its parent's
 * CPUs and memory nodes before anything joins it), real processes moved into container cgroups,
 * and everything removed afterwards: processes killed, cgroups emptied and removed leaf-first.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CONTROLLERS, type Controller } from './types.ts';

export const V1_ROOT = '/sys/fs/cgroup';

/** A process that burns CPU, spins for a wall time or allocates memory when told to on stdin. */
const WORKER = `
const keep = [];
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
require('readline').createInterface({ input: process.stdin }).on('line', (l) => {
  const [cmd, arg] = l.split(' ');
  const c0 = cpu(), t0 = Date.now();
  if (cmd === 'burn') { while (cpu() - c0 < Number(arg)) {} }
  else if (cmd === 'spin') { while (Date.now() - t0 < Number(arg)) {} }
  else if (cmd === 'alloc') { const b = Buffer.allocUnsafe(Number(arg)); b.fill(1); keep.push(b); }
  console.log('done ' + (cpu() - c0) + ' ' + (Date.now() - t0));
});
console.log('ready');
`;

export interface Worker {
  pid: number;
  /** Runs a command; resolves with the CPU seconds the worker used for it and the wall ms it took. */
  run(cmd: string, timeoutMs?: number): Promise<{ cpuSeconds: number; wallMs: number }>;
  /** Kills the worker and waits until it has exited. */
  stop(): Promise<void>;
}

/** The unified (cgroup2) hierarchy of a hybrid host: no controllers delegated, but `cpu.stat` usage. */
export const UNIFIED_ROOT = `${V1_ROOT}/unified`;

/** The hierarchy directory of each controller: the v1 ones, or the unified one for all. */
function hierarchiesOf(unified: boolean): Record<Controller, string> {
  return Object.fromEntries(CONTROLLERS.map((c) => [c, unified ? UNIFIED_ROOT : join(V1_ROOT, c)])) as Record<Controller, string>;
}

/**
 * Why the kernel tests cannot run here, or undefined when every hierarchy is writable: the v1
 * cpu, cpuacct, cpuset and memory ones under `root`, or the unified one.
 */
export function kernelTreeProblem(root = V1_ROOT, unified = false): string | undefined {
  const dirs = unified ? [UNIFIED_ROOT] : CONTROLLERS.map((c) => join(root, c));
  const what = unified ? `the cgroup2 hierarchy at ${UNIFIED_ROOT} (a hybrid host)` : `cgroup v1 cpu, cpuacct, cpuset and memory mounted under ${root}`;
  for (const dir of dirs) {
    try {
      statSync(join(dir, 'cgroup.procs'));
    } catch (err) {
      return `${dir} is not a cgroup hierarchy (${(err as NodeJS.ErrnoException).code}): these tests need ${what}`;
    }
    const probe = join(dir, `kre-probe-${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      mkdirSync(probe);
      rmdirSync(probe);
    } catch (err) {
      return `cannot make a cgroup in ${dir} (${(err as NodeJS.ErrnoException).code}): these tests need root and a writable ${what}`;
    }
  }
  return undefined;
}

export class KernelTree {
  /** The unique test root, the same relative path in every hierarchy. */
  readonly name = `kre-test-${process.pid}-${randomBytes(4).toString('hex')}`;
  private readonly workers: ChildProcessWithoutNullStreams[] = [];
  private readonly hierarchies: Record<Controller, string>;
  /** Each hierarchy once (on the unified one, all controllers are one). */
  private readonly roots: string[];

  /** A tree in the v1 controller hierarchies, or with `unified` in the hybrid host's cgroup2 one. */
  constructor(o: { unified?: boolean } = {}) {
    const problem = kernelTreeProblem(V1_ROOT, o.unified);
    if (problem) throw new Error(problem);
    this.hierarchies = hierarchiesOf(o.unified ?? false);
    this.roots = [...new Set(Object.values(this.hierarchies))];
    removeStaleTrees(this.roots);
    this.mkdir('');
  }

  dir(c: Controller, rel: string): string {
    return join(this.hierarchies[c], this.name, rel);
  }

  /** Makes a cgroup and its missing ancestors in every hierarchy; a v1 cpuset gets its parent's CPUs and memory nodes. */
  mkdir(rel: string): void {
    const parts = rel.split('/').filter(Boolean);
    for (let i = 0; i <= parts.length; i++) {
      const sub = parts.slice(0, i).join('/');
      for (const root of this.roots) {
        const d = join(root, this.name, sub);
        try {
          mkdirSync(d);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
          throw err;
        }
        if (root === join(V1_ROOT, 'cpuset')) {
          const parent = join(d, '..');
          for (const f of ['cpuset.cpus', 'cpuset.mems']) writeFileSync(join(d, f), readFileSync(join(parent, f), 'utf8'));
        }
      }
    }
  }

  /** Writes a value into a cgroup file of one hierarchy. */
  write(c: Controller, rel: string, file: string, value: string): void {
    writeFileSync(join(this.dir(c, rel), file), value);
  }

  read(c: Controller, rel: string, file: string): string {
    return readFileSync(join(this.dir(c, rel), file), 'utf8').trim();
  }

  /** Starts a worker and moves it into a cgroup (every hierarchy) before it does anything. */
  async worker(rel: string): Promise<Worker> {
    const child = spawn(process.execPath, ['-e', WORKER], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.workers.push(child);
    const lines = createInterface({ input: child.stdout });
    const waiting: Array<(l: string) => void> = [];
    const early: string[] = [];
    lines.on('line', (l) => {
      const w = waiting.shift();
      if (w) w(l);
      else early.push(l);
    });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr = (stderr + String(d)).slice(-2000);
    });
    const next = (timeoutMs: number) =>
      new Promise<string>((resolve, reject) => {
        const e = early.shift();
        if (e !== undefined) return resolve(e);
        const timer = setTimeout(() => reject(new Error(`worker ${child.pid} did not answer in ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs);
        waiting.push((l) => {
          clearTimeout(timer);
          resolve(l);
        });
      });
    const ready = await next(60_000);
    if (ready !== 'ready') throw new Error(`worker said ${ready}`);
    for (const root of this.roots) writeFileSync(join(root, this.name, rel, 'cgroup.procs'), `${child.pid}\n`);
    return {
      pid: child.pid!,
      stop: () => stopWorker(child),
      async run(cmd, timeoutMs = 120_000) {
        child.stdin.write(`${cmd}\n`);
        const [word, cpu, wall] = (await next(timeoutMs)).split(' ');
        if (word !== 'done') throw new Error(`worker answered ${word}`);
        return { cpuSeconds: Number(cpu), wallMs: Number(wall) };
      },
    };
  }

  /** Kills the workers, moves anything left to each hierarchy's root, and removes the tree leaf-first. */
  async remove(): Promise<void> {
    await Promise.all(this.workers.map(stopWorker));
    const problems = await this.removeDirs('');
    if (problems.length > 0) throw new Error(`could not remove test cgroups: ${problems.join(', ')}`);
  }

  /** Removes a cgroup and everything below it, in every hierarchy, leaf-first; returns what could not be removed. */
  async removeDirs(rel: string): Promise<string[]> {
    const problems: string[] = [];
    for (const root of this.roots) {
      const top = join(root, this.name, rel);
      for (const d of leafFirst(top)) {
        for (let attempt = 0; ; attempt++) {
          try {
            for (const pid of readFileSync(join(d, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
              try {
                writeFileSync(join(root, 'cgroup.procs'), pid);
              } catch {
                // Gone already.
              }
            }
            rmdirSync(d);
            break;
          } catch (err) {
            const code = (err as NodeJS.ErrnoException).code;
            if (code === 'ENOENT') break;
            // A killed process stays charged until it has fully exited.
            if (code === 'EBUSY' && attempt < 100) {
              await new Promise((r) => setTimeout(r, 50));
              continue;
            }
            problems.push(`${d}: ${code}`);
            break;
          }
        }
      }
    }
    return problems;
  }
}

function stopWorker(w: ChildProcessWithoutNullStreams): Promise<void> {
  return new Promise<void>((resolve) => {
    if (w.exitCode !== null || w.signalCode !== null) return resolve();
    w.once('exit', () => resolve());
    w.kill('SIGKILL');
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the trees of test processes that died before they could (killed by a timeout, say). */
function removeStaleTrees(roots: string[]): void {
  for (const root of roots) {
    let names: string[];
    try {
      names = readdirSync(root);
    } catch {
      continue;
    }
    for (const name of names) {
      const m = /^kre-test-(\d+)-[0-9a-f]{8}$/.exec(name);
      if (!m || alive(Number(m[1]))) continue;
      for (const d of leafFirst(join(root, name))) {
        try {
          for (const pid of readFileSync(join(d, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) writeFileSync(join(root, 'cgroup.procs'), pid);
          rmdirSync(d);
        } catch {
          // Left for the next run.
        }
      }
    }
  }
}

/** Every cgroup directory under `top`, children before parents, `top` last. */
function leafFirst(top: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) walk(join(d, e.name));
    out.push(d);
  };
  walk(top);
  return out;
}

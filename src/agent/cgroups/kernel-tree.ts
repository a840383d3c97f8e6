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

/** Why the kernel tests cannot run here, or undefined when every v1 hierarchy is writable. */
export function kernelTreeProblem(root = V1_ROOT): string | undefined {
  for (const c of CONTROLLERS) {
    const dir = join(root, c);
    try {
      statSync(join(dir, 'cgroup.procs'));
    } catch (err) {
      return `${dir} is not a cgroup v1 hierarchy (${(err as NodeJS.ErrnoException).code}): these tests need cgroup v1 cpu, cpuacct, cpuset and memory mounted under ${root}`;
    }
    const probe = join(dir, `kre-probe-${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      mkdirSync(probe);
      rmdirSync(probe);
    } catch (err) {
      return `cannot make a cgroup in ${dir} (${(err as NodeJS.ErrnoException).code}): these tests need root and a writable cgroup v1 ${c} hierarchy`;
    }
  }
  return undefined;
}

export class KernelTree {
  /** The unique test root, the same relative path in every hierarchy. */
  readonly name = `kre-test-${process.pid}-${randomBytes(4).toString('hex')}`;
  private readonly workers: ChildProcessWithoutNullStreams[] = [];

  constructor() {
    const problem = kernelTreeProblem();
    if (problem) throw new Error(problem);
    removeStaleTrees();
    this.mkdir('');
  }

  dir(c: Controller, rel: string): string {
    return join(V1_ROOT, c, this.name, rel);
  }

  /** Makes a cgroup and its missing ancestors in every hierarchy, cpusets filled from the parent. */
  mkdir(rel: string): void {
    const parts = rel.split('/').filter(Boolean);
    for (let i = 0; i <= parts.length; i++) {
      const sub = parts.slice(0, i).join('/');
      for (const c of CONTROLLERS) {
        const d = this.dir(c, sub);
        try {
          mkdirSync(d);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
          throw err;
        }
        if (c === 'cpuset') {
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
    for (const c of CONTROLLERS) writeFileSync(join(this.dir(c, rel), 'cgroup.procs'), `${child.pid}\n`);
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
    for (const c of CONTROLLERS) {
      const top = this.dir(c, rel);
      for (const d of leafFirst(top)) {
        for (let attempt = 0; ; attempt++) {
          try {
            for (const pid of readFileSync(join(d, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
              try {
                writeFileSync(join(V1_ROOT, c, 'cgroup.procs'), pid);
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
function removeStaleTrees(): void {
  for (const c of CONTROLLERS) {
    let names: string[];
    try {
      names = readdirSync(join(V1_ROOT, c));
    } catch {
      continue;
    }
    for (const name of names) {
      const m = /^kre-test-(\d+)-[0-9a-f]{8}$/.exec(name);
      if (!m || alive(Number(m[1]))) continue;
      for (const d of leafFirst(join(V1_ROOT, c, name))) {
        try {
          for (const pid of readFileSync(join(d, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) writeFileSync(join(V1_ROOT, c, 'cgroup.procs'), pid);
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

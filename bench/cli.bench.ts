/**
 * How fast the `kre` command answers: `kre --help`, `kre dev --help`, and the time from spawning
 * `kre devcluster --nodes 0` to its ready line, each against `node -e ''` (starting Node and
 * nothing else) measured in the same run. Also the sources run through tsx, as `kre` did before it
 * shipped compiled JavaScript. Medians of 7 runs (5 for the ready line), a fresh process each.
 * Wall time depends on how busy the machine is; the CPU time (user + system) of the process, which
 * it reports as it exits, much less so: both are printed.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = new URL('..', import.meta.url).pathname;
const KRE = join(ROOT, 'bin/kre.js');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Loaded first into each timed process: it writes its CPU time (µs) on fd 3 as it exits. */
const REPORT_CPU = `data:text/javascript,import{writeSync}from'node:fs';process.on('exit',()=>{const u=process.cpuUsage();writeSync(3,String(u.user+u.system))})`;

interface Times {
  wallMs: number;
  cpuMs: number;
}

/** Wall time from spawn to exit, and the CPU time the process used, in ms. */
function timeToExit(args: string[]): Promise<Times> {
  const start = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', REPORT_CPU, ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
    let cpu = '';
    child.stdio[3]!.on('data', (c: Buffer) => (cpu += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${args.join(' ')} exited ${code}`));
      resolve({ wallMs: Number(process.hrtime.bigint() - start) / 1e6, cpuMs: Number(cpu) / 1000 });
    });
  });
}

/** Wall time from spawn to the ready line of `kre devcluster --nodes 0` on a fresh state dir, in ms. */
async function timeToReady(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'kre-bench-cli-'));
  const start = process.hrtime.bigint();
  const child = spawn(process.execPath, [KRE, 'devcluster', '--state-dir', dir, '--nodes', '0', '--listen', '127.0.0.1:0'], {
    cwd: ROOT,
    env: { ...process.env, KRE_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  try {
    return await new Promise<number>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        if (line.includes('"msg":"ready"')) resolve(Number(process.hrtime.bigint() - start) / 1e6);
      });
      child.on('exit', (code) => reject(new Error(`kre devcluster exited ${code} before its ready line`)));
    });
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measure(runs: number, once: () => Promise<Times>): Promise<Times> {
  const times: Times[] = [];
  for (let i = 0; i < runs; i++) times.push(await once());
  return { wallMs: median(times.map((t) => t.wallMs)), cpuMs: median(times.map((t) => t.cpuMs)) };
}

const vs = (ms: number, base: number) => `${ms.toFixed(0)} ms (${(ms / base).toFixed(2)}× baseline, +${(ms - base).toFixed(0)} ms)`;

export async function run(): Promise<void> {
  const baseline = await measure(7, () => timeToExit(['-e', '']));
  const rows: [string, Times][] = [
    ['kre --help', await measure(7, () => timeToExit([KRE, '--help']))],
    ['kre dev --help', await measure(7, () => timeToExit([KRE, 'dev', '--help']))],
    ['kre --help through tsx (the sources, as before dist/)', await measure(7, () => timeToExit(['--import', 'tsx', '--input-type=module', '-e', "const m = await import('./src/cli/main.ts'); await m.main(['node', 'kre', '--help'])"]))],
  ];
  console.log(`baseline node -e '': wall ${baseline.wallMs.toFixed(0)} ms, CPU ${baseline.cpuMs.toFixed(0)} ms (medians of 7)`);
  for (const [name, t] of rows) console.log(`${name}: wall ${vs(t.wallMs, baseline.wallMs)}; CPU ${vs(t.cpuMs, baseline.cpuMs)}`);
  const ready = await measure(5, async () => ({ wallMs: await timeToReady(), cpuMs: 0 }));
  console.log(`kre devcluster --nodes 0, spawn to ready line: wall ${vs(ready.wallMs, baseline.wallMs)} (median of 5)`);
}

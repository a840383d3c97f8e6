/**
 * How fast the `kre` command answers: `kre --help`, `kre dev --help`, and the time from spawning
 * `kre devcluster --nodes 0` to its ready line, each against `node -e ''` (starting Node and
 * nothing else) measured in the same run. Also the sources run through tsx, as `kre` did before it
 * shipped compiled JavaScript. Medians of 7 runs (5 for the ready line), a fresh process each.
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

/** Wall time of a process from spawn to exit, in ms. */
function timeToExit(args: string[]): Promise<number> {
  const start = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(Number(process.hrtime.bigint() - start) / 1e6) : reject(new Error(`${args.join(' ')} exited ${code}`))));
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

async function measure(runs: number, once: () => Promise<number>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await once());
  return median(times);
}

export async function run(): Promise<void> {
  const baseline = await measure(7, () => timeToExit(['-e', '']));
  const rows: [string, number][] = [
    ['kre --help', await measure(7, () => timeToExit([KRE, '--help']))],
    ['kre dev --help', await measure(7, () => timeToExit([KRE, 'dev', '--help']))],
    ['kre --help through tsx (the sources, as before dist/)', await measure(7, () => timeToExit(['--import', 'tsx', '--input-type=module', '-e', "const m = await import('./src/cli/main.ts'); await m.main(['node', 'kre', '--help'])"]))],
    ['kre devcluster --nodes 0: spawn to ready line', await measure(5, timeToReady)],
  ];
  console.log(`baseline node -e '': ${baseline.toFixed(0)} ms (median of 7)`);
  for (const [name, ms] of rows) console.log(`${name}: ${ms.toFixed(0)} ms, ${(ms / baseline).toFixed(2)}× baseline, ${(ms - baseline).toFixed(0)} ms over it`);
}

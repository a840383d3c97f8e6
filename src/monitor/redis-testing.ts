/**
 * A real `redis-server` for tests and benchmarks: started on a free port in a temporary directory,
 * without persistence (a restart loses everything, the worst case for the monitor), stoppable and
 * restartable on the same port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../test/support/free-port.ts';

export interface TestRedis {
  url: string;
  port: number;
  /** Stops the server (SIGKILL when `kill`, else a clean shutdown). */
  stop(opts?: { kill?: boolean }): Promise<void>;
  /** Starts it again on the same port, empty. */
  start(): Promise<void>;
  /** Stops it for good and removes its directory. */
  close(): Promise<void>;
}

export async function startTestRedis(opts: { password?: string; bin?: string } = {}): Promise<TestRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'kre-redis-'));
  const port = await freePort();
  let proc: ChildProcess | undefined;
  const start = async () => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--logfile', ''];
    if (opts.password) args.push('--requirepass', opts.password);
    const p = spawn(opts.bin ?? '/usr/bin/redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    proc = p;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${out}`)), 10_000);
      p.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      p.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited with ${code}: ${out}`));
      });
    });
    p.stdout!.resume();
    p.stderr!.resume();
  };
  const stop = async ({ kill = false } = {}) => {
    const p = proc;
    proc = undefined;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
    p.kill(kill ? 'SIGKILL' : 'SIGTERM');
    await exited;
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop,
    start,
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

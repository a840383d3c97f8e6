/**
 * Running `bin/kre.js` as a user would, for the client commands' tests: a child process whose
 * environment names the manager (or, for `baseEnv`, nothing but an empty kre dev state dir).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { CommanderError } from 'commander';
import { TOKEN } from '../client/testing.ts';
import { output } from './output.ts';
import { buildProgram } from './main.ts';
import { UsageError } from './usage.ts';

const BIN = new URL('../../bin/kre.js', import.meta.url).pathname;
export const EXAMPLE = new URL('../../examples/greeter', import.meta.url).pathname;

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

const CLIENT_ENV = ['KRE_MANAGER_ADDRESS', 'KRE_MANAGER_TOKEN', 'KRE_MANAGER_TOKEN_FILE', 'KRE_MANAGER_TLS', 'KRE_MANAGER_CA_FILE', 'KRE_MANAGER_SERVER_NAME', 'KRE_RUNTIME'];

export interface KreRunner {
  /** `kre args…` in this process (see `kreInProcess`), the manager from the environment unless `env` names another. */
  run(args: string[], env?: Record<string, string>): Promise<Run>;
  /** No manager named: only `extra`, and a kre dev state dir that holds nothing. */
  baseEnv(extra?: Record<string, string>): NodeJS.ProcessEnv;
  /** `kre args…` with the manager's address and token in the environment (or `opts.env`); with `until`, SIGINT once stdout matches it. */
  kre(args: string[], opts?: { env?: NodeJS.ProcessEnv; until?: RegExp; timeoutMs?: number }): Promise<Run>;
}

export function kreRunner(address: () => string, dir: () => string): KreRunner {
  const baseEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => {
    const env: NodeJS.ProcessEnv = { ...process.env, KRE_DEV_STATE_DIR: join(dir(), 'no-state') };
    for (const k of CLIENT_ENV) delete env[k];
    return { ...env, ...extra };
  };
  const kre: KreRunner['kre'] = (args, opts = {}) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: opts.env ?? baseEnv({ KRE_MANAGER_ADDRESS: address(), KRE_MANAGER_TOKEN: TOKEN }), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let interrupted = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 150_000);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (opts.until && !interrupted && opts.until.test(stdout)) {
        interrupted = true;
        child.kill('SIGINT');
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    return new Promise((resolve) =>
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      }),
    );
  };
  const run: KreRunner['run'] = (args, env) => kreInProcess(args, env ?? { KRE_DEV_STATE_DIR: join(dir(), 'no-state'), KRE_MANAGER_ADDRESS: address(), KRE_MANAGER_TOKEN: TOKEN });
  return { baseEnv, kre, run };
}

/** stdout of a run that must have exited 0. */
export function ok(r: Run): string {
  assert.equal(r.code, 0, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

/**
 * `kre args…` in this process, for the many runs whose start-up cost a child process would only
 * repeat: output collected from the commands, the exit status `main` would give (2 for usage, 1
 * for a failure) and its `kre: …` line. The manager comes from `env`, set for the run.
 */
export async function kreInProcess(args: string[], env: Record<string, string | undefined>): Promise<Run> {
  const saved = { write: output.write };
  const savedEnv = Object.fromEntries(CLIENT_ENV.concat('KRE_DEV_STATE_DIR').map((k) => [k, process.env[k]]));
  let stdout = '';
  output.write = (text) => {
    stdout += text;
  };
  for (const k of Object.keys(savedEnv)) delete process.env[k];
  Object.assign(process.env, env);
  try {
    await buildProgram().configureOutput({ writeErr: () => undefined, writeOut: (s) => (stdout += s) }).parseAsync(['node', 'kre', ...args]);
    return { code: 0, stdout, stderr: '' };
  } catch (err) {
    if (err instanceof CommanderError) return { code: err.exitCode === 0 ? 0 : 2, stdout, stderr: `${err.message}\n` };
    return { code: err instanceof UsageError ? 2 : 1, stdout, stderr: `kre: ${(err as Error).message}\n` };
  } finally {
    output.write = saved.write;
    for (const [k, v] of Object.entries(savedEnv)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

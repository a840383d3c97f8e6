/**
 * The Prometheus `kre dev` runs: the Debian `prometheus` binary as a child process, its data in
 * the state dir (kept across restarts, bounded by retention time and size), its configuration
 * written at each start (prometheus-config.ts).
 *
 * It never outlives kre dev. A normal stop sends SIGTERM and waits. Where util-linux' `setpriv` is
 * there (every Debian), Prometheus is started with the parent-death signal set to SIGTERM, so the
 * kernel stops it even when kre dev is killed with -9. Where it is not, the process' identity is
 * kept in `<dir>/owner`, and the next start stops a Prometheus left by a kre dev that died.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import type { Logger } from '../../kube/index.ts';
import { identityOf, isRunning, parseIdentity } from '../../devcluster/process-identity.ts';
import { writePartTargets, writePrometheusConfig, type PartTargets, type PrometheusScrapeSetup } from './prometheus-config.ts';

export interface PrometheusOptions {
  /** The `prometheus` executable. */
  bin: string;
  /** Its directory in the state dir: configuration, parts file, data. */
  dir: string;
  /** HOST:PORT of its web UI and API; port 0 picks a free one. */
  listen: string;
  /** Oldest data kept (`--storage.tsdb.retention.time`), e.g. `2d`. */
  retentionTime: string;
  /** Most disk the data may take (`--storage.tsdb.retention.size`), e.g. `512MB`. */
  retentionSize: string;
  scrape: Omit<PrometheusScrapeSetup, 'partsFile'>;
  log: Logger;
  /** How long to wait for `/-/ready`. */
  readyTimeoutMs?: number;
}

export interface RunningPrometheus {
  url: string;
  pid: number;
  /** Rewrites the list of KRE's own parts to scrape. */
  setParts(groups: PartTargets[]): void;
  /** SIGTERM, then SIGKILL if it has not ended within `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export class PrometheusStartError extends Error {
  override name = 'PrometheusStartError';
}

const OWNER_FILE = 'owner';
const STDERR_TAIL = 4000;

/** Where `name` is on PATH, if it is executable there. */
export function onPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // Not here.
    }
  }
  return undefined;
}

/**
 * The Prometheus to run: KRE_PROMETHEUS_BIN when set (it must then be there), else `prometheus`
 * on PATH; undefined when there is none.
 */
export function findPrometheus(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const given = env.KRE_PROMETHEUS_BIN;
  if (given) {
    try {
      accessSync(given, constants.X_OK);
    } catch (err) {
      throw new PrometheusStartError(`KRE_PROMETHEUS_BIN: cannot run ${given}: ${(err as Error).message}`);
    }
    return given;
  }
  return onPath('prometheus', env);
}

/** A Prometheus that a kre dev killed with -9 left running on this data dir: stop it before starting another. */
async function stopLeftover(dir: string, log: Logger): Promise<void> {
  const file = join(dir, OWNER_FILE);
  let owner;
  try {
    owner = parseIdentity(readFileSync(file, 'utf8'));
  } catch {
    return;
  }
  if (owner && isRunning(owner) && commandLine(owner.pid).includes(join(dir, 'data'))) {
    log.warn({ pid: owner.pid }, 'stopping the Prometheus a previous kre dev left running');
    process.kill(owner.pid, 'SIGTERM');
    const deadline = Date.now() + 10_000;
    while (isRunning(owner) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (isRunning(owner)) process.kill(owner.pid, 'SIGKILL');
  }
  rmSync(file, { force: true });
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

function splitListen(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  return { host: listen.slice(0, i).replace(/^\[(.*)\]$/, '$1') || '127.0.0.1', port: Number(listen.slice(i + 1)) };
}

/** A port free on `host` now (Prometheus takes no port 0). */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function answersReady(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(2000) });
    await res.body?.cancel();
    return res.status === 200;
  } catch {
    return false;
  }
}

function exitOf(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

export async function startPrometheus(o: PrometheusOptions): Promise<RunningPrometheus> {
  mkdirSync(join(o.dir, 'data'), { recursive: true, mode: 0o700 });
  await stopLeftover(o.dir, o.log);
  const partsFile = join(o.dir, 'kre-parts.json');
  writePartTargets(partsFile, []);
  const configFile = join(o.dir, 'prometheus.yml');
  writePrometheusConfig(configFile, { ...o.scrape, partsFile });
  const args = [
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${join(o.dir, 'data')}`,
    `--storage.tsdb.retention.time=${o.retentionTime}`,
    `--storage.tsdb.retention.size=${o.retentionSize}`,
    '--log.level=warn',
  ];
  const setpriv = onPath('setpriv');
  const { host, port: asked } = splitListen(o.listen);
  const shownHost = host.includes(':') ? `[${host}]` : host;
  const timeoutMs = o.readyTimeoutMs ?? 60_000;
  let lastError = '';
  // A port picked free may be taken before Prometheus binds it: with port 0, try a few.
  for (let attempt = 0; attempt < (asked === 0 ? 5 : 1); attempt++) {
    const port = asked === 0 ? await freePort(host) : asked;
    const url = `http://${shownHost}:${port}`;
    const argv = [...args, `--web.listen-address=${shownHost}:${port}`];
    const child = setpriv ? spawn(setpriv, ['--pdeathsig', 'TERM', '--', o.bin, ...argv], { stdio: ['ignore', 'ignore', 'pipe'] }) : spawn(o.bin, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let partial = '';
    let stopped: Promise<void> | undefined;
    child.stderr!.on('data', (c: Buffer) => {
      const text = c.toString();
      stderr = (stderr + text).slice(-STDERR_TAIL);
      const lines = (partial + text).split('\n');
      partial = lines.pop()!.slice(-STDERR_TAIL);
      // Its own warnings and errors, but not the ones about the shutdown kre dev asked for.
      for (const line of lines) if (!stopped && /level=(warn|error)/.test(line)) o.log.warn({ line: line.slice(0, 1000) }, 'prometheus');
    });
    const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
    const exited = exitOf(child);
    let alive = true;
    void exited.then(() => (alive = false));
    const failed = await Promise.race([spawnError, new Promise<undefined>((r) => setTimeout(() => r(undefined), 0))]);
    if (failed) throw new PrometheusStartError(`cannot run ${o.bin}: ${failed.message}`);
    const deadline = Date.now() + timeoutMs;
    while (alive && Date.now() < deadline && !(await answersReady(url))) await new Promise((r) => setTimeout(r, 100));
    if (alive && Date.now() < deadline) {
      const pid = child.pid!;
      writeFileSync(join(o.dir, OWNER_FILE), JSON.stringify(identityOf(pid)) + '\n', { mode: 0o600 });
      void exited.then(() => {
        if (!stopped) o.log.error({ code: child.exitCode, signal: child.signalCode, stderr: stderr.trim().split('\n').slice(-3).join(' | ') }, 'prometheus exited');
      });
      return {
        url,
        pid,
        setParts: (groups) => writePartTargets(partsFile, groups),
        stop(graceMs = 1500) {
          stopped ??= (async () => {
            if (alive) {
              child.kill('SIGTERM');
              const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
              await exited;
              clearTimeout(timer);
            }
            rmSync(join(o.dir, OWNER_FILE), { force: true });
          })();
          return stopped;
        },
      };
    }
    const timedOut = alive;
    if (alive) child.kill('SIGKILL');
    await exited;
    lastError = timedOut ? `not ready after ${timeoutMs} ms` : stderr.trim().split('\n').slice(-3).join(' | ');
    if (!/address already in use/.test(stderr)) break;
  }
  throw new PrometheusStartError(`prometheus did not start on ${o.listen}: ${lastError}${/address already in use/.test(lastError) ? ' (give --prometheus-listen HOST:PORT, port 0 for a free one)' : ''}`);
}

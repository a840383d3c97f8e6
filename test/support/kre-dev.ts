/**
 * `kre dev` as a user runs it, for tests and benchmarks: `bin/kre.js dev` as a child process with
 * a temporary state dir and free ports, ready once it logs `"msg":"ready"`; the clients of its
 * manager come from the client configuration it writes.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, type ChannelCredentials } from '@grpc/grpc-js';
import { readClientConfig, type ClientConfig } from '../../src/cli/client-config.ts';
import { parseIdentity } from '../../src/devcluster/process-identity.ts';
import { eventually, kubectlFor } from '../../src/devcluster/testing.ts';
import { ResourceMetricsServiceClient, Response as MetricsResponse, VersionRequest } from '../../src/gen/resourcemetrics/resourcemetrics.ts';
import { call } from '../../src/manager/testing.ts';
import { RuntimeServiceClient } from '../../src/gen/runtime/runtime.ts';
import { VersionServiceClient } from '../../src/gen/version/version.ts';

const BIN = new URL('../../bin/kre.js', import.meta.url).pathname;

export interface KreDevReady {
  url: string;
  kubeconfig: string;
  monitor: string;
  manager: string;
  prometheus?: string;
  clientConfig: string;
  agents: string[];
}

export interface KreDevProcess {
  child: ChildProcess;
  stateDir: string;
  ready: KreDevReady;
  /** Milliseconds from spawn to the ready line. */
  readyMs: number;
  /** What it wrote to stderr so far (the parts' lines, the next steps). */
  stderr(): string;
  clientConfig(): ClientConfig;
  /** SIGTERM; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL, as a crash; resolves once it has ended. */
  kill(): Promise<void>;
  /** The pid of the Prometheus it runs, from its owner file. */
  prometheusPid(): number | undefined;
  /** Removes the state dir (after stop). */
  cleanup(): void;
}

export interface KreDevOptions {
  /** A state dir to reuse (default: a new temporary one). */
  stateDir?: string;
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** Seconds between Prometheus scrapes (default 2). */
  scrapeIntervalSeconds?: number;
  nodes?: number;
  timeoutMs?: number;
}

export async function startKreDev(o: KreDevOptions = {}): Promise<KreDevProcess> {
  const stateDir = o.stateDir ?? mkdtempSync(join(tmpdir(), 'kre-dev-state-'));
  const started = Date.now();
  const args = [
    BIN,
    'dev',
    '--state-dir',
    stateDir,
    '--monitor-listen',
    '127.0.0.1:0',
    '--manager-listen',
    '127.0.0.1:0',
    '--prometheus-listen',
    '127.0.0.1:0',
    '--dashboard-listen',
    '127.0.0.1:0',
    '--scrape-interval',
    String(o.scrapeIntervalSeconds ?? 2),
    '--nodes',
    String(o.nodes ?? 3),
    ...(o.args ?? []),
  ];
  const child = spawn(process.execPath, args, { env: { ...process.env, KRE_LOG_LEVEL: 'info', ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-64_000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let ready: KreDevReady;
  try {
    ready = await new Promise<KreDevReady>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`kre dev not ready after ${o.timeoutMs ?? 120_000} ms; stderr: ${err}`)), o.timeoutMs ?? 120_000);
      child.stdout!.on('data', (d: Buffer) => {
        out = (out + d.toString()).slice(-256_000);
        const line = out.split('\n').find((l) => l.includes('"msg":"ready"') && l.includes('"part":"dev"'));
        if (line) {
          clearTimeout(timer);
          resolve(JSON.parse(line) as KreDevReady);
        }
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`kre dev exited ${code} before ready; stderr: ${err}`));
      });
    });
  } catch (e) {
    child.kill('SIGKILL');
    await exited;
    if (!o.stateDir) rmSync(stateDir, { recursive: true, force: true });
    throw e;
  }
  const readyMs = Date.now() - started;
  // stdout keeps flowing (the parts' JSON logs): keep reading it so the pipe never fills.
  child.stdout!.removeAllListeners('data');
  child.stdout!.resume();
  return {
    child,
    stateDir,
    ready,
    readyMs,
    stderr: () => err,
    clientConfig: () => readClientConfig(ready.clientConfig),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
    prometheusPid() {
      try {
        return parseIdentity(readFileSync(join(stateDir, 'prometheus', 'owner'), 'utf8'))?.pid;
      } catch {
        return undefined;
      }
    },
    cleanup: () => rmSync(stateDir, { recursive: true, force: true }),
  };
}

/** gRPC credentials and the token from a client configuration. */
function channelOf(config: ClientConfig): ChannelCredentials {
  const tls = config.manager.tls;
  return tls ? credentials.createSsl(tls.caFile ? readFileSync(tls.caFile) : null) : credentials.createInsecure();
}

export function managerClients(config: ClientConfig) {
  const creds = channelOf(config);
  const address = config.manager.address;
  const clients = {
    runtime: new RuntimeServiceClient(address, creds),
    version: new VersionServiceClient(address, creds),
    metrics: new ResourceMetricsServiceClient(address, creds),
    token: config.manager.token,
    close() {
      clients.runtime.close();
      clients.version.close();
      clients.metrics.close();
    },
  };
  return clients;
}

/** The /dev/shm directories of the devcluster run by process `pid`. */
export function shmDirsOf(pid: number, shm = '/dev/shm'): string[] {
  let names: string[];
  try {
    names = readdirSync(shm).filter((n) => n.startsWith('kre-'));
  } catch {
    return [];
  }
  return names.filter((n) => {
    try {
      return parseIdentity(readFileSync(join(shm, n, 'owner'), 'utf8'))?.pid === pid;
    } catch {
      return false;
    }
  });
}

/** Whether a process with this pid still runs (not a zombie). */
export function pidRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Prometheus' active targets: job, health and last error of each. */
export async function prometheusTargets(url: string): Promise<{ job: string; health: string; lastError: string; scrapeUrl: string }[]> {
  const body = (await (await fetch(`${url}/api/v1/targets?state=active`)).json()) as { data: { activeTargets: { labels: Record<string, string>; health: string; lastError: string; scrapeUrl: string }[] } };
  return body.data.activeTargets.map((t) => ({ job: t.labels.job, health: t.health, lastError: t.lastError, scrapeUrl: t.scrapeUrl }));
}

/** An instant PromQL query's result. */
export async function promQuery(url: string, query: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = (await res.json()) as { status: string; error?: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  if (body.status !== 'success') throw new Error(`query ${query}: ${body.error}`);
  return body.data.result;
}

/** A pod of version `v1` in namespace `demo`, using the usage model's default 20 millicores. */
export async function createVersionPod(kubeconfig: string): Promise<void> {
  const kubectl = kubectlFor(() => kubeconfig);
  await kubectl.ok(['create', 'namespace', 'demo']);
  await kubectl.ok(['-n', 'demo', 'run', 'v1-node', '--image', 'model:1', '--labels', 'version-name=v1,type=node']);
}

/** GetVersion for the last two minutes, until it has a point. */
export async function versionPoints(dev: KreDevProcess) {
  const clients = managerClients(dev.clientConfig());
  try {
    return await eventually(
      async () => {
        const now = Date.now();
        const res = await call<MetricsResponse>(
          clients.metrics,
          'getVersion',
          VersionRequest.fromPartial({ namespace: 'demo', versionName: 'v1', fromDate: new Date(now - 120_000).toISOString(), toDate: new Date(now).toISOString(), step: 5 }),
          { token: clients.token, deadlineMs: 15_000 },
        );
        return res.versionResourceMetrics.some((p) => p.cpu > 0) ? res.versionResourceMetrics : undefined;
      },
      90_000,
      'version metrics from the manager',
    );
  } finally {
    clients.close();
  }
}

/** SIGTERM: exit 0, no child left running, the devcluster's tmpfs directory gone. */
export async function stopsCleanly(dev: KreDevProcess, children: number[]): Promise<void> {
  const pid = dev.child.pid!;
  assert.ok(shmDirsOf(pid).length > 0, 'the devcluster keeps its cgroup files in /dev/shm while running');
  assert.equal(await dev.stop(), 0);
  for (const c of children) await eventually(() => !pidRunning(c), 5_000, `process ${c} to end`);
  assert.deepEqual(shmDirsOf(pid), []);
}

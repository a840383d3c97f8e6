/**
 * The API server a test runs against: the devcluster (default) or, with
 * `KRE_TEST_APISERVER=real`, a real kube-apiserver started by `../shared/kube-apiserver/start.sh`
 * (override the folder with `KRE_REAL_APISERVER_DIR`). Both come back as one handle, so a test
 * written against it proves the code on both. Only tests import this module.
 *
 * Opting a test file in (the kube core, the operator, the monitor, and the manager and the agent
 * as they come):
 *   1. start the cluster with `startTestApiServer({ nodes, controllers })` instead of
 *      `startDevCluster`, and talk to it through the handle (`client`, `kubeConfig()`,
 *      `kubeconfigPath`, `url`/`token`/`caCert`);
 *   2. mark each test that needs a devcluster extra with `devclusterOnly('faults')` etc. (the
 *      extras are listed once, in DEVCLUSTER_ONLY below), and reach the extra through
 *      `server.devcluster!`;
 *   3. add the file to `test/support/real-apiserver-files.txt`, the list `.ci/run` runs a second
 *      time against the real server.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { startDevCluster, type DevCluster, type DevClusterOptions } from '../../src/devcluster/index.ts';
import { startWorkloads, type Workloads } from '../../src/devcluster/nodes/index.ts';
import { KubeClient } from '../../src/kube/index.ts';
import { createLogger } from '../../src/kube/logger.ts';
import { devclusterWrites, rawRequest } from '../../src/devcluster/testing.ts';

export type Target = 'devcluster' | 'real';

export const TARGET: Target = process.env.KRE_TEST_APISERVER === 'real' ? 'real' : 'devcluster';

const repoRoot = resolve(import.meta.dirname, '../..');
/**
 * Where start.sh and stop.sh are: `KRE_REAL_APISERVER_DIR`, else the clone's
 * `../shared/kube-apiserver` (as on CI), else one level further up (a worktree beside the clone).
 */
export const REAL_APISERVER_DIR = resolve(
  process.env.KRE_REAL_APISERVER_DIR ??
    ['../shared/kube-apiserver', '../../shared/kube-apiserver'].map((p) => join(repoRoot, p)).find((p) => existsSync(join(p, 'start.sh'))) ??
    join(repoRoot, '../shared/kube-apiserver'),
);

export function realApiServerAvailable(): boolean {
  return existsSync(join(REAL_APISERVER_DIR, 'start.sh'));
}

/**
 * What only the devcluster offers, in one place: tests that use any of these run on the
 * devcluster alone and are skipped (saying why) in the real-server pass.
 */
export const DEVCLUSTER_ONLY = {
  faults: 'injects API server faults (dropped watch events, closed streams, error answers, expired history)',
  restart: 'restarts the API server while keeping its state',
  metrics: "counts requests through the devcluster's own /metrics",
  admin: "uses the devcluster's admin endpoints",
  persistence: "reads the devcluster's state directory",
  nodeFaults: 'makes simulated nodes fail from inside the devcluster',
} as const;
export type DevclusterFeature = keyof typeof DEVCLUSTER_ONLY;

/** What only a real server checks; tests of it are skipped on the devcluster, saying why. */
export const REAL_ONLY = {
  rbac: 'the devcluster authorizes every request its one token makes: RBAC is checked by a real server only',
} as const;

/** Test options: skip on the devcluster, naming what the test needs from a real server. */
export function realOnly(feature: keyof typeof REAL_ONLY): { skip?: string } {
  return TARGET === 'real' ? {} : { skip: `real kube-apiserver only: ${REAL_ONLY[feature]}` };
}

/** Test options: skip on the real server, naming the extra the test needs. */
export function devclusterOnly(...features: DevclusterFeature[]): { skip?: string } {
  if (TARGET !== 'real') return {};
  return { skip: `devcluster only: ${features.map((f) => DEVCLUSTER_ONLY[f]).join('; ')}` };
}

export interface TestApiServer {
  target: Target;
  url: string;
  /** Admin bearer token (`system:masters` on the real server). */
  token: string;
  caCert: string;
  kubeconfigPath: string;
  kubeConfig(): KubeConfig;
  /** An admin client, closed by `stop`. */
  client: KubeClient;
  /** The devcluster, on the devcluster target only: its extras (see DEVCLUSTER_ONLY). */
  devcluster?: DevCluster;
  /** A kubeconfig for the same server that authenticates with `token` (e.g. a ServiceAccount's). */
  kubeConfigWithToken(token: string): KubeConfig;
  /**
   * Writes the server has served to clients other than its own controllers, by `<verb>
   * <resource>[/<subresource>]` (verbs create, update, patch, delete): from the devcluster's
   * `devcluster_requests_total`, or a real server's `apiserver_request_total` without the
   * controller manager's requests.
   */
  writes(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

export interface TestApiServerOptions {
  /** Simulated nodes with their kubelets and the scheduler (default 0). */
  nodes?: number;
  /**
   * Workload controllers (Deployments, ReplicaSets, StatefulSets, garbage collection, namespace
   * deletion). The devcluster runs its own with its nodes; on the real server this starts the
   * real kube-controller-manager (`start.sh --controllers`), which also turns on the ServiceAccount
   * admission plugin. Default: when there are nodes.
   */
  controllers?: boolean;
  /** More options for the devcluster target. */
  devcluster?: Omit<DevClusterOptions, 'nodes'>;
}

export async function startTestApiServer(opts: TestApiServerOptions = {}): Promise<TestApiServer> {
  return TARGET === 'real' ? startRealApiServer(opts) : startDev(opts);
}

function kubeConfigFor(url: string, caCert: string, token: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'test', server: url, caData: Buffer.from(caCert).toString('base64'), skipTLSVerify: false }],
    users: [{ name: 'test', token }],
    contexts: [{ name: 'test', cluster: 'test', user: 'test' }],
    currentContext: 'test',
  });
  return kc;
}

async function startDev(opts: TestApiServerOptions): Promise<TestApiServer> {
  const nodes = opts.nodes ?? 0;
  // The devcluster's controllers come with its nodes; controllers without nodes need one node.
  const cluster = await startDevCluster({ ...opts.devcluster, nodes: nodes > 0 ? nodes : opts.controllers ? 1 : 0 });
  const client = new KubeClient(cluster.kubeConfig(), { userAgent: 'kre-test' });
  return {
    target: 'devcluster',
    url: cluster.url,
    token: cluster.token,
    caCert: cluster.caCert,
    kubeconfigPath: cluster.kubeconfigPath,
    kubeConfig: () => cluster.kubeConfig(),
    client,
    devcluster: cluster,
    kubeConfigWithToken: (token) => kubeConfigFor(cluster.url, cluster.caCert, token),
    writes: async () => devclusterWrites(await cluster.metrics()),
    async stop() {
      client.close();
      await cluster.stop();
    },
  };
}

function run(cmd: string, args: string[], timeoutMs = 120_000): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolvePromise(stdout);
    });
  });
}

/** A real kube-apiserver (with `../shared/kube-apiserver/start.sh`), whatever the target. */
export async function startRealApiServer(opts: TestApiServerOptions = {}): Promise<TestApiServer> {
  if (!realApiServerAvailable()) {
    throw new Error(`KRE_TEST_APISERVER=real needs a real kube-apiserver: ${join(REAL_APISERVER_DIR, 'start.sh')} does not exist (set KRE_REAL_APISERVER_DIR to the folder that has start.sh and stop.sh)`);
  }
  const nodes = opts.nodes ?? 0;
  const controllers = opts.controllers ?? nodes > 0;
  const dir = mkdtempSync(join(tmpdir(), 'kre-real-apiserver-'));
  // If this process dies before `stop` (a file that times out is killed), a watchdog stops the
  // server and removes its folder, so no etcd or kube-apiserver outlives the test.
  const stopScript = join(REAL_APISERVER_DIR, 'stop.sh');
  const watchdog = spawn('sh', ['-c', 'while kill -0 "$0" 2>/dev/null; do sleep 2; done; "$1" "$2" >/dev/null 2>&1; rm -rf "$2"', String(process.pid), stopScript, dir], {
    detached: true,
    stdio: 'ignore',
  });
  watchdog.unref();
  const stopServer = async () => {
    await run(stopScript, [dir]).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    watchdog.kill();
  };
  try {
    await run(join(REAL_APISERVER_DIR, 'start.sh'), controllers ? [dir, '--controllers'] : [dir]);
  } catch (err) {
    await stopServer();
    throw err;
  }
  const env = Object.fromEntries(
    readFileSync(join(dir, 'env'), 'utf8')
      .split('\n')
      .map((l) => /^export (\w+)=(.*)$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1], m[2]]),
  );
  const url = env.KRE_REAL_APISERVER_URL;
  const token = env.KRE_REAL_APISERVER_TOKEN;
  const caCert = readFileSync(env.KRE_REAL_APISERVER_CA, 'utf8');
  const kubeconfigPath = join(dir, 'kubeconfig');
  const loadKc = () => {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    return kc;
  };
  const client = new KubeClient(loadKc(), { userAgent: 'kre-test' });
  let workloads: Workloads | undefined;
  let nodesClient: KubeClient | undefined;
  if (nodes > 0) {
    // What `kre devcluster nodes --kubeconfig <real>` runs: nodes, kubelets and the scheduler; the
    // real controller manager does the rest.
    nodesClient = new KubeClient(loadKc(), { userAgent: 'kre-devcluster-nodes' });
    try {
      // start.sh runs no node lifecycle controller, so the nodes' own removes their not-ready taint.
      workloads = await startWorkloads({ client: nodesClient, log: createLogger('devcluster-nodes'), nodes, controllers: false, nodeLifecycle: true, scheduler: true });
    } catch (err) {
      nodesClient.close();
      client.close();
      await stopServer();
      throw err;
    }
  }
  return {
    target: 'real',
    url,
    token,
    caCert,
    kubeconfigPath,
    kubeConfig: loadKc,
    client,
    kubeConfigWithToken: (t) => kubeConfigFor(url, caCert, t),
    async writes() {
      const verbs: Record<string, string> = { POST: 'create', PUT: 'update', PATCH: 'patch', APPLY: 'patch', DELETE: 'delete' };
      const text = (await rawRequest({ url, token, caCert }, 'GET', '/metrics')).text;
      const out: Record<string, number> = {};
      for (const line of String(text).split('\n')) {
        if (!line.startsWith('apiserver_request_total{')) continue;
        const labels = Object.fromEntries([...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
        const verb = verbs[labels.verb];
        if (!verb || labels.system_client !== '') continue;
        const key = `${verb} ${labels.resource}${labels.subresource ? `/${labels.subresource}` : ''}`;
        out[key] = (out[key] ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
      }
      return out;
    },
    async stop() {
      await workloads?.stop();
      nodesClient?.close();
      client.close();
      await stopServer();
    },
  };
}

/**
 * A token for a ServiceAccount from the TokenRequest API (what `kubectl create token` asks for),
 * so that a part runs with the RBAC of `deploy/` instead of as admin.
 */
export async function serviceAccountToken(client: KubeClient, namespace: string, name: string, expirationSeconds = 3600): Promise<string> {
  const answer = await client.request<{ status: { token: string } }>('POST', `/api/v1/namespaces/${encodeURIComponent(namespace)}/serviceaccounts/${encodeURIComponent(name)}/token`, {
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds } },
  });
  return answer.status.token;
}

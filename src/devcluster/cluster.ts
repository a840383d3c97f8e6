/**
 * A devcluster: the API server on HTTPS with its state directory, credentials and kubeconfig.
 * `startDevCluster` is what tests and `kre devcluster` call.
 */
import { createServer, type Server } from 'node:https';
import type { Socket } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { Counter, type Registry } from 'prom-client';
import { ApiServer, type NodeAdmin } from './apiserver/server.ts';
import { ClusterLifecycle } from './apiserver/lifecycle.ts';
import { ObjectService } from './apiserver/objects.ts';
import { ResourceRegistry } from './apiserver/resources.ts';
import { Storage } from './apiserver/storage.ts';
import type { FaultSpec } from './apiserver/faults.ts';
import { writeKubeconfig } from './kubeconfig.ts';
import { lockStateDir, securePermissions, type StateDirLock } from './state-dir.ts';
import { loadOrCreateCredentials, type Credentials } from './pki.ts';
import { ConfigError, createLogger, KubeClient, parseHostPort, urlHost } from '../kube/index.ts';
import { startWorkloads, type NodeFault, type SimulatedNode, type Workloads } from './nodes/index.ts';
import { NodeMetricsStore } from './apiserver/metrics-api.ts';

export interface DevClusterOptions {
  /** Where objects, credentials and the port are kept; default: a new temporary directory, removed on stop. */
  stateDir?: string;
  /** HOST:PORT to listen on; port 0 picks a free one (then kept in the state dir). Default 127.0.0.1:0. */
  listen?: string;
  /** Where to write the kubeconfig for clients; default `<stateDir>/kubeconfig`. */
  kubeconfigPath?: string;
  /** Interval of watch bookmarks, for clients that ask for them. */
  bookmarkIntervalMs?: number;
  /** How long the history of changes is kept for watch resumes and paginated lists. */
  historyWindowMs?: number;
  /** The most bytes one watcher may fall behind before the server closes it (default 8 MiB). */
  watchBufferBytes?: number;
  /**
   * When the object log is compacted while running: once larger than `compactMinBytes` (default
   * 64 MiB) and `compactRatio` (default 4) times the live objects; `readChunkBytes` is how much of
   * it is read at a time on start.
   */
  objectLog?: { compactMinBytes?: number; compactRatio?: number; readChunkBytes?: number };
  /**
   * Simulated nodes `kre-node-1`… with their kubelets, the scheduler and the workload controllers
   * (default 3). With 0 the server runs alone: no controllers either, as for a cluster that
   * `kre devcluster nodes` serves from another process.
   */
  nodes?: number;
  /** Pods per simulated node (the kubelet's maxPods); default 110. */
  maxPods?: number;
  /**
   * How long a node's lease may go unrenewed before the node lifecycle controller marks the node
   * Unknown (NotReady) and its pods not ready; default 40 s, as a real controller manager's.
   */
  nodeGracePeriodMs?: number;
  /**
   * Where the nodes' cgroup files go (`<cgroupRoot>/<node>/cgroup`); default tmpfs
   * (`/dev/shm/kre-<random>`, removed on stop), or the state dir when /dev/shm is not writable.
   */
  cgroupRoot?: string;
}

/** The simulated nodes of a devcluster and their faults. */
export interface DevClusterNodes {
  list(): SimulatedNode[];
  /** The node's kubelet stops answering (`'refuse'` by default, or `'hang'`), or answers again (`false`). */
  setUnresponsive(name: string, mode?: NodeFault): Promise<void>;
  /** A container exits with an error and is restarted after a back-off, as a crash. */
  crashContainer(namespace: string, pod: string, container?: string): Promise<void>;
}

export interface DevCluster {
  url: string;
  kubeconfigPath: string;
  stateDir: string;
  token: string;
  caCert: string;
  kubeConfig(): KubeConfig;
  faults: {
    set(f: FaultSpec): void;
    clear(): void;
    expireHistory(): void;
  };
  /** The simulated nodes (none when started with `nodes: 0`). */
  nodes: DevClusterNodes;
  /** The API server's own metrics in Prometheus text. */
  metrics(): Promise<string>;
  /** Stops and starts again on the same port with the state as stored on disk. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

class Instance {
  server!: Server;
  api!: ApiServer;
  storage!: Storage;
  lifecycle!: ClusterLifecycle;
  sockets = new Set<Socket>();
  /** What the nodes report for metrics.k8s.io; outlives restarts. */
  nodeMetrics?: NodeMetricsStore;
  /** The simulated nodes, once started; outlives restarts. */
  nodes?: () => NodeAdmin | undefined;
  /** The metrics of the controllers run with the nodes, once started; outlives restarts. */
  moreMetrics?: () => Registry | undefined;

  async start(stateDir: string, creds: Credentials, host: string, port: number, opts: DevClusterOptions, restart: () => Promise<void>, faults?: FaultSpec): Promise<number> {
    this.storage = new Storage({ dir: join(stateDir, 'data'), historyWindowMs: opts.historyWindowMs, log: createLogger('devcluster'), ...opts.objectLog });
    const registry = new ResourceRegistry();
    const objects = new ObjectService(this.storage);
    this.lifecycle = new ClusterLifecycle(objects, registry);
    objects.seed();
    this.lifecycle.start();
    this.api = new ApiServer({ storage: this.storage, registry, objects, token: creds.token, restart, bookmarkIntervalMs: opts.bookmarkIntervalMs, watchBufferBytes: opts.watchBufferBytes, nodeMetrics: this.nodeMetrics, nodes: this.nodes, moreMetrics: this.moreMetrics });
    if (faults) this.api.faults.set(faults);
    this.server = createServer({ cert: creds.serverCert, key: creds.serverKey, keepAliveTimeout: 60_000 }, (req, res) => {
      void this.api.handle(req, res);
    });
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve());
    });
    const addr = this.server.address();
    return typeof addr === 'object' && addr ? addr.port : port;
  }

  async stop(): Promise<void> {
    this.lifecycle.stop();
    this.api.closeWatches();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
    this.storage.close();
  }
}

/** Counters go on counting across a restart, so that a test sees every fault since the start. */
async function carryCounters(from: Registry, to: Registry): Promise<void> {
  for (const m of await from.getMetricsAsJSON()) {
    const target = to.getSingleMetric(m.name);
    if (String(m.type) !== 'counter' || !(target instanceof Counter)) continue;
    for (const v of m.values) if (v.value > 0) target.inc(v.labels as Record<string, string>, v.value);
  }
}

export async function startDevCluster(opts: DevClusterOptions = {}): Promise<DevCluster> {
  const temporary = !opts.stateDir;
  const stateDir = opts.stateDir ?? mkdtempSync(join(tmpdir(), 'kre-devcluster-'));
  // Before anything in the state dir is read or written: a second process stops here.
  const lock = lockStateDir(stateDir);
  try {
    securePermissions(stateDir);
    return await startLocked(opts, stateDir, temporary, lock);
  } catch (err) {
    lock.release();
    throw err;
  }
}

async function startLocked(opts: DevClusterOptions, stateDir: string, temporary: boolean, lock: StateDirLock): Promise<DevCluster> {
  const portFile = join(stateDir, 'port');
  const listen = opts.listen ?? '127.0.0.1:0';
  const address = parseHostPort(listen);
  if (!address) throw new ConfigError(`invalid configuration: listen: expected HOST:PORT with a port from 0 to 65535, got ${JSON.stringify(listen)}`, 'listen');
  const { host, port: wanted } = address;
  const savedPort = existsSync(portFile) ? Number(readFileSync(portFile, 'utf8').trim()) : 0;
  const creds = await loadOrCreateCredentials(stateDir, [host]);
  const kubeconfigPath = opts.kubeconfigPath ?? join(stateDir, 'kubeconfig');

  let instance = new Instance();
  let restarting: Promise<void> | undefined;
  const restart = async (): Promise<void> => {
    restarting ??= (async () => {
      const faults = instance.api.faults.current;
      await instance.stop();
      const next = new Instance();
      next.nodeMetrics = nodeMetrics;
      next.nodes = nodeAdmin;
      await next.start(stateDir, creds, host, port, opts, restart, faults);
      await carryCounters(instance.api.metrics, next.api.metrics);
      next.api.faults.countRestart();
      instance = next;
    })().finally(() => (restarting = undefined));
    return restarting;
  };
  let workloads: Workloads | undefined;
  const nodeMetrics = new NodeMetricsStore();
  instance.nodeMetrics = nodeMetrics;
  const nodeAdmin = () => workloads?.nodes;
  instance.nodes = nodeAdmin;
  instance.moreMetrics = () => workloads?.registry;
  let port: number;
  try {
    port = await instance.start(stateDir, creds, host, wanted || savedPort, opts, restart);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE' && !wanted && savedPort) {
      throw new Error(`port ${savedPort} kept in ${portFile} is in use: stop the other devcluster, or pass --listen ${host}:0 to pick another (the kubeconfig is rewritten)`, { cause: err });
    }
    throw err;
  }
  writeFileSync(portFile, `${port}\n`, { mode: 0o600 });
  const url = `https://${urlHost(host)}:${port}`;
  lock.setUrl(url);
  writeKubeconfig(kubeconfigPath, url, creds.caCert, creds.token);
  const nodes = opts.nodes ?? 3;
  let client: KubeClient | undefined;
  if (nodes > 0) {
    // The controllers, scheduler and kubelets talk to the server as any client does, through the
    // kubeconfig; across restart() their watches reconnect by themselves.
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    client = new KubeClient(kc, { userAgent: 'kre-devcluster-workloads' });
    try {
      workloads = await startWorkloads({
        client,
        log: createLogger('devcluster'),
        nodes,
        maxPods: opts.maxPods,
        nodeGracePeriodMs: opts.nodeGracePeriodMs,
        resources: { stateDir, cgroupRoot: opts.cgroupRoot, token: creds.token, metrics: nodeMetrics },
      });
    } catch (err) {
      await instance.stop();
      throw err;
    }
  }

  return {
    url,
    kubeconfigPath,
    stateDir,
    token: creds.token,
    caCert: creds.caCert,
    kubeConfig() {
      const kc = new KubeConfig();
      kc.loadFromFile(kubeconfigPath);
      return kc;
    },
    faults: {
      set: (f) => instance.api.faults.set(f),
      clear: () => instance.api.faults.clear(),
      expireHistory: () => instance.api.expireHistory(),
    },
    nodes: {
      list: () => workloads?.nodes.list() ?? [],
      async setUnresponsive(name, mode = 'refuse') {
        if (!workloads) throw new Error(`node "${name}" is not a simulated node of this devcluster: it runs no nodes (nodes: 0)`);
        await workloads.nodes.setUnresponsive(name, mode);
      },
      async crashContainer(namespace, pod, container) {
        if (!workloads) throw new Error(`pod "${namespace}/${pod}" does not run on a simulated node of this devcluster: it runs no nodes (nodes: 0)`);
        workloads.nodes.crashContainer(namespace, pod, container);
      },
    },
    metrics: () => instance.api.metrics.metrics(),
    restart,
    async stop() {
      await restarting;
      await workloads?.stop();
      client?.close();
      await instance.stop();
      lock.release();
      if (temporary) rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

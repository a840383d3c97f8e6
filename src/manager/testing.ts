/**
 * What the manager's tests and benchmark share: a devcluster with the CRDs, a cluster-wide operator
 * and a manager, all in this process; generated clients; and a promise form of gRPC calls.
 */
import { credentials, Metadata, type Client, type ServiceError } from '@grpc/grpc-js';
import { startDevCluster, type DevCluster } from '../devcluster/index.ts';
import { ResourceMetricsServiceClient, type ResourceMetricsServiceServer } from '../gen/resourcemetrics/resourcemetrics.ts';
import { RuntimeServiceClient } from '../gen/runtime/runtime.ts';
import { Request as VersionRequest, VersionServiceClient, type Version } from '../gen/version/version.ts';
import { KubeClient } from '../kube/index.ts';
import { createLogger } from '../kube/index.ts';
import { installCustomResourceDefinitions, startOperator, type Operator } from '../operator/index.ts';
import { operatorRules } from '../operator/deploy.ts';
import { parseManagerConfig } from './config.ts';
import { startManager, type Manager } from './server.ts';

export const TOKEN = 'test-token-0123456789';

export interface Harness {
  cluster: DevCluster;
  kube: KubeClient;
  operator: Operator | undefined;
  manager: Manager;
  runtime: RuntimeServiceClient;
  version: VersionServiceClient;
  metrics: ResourceMetricsServiceClient;
  stop(): Promise<void>;
}

export interface HarnessOptions {
  nodes?: number;
  /** Start a cluster-wide operator in this process (default true). */
  operator?: boolean;
  /** Configuration fields over the defaults (`listen` is 127.0.0.1:0). */
  config?: Record<string, unknown>;
  resourceMetrics?: ResourceMetricsServiceServer;
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const cluster = await startDevCluster({ nodes: opts.nodes ?? 3 });
  const kube = new KubeClient(cluster.kubeConfig());
  let operator: Operator | undefined;
  let manager: Manager | undefined;
  try {
    await installCustomResourceDefinitions(kube);
    if (opts.operator !== false) operator = startOperator({ client: kube, leaderElection: false, logger: createLogger('operator', 'silent') });
    manager = await startManager({
      config: parseManagerConfig({ listen: '127.0.0.1:0', ...opts.config }),
      token: TOKEN,
      kube,
      logger: createLogger('manager', process.env.KRE_TEST_LOG ?? 'silent'),
      operatorRules: operatorRules(),
      ...(opts.resourceMetrics ? { resourceMetrics: opts.resourceMetrics } : {}),
    });
  } catch (err) {
    await operator?.stop();
    kube.close();
    await cluster.stop();
    throw err;
  }
  const m = manager;
  const address = m.address;
  const creds = credentials.createInsecure();
  const runtime = new RuntimeServiceClient(address, creds);
  const version = new VersionServiceClient(address, creds);
  const metrics = new ResourceMetricsServiceClient(address, creds);
  return {
    cluster,
    kube,
    operator,
    manager: m,
    runtime,
    version,
    metrics,
    stop: async () => {
      for (const c of [runtime, version, metrics]) c.close();
      await m.stop(1000);
      await operator?.stop();
      kube.close();
      await cluster.stop();
    },
  };
}

/** Call metadata carrying `token` (the harness's by default; null: none). */
export function auth(token: string | null = TOKEN): Metadata {
  const md = new Metadata();
  if (token !== null) md.set('authorization', `Bearer ${token}`);
  return md;
}

/** A unary call as a promise; rejects with the ServiceError (code, details, metadata). */
export function call<Res>(client: Client, method: string, req: unknown, opts: { token?: string | null; deadlineMs?: number } = {}): Promise<Res> {
  const fn = (client as unknown as Record<string, (...args: unknown[]) => unknown>)[method].bind(client);
  return new Promise((resolve, reject) => {
    fn(req, auth(opts.token), { deadline: Date.now() + (opts.deadlineMs ?? 120_000) }, (err: ServiceError | null, res: Res) => (err ? reject(err) : resolve(res)));
  });
}

/** Asserts that `p` fails with `code` and returns the error, for its details and `kre-field` trailer. */
export async function failure(p: Promise<unknown>, code: number): Promise<ServiceError & { field?: string }> {
  try {
    await p;
  } catch (err) {
    const e = err as ServiceError;
    if (e.code !== code) throw new Error(`expected status ${code}, got ${e.code}: ${e.details}`, { cause: err });
    const field = e.metadata?.get('kre-field')[0];
    return Object.assign(e, field !== undefined ? { field: String(field) } : {});
  }
  throw new Error(`expected status ${code}, but the call succeeded`);
}

/** A seed-shaped Version message: one workflow of chained nodes. */
export function versionMessage(namespace: string, name: string, nodes: string[] = ['parse', 'greet'], extra: Record<string, unknown> = {}) {
  return {
    id: `${name}-id`,
    name,
    namespace,
    entrypoint: { protoFile: 'public_input.proto', image: 'konstellation/entrypoint:1.0' },
    config: [{ key: 'MODEL_PATH', value: '/models/v1' }],
    workflows: [
      {
        id: 'wf-greeting',
        name: 'greeting',
        entrypoint: 'Greeting',
        nodes: nodes.map((n, i) => ({ id: `n${i}`, name: n, image: `konstellation/${n}:1.0`, src: `src/${n}/main.py`, replicas: 0 })),
        edges: nodes.slice(1).map((_, i) => ({ id: `edge-${i}`, fromNode: `n${i}`, toNode: `n${i + 1}` })),
      },
    ],
    mongoUri: '',
    mongoDbName: '',
    ...extra,
  };
}

export const credentialsMessage = (suffix = '') => ({
  mongo: { username: 'admin', password: `mongo-pass${suffix}`, sharedKey: `c2hhcmVka2V5${suffix.replace(/[^A-Za-z0-9]/g, '')}` },
  minio: { accessKey: 'minio-admin', secretKey: `minio-secret${suffix}` },
});

/** A VersionService request from the fields given (the generated encoder wants whole messages). */
export const versionRequest = (version: Partial<Version> & Record<string, unknown>) => VersionRequest.fromPartial({ version: version as Version });

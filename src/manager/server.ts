/**
 * The manager's gRPC server: the seed's three services on one port, the standard health service
 * (one status per service, NOT_SERVING while the API server cannot be reached) and server
 * reflection, behind bearer-token authentication and optionally TLS.
 */
import { readFileSync } from 'node:fs';
import { Server, ServerCredentials, status as grpcStatus } from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { Registry } from 'prom-client';
import { ResourceMetricsServiceService, type ResourceMetricsServiceServer } from '../gen/resourcemetrics/resourcemetrics.ts';
import { RuntimeServiceService } from '../gen/runtime/runtime.ts';
import { VersionServiceService } from '../gen/version/version.ts';
import type { KubeClient } from '../kube/index.ts';
import { createLogger, parseHostPort, type Logger } from '../kube/index.ts';
import { selfSignedCertificate } from '../kube/tls.ts';
import { authInterceptor } from './auth.ts';
import { metricsInterceptor } from './metrics.ts';
import type { ManagerConfig } from './config.ts';
import { ConfigError } from './config.ts';
import type { PolicyRule, ServiceDeps } from './deps.ts';
import { ObjectFollower } from './follow.ts';
import { RUNTIME_VERSIONS, RUNTIMES } from '../api/index.ts';
import { ManagerError } from './errors.ts';
import { serverStream, unary } from './handlers.ts';
import { addReflection } from './reflection.ts';
import { runtimeServiceHandlers } from './runtime-service.ts';
import { versionServiceHandlers } from './version-service.ts';

export const SERVICE_NAMES = {
  runtime: 'runtime.RuntimeService',
  version: 'version.VersionService',
  resourceMetrics: 'resourcemetrics.ResourceMetricsService',
} as const;

export interface ManagerOptions {
  config: ManagerConfig;
  /** The bearer token every call but health and reflection must carry. */
  token: string;
  kube: KubeClient;
  logger?: Logger;
  /** Where the manager's own metrics go (the CLI serves it on `/metrics`). */
  registry?: Registry;
  /** The ResourceMetricsService's handlers; without them its RPCs answer UNIMPLEMENTED. */
  resourceMetrics?: ResourceMetricsServiceServer;
  /** Whether the resource metrics' source answers; its health is NOT_SERVING while this says false. */
  resourceMetricsReady?: () => boolean;
  /**
   * What the operator needs in a runtime's namespace (the operator's own `operatorRules()`, passed
   * in by the CLI since parts do not import each other). Required in per-namespace mode.
   */
  operatorRules?: PolicyRule[];
}

export interface Manager {
  /** `host:port` the gRPC API is bound to (the real port when the configuration asked for 0). */
  address: string;
  port: number;
  /** The serving certificate (PEM) when TLS is on, for clients that must trust a self-signed one. */
  certificate?: string;
  /** The registry the manager's metrics are in. */
  registry: Registry;
  /** Whether the API server answered the last check and the manager's caches have synced. */
  ready(): boolean;
  /** Stops accepting calls, lets running calls finish for up to `graceMs`, then cancels the rest. */
  stop(graceMs?: number): Promise<void>;
}


async function credentialsFor(config: ManagerConfig): Promise<{ creds: ServerCredentials; cert?: string }> {
  if (!config.tls) return { creds: ServerCredentials.createInsecure() };
  let pair: { cert: string; key: string };
  if ('selfSigned' in config.tls) pair = await selfSignedCertificate(['localhost', '127.0.0.1', '::1'], 'kre-manager');
  else {
    const read = (field: string, path: string) => {
      try {
        return readFileSync(path, 'utf8');
      } catch (err) {
        throw new ConfigError(`invalid configuration: tls.${field}: cannot read ${path}: ${(err as Error).message}`);
      }
    };
    pair = { cert: read('certFile', config.tls.certFile), key: read('keyFile', config.tls.keyFile) };
  }
  return { creds: ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(pair.cert), private_key: Buffer.from(pair.key) }], false), cert: pair.cert };
}

const notImplemented = async (): Promise<never> => {
  throw new ManagerError(grpcStatus.UNIMPLEMENTED, 'resource metrics are not configured on this manager');
};

export async function startManager(opts: ManagerOptions): Promise<Manager> {
  const log = opts.logger ?? createLogger('manager');
  if (opts.config.operator.mode === 'per-namespace' && !opts.operatorRules?.length) {
    throw new ConfigError("invalid configuration: operator.mode: per-namespace needs the operator's rules (operatorRules)");
  }
  const { creds, cert } = await credentialsFor(opts.config);
  const stopping = new AbortController();
  const runtimes = new ObjectFollower(opts.kube, RUNTIMES, log.child({ cache: 'runtimes' })).start();
  const versions = new ObjectFollower(opts.kube, RUNTIME_VERSIONS, log.child({ cache: 'runtimeversions' })).start();
  const deps: ServiceDeps = { kube: opts.kube, config: opts.config, logger: log, runtimes, versions, operatorRules: opts.operatorRules ?? [], stopping: stopping.signal };
  const served = new Set(
    [RuntimeServiceService, VersionServiceService, ResourceMetricsServiceService].flatMap((svc) => Object.values(svc).map((m) => (m as { path: string }).path)),
  );
  const registry = opts.registry ?? new Registry();
  // The metrics interceptor comes first so that it also counts the calls authentication refuses.
  const server = new Server({ interceptors: [metricsInterceptor(registry, served), authInterceptor(opts.token)] });
  server.addService(RuntimeServiceService, runtimeServiceHandlers(deps));
  server.addService(VersionServiceService, versionServiceHandlers(deps));
  server.addService(
    ResourceMetricsServiceService,
    opts.resourceMetrics ?? { getVersion: unary('GetVersion', notImplemented, log), watchVersion: serverStream('WatchVersion', notImplemented, log) },
  );
  const health = new HealthImplementation({ '': 'NOT_SERVING', [SERVICE_NAMES.runtime]: 'NOT_SERVING', [SERVICE_NAMES.version]: 'NOT_SERVING', [SERVICE_NAMES.resourceMetrics]: 'NOT_SERVING' });
  health.addToServer(server);
  addReflection(server);

  const { host, port } = parseHostPort(opts.config.listen)!;
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host.includes(':') ? `[${host}]` : host}:${port}`, creds, (err, p) => (err ? reject(err) : resolve(p))),
  );

  // Health follows the API server: checked at once and then on an interval.
  let apiReachable = false;
  let checking: Promise<void> | undefined;
  const check = async () => {
    try {
      await opts.kube.request('GET', '/version');
      if (!apiReachable) log.info('the Kubernetes API server answers');
      apiReachable = true;
    } catch (err) {
      if (apiReachable) log.warn({ err: (err as Error).message }, 'the Kubernetes API server does not answer');
      apiReachable = false;
    }
    const serving = apiReachable ? 'SERVING' : 'NOT_SERVING';
    health.setStatus('', serving);
    health.setStatus(SERVICE_NAMES.runtime, serving);
    health.setStatus(SERVICE_NAMES.version, serving);
    const metricsReady = opts.resourceMetrics !== undefined && (opts.resourceMetricsReady?.() ?? true);
    health.setStatus(SERVICE_NAMES.resourceMetrics, apiReachable && metricsReady ? 'SERVING' : 'NOT_SERVING');
  };
  const runCheck = () => {
    checking ??= check().finally(() => (checking = undefined));
    return checking;
  };
  await runCheck();
  const timer = setInterval(() => void runCheck(), opts.config.apiCheckIntervalSeconds * 1000);
  timer.unref();

  return {
    address: `${host}:${bound}`,
    port: bound,
    ...(cert ? { certificate: cert } : {}),
    registry,
    ready: () => apiReachable && runtimes.synced() && versions.synced(),
    stop: async (graceMs = 5000) => {
      clearInterval(timer);
      stopping.abort();
      await checking;
      // Ends the watches first: the streams that follow them then end, and the server can drain.
      await Promise.all([runtimes.stop(), versions.stop()]);
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
    },
  };
}

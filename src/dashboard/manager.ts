/**
 * The dashboard's side of the manager's gRPC API: the version actions (start, stop, publish,
 * unpublish) and a version's CPU and memory (GetVersion for a range, WatchVersion live), each call
 * carrying the manager's bearer token.
 */
import { readFileSync } from 'node:fs';
import { credentials, Metadata, type ChannelCredentials, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { ResourceMetricsServiceClient, type Response as MetricsResponse, type VersionRequest } from '../gen/resourcemetrics/resourcemetrics.ts';
import { Request as VersionServiceRequest, VersionServiceClient, type Version } from '../gen/version/version.ts';
import type { RuntimeVersionSpec } from '../api/index.ts';
import type { ActionName, PointView } from './view.ts';

export interface ManagerLinkOptions {
  address: string;
  token: string;
  caFile?: string;
  actionTimeoutSeconds: number;
}

/** A failed call, with the manager's own message (`details`), as the page shows it. */
export class ManagerCallError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'ManagerCallError';
  }
}

const callError = (err: ServiceError) => new ManagerCallError(err.code, err.details || err.message);

export function toPoints(res: MetricsResponse): PointView[] {
  return res.versionResourceMetrics.map((p) => ({ t: Date.parse(p.date), cpu: p.cpu, mem: p.mem })).filter((p) => Number.isFinite(p.t));
}

export class ManagerLink {
  private readonly versions: VersionServiceClient;
  private readonly metrics: ResourceMetricsServiceClient;

  constructor(private readonly o: ManagerLinkOptions) {
    const creds: ChannelCredentials = o.caFile ? credentials.createSsl(readFileSync(o.caFile)) : credentials.createInsecure();
    this.versions = new VersionServiceClient(o.address, creds);
    this.metrics = new ResourceMetricsServiceClient(o.address, creds);
  }

  /** Each call's metadata: the manager's bearer token. */
  private auth(): Metadata {
    const md = new Metadata();
    md.set('authorization', `Bearer ${this.o.token}`);
    return md;
  }

  close(): void {
    this.versions.close();
    this.metrics.close();
  }

  /** Runs an action; resolves with the manager's message. `version` is the whole message for `start`, the name and namespace otherwise. */
  action(name: ActionName, version: Partial<Version>): Promise<string> {
    type Unary = (req: VersionServiceRequest, md: Metadata, opts: { deadline: number }, cb: (err: ServiceError | null, res?: { message: string }) => void) => void;
    const method = this.versions[name].bind(this.versions) as unknown as Unary;
    return new Promise((resolve, reject) =>
      method(VersionServiceRequest.fromPartial({ version: version as Version }), this.auth(), { deadline: Date.now() + this.o.actionTimeoutSeconds * 1000 }, (err, res) =>
        err ? reject(callError(err)) : resolve(res?.message ?? ''),
      ),
    );
  }

  getVersion(req: VersionRequest): Promise<PointView[]> {
    return new Promise((resolve, reject) =>
      this.metrics.getVersion(req, this.auth(), { deadline: Date.now() + 30_000 }, (err, res) => (err ? reject(callError(err)) : resolve(toPoints(res!)))),
    );
  }

  watchVersion(req: VersionRequest, on: { points(p: PointView[]): void; end(err?: ManagerCallError): void }): { cancel(): void } {
    const stream: ClientReadableStream<MetricsResponse> = this.metrics.watchVersion(req, this.auth());
    let cancelled = false;
    stream.on('data', (m: MetricsResponse) => on.points(toPoints(m)));
    stream.on('error', (err: ServiceError) => {
      if (!cancelled) on.end(callError(err));
    });
    stream.on('end', () => {
      if (!cancelled) on.end();
    });
    return {
      cancel() {
        cancelled = true;
        stream.cancel();
      },
    };
  }
}

/**
 * The Start message for a version the monitor shows stopped: its spec, turned back into the seed's
 * Version. A version started with its own MongoDB URI cannot be restarted from here: the URI is a
 * secret the dashboard never reads, and starting without it would drop it.
 */
export function versionMessageFromSpec(namespace: string, name: string, spec: RuntimeVersionSpec): Partial<Version> {
  if (spec.mongoUriSecret) throw new ManagerCallError(9, `version ${name} has its own MongoDB URI, which the dashboard does not read: start it with the manager's API and the URI`);
  return {
    id: spec.versionId,
    name,
    namespace,
    entrypoint: { image: spec.entrypoint?.image ?? '', protoFile: spec.entrypoint?.protoFile ?? '' },
    config: (spec.config ?? []).map((c) => ({ key: c.key, value: c.value })),
    workflows: (spec.workflows ?? []).map((w) => ({
      id: w.id,
      name: w.name,
      entrypoint: w.entrypoint,
      nodes: (w.nodes ?? []).map((n) => ({ id: n.id, name: n.name, image: n.image, src: n.src, replicas: n.replicas ?? 1 })),
      edges: (w.edges ?? []).map((e) => ({ id: e.id, fromNode: e.fromNode, toNode: e.toNode })),
    })),
    mongoUri: '',
    mongoDbName: spec.mongoDbName ?? '',
  };
}

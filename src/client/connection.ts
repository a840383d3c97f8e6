/**
 * A connection to the manager's gRPC API: the three generated clients over one channel, every call
 * carrying the bearer token, and every failure turned into a `ClientError` that says what to do
 * about it (the manager cannot be reached, the token is refused, a request field is at fault).
 */
import { credentials, Metadata, status, type ChannelCredentials, type Client, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { ResourceMetricsServiceClient } from '../gen/resourcemetrics/resourcemetrics.ts';
import { RuntimeServiceClient } from '../gen/runtime/runtime.ts';
import { VersionServiceClient } from '../gen/version/version.ts';

export interface TlsOptions {
  /** PEM certificates to trust; none: the system's roots. */
  ca?: Buffer;
  /** Accept any certificate: for a manager serving a self-signed one made at start. */
  insecureSkipVerify?: boolean;
  /** The name the certificate must hold, when it differs from the address' host. */
  serverName?: string;
}

export interface ConnectionOptions {
  /** `host:port` of the manager's gRPC API. */
  address: string;
  token: string;
  /** Plaintext when absent. */
  tls?: TlsOptions;
  /** Deadline of a unary call that does not give its own (ms). */
  timeoutMs?: number;
}

/** Why a call failed, in words for the person at the terminal; `code` is the gRPC status. */
export class ClientError extends Error {
  override name = 'ClientError';
  constructor(
    message: string,
    readonly code: status,
    /** For INVALID_ARGUMENT: the request field the manager names in its `kre-field` trailer. */
    readonly field?: string,
  ) {
    super(message);
  }
}

/** A problem in what the user typed (a flag's value, an argument): bad usage, not a failure. */
export class InputError extends Error {
  override name = 'InputError';
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** What grpc-js says when no connection could be made (as opposed to the manager answering UNAVAILABLE). */
const NO_CONNECTION = /No connection established|failed to connect|ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|getaddrinfo|Connection dropped|Name resolution failed|handshake|certificate|self[- ]signed|SSL|TLS/i;

export function clientError(err: unknown, address: string, method: string): Error {
  const e = err as Partial<ServiceError>;
  if (typeof e?.code !== 'number') return err as Error;
  const details = e.details || e.message || 'no details';
  switch (e.code) {
    case status.UNAVAILABLE:
      if (NO_CONNECTION.test(details)) {
        return new ClientError(
          `cannot reach the manager at ${address}: ${details} (is \`kre dev\` or \`kre manager\` running? the address comes from --address, KRE_MANAGER_ADDRESS or kre dev's client configuration)`,
          e.code,
        );
      }
      return new ClientError(`the manager is unavailable: ${details}`, e.code);
    case status.UNAUTHENTICATED:
      return new ClientError(`the manager at ${address} refused the token: ${details} (give the manager's token with --token-file or KRE_MANAGER_TOKEN)`, e.code);
    case status.INVALID_ARGUMENT: {
      const field = e.metadata?.get('kre-field')[0];
      return field !== undefined ? new ClientError(`invalid ${String(field)}: ${details}`, e.code, String(field)) : new ClientError(`invalid request: ${details}`, e.code);
    }
    case status.DEADLINE_EXCEEDED:
      return new ClientError(`${method}: no answer before the deadline: ${details} (a longer --timeout waits more)`, e.code);
    case status.CANCELLED:
      return new ClientError(`${method}: cancelled`, e.code);
    default:
      return new ClientError(details, e.code);
  }
}

function channelCredentials(tls: TlsOptions | undefined): ChannelCredentials {
  if (!tls) return credentials.createInsecure();
  return credentials.createSsl(tls.ca ?? null, null, null, {
    ...(tls.insecureSkipVerify ? { rejectUnauthorized: false, checkServerIdentity: () => undefined } : {}),
  });
}

type Callback<Res> = (err: ServiceError | null, res: Res) => void;
type UnaryMethod<Req, Res> = (req: Req, md: Metadata, opts: { deadline: number }, cb: Callback<Res>) => unknown;
type StreamMethod<Req, Res> = (req: Req, md: Metadata) => ClientReadableStream<Res>;

export class Connection {
  readonly runtime: RuntimeServiceClient;
  readonly version: VersionServiceClient;
  readonly metrics: ResourceMetricsServiceClient;
  readonly address: string;
  private readonly token: string;
  private readonly timeoutMs: number;

  constructor(opts: ConnectionOptions) {
    this.address = opts.address;
    this.token = opts.token;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    const creds = channelCredentials(opts.tls);
    const channelOptions = opts.tls?.serverName ? { 'grpc.ssl_target_name_override': opts.tls.serverName, 'grpc.default_authority': opts.tls.serverName } : {};
    this.runtime = new RuntimeServiceClient(opts.address, creds, channelOptions);
    // The other clients share the first one's channel: one connection per command.
    const channelOverride = this.runtime.getChannel();
    this.version = new VersionServiceClient(opts.address, creds, { channelOverride });
    this.metrics = new ResourceMetricsServiceClient(opts.address, creds, { channelOverride });
  }

  private metadata(): Metadata {
    const md = new Metadata();
    md.set('authorization', `Bearer ${this.token}`);
    return md;
  }

  /** A unary call; `method` is the generated client's method name (`runtimeStatus`). */
  unary<Req, Res>(client: Client, method: string, req: Req, timeoutMs = this.timeoutMs): Promise<Res> {
    const fn = (client as unknown as Record<string, UnaryMethod<Req, Res>>)[method].bind(client);
    return new Promise((resolve, reject) => {
      fn(req, this.metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(clientError(err, this.address, method)) : resolve(res)));
    });
  }

  /**
   * A server stream: `onMessage` for each message, until the server ends it (resolves), it fails
   * (rejects with a ClientError), `onMessage` returns `'stop'`, or `signal` aborts (both resolve).
   */
  stream<Req, Res>(client: Client, method: string, req: Req, onMessage: (m: Res) => void | 'stop', signal?: AbortSignal): Promise<void> {
    const fn = (client as unknown as Record<string, StreamMethod<Req, Res>>)[method].bind(client);
    return new Promise((resolve, reject) => {
      const call = fn(req, this.metadata());
      let stopped = false;
      const stop = () => {
        stopped = true;
        call.cancel();
        resolve();
      };
      if (signal?.aborted) return stop();
      signal?.addEventListener('abort', stop, { once: true });
      call.on('data', (m: Res) => {
        if (stopped) return;
        let answer: void | 'stop';
        try {
          answer = onMessage(m);
        } catch (err) {
          stopped = true;
          call.cancel();
          return reject(err);
        }
        if (answer === 'stop') stop();
      });
      call.on('error', (err: ServiceError) => {
        signal?.removeEventListener('abort', stop);
        if (!stopped) reject(clientError(err, this.address, method));
      });
      call.on('end', () => {
        signal?.removeEventListener('abort', stop);
        resolve();
      });
    });
  }

  close(): void {
    this.version.close();
    this.metrics.close();
    this.runtime.close();
  }
}

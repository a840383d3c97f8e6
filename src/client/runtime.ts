/**
 * Runtimes through the manager: create one (with credentials made here unless given), read its
 * status, and wait until it runs, reporting each change on the way.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { status } from '@grpc/grpc-js';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { Request, Response, Runtime, RuntimeStatusResponse } from '../gen/runtime/runtime.ts';
import { ClientError, InputError, type Connection } from './connection.ts';

/** The seed's rule: a runtime `NAME` lives in the namespace `kre-<name in lower case>`. */
export function runtimeNamespace(name: string): string {
  return `kre-${name.toLowerCase()}`;
}

export const RuntimeCredentials = z.strictObject({
  mongo: z.strictObject({
    username: z.string().min(1).max(256),
    password: z.string().min(8).max(1024),
    sharedKey: z.string().regex(/^[A-Za-z0-9+/=]{6,1024}$/, 'must be 6 to 1024 base64 characters (A-Z, a-z, 0-9, +, /, =)'),
  }),
  minio: z.strictObject({
    accessKey: z.string().min(3).max(128),
    secretKey: z.string().min(8).max(128),
  }),
});
export type RuntimeCredentials = z.infer<typeof RuntimeCredentials>;

/** Fresh credentials: random passwords and keys, never shown (they live in the runtime's Secrets). */
export function generateCredentials(): RuntimeCredentials {
  const secret = (bytes: number) => randomBytes(bytes).toString('base64url');
  return {
    mongo: { username: 'admin', password: secret(24), sharedKey: randomBytes(48).toString('base64') },
    minio: { accessKey: 'kre-admin', secretKey: secret(24) },
  };
}

/** Credentials from a YAML or JSON file (`mongo: {username, password, sharedKey}`, `minio: {accessKey, secretKey}`). */
export async function readCredentialsFile(path: string): Promise<RuntimeCredentials> {
  let raw: unknown;
  try {
    raw = parseYaml(await readFile(path, 'utf8'));
  } catch (err) {
    throw new InputError(`--credentials-file: ${path}: cannot read the credentials: ${(err as Error).message.split('\n')[0]}`, '--credentials-file');
  }
  const r = RuntimeCredentials.safeParse(raw);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const field = issue.path.map(String).join('.') || '(top level)';
  throw new InputError(`--credentials-file: ${path}: ${field}: ${issue.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.join(', ')}` : issue.message}`, field);
}

const runtimeRef = (name: string, credentials?: RuntimeCredentials): Runtime => ({
  name,
  namespace: runtimeNamespace(name),
  mongo: credentials?.mongo,
  minio: credentials?.minio,
});

/** The runtime's status now, or undefined when the manager knows no runtime of that name. */
export async function runtimeStatus(conn: Connection, name: string): Promise<RuntimeStatusResponse | undefined> {
  let first: RuntimeStatusResponse | undefined;
  try {
    await conn.stream<Request, RuntimeStatusResponse>(conn.runtime, 'watchRuntimeStatus', { runtime: runtimeRef(name) }, (m) => {
      first = m;
      return 'stop';
    });
  } catch (err) {
    if (err instanceof ClientError && err.code === status.NOT_FOUND) return undefined;
    throw err;
  }
  return first;
}

export interface CreateRuntimeResult {
  name: string;
  namespace: string;
  /** False when the runtime was there already (and the credentials were not asked for by file). */
  created: boolean;
  message: string;
}

/**
 * Creates the runtime. Without `credentials` they are made here; a runtime that exists already is
 * then left as it is, since fresh credentials would not match the ones its data is locked with.
 */
export async function createRuntime(conn: Connection, name: string, credentials?: RuntimeCredentials): Promise<CreateRuntimeResult> {
  const namespace = runtimeNamespace(name);
  if (!credentials && (await runtimeStatus(conn, name))) {
    return { name, namespace, created: false, message: `Runtime '${name}' already exists` };
  }
  const res = await conn.unary<Request, Response>(conn.runtime, 'create', { runtime: runtimeRef(name, credentials ?? generateCredentials()) });
  return { name, namespace, created: true, message: res.message };
}

export interface WaitOptions {
  /** Called with each status the manager reports, the first one included. */
  onStatus?: (s: RuntimeStatusResponse) => void;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Follows the runtime's status until it is Running; Failed, a timeout or a vanished runtime fail. */
export async function waitForRuntime(conn: Connection, name: string, opts: WaitOptions = {}): Promise<RuntimeStatusResponse> {
  const timeoutMs = opts.timeoutMs ?? 300_000;
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), timeoutMs);
  const onOuterAbort = () => stop.abort();
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  let last: RuntimeStatusResponse | undefined;
  let done = false;
  try {
    await conn.stream<Request, RuntimeStatusResponse>(
      conn.runtime,
      'watchRuntimeStatus',
      { runtime: runtimeRef(name) },
      (m) => {
        last = m;
        opts.onStatus?.(m);
        if (m.phase === 'Failed') throw new ClientError(`runtime ${name} failed: ${m.message}`, status.FAILED_PRECONDITION);
        if (m.phase !== 'Running') return;
        done = true;
        return 'stop';
      },
      stop.signal,
    );
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onOuterAbort);
  }
  if (done && last) return last;
  if (opts.signal?.aborted) throw new ClientError(`stopped waiting for runtime ${name}`, status.CANCELLED);
  if (stop.signal.aborted) throw new ClientError(`runtime ${name} is not running after ${Math.round(timeoutMs / 1000)} s: ${last?.message ?? 'no status yet'}`, status.DEADLINE_EXCEEDED);
  throw new ClientError(`the manager ended the status stream of runtime ${name} before it was running${last ? `: ${last.message}` : ''}`, status.UNAVAILABLE);
}

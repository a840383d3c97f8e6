/** `kre runtime create|status` running: the calls to the manager and what they print. */
import { status } from '@grpc/grpc-js';
import { createRuntime, readCredentialsFile, runtimeNamespace, runtimeStatus, waitForRuntime, ClientError } from '../../client/index.ts';
import type { RuntimeStatusResponse } from '../../gen/runtime/runtime.ts';
import type { ConnectionFlags } from '../client-options.ts';
import { print, printJson, table } from '../output.ts';
import type { RuntimeCreateFlags, RuntimeStatusFlags } from '../runtime.ts';
import { offline, parseDuration, untilInterrupted, withConnection } from './connection.ts';

const statusJson = (name: string, s: RuntimeStatusResponse) => ({
  name,
  namespace: runtimeNamespace(name),
  status: s.Status,
  phase: s.phase,
  components: s.components.map((c) => ({ name: c.name, ready: c.ready, reason: c.reason, message: c.message })),
  message: s.message,
});

export function renderRuntimeStatus(name: string, s: RuntimeStatusResponse): string {
  const rows = s.components.map((c) => [c.name, c.ready ? 'ready' : 'not ready', c.ready ? '' : c.message || c.reason]);
  return [`Runtime ${name} (namespace ${runtimeNamespace(name)}): ${s.phase} — ${s.message}`, table(['COMPONENT', 'STATE', 'WHY'], rows).replace(/^/gm, '  ')].join('\n');
}

/** One line per change while waiting: elapsed time, phase, and the components still missing. */
export function progressLine(elapsedMs: number, s: RuntimeStatusResponse): string {
  const ready = s.components.filter((c) => c.ready).length;
  const missing = s.components.filter((c) => !c.ready).map((c) => c.name);
  return `[${String(Math.round(elapsedMs / 1000)).padStart(4)}s] ${s.phase.padEnd(9)} ${ready}/${s.components.length} ready${missing.length ? `, waiting for ${missing.join(', ')}` : ''}`;
}

async function wait(flags: ConnectionFlags, name: string): Promise<void> {
  const started = Date.now();
  const signal = untilInterrupted();
  await withConnection(flags, async (conn) => {
    const last = await waitForRuntime(conn, name, {
      timeoutMs: parseDuration('--timeout', flags.timeout, 300_000),
      signal,
      onStatus: (s) => (flags.output === 'json' ? printJson(statusJson(name, s), false) : print(progressLine(Date.now() - started, s))),
    });
    if (flags.output === 'text') print(renderRuntimeStatus(name, last));
  });
}

export async function runRuntimeCreate(name: string, flags: RuntimeCreateFlags): Promise<void> {
  const credentials = flags.credentialsFile ? await offline(() => readCredentialsFile(flags.credentialsFile!)) : undefined;
  const res = await withConnection(flags, (conn) => createRuntime(conn, name, credentials));
  if (flags.output === 'json') printJson({ ...res, credentials: credentials ? 'file' : res.created ? 'generated' : 'kept' }, !flags.wait);
  else {
    print(res.created ? `${res.message} in namespace ${res.namespace} (credentials ${credentials ? `from ${flags.credentialsFile}` : 'generated'}, kept in its Secrets)` : `${res.message} in namespace ${res.namespace}; nothing changed`);
    if (!flags.wait) print(`Next: kre runtime status ${name} --wait`);
  }
  if (flags.wait) await wait(flags, name);
}

export async function runRuntimeStatus(name: string, flags: RuntimeStatusFlags): Promise<void> {
  if (flags.wait) return wait(flags, name);
  const s = await withConnection(flags, (conn) => runtimeStatus(conn, name));
  if (!s) throw new ClientError(`runtime ${name} not found (namespace ${runtimeNamespace(name)}): create it with kre runtime create ${name}`, status.NOT_FOUND);
  if (flags.output === 'json') printJson(statusJson(name, s));
  else print(renderRuntimeStatus(name, s));
}

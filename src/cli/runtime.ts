/**
 * `kre runtime create NAME` and `kre runtime status NAME [--wait]`: a runtime through the manager.
 */
import { status } from '@grpc/grpc-js';
import { Command } from 'commander';
import { createRuntime, readCredentialsFile, runtimeNamespace, runtimeStatus, waitForRuntime, ClientError } from '../client/index.ts';
import type { RuntimeStatusResponse } from '../gen/runtime/runtime.ts';
import { clientCommand, offline, parseDuration, print, printJson, table, untilInterrupted, withConnection, type ConnectionFlags } from './client-options.ts';

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

export function runtimeCommand(): Command {
  const runtime = new Command('runtime').description("a model runtime: its namespace, MongoDB, NATS and MinIO (through the manager's gRPC API)");

  runtime.addCommand(
    clientCommand('create', 'create a runtime (its credentials generated unless given by file)')
      .argument('<name>', 'the runtime; its namespace is kre-<name>')
      .option('--credentials-file <path>', 'YAML or JSON: mongo {username, password, sharedKey}, minio {accessKey, secretKey}')
      .option('--wait', 'then wait until it runs, showing its progress')
      .action(async (name: string, flags: ConnectionFlags & { credentialsFile?: string; wait?: boolean }) => {
        const credentials = flags.credentialsFile ? await offline(() => readCredentialsFile(flags.credentialsFile!)) : undefined;
        const res = await withConnection(flags, (conn) => createRuntime(conn, name, credentials));
        if (flags.output === 'json') printJson({ ...res, credentials: credentials ? 'file' : res.created ? 'generated' : 'kept' }, !flags.wait);
        else {
          print(res.created ? `${res.message} in namespace ${res.namespace} (credentials ${credentials ? `from ${flags.credentialsFile}` : 'generated'}, kept in its Secrets)` : `${res.message} in namespace ${res.namespace}; nothing changed`);
          if (!flags.wait) print(`Next: kre runtime status ${name} --wait`);
        }
        if (flags.wait) await wait(flags, name);
      }),
  );

  runtime.addCommand(
    clientCommand('status', "a runtime's phase and components")
      .argument('<name>', 'the runtime')
      .option('--wait', 'wait until it runs, one line per change (exit 1 if it fails or the --timeout passes)')
      .action(async (name: string, flags: ConnectionFlags & { wait?: boolean }) => {
        if (flags.wait) return wait(flags, name);
        const s = await withConnection(flags, (conn) => runtimeStatus(conn, name));
        if (!s) throw new ClientError(`runtime ${name} not found (namespace ${runtimeNamespace(name)}): create it with kre runtime create ${name}`, status.NOT_FOUND);
        if (flags.output === 'json') printJson(statusJson(name, s));
        else print(renderRuntimeStatus(name, s));
      }),
  );
  return runtime;
}

/**
 * `kre runtime create NAME` and `kre runtime status NAME [--wait]`: a runtime through the manager.
 * The flags only: `run/runtime.ts` talks to the manager.
 */
import { Command } from 'commander';
import { clientCommand, type ConnectionFlags } from './client-options.ts';

export type RuntimeCreateFlags = ConnectionFlags & { credentialsFile?: string; wait?: boolean };
export type RuntimeStatusFlags = ConnectionFlags & { wait?: boolean };

export function runtimeCommand(): Command {
  const runtime = new Command('runtime').description("a model runtime: its namespace, MongoDB, NATS and MinIO (through the manager's gRPC API)");

  runtime.addCommand(
    clientCommand('create', 'create a runtime (its credentials generated unless given by file)')
      .argument('<name>', 'the runtime; its namespace is kre-<name>')
      .option('--credentials-file <path>', 'YAML or JSON: mongo {username, password, sharedKey}, minio {accessKey, secretKey}')
      .option('--wait', 'then wait until it runs, showing its progress')
      .action(async (name: string, flags: RuntimeCreateFlags) => (await import('./run/runtime.ts')).runRuntimeCreate(name, flags)),
  );

  runtime.addCommand(
    clientCommand('status', "a runtime's phase and components")
      .argument('<name>', 'the runtime')
      .option('--wait', 'wait until it runs, one line per change (exit 1 if it fails or the --timeout passes)')
      .action(async (name: string, flags: RuntimeStatusFlags) => (await import('./run/runtime.ts')).runRuntimeStatus(name, flags)),
  );
  return runtime;
}

/**
 * The flags the client commands (`kre runtime|version …`) share: where the manager is, how to talk
 * to it, and the output format. The flags only: `run/connection.ts` makes the connection from them.
 */
import { Command, Option } from 'commander';

export interface ConnectionFlags {
  address?: string;
  tokenFile?: string;
  tls?: boolean;
  caFile?: string;
  serverName?: string;
  insecureSkipTlsVerify?: boolean;
  stateDir?: string;
  timeout?: string;
  output: 'text' | 'json';
}

/** Adds the connection and output options to a client command. */
export function clientCommand(name: string, description: string): Command {
  return new Command(name)
    .description(description)
    .option('--address <host:port>', "the manager's gRPC address (env KRE_MANAGER_ADDRESS; default: kre dev's client configuration)")
    .option('--token-file <path>', "a file holding the manager's token (env KRE_MANAGER_TOKEN or KRE_MANAGER_TOKEN_FILE)")
    .option('--tls', 'gRPC over TLS, trusting the system CAs (env KRE_MANAGER_TLS=1)')
    .option('--ca-file <path>', "TLS, trusting this CA's certificates (PEM; env KRE_MANAGER_CA_FILE)")
    .option('--server-name <name>', 'TLS: the name the certificate must hold, when it is not the address\' host (env KRE_MANAGER_SERVER_NAME)')
    .option('--insecure-skip-tls-verify', 'TLS without checking the certificate: for a manager with a self-signed one only')
    .option('--state-dir <dir>', "kre dev's state dir, whose client.yaml names the manager (env KRE_DEV_STATE_DIR; default ~/.kre/dev)")
    .option('--timeout <duration>', 'the longest a call or a wait may take: 30s, 5m (default: 30s for a call, 5m for a wait)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'));
}
